package scim_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/storage"
)

// The behaviours of issue 8 §3 that IdPs depend on, replayed through the
// listener.

// TestNoOpWritesChangeNothing: re-adding an identical value, add {}, a PUT
// of the resource as it is, adding a member who already is one, removing a
// non-member and renaming a group to its name answer 200 with the version
// and lastModified unchanged (RFC 7644 §3.5.2.1).
func TestNoOpWritesChangeNothing(t *testing.T) {
	f := newFixture(t)
	uid := f.createUser("noop@x.org")
	other := f.createUser("other@x.org")
	g := f.do("POST", "/Groups", f.admin, map[string]any{"displayName": "NoOp", "members": []any{map[string]any{"value": uid}}}).want(t, 201)
	gid := g.body["id"].(string)
	u := f.do("GET", "/Users/"+uid, f.admin, nil).want(t, 200)
	same := func(what string, before, after resp) {
		t.Helper()
		if after.header.Get("ETag") != before.header.Get("ETag") || get(after.body, "meta", "lastModified") != get(before.body, "meta", "lastModified") {
			t.Errorf("%s changed the version or lastModified: %s %v -> %s %v", what, before.header.Get("ETag"), get(before.body, "meta", "lastModified"),
				after.header.Get("ETag"), get(after.body, "meta", "lastModified"))
		}
	}
	for name, body := range map[string]map[string]any{
		"re-adding the email": patchOp(op("add", "emails", []any{map[string]any{"value": "noop@x.org", "type": "work", "primary": true}})),
		"add {}":              patchOp(op("add", "", map[string]any{})),
		"replace as it is":    patchOp(op("replace", "name.givenName", "Ada")),
		"remove of nothing":   patchOp(op("remove", "title", nil)),
	} {
		same("PATCH "+name, u, f.do("PATCH", "/Users/"+uid, f.admin, body).want(t, 200))
	}
	same("PUT as it is", u, f.do("PUT", "/Users/"+uid, f.admin, u.body).want(t, 200))
	same("GET after", u, f.do("GET", "/Users/"+uid, f.admin, nil).want(t, 200))

	g = f.do("GET", "/Groups/"+gid, f.admin, nil).want(t, 200)
	same("adding a member again", g, f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("add", "members", []any{map[string]any{"value": uid}}))).want(t, 200))
	same("removing a non-member", g, f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("remove", `members[value eq "`+other+`"]`, nil))).want(t, 200))
	same("Okta's rename to the same name", g, f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("replace", "", map[string]any{"id": gid, "displayName": "NoOp"}))).want(t, 200))
	same("PUT of the group as it is", g, f.do("PUT", "/Groups/"+gid, f.admin, g.body).want(t, 200))
	// A real change still changes them.
	if r := f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("add", "members", []any{map[string]any{"value": other}}))).want(t, 200); r.header.Get("ETag") == g.header.Get("ETag") {
		t.Errorf("adding a member did not change the group's version")
	}
}

// TestUserGroupsCarryDisplayAndRef: a user's groups carry value, display
// (the group's displayName) and $ref, as Okta reads them.
func TestUserGroupsCarryDisplayAndRef(t *testing.T) {
	f := newFixture(t)
	uid := f.createUser("grouped@x.org")
	gid := f.do("POST", "/Groups", f.admin, map[string]any{"displayName": "Sales EMEA", "members": []any{map[string]any{"value": uid}}}).want(t, 201).body["id"].(string)
	for _, path := range []string{"/Users/" + uid, "/Users?filter=userName+eq+%22grouped@x.org%22"} {
		r := f.do("GET", path, f.admin, nil).want(t, 200)
		u := r.body
		if res, ok := r.body["Resources"].([]any); ok {
			u = res[0].(map[string]any)
		}
		if get(u, "groups", 0, "value") != gid || get(u, "groups", 0, "display") != "Sales EMEA" ||
			get(u, "groups", 0, "$ref") != f.base+"/Groups/"+gid {
			t.Errorf("%s: groups %v", path, u["groups"])
		}
	}
}

// TestGroupAsMemberIsInvalid: a group's id as a member is 400 invalidValue
// whatever type says (it used to be 404 "member user not found" unless type
// was Group), on PATCH, POST and PUT, and changes nothing.
func TestGroupAsMemberIsInvalid(t *testing.T) {
	f := newFixture(t)
	inner := f.do("POST", "/Groups", f.admin, map[string]any{"displayName": "Inner"}).want(t, 201).body["id"].(string)
	outer := f.do("POST", "/Groups", f.admin, map[string]any{"displayName": "Outer"}).want(t, 201)
	oid := outer.body["id"].(string)
	for _, m := range []map[string]any{{"value": inner}, {"value": inner, "type": "User"}, {"value": inner, "type": "Group"}} {
		f.do("PATCH", "/Groups/"+oid, f.admin, patchOp(op("add", "members", []any{m}))).wantError(t, 400, "invalidValue")
		f.do("PUT", "/Groups/"+oid, f.admin, map[string]any{"displayName": "Outer", "members": []any{m}}).wantError(t, 400, "invalidValue")
		f.do("POST", "/Groups", f.admin, map[string]any{"displayName": fmt.Sprint("Nested ", m["type"]), "members": []any{m}}).wantError(t, 400, "invalidValue")
	}
	if r := f.do("GET", "/Groups/"+oid, f.admin, nil).want(t, 200); r.header.Get("ETag") != outer.header.Get("ETag") || r.body["members"] != nil {
		t.Errorf("a refused nested member changed the group: %s", r.raw)
	}
}

// TestBulkUnknownBulkID: an operation referring to a bulkId no operation
// defines fails with 409 invalidValue (RFC 7644 §3.7.2), not a 404 about
// an id "bulkId:…"; the other operations run.
func TestBulkUnknownBulkID(t *testing.T) {
	f := newFixture(t)
	r := f.do("POST", "/Bulk", f.admin, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": []any{
		map[string]any{"method": "POST", "path": "/Groups", "bulkId": "g", "data": map[string]any{"displayName": "B", "members": []any{map[string]any{"value": "bulkId:nope"}}}},
		map[string]any{"method": "PATCH", "path": "/Groups/bulkId:missing", "data": patchOp(op("replace", "displayName", "C"))},
		map[string]any{"method": "POST", "path": "/Users", "bulkId": "u", "data": user("bulk@x.org")},
	}}).want(t, 200)
	ops := r.body["Operations"].([]any)
	for i, want := range []string{"409", "409", "201"} {
		if get(ops[i], "status") != want {
			t.Errorf("operation %d: %v", i, ops[i])
		}
	}
	for i := range 2 {
		if get(ops[i], "response", "scimType") != "invalidValue" {
			t.Errorf("operation %d: %v", i, ops[i])
		}
	}
}

// TestNoDuplicateValues: a multi-valued attribute never holds two elements
// with the same (type, value) — on POST, PUT and PATCH; a dropped duplicate
// that was primary makes the kept one primary.
func TestNoDuplicateValues(t *testing.T) {
	f := newFixture(t)
	u := user("dup@x.org")
	u["emails"] = []any{map[string]any{"value": "dup@x.org", "type": "work"}, map[string]any{"value": "DUP@x.org", "type": "Work", "primary": true},
		map[string]any{"value": "dup@x.org", "type": "home"}}
	u["roles"] = []any{map[string]any{"value": "admin", "type": "t"}, map[string]any{"value": "admin", "type": "t", "display": "again"}}
	r := f.do("POST", "/Users", f.admin, u).want(t, 201)
	id := r.body["id"].(string)
	if n := len(r.body["emails"].([]any)); n != 2 || get(r.body, "emails", 0, "primary") != true || len(r.body["roles"].([]any)) != 1 {
		t.Fatalf("POST kept duplicates (%d emails): %s", n, r.raw)
	}
	r = f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("add", "roles", []any{map[string]any{"value": "Admin", "type": "t"}}),
		op("add", "phoneNumbers", []any{map[string]any{"value": "+15551112222", "type": "work"}, map[string]any{"value": "+15551112222", "type": "work"}}),
		op("add", "roles", []any{map[string]any{"value": "other", "type": "t"}}),
		op("replace", `roles[value eq "other"].value`, "admin"))).want(t, 200)
	if len(r.body["roles"].([]any)) != 1 || len(r.body["phoneNumbers"].([]any)) != 1 {
		t.Fatalf("PATCH made duplicates: %s", r.raw)
	}
	u["roles"] = []any{map[string]any{"value": "x"}, map[string]any{"value": "x"}}
	if r = f.do("PUT", "/Users/"+id, f.admin, u).want(t, 200); len(r.body["roles"].([]any)) != 1 {
		t.Fatalf("PUT kept duplicates: %s", r.raw)
	}
}

// TestGroupsByMember: Entra asks whether a user is in a group with
// members[value eq "u"] or members.value eq "u", combined with id eq or
// displayName eq, with excludedAttributes=members. It is answered from the
// user's own groups (BenchmarkGroupsByMember: at 100,000 members it costs
// what it costs at one). Other uses of members stay 400 invalidFilter.
func TestGroupsByMember(t *testing.T) {
	f := newFixture(t)
	a, b := f.createUser("a@member.org"), f.createUser("b@member.org")
	mk := func(name string, ids ...string) string {
		m := []any{}
		for _, id := range ids {
			m = append(m, map[string]any{"value": id})
		}
		return f.do("POST", "/Groups", f.admin, map[string]any{"displayName": name, "members": m}).want(t, 201).body["id"].(string)
	}
	both, onlyA, onlyB := mk("Both", a, b), mk("Only A", a), mk("Only B", b)
	mk("Nobody")
	ids := func(r resp) []string {
		var out []string
		for _, g := range r.body["Resources"].([]any) {
			out = append(out, get(g, "id").(string))
			if _, has := g.(map[string]any)["members"]; has {
				t.Errorf("excludedAttributes=members ignored: %v", g)
			}
		}
		return out
	}
	for _, c := range []struct {
		filter string
		want   []string
	}{
		{`members[value eq "` + a + `"]`, []string{both, onlyA}},
		{`members.value eq "` + b + `"`, []string{both, onlyB}},
		{`members[value eq "` + a + `"] and id eq "` + both + `"`, []string{both}},
		{`id eq "` + onlyB + `" and members[value eq "` + a + `"]`, nil},
		{`displayName eq "only a" and members.value eq "` + a + `"`, []string{onlyA}},
		{`members.value eq "` + a + `" and members.value eq "` + b + `"`, []string{both}},
		{`members[value eq "no-such-user"]`, nil},
	} {
		r := f.do("GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(c.filter), f.admin, nil).want(t, 200)
		if got := ids(r); fmt.Sprint(got) != fmt.Sprint(c.want) || num(r.body["totalResults"]) != len(c.want) {
			t.Errorf("%s: %v (total %v), want %v", c.filter, got, r.body["totalResults"], c.want)
		}
	}
	// Paging, and .search.
	r := f.do("GET", "/Groups?count=1&startIndex=2&excludedAttributes=members&filter="+url.QueryEscape(`members[value eq "`+a+`"]`), f.admin, nil).want(t, 200)
	if got := ids(r); num(r.body["totalResults"]) != 2 || fmt.Sprint(got) != fmt.Sprint([]string{onlyA}) {
		t.Errorf("paged: %s", r.raw)
	}
	r = f.do("POST", "/Groups/.search", f.admin, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter": `members[value eq "` + b + `"]`, "excludedAttributes": []string{"members"}}).want(t, 200)
	if num(r.body["totalResults"]) != 2 {
		t.Errorf(".search: %s", r.raw)
	}
	// An app sees groups by its own users only.
	if r := f.do("GET", "/Groups?filter="+url.QueryEscape(`members[value eq "`+a+`"]`), f.appToken, nil).want(t, 200); num(r.body["totalResults"]) != 0 {
		t.Errorf("an app found groups through a user it cannot see: %s", r.raw)
	}
	for _, bad := range []string{`members[value eq "` + a + `" or value eq "` + b + `"]`, `members.value eq "` + a + `" or displayName eq "x"`,
		`not (members.value eq "` + a + `")`, `members.display eq "x"`, `members.value co "x"`, `members pr`} {
		f.do("GET", "/Groups?filter="+url.QueryEscape(bad), f.admin, nil).wantError(t, 400, "invalidFilter")
	}
	f.do("GET", "/Groups?sortBy=members.value", f.admin, nil).wantError(t, 400, "invalidFilter")
}

// TestAppConnectorAdoptsTenantUser: a connector token bound to one app
// cannot see users of other apps; when its IdP creates a user who already
// exists in the tenant, the user is assigned to the connector's app (201
// with the existing user, audited) instead of a 409 the IdP retries
// forever. The tenant-level data of the body is not applied; a second
// create is the usual 409.
func TestAppConnectorAdoptsTenantUser(t *testing.T) {
	f := newFixture(t)
	body := user("shared@x.org")
	body["name"] = map[string]any{"givenName": "Tenant", "familyName": "Owned"}
	existing := f.do("POST", "/Users", f.admin, body).want(t, 201).body["id"].(string)
	filter := "/Users?filter=" + url.QueryEscape(`userName eq "shared@x.org"`)
	if r := f.do("GET", filter, f.appToken, nil).want(t, 200); num(r.body["totalResults"]) != 0 {
		t.Fatalf("the app saw a user not assigned to it: %s", r.raw)
	}
	idp := user("shared@x.org")
	idp["name"] = map[string]any{"givenName": "From", "familyName": "IdP"}
	idp["externalId"] = "okta-00u1"
	r := f.do("POST", "/Users", f.appToken, idp).want(t, 201)
	if r.body["id"] != existing || get(r.body, "name", "givenName") != "Tenant" {
		t.Fatalf("the create did not return the existing user as it was: %s", r.raw)
	}
	if r := f.do("GET", filter, f.appToken, nil).want(t, 200); num(r.body["totalResults"]) != 1 {
		t.Fatalf("after the create the app still cannot find the user: %s", r.raw)
	}
	f.do("PATCH", "/Users/"+existing, f.appToken, patchOp(op("replace", "", map[string]any{"active": false}))).want(t, 200)
	f.do("POST", "/Users", f.appToken, idp).wantError(t, 409, "uniqueness")
	// An identifier of one user and an email of another: a conflict, no adoption.
	other := f.createUser("other@x.org")
	mixed := user("other@x.org")
	mixed["emails"] = []any{map[string]any{"value": "third@x.org", "primary": true}}
	f.createUser("third@x.org")
	f.do("POST", "/Users", f.appToken, mixed).wantError(t, 409, "uniqueness")
	if r := f.do("GET", "/Users/"+other, f.appToken, nil); r.status != 404 {
		t.Fatalf("an ambiguous create assigned a user: %d", r.status)
	}
	events, err := f.svc.ListEvents(t.Context(), directory.System, storage.EventQuery{TargetID: existing, Action: directory.ActionAssignUserToApp})
	if err != nil || events.Total != 1 {
		t.Fatalf("the assignment was not audited: %v %v", events, err)
	}
}
