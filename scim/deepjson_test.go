package scim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// nestedObject returns an object nested depth levels deep: {"a":{"a":…1…}}.
func nestedObject(depth int) map[string]any {
	var v any = 1
	for range depth {
		v = map[string]any{"a": v}
	}
	return v.(map[string]any)
}

// Free-form JSON (the CustomData and CustomAppData extensions) nested deeper
// than schemas.MaxJSONDepth is refused with 400 invalidValue on every path that
// writes it — POST, PUT and PATCH of /Users, and /Me with an end user's own
// token — and nothing changes.
func TestDeepJSONRefused(t *testing.T) {
	f := newFixture(t)
	meID, meTok := f.endUser("deep-me@m.org")
	id := f.do("POST", "/Users", f.appToken, user("deep@m.org")).want(t, 201).body["id"].(string)
	before := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200)
	meBefore := f.do("GET", "/Users/"+meID, f.admin, nil).want(t, 200)
	for _, depth := range []int{schemas.MaxJSONDepth + 1, 9990} {
		deep := nestedObject(depth)
		create := user("deeper@m.org")
		create[schemas.CustomDataURN] = deep
		put := f.do("GET", "/Users/"+id, f.appToken, nil).want(t, 200).body
		put[schemas.CustomAppDataURN] = deep
		mePut := f.do("GET", "/Me", meTok, nil).want(t, 200).body
		mePut[schemas.CustomDataURN] = deep
		for _, c := range []struct {
			method, path, token string
			body                map[string]any
		}{
			{"POST", "/Users", f.admin, create},
			{"PUT", "/Users/" + id, f.appToken, put},
			{"PATCH", "/Users/" + id, f.admin, patchOp(op("add", schemas.CustomDataURN+":x", deep))},
			{"PATCH", "/Users/" + id, f.appToken, patchOp(op("replace", schemas.CustomAppDataURN, deep))},
			{"PATCH", "/Users/" + id, f.admin, patchOp(op("add", "", map[string]any{schemas.CustomDataURN: deep}))},
			{"PATCH", "/Me", meTok, patchOp(op("add", schemas.CustomDataURN+":x", deep))},
			{"PUT", "/Me", meTok, mePut},
		} {
			r := f.do(c.method, c.path, c.token, c.body).wantError(t, 400, "invalidValue")
			if d, _ := r.body["detail"].(string); !strings.Contains(d, "nested more than") {
				t.Errorf("%s %s with JSON nested %d deep: the detail does not say why: %s", c.method, c.path, depth, r.raw)
			}
		}
	}
	if r := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200); r.header.Get("ETag") != before.header.Get("ETag") {
		t.Errorf("a refused write changed the user: %s", r.raw)
	}
	if r := f.do("GET", "/Users/"+meID, f.admin, nil).want(t, 200); r.header.Get("ETag") != meBefore.header.Get("ETag") {
		t.Errorf("a refused write changed the end user: %s", r.raw)
	}
	if r := f.do("GET", `/Users?filter=userName+eq+"deeper@m.org"`, f.admin, nil).want(t, 200); fmt.Sprint(r.body["totalResults"]) != "0" {
		t.Errorf("a refused create created a user: %s", r.raw)
	}
	// Exactly the limit is accepted.
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("add", schemas.CustomDataURN+":x", nestedObject(schemas.MaxJSONDepth-1)))).want(t, 200)
}
