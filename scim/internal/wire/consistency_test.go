package wire

import (
	"reflect"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/nativewire"
	"github.com/scimd/scimd/internal/schematest"
	"github.com/scimd/scimd/schemas"
)

// A user written through SCIM renders the corresponding native fields, and
// a native write shows up in SCIM.
func TestSCIMNativeConsistency(t *testing.T) {
	u := &schemas.User{}
	body := schematest.Decode(t, `{"userName":"grace","externalId":"ext-9","name":{"givenName":"Grace","familyName":"Hopper","middleName":"B","honorificPrefix":"Rear Admiral"},
		"emails":[{"value":"old@x.org"},{"value":"grace@navy.mil","primary":true,"type":"work"}],
		"phoneNumbers":[{"value":"+12025550100","primary":true}],
		"addresses":[{"locality":"Arlington","region":"VA","country":"US","type":"work","streetAddress":"1 Navy Way","postalCode":"22202"}],
		"preferredLanguage":"en-US","photos":[{"value":"https://img/g.png"}],
		"urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User":{"rank":"RADM"},
		"urn:scimd:schemas:extension:CustomData:2.0:User":{"cobol":true}}`)
	if _, err := ReplaceSCIMUser(u, body, SCIMOptions{AppID: "app1", Now: time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	n := schematest.Canon(t, nativewire.NativeUser(u, nativewire.NativeOptions{AppID: "app1"})).(map[string]any)
	want := schematest.Canon(t, map[string]any{
		"username": "grace", "external_user_id": "ext-9",
		"name":             map[string]any{"first_name": "Grace", "last_name": "Hopper", "middle_name": "B", "title": "Rear Admiral"},
		"email":            map[string]any{"value": "grace@navy.mil", "email_verified": false},
		"secondary_emails": []any{map[string]any{"value": "old@x.org", "email_verified": false}},
		"phone_number":     map[string]any{"value": "+12025550100", "phone_number_verified": false},
		"address":          map[string]any{"city": "Arlington", "state": "VA", "country": "US", "type": "Work", "street_address": "1 Navy Way", "postal_code": "22202", "updated_at": u.Addresses[0].Updated.UnixMilli()},
		"language":         "en-US", "picture": "https://img/g.png",
		"custom_app_data": map[string]any{"rank": "RADM"},
		"custom_data":     map[string]any{"cobol": true},
		"status":          "Pending",
		"identities":      []any{},
	}).(map[string]any)
	if !reflect.DeepEqual(n, want) {
		t.Errorf("native view of a SCIM write:\n got %v\nwant %v", n, want)
	}
	// native write → SCIM view
	if err := nativewire.MergeNativeUser(u, schematest.Decode(t, `{"name":{"first_name":"Amazing","last_name":"Grace"},"email":"g@x.org","external_user_id":"ext-10","custom_app_data":{"ship":"USS"}}`), nativewire.NativeOptions{AppID: "app1"}, false); err != nil {
		t.Fatal(err)
	}
	s := schematest.Canon(t, userMap(t, u, SCIMOptions{AppID: "app1"})).(map[string]any)
	if s["externalId"] != "ext-10" || s["name"].(map[string]any)["givenName"] != "Amazing" || s["name"].(map[string]any)["middleName"] != nil {
		t.Errorf("SCIM view: %v", s)
	}
	emails := s["emails"].([]any)
	if emails[1].(map[string]any)["value"] != "g@x.org" || emails[1].(map[string]any)["primary"] != true || emails[1].(map[string]any)["type"] != "work" {
		t.Errorf("emails %v", emails)
	}
	if !reflect.DeepEqual(s[schemas.CustomAppDataURN], map[string]any{"rank": "RADM", "ship": "USS"}) {
		t.Errorf("custom app data %v", s[schemas.CustomAppDataURN])
	}
	// the same names work as filters
	for _, expr := range []string{`email eq "g@x.org"`, `email.value eq "g@x.org"`, `email.email_verified eq false`, `name.first_name eq "amazing"`,
		`external_user_id eq "ext-10"`, `custom_app_data.ship eq "USS"`, `secondary_emails[value eq "old@x.org"]`, `address.type eq "work"`} {
		f, err := schemas.ParseFilter(expr, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect, AppID: "app1"})
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if !schemas.MatchUser(f, u) {
			t.Errorf("%s does not match", expr)
		}
	}
}
