package scim

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/jsontest"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/internal/wire"
)

var scimOpt = wire.SCIMOptions{AppID: "app1", BaseURL: "https://h/cis/scim"}

// projectedUser has a value in every part of a resource the projection
// treats differently: core, sub-attributes, multi-valued, the enterprise and
// UserExtended extensions, the free-form CustomData, meta and groups.
func projectedUser() *schemas.User {
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	return &schemas.User{ID: "u-0001", Version: 3, UserName: "Ada.Lovelace@Example.org",
		Name:        schemas.Name{GivenName: "Ada", FamilyName: "Lovelace"},
		DisplayName: "Ada Lovelace",
		Emails:      []schemas.Email{{Value: "ada@home.example", Type: "home"}, {Value: "Ada@Work.example", Type: "work", Primary: true}},
		Enterprise: &schemas.EnterpriseUser{Department: "Engineering",
			Manager: &schemas.Manager{Value: "u-0002", DisplayName: "Charles Babbage"}},
		Status:     schemas.StatusActive,
		CustomData: map[string]any{"tier": "Gold"},
		GroupIDs:   []string{"g1"},
		Password:   &schemas.PasswordCredential{Hash: "x", Updated: at},
		Created:    at, Updated: at,
	}
}

func projectedGroup() *schemas.Group {
	return &schemas.Group{ID: "g1", Version: 2, DisplayName: "Engineering EMEA"}
}

// canonJSON round-trips v (a JSON object) through JSON as a client reads it.
func canonJSON(t *testing.T, v any) any {
	t.Helper()
	return jsontest.Decode([]byte(mustMarshal(t, v)))
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	return jsontest.Decode([]byte(s))
}

func mustMarshal(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestProjectSCIM(t *testing.T) {
	res := canonJSON(t, userMap(t, projectedUser(), scimOpt)).(map[string]any)
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		attrs, excl []string
		want        string // JSON of the expected projection
	}{
		{[]string{"userName"}, nil, `{"id":"u-0001","schemas":["` + schemas.UserSchemaURN + `"],"userName":"Ada.Lovelace@Example.org"}`},
		{[]string{"USERNAME", "name.givenName", "emails.type", "nosuch"}, nil,
			`{"id":"u-0001","schemas":["` + schemas.UserSchemaURN + `"],"userName":"Ada.Lovelace@Example.org","name":{"givenName":"Ada"},"emails":[{"type":"home"},{"type":"work"}]}`},
		{[]string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "meta.version"}, nil,
			`{"id":"u-0001","schemas":["` + schemas.UserSchemaURN + `","` + schemas.EnterpriseUserURN + `"],"meta":{"version":"W/\"3\""},"` + schemas.EnterpriseUserURN + `":{"department":"Engineering"}}`},
		{[]string{"urn:scimd:schemas:extension:CustomData:2.0:User", "id"}, nil,
			`{"id":"u-0001","schemas":["` + schemas.UserSchemaURN + `","` + schemas.CustomDataURN + `"],"` + schemas.CustomDataURN + `":` + mustMarshal(t, res[schemas.CustomDataURN]) + `}`},
		{[]string{"urn:ietf:params:scim:schemas:core:2.0:User:displayName", "manager"}, nil,
			`{"id":"u-0001","schemas":["` + schemas.UserSchemaURN + `","` + schemas.EnterpriseUserURN + `"],"displayName":"Ada Lovelace","` + schemas.EnterpriseUserURN + `":{"manager":{"value":"u-0002","displayName":"Charles Babbage"}}}`},
	}
	for _, c := range cases {
		got := canonJSON(t, projectSCIM(res, schemas.UserResource, c.attrs, c.excl))
		if want := decodeJSON(t, c.want); !reflect.DeepEqual(got, canonJSON(t, want)) {
			t.Errorf("attributes=%v: got %v\nwant %v", c.attrs, got, want)
		}
	}
	// excludedAttributes
	got := projectSCIM(res, schemas.UserResource, nil, []string{"emails", "ID", "name.givenName", "meta", schemas.EnterpriseUserURN, "urn:ietf:params:scim:schemas:extension:UserExtended:2.0:User:passwordInformation", "groups.$ref"})
	if _, ok := got["emails"]; ok {
		t.Error("emails not excluded")
	}
	if got["id"] != "u-0001" {
		t.Error("id (returned always) excluded")
	}
	if n := got["name"].(map[string]any); n["givenName"] != nil || n["familyName"] != "Lovelace" {
		t.Errorf("name = %v", n)
	}
	if _, ok := got[schemas.EnterpriseUserURN]; ok || got["meta"] != nil {
		t.Error("enterprise or meta not excluded")
	}
	if ue := got[schemas.UserExtendedURN].(map[string]any); ue["passwordInformation"] != nil || ue["status"] != "Active" {
		t.Errorf("UserExtended = %v", ue)
	}
	if g := got["groups"].([]any); g[0].(map[string]any)["$ref"] != nil || g[0].(map[string]any)["value"] != "g1" {
		t.Errorf("groups = %v", g)
	}
	if slices.Contains(got["schemas"].([]string), schemas.EnterpriseUserURN) {
		t.Error("schemas still lists the excluded enterprise extension")
	}
	// the input is not modified
	if len(keys(res)) != len(keys(canonJSON(t, userMap(t, projectedUser(), scimOpt)).(map[string]any))) || res["emails"] == nil {
		t.Error("ProjectSCIM modified its input")
	}
	// groups: Entra's excludedAttributes=members
	gr := groupMap(t, projectedGroup(), []wire.SCIMMember{{Value: "u1"}}, scimOpt)
	if pg := projectSCIM(gr, schemas.GroupResource, nil, []string{"members"}); pg["members"] != nil || pg["displayName"] != "Engineering EMEA" {
		t.Errorf("group projection = %v", pg)
	}
	if r, ok := attributeReturned(schemas.UserResource, "id"); !ok || r != schemas.ReturnedAlways {
		t.Errorf("id returned %v %v", r, ok)
	}
	if r, ok := attributeReturned(schemas.UserResource, "password"); !ok || r != schemas.ReturnedNever {
		t.Errorf("password returned %v %v", r, ok)
	}
	if _, ok := attributeReturned(schemas.UserResource, "nosuch"); ok {
		t.Error("unknown attribute known")
	}
}

// userMap is wire.SCIMUser's resource, failing t on an error.
func userMap(t testing.TB, u *schemas.User, o wire.SCIMOptions) map[string]any {
	t.Helper()
	m, err := wire.SCIMUser(u, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// groupMap is wire.SCIMGroup's resource, failing t on an error.
func groupMap(t testing.TB, g *schemas.Group, members []wire.SCIMMember, o wire.SCIMOptions) map[string]any {
	t.Helper()
	m, err := wire.SCIMGroup(g, members, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
