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

// matrixCase is the row of one route of the route table (routes), keyed by
// "METHOD template": setup creates what the request needs (fresh for every
// principal, so that cells do not interfere) and returns the values of the
// route's {parameters} in order, a query ("" for none) and the body.
type matrixCase struct {
	setup func(e *env) (params []string, query string, body any)
	want  map[string]int
}

// send is the setup of a route that needs nothing created.
func send(body any) func(*env) ([]string, string, any) {
	return func(*env) ([]string, string, any) { return nil, "", body }
}

// sendFresh is send with a body made anew for every cell.
func sendFresh(body func() any) func(*env) ([]string, string, any) {
	return func(*env) ([]string, string, any) { return nil, "", body() }
}

// fill puts the escaped params into the {parameters} of a route template.
func fill(t *testing.T, template string, params []string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(template, '{')
		if open < 0 {
			break
		}
		if len(params) == 0 {
			t.Fatalf("%s: too few parameters", template)
		}
		end := strings.IndexByte(template, '}')
		b.WriteString(template[:open] + url.PathEscape(params[0]))
		template, params = template[end+1:], params[1:]
	}
	if len(params) > 0 {
		t.Fatalf("%s: %d parameters too many", template, len(params))
	}
	return b.String() + template
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
	// setups of the routes whose parameters are one fresh user, group or
	// application, or app A, with the body given.
	aUser := func(body any) func(*env) ([]string, string, any) {
		return func(e *env) ([]string, string, any) { return []string{user(e).ID}, "", body }
	}
	aGroup := func(body any) func(*env) ([]string, string, any) {
		return func(e *env) ([]string, string, any) { return []string{group(e)}, "", body }
	}
	anApp := func(kind string, body any) func(*env) ([]string, string, any) {
		return func(e *env) ([]string, string, any) { return []string{app(kind)}, "", body }
	}
	appA := func(body any) func(*env) ([]string, string, any) {
		return func(e *env) ([]string, string, any) { return []string{e.appA.ID}, "", body }
	}
	const v1 = "/cis/v1"
	cases := map[string]matrixCase{
		"POST /oidc/token":                              {send(nil), anyone(200)},
		"GET /oidc/jwks":                                {send(nil), anyone(200)},
		"GET /.well-known/openid-configuration":         {send(nil), anyone(200)},
		"GET /cis/openapi.json":                         {send(nil), anyone(200)},
		"POST " + v1 + "/auth/password/login":           {send(map[string]any{"client_id": "x", "username": "y", "password": "z"}), anyone(401)},
		"POST " + v1 + "/auth/password/replace":         {send(map[string]any{"client_id": "x", "username": "y", "password": "z", "new_password": "long-enough-1"}), anyone(401)},
		"POST " + v1 + "/users/me/password-credentials": {send(map[string]any{"password": "whatever-pass"}), endUserRoute(403)},
		"GET " + v1 + "/users/me/device-keys":           {send(nil), endUserRoute(200)},

		"GET " + v1 + "/users/count":                               {send(nil), everyone(200)},
		"POST " + v1 + "/users/bulk":                               {sendFresh(func() any { return []any{map[string]any{"email": uniq("bulk") + "@example.org"}} }), writes(everyone(201))},
		"GET " + v1 + "/users/email/{email}":                       {func(e *env) ([]string, string, any) { return []string{user(e).Emails[0].Value}, "", nil }, scopedToA(200)},
		"GET " + v1 + "/users/external-user-id/{external_user_id}": {func(e *env) ([]string, string, any) { return []string{user(e).ExternalID}, "", nil }, scopedToA(200)},
		"GET " + v1 + "/users/username/{username}":                 {func(e *env) ([]string, string, any) { return []string{user(e).UserName}, "", nil }, scopedToA(200)},
		"GET " + v1 + "/users/phone-number/{phone_number}": {func(e *env) ([]string, string, any) {
			return []string{user(e).PhoneNumbers[0].Value}, "", nil
		}, scopedToA(200)},
		"GET " + v1 + "/users/identifier": {func(e *env) ([]string, string, any) {
			return nil, "identifier_name=username&identifier_value=" + url.QueryEscape(user(e).UserName), nil
		}, scopedToA(200)},
		"GET " + v1 + "/users/phone/{phone_number}": {func(e *env) ([]string, string, any) { return []string{user(e).PhoneNumbers[0].Value}, "", nil }, scopedToA(200)},
		"POST " + v1 + "/users":                     {sendFresh(func() any { return map[string]any{"email": uniq("new") + "@example.org"} }), writes(everyone(201))},
		"GET " + v1 + "/users":                      {send(nil), everyone(200)},
		"GET " + v1 + "/users/{user_id}":            {aUser(nil), scopedToA(200)},
		"PUT " + v1 + "/users/{user_id}":            {aUser(map[string]any{"custom_data": map[string]any{"k": 1}}), writes(scopedToA(200))},
		"GET " + v1 + "/users/{user_id}/groups":     {aUser(nil), scopedToA(200)},
		// An admin token has no calling application to remove the user from.
		"DELETE " + v1 + "/users/{user_id}/apps": {aUser(nil), clientRoute(403, 204, 404, 403, 204)},
		"GET " + v1 + "/users/{user_id}/apps":    {aUser(nil), scopedToA(200)},
		// Removal from a named app: administrators, or the application itself.
		"DELETE " + v1 + "/users/{user_id}/apps/{app_id}": {func(e *env) ([]string, string, any) {
			return []string{user(e).ID, e.appA.ID}, "", nil
		}, adminRoute(clientRoute(204, 204, 403, 204, 204))},
		"PUT " + v1 + "/users/{user_id}/apps/{app_id}": {func(e *env) ([]string, string, any) {
			return []string{user(e).ID, e.appB.ID}, "", nil
		}, adminOnly(204)},
		"POST " + v1 + "/users/{user_id}/password":        {aUser(map[string]any{"password": "first-pass-1"}), writes(scopedToA(201))},
		"POST " + v1 + "/users/{user_id}/enrolment-token": {aUser(nil), writes(scopedToA(201))},
		"PUT " + v1 + "/users/{user_id}/password":         {aUser(map[string]any{"password": "next-pass-2"}), writes(scopedToA(200))},
		"DELETE " + v1 + "/users/{user_id}/emails/{email}": {func(e *env) ([]string, string, any) {
			u := user(e)
			return []string{u.ID, u.Emails[1].Value}, "", nil
		}, writes(scopedToA(204))},
		"DELETE " + v1 + "/users/{user_id}/phone-numbers/{phone_number}": {func(e *env) ([]string, string, any) {
			u := user(e)
			return []string{u.ID, u.PhoneNumbers[1].Value}, "", nil
		}, writes(scopedToA(204))},
		"POST " + v1 + "/users/{user_id}/emails/{email}/verify": {func(e *env) ([]string, string, any) {
			u := user(e)
			return []string{u.ID, u.Emails[1].Value}, "", map[string]any{"change_to_primary": true}
		}, writes(scopedToA(202))},
		"POST " + v1 + "/users/{user_id}/phone-numbers/{phone_number}/verify": {func(e *env) ([]string, string, any) {
			u := user(e)
			return []string{u.ID, u.PhoneNumbers[1].Value}, "", map[string]any{"change_to_primary": false}
		}, writes(scopedToA(202))},
		// Deleting from the tenant is provisioning: tenant-wide scim tokens may.
		"DELETE " + v1 + "/manage/users/{user_id}": {aUser(nil), writes(clientRoute(204, 403, 403, 204, 403))},

		// Groups: creating, changing and deleting them is tenant-wide
		// provisioning (admins and unbound scim tokens, as IdPs push groups).
		"POST " + v1 + "/groups":              {sendFresh(func() any { return map[string]any{"name": uniq("g")} }), writes(clientRoute(201, 403, 403, 201, 403))},
		"GET " + v1 + "/groups":               {send(nil), everyone(200)},
		"GET " + v1 + "/groups/{group_id}":    {aGroup(nil), everyone(200)},
		"PUT " + v1 + "/groups/{group_id}":    {aGroup(map[string]any{"description": "d"}), writes(clientRoute(200, 403, 403, 200, 403))},
		"DELETE " + v1 + "/groups/{group_id}": {aGroup(nil), writes(clientRoute(204, 403, 403, 204, 403))},
		"POST " + v1 + "/groups/{group_id}/members": {func(e *env) ([]string, string, any) {
			return []string{group(e)}, "", map[string]any{"user_ids": []string{user(e).ID}}
		}, writes(scopedToA(204))},
		"GET " + v1 + "/groups/{group_id}/members": {aGroup(nil), everyone(200)},
		"DELETE " + v1 + "/groups/{group_id}/members/{user_id}": {func(e *env) ([]string, string, any) {
			g, u := group(e), user(e)
			if err := e.svc.AddMembers(ctx, directory.System, g, []string{u.ID}); err != nil {
				t.Fatal(err)
			}
			return []string{g, u.ID}, "", nil
		}, writes(scopedToA(204))},

		"POST " + v1 + "/applications": {sendFresh(func() any { return map[string]any{"app_name": uniq("a")} }), adminOnly(201)},
		// Applications are admin territory; an application (or a token bound
		// to it) reads itself, and changes itself with the admin scope.
		"GET " + v1 + "/applications":                         {send(nil), adminRoute(everyone(200))},
		"GET " + v1 + "/applications/list":                    {send(nil), adminRoute(everyone(200))},
		"GET " + v1 + "/applications/{app_id}":                {appA(nil), adminRoute404(scopedToA(200))},
		"PUT " + v1 + "/applications/{app_id}":                {appA(map[string]any{"app_description": "d"}), adminRoute(clientRoute(200, 200, 403, 200, 403))},
		"DELETE " + v1 + "/applications/{app_id}":             {anApp(schemas.AppRegular, nil), adminOnly(204)},
		"POST " + v1 + "/applications/{app_id}/client-secret": {anApp(schemas.AppRegular, nil), adminOnly(200)},

		"POST " + v1 + "/management/applications":                        {sendFresh(func() any { return map[string]any{"app_name": uniq("m")} }), adminOnly(201)},
		"GET " + v1 + "/management/applications":                         {send(nil), adminRoute(everyone(200))},
		"GET " + v1 + "/management/applications/{app_id}":                {anApp(schemas.AppManagement, nil), adminRoute404(clientRoute(200, 404, 404, 200, 404))},
		"PUT " + v1 + "/management/applications/{app_id}":                {anApp(schemas.AppManagement, map[string]any{"app_description": "d"}), adminOnly(200)},
		"DELETE " + v1 + "/management/applications/{app_id}":             {anApp(schemas.AppManagement, nil), adminOnly(204)},
		"POST " + v1 + "/management/applications/{app_id}/client-secret": {anApp(schemas.AppManagement, nil), adminOnly(200)},

		"POST " + v1 + "/manage/api-tokens": {send(map[string]any{"description": "d"}), adminOnly(201)},
		"GET " + v1 + "/manage/api-tokens":  {send(nil), adminOnly(200)},
		"DELETE " + v1 + "/manage/api-tokens/{token_id}": {func(e *env) ([]string, string, any) {
			tk, _, err := e.svc.CreateAPIToken(ctx, directory.System, "d", "", nil, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			return []string{tk.ID}, "", nil
		}, adminOnly(204)},
		"GET " + v1 + "/manage/audit-events": {send(nil), adminOnly(200)},
	}

	// The rows are the route table's: a route without a row, or a row
	// without a route, is an error.
	routes := New(e.svc, Options{}).routes()
	rows := map[string]bool{}
	for _, rt := range routes {
		if _, ok := cases[rt.method+" "+rt.path]; !ok {
			t.Errorf("route %s %s is missing from the permission matrix", rt.method, rt.path)
		}
		rows[rt.method+" "+rt.path] = true
	}
	for k := range cases {
		if !rows[k] {
			t.Errorf("the permission matrix has a row for %s, which is not a route", k)
		}
	}

	// Every response of every cell is also checked against the OpenAPI document.
	api := newAPIValidator(t, e)
	for _, rt := range routes {
		c, ok := cases[rt.method+" "+rt.path]
		if !ok {
			continue
		}
		for _, who := range principals {
			t.Run(fmt.Sprintf("%s %s as %s", rt.method, rt.path, who), func(t *testing.T) {
				params, query, body := c.setup(e)
				path := fill(t, rt.path, params)
				if query != "" {
					path += "?" + query
				}
				var r response
				if rt.path == "/oidc/token" {
					form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.appA.ClientID}, "client_secret": {e.secA}}
					r = e.call(rt.method, path, "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
				} else {
					r = e.call(rt.method, path, e.tokenOf(who), body)
				}
				api.check(t, rt.method, path, r)
				want := c.want[who]
				if r.status != want {
					t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
				}
				if want >= 400 {
					r.wantError(t, want)
				}
				if want == 401 && !strings.HasPrefix(rt.path, "/cis/v1/auth/") && r.header.Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
			})
		}
	}
}
