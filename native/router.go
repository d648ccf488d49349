package native

import (
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
)

// access says which callers a route admits, before the directory decides.
type access int

const (
	// public routes take no bearer token (token endpoint, JWKS, login, documents).
	public access = iota
	// client routes take a client access token (regular or management app) or
	// an API token; user access tokens are refused with 403.
	client
	// endUser routes (/cis/v1/users/me/...) take only a user access token.
	endUser
	// enrolment routes are endUser routes that also take an enrolment token
	// (only POST /cis/v1/users/me/password-credentials).
	enrolment
)

// handlerFunc serves one route for an authenticated principal (the zero
// Principal on public routes). A returned error is written as the native error body.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p directory.Principal) error

// route is one operation of the native API.
type route struct {
	method string
	path   string // gorilla/mux template
	name   string // the operationId in the OpenAPI document
	access access
	h      handlerFunc
}

// routes lists every operation. Static paths come before parameterised ones
// that would also match them.
func (h *Handler) routes() []route {
	const v1 = "/cis/v1"
	return []route{
		// Tokens and discovery.
		{"POST", "/oidc/token", "getAccessToken", public, h.token},
		{"GET", "/oidc/jwks", "getJwks", public, h.jwks},
		{"GET", "/.well-known/openid-configuration", "getOpenIDConfiguration", public, h.openIDConfiguration},
		{"GET", "/cis/openapi.json", "getOpenAPIDocument", public, h.openAPI},

		// End-user password login (scimd addition).
		{"POST", v1 + "/auth/password/login", "passwordLogin", public, h.passwordLogin},
		{"POST", v1 + "/auth/password/replace", "replaceTemporaryPassword", public, h.replacePassword},

		// The current user.
		{"POST", v1 + "/users/me/password-credentials", "addPasswordCredentialsToCurrentUser", enrolment, h.addOwnPassword},
		{"GET", v1 + "/users/me/device-keys", "getDeviceKeysForTenant", endUser, h.ownDeviceKeys},

		// Users.
		{"GET", v1 + "/users/count", "getUsersCount", client, h.countUsers},
		{"POST", v1 + "/users/bulk", "bulkCreateUser", client, h.bulkCreateUsers},
		{"GET", v1 + "/users/email/{email}", "getUserByEmail", client, h.findUser("email")},
		{"GET", v1 + "/users/external-user-id/{external_user_id}", "getUserByExternalUserId", client, h.findUser("external_user_id")},
		{"GET", v1 + "/users/username/{username}", "getUserByUsername", client, h.findUser("username")},
		{"GET", v1 + "/users/phone-number/{phone_number}", "getUserByPhone", client, h.findUser("phone_number")},
		{"GET", v1 + "/users/phone/{phone_number}", "deprecatedGetUserByPhone", client, h.findUser("phone_number")},
		{"GET", v1 + "/users/identifier", "getUserByIdentifier", client, h.userByIdentifier},
		{"POST", v1 + "/users", "createUser", client, h.createUser},
		{"GET", v1 + "/users", "getUsers", client, h.listUsers},
		{"GET", v1 + "/users/{user_id}", "getUserById", client, h.getUser},
		{"PUT", v1 + "/users/{user_id}", "updateUser", client, h.updateUser},
		{"GET", v1 + "/users/{user_id}/groups", "getUserGroups", client, h.userGroups},
		{"DELETE", v1 + "/users/{user_id}/apps", "removeUserFromApp", client, h.removeUserFromApp},
		{"GET", v1 + "/users/{user_id}/apps", "getUserApps", client, h.userApps},
		{"PUT", v1 + "/users/{user_id}/apps/{app_id}", "assignUserToApp", client, h.assignUserToApp},
		{"DELETE", v1 + "/users/{user_id}/apps/{app_id}", "removeUserFromNamedApp", client, h.unassignUserFromApp},
		{"POST", v1 + "/users/{user_id}/password", "addPasswordCredential", client, h.addPassword},
		{"POST", v1 + "/users/{user_id}/enrolment-token", "issueEnrolmentToken", client, h.issueEnrolmentToken},
		{"PUT", v1 + "/users/{user_id}/password", "updatePasswordCredential", client, h.updatePassword},
		{"DELETE", v1 + "/users/{user_id}/emails/{email}", "removeUserSecondaryEmail", client, h.removeSecondaryEmail},
		{"DELETE", v1 + "/users/{user_id}/phone-numbers/{phone_number}", "removeUserSecondaryPhoneNumber", client, h.removeSecondaryPhone},
		{"POST", v1 + "/users/{user_id}/emails/{email}/verify", "verifyUserEmail", client, h.verifyEmail},
		{"POST", v1 + "/users/{user_id}/phone-numbers/{phone_number}/verify", "verifyUserPhoneNumber", client, h.verifyPhone},
		{"DELETE", v1 + "/manage/users/{user_id}", "deleteTenantUser", client, h.deleteUser},

		// Groups.
		{"POST", v1 + "/groups", "createGroup", client, h.createGroup},
		{"GET", v1 + "/groups", "getAllGroups", client, h.listGroups},
		{"GET", v1 + "/groups/{group_id}", "getGroupByID", client, h.getGroup},
		{"PUT", v1 + "/groups/{group_id}", "updateGroup", client, h.updateGroup},
		{"DELETE", v1 + "/groups/{group_id}", "deleteGroup", client, h.deleteGroup},
		{"POST", v1 + "/groups/{group_id}/members", "assignUsers", client, h.addMembers},
		{"GET", v1 + "/groups/{group_id}/members", "getGroupUsers", client, h.groupMembers},
		{"DELETE", v1 + "/groups/{group_id}/members/{user_id}", "removeAssignment", client, h.removeMember},

		// Applications.
		{"POST", v1 + "/applications", "createApp", client, h.createApp(regular)},
		{"GET", v1 + "/applications", "getAllApps", client, h.listApps(regular)},
		{"GET", v1 + "/applications/list", "getAppsList", client, h.appsList},
		{"GET", v1 + "/applications/{app_id}", "getAppById", client, h.getApp(regular)},
		{"PUT", v1 + "/applications/{app_id}", "updateApp", client, h.updateApp(regular)},
		{"DELETE", v1 + "/applications/{app_id}", "deleteApp", client, h.deleteApp(regular)},
		{"POST", v1 + "/applications/{app_id}/client-secret", "rotateAppClientSecret", client, h.rotateSecret(regular)},

		// Management applications.
		{"POST", v1 + "/management/applications", "createManagementApplication", client, h.createApp(management)},
		{"GET", v1 + "/management/applications", "getAllManagementApplications", client, h.listApps(management)},
		{"GET", v1 + "/management/applications/{app_id}", "getManagementApplicationById", client, h.getApp(management)},
		{"PUT", v1 + "/management/applications/{app_id}", "updateManagementApplication", client, h.updateApp(management)},
		{"DELETE", v1 + "/management/applications/{app_id}", "deleteManagementApplication", client, h.deleteApp(management)},
		{"POST", v1 + "/management/applications/{app_id}/client-secret", "rotateManagementAppClientSecret", client, h.rotateSecret(management)},

		// API tokens and audit (scimd additions).
		{"POST", v1 + "/manage/api-tokens", "createApiToken", client, h.createAPIToken},
		{"GET", v1 + "/manage/api-tokens", "getApiTokens", client, h.listAPITokens},
		{"DELETE", v1 + "/manage/api-tokens/{token_id}", "deleteApiToken", client, h.deleteAPIToken},
		{"GET", v1 + "/manage/audit-events", "getAuditEvents", client, h.listAuditEvents},
	}
}

// outOfScope lists the parts of Transmit's platform that scimd, the user
// directory and provisioning side of it, does not serve: a request there
// (any method) answers 501 with what the path is and what scimd offers
// instead, never a misleading 404 "user not found". exact paths are matched
// before the routes (they would otherwise be read as /users/{user_id}); the
// others are path prefixes (or templates) tried after them.
var outOfScope = []struct {
	path  string
	exact bool
	what  string
}{
	{"/cis/v1/users/me", true, "the current user's profile is served by SCIM at /scim/v2/Me (with a user access token); under /cis/v1/users/me/ scimd serves only password-credentials and device-keys"},
	{"/oidc/", false, "OpenID Connect flows (authorize, PKCE, ID tokens, userinfo, logout) are outside scimd's scope: it issues client-credentials tokens at /oidc/token only"},
	{"/cis/v1/auth/", false, "authentication flows (one-time codes, magic links, WebAuthn and passkeys, social login and account linking, MFA, self sign-up) are outside scimd's scope: it offers password login at /cis/v1/auth/password/login only"},
	{"/cis/v1/users/me/", false, "under /cis/v1/users/me/ scimd serves only password-credentials and device-keys"},
	{"/cis/v1/users/{user_id}/sessions", false, "the sessions API is outside scimd's scope"},
	{"/cis/v1/sessions", false, "the sessions API is outside scimd's scope"},
	{"/cis/v1/organizations", false, "organizations and multi-tenancy (B2B) are outside scimd's scope: scimd serves one tenant"},
	{"/cis/v1/tenants", false, "multi-tenancy is outside scimd's scope: scimd serves one tenant"},
	{"/cis/v1/roles", false, "roles and permissions (RBAC) are outside scimd's scope"},
	{"/cis/v1/clients", false, "OIDC/SAML clients are not modelled: each application has exactly one client (client_id in the application)"},
	{"/cis/v1/applications/{app_id}/clients", false, "OIDC/SAML clients are not modelled: each application has exactly one client (client_id in the application)"},
	{"/activities/", false, "Transmit's event streaming is not served: read scimd's audit log at GET /cis/v1/manage/audit-events"},
}

// newRouter builds the gorilla/mux router of the native API.
func (h *Handler) newRouter() *mux.Router {
	r := mux.NewRouter()
	notServed := func(path, what string, exact bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			httpx.SetRoute(req, path)
			// A real route under an out-of-scope prefix called with the wrong method.
			if methods := allowedMethods(r, req); len(methods) > 0 && !exact {
				w.Header().Set("Allow", strings.Join(methods, ", "))
				h.writeError(w, req, &httpError{status: http.StatusMethodNotAllowed, msg: req.Method + " is not allowed on " + req.URL.Path}, nil)
				return
			}
			h.writeError(w, req, &httpError{status: http.StatusNotImplemented, msg: req.URL.Path + ": " + what}, nil)
		})
	}
	for _, o := range outOfScope {
		if o.exact {
			r.Handle(o.path, notServed(o.path, o.what, true))
		}
	}
	for _, rt := range h.routes() {
		r.Handle(rt.path, h.wrap(rt)).Methods(rt.method).Name(rt.name)
	}
	for _, o := range outOfScope {
		if !o.exact {
			r.PathPrefix(o.path).Handler(notServed(o.path, o.what, false))
		}
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.writeError(w, req, &httpError{status: http.StatusNotFound, msg: "no such endpoint: " + req.URL.Path}, nil)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowedMethods(r, req), ", "))
		h.writeError(w, req, &httpError{status: http.StatusMethodNotAllowed, msg: req.Method + " is not allowed on " + req.URL.Path}, nil)
	})
	return r
}

// allowedMethods lists the methods of the routes whose path matches req.
func allowedMethods(r *mux.Router, req *http.Request) []string {
	var methods []string
	_ = r.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		re, err := rt.GetPathRegexp()
		if err != nil {
			return nil
		}
		if ok, _ := regexp.MatchString(re, req.URL.Path); ok {
			ms, _ := rt.GetMethods()
			methods = append(methods, ms...)
		}
		return nil
	})
	slices.Sort(methods)
	return slices.Compact(methods)
}

// wrap authenticates the caller as the route demands, records the request's
// address and user agent on the principal (for audit), runs the route and
// writes its error, if any. A panic is logged and answered with a generic 500.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.SetRoute(r, rt.path)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.writeError(w, r, fmt.Errorf("native API handler panicked: %v\n%s", v, debug.Stack()), nil)
			}
		}()
		var p directory.Principal
		if rt.access == public {
			httpx.LimitUnauthenticated(w, r)
		} else {
			var err error
			p, err = h.svc.Authenticate(r.Context(), httpx.BearerToken(r))
			if err != nil {
				h.writeError(w, r, err, nil)
				return
			}
			httpx.SetPrincipal(r, p.ActorType+":"+p.ActorID)
			switch {
			case rt.access == client && p.UserID != "":
				h.writeError(w, r, &httpError{status: http.StatusForbidden, msg: "a user access token reaches only /cis/v1/users/me/..."}, nil)
				return
			case p.Enrolment != "" && rt.access != enrolment:
				h.writeError(w, r, &httpError{status: http.StatusForbidden, msg: "an enrolment token reaches only POST /cis/v1/users/me/password-credentials"}, nil)
				return
			case (rt.access == endUser || rt.access == enrolment) && p.UserID == "" && p.Enrolment == "":
				h.writeError(w, r, &httpError{status: http.StatusForbidden, msg: "this endpoint needs a user access token"}, nil)
				return
			}
		}
		p.IP, p.UserAgent = httpx.ClientIP(r), r.UserAgent()
		if err := rt.h(w, r, p); err != nil {
			h.writeError(w, r, err, nil)
		}
	})
}
