package scim_test

import "testing"

// TestEnterpriseCrossFace: enterprise attributes an IdP pushes over SCIM are
// the native user's enterprise object (read, searched and written natively),
// and a native write shows in the SCIM extension.
func TestEnterpriseCrossFace(t *testing.T) {
	s := newServer(t)
	const entURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	c := s.call("POST", "/scim/v2/Users", map[string]any{"schemas": []string{userURN, entURN}, "userName": "ent@x.example",
		"emails": []any{map[string]any{"value": "ent@x.example", "primary": true}}, "title": "Analyst",
		entURN: map[string]any{"employeeNumber": "701984", "costCenter": "4130", "organization": "Acme", "division": "Labs",
			"department": "R&D", "manager": map[string]any{"value": "mgr-1"}}}).is(t, 201)
	id := c.body["id"].(string)
	nat := s.call("GET", "/cis/v1/users/"+id, nil, "Content-Type", "").is(t, 200)
	if at(nat.body, "result", "enterprise", "department") != "R&D" || at(nat.body, "result", "enterprise", "cost_center") != "4130" ||
		at(nat.body, "result", "enterprise", "title") != "Analyst" || at(nat.body, "result", "enterprise", "manager", "id") != "mgr-1" {
		t.Fatalf("native view of SCIM enterprise data: %s", nat.raw)
	}
	if r := s.call("GET", "/cis/v1/users?search="+q(`enterprise.organization eq "acme"`), nil, "Content-Type", "").is(t, 200); at(r.body, "result", 0, "user_id") != id {
		t.Fatalf("native search: %s", r.raw)
	}
	s.call("PUT", "/cis/v1/users/"+id, map[string]any{"enterprise": map[string]any{"department": "Sales", "employee_number": "9"}}, "Content-Type", "application/json").is(t, 200)
	g := s.call("GET", "/scim/v2/Users/"+id, nil).is(t, 200)
	if at(g.body, entURN, "department") != "Sales" || at(g.body, entURN, "employeeNumber") != "9" || at(g.body, entURN, "costCenter") != nil || g.body["title"] != nil {
		t.Fatalf("SCIM view after a native write: %s", g.raw)
	}
}
