package scim_test

import (
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

// endUser creates a user of the fixture's app with a password, logs it in
// through the app and returns its id and user access token.
func (f *fixture) endUser(name string) (id, token string) {
	f.t.Helper()
	u := user(name)
	u["password"] = "a good password"
	u["roles"] = []any{map[string]any{"value": "reader"}}
	u["externalId"] = "ext-" + name
	id = f.do("POST", "/Users", f.appToken, u).want(f.t, 201).body["id"].(string)
	tok, _, err := f.svc.PasswordLogin(f.t.Context(), directory.Client{}, f.app.ClientID, directory.Username(name), "a good password")
	if err != nil {
		f.t.Fatal(err)
	}
	return id, tok.Token
}

// An end user changes only the self-service attributes of their own record
// through /Me; every other attribute is refused with 403 and nothing changes.
func TestMeSelfServiceOnly(t *testing.T) {
	f := newFixture(t)
	id, tok := f.endUser("self@m.org")
	before := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200)

	refused := []map[string]any{
		op("replace", "roles", []any{map[string]any{"value": "admin"}}),
		op("add", "entitlements", []any{map[string]any{"value": "billing"}}),
		op("replace", "externalId", "someone-else"),
		op("replace", "userName", "boss@m.org"),
		op("replace", "active", false),
		op("replace", `emails[primary eq true].value`, "victim@m.org"),
		op("replace", "title", "CEO"),
		op("add", schemas.CustomDataURN+":tier", "gold"),
		op("add", schemas.CustomAppDataURN+":plan", "enterprise"),
		op("replace", schemas.EnterpriseUserURN+":costCenter", "cc-1"),
		op("replace", "password", "a new password 1"),
	}
	for _, o := range refused {
		r := f.do("PATCH", "/Me", tok, patchOp(o)).wantError(t, 403, "")
		if d, _ := r.body["detail"].(string); d == "" {
			t.Errorf("%v: 403 without a detail", o)
		}
	}
	// A PUT that changes a privileged attribute is refused too.
	put := f.do("GET", "/Me", tok, nil).want(t, 200).body
	put["userName"] = "boss@m.org"
	f.do("PUT", "/Me", tok, put).wantError(t, 403, "")

	after := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200)
	if after.header.Get("ETag") != before.header.Get("ETag") {
		t.Fatalf("a refused change changed the user: %s -> %s", before.raw, after.raw)
	}

	// Self-service attributes change, by PATCH and by PUT of what GET /Me returned.
	f.do("PATCH", "/Me", tok, patchOp(
		op("replace", "nickName", "Ada"),
		op("replace", "name.givenName", "Augusta"),
		op("replace", "preferredLanguage", "en-GB"),
		op("replace", "timezone", "Europe/London"),
		op("add", "addresses", []any{map[string]any{"locality": "London", "type": "home"}}),
	)).want(t, 200)
	put = f.do("GET", "/Me", tok, nil).want(t, 200).body
	put["displayName"] = "Ada L."
	r := f.do("PUT", "/Me", tok, put).want(t, 200)
	if r.body["displayName"] != "Ada L." || r.body["nickName"] != "Ada" || get(r.body, "name", "givenName") != "Augusta" {
		t.Fatalf("self-service changes: %s", r.raw)
	}
	if get(r.body, "roles", 0, "value") != "reader" || r.body["externalId"] != "ext-self@m.org" || r.body["userName"] != "self@m.org" {
		t.Fatalf("privileged attributes changed: %s", r.raw)
	}
}

// Once an application removes a user, the user's token for that application
// stops working at once, and nothing the user does re-assigns them.
func TestMeAfterRemovalFromApp(t *testing.T) {
	f := newFixture(t)
	id, tok := f.endUser("gone@m.org")
	f.do("GET", "/Me", tok, nil).want(t, 200)
	f.do("DELETE", "/Users/"+id, f.appToken, nil).want(t, 204) // an app's DELETE removes the user from the app
	f.do("GET", "/Me", tok, nil).wantError(t, 401, "")
	f.do("PATCH", "/Me", tok, patchOp(op("replace", "nickName", "back"))).wantError(t, 401, "")
	f.do("GET", "/Users/"+id, f.appToken, nil).wantError(t, 404, "")
	u := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200)
	if u.body["nickName"] != nil {
		t.Fatalf("the removed user's write went through: %s", u.raw)
	}
}

// A userName, primary email or primary phone number that is another user's
// login identifier in any of those fields is refused with 409 uniqueness, on
// create, PUT and PATCH, and changes nothing.
func TestLoginIdentifierUniqueness(t *testing.T) {
	f := newFixture(t)
	owner := user("owner")
	owner["emails"] = []any{map[string]any{"value": "owner@m.org", "primary": true}}
	owner["phoneNumbers"] = []any{map[string]any{"value": "+15550100002", "primary": true}}
	f.do("POST", "/Users", f.admin, owner).want(t, 201)

	named := func(userName, email string) map[string]any {
		u := user(userName)
		u["emails"] = []any{map[string]any{"value": email, "primary": true}}
		return u
	}
	f.do("POST", "/Users", f.admin, named("OWNER@m.org", "taker@m.org")).wantError(t, 409, "uniqueness")
	f.do("POST", "/Users", f.admin, named("+15550100002", "taker@m.org")).wantError(t, 409, "uniqueness")
	f.do("POST", "/Users", f.admin, named("taker", "OWNER@m.org")).wantError(t, 409, "uniqueness")
	f.do("POST", "/Users", f.admin, named("owner@m.org", "owner@m.org")).wantError(t, 409, "uniqueness")
	if n := num(f.do("GET", "/Users", f.admin, nil).want(t, 200).body["totalResults"]); n != 1 {
		t.Fatalf("refused creates left %d users", n)
	}

	id := f.createUser("someone@m.org")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "userName", "owner@M.org"))).wantError(t, 409, "uniqueness")
	f.do("PUT", "/Users/"+id, f.admin, named("owner@m.org", "someone@m.org")).wantError(t, 409, "uniqueness")
	if u := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200); u.body["userName"] != "someone@m.org" {
		t.Fatalf("a refused update changed the user: %s", u.raw)
	}
	// A user's own userName may equal its own email (as Okta provisions it).
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "userName", "SOMEONE@m.org"))).want(t, 200)
}
