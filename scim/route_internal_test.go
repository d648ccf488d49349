package scim

import "testing"

// TestRouteLabels: a path below a base is labelled by its endpoint's
// template (names matched in any case, written as the route table spells
// them), never by an id, and a path that names no endpoint has no label.
func TestRouteLabels(t *testing.T) {
	l := newRouteLabels("/scim/v2")
	for _, c := range []struct{ head, tail, want string }{
		{"", "", "/scim/v2/"},
		{"", "x", ""},
		{".search", "", "/scim/v2/.search"},
		{".search", "x", ""},
		{".SEARCH", "", ""},
		{"users", "", "/scim/v2/Users"},
		{"Users", ".search", "/scim/v2/Users/.search"},
		{"Users", "2819c223-7f76", "/scim/v2/Users/{id}"},
		{"Groups", ".search", "/scim/v2/Groups/.search"},
		{"Bulk", "", "/scim/v2/Bulk"},
		{"Me", ".search", "/scim/v2/Me/{id}"},
		{"Schemas", "urn:ietf:params:scim:schemas:core:2.0:User", "/scim/v2/Schemas/{id}"},
		{"nope", "", ""},
	} {
		if got := l.label(c.head, c.tail); got != c.want {
			t.Errorf("label(%q, %q) = %q, want %q", c.head, c.tail, got, c.want)
		}
	}
}
