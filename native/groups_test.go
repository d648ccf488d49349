package native

import (
	"testing"
)

func TestGroups(t *testing.T) {
	e := newEnv(t)
	u1, u2 := e.seedUser(e.pA, uniq("g"), false), e.seedUser(e.pB, uniq("g"), false)
	g := e.call("POST", "/cis/v1/groups", e.admin, map[string]any{"name": "Eng", "description": "engineers", "custom_data": map[string]any{"cc": "42"}}).want(t, 201).result()
	gid, _ := g["group_id"].(string)
	if gid == "" || g["name"] != "Eng" || g["created_at"] == nil {
		t.Fatalf("group %v", g)
	}
	e.call("POST", "/cis/v1/groups", e.admin, map[string]any{"name": "eng"}).wantError(t, 409)
	e.call("POST", "/cis/v1/groups", e.admin, map[string]any{"description": "no name"}).wantError(t, 400)
	e.call("POST", "/cis/v1/groups", e.admin, map[string]any{"name": "X", "members": []string{}}).wantError(t, 400)
	if l := e.call("GET", "/cis/v1/groups", e.tokB, nil).want(t, 200).list(); len(l) != 1 || l[0]["group_id"] != gid {
		t.Fatalf("groups %v", l)
	}
	e.call("GET", "/cis/v1/groups/"+gid, e.tokA, nil).want(t, 200)
	e.call("GET", "/cis/v1/groups/nope", e.tokA, nil).wantError(t, 404)
	up := e.call("PUT", "/cis/v1/groups/"+gid, e.admin, map[string]any{"description": "builders"}).want(t, 200).result()
	if up["name"] != "Eng" || up["description"] != "builders" {
		t.Fatalf("update %v", up)
	}
	e.call("PUT", "/cis/v1/groups/nope", e.admin, map[string]any{"description": "x"}).wantError(t, 404)
	e.call("PUT", "/cis/v1/groups/"+gid, e.admin, map[string]any{"bogus": "x"}).wantError(t, 400)

	// Members: an app adds only its own users; unknown users are 404 and change nothing.
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.tokA, map[string]any{"user_ids": []string{u1.ID, u2.ID}}).wantError(t, 404)
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.admin, map[string]any{"user_ids": []string{u1.ID, "nope"}}).wantError(t, 404)
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.admin, map[string]any{"user_ids": "x"}).wantError(t, 400)
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.admin, map[string]any{}).wantError(t, 400)
	e.call("POST", "/cis/v1/groups/nope/members", e.admin, map[string]any{"user_ids": []string{u1.ID}}).wantError(t, 404)
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.tokA, map[string]any{"user_ids": []string{u1.ID}}).want(t, 204)
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.admin, map[string]any{"user_ids": []string{u2.ID}}).want(t, 204)
	if m := e.call("GET", "/cis/v1/groups/"+gid+"/members", e.admin, nil).want(t, 200).list(); len(m) != 2 {
		t.Fatalf("members %v", m)
	}
	if m := e.call("GET", "/cis/v1/groups/"+gid+"/members", e.tokA, nil).want(t, 200).list(); len(m) != 1 || m[0]["user_id"] != u1.ID {
		t.Fatalf("A sees members %v", m)
	}
	e.call("GET", "/cis/v1/groups/nope/members", e.admin, nil).wantError(t, 404)
	ug := e.call("GET", "/cis/v1/users/"+u1.ID+"/groups", e.tokA, nil).want(t, 200).list()
	if len(ug) != 1 || ug[0]["group_id"] != gid {
		t.Fatalf("user groups %v", ug)
	}
	if ids, _ := e.call("GET", "/cis/v1/users/"+u1.ID, e.tokA, nil).result()["groupIds"].([]any); len(ids) != 1 || ids[0] != gid {
		t.Fatalf("groupIds %v", ids)
	}
	e.call("DELETE", "/cis/v1/groups/"+gid+"/members/"+u2.ID, e.tokA, nil).wantError(t, 404) // not A's user
	e.call("DELETE", "/cis/v1/groups/"+gid+"/members/nope", e.admin, nil).wantError(t, 404)
	e.call("DELETE", "/cis/v1/groups/nope/members/"+u1.ID, e.admin, nil).wantError(t, 404)
	e.call("DELETE", "/cis/v1/groups/"+gid+"/members/"+u1.ID, e.tokA, nil).want(t, 204)
	if m := e.call("GET", "/cis/v1/groups/"+gid+"/members", e.admin, nil).list(); len(m) != 1 {
		t.Fatalf("members after removal %v", m)
	}
	// Deleting the group clears membership.
	e.call("DELETE", "/cis/v1/groups/"+gid, e.admin, nil).want(t, 204)
	e.call("DELETE", "/cis/v1/groups/"+gid, e.admin, nil).wantError(t, 404)
	if ug := e.call("GET", "/cis/v1/users/"+u2.ID+"/groups", e.admin, nil).want(t, 200).list(); len(ug) != 0 {
		t.Fatalf("membership survived the group: %v", ug)
	}
}

// Creating, renaming and deleting groups needs an admin token: an application
// (client token or app-bound API token) gets 403 and the group is unchanged,
// with the members it cannot see.
func TestGroupsAdminOnly(t *testing.T) {
	e := newEnv(t)
	theirs := e.seedUser(e.pB, uniq("g"), false)
	g := e.call("POST", "/cis/v1/groups", e.admin, map[string]any{"name": "Sales"}).want(t, 201).result()
	gid := g["group_id"].(string)
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.admin, map[string]any{"user_ids": []string{theirs.ID}}).want(t, 204)
	for _, tok := range []string{e.tokA, e.apiA} {
		e.call("POST", "/cis/v1/groups", tok, map[string]any{"name": uniq("mine")}).wantError(t, 403)
		e.call("PUT", "/cis/v1/groups/"+gid, tok, map[string]any{"name": "Hijacked"}).wantError(t, 403)
		e.call("DELETE", "/cis/v1/groups/"+gid, tok, nil).wantError(t, 403)
	}
	after := e.call("GET", "/cis/v1/groups/"+gid, e.admin, nil).want(t, 200).result()
	if after["name"] != "Sales" {
		t.Fatalf("an app renamed the group: %v", after)
	}
	if m := e.call("GET", "/cis/v1/groups/"+gid+"/members", e.admin, nil).want(t, 200).list(); len(m) != 1 {
		t.Fatalf("an app's refused change touched the members: %v", m)
	}
	// An app still reads groups and manages its own users' membership.
	mine := e.seedUser(e.pA, uniq("g"), false)
	e.call("GET", "/cis/v1/groups/"+gid, e.tokA, nil).want(t, 200)
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.tokA, map[string]any{"user_ids": []string{mine.ID}}).want(t, 204)
	e.call("DELETE", "/cis/v1/groups/"+gid+"/members/"+mine.ID, e.tokA, nil).want(t, 204)
}
