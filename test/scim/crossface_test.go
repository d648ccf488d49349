package scim_test

import (
	"testing"
)

// TestCrossFace: what one face writes the other reads at once (scim-clients
// issue 4 "Cross-face consistency").
func TestCrossFace(t *testing.T) {
	s := newServer(t)
	// SCIM create → native read
	c := s.call("POST", "/cis/scim/Users", map[string]any{"schemas": []string{userURN}, "userName": "cross@x.example", "externalId": "ext-9",
		"name": map[string]any{"givenName": "Cross", "familyName": "Face"}, "emails": []any{map[string]any{"value": "cross@x.example", "primary": true}}}).is(t, 201)
	id := c.body["id"].(string)
	nat := s.call("GET", "/cis/v1/users/"+id, nil, "Content-Type", "").is(t, 200)
	if at(nat.body, "result", "username") != "cross@x.example" || at(nat.body, "result", "email", "value") != "cross@x.example" ||
		at(nat.body, "result", "name", "first_name") != "Cross" || at(nat.body, "result", "external_user_id") != "ext-9" {
		t.Fatalf("native view: %s", nat.raw)
	}
	// native custom_data merge → SCIM extension
	s.call("PUT", "/cis/v1/users/"+id, map[string]any{"custom_data": map[string]any{"tier": "gold"}}, "Content-Type", "application/json").is(t, 200)
	g := s.call("GET", "/cis/scim/Users/"+id, nil).is(t, 200)
	if at(g.body, "urn:scimd:schemas:extension:CustomData:2.0:User", "tier") != "gold" {
		t.Fatalf("custom data in SCIM: %s", g.raw)
	}
	// native create → SCIM read
	nu := s.call("POST", "/cis/v1/users", map[string]any{"username": "native@x.example", "email": "native@x.example"}, "Content-Type", "application/json").is(t, 201)
	nid := at(nu.body, "result", "user_id").(string)
	if r := s.call("GET", "/cis/scim/Users?filter="+q(`userName eq "NATIVE@x.example"`), nil).is(t, 200); at(r.body, "Resources", 0, "id") != nid {
		t.Fatalf("SCIM filter of a native user: %s", r.raw)
	}
	// group membership both ways
	gr := s.call("POST", "/scim/v2/Groups", map[string]any{"displayName": "Both", "members": []any{map[string]any{"value": id}}}).is(t, 201)
	gid := gr.body["id"].(string)
	nm := s.call("GET", "/cis/v1/groups/"+gid+"/members", nil, "Content-Type", "").is(t, 200)
	if !contains(nm.raw, id) {
		t.Fatalf("native members: %s", nm.raw)
	}
	s.call("POST", "/cis/v1/groups/"+gid+"/members", map[string]any{"user_ids": []string{nid}}, "Content-Type", "application/json")
	if m := members(s.call("GET", "/scim/v2/Groups/"+gid, nil).is(t, 200).body); !m[id] || !m[nid] {
		t.Fatalf("SCIM members after native add: %v", m)
	}
	// uniqueness clash across faces → 409 on both
	s.call("POST", "/cis/scim/Users", map[string]any{"schemas": []string{userURN}, "userName": "native@x.example"}).transmitError(t, 409)
	s.call("POST", "/scim/v2/Users", map[string]any{"schemas": []string{userURN}, "userName": "native@x.example"}).scimError(t, 409, "uniqueness")
	if r := s.call("POST", "/cis/v1/users", map[string]any{"username": "CROSS@x.example", "email": "cross-other@x.example"}, "Content-Type", "application/json"); r.status != 409 {
		t.Fatalf("native clash: %d %s", r.status, r.raw)
	}
}

func contains(s, sub string) bool { return len(sub) > 0 && stringsContains(s, sub) }

// TestOktaMatchesNativeUser: a user created natively with only an email (or
// only a phone number) has a SCIM userName — its primary email (phone) —
// so Okta's "match existing user" flow finds it instead of failing on a
// 409 create; the userName stays when the email changes (issue 8 §3).
func TestOktaMatchesNativeUser(t *testing.T) {
	s := newServer(t)
	nu := s.call("POST", "/cis/v1/users", map[string]any{"email": "Ada@Native.example", "name": map[string]any{"first_name": "Ada"}}, "Content-Type", "application/json").is(t, 201)
	nid := at(nu.body, "result", "user_id").(string)
	ph := s.call("POST", "/cis/v1/users", map[string]any{"phone_number": "+15550001111"}, "Content-Type", "application/json").is(t, 201)
	pid := at(ph.body, "result", "user_id").(string)
	// Okta: filter on the login, find the user, link it and push the profile.
	r := s.call("GET", "/scim/v2/Users?filter="+q(`userName eq "ada@native.example"`)+"&startIndex=1&count=100", nil).is(t, 200)
	if n(r.body["totalResults"]) != 1 || at(r.body, "Resources", 0, "id") != nid || at(r.body, "Resources", 0, "userName") != "Ada@Native.example" {
		t.Fatalf("Okta's match on userName: %s", r.raw)
	}
	u := at(r.body, "Resources", 0).(map[string]any)
	u["name"] = map[string]any{"givenName": "Ada", "familyName": "Lovelace"}
	u["externalId"] = "00u-okta"
	s.call("PUT", "/scim/v2/Users/"+nid, u).is(t, 200)
	s.call("PATCH", "/scim/v2/Users/"+nid, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})).is(t, 200)
	if r := s.call("GET", "/scim/v2/Users/"+pid, nil).is(t, 200); r.body["userName"] != "+15550001111" {
		t.Fatalf("a phone-only user's userName: %s", r.raw)
	}
	// The userName is stable: changing the email natively leaves it.
	s.call("PUT", "/cis/v1/users/"+nid, map[string]any{"email": "ada.l@native.example"}, "Content-Type", "application/json").is(t, 200)
	if r := s.call("GET", "/scim/v2/Users/"+nid, nil).is(t, 200); r.body["userName"] != "Ada@Native.example" || r.body["externalId"] != "00u-okta" {
		t.Fatalf("after an email change: %s", r.raw)
	}
}

// TestGroupsAcrossFaces: a native group's description and custom_data are
// visible on the SCIM face (the read-only GroupExtended extension), and a
// SCIM group's externalId on the native face (external_id, writable there
// too) (issue 8 §3).
func TestGroupsAcrossFaces(t *testing.T) {
	s := newServer(t)
	const ext = "urn:scimd:schemas:extension:GroupExtended:2.0:Group"
	js := []string{"Content-Type", "application/json"}
	ng := s.call("POST", "/cis/v1/groups", map[string]any{"name": "Native Group", "description": "made natively",
		"custom_data": map[string]any{"cost_center": "42"}}, js...).is(t, 201)
	gid := at(ng.body, "result", "group_id").(string)
	r := s.call("GET", "/scim/v2/Groups/"+gid, nil).is(t, 200)
	if at(r.body, ext, "description") != "made natively" || at(r.body, ext, "customData", "cost_center") != "42" || !has(r.body["schemas"], ext) {
		t.Fatalf("/scim/v2/Groups: %s", r.raw)
	}
	s.call("GET", "/cis/scim/Groups/"+gid, nil).transmitError(t, 501) // Transmit's SCIM API has Users only
	// A SCIM PUT (Okta AIW) keeps the native data it does not carry.
	s.call("PUT", "/scim/v2/Groups/"+gid, map[string]any{"displayName": "Native Group", "externalId": "okta-g1"}).is(t, 200)
	nat := s.call("GET", "/cis/v1/groups/"+gid, nil, "Content-Type", "").is(t, 200)
	if at(nat.body, "result", "external_id") != "okta-g1" || at(nat.body, "result", "description") != "made natively" {
		t.Fatalf("native view after a SCIM PUT: %s", nat.raw)
	}
	sg := s.call("POST", "/scim/v2/Groups", map[string]any{"displayName": "SCIM Group", "externalId": "entra-obj-1"}).is(t, 201)
	sid := sg.body["id"].(string)
	if r := s.call("GET", "/cis/v1/groups/"+sid, nil, "Content-Type", "").is(t, 200); at(r.body, "result", "external_id") != "entra-obj-1" {
		t.Fatalf("native view of a SCIM group: %s", r.raw)
	}
	s.call("PUT", "/cis/v1/groups/"+sid, map[string]any{"external_id": "entra-obj-2"}, js...).is(t, 200)
	if r := s.call("GET", "/scim/v2/Groups/"+sid, nil).is(t, 200); r.body["externalId"] != "entra-obj-2" {
		t.Fatalf("SCIM view after a native change: %s", r.raw)
	}
}
