package scim_test

import (
	"testing"
)

// TestMicrosoftValidator replays the Microsoft SCIM Validator's request forms
// (scim-clients.md §2.10), including its preview tests.
func TestMicrosoftValidator(t *testing.T) {
	s := newServer(t)
	const base = "/scim/v2"
	body := map[string]any{"schemas": []string{userURN, entURN}, "userName": "VALIDATOR.User@contoso.example", "externalId": "v-ext-1",
		"active": true, "displayName": "Val Idator", "title": "QA", "preferredLanguage": "jgo-CM", "locale": "XQZLOCALE", "timezone": "America/Guayaquil",
		"profileUrl": "RANDOMSTRING", "name": map[string]any{"givenName": "Val", "familyName": "Idator", "formatted": "Val Idator"},
		"emails":       []any{map[string]any{"type": "work", "value": "val@contoso.example", "primary": true}},
		"phoneNumbers": []any{map[string]any{"type": "work", "value": "123-555-0100", "primary": true}, map[string]any{"type": "mobile", "value": "123-555-0101"}},
		"addresses":    []any{map[string]any{"type": "work", "formatted": "1 Main", "streetAddress": "1 Main", "locality": "X", "region": "Y", "postalCode": "1", "country": "Neverland", "primary": true}},
		"roles":        []any{map[string]any{"primary": "True", "display": "Admin", "value": "admin", "type": "WindowsAzureActiveDirectoryRole"}},
		entURN: map[string]any{"employeeNumber": "7", "department": "D", "costCenter": "C", "organization": "O", "division": "V",
			"manager": map[string]any{"value": "nobody-yet"}}}
	c := s.call("POST", base+"/Users", body).is(t, 201)
	id := c.body["id"].(string)
	if at(c.body, "roles", 0, "primary") != true || c.body["profileUrl"] != "RANDOMSTRING" {
		t.Fatalf("create: %s", c.raw)
	}
	s.call("POST", base+"/Users", body).scimError(t, 409, "uniqueness")
	for _, f := range []string{`userName eq "VALIDATOR.User@contoso.example"`, `userName eq "validator.user@CONTOSO.example"`} {
		if r := s.call("GET", base+"/Users?filter="+q(f), nil).is(t, 200); n(r.body["totalResults"]) != 1 || at(r.body, "Resources", 0, "title") != "QA" {
			t.Fatalf("filter %s: %s", f, r.raw)
		}
	}
	if r := s.call("GET", base+"/Users?filter="+q(`userName eq "not-there"`), nil).is(t, 200); n(r.body["totalResults"]) != 0 {
		t.Fatal(r.raw)
	}
	// Patch User – Replace Attributes (Verbose) and Add Attributes Verbose
	s.call("PATCH", base+"/Users/"+id, patch(
		map[string]any{"op": "replace", "path": `phoneNumbers[type eq "work"].value`, "value": "123-555-0199"},
		map[string]any{"op": "replace", "path": `addresses[type eq "work"].locality`, "value": "Z"},
		map[string]any{"op": "replace", "path": `emails[primary eq true].value`, "value": "val2@contoso.example"},
		map[string]any{"op": "add", "path": `roles[primary eq "True"].value`, "value": "root"},
		map[string]any{"op": "add", "path": `phoneNumbers[type eq "fax"].value`, "value": "123-555-0102"},
	)).is(t, 200)
	r := s.call("GET", base+"/Users?filter="+q(`externalId eq "v-ext-1"`), nil).is(t, 200)
	u := at(r.body, "Resources", 0)
	if at(u, "emails", 0, "value") != "val2@contoso.example" || at(u, "roles", 0, "value") != "root" || len(at(u, "phoneNumbers").([]any)) != 3 || at(u, "addresses", 0, "locality") != "Z" {
		t.Fatalf("after patch: %s", r.raw)
	}
	// Update userName (pathless), disable
	s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"userName": "renamed@contoso.example"}})).is(t, 200)
	if r := s.call("GET", base+"/Users?filter="+q(`userName eq "renamed@contoso.example"`), nil).is(t, 200); n(r.body["totalResults"]) != 1 {
		t.Fatal(r.raw)
	}
	s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": "replace", "path": "active", "value": false})).is(t, 200)
	// preview: several ops on one attribute, applied in order
	if r := s.call("PATCH", base+"/Users/"+id, patch(
		map[string]any{"op": "remove", "path": "title"}, map[string]any{"op": "add", "path": "title", "value": "A"}, map[string]any{"op": "replace", "path": "title", "value": "B"},
	)).is(t, 200); r.body["title"] != "B" {
		t.Fatal(r.raw)
	}
	// groups
	g := s.call("POST", base+"/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "Validator Group", "externalId": "vg"}).is(t, 201)
	gid := g.body["id"].(string)
	s.call("POST", base+"/Groups", map[string]any{"schemas": []string{groupURN}, "displayName": "validator group"}).scimError(t, 409, "uniqueness")
	s.call("GET", base+"/Groups/"+gid+"?excludedAttributes=members", nil).is(t, 200)
	if r := s.call("GET", base+"/Groups?filter="+q(`displayName eq "VALIDATOR GROUP"`)+"&excludedAttributes=members", nil).is(t, 200); n(r.body["totalResults"]) != 1 {
		t.Fatal(r.raw)
	}
	s.call("PATCH", base+"/Groups/"+gid, patch(map[string]any{"op": "replace", "value": map[string]any{"externalId": "vg2"}})).is(t, 200)
	s.call("PATCH", base+"/Groups/"+gid, patch(map[string]any{"op": "replace", "value": map[string]any{"displayName": "Validator Group 2"}})).is(t, 200)
	s.call("PATCH", base+"/Groups/"+gid, patch(map[string]any{"op": "replace", "path": "members", "value": []any{map[string]any{"value": id}}})).is(t, 200)
	if r := s.call("PATCH", base+"/Groups/"+gid, patch(map[string]any{"op": "remove", "path": `members[value eq "` + id + `"]`})).is(t, 200); len(members(r.body)) != 0 {
		t.Fatal(r.raw)
	}
	if r := s.call("PATCH", base+"/Groups/"+gid, patch(
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}},
		map[string]any{"op": "remove", "path": `members[value eq "` + id + `"]`})).is(t, 200); len(members(r.body)) != 0 {
		t.Fatal(r.raw)
	}
	// deletes: 204, then 404; unknown ids 404
	s.call("DELETE", base+"/Users/"+id, nil).is(t, 204)
	s.call("DELETE", base+"/Users/"+id, nil).scimError(t, 404, "")
	s.call("DELETE", base+"/Groups/"+gid, nil).is(t, 204)
	s.call("DELETE", base+"/Groups/"+gid, nil).scimError(t, 404, "")
	s.call("DELETE", base+"/Users/does-not-exist", nil).scimError(t, 404, "")
}
