package scim_test

import (
	"net/url"
	"strings"
	"testing"
)

func q(filter string) string { return url.QueryEscape(filter) }

// TestOktaSPEC replays Okta's SPEC test (scim-clients.md §1.10) in its order.
func TestOktaSPEC(t *testing.T) {
	s := newServer(t)
	const base = "/scim/v2"
	// Setup: one user must exist.
	s.call("POST", base+"/Users", map[string]any{"schemas": []string{userURN}, "userName": "seed@okta.example",
		"name": map[string]any{"givenName": "Seed", "familyName": "User"}, "emails": []any{map[string]any{"value": "seed@okta.example", "primary": true}}, "active": true}).is(t, 201)
	random, caps := "Rand.User+77@Okta.Example", "RAND.USER+77@OKTA.EXAMPLE"

	r := s.call("GET", base+"/Users?count=1&startIndex=1", nil).is(t, 200) // 1
	if !has(r.body["schemas"], "urn:ietf:params:scim:api:messages:2.0:ListResponse") || !isNumber(r.body["itemsPerPage"]) ||
		!isNumber(r.body["startIndex"]) || !isNumber(r.body["totalResults"]) {
		t.Fatalf("step 1: %s", r.raw)
	}
	u0 := at(r.body, "Resources", 0).(map[string]any)
	for _, p := range [][]any{{"id"}, {"name", "familyName"}, {"name", "givenName"}, {"userName"}, {"active"}, {"emails", 0, "value"}} {
		if at(u0, p...) == nil {
			t.Fatalf("step 1: Resources[0] lacks %v", p)
		}
	}
	id := u0["id"].(string)
	if g := s.call("GET", base+"/Users/"+id, nil).is(t, 200); g.body["id"] != id { // 2
		t.Fatal(g.raw)
	}
	if r := s.call("GET", base+"/Users?filter="+q(`userName eq "invalid-user@okta.example"`), nil).is(t, 200); n(r.body["totalResults"]) != 0 { // 3
		t.Fatal(r.raw)
	}
	s.call("GET", base+"/Users/123456789012345678901234567890", nil).scimError(t, 404, "")                                       // 4
	if r := s.call("GET", base+"/Users?filter="+q(`userName eq "`+random+`"`), nil).is(t, 200); n(r.body["totalResults"]) != 0 { // 5
		t.Fatal(r.raw)
	}
	create := map[string]any{"schemas": []string{userURN}, "userName": random, "active": true, "displayName": "Rand User",
		"name": map[string]any{"givenName": "Rand", "familyName": "User"}, "emails": []any{map[string]any{"primary": true, "value": "rand@okta.example", "type": "work"}}}
	c := s.call("POST", base+"/Users", create, "Content-Type", "application/json", "Accept", "application/scim+json; charset=utf-8").is(t, 201) // 6
	if c.body["active"] != true || c.body["id"] == nil || c.body["userName"] != random || at(c.body, "name", "givenName") != "Rand" || !has(c.body["schemas"], userURN) {
		t.Fatal(c.raw)
	}
	idOne := c.body["id"].(string)
	if g := s.call("GET", base+"/Users/"+idOne, nil).is(t, 200); g.body["userName"] != random || at(g.body, "name", "familyName") != "User" { // 7
		t.Fatal(g.raw)
	}
	s.call("POST", base+"/Users", create, "Content-Type", "application/json").scimError(t, 409, "uniqueness")                  // 8
	if r := s.call("GET", base+"/Users?filter="+q(`userName eq "`+caps+`"`), nil).is(t, 200); n(r.body["totalResults"]) != 1 { // 9
		t.Fatal(r.raw)
	}
	s.call("GET", base+"/Groups", nil).is(t, 200)                                                                               // 10
	s.call("GET", base+"/Users?filter="+q(`userName eq "`+random+`"`), nil, "Authorization", "non-token").scimError(t, 401, "") // 11
	s.call("GET", base+"/Users/999999999999999999999999999999", nil).scimError(t, 404, "")                                      // 12
}

// TestOktaLifecycle: connection test, import paging, filter-before-create,
// AIW PUT updates, deactivate/reactivate, group push with rename and mixed
// membership PATCH, group delete (scim-clients.md §1.2–§1.8).
func TestOktaLifecycle(t *testing.T) {
	s := newServer(t)
	const base = "/scim/v2" // Okta's base (README); /cis/scim serves Users only
	var ids []string
	for i := 0; i < 150; i++ {
		r := s.call("POST", base+"/Users", map[string]any{"schemas": []string{userURN}, "userName": "imp" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "-" + itoa(i) + "@okta.example",
			"name": map[string]any{"givenName": "I", "familyName": "P"}, "emails": []any{map[string]any{"value": "imp" + itoa(i) + "@okta.example", "primary": true}}}).is(t, 201)
		ids = append(ids, r.body["id"].(string))
	}
	s.call("GET", base+"/Users?startIndex=1&count=2", nil).is(t, 200) // connection test
	seen := map[string]bool{}
	for start := 1; ; start += 100 {
		r := s.call("GET", base+"/Users?startIndex="+itoa(start)+"&count=100", nil).is(t, 200)
		res := r.body["Resources"].([]any)
		for _, u := range res {
			seen[at(u, "id").(string)] = true
		}
		if start+len(res) > n(r.body["totalResults"]) {
			break
		}
	}
	if len(seen) != 150 {
		t.Fatalf("import saw %d users", len(seen))
	}
	// assignment: filter, then create with Okta's full body
	login := "ada.lovelace@okta.example"
	if r := s.call("GET", base+"/Users?filter="+q(`userName eq "`+login+`"`)+"&startIndex=1&count=100", nil).is(t, 200); n(r.body["totalResults"]) != 0 || r.body["Resources"] == nil {
		t.Fatal(r.raw)
	}
	c := s.call("POST", base+"/Users", map[string]any{"schemas": []string{userURN}, "userName": login,
		"name": map[string]any{"givenName": "Ada", "familyName": "Lovelace"}, "emails": []any{map[string]any{"primary": true, "value": login, "type": "work"}},
		"displayName": "Ada Lovelace", "locale": "en-US", "externalId": "00u1abcd", "groups": []any{}, "password": "tmpP@ssw0rd-random", "active": true}).is(t, 201)
	id := c.body["id"].(string)
	if c.header.Get("Location") != s.srv.URL+base+"/Users/"+id || c.body["password"] != nil {
		t.Fatalf("create: %s %v", c.raw, c.header)
	}
	// AIW update: GET then PUT the whole object with id, meta, groups
	g := s.call("GET", base+"/Users/"+id, nil).is(t, 200)
	full := g.body
	full["name"].(map[string]any)["middleName"] = "King"
	full["groups"] = []any{}
	p := s.call("PUT", base+"/Users/"+id, full).is(t, 200)
	if at(p.body, "name", "middleName") != "King" || p.body["id"] != id {
		t.Fatal(p.raw)
	}
	// deactivate (PATCH) → still found by id and by filter
	s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})).is(t, 200)
	if r := s.call("GET", base+"/Users?filter="+q(`userName eq "`+login+`"`), nil).is(t, 200); at(r.body, "Resources", 0, "active") != false {
		t.Fatal(r.raw)
	}
	// AIW deactivate/reactivate by PUT
	full = s.call("GET", base+"/Users/"+id, nil).is(t, 200).body
	full["active"] = true
	if r := s.call("PUT", base+"/Users/"+id, full).is(t, 200); r.body["active"] != true {
		t.Fatal(r.raw)
	}
	// group push
	gr := s.call("POST", base+"/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "Sales", "members": []any{}}).is(t, 201)
	gid := gr.body["id"].(string)
	rename := map[string]any{"op": "replace", "value": map[string]any{"id": gid, "displayName": "Sales EMEA"}}
	s.call("PATCH", base+"/Groups/"+gid, patch(rename)).is(t, 200)
	s.call("PATCH", base+"/Groups/"+gid, patch(rename, map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ids[0], "display": "x"}, map[string]any{"value": ids[1]}}})).is(t, 200)
	r := s.call("PATCH", base+"/Groups/"+gid, patch(rename,
		map[string]any{"op": "remove", "path": `members[value eq "` + ids[0] + `"]`},
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id, "display": login}}})).is(t, 200)
	if m := members(r.body); len(m) != 2 || !m[id] || !m[ids[1]] || r.body["displayName"] != "Sales EMEA" {
		t.Fatalf("membership: %s", r.raw)
	}
	r = s.call("PATCH", base+"/Groups/"+gid, patch(map[string]any{"op": "replace", "path": "members", "value": []any{map[string]any{"value": ids[2]}, map[string]any{"value": ids[3]}}})).is(t, 200)
	if m := members(r.body); len(m) != 2 || !m[ids[2]] || !m[ids[3]] {
		t.Fatalf("replace members: %s", r.raw)
	}
	imp := s.call("GET", base+"/Groups?startIndex=1&count=100", nil).is(t, 200)
	if n(imp.body["totalResults"]) != 1 || len(at(imp.body, "Resources", 0, "members").([]any)) != 2 {
		t.Fatalf("group import: %s", imp.raw)
	}
	s.call("DELETE", base+"/Groups/"+gid, nil).is(t, 204)
	s.call("GET", base+"/Groups/"+gid, nil).scimError(t, 404, "")
}

func itoa(i int) string { return strconvItoa(i) }
