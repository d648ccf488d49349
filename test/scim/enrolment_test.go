package scim_test

import "testing"

// TestEnrolmentTokenReachesNothingOnSCIM: an enrolment token (issued for a
// user without a password) is refused by every SCIM operation; it serves
// only the native POST /cis/v1/users/me/password-credentials.
func TestEnrolmentTokenReachesNothingOnSCIM(t *testing.T) {
	s := newServer(t)
	c := s.call("POST", "/scim/v2/Users", map[string]any{"schemas": []string{userURN}, "userName": "enrol@x.example",
		"emails": []any{map[string]any{"value": "enrol@x.example", "primary": true}}}).is(t, 201)
	id := c.body["id"].(string)
	r := s.call("POST", "/cis/v1/users/"+id+"/enrolment-token", nil, "Content-Type", "").is(t, 201)
	tok := at(r.body, "result", "access_token").(string)
	enrol := func(method, path string, body any) reply {
		return s.call(method, path, body, "Authorization", "Bearer "+tok)
	}
	for _, p := range []string{"/scim/v2/Users", "/scim/v2/Users/" + id, "/scim/v2/Groups", "/scim/v2/Me"} {
		if got := enrol("GET", p, nil); got.status == 200 || got.status == 401 {
			t.Errorf("GET %s with an enrolment token: %d %s", p, got.status, got.raw)
		}
	}
	if got := enrol("PATCH", "/scim/v2/Users/"+id, patch(map[string]any{"op": "replace", "path": "title", "value": "x"})); got.status != 403 {
		t.Errorf("PATCH with an enrolment token: %d %s", got.status, got.raw)
	}
	enrol("POST", "/cis/v1/users/me/password-credentials", map[string]any{"password": "first-password-1"}).is(t, 200)
}
