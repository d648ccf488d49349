package wire

import (
	"encoding/json"
	"github.com/scimd/scimd/internal/schematest"
	"github.com/scimd/scimd/schemas"
	"reflect"
	"strings"
	"testing"
	"time"
)

var scimOpt = SCIMOptions{AppID: "app1", BaseURL: "https://h/cis/scim", Now: schematest.Created}

// Okta's create body (scim-clients.md §1.3) and its AIW read-modify-write PUT.
const oktaCreate = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "Test.User@Okta.local",
  "name": {"givenName": "Test", "familyName": "User"},
  "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
  "displayName": "Test User",
  "locale": "en-US",
  "externalId": "00ujl29u0le5T6Aj10h7",
  "groups": [],
  "password": "1mz050nq",
  "active": true
}`

func TestReplaceSCIMUserOktaRoundTrip(t *testing.T) {
	body := schematest.Decode(t, oktaCreate)
	u := &schemas.User{}
	pw, err := ReplaceSCIMUser(u, body, scimOpt)
	if err != nil {
		t.Fatal(err)
	}
	if pw == nil || *pw != "1mz050nq" {
		t.Fatalf("password = %v, want the body's", pw)
	}
	if u.Status != schemas.StatusPending {
		t.Errorf("status of a new active user = %q, want Pending", u.Status)
	}
	u.ID, u.Version, u.Created, u.Updated = "u1", 1, schematest.Created, schematest.Created
	got := userMap(t, u, scimOpt)
	for _, k := range []string{"userName", "name", "emails", "displayName", "locale", "externalId", "active"} {
		if !reflect.DeepEqual(schematest.Canon(t, got[k]), schematest.Canon(t, body[k])) {
			t.Errorf("%s: rendered %v, sent %v", k, schematest.Canon(t, got[k]), schematest.Canon(t, body[k]))
		}
	}
	for _, k := range []string{"password", "groups"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s is rendered: %v", k, got[k])
		}
	}
	// The AIW PUT: the whole rendered user back, with readOnly attributes
	// and a changed name, and without `active`.
	put := schematest.Canon(t, got).(map[string]any)
	put["name"] = map[string]any{"givenName": "Test", "familyName": "User", "middleName": "M"}
	put["groups"] = []any{map[string]any{"value": "forged"}}
	put["id"] = "forged"
	delete(put, "active")
	if _, err := ReplaceSCIMUser(u, put, scimOpt); err != nil {
		t.Fatal(err)
	}
	if u.ID != "u1" || u.GroupIDs != nil || u.Name.MiddleName != "M" || u.Status != schemas.StatusPending {
		t.Errorf("after PUT: id %q groups %v name %+v status %q", u.ID, u.GroupIDs, u.Name, u.Status)
	}
}

// Entra's create body (scim-clients.md §2.3): enterprise container, meta,
// active as a string, an unknown schema URN, empty roles.
const entraCreate = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
              "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
  "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
  "userName": "Test_User_ab6490ee@contoso.com",
  "active": "True",
  "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
  "roles": [],
  "phoneNumbers": [{"type": "mobile", "value": "+1 425 555 0100"}, {"type": "fax", "value": "+1 425 555 0101"}],
  "addresses": [{"type": "work", "streetAddress": "1 Microsoft Way", "locality": "Redmond", "region": "WA", "postalCode": "98052", "country": "US", "primary": true}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "0042", "department": "Sales", "costCenter": "CC1", "organization": "Contoso",
    "division": "West", "manager": {"value": "mgr-1"}
  },
  "urn:ietf:params:scim:schemas:extension:UserExtended:2.0:User": {"status": "Disabled"}
}`

func TestReplaceSCIMUserEntraRoundTrip(t *testing.T) {
	body := schematest.Decode(t, entraCreate)
	u := &schemas.User{}
	if _, err := ReplaceSCIMUser(u, body, SCIMOptions{Now: schematest.Created}); err != nil {
		t.Fatal(err)
	}
	if u.Status != schemas.StatusPending || u.Enterprise == nil || u.Enterprise.Manager == nil || u.Enterprise.Manager.Value != "mgr-1" {
		t.Fatalf("status %q enterprise %+v", u.Status, u.Enterprise)
	}
	if !u.Addresses[0].Updated.Equal(schematest.Created) {
		t.Errorf("new address updated = %v, want Now", u.Addresses[0].Updated)
	}
	got := userMap(t, u, SCIMOptions{})
	for _, k := range []string{"externalId", "userName", "emails", "name", "phoneNumbers", "addresses", schemas.EnterpriseUserURN} {
		if !reflect.DeepEqual(schematest.Canon(t, got[k]), schematest.Canon(t, body[k])) {
			t.Errorf("%s: rendered %v, sent %v", k, schematest.Canon(t, got[k]), schematest.Canon(t, body[k]))
		}
	}
	if got["active"] != true {
		t.Errorf("active = %v", got["active"])
	}
	if _, ok := got["roles"]; ok {
		t.Errorf("empty roles rendered")
	}
	want := []any{schemas.UserSchemaURN, schemas.EnterpriseUserURN, schemas.UserExtendedURN}
	if !reflect.DeepEqual(got["schemas"], want) {
		t.Errorf("schemas = %v, want %v", got["schemas"], want)
	}
}

// Rendering a user and replacing it with the render changes nothing: what
// SCIM cannot see (verification, birthday, other apps' data, the password,
// address timestamps, group membership) survives.
func TestReplaceSCIMUserWithOwnRenderIsIdentity(t *testing.T) {
	u := schematest.SampleUser(t)
	u.Addresses[1].Updated = schematest.Created
	u.DeviceKeys = []schemas.DeviceKey{{KeyID: "k1"}}
	want := u.Clone()
	body := schematest.Canon(t, userMap(t, u, scimOpt)).(map[string]any)
	if _, err := ReplaceSCIMUser(u, body, SCIMOptions{AppID: "app1", Now: schematest.Created.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("replace with own render changed the user:\n got %+v\nwant %+v", u, want)
	}
}

func TestReplaceSCIMUserClearsAbsentAndKeepsNonSCIM(t *testing.T) {
	u := schematest.SampleUser(t)
	body := schematest.Decode(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada",
		"emails":[{"value":"ADA@work.example","primary":true,"type":"work"},{"value":"new@x.org"}],
		"nickName":null,"name":{"givenName":"Ada","familyName":null}}`)
	if _, err := ReplaceSCIMUser(u, body, scimOpt); err != nil {
		t.Fatal(err)
	}
	if u.UserName != "ada" || u.NickName != "" || u.Title != "" || u.ExternalID != "" || u.Enterprise != nil ||
		u.PhoneNumbers != nil || u.Addresses != nil || u.Roles != nil || u.Name != (schemas.Name{GivenName: "Ada"}) {
		t.Errorf("absent attributes not cleared: %+v", u)
	}
	if u.Birthday != "1815-12-10" || u.Apps["app1"].CustomAppData["branch"] != "NY" || u.CustomData["tier"] != "Gold" ||
		u.Password == nil || len(u.GroupIDs) != 2 || u.Status != schemas.StatusActive {
		t.Errorf("data outside SCIM changed: %+v", u)
	}
	// the primary kept its verification (same mailbox, case changed); the new one is unverified
	if e := u.Emails[0]; !e.Verified || !e.VerifiedAt.Equal(schematest.Created) || e.Value != "ADA@work.example" {
		t.Errorf("primary email = %+v", e)
	}
	if e := u.Emails[1]; e.Verified || e.Primary {
		t.Errorf("new email = %+v", e)
	}
}

func TestReplaceSCIMUserActive(t *testing.T) {
	authed := schematest.Created
	cases := []struct {
		name     string
		status   string
		lastAuth time.Time
		active   string // JSON, "" = absent
		want     string
	}{
		{"absent keeps Active", schemas.StatusActive, authed, "", schemas.StatusActive},
		{"absent keeps Pending", schemas.StatusPending, time.Time{}, "", schemas.StatusPending},
		{"absent re-enables (authenticated)", schemas.StatusDisabled, authed, "", schemas.StatusActive},
		{"absent re-enables (never authenticated)", schemas.StatusDisabled, time.Time{}, "", schemas.StatusPending},
		{"null is absent", schemas.StatusDisabled, authed, "null", schemas.StatusActive},
		{"false disables", schemas.StatusActive, authed, "false", schemas.StatusDisabled},
		{"False string disables", schemas.StatusPending, time.Time{}, `"False"`, schemas.StatusDisabled},
		{"true re-enables", schemas.StatusDisabled, authed, "true", schemas.StatusActive},
		{"TRUE string re-enables to Pending", schemas.StatusDisabled, time.Time{}, `"TRUE"`, schemas.StatusPending},
		{"true keeps Pending", schemas.StatusPending, time.Time{}, "true", schemas.StatusPending},
		{"new user", "", time.Time{}, "true", schemas.StatusPending},
		{"new disabled user", "", time.Time{}, "false", schemas.StatusDisabled},
	}
	for _, c := range cases {
		u := &schemas.User{UserName: "a", Status: c.status, LastAuth: c.lastAuth}
		body := `{"userName":"a"}`
		if c.active != "" {
			body = `{"userName":"a","active":` + c.active + `}`
		}
		if _, err := ReplaceSCIMUser(u, schematest.Decode(t, body), SCIMOptions{}); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if u.Status != c.want {
			t.Errorf("%s: status %q, want %q", c.name, u.Status, c.want)
		}
	}
	u := &schemas.User{Status: schemas.StatusActive}
	if _, err := ReplaceSCIMUser(u, schematest.Decode(t, `{"active":"yes"}`), SCIMOptions{}); err == nil {
		t.Error(`active "yes" accepted`)
	} else if ve := schematest.AsValueError(t, err); ve.Path != "active" {
		t.Errorf("path %q", ve.Path)
	}
}

func TestReplaceSCIMUserExtensions(t *testing.T) {
	// absent: untouched
	u := schematest.SampleUser(t)
	if _, err := ReplaceSCIMUser(u, schematest.Decode(t, `{"userName":"ada"}`), scimOpt); err != nil {
		t.Fatal(err)
	}
	if u.CustomData["tier"] != "Gold" || u.Apps["app1"].CustomAppData["seats"] != json.Number("5") {
		t.Errorf("absent extensions changed data: %v %v", u.CustomData, u.Apps["app1"].CustomAppData)
	}
	// present: replaced (not merged); other apps untouched
	u.Apps["app2"] = &schemas.AppLink{CustomAppData: map[string]any{"x": "y"}}
	body := schematest.Decode(t, `{"userName":"ada",
		"urn:scimd:schemas:extension:CustomData:2.0:User": {"tier": "Silver", "n": 1.50},
		"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:CUSTOMAPPDATA:2.0:USER": {"branch": "LA"}}`)
	if _, err := ReplaceSCIMUser(u, body, scimOpt); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(u.CustomData, map[string]any{"tier": "Silver", "n": json.Number("1.5")}) {
		t.Errorf("custom data = %v", u.CustomData)
	}
	if !reflect.DeepEqual(u.Apps["app1"].CustomAppData, map[string]any{"branch": "LA"}) || u.Apps["app1"].ExternalAccountID != "acct-9" {
		t.Errorf("app1 = %+v", u.Apps["app1"])
	}
	if u.Apps["app2"].CustomAppData["x"] != "y" {
		t.Errorf("app2 changed")
	}
	// null clears
	if _, err := ReplaceSCIMUser(u, schematest.Decode(t, `{"urn:scimd:schemas:extension:CustomData:2.0:User": null}`), scimOpt); err != nil {
		t.Fatal(err)
	}
	if u.CustomData != nil {
		t.Errorf("custom data after null = %v", u.CustomData)
	}
	// a new app's data assigns the app link
	v := &schemas.User{}
	if _, err := ReplaceSCIMUser(v, schematest.Decode(t, `{"urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User": {"a": 1}}`), SCIMOptions{AppID: "app9"}); err != nil {
		t.Fatal(err)
	}
	if v.Apps["app9"] == nil || v.Apps["app9"].CustomAppData["a"] != json.Number("1") {
		t.Errorf("app9 = %+v", v.Apps)
	}
	// without an application: rejected
	_, err := ReplaceSCIMUser(v, schematest.Decode(t, `{"urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User": {"a": 1}}`), SCIMOptions{})
	if err == nil {
		t.Fatal("CustomAppData accepted without an application")
	}
	schematest.AsValueError(t, err)
}

func TestReplaceSCIMUserNamesAndManager(t *testing.T) {
	u := &schemas.User{}
	body := schematest.Decode(t, `{"USERNAME":"bjensen","Name":{"GIVENNAME":"Barbara"},
		"urn:ietf:params:scim:schemas:core:2.0:User:title":"Tour Guide",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Tours",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":"mgr-7",
		"unknownAttr": {"x": 1}, "name.familyName": "ignored",
		"emails":[{"value":"b@x.org","primary":"True","verified":true,"unknownSub":1}],
		"photos":["https://img/x.png"]}`)
	if _, err := ReplaceSCIMUser(u, body, SCIMOptions{}); err != nil {
		t.Fatal(err)
	}
	if u.UserName != "bjensen" || u.Name.GivenName != "Barbara" || u.Name.FamilyName != "" || u.Title != "Tour Guide" ||
		u.Enterprise.Department != "Tours" || u.Enterprise.Manager.Value != "mgr-7" ||
		!u.Emails[0].Primary || u.Emails[0].Verified || u.Photos[0].Value != "https://img/x.png" {
		t.Errorf("got %+v %+v %+v", u, u.Enterprise, u.Emails)
	}
	// manager {value}, readOnly displayName kept for the same manager, cleared by an empty value
	u.Enterprise.Manager.DisplayName = "Boss"
	if _, err := ReplaceSCIMUser(u, schematest.Decode(t, `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"mgr-7","displayName":"forged"}}}`), SCIMOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := u.Enterprise.Manager; m.Value != "mgr-7" || m.DisplayName != "Boss" {
		t.Errorf("manager = %+v", m)
	}
	if _, err := ReplaceSCIMUser(u, schematest.Decode(t, `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":""}}}`), SCIMOptions{}); err != nil {
		t.Fatal(err)
	}
	if u.Enterprise != nil {
		t.Errorf("enterprise after clearing the manager = %+v", u.Enterprise)
	}
}

func TestReplaceSCIMUserErrors(t *testing.T) {
	cases := []struct{ body, path, reason string }{
		{`{"emails":"a@b.c"}`, "emails", "expected an array"},
		{`{"emails":{"value":"a@b.c"}}`, "emails", "expected an array"},
		{`{"emails":[1]}`, "emails[0]", "expected an object"},
		{`{"emails":[{"value":7}]}`, "emails[0].value", "expected a string"},
		{`{"emails":[{"primary":"maybe"}]}`, "emails[0].primary", "expected a boolean"},
		{`{"name":"Ada"}`, "name", "expected an object"},
		{`{"name":["Ada"]}`, "name", "expected an object"},
		{`{"userName":{"x":1}}`, "userName", "expected a string"},
		{`{"userName":"a","USERNAME":"b"}`, "userName", "given twice"},
		{`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}`, schemas.EnterpriseUserURN, "expected an object"},
		{`{"urn:scimd:schemas:extension:CustomData:2.0:User":[1]}`, schemas.CustomDataURN, "expected an object"},
		{`{"password":12345678}`, "password", "expected a string"},
	}
	for _, c := range cases {
		u := schematest.SampleUser(t)
		want := u.Clone()
		_, err := ReplaceSCIMUser(u, schematest.Decode(t, c.body), scimOpt)
		if err == nil {
			t.Errorf("%s: accepted", c.body)
			continue
		}
		ve := schematest.AsValueError(t, err)
		if ve.Path != c.path || !strings.Contains(ve.Reason, c.reason) {
			t.Errorf("%s: %v (path %q), want path %q and %q", c.body, err, ve.Path, c.path, c.reason)
		}
		if !reflect.DeepEqual(u, want) {
			t.Errorf("%s: the user changed on error", c.body)
		}
	}
	if got := (&schemas.ValueError{Path: "emails", Reason: "expected an array"}).Error(); got != `invalid value for "emails": expected an array` {
		t.Errorf("Error() = %s", got)
	}
}

func TestSCIMUserOmitsEmpty(t *testing.T) {
	u := &schemas.User{ID: "u1", UserName: "a", Status: schemas.StatusPending, Emails: []schemas.Email{{Value: "a@x.org"}}, Created: schematest.Created, Updated: schematest.Created}
	got := userMap(t, u, SCIMOptions{AppID: "app1"})
	want := map[string]any{
		"schemas":               []any{schemas.UserSchemaURN, schemas.UserExtendedURN},
		"id":                    "u1",
		"userName":              "a",
		"active":                true,
		"emails":                []any{map[string]any{"value": "a@x.org"}},
		"meta":                  map[string]any{"resourceType": "User", "created": "2024-03-01T10:00:00.000Z", "lastModified": "2024-03-01T10:00:00.000Z"},
		schemas.UserExtendedURN: map[string]any{"status": "Pending"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	u.Status = schemas.StatusDisabled
	if userMap(t, u, SCIMOptions{})["active"] != false {
		t.Error("disabled user is active")
	}
}

func TestSCIMGroup(t *testing.T) {
	g := schematest.SampleGroup(t)
	got := groupMap(t, g, []SCIMMember{{Value: "u1", Display: "ada", Type: "User"}, {Value: "u2"}}, scimOpt)
	want := map[string]any{
		"schemas": []any{schemas.GroupSchemaURN, schemas.GroupExtendedURN}, "id": "g1", "externalId": "grp-EXT", "displayName": "Engineering EMEA",
		schemas.GroupExtendedURN: map[string]any{"description": "All engineers", "customData": g.CustomData},
		"meta": map[string]any{"resourceType": "Group", "created": "2024-03-01T10:00:00.000Z", "lastModified": "2024-03-01T11:00:00.000Z",
			"location": "https://h/cis/scim/Groups/g1", "version": `W/"2"`},
		"members": []any{
			map[string]any{"value": "u1", "display": "ada", "type": "User", "$ref": "https://h/cis/scim/Users/u1"},
			map[string]any{"value": "u2", "$ref": "https://h/cis/scim/Users/u2"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if _, ok := groupMap(t, g, nil, scimOpt)["members"]; ok {
		t.Error("nil members rendered")
	}
	// replace: Entra's create body (unknown schema, meta, members ignored)
	body := schematest.Decode(t, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
		"externalId":"8aa1a0c0","DISPLAYNAME":"Group1DisplayName","meta":{"resourceType":"Group"},"members":[{"value":"u9"}],"id":"forged"}`)
	if err := ReplaceSCIMGroup(g, body); err != nil {
		t.Fatal(err)
	}
	if g.ID != "g1" || g.DisplayName != "Group1DisplayName" || g.ExternalID != "8aa1a0c0" || g.Description != "All engineers" || g.CustomData["region"] != "EMEA" {
		t.Errorf("group = %+v", g)
	}
	if err := ReplaceSCIMGroup(g, schematest.Decode(t, `{"displayName":"x"}`)); err != nil || g.ExternalID != "" {
		t.Errorf("absent externalId not cleared: %v %+v", err, g)
	}
	if err := ReplaceSCIMGroup(g, schematest.Decode(t, `{"displayName":5}`)); err == nil || g.DisplayName != "x" {
		t.Errorf("displayName 5: %v %+v", err, g)
	}
}

// userMap is SCIMUser's resource, failing t on an error.
func userMap(t testing.TB, u *schemas.User, o SCIMOptions) map[string]any {
	t.Helper()
	m, err := SCIMUser(u, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// groupMap is SCIMGroup's resource, failing t on an error.
func groupMap(t testing.TB, g *schemas.Group, members []SCIMMember, o SCIMOptions) map[string]any {
	t.Helper()
	m, err := SCIMGroup(g, members, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSCIMUserBodyMerge: Transmit's merge writes what the body gives and
// keeps the rest — a given top-level attribute whole, the non-primary
// emails (their verification too), the enterprise extension cleared by a
// null container, custom data merged key by key, the status when active is
// absent — and a SCIMUserBody writes the same user however often it is
// written (a compare-and-swap retry writes it again).
func TestSCIMUserBodyMerge(t *testing.T) {
	in, err := ReadSCIMUser(schematest.Decode(t, `{"name":{"familyName":"Byron"},"emails":[{"value":"new@x.org","primary":true}],`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null,"urn:scimd:schemas:extension:CustomData:2.0:User":{"tier":"Silver"}}`), scimOpt, false)
	if err != nil {
		t.Fatal(err)
	}
	u := schematest.SampleUser(t)
	u.Status = schemas.StatusDisabled
	u.Emails[0].Verified = true
	again := u.Clone()
	in.Merge(u)
	if u.UserName != again.UserName || u.Name != (schemas.Name{FamilyName: "Byron"}) || u.Enterprise != nil ||
		u.Status != schemas.StatusDisabled || u.CustomData["tier"] != "Silver" || u.CustomData["level"] == nil ||
		len(u.Addresses) != 2 || len(u.Emails) != 2 || u.Emails[0].Value != "new@x.org" || !u.Emails[0].Primary ||
		u.Emails[1].Value != "ada@home.example" || !u.Emails[1].Verified {
		t.Fatalf("merge: %+v", u)
	}
	in.Merge(again)
	if !reflect.DeepEqual(u, again) {
		t.Fatalf("a second write differs:\n%+v\n%+v", u, again)
	}
	replaced, again2 := schematest.SampleUser(t), schematest.SampleUser(t)
	in.Replace(replaced)
	in.Replace(again2)
	if !reflect.DeepEqual(replaced, again2) || replaced.UserName != "" || len(replaced.Emails) != 1 {
		t.Fatalf("replace: %+v / %+v", replaced, again2)
	}
}
