package scim_test

import (
	"bytes"
	"testing"

	"github.com/scimd/scimd/internal/jsonw"
)

// Rendered resources, alone or in a ListResponse (users, groups, a query
// across both), are written as jsonw writes their decoded value: members in
// key order, compact, one newline after.
func TestBodiesAreCanonicalJSON(t *testing.T) {
	f := newFixture(t)
	ids := []string{f.createUser("ada@example.org"), f.createUser("grace@example.org")}
	g := f.do("POST", "/Groups", f.admin, map[string]any{"displayName": "R&D <eng>", "members": []any{map[string]any{"value": ids[0]}}}).want(t, 201)
	for _, path := range []string{"/Users/" + ids[1], "/Users", "/Users?filter=userName%20sw%20%22a%22&count=1",
		"/Groups", "/Groups/" + g.body["id"].(string), "/?count=5", "/Users?attributes=userName", "/Users?startIndex=9"} {
		r := f.do("GET", path, f.admin, nil).want(t, 200)
		body, ok := bytes.CutSuffix([]byte(r.raw), []byte("\n"))
		if !ok {
			t.Fatalf("%s: no newline after the body", path)
		}
		v, err := jsonw.Decode(body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		again, err := jsonw.Append(nil, v, false)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, again) {
			t.Errorf("%s:\n got  %s\nwant %s", path, body, again)
		}
	}
}
