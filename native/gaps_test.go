package native

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

// TestUserByIdentifier: GET /cis/v1/users/identifier looks a user up by the
// identifier named, and by nothing else.
func TestUserByIdentifier(t *testing.T) {
	e := newEnv(t)
	u := e.seedUser(e.pA, uniq("ident"), true)
	other := e.seedUser(e.pA, uniq("ident"), false)
	get := func(tok, name, value string) response {
		return e.call("GET", "/cis/v1/users/identifier?"+url.Values{"identifier_name": {name}, "identifier_value": {value}}.Encode(), tok, nil)
	}
	for name, value := range map[string]string{
		"email": u.Emails[0].Value, "phone_number": u.PhoneNumbers[0].Value, "username": u.UserName,
		"external_user_id": u.ExternalID, "user_id": u.ID,
	} {
		if got := get(e.tokA, name, value).want(t, http.StatusOK).result(); got["user_id"] != u.ID {
			t.Errorf("%s=%s: %v", name, value, got)
		}
	}
	// Only the field named: the username is not an email, a secondary email
	// is not the primary, another user's external id is not this user's.
	get(e.tokA, "email", u.UserName).wantError(t, http.StatusNotFound)
	get(e.tokA, "email", u.Emails[1].Value).wantError(t, http.StatusNotFound)
	get(e.tokA, "username", u.Emails[0].Value).wantError(t, http.StatusNotFound)
	if got := get(e.admin, "external_user_id", other.ExternalID).want(t, 200).result(); got["user_id"] != other.ID {
		t.Errorf("admin lookup: %v", got)
	}
	// Another application's token does not see the user.
	get(e.tokB, "user_id", u.ID).wantError(t, http.StatusNotFound)
	get(e.tokB, "email", u.Emails[0].Value).wantError(t, http.StatusNotFound)
	// Bad requests.
	get(e.tokA, "nickname", "x").wantError(t, http.StatusBadRequest)
	get(e.tokA, "email", "").wantError(t, http.StatusBadRequest)
	e.call("GET", "/cis/v1/users/identifier", e.tokA, nil).wantError(t, http.StatusBadRequest)
}

// TestNativeCreateNeedsEmailOrPhone: Transmit's rule for createUser (and
// each bulk element); SCIM keeps userName as its requirement.
func TestNativeCreateNeedsEmailOrPhone(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"username": uniq("lonely")}).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"name": map[string]any{"first_name": "No"}}).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"secondary_emails": []string{uniq("s") + "@example.org"}}).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": uniq("e") + "@example.org"}).want(t, http.StatusCreated)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"phone_number": "+15550001111"}).want(t, http.StatusCreated)
	r := e.call("POST", "/cis/v1/users/bulk", e.tokA, []any{map[string]any{"username": uniq("bulk")}, map[string]any{"email": uniq("b") + "@example.org"}}).want(t, http.StatusCreated)
	if res := r.result(); res["failed_count"] != float64(1) || res["created_count"] != float64(1) {
		t.Fatalf("bulk: %s", r.raw)
	}
	if n := e.call("GET", "/cis/v1/users/count?search="+url.QueryEscape(`username pr and email pr`), e.admin, nil).want(t, 200).result()["user_count"]; n == nil {
		t.Fatal("count")
	}
}

// TestAppAssignment: an administrator names applications at creation, lists
// a user's applications, removes the user from a named application (which
// ends the user's access through it), and sees app_ids in the user object.
func TestAppAssignment(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	email := uniq("assigned") + "@example.org"
	r := e.call("POST", "/cis/v1/users", e.admin, map[string]any{"email": email, "app_ids": []string{e.appA.ID, e.appB.ID}}).want(t, http.StatusCreated)
	u := r.result()
	id, _ := u["user_id"].(string)
	if ids, _ := u["app_ids"].([]any); len(ids) != 2 {
		t.Fatalf("admin view without both apps: %s", r.raw)
	}
	// Both applications see the user; an application's view has no app_ids.
	for _, tok := range []string{e.tokA, e.tokB} {
		if got := e.call("GET", "/cis/v1/users/"+id, tok, nil).want(t, 200).result(); got["app_ids"] != nil || got["user_id"] != id {
			t.Fatalf("app view: %v", got)
		}
	}
	// The admin lists the user's applications; an application sees only itself.
	apps := e.call("GET", "/cis/v1/users/"+id+"/apps", e.admin, nil).want(t, 200).list()
	if len(apps) != 2 || apps[0]["app_name"] == nil || apps[0]["assigned_at"] == nil {
		t.Fatalf("admin list: %v", apps)
	}
	if mine := e.call("GET", "/cis/v1/users/"+id+"/apps", e.tokA, nil).want(t, 200).list(); len(mine) != 1 || mine[0]["app_id"] != e.appA.ID {
		t.Fatalf("app A's list: %v", mine)
	}

	// Only administrators name applications at creation.
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": uniq("x") + "@example.org", "app_ids": []string{e.appB.ID}}).wantError(t, http.StatusForbidden)
	e.call("POST", "/cis/v1/users", e.apiSCIM, map[string]any{"email": uniq("x") + "@example.org", "app_ids": []string{e.appA.ID}}).wantError(t, http.StatusForbidden)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": uniq("x") + "@example.org", "app_ids": []string{e.appA.ID}}).want(t, http.StatusCreated)
	e.call("POST", "/cis/v1/users", e.admin, map[string]any{"email": uniq("x") + "@example.org", "app_ids": []string{"no-such-app"}}).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.admin, map[string]any{"email": uniq("x") + "@example.org", "app_ids": []string{e.mgmt.ID}}).wantError(t, http.StatusBadRequest)
	e.call("PUT", "/cis/v1/users/"+id, e.admin, map[string]any{"app_ids": []string{e.appA.ID}}).wantError(t, http.StatusBadRequest)

	// The user logs in to app A; the admin removes them from A: A no longer
	// sees them, their token for A dies, B keeps them.
	if err := e.svc.SetPassword(ctx, directory.System, id, directory.PasswordInput{Password: "assigned-pass-1"}, true); err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.svc.PasswordLogin(ctx, directory.Client{}, e.appA.ClientID, directory.Email(email), "assigned-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	e.call("GET", "/cis/v1/users/me/device-keys", tok.Token, nil).want(t, 200)
	e.call("DELETE", "/cis/v1/users/"+id+"/apps/"+e.appA.ID, e.tokB, nil).wantError(t, http.StatusForbidden)
	e.call("DELETE", "/cis/v1/users/"+id+"/apps/"+e.appA.ID, e.admin, nil).want(t, http.StatusNoContent)
	e.call("GET", "/cis/v1/users/"+id, e.tokA, nil).wantError(t, http.StatusNotFound)
	e.call("GET", "/cis/v1/users/me/device-keys", tok.Token, nil).wantError(t, http.StatusUnauthorized)
	e.call("GET", "/cis/v1/users/"+id, e.tokB, nil).want(t, 200)
	e.call("DELETE", "/cis/v1/users/"+id+"/apps/"+e.appA.ID, e.admin, nil).wantError(t, http.StatusNotFound)
	if got := e.call("GET", "/cis/v1/users/"+id, e.admin, nil).want(t, 200).result(); len(got["app_ids"].([]any)) != 1 {
		t.Fatalf("after removal: %v", got)
	}
	// An admin-created user without apps shows an empty app_ids.
	if got := e.call("POST", "/cis/v1/users", e.admin, map[string]any{"email": uniq("none") + "@example.org"}).want(t, 201).result(); got["app_ids"] == nil {
		t.Fatal("admin view of an unassigned user has no app_ids")
	}
}

// TestGroupPaging: groups and group members page like users
// (page_offset/page_limit, total_count, page_info); an application counts and
// sees only its own users among members.
func TestGroupPaging(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var gids []string
	for range 5 {
		g, err := e.svc.CreateGroup(ctx, directory.System, &schemas.Group{DisplayName: uniq("page-grp")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		gids = append(gids, g.ID)
	}
	all := e.call("GET", "/cis/v1/groups", e.admin, nil).want(t, 200)
	total := int(all.body["total_count"].(float64))
	if total < 5 || len(all.list()) != total {
		t.Fatalf("all groups: %s", all.raw)
	}
	page := e.call("GET", "/cis/v1/groups?page_offset=1&page_limit=2", e.admin, nil).want(t, 200)
	info := page.body["page_info"].(map[string]any)
	if len(page.list()) != 2 || page.list()[0]["group_id"] != all.list()[1]["group_id"] ||
		info["has_next_page"] != true || info["has_previous_page"] != true || page.body["total_count"] != float64(total) {
		t.Fatalf("groups page: %s", page.raw)
	}
	if n := e.call("GET", "/cis/v1/groups?page_limit=0", e.tokA, nil).want(t, 200); len(n.list()) != 0 || n.body["total_count"] != float64(total) {
		t.Fatalf("page_limit=0: %s", n.raw)
	}
	e.call("GET", "/cis/v1/groups?page_limit=10001", e.admin, nil).wantError(t, http.StatusBadRequest)
	e.call("GET", "/cis/v1/groups?page_offset=-1", e.admin, nil).wantError(t, http.StatusBadRequest)

	// Members: 3 users of app A, 2 of app B.
	var aIDs []string
	for i := range 5 {
		p := e.pA
		if i >= 3 {
			p = e.pB
		}
		u := e.seedUser(p, uniq("member"), false)
		if i < 3 {
			aIDs = append(aIDs, u.ID)
		}
		if err := e.svc.AddMembers(ctx, directory.System, gids[0], []string{u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	path := "/cis/v1/groups/" + gids[0] + "/members"
	if r := e.call("GET", path, e.admin, nil).want(t, 200); r.body["total_count"] != float64(5) || len(r.list()) != 5 {
		t.Fatalf("admin members: %s", r.raw)
	}
	r := e.call("GET", path+"?page_offset=1&page_limit=1", e.tokA, nil).want(t, 200)
	if r.body["total_count"] != float64(3) || len(r.list()) != 1 || r.list()[0]["user_id"] != aIDs[1] {
		t.Fatalf("app A members page: %s", r.raw)
	}
	last := e.call("GET", path+"?page_offset=2&page_limit=1", e.tokA, nil).want(t, 200)
	if last.body["page_info"].(map[string]any)["has_next_page"] != false {
		t.Fatalf("last page: %s", last.raw)
	}
	e.call("GET", "/cis/v1/groups/nope/members", e.admin, nil).wantError(t, http.StatusNotFound)
	e.call("GET", path+"?page_limit=x", e.admin, nil).wantError(t, http.StatusBadRequest)
}

// TestOutOfScopePaths: Transmit paths scimd does not serve answer 501 saying
// so, never 404 "user not found"; real routes under the same prefixes still
// work, and a wrong method on them is still a 405.
func TestOutOfScopePaths(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/cis/v1/users/me", e.userTok},
		{"PUT", "/cis/v1/users/me", e.userTok},
		{"GET", "/cis/v1/users/me", e.admin},
		{"POST", "/cis/v1/users/me/webauthn/register", e.userTok},
		{"GET", "/oidc/auth?client_id=x&response_type=code", ""},
		{"GET", "/oidc/authorize", ""},
		{"GET", "/oidc/userinfo", e.userTok},
		{"POST", "/cis/v1/auth/otp/email/send", ""},
		{"POST", "/cis/v1/auth/webauthn/authenticate/start", ""},
		{"GET", "/cis/v1/sessions", e.admin},
		{"GET", "/cis/v1/users/" + e.userID + "/sessions", e.admin},
		{"POST", "/cis/v1/organizations", e.admin},
		{"GET", "/cis/v1/roles", e.admin},
		{"GET", "/cis/v1/applications/" + e.appA.ID + "/clients", e.admin},
		{"POST", "/activities/v1/activities/collect", e.admin},
	} {
		r := e.call(c.method, c.path, c.token, nil).wantError(t, http.StatusNotImplemented)
		if msg, _ := r.body["message"].(string); !strings.Contains(msg, "scimd") && !strings.Contains(msg, "not modelled") && !strings.Contains(msg, "sessions API") {
			t.Errorf("%s %s: message %q does not say what scimd is not", c.method, c.path, msg)
		}
	}
	// What scimd does serve under those prefixes keeps working.
	e.call("GET", "/cis/v1/users/me/device-keys", e.userTok, nil).want(t, 200)
	e.call("GET", "/oidc/jwks", "", nil).want(t, 200)
	e.call("GET", "/oidc/token", "", nil).wantError(t, http.StatusMethodNotAllowed)
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": "x", "username": "y", "password": "z"}).wantError(t, http.StatusUnauthorized)
	e.call("GET", "/cis/v1/users/"+e.userID, e.tokA, nil).want(t, 200)
	e.call("GET", "/cis/v1/nothing-here", e.admin, nil).wantError(t, http.StatusNotFound)
}

// TestEnterpriseAttributes: the work profile an IdP pushes is a read-write,
// searchable sub-object of the native user.
func TestEnterpriseAttributes(t *testing.T) {
	e := newEnv(t)
	ent := map[string]any{"employee_number": "701984", "cost_center": "4130", "organization": "Acme", "division": "Labs",
		"department": "R&D", "title": "Analyst", "manager": map[string]any{"id": "mgr-1"}}
	r := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": uniq("ent") + "@example.org", "enterprise": ent}).want(t, 201)
	id := r.result()["user_id"].(string)
	got := e.call("GET", "/cis/v1/users/"+id, e.admin, nil).want(t, 200).result()["enterprise"].(map[string]any)
	if got["department"] != "R&D" || got["employee_number"] != "701984" || got["title"] != "Analyst" || got["manager"].(map[string]any)["id"] != "mgr-1" {
		t.Fatalf("enterprise: %v", got)
	}
	for _, search := range []string{`enterprise.department eq "r&d"`, `enterprise.cost_center eq "4130" and enterprise.division sw "La"`,
		`enterprise.manager.id eq "mgr-1"`, `enterprise.title co "naly"`, `enterprise.employee_number pr`} {
		l := e.call("GET", "/cis/v1/users?search="+url.QueryEscape(search), e.tokA, nil).want(t, 200).list()
		if len(l) != 1 || l[0]["user_id"] != id {
			t.Errorf("search %s: %v", search, l)
		}
	}
	// Replaced whole, like name and address; a scalar manager is its id.
	upd := e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"enterprise": map[string]any{"department": "Sales", "manager": "mgr-2"}}).want(t, 200).result()
	if ent := upd["enterprise"].(map[string]any); ent["department"] != "Sales" || ent["title"] != nil || ent["manager"].(map[string]any)["id"] != "mgr-2" {
		t.Fatalf("after update: %v", ent)
	}
	if l := e.call("GET", "/cis/v1/users?search="+url.QueryEscape(`enterprise.department eq "R&D"`), e.tokA, nil).want(t, 200).list(); len(l) != 0 {
		t.Fatalf("old department still found: %v", l)
	}
	upd = e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"enterprise": nil}).want(t, 200).result()
	if upd["enterprise"] != nil {
		t.Fatalf("enterprise: null left %v", upd["enterprise"])
	}
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"enterprise": map[string]any{"salary": 1}}).wantError(t, 400)
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"enterprise": map[string]any{"manager": map[string]any{"display_name": "x"}}}).wantError(t, 400)
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"enterprise": "Sales"}).wantError(t, 400)
}

// TestEnrolmentToken: a user without a password can set one at
// POST /users/me/password-credentials with an enrolment token an
// administrator (or the user's application) issues; the token does nothing
// else, works once, and expires.
func TestEnrolmentToken(t *testing.T) {
	e := newEnv(t)
	email := uniq("enrol") + "@example.org"
	id := e.call("POST", "/cis/v1/users", e.admin, map[string]any{"email": email, "app_ids": []string{e.appA.ID}}).want(t, 201).result()["user_id"].(string)
	r := e.call("POST", "/cis/v1/users/"+id+"/enrolment-token", e.admin, nil).want(t, http.StatusCreated)
	res := r.result()
	tok, _ := res["access_token"].(string)
	if tok == "" || res["expires_in"] != float64(900) || res["scope"] != "password-enrolment" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("enrolment token: %s %v", r.raw, r.header)
	}
	// Nothing but the password enrolment.
	e.call("GET", "/cis/v1/users/me/device-keys", tok, nil).wantError(t, http.StatusForbidden)
	e.call("GET", "/cis/v1/users", tok, nil).wantError(t, http.StatusForbidden)
	e.call("GET", "/cis/v1/users/"+id, tok, nil).wantError(t, http.StatusForbidden)
	e.call("PUT", "/cis/v1/users/"+id+"/password", tok, map[string]any{"password": "sneaky-pass-1"}).wantError(t, http.StatusForbidden)
	e.call("POST", "/cis/v1/users/"+id+"/enrolment-token", tok, nil).wantError(t, http.StatusForbidden)
	e.call("POST", "/cis/v1/manage/api-tokens", tok, map[string]any{}).wantError(t, http.StatusForbidden)
	e.call("POST", "/cis/v1/users/me/password-credentials", tok, map[string]any{"password": "short"}).wantError(t, http.StatusBadRequest)
	// The enrolment.
	e.call("POST", "/cis/v1/users/me/password-credentials", tok, map[string]any{"password": "my-first-password"}).want(t, 200)
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "email": email, "password": "my-first-password"}).want(t, 200)
	// One time: the user has a password now, so the token is dead.
	e.call("POST", "/cis/v1/users/me/password-credentials", tok, map[string]any{"password": "another-password"}).wantError(t, http.StatusUnauthorized)
	e.call("POST", "/cis/v1/users/"+id+"/enrolment-token", e.admin, nil).wantError(t, http.StatusConflict)

	// Issued by the user's application; dies with the assignment and with time.
	u2 := e.seedUser(e.pA, uniq("enrol2"), false)
	e.call("POST", "/cis/v1/users/"+u2.ID+"/enrolment-token", e.tokB, nil).wantError(t, http.StatusNotFound)
	e.call("POST", "/cis/v1/users/"+u2.ID+"/enrolment-token", e.apiRead, nil).wantError(t, http.StatusForbidden)
	t2 := e.call("POST", "/cis/v1/users/"+u2.ID+"/enrolment-token", e.tokA, nil).want(t, 201).result()["access_token"].(string)
	t3 := e.call("POST", "/cis/v1/users/"+u2.ID+"/enrolment-token", e.apiSCIM, nil).want(t, 201).result()["access_token"].(string)
	e.call("DELETE", "/cis/v1/users/"+u2.ID+"/apps", e.tokA, nil).want(t, 204)
	e.call("POST", "/cis/v1/users/me/password-credentials", t2, map[string]any{"password": "my-first-password"}).wantError(t, http.StatusUnauthorized)
	e.clock.Add(directory.EnrolmentTokenTTL + time.Minute)
	e.call("POST", "/cis/v1/users/me/password-credentials", t3, map[string]any{"password": "my-first-password"}).wantError(t, http.StatusUnauthorized)
}
