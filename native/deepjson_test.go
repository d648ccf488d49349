package native

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// nested returns a JSON object nested depth levels deep: {"a":{"a":…1…}}.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{"a":1}` + strings.Repeat("}", depth-1)
}

// Free-form JSON nested deeper than schemas.MaxJSONDepth is refused with a 400
// that says so, wherever it is sent; nothing is written. (Before the limit, a
// custom_data nested ~10,000 levels was stored and its audit event then broke
// every audit query; nested custom_app_data answered 500.)
func TestDeepJSONRefused(t *testing.T) {
	e := newEnv(t)
	id := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "deep@example.org"}).want(t, 201).result()["user_id"].(string)
	for _, depth := range []int{schemas.MaxJSONDepth + 1, 9990} {
		deep := nested(depth)
		for _, c := range []struct{ method, path, token, body string }{
			{"POST", "/cis/v1/users", e.tokA, `{"email":"deeper@example.org","custom_data":` + deep + `}`},
			{"PUT", "/cis/v1/users/" + id, e.tokA, `{"custom_data":{"x":` + deep + `}}`},
			{"PUT", "/cis/v1/users/" + id, e.tokA, `{"custom_app_data":` + deep + `}`},
			{"POST", "/cis/v1/users", e.tokA, `{"email":"deeper@example.org","custom_app_data":{"x":` + deep + `}}`},
			{"POST", "/cis/v1/groups", e.admin, `{"name":"deep","custom_data":` + deep + `}`},
		} {
			r := e.call(c.method, c.path, c.token, c.body).wantError(t, http.StatusBadRequest)
			if !strings.Contains(string(r.raw), "nested more than") {
				t.Errorf("%s %s with JSON nested %d deep: the 400 does not say why: %s", c.method, c.path, depth, r.raw)
			}
		}
	}
	// Exactly the limit is accepted.
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, `{"custom_data":`+nested(schemas.MaxJSONDepth)+`}`).want(t, 200)
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, `{"custom_data":null}`).want(t, 200)
	if u := e.call("GET", "/cis/v1/users?search="+esc(`email eq "deeper@example.org"`), e.admin, nil).want(t, 200); strings.Contains(string(u.raw), "deeper@") {
		t.Errorf("a refused user was created: %s", u.raw)
	}
	if g := e.call("GET", "/cis/v1/groups?search="+esc(`name eq "deep"`), e.admin, nil).want(t, 200); strings.Contains(string(g.raw), `"deep"`) {
		t.Errorf("a refused group was created: %s", g.raw)
	}
	e.call("GET", "/cis/v1/manage/audit-events?target_id="+id, e.admin, nil).want(t, 200)
}
