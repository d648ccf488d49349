package scim_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/scimd/scimd/directory"
)

func memberSet(body map[string]any) map[string]bool {
	out := map[string]bool{}
	l, _ := body["members"].([]any)
	for _, m := range l {
		out[get(m, "value").(string)] = true
	}
	return out
}

func TestGroupsAndMembership(t *testing.T) {
	f := newFixture(t)
	a, b, c := f.createUser("a@g.org"), f.createUser("b@g.org"), f.createUser("c@g.org")
	r := f.do("POST", "/Groups", f.admin, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"displayName": "Sales", "externalId": "e1", "members": []any{}, "meta": map[string]any{"resourceType": "Group"}}).want(t, 201)
	gid := r.body["id"].(string)
	if r.header.Get("Location") != f.base+"/Groups/"+gid {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	f.do("POST", "/Groups", f.admin, map[string]any{"displayName": "SALES"}).wantError(t, 409, "uniqueness")
	// Okta rename carrying id, re-sent with membership changes
	f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("replace", "", map[string]any{"id": gid, "displayName": "Sales EMEA"}))).want(t, 200)
	// Entra add members ($ref null), then remove by value list
	f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("Add", "members", []any{map[string]any{"$ref": nil, "value": a}, map[string]any{"value": b}, map[string]any{"value": c}}))).want(t, 200)
	p := f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("Remove", "members", []any{map[string]any{"$ref": nil, "value": a}}))).want(t, 200)
	if ms := memberSet(p.body); len(ms) != 2 || ms[a] || !ms[b] || !ms[c] {
		t.Fatalf("after remove by value list: %v", ms)
	}
	if p.body["displayName"] != "Sales EMEA" {
		t.Errorf("rename lost: %s", p.raw)
	}
	// Okta mix: remove by filter + add
	p = f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(
		op("remove", `members[value eq "`+b+`"]`, nil),
		op("add", "members", []any{map[string]any{"value": a, "display": "a@g.org"}}))).want(t, 200)
	if ms := memberSet(p.body); len(ms) != 2 || !ms[a] || ms[b] || !ms[c] {
		t.Fatalf("after okta mix: %v", ms)
	}
	// replace members; pathless members
	p = f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("replace", "members", []any{map[string]any{"value": b}}))).want(t, 200)
	if ms := memberSet(p.body); len(ms) != 1 || !ms[b] {
		t.Fatalf("after replace: %v", ms)
	}
	p = f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("replace", "", map[string]any{"members": []any{map[string]any{"value": c}}, "externalId": "e2"}))).want(t, 200)
	if ms := memberSet(p.body); len(ms) != 1 || !ms[c] || p.body["externalId"] != "e2" {
		t.Fatalf("after pathless members: %s", p.raw)
	}
	// excludedAttributes=members on GET, filter and PATCH response
	g := f.do("GET", "/Groups/"+gid+"?excludedAttributes=members", f.admin, nil).want(t, 200)
	if _, ok := g.body["members"]; ok {
		t.Errorf("members not excluded: %s", g.raw)
	}
	l := f.do("GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "sales emea"`), f.admin, nil).want(t, 200)
	if num(l.body["totalResults"]) != 1 || get(l.body, "Resources", 0, "members") != nil {
		t.Fatalf("group filter: %s", l.raw)
	}
	// the user's groups
	u := f.do("GET", "/Users/"+c, f.admin, nil).want(t, 200)
	if get(u.body, "groups", 0, "value") != gid {
		t.Errorf("user groups: %s", u.raw)
	}
	// remove all members (RFC), add then remove in one PATCH
	p = f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("remove", "members", nil))).want(t, 200)
	if len(memberSet(p.body)) != 0 {
		t.Fatalf("remove all: %s", p.raw)
	}
	p = f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("add", "members", []any{map[string]any{"value": a}}), op("remove", `members[value eq "`+a+`"]`, nil))).want(t, 200)
	if len(memberSet(p.body)) != 0 {
		t.Fatalf("add then remove: %s", p.raw)
	}
	// unknown member → 404, nothing changes
	f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("add", "members", []any{map[string]any{"value": "nope"}}))).wantError(t, 404, "")
	// PUT replaces members (AIW)
	p = f.do("PUT", "/Groups/"+gid, f.admin, map[string]any{"displayName": "Sales EMEA", "members": []any{map[string]any{"value": a}, map[string]any{"value": b}}}).want(t, 200)
	if ms := memberSet(p.body); len(ms) != 2 {
		t.Fatalf("PUT members: %s", p.raw)
	}
	f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("remove", "displayName", nil))).wantError(t, 400, "mutability")
	f.do("DELETE", "/Groups/"+gid, f.admin, nil).want(t, 204)
	f.do("DELETE", "/Groups/"+gid, f.admin, nil).wantError(t, 404, "")
}

func TestETags(t *testing.T) {
	f := newFixture(t)
	id := f.createUser("e@t.org")
	g := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200)
	tag := g.header.Get("ETag")
	f.do("GET", "/Users/"+id, f.admin, nil, "If-None-Match", tag).want(t, 304)
	f.do("GET", "/Users/"+id, f.admin, nil, "If-None-Match", `W/"0"`).want(t, 200)
	p := f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "title", "x")), "If-Match", tag).want(t, 200)
	if p.header.Get("ETag") == tag {
		t.Fatal("version did not change")
	}
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "title", "y")), "If-Match", tag).wantError(t, 412, "")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "title", "y")), "If-Match", `W/"1", `+p.header.Get("ETag")).want(t, 200)
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "title", "z")), "If-Match", "*").want(t, 200)
	f.do("DELETE", "/Users/"+id, f.admin, nil, "If-Match", tag).wantError(t, 412, "")
	gr := f.do("POST", "/Groups", f.admin, map[string]any{"displayName": "G"}).want(t, 201)
	gtag := gr.header.Get("ETag")
	f.do("PATCH", "/Groups/"+gr.body["id"].(string), f.admin, patchOp(op("add", "members", []any{map[string]any{"value": id}}))).want(t, 200)
	g2 := f.do("GET", "/Groups/"+gr.body["id"].(string), f.admin, nil).want(t, 200)
	if g2.header.Get("ETag") == gtag {
		t.Error("group ETag did not change with membership")
	}
	// A user's groups are part of it: its ETag changes when they do.
	u := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200)
	gid := gr.body["id"].(string)
	f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("remove", "members", []any{map[string]any{"value": id}}))).want(t, 200)
	if f.do("GET", "/Users/"+id, f.admin, nil, "If-None-Match", u.header.Get("ETag")).status == 304 {
		t.Error("GET If-None-Match answered 304 after the user left a group")
	}
	// A group PATCH is atomic: a rename with an unknown member, or under a
	// stale If-Match, changes neither the name nor the members.
	before := f.do("GET", "/Groups/"+gid, f.admin, nil).want(t, 200)
	f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("replace", "displayName", "Renamed"),
		op("add", "members", []any{map[string]any{"value": id}, map[string]any{"value": "nope"}}))).wantError(t, 404, "")
	f.do("PATCH", "/Groups/"+gid, f.admin, patchOp(op("replace", "displayName", "Renamed"),
		op("add", "members", []any{map[string]any{"value": id}})), "If-Match", gtag).wantError(t, 412, "")
	after := f.do("GET", "/Groups/"+gid, f.admin, nil).want(t, 200)
	if after.header.Get("ETag") != before.header.Get("ETag") || after.body["displayName"] != "G" || len(memberSet(after.body)) != 0 {
		t.Errorf("group after refused PATCHes: %s (ETag %s, was %s)", after.raw, after.header.Get("ETag"), before.header.Get("ETag"))
	}
}

func TestBulk(t *testing.T) {
	f := newFixture(t)
	r := f.do("POST", "/Bulk", f.admin, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "failOnErrors": 1,
		"Operations": []any{
			map[string]any{"method": "POST", "path": "/Groups", "bulkId": "g1", "data": map[string]any{"displayName": "Bulk",
				"members": []any{map[string]any{"value": "bulkId:u1"}}}},
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "u1", "data": user("qwerty@b.org")},
			map[string]any{"method": "PATCH", "path": "/Users/bulkId:u1", "data": patchOp(op("replace", "title", "T"))},
		}}).want(t, 200)
	ops := r.body["Operations"].([]any)
	if len(ops) != 3 {
		t.Fatalf("ops: %s", r.raw)
	}
	for _, o := range ops {
		if s := get(o, "status"); s != "201" && s != "200" {
			t.Fatalf("op failed: %s", r.raw)
		}
	}
	gloc := get(ops[0], "location").(string)
	g := f.do("GET", gloc, f.admin, nil).want(t, 200)
	if len(memberSet(g.body)) != 1 {
		t.Fatalf("bulkId member not resolved: %s", g.raw)
	}
	// failOnErrors stops processing
	r = f.do("POST", "/Bulk", f.admin, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "failOnErrors": 1,
		"Operations": []any{
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "d", "data": user("qwerty@b.org")},
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "e", "data": user("ytrewq@b.org")},
		}}).want(t, 200)
	if ops := r.body["Operations"].([]any); len(ops) != 1 || get(ops[0], "status") != "409" || get(ops[0], "response", "scimType") != "uniqueness" {
		t.Fatalf("failOnErrors: %s", r.raw)
	}
	small := newFixtureOpts(t, scimOptionsPayload(100))
	small.do("POST", "/Bulk", small.admin, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
		"Operations": []any{map[string]any{"method": "POST", "path": "/Users", "bulkId": "x", "data": user("long-long-long@b.org")}}}).wantError(t, 413, "")
}

func TestAppScopeAndMe(t *testing.T) {
	f := newFixture(t)
	other := f.createUser("tenant@m.org")
	// the app's token: creations assigned to the app, only its users visible
	r := f.do("POST", "/Users", f.appToken, func() map[string]any {
		u := user("mine@m.org")
		u["password"] = "a good password"
		u["urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User"] = map[string]any{"plan": "pro"}
		return u
	}()).want(t, 201)
	mine := r.body["id"].(string)
	if get(r.body, "urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User", "plan") != "pro" {
		t.Errorf("custom app data: %s", r.raw)
	}
	f.do("GET", "/Users/"+other, f.appToken, nil).wantError(t, 404, "")
	l := f.do("GET", "/Users", f.appToken, nil).want(t, 200)
	if num(l.body["totalResults"]) != 1 {
		t.Fatalf("app list: %s", l.raw)
	}
	// /Me with a user token
	tok, _, err := f.svc.PasswordLogin(context.Background(), directory.Client{}, f.app.ClientID, directory.Username("mine@m.org"), "a good password")
	if err != nil {
		t.Fatal(err)
	}
	me := f.do("GET", "/Me", tok.Token, nil).want(t, 200)
	if me.body["id"] != mine {
		t.Fatalf("/Me: %s", me.raw)
	}
	f.do("PATCH", "/Me", tok.Token, patchOp(op("replace", "nickName", "Me"))).want(t, 200)
	f.do("GET", "/Users", tok.Token, nil).wantError(t, 403, "")
	f.do("GET", "/Me", f.admin, nil).wantError(t, 501, "")
	// app DELETE removes the user from the app only
	f.do("DELETE", "/Users/"+mine, f.appToken, nil).want(t, 204)
	f.do("GET", "/Users/"+mine, f.appToken, nil).wantError(t, 404, "")
	f.do("GET", "/Users/"+mine, f.admin, nil).want(t, 200)
	_ = directory.System
}

// An application's token may read groups and add or remove its own users, but
// creating, renaming and deleting groups needs an admin token (403, nothing changed).
func TestGroupsAppCannotRenameOrDelete(t *testing.T) {
	f := newFixture(t)
	other := f.createUser("other@g.org")
	g := f.do("POST", "/Groups", f.admin, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Finance",
		"members": []any{map[string]any{"value": other}}}).want(t, 201)
	gid := g.body["id"].(string)
	f.do("POST", "/Groups", f.appToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Mine"}).wantError(t, 403, "")
	f.do("PATCH", "/Groups/"+gid, f.appToken, patchOp(op("replace", "displayName", "Hijacked"))).wantError(t, 403, "")
	f.do("PUT", "/Groups/"+gid, f.appToken, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Hijacked", "members": []any{}}).wantError(t, 403, "")
	f.do("DELETE", "/Groups/"+gid, f.appToken, nil).wantError(t, 403, "")
	after := f.do("GET", "/Groups/"+gid, f.admin, nil).want(t, 200)
	if after.body["displayName"] != "Finance" || get(after.body, "members", 0, "value") != other {
		t.Fatalf("an app changed the group: %s", after.raw)
	}
	// Its own users: add and remove.
	mine := f.do("POST", "/Users", f.appToken, user("mine@g.org")).want(t, 201).body["id"].(string)
	f.do("PATCH", "/Groups/"+gid, f.appToken, patchOp(op("add", "members", []any{map[string]any{"value": mine}}))).want(t, 200)
	f.do("PATCH", "/Groups/"+gid, f.appToken, patchOp(op("remove", `members[value eq "`+mine+`"]`, nil))).want(t, 200)
	if n := len(f.do("GET", "/Groups/"+gid, f.admin, nil).want(t, 200).body["members"].([]any)); n != 1 {
		t.Fatalf("members after the app's add and remove: %d", n)
	}
}
