package nativewire

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/schematest"
	"github.com/scimd/scimd/schemas"
)

var natOpt = NativeOptions{AppID: "app1", AppName: "Shop", Now: schematest.Created.Add(time.Hour)}

func TestNativeUserFull(t *testing.T) {
	u := schematest.SampleUser(t)
	u.PhoneNumbers = append(u.PhoneNumbers, schemas.PhoneNumber{Value: "+12125550000", Primary: true, Verified: true, VerifiedAt: schematest.Created})
	u.StatusChangedAt = schematest.Created
	u.Addresses[1].Updated = schematest.Created
	u.Password.Expires = schematest.Created.AddDate(10, 0, 0)
	got := schematest.Canon(t, NativeUser(u, natOpt))
	want := schematest.Canon(t, map[string]any{
		"user_id":  "u-0001",
		"username": "Ada.Lovelace@Example.org",
		"email":    map[string]any{"value": "Ada@Work.example", "email_verified": true, "verified_at": "2024-03-01T10:00:00.000Z"},
		"secondary_emails": []any{
			map[string]any{"value": "ada@home.example", "email_verified": false},
		},
		"phone_number":            map[string]any{"value": "+12125550000", "phone_number_verified": true, "verified_at": "2024-03-01T10:00:00.000Z"},
		"secondary_phone_numbers": []any{map[string]any{"value": "+441234567", "phone_number_verified": false}},
		"name":                    map[string]any{"title": "Countess", "first_name": "Ada", "last_name": "Lovelace", "middle_name": "King"},
		"address":                 map[string]any{"city": "Paris", "country": "FR", "postal_code": "75001", "type": "Work", "updated_at": 1709287200000},
		"birthday":                "1815-12-10",
		"picture":                 "https://img.example/a.png",
		"language":                "en-GB",
		"status":                  "Active",
		"status_changed_at":       "2024-03-01T10:00:00.000Z",
		"created_at":              1709287200000,
		"updated_at":              1709460000000,
		"last_auth":               "2024-03-04T10:00:00.000Z",
		"external_user_id":        "EXT-42",
		"enterprise": map[string]any{"cost_center": "4130", "department": "Engineering", "employee_number": "701984",
			"manager": map[string]any{"display_name": "Charles Babbage", "id": "u-0002"}, "title": "Analyst"},
		"custom_data":          u.CustomData,
		"groupIds":             []string{"g1", "g2"},
		"external_account_id":  "acct-9",
		"custom_app_data":      map[string]any{"branch": "NY", "seats": 5},
		"app_name":             "Shop",
		"password_information": map[string]any{"expired": false, "temporary": true, "updated_at": 1709287200000, "expires_in": "2034-03-01T10:00:00.000Z"},
		"identities":           []any{},
	})
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("got  %s\nwant %s", g, w)
	}
	// admin: no app-level fields
	admin := NativeUser(u, NativeOptions{})
	for _, k := range []string{"external_account_id", "custom_app_data", "app_name"} {
		if _, ok := admin[k]; ok {
			t.Errorf("admin render has %s", k)
		}
	}
	// a bare user: only what is there
	bare := NativeUser(&schemas.User{ID: "u2", Status: schemas.StatusPending, Created: schematest.Created, Updated: schematest.Created}, NativeOptions{AppID: "app1"})
	if !reflect.DeepEqual(schematest.Canon(t, bare), schematest.Canon(t, map[string]any{"user_id": "u2", "status": "Pending", "created_at": 1709287200000, "updated_at": 1709287200000, "identities": []any{}})) {
		t.Errorf("bare = %v", bare)
	}
}

func TestNativeGroup(t *testing.T) {
	g := schematest.SampleGroup(t)
	got := schematest.Canon(t, NativeGroup(g))
	want := schematest.Canon(t, map[string]any{"group_id": "g1", "name": "Engineering EMEA", "description": "All engineers", "external_id": "grp-EXT",
		"custom_data": map[string]any{"region": "EMEA", "size": 12}, "created_at": 1709287200000, "updated_at": 1709290800000})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if err := MergeNativeGroup(g, schematest.Decode(t, `{"name":"Ops","custom_data":{"size":3}}`)); err != nil {
		t.Fatal(err)
	}
	if g.DisplayName != "Ops" || g.Description != "All engineers" || !reflect.DeepEqual(g.CustomData, map[string]any{"size": json.Number("3")}) {
		t.Errorf("group = %+v", g)
	}
	if err := MergeNativeGroup(g, schematest.Decode(t, `{"description":null,"custom_data":null}`)); err != nil || g.Description != "" || g.CustomData != nil {
		t.Errorf("null: %v %+v", err, g)
	}
	for body, path := range map[string]string{`{"group_id":"x"}`: "group_id", `{"members":[]}`: "members", `{"name":1}`: "name", `{"custom_data":"x"}`: "custom_data"} {
		err := MergeNativeGroup(g, schematest.Decode(t, body))
		if err == nil {
			t.Errorf("%s accepted", body)
			continue
		}
		if ve := schematest.AsValueError(t, err); ve.Path != path {
			t.Errorf("%s: path %q", body, ve.Path)
		}
	}
}

type mergeCase struct {
	name   string
	body   string
	opt    NativeOptions
	create bool
	check  func(t *testing.T, u *schemas.User)
	err    string // substring of the error; "" = success
	path   string
}

func TestMergeNativeUser(t *testing.T) {
	admin := NativeOptions{Now: natOpt.Now}
	cases := []mergeCase{
		{name: "only present fields change", body: `{"name":{"first_name":"Augusta"}}`, check: func(t *testing.T, u *schemas.User) {
			// name replaced whole (last_name gone), what native cannot see stays (formatted)
			if u.Name != (schemas.Name{GivenName: "Augusta", Formatted: "Ada King Lovelace"}) || u.UserName != "Ada.Lovelace@Example.org" || u.Title != "Analyst" {
				t.Errorf("name %+v", u.Name)
			}
		}},
		{name: "name null clears native parts", body: `{"name":null}`, check: func(t *testing.T, u *schemas.User) {
			if u.Name != (schemas.Name{Formatted: "Ada King Lovelace"}) {
				t.Errorf("name %+v", u.Name)
			}
		}},
		{name: "address replaced whole, type mapped, stamped", body: `{"address":{"city":"Rome","type":"home"}}`, check: func(t *testing.T, u *schemas.User) {
			a := schemas.SingleElem(u, schemas.UserAttributeByCanonical("primaryAddress"), "", false).(*schemas.Address)
			if a.Locality != "Rome" || a.Country != "" || a.PostalCode != "" || a.Type != "home" || !a.Primary || !a.Updated.Equal(natOpt.Now) || len(u.Addresses) != 2 {
				t.Errorf("address %+v", u.Addresses)
			}
			if NativeUser(u, natOpt)["address"].(map[string]any)["type"] != "Home" {
				t.Error("type not rendered Home")
			}
		}},
		{name: "unchanged address keeps updated_at", body: `{"address":{"city":"Paris","country":"FR","postal_code":"75001","type":"Work"}}`, check: func(t *testing.T, u *schemas.User) {
			if a := schemas.SingleElem(u, schemas.UserAttributeByCanonical("primaryAddress"), "", false).(*schemas.Address); !a.Updated.IsZero() || a.Type != "work" {
				t.Errorf("address %+v", a)
			}
		}},
		{name: "address null removes the primary address", body: `{"address":null}`, check: func(t *testing.T, u *schemas.User) {
			if len(u.Addresses) != 1 || u.Addresses[0].Locality != "London" {
				t.Errorf("addresses %+v", u.Addresses)
			}
		}},
		{name: "custom_data shallow merge and null delete", body: `{"custom_data":{"tier":"Silver","level":null,"new":{"a":1}}}`, check: func(t *testing.T, u *schemas.User) {
			if u.CustomData["tier"] != "Silver" || u.CustomData["new"] == nil || u.CustomData["vip"] != true {
				t.Errorf("custom data %v", u.CustomData)
			}
			if _, ok := u.CustomData["level"]; ok {
				t.Error("level not deleted")
			}
		}},
		{name: "custom_data null clears", body: `{"custom_data":null}`, check: func(t *testing.T, u *schemas.User) {
			if u.CustomData != nil {
				t.Errorf("custom data %v", u.CustomData)
			}
		}},
		{name: "custom_app_data shallow merge for the caller's app", body: `{"custom_app_data":{"seats":6,"branch":null},"external_account_id":"acct-10"}`, check: func(t *testing.T, u *schemas.User) {
			if !reflect.DeepEqual(u.Apps["app1"].CustomAppData, map[string]any{"seats": json.Number("6")}) || u.Apps["app1"].ExternalAccountID != "acct-10" {
				t.Errorf("app1 %+v", u.Apps["app1"])
			}
		}},
		{name: "custom_app_data needs an application", body: `{"custom_app_data":{"a":1}}`, opt: admin, err: "requires an application token", path: "custom_app_data"},
		{name: "external_account_id needs an application", body: `{"external_account_id":"x"}`, opt: admin, err: "requires an application token", path: "external_account_id"},
		{name: "email replaces the primary value, keeps secondaries, unverified", body: `{"email":"new@work.example"}`, check: func(t *testing.T, u *schemas.User) {
			p, _ := u.PrimaryEmail()
			if p.Value != "new@work.example" || p.Verified || !p.VerifiedAt.IsZero() || p.Type != "work" || len(u.Emails) != 2 {
				t.Errorf("emails %+v", u.Emails)
			}
		}},
		{name: "email case change keeps verification", body: `{"email":"ada@work.EXAMPLE"}`, check: func(t *testing.T, u *schemas.User) {
			if p, _ := u.PrimaryEmail(); p.Value != "ada@work.EXAMPLE" || !p.Verified {
				t.Errorf("emails %+v", u.Emails)
			}
		}},
		{name: "email object form", body: `{"email":{"value":"o@x.org"}}`, check: func(t *testing.T, u *schemas.User) {
			if p, _ := u.PrimaryEmail(); p.Value != "o@x.org" {
				t.Errorf("emails %+v", u.Emails)
			}
		}},
		{name: "email equal to a secondary promotes it", body: `{"email":"ada@home.example"}`, check: func(t *testing.T, u *schemas.User) {
			if len(u.Emails) != 1 || !u.Emails[0].Primary || u.Emails[0].Type != "home" {
				t.Errorf("emails %+v", u.Emails)
			}
		}},
		{name: "secondary_emails replaces the others, keeping known ones", body: `{"secondary_emails":["x@y.org","ADA@home.example"]}`, check: func(t *testing.T, u *schemas.User) {
			if len(u.Emails) != 3 || !u.Emails[0].Primary || u.Emails[1].Value != "x@y.org" || u.Emails[2].Type != "home" || u.Emails[2].Value != "ADA@home.example" {
				t.Errorf("emails %+v", u.Emails)
			}
		}},
		{name: "secondary_emails [] drops them", body: `{"secondary_emails":[]}`, check: func(t *testing.T, u *schemas.User) {
			if len(u.Emails) != 1 || u.Emails[0].Value != "Ada@Work.example" {
				t.Errorf("emails %+v", u.Emails)
			}
		}},
		{name: "secondary equal to the primary", body: `{"secondary_emails":["ada@work.example"]}`, err: "listed twice", path: "secondary_emails"},
		{name: "secondary listed twice", body: `{"secondary_emails":["a@b.org","A@b.org"]}`, err: "listed twice", path: "secondary_emails[1]"},
		{name: "secondary not an email", body: `{"secondary_emails":["nope"]}`, err: "email address", path: "secondary_emails[0]"},
		{name: "secondary empty", body: `{"secondary_emails":[""]}`, err: "required", path: "secondary_emails[0]"},
		{name: "secondary read-only member", body: `{"secondary_emails":[{"value":"a@b.org","email_verified":true}]}`, err: "read-only", path: "secondary_emails[0].email_verified"},
		{name: "phone E.164", body: `{"phone_number":"+12125550123","secondary_phone_numbers":["+33612345678"]}`, check: func(t *testing.T, u *schemas.User) {
			if p, _ := u.PrimaryPhone(); p.Value != "+12125550123" || p.Verified {
				t.Errorf("phones %+v", u.PhoneNumbers)
			}
			if len(u.PhoneNumbers) != 2 || u.PhoneNumbers[1].Value != "+33612345678" {
				t.Errorf("phones %+v", u.PhoneNumbers)
			}
		}},
		{name: "phone not E.164", body: `{"phone_number":"212-555-0123"}`, err: "E.164", path: "phone_number"},
		{name: "phone leading zero", body: `{"phone_number":"+0123"}`, err: "E.164", path: "phone_number"},
		{name: "phone too long", body: `{"secondary_phone_numbers":["+1234567890123456"]}`, err: "E.164", path: "secondary_phone_numbers[0]"},
		{name: "bad email", body: `{"email":"a b@x"}`, err: "email address", path: "email"},
		{name: "birthday", body: `{"birthday":"1990-02-28"}`, check: func(t *testing.T, u *schemas.User) {
			if u.Birthday != "1990-02-28" {
				t.Error(u.Birthday)
			}
		}},
		{name: "birthday not a date", body: `{"birthday":"1990-02-30"}`, err: "YYYY-MM-DD", path: "birthday"},
		{name: "birthday date-time", body: `{"birthday":"1990-02-03T00:00:00Z"}`, err: "YYYY-MM-DD", path: "birthday"},
		{name: "name part cap", body: `{"name":{"first_name":"` + strings.Repeat("é", 31) + `"}}`, err: "at most 30", path: "name.first_name"},
		{name: "name part at cap", body: `{"name":{"last_name":"` + strings.Repeat("é", 30) + `"}}`},
		{name: "address cap", body: `{"address":{"city":"` + strings.Repeat("x", 31) + `"}}`, err: "at most 30", path: "address.city"},
		{name: "street cap", body: `{"address":{"street_address":"` + strings.Repeat("x", 151) + `"}}`, err: "at most 150", path: "address.street_address"},
		{name: "street at cap", body: `{"address":{"street_address":"` + strings.Repeat("x", 150) + `"}}`},
		{name: "address type enum", body: `{"address":{"type":"Office"}}`, err: "Home, Work, Other", path: "address.type"},
		{name: "address read-only member", body: `{"address":{"updated_at":1}}`, err: "read-only", path: "address.updated_at"},
		{name: "picture", body: `{"picture":"https://img/p.png","language":"fr-FR"}`, check: func(t *testing.T, u *schemas.User) {
			if u.Photos[0].Value != "https://img/p.png" || u.PreferredLanguage != "fr-FR" {
				t.Errorf("%+v %q", u.Photos, u.PreferredLanguage)
			}
		}},
		{name: "picture not a URL", body: `{"picture":"javascript:alert(1)"}`, err: "URL", path: "picture"},
		{name: "status on update", body: `{"status":"disabled"}`, check: func(t *testing.T, u *schemas.User) {
			if u.Status != schemas.StatusDisabled {
				t.Error(u.Status)
			}
		}},
		{name: "status enum", body: `{"status":"Suspended"}`, err: "Active, Disabled, Pending", path: "status"},
		{name: "status not on create", body: `{"status":"Active"}`, create: true, err: "cannot be set on create", path: "status"},
		{name: "read-only user_id", body: `{"user_id":"x"}`, err: `field "user_id" is read-only`, path: "user_id"},
		{name: "read-only created_at", body: `{"created_at":1}`, err: "read-only", path: "created_at"},
		{name: "read-only groupIds", body: `{"groupIds":[]}`, err: "read-only", path: "groupIds"},
		{name: "read-only password_information", body: `{"password_information":{}}`, err: "read-only", path: "password_information"},
		{name: "read-only app_name", body: `{"app_name":"x"}`, err: "read-only", path: "app_name"},
		{name: "read-only email_verified", body: `{"email":{"value":"a@b.org","email_verified":true}}`, err: "read-only", path: "email.email_verified"},
		{name: "unknown field", body: `{"nickname":"x"}`, err: `unknown field "nickname"`, path: "nickname"},
		{name: "unknown field is case-sensitive", body: `{"Username":"x"}`, err: "unknown field", path: "Username"},
		{name: "credentials are the caller's", body: `{"credentials":{"password":"x"}}`, create: true, err: "unknown field", path: "credentials"},
		{name: "unknown nested field", body: `{"name":{"nick":"x"}}`, err: "unknown field", path: "name.nick"},
		{name: "wrong type", body: `{"username":5}`, err: "expected a string", path: "username"},
		{name: "object expected", body: `{"name":"Ada"}`, err: "expected an object", path: "name"},
		{name: "array expected", body: `{"secondary_emails":"a@b.org"}`, err: "expected an array", path: "secondary_emails"},
		{name: "custom_data object", body: `{"custom_data":[1]}`, err: "expected an object", path: "custom_data"},
		{name: "null clears scalars", body: `{"picture":null,"external_user_id":null,"username":null}`, check: func(t *testing.T, u *schemas.User) {
			if u.ExternalID != "" || u.UserName != "" || u.Photos[0].Value != "https://img.example/t.png" {
				t.Errorf("%q %q %+v", u.ExternalID, u.UserName, u.Photos)
			}
		}},
		{name: "create body", create: true, body: `{"email":"n@x.org","username":"n","name":{"first_name":"N"},"external_user_id":"e1","custom_data":{"a":1}}`, check: func(t *testing.T, u *schemas.User) {
			if p, _ := u.PrimaryEmail(); p.Value != "n@x.org" || u.UserName != "n" || u.ExternalID != "e1" {
				t.Errorf("%+v", u)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := schematest.SampleUser(t)
			if c.create {
				u = &schemas.User{}
			}
			before := u.Clone()
			opt := c.opt
			if opt == (NativeOptions{}) {
				opt = natOpt
			}
			err := MergeNativeUser(u, schematest.Decode(t, c.body), opt, c.create)
			if c.err != "" {
				if err == nil {
					t.Fatalf("accepted")
				}
				ve := schematest.AsValueError(t, err)
				if !strings.Contains(ve.Reason, c.err) || ve.Path != c.path {
					t.Errorf("error %v (path %q), want %q at %q", err, ve.Path, c.err, c.path)
				}
				if !reflect.DeepEqual(u, before) {
					t.Error("the user changed on error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, u)
			}
		})
	}
}
