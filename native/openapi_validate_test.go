package native

import (
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// apiValidator checks live responses against the OpenAPI document the server
// serves, with kin-openapi (github.com/getkin/kin-openapi), a maintained
// validator that code generators' users rely on.
type apiValidator struct {
	e      *env
	router routers.Router
}

// newAPIValidator loads GET /cis/openapi.json, requires it to be a valid
// OpenAPI document, and points its server at the test listener.
func newAPIValidator(t testing.TB, e *env) *apiValidator {
	t.Helper()
	raw := e.call("GET", "/cis/openapi.json", "", nil).want(t, http.StatusOK).raw
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: e.srv.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &apiValidator{e: e, router: router}
}

// check validates one response to method path (path includes the query):
// the operation must be documented, the status declared, and the body must
// match its schema (types, required and unknown fields, no null where the
// schema has none).
func (v *apiValidator) check(t testing.TB, method, path string, r response) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, v.e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in the OpenAPI document: %v", method, path, err)
		return
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 r.status, Header: r.header, Options: opts,
	}
	in.SetBodyBytes(r.raw)
	if err := openapi3filter.ValidateResponse(t.Context(), in); err != nil {
		t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %s", method, path, r.status, err, r.raw)
	}
}

// TestOpenAPIRichResponses validates responses that the permission matrix's
// minimal fixtures do not produce: a user with every field, a password, app
// data and verified contacts (admin and application views), a bulk result
// with a failed element, API tokens bound and expiring, audit events, token
// and login responses, and error bodies (400, 401, 409, 415).
func TestOpenAPIRichResponses(t *testing.T) {
	e := newEnv(t)
	api := newAPIValidator(t, e)
	call := func(method, path, token string, body any, headers ...string) response {
		t.Helper()
		r := e.call(method, path, token, body, headers...)
		api.check(t, method, path, r)
		return r
	}
	full := map[string]any{
		"email": uniq("full") + "@example.org", "phone_number": "+12025550142", "username": uniq("full"),
		"secondary_emails": []string{uniq("alt") + "@example.org"}, "secondary_phone_numbers": []string{"+12025550143"},
		"name":     map[string]any{"title": "Dr", "first_name": "Ada", "middle_name": "K", "last_name": "Lovelace"},
		"address":  map[string]any{"country": "UK", "state": "LDN", "city": "London", "street_address": "1 Main St", "postal_code": "N1", "type": "Home"},
		"birthday": "1815-12-10", "picture": "https://example.org/ada.png", "language": "en-GB",
		"external_user_id": uniq("ext"), "custom_data": map[string]any{"tier": "gold", "n": map[string]any{"x": 1}},
		"custom_app_data": map[string]any{"plan": "pro"}, "external_account_id": "acct-1",
		"enterprise": map[string]any{"employee_number": "42", "cost_center": "CC1", "organization": "Org", "division": "Div",
			"department": "R&D", "title": "Engineer", "manager": map[string]any{"id": "some-user-id"}},
		"credentials": map[string]any{"password": "a-long-password-1", "force_replace": false},
	}
	id := call("POST", "/cis/v1/users", e.tokA, full).want(t, 201).result()["user_id"].(string)
	call("POST", "/cis/v1/users/"+id+"/emails/"+esc(full["email"].(string))+"/verify", e.tokA, map[string]any{}).want(t, 202)
	g := call("POST", "/cis/v1/groups", e.admin, map[string]any{"name": uniq("rich"), "description": "d", "custom_data": map[string]any{"k": "v"}}).want(t, 201).result()
	call("POST", "/cis/v1/groups/"+g["group_id"].(string)+"/members", e.admin, map[string]any{"user_ids": []string{id}}).want(t, 204)
	call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "email": full["email"], "password": "a-long-password-1"}).want(t, 200)
	for _, tk := range []string{e.admin, e.tokA, e.apiRead} {
		u := call("GET", "/cis/v1/users/"+id, tk, nil).want(t, 200).result()
		if u["password_information"] == nil || u["address"] == nil || u["last_auth"] == nil {
			t.Fatalf("fixture user lacks fields: %v", u)
		}
		call("GET", "/cis/v1/users?search="+esc(`name.first_name eq "Ada"`), tk, nil).want(t, 200)
		call("GET", "/cis/v1/users/"+id+"/groups", tk, nil).want(t, 200)
		call("GET", "/cis/v1/users/"+id+"/apps", tk, nil).want(t, 200)
		call("GET", "/cis/v1/groups/"+g["group_id"].(string)+"/members", tk, nil).want(t, 200)
	}
	call("POST", "/cis/v1/users/bulk", e.tokA, []any{map[string]any{"email": uniq("b") + "@example.org"}, map[string]any{"email": full["email"]}}).want(t, 201)
	call("POST", "/cis/v1/manage/api-tokens", e.admin, map[string]any{"description": "bound", "app_id": e.appA.ID, "scopes": []string{"read"}, "expires_at": "2099-01-01T00:00:00Z"}).want(t, 201)
	call("GET", "/cis/v1/manage/api-tokens", e.admin, nil).want(t, 200)
	call("GET", "/cis/v1/manage/audit-events?target_id="+id, e.admin, nil).want(t, 200)
	call("GET", "/cis/v1/applications/list", e.admin, nil).want(t, 200)
	call("GET", "/cis/v1/users/me/device-keys", e.userTok, nil).want(t, 200)
	call("GET", "/.well-known/openid-configuration", "", nil).want(t, 200)

	// Error bodies.
	call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "not-an-email"}).wantError(t, 400)
	call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": full["email"]}).wantError(t, 409)
	call("POST", "/cis/v1/users", e.tokA, "x=1", "Content-Type", "text/plain").wantError(t, 415)
	e.call("PATCH", "/cis/v1/users/"+id, e.admin, nil).wantError(t, 405) // no operation to validate against
	call("GET", "/cis/v1/users/"+id, "bad.token.x", nil).wantError(t, 401)
	call("POST", "/oidc/token", "", "grant_type=client_credentials&client_id=x&client_secret=y", "Content-Type", "application/x-www-form-urlencoded").wantError(t, 401)
	call("POST", "/oidc/token", "", "grant_type=password", "Content-Type", "application/x-www-form-urlencoded").wantError(t, 400)
	call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "email": full["email"], "password": "wrong-password"}).wantError(t, 401)
}
