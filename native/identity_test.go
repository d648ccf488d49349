package native

import (
	"io"
	"log/slog"
	"testing"

	"github.com/scimd/scimd/directory"
)

// After an application removes a user (DELETE /users/{id}/apps), the user's
// token for that application stops working at once.
func TestRemovedUserTokenStops(t *testing.T) {
	e := newEnv(t)
	other := directory.New(e.store, directory.Options{Now: e.clock.Now, Issuer: testIssuer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := other.Authenticate(t.Context(), e.userTok); err != nil { // another replica, before the removal
		t.Fatal(err)
	}
	e.call("GET", "/cis/v1/users/me/device-keys", e.userTok, nil).want(t, 200)
	e.call("DELETE", "/cis/v1/users/"+e.userID+"/apps", e.tokA, nil).want(t, 204)
	e.call("GET", "/cis/v1/users/me/device-keys", e.userTok, nil).wantError(t, 401)
	if _, err := other.Authenticate(t.Context(), e.userTok); directory.KindOf(err) != directory.KindUnauthenticated {
		t.Fatalf("another replica still accepts the removed user's token: %v", err)
	}
	e.call("POST", "/cis/v1/users/me/password-credentials", e.userTok, map[string]any{"password": "another-pass-3"}).wantError(t, 401)
	e.call("GET", "/cis/v1/users/"+e.userID, e.tokA, nil).wantError(t, 404)
}

// Login identifiers never resolve to two users: a username, primary email or
// primary phone number that is another user's login identifier, in any of the
// three fields, is a 409 on create and update; and a login looks the
// identifier up by the field it was sent as.
func TestLoginIdentifierTakeover(t *testing.T) {
	e := newEnv(t)
	owner := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "owner@example.org", "username": "owner",
		"phone_number": "+15550100001", "credentials": map[string]any{"password": "owner-pass-1", "force_replace": false}}).want(t, 201).result()["user_id"].(string)

	// Another user taking the owner's identifiers through another field: 409, nothing created.
	for _, body := range []map[string]any{
		{"username": "OWNER@example.org", "email": "attacker@example.org", "credentials": map[string]any{"password": "attacker-pass-1", "force_replace": false}},
		{"username": "+15550100001", "email": "attacker@example.org"},
		{"email": "owner@example.org", "username": "attacker"},
	} {
		r := e.call("POST", "/cis/v1/users", e.tokB, body).wantError(t, 409)
		if msg, _ := r.body["message"].(string); msg == "" {
			t.Fatalf("409 without a message: %s", r.raw)
		}
	}
	if n := e.call("GET", "/cis/v1/users", e.tokB, nil).want(t, 200).body["total_count"]; n != float64(0) {
		t.Fatalf("a refused create left users: %v", n)
	}
	other := e.call("POST", "/cis/v1/users", e.tokB, map[string]any{"email": "attacker@example.org", "username": "attacker",
		"credentials": map[string]any{"password": "attacker-pass-1", "force_replace": false}}).want(t, 201).result()["user_id"].(string)
	e.call("PUT", "/cis/v1/users/"+other, e.tokB, map[string]any{"username": "Owner@Example.org"}).wantError(t, 409)
	if u := e.call("GET", "/cis/v1/users/"+other, e.admin, nil).want(t, 200).result(); u["username"] != "attacker" {
		t.Fatalf("a refused update changed the user: %v", u)
	}

	// The owner logs in with their email and gets their own account.
	login := func(field, value, password string) response {
		return e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, field: value, "password": password})
	}
	tok := login("email", "OWNER@example.org", "owner-pass-1").want(t, 200).body["access_token"].(string)
	if p, err := e.svc.Authenticate(t.Context(), tok); err != nil || p.UserID != owner {
		t.Fatalf("login by email resolved to %q (%v), want the owner %s", p.UserID, err, owner)
	}
	login("username", "owner", "owner-pass-1").want(t, 200)
	// An identifier is looked up only by the field it was sent as.
	login("email", "owner", "owner-pass-1").wantError(t, 401)
	login("username", "owner@example.org", "owner-pass-1").wantError(t, 401)
}

// The login lockout is kept in the store: it holds after a restart and on
// every replica (here: a second service over the same store).
func TestLoginLockoutSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	id := e.seedUser(e.pA, "locked", false).ID
	e.call("POST", "/cis/v1/users/"+id+"/password", e.tokA, map[string]any{"password": "lockout-pass-1", "force_replace": false}).want(t, 201)
	bad := map[string]any{"client_id": e.appA.ClientID, "username": "locked", "password": "wrong-password"}
	good := map[string]any{"client_id": e.appA.ClientID, "username": "locked", "password": "lockout-pass-1"}
	for range directory.MaxUserLoginFailures {
		e.call("POST", "/cis/v1/auth/password/login", "", bad).wantError(t, 401)
	}
	e.call("POST", "/cis/v1/auth/password/login", "", good).wantError(t, 429)

	// Another replica on the same store refuses too.
	other := directory.New(e.store, directory.Options{Now: e.clock.Now, Issuer: testIssuer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, _, err := other.PasswordLogin(t.Context(), directory.Client{}, e.appA.ClientID, directory.Username("locked"), "lockout-pass-1"); directory.KindOf(err) != directory.KindRateLimited {
		t.Fatalf("login through another replica during the lockout: %v, want rate limited", err)
	}

	// A restart keeps the lockout.
	e.close()
	e.open()
	e.call("POST", "/cis/v1/auth/password/login", "", good).wantError(t, 429)
	// It ends when the failures are LoginFailureWindow old, and a success clears them.
	e.clock.Add(directory.LoginFailureWindow)
	e.call("POST", "/cis/v1/auth/password/login", "", good).want(t, 200)
	e.call("POST", "/cis/v1/auth/password/login", "", bad).wantError(t, 401)
	e.call("POST", "/cis/v1/auth/password/login", "", good).want(t, 200)
}
