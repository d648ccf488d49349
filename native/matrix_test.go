package native

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

// principals of the permission matrix. The api* principals are API tokens:
// apiAdmin unbound with the admin scope, apiA bound to app A with the default
// scope (scim), apiSCIM unbound with the default scope, apiRead unbound with
// the read scope, apiLegacy unbound and stored before tokens had scopes.
var principals = []string{"admin", "appA", "appB", "user", "apiAdmin", "apiA", "apiSCIM", "apiRead", "apiLegacy", "none", "garbage"}

func (e *env) tokenOf(who string) string {
	return map[string]string{"admin": e.admin, "appA": e.tokA, "appB": e.tokB, "user": e.userTok,
		"apiAdmin": e.apiAdmin, "apiA": e.apiA, "apiSCIM": e.apiSCIM, "apiRead": e.apiRead, "apiLegacy": e.apiLegacy,
		"none": "", "garbage": "garbage.token.here"}[who]
}

// expectations of a client route: the status for each app-level principal;
// user tokens get 403 and missing or garbage tokens 401. The tenant-wide
// scim-scoped tokens (apiSCIM, apiLegacy) get what apiAdmin gets, the read
// token too: callers of write routes narrow these with writes or adminRoute.
func clientRoute(admin, a, b, apiAdmin, apiA int) map[string]int {
	return map[string]int{"admin": admin, "appA": a, "appB": b, "apiAdmin": apiAdmin, "apiA": apiA,
		"apiSCIM": apiAdmin, "apiRead": apiAdmin, "apiLegacy": apiAdmin, "user": 403, "none": 401, "garbage": 401}
}

// writes marks a route that changes users or groups: the read scope gets 403.
func writes(m map[string]int) map[string]int { m["apiRead"] = 403; return m }

// adminRoute marks a route that needs the admin scope: only apiAdmin among the
// unbound API tokens passes.
func adminRoute(m map[string]int) map[string]int {
	m["apiSCIM"], m["apiRead"], m["apiLegacy"] = 403, 403, 403
	return m
}

func everyone(status int) map[string]int  { return clientRoute(status, status, status, status, status) }
func scopedToA(status int) map[string]int { return clientRoute(status, status, 404, status, status) }
func adminOnly(status int) map[string]int {
	return adminRoute(clientRoute(status, 403, 403, status, 403))
}

// adminRoute404 is adminRoute for reading one application: a caller that may
// not see it gets 404, as for an application that does not exist.
func adminRoute404(m map[string]int) map[string]int {
	m["apiSCIM"], m["apiRead"], m["apiLegacy"] = 404, 404, 404
	return m
}
func anyone(status int) map[string]int {
	m := map[string]int{}
	for _, p := range principals {
		m[p] = status
	}
	return m
}
func endUserRoute(status int) map[string]int {
	m := anyone(403)
	m["user"], m["none"], m["garbage"] = status, 401, 401
	return m
}

// matrixCase is one endpoint: setup creates what the request needs (fresh
// for every principal, so that cells do not interfere) and returns the path and body.
type matrixCase struct {
	method, route string // route is the template, as registered
	setup         func(e *env) (path string, body any)
	want          map[string]int
}

func fixed(path string, body any) func(*env) (string, any) {
	return func(*env) (string, any) { return path, body }
}

func TestPermissionMatrix(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	user := func(e *env) *schemas.User { return e.seedUser(e.pA, uniq("mx"), true) }
	group := func(e *env) string {
		g, err := e.svc.CreateGroup(ctx, directory.System, &schemas.Group{DisplayName: uniq("grp")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return g.ID
	}
	app := func(kind string) string {
		a, _, err := e.svc.CreateApp(ctx, directory.System, kind, &schemas.App{Name: uniq("app")})
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	const v1 = "/cis/v1"
	cases := []matrixCase{
		{"POST", "/oidc/token", func(e *env) (string, any) { return "/oidc/token", nil }, anyone(200)},
		{"GET", "/oidc/jwks", fixed("/oidc/jwks", nil), anyone(200)},
		{"GET", "/.well-known/openid-configuration", fixed("/.well-known/openid-configuration", nil), anyone(200)},
		{"GET", "/cis/openapi.json", fixed("/cis/openapi.json", nil), anyone(200)},
		{"POST", v1 + "/auth/password/login", fixed(v1+"/auth/password/login", map[string]any{"client_id": "x", "username": "y", "password": "z"}), anyone(401)},
		{"POST", v1 + "/auth/password/replace", fixed(v1+"/auth/password/replace", map[string]any{"client_id": "x", "username": "y", "password": "z", "new_password": "long-enough-1"}), anyone(401)},
		{"POST", v1 + "/users/me/password-credentials", fixed(v1+"/users/me/password-credentials", map[string]any{"password": "whatever-pass"}), endUserRoute(403)},
		{"GET", v1 + "/users/me/device-keys", fixed(v1+"/users/me/device-keys", nil), endUserRoute(200)},

		{"GET", v1 + "/users/count", fixed(v1+"/users/count", nil), everyone(200)},
		{"POST", v1 + "/users/bulk", func(e *env) (string, any) {
			return v1 + "/users/bulk", []any{map[string]any{"email": uniq("bulk") + "@example.org"}}
		}, writes(everyone(201))},
		{"GET", v1 + "/users/email/{email}", func(e *env) (string, any) { return v1 + "/users/email/" + esc(user(e).Emails[0].Value), nil }, scopedToA(200)},
		{"GET", v1 + "/users/external-user-id/{external_user_id}", func(e *env) (string, any) { return v1 + "/users/external-user-id/" + user(e).ExternalID, nil }, scopedToA(200)},
		{"GET", v1 + "/users/username/{username}", func(e *env) (string, any) { return v1 + "/users/username/" + user(e).UserName, nil }, scopedToA(200)},
		{"GET", v1 + "/users/phone-number/{phone_number}", func(e *env) (string, any) {
			return v1 + "/users/phone-number/" + esc(user(e).PhoneNumbers[0].Value), nil
		}, scopedToA(200)},
		{"GET", v1 + "/users/identifier", func(e *env) (string, any) {
			return v1 + "/users/identifier?identifier_name=username&identifier_value=" + url.QueryEscape(user(e).UserName), nil
		}, scopedToA(200)},
		{"GET", v1 + "/users/phone/{phone_number}", func(e *env) (string, any) { return v1 + "/users/phone/" + esc(user(e).PhoneNumbers[0].Value), nil }, scopedToA(200)},
		{"POST", v1 + "/users", func(e *env) (string, any) {
			return v1 + "/users", map[string]any{"email": uniq("new") + "@example.org"}
		}, writes(everyone(201))},
		{"GET", v1 + "/users", fixed(v1+"/users", nil), everyone(200)},
		{"GET", v1 + "/users/{user_id}", func(e *env) (string, any) { return v1 + "/users/" + user(e).ID, nil }, scopedToA(200)},
		{"PUT", v1 + "/users/{user_id}", func(e *env) (string, any) {
			return v1 + "/users/" + user(e).ID, map[string]any{"custom_data": map[string]any{"k": 1}}
		}, writes(scopedToA(200))},
		{"GET", v1 + "/users/{user_id}/groups", func(e *env) (string, any) { return v1 + "/users/" + user(e).ID + "/groups", nil }, scopedToA(200)},
		// An admin token has no calling application to remove the user from.
		{"DELETE", v1 + "/users/{user_id}/apps", func(e *env) (string, any) { return v1 + "/users/" + user(e).ID + "/apps", nil }, clientRoute(403, 204, 404, 403, 204)},
		{"GET", v1 + "/users/{user_id}/apps", func(e *env) (string, any) { return v1 + "/users/" + user(e).ID + "/apps", nil }, scopedToA(200)},
		// Removal from a named app: administrators, or the application itself.
		{"DELETE", v1 + "/users/{user_id}/apps/{app_id}", func(e *env) (string, any) {
			return v1 + "/users/" + user(e).ID + "/apps/" + e.appA.ID, nil
		}, adminRoute(clientRoute(204, 204, 403, 204, 204))},
		{"PUT", v1 + "/users/{user_id}/apps/{app_id}", func(e *env) (string, any) {
			return v1 + "/users/" + user(e).ID + "/apps/" + e.appB.ID, nil
		}, adminOnly(204)},
		{"POST", v1 + "/users/{user_id}/password", func(e *env) (string, any) {
			return v1 + "/users/" + user(e).ID + "/password", map[string]any{"password": "first-pass-1"}
		}, writes(scopedToA(201))},
		{"POST", v1 + "/users/{user_id}/enrolment-token", func(e *env) (string, any) { return v1 + "/users/" + user(e).ID + "/enrolment-token", nil }, writes(scopedToA(201))},
		{"PUT", v1 + "/users/{user_id}/password", func(e *env) (string, any) {
			return v1 + "/users/" + user(e).ID + "/password", map[string]any{"password": "next-pass-2"}
		}, writes(scopedToA(200))},
		{"DELETE", v1 + "/users/{user_id}/emails/{email}", func(e *env) (string, any) {
			u := user(e)
			return v1 + "/users/" + u.ID + "/emails/" + esc(u.Emails[1].Value), nil
		}, writes(scopedToA(204))},
		{"DELETE", v1 + "/users/{user_id}/phone-numbers/{phone_number}", func(e *env) (string, any) {
			u := user(e)
			return v1 + "/users/" + u.ID + "/phone-numbers/" + esc(u.PhoneNumbers[1].Value), nil
		}, writes(scopedToA(204))},
		{"POST", v1 + "/users/{user_id}/emails/{email}/verify", func(e *env) (string, any) {
			u := user(e)
			return v1 + "/users/" + u.ID + "/emails/" + esc(u.Emails[1].Value) + "/verify", map[string]any{"change_to_primary": true}
		}, writes(scopedToA(202))},
		{"POST", v1 + "/users/{user_id}/phone-numbers/{phone_number}/verify", func(e *env) (string, any) {
			u := user(e)
			return v1 + "/users/" + u.ID + "/phone-numbers/" + esc(u.PhoneNumbers[1].Value) + "/verify", map[string]any{"change_to_primary": false}
		}, writes(scopedToA(202))},
		// Deleting from the tenant is provisioning: tenant-wide scim tokens may.
		{"DELETE", v1 + "/manage/users/{user_id}", func(e *env) (string, any) { return v1 + "/manage/users/" + user(e).ID, nil }, writes(clientRoute(204, 403, 403, 204, 403))},

		// Groups: creating, changing and deleting them is tenant-wide
		// provisioning (admins and unbound scim tokens, as IdPs push groups).
		{"POST", v1 + "/groups", func(e *env) (string, any) { return v1 + "/groups", map[string]any{"name": uniq("g")} }, writes(clientRoute(201, 403, 403, 201, 403))},
		{"GET", v1 + "/groups", fixed(v1+"/groups", nil), everyone(200)},
		{"GET", v1 + "/groups/{group_id}", func(e *env) (string, any) { return v1 + "/groups/" + group(e), nil }, everyone(200)},
		{"PUT", v1 + "/groups/{group_id}", func(e *env) (string, any) { return v1 + "/groups/" + group(e), map[string]any{"description": "d"} }, writes(clientRoute(200, 403, 403, 200, 403))},
		{"DELETE", v1 + "/groups/{group_id}", func(e *env) (string, any) { return v1 + "/groups/" + group(e), nil }, writes(clientRoute(204, 403, 403, 204, 403))},
		{"POST", v1 + "/groups/{group_id}/members", func(e *env) (string, any) {
			return v1 + "/groups/" + group(e) + "/members", map[string]any{"user_ids": []string{user(e).ID}}
		}, writes(scopedToA(204))},
		{"GET", v1 + "/groups/{group_id}/members", func(e *env) (string, any) { return v1 + "/groups/" + group(e) + "/members", nil }, everyone(200)},
		{"DELETE", v1 + "/groups/{group_id}/members/{user_id}", func(e *env) (string, any) {
			g, u := group(e), user(e)
			if err := e.svc.AddMembers(ctx, directory.System, g, []string{u.ID}); err != nil {
				t.Fatal(err)
			}
			return v1 + "/groups/" + g + "/members/" + u.ID, nil
		}, writes(scopedToA(204))},

		{"POST", v1 + "/applications", func(e *env) (string, any) { return v1 + "/applications", map[string]any{"app_name": uniq("a")} }, adminOnly(201)},
		// Applications are admin territory; an application (or a token bound
		// to it) reads itself, and changes itself with the admin scope.
		{"GET", v1 + "/applications", fixed(v1+"/applications", nil), adminRoute(everyone(200))},
		{"GET", v1 + "/applications/list", fixed(v1+"/applications/list", nil), adminRoute(everyone(200))},
		{"GET", v1 + "/applications/{app_id}", func(e *env) (string, any) { return v1 + "/applications/" + e.appA.ID, nil }, adminRoute404(scopedToA(200))},
		{"PUT", v1 + "/applications/{app_id}", func(e *env) (string, any) {
			return v1 + "/applications/" + e.appA.ID, map[string]any{"app_description": "d"}
		}, adminRoute(clientRoute(200, 200, 403, 200, 403))},
		{"DELETE", v1 + "/applications/{app_id}", func(e *env) (string, any) { return v1 + "/applications/" + app(schemas.AppRegular), nil }, adminOnly(204)},
		{"POST", v1 + "/applications/{app_id}/client-secret", func(e *env) (string, any) {
			return v1 + "/applications/" + app(schemas.AppRegular) + "/client-secret", nil
		}, adminOnly(200)},

		{"POST", v1 + "/management/applications", func(e *env) (string, any) {
			return v1 + "/management/applications", map[string]any{"app_name": uniq("m")}
		}, adminOnly(201)},
		{"GET", v1 + "/management/applications", fixed(v1+"/management/applications", nil), adminRoute(everyone(200))},
		{"GET", v1 + "/management/applications/{app_id}", func(e *env) (string, any) {
			return v1 + "/management/applications/" + app(schemas.AppManagement), nil
		}, adminRoute404(clientRoute(200, 404, 404, 200, 404))},
		{"PUT", v1 + "/management/applications/{app_id}", func(e *env) (string, any) {
			return v1 + "/management/applications/" + app(schemas.AppManagement), map[string]any{"app_description": "d"}
		}, adminOnly(200)},
		{"DELETE", v1 + "/management/applications/{app_id}", func(e *env) (string, any) {
			return v1 + "/management/applications/" + app(schemas.AppManagement), nil
		}, adminOnly(204)},
		{"POST", v1 + "/management/applications/{app_id}/client-secret", func(e *env) (string, any) {
			return v1 + "/management/applications/" + app(schemas.AppManagement) + "/client-secret", nil
		}, adminOnly(200)},

		{"POST", v1 + "/manage/api-tokens", fixed(v1+"/manage/api-tokens", map[string]any{"description": "d"}), adminOnly(201)},
		{"GET", v1 + "/manage/api-tokens", fixed(v1+"/manage/api-tokens", nil), adminOnly(200)},
		{"DELETE", v1 + "/manage/api-tokens/{token_id}", func(e *env) (string, any) {
			tk, _, err := e.svc.CreateAPIToken(ctx, directory.System, "d", "", nil, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			return v1 + "/manage/api-tokens/" + tk.ID, nil
		}, adminOnly(204)},
		{"GET", v1 + "/manage/audit-events", fixed(v1+"/manage/audit-events", nil), adminOnly(200)},
	}

	// Every registered route is in the matrix.
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.method+" "+c.route] = true
	}
	for _, rt := range New(e.svc, Options{}).routes() {
		if !covered[rt.method+" "+rt.path] {
			t.Errorf("route %s %s is missing from the permission matrix", rt.method, rt.path)
		}
	}

	// Every response of every cell is also checked against the OpenAPI document.
	api := newAPIValidator(t, e)
	for _, c := range cases {
		for _, who := range principals {
			t.Run(fmt.Sprintf("%s %s as %s", c.method, c.route, who), func(t *testing.T) {
				path, body := c.setup(e)
				var r response
				if c.route == "/oidc/token" {
					form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.appA.ClientID}, "client_secret": {e.secA}}
					r = e.call(c.method, path, "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
				} else {
					r = e.call(c.method, path, e.tokenOf(who), body)
				}
				api.check(t, c.method, path, r)
				want := c.want[who]
				if r.status != want {
					t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
				}
				if want >= 400 {
					r.wantError(t, want)
				}
				if want == 401 && !strings.HasPrefix(c.route, "/cis/v1/auth/") && r.header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
			})
		}
	}
}
