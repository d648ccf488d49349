package scim_test

import (
	"net/url"
	"testing"
)

// FuzzPatchAndFilter sends arbitrary PATCH bodies and filter strings: no
// input may produce a 500.
func FuzzPatchAndFilter(f *testing.F) {
	seeds := []struct{ body, filter string }{
		{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y.org"}]}`, `userName eq "a"`},
		{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"name.givenName":"A","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"x"}}}]}`, `emails[type eq "work" and value co "@"]`},
		{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}]}`, `not (active eq true) or meta.created gt "2020-01-01"`},
		{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"roles[primary eq \"True\"].display","value":1}]}`, `(`},
		{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:scimd:schemas:extension:CustomData:2.0:User:a.b","value":{"c":[1,2]}}]}`, `urn:scimd:schemas:extension:CustomData:2.0:User:a.b eq 1`},
	}
	for _, s := range seeds {
		f.Add(s.body, s.filter)
	}
	fx := newFixture(f)
	uid := fx.createUser("fuzz@f.org")
	g := fx.do("POST", "/Groups", fx.admin, map[string]any{"displayName": "fuzz"})
	gid, _ := g.body["id"].(string)
	// In-process (no socket, no background connection state) so that each
	// execution covers the same code for the same input and the engine explores.
	f.Fuzz(func(t *testing.T, body, filter string) {
		for _, path := range []string{"/Users/" + uid, "/Groups/" + gid} {
			if w := fx.serve(t, "PATCH", path, body); w.Code >= 500 {
				t.Fatalf("PATCH %s %q: %d %s", path, body, w.Code, w.Body)
			}
		}
		for _, path := range []string{"/Users", "/Groups"} {
			q := "?count=1&filter=" + url.QueryEscape(filter) + "&sortBy=" + url.QueryEscape(filter)
			if w := fx.serve(t, "GET", path+q, ""); w.Code >= 500 {
				t.Fatalf("GET %s filter %q: %d %s", path, filter, w.Code, w.Body)
			}
		}
	})
}
