package scim_test

import "testing"

// TestDisplayNameFollowsName: a user without a displayName gets Transmit's
// derived one (first + middle + last name), on either face, filterable over
// SCIM, and kept in step when the name changes; a displayName a client set
// is never overwritten.
func TestDisplayNameFollowsName(t *testing.T) {
	s := newServer(t)
	json := []string{"Content-Type", "application/json"}
	nu := s.call("POST", "/cis/v1/users", map[string]any{"email": "dn@x.example",
		"name": map[string]any{"first_name": "Ann", "middle_name": "B", "last_name": "Lee"}}, json...).is(t, 201)
	id := at(nu.body, "result", "user_id").(string)
	scimDN := func() any { return s.call("GET", "/scim/v2/Users/"+id, nil).is(t, 200).body["displayName"] }
	if dn := scimDN(); dn != "Ann B Lee" {
		t.Fatalf("derived displayName %v", dn)
	}
	if r := s.call("GET", "/scim/v2/Users?filter="+q(`displayName eq "ann b lee"`), nil).is(t, 200); at(r.body, "Resources", 0, "id") != id {
		t.Fatalf("filter on the derived displayName: %s", r.raw)
	}
	// The name changes natively: the derived displayName follows.
	s.call("PUT", "/cis/v1/users/"+id, map[string]any{"name": map[string]any{"first_name": "Ann", "last_name": "Smith"}}, json...).is(t, 200)
	if dn := scimDN(); dn != "Ann Smith" {
		t.Fatalf("displayName after a name change: %v", dn)
	}
	// A SCIM create without displayName derives it too.
	c := s.call("POST", "/scim/v2/Users", map[string]any{"schemas": []string{userURN}, "userName": "dn2@x.example",
		"name": map[string]any{"givenName": "Bo", "familyName": "Ek"}}).is(t, 201)
	if c.body["displayName"] != "Bo Ek" {
		t.Fatalf("SCIM create: %s", c.raw)
	}
	// A displayName the client sets stays, whatever the name does.
	s.call("PATCH", "/scim/v2/Users/"+id, patch(map[string]any{"op": "replace", "path": "displayName", "value": "The Boss"})).is(t, 200)
	s.call("PUT", "/cis/v1/users/"+id, map[string]any{"name": map[string]any{"first_name": "Zed"}}, json...).is(t, 200)
	if dn := scimDN(); dn != "The Boss" {
		t.Fatalf("a set displayName was overwritten: %v", dn)
	}
	// Removing it derives it again.
	s.call("PATCH", "/scim/v2/Users/"+id, patch(map[string]any{"op": "remove", "path": "displayName"})).is(t, 200)
	if dn := scimDN(); dn != "Zed" {
		t.Fatalf("after removing displayName: %v", dn)
	}
}
