package scim_test

import (
	"net/url"
	"testing"
)

const entURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// TestPatchDialects replays the PATCH forms of RFC 7644 §3.5.2 and of real
// clients (scim-clients.md §1.6, §2.4, §2.7, §2.10, §6), each on a fresh user.
func TestPatchDialects(t *testing.T) {
	f := newFixture(t)
	mgr := f.createUser("boss@x.org")
	cases := []struct {
		name  string
		ops   []map[string]any
		check func(t *testing.T, u map[string]any)
	}{
		{"okta deactivate pathless", []map[string]any{op("replace", "", map[string]any{"active": false})},
			func(t *testing.T, u map[string]any) { eq(t, u["active"], false) }},
		{"entra string boolean capitalised", []map[string]any{op("Replace", "active", "False")},
			func(t *testing.T, u map[string]any) { eq(t, u["active"], false) }},
		{"reactivate with True", []map[string]any{op("Replace", "active", "False"), op("Replace", "active", "True")},
			func(t *testing.T, u map[string]any) { eq(t, u["active"], true) }},
		{"dotted keys in pathless value (aadOptscim062020)", []map[string]any{op("replace", "", map[string]any{
			"displayName": "Ada L", "name.givenName": "Augusta", entURN + ":employeeNumber": "42"})},
			func(t *testing.T, u map[string]any) {
				eq(t, u["displayName"], "Ada L")
				eq(t, get(u, "name", "givenName"), "Augusta")
				eq(t, get(u, "name", "familyName"), "Lovelace")
				eq(t, get(u, entURN, "employeeNumber"), "42")
			}},
		{"URN container in pathless value", []map[string]any{op("add", "", map[string]any{entURN: map[string]any{"department": "R&D"}})},
			func(t *testing.T, u map[string]any) { eq(t, get(u, entURN, "department"), "R&D") }},
		{"enterprise URN path", []map[string]any{op("Add", entURN+":costCenter", "CC1")},
			func(t *testing.T, u map[string]any) { eq(t, get(u, entURN, "costCenter"), "CC1") }},
		{"value filter replace", []map[string]any{op("Replace", `emails[type eq "work"].value`, "new@x.org")},
			func(t *testing.T, u map[string]any) { eq(t, get(u, "emails", 0, "value"), "new@x.org") }},
		{"value filter add creates element", []map[string]any{op("Add", `phoneNumbers[type eq "mobile"].value`, "+15550100")},
			func(t *testing.T, u map[string]any) {
				eq(t, get(u, "phoneNumbers", 0, "value"), "+15550100")
				eq(t, get(u, "phoneNumbers", 0, "type"), "mobile")
			}},
		{"entra replace on missing typed element creates it", []map[string]any{op("Replace", `addresses[type eq "work"].locality`, "Paris")},
			func(t *testing.T, u map[string]any) { eq(t, get(u, "addresses", 0, "locality"), "Paris") }},
		{"validator roles primary string", []map[string]any{op("add", `roles[primary eq "True"].display`, "Admin")},
			func(t *testing.T, u map[string]any) {
				eq(t, get(u, "roles", 0, "display"), "Admin")
				eq(t, get(u, "roles", 0, "primary"), true)
			}},
		{"manager string", []map[string]any{op("Add", entURN+":manager", mgr)},
			func(t *testing.T, u map[string]any) { eq(t, get(u, entURN, "manager", "value"), mgr) }},
		{"manager object then empty value clears", []map[string]any{op("replace", entURN+":manager", map[string]any{"value": mgr}),
			op("Replace", entURN+":manager", map[string]any{"value": ""})},
			func(t *testing.T, u map[string]any) { eq(t, get(u, entURN, "manager"), nil) }},
		{"manager remove", []map[string]any{op("add", entURN+":manager", mgr), op("Remove", entURN+":manager", nil)},
			func(t *testing.T, u map[string]any) { eq(t, get(u, entURN, "manager"), nil) }},
		{"add multi-valued appends, primary moves", []map[string]any{op("add", "emails", []any{map[string]any{"value": "b@x.org", "type": "home", "primary": "true"}})},
			func(t *testing.T, u map[string]any) {
				eq(t, len(u["emails"].([]any)), 2)
				eq(t, get(u, "emails", 0, "primary"), nil)
				eq(t, get(u, "emails", 1, "primary"), true)
			}},
		{"remove by filter", []map[string]any{op("add", "emails", map[string]any{"value": "b@x.org", "type": "home"}),
			op("remove", `emails[type eq "home"]`, nil)},
			func(t *testing.T, u map[string]any) { eq(t, len(u["emails"].([]any)), 1) }},
		{"replace missing attribute adds it", []map[string]any{op("replace", "nickName", "Ada")},
			func(t *testing.T, u map[string]any) { eq(t, u["nickName"], "Ada") }},
		{"remove simple", []map[string]any{op("add", "title", "Countess"), op("remove", "title", nil)},
			func(t *testing.T, u map[string]any) { eq(t, u["title"], nil) }},
		{"sub-attribute path", []map[string]any{op("replace", "name.familyName", "King")},
			func(t *testing.T, u map[string]any) { eq(t, get(u, "name", "familyName"), "King") }},
		{"userName pathless (validator)", []map[string]any{op("replace", "", map[string]any{"userName": "renamed@x.org"})},
			func(t *testing.T, u map[string]any) { eq(t, u["userName"], "renamed@x.org") }},
		{"okta password sync", []map[string]any{op("replace", "", map[string]any{"password": "new secret pw"})},
			func(t *testing.T, u map[string]any) { eq(t, u["password"], nil) }},
		{"readOnly id echo equal is ignored", nil, nil}, // filled below
		{"custom data key", []map[string]any{op("add", "urn:scimd:schemas:extension:CustomData:2.0:User:tier", "gold")},
			func(t *testing.T, u map[string]any) {
				eq(t, get(u, "urn:scimd:schemas:extension:CustomData:2.0:User", "tier"), "gold")
			}},
		{"no-op patch succeeds", []map[string]any{op("replace", "name.givenName", "Ada")},
			func(t *testing.T, u map[string]any) { eq(t, get(u, "name", "givenName"), "Ada") }},
		{"multiple ops on one attribute in order", []map[string]any{op("remove", "title", nil), op("add", "title", "A"), op("replace", "title", "B")},
			func(t *testing.T, u map[string]any) { eq(t, u["title"], "B") }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := f.createUser(url.PathEscape(tc.name)[:3] + string(rune('a'+i)) + "@case.org")
			ops := tc.ops
			check := tc.check
			if ops == nil {
				ops = []map[string]any{op("replace", "", map[string]any{"id": id, "displayName": "Same"})}
				check = func(t *testing.T, u map[string]any) { eq(t, u["displayName"], "Same") }
			}
			r := f.do("PATCH", "/Users/"+id, f.admin, patchOp(ops...)).want(t, 200)
			check(t, r.body)
			g := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200)
			check(t, g.body)
		})
	}
}

func eq(t *testing.T, got, want any) {
	t.Helper()
	if n, ok := got.(interface{ String() string }); ok {
		got = n.String()
	}
	if w, ok := want.(int); ok {
		if g, ok := got.(int); ok && g == w {
			return
		}
	}
	if got != want {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}
