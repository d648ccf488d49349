package native

import (
	"strings"
	"testing"
)

func TestPasswordLoginAndMe(t *testing.T) {
	e := newEnv(t)
	id := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "lo@example.org", "username": "lo",
		"credentials": map[string]any{"password": "temporary-pass-1"}}).want(t, 201).result()["user_id"].(string)
	login := map[string]any{"client_id": e.appA.ClientID, "username": "lo", "password": "temporary-pass-1"}
	r := e.call("POST", "/cis/v1/auth/password/login", "", login).wantError(t, 403)
	if r.body["error"] != "temporary_password" {
		t.Fatalf("temporary password refusal %s", r.raw)
	}
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "username": "lo", "password": "wrong-password"}).wantError(t, 401)
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": "nope", "username": "lo", "password": "x"}).wantError(t, 401)
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appB.ClientID, "username": "lo", "password": "temporary-pass-1"}).wantError(t, 403)
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.mgmt.ClientID, "username": "lo", "password": "temporary-pass-1"}).wantError(t, 403)
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "username": "lo", "email": "lo@example.org", "password": "x"}).wantError(t, 400)
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "password": "x"}).wantError(t, 400)
	rep := map[string]any{"client_id": e.appA.ClientID, "email": "lo@example.org", "password": "temporary-pass-1", "new_password": "permanent-pass-2"}
	tok := e.call("POST", "/cis/v1/auth/password/replace", "", rep).want(t, 200).body["access_token"].(string)
	login["password"] = "permanent-pass-2"
	e.call("POST", "/cis/v1/auth/password/login", "", login).want(t, 200)
	u := e.call("GET", "/cis/v1/users/"+id, e.tokA, nil).want(t, 200).result()
	if u["status"] != "Active" || u["last_auth"] == nil {
		t.Fatalf("after login %v", u)
	}
	// The user token reaches /me only.
	if keys := e.call("GET", "/cis/v1/users/me/device-keys", tok, nil).want(t, 200).list(); len(keys) != 0 {
		t.Fatalf("device keys %v", keys)
	}
	e.call("POST", "/cis/v1/users/me/password-credentials", tok, map[string]any{"password": "another-pass-3"}).wantError(t, 403)
	e.call("GET", "/cis/v1/users/"+id, tok, nil).wantError(t, 403)
	e.call("GET", "/cis/v1/users/me/device-keys", e.tokA, nil).wantError(t, 403)
	// Disabled users cannot log in, and their tokens stop working.
	e.call("PUT", "/cis/v1/users/"+id, e.admin, map[string]any{"status": "Disabled"}).want(t, 200)
	e.call("POST", "/cis/v1/auth/password/login", "", login).wantError(t, 403)
	e.call("GET", "/cis/v1/users/me/device-keys", tok, nil).wantError(t, 401)
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	e.seedUser(e.pA, "rl", false)
	e.call("POST", "/cis/v1/users/"+e.mustFind("rl")+"/password", e.tokA, map[string]any{"password": "rate-limit-pass", "force_replace": false}).want(t, 201)
	bad := map[string]any{"client_id": e.appA.ClientID, "username": "rl", "password": "wrong-password"}
	for range 5 {
		e.call("POST", "/cis/v1/auth/password/login", "", bad).wantError(t, 401)
	}
	r := e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "username": "rl", "password": "rate-limit-pass"}).wantError(t, 429)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

func (e *env) mustFind(username string) string {
	e.t.Helper()
	return e.call("GET", "/cis/v1/users/username/"+username, e.admin, nil).want(e.t, 200).result()["user_id"].(string)
}

// A user created (singly or in bulk) with a hash made by another system logs
// in with its password; a malformed hash is a 400 that creates nothing.
func TestHashedPasswordCreate(t *testing.T) {
	e := newEnv(t)
	// bcrypt (cost 4) of "imported-pass-1", made by another system.
	const bc = "$2a$04$rix0i6k8bR6zuyikzwrQaOmIlhLcfF748eysgKbYDE13EcwhXSZPC"
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "hp@example.org", "username": "hp",
		"credentials": map[string]any{"hashed_password": bc, "force_replace": false}}).want(t, 201)
	e.call("POST", "/cis/v1/users/bulk", e.tokA, []any{map[string]any{"email": "hp2@example.org", "username": "hp2",
		"credentials": map[string]any{"hashed_password": bc, "force_replace": false}}}).want(t, 201)
	for _, name := range []string{"hp", "hp2"} {
		e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "username": name, "password": "imported-pass-1"}).want(t, 200)
	}
	r := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "hp3@example.org",
		"credentials": map[string]any{"hashed_password": "$md5$nope"}}).wantError(t, 400)
	if !strings.Contains(string(r.raw), "hashed_password") {
		t.Fatalf("bad hash refusal does not name the field: %s", r.raw)
	}
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "hp4@example.org",
		"credentials": map[string]any{"hashed_password": bc, "password": "also-a-password"}}).wantError(t, 400)
	if r := e.call("GET", "/cis/v1/users", e.admin, nil).want(t, 200); strings.Contains(string(r.raw), "hp3@") {
		t.Fatalf("a user was created with a bad hash: %s", r.raw)
	}
}
