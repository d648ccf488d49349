package native

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// auditEvents returns the events about a target, newest first, as served.
func (e *env) auditEvents(t *testing.T, target string) []map[string]any {
	t.Helper()
	r := e.call("GET", "/cis/v1/manage/audit-events?limit=1000&target_id="+esc(target), e.admin, nil).want(t, http.StatusOK)
	var out []map[string]any
	for _, x := range r.body["result"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// Audit events carry what a SIEM needs: the caller's IP and user agent on
// logins, failed logins and password replacements; changes named as the
// documented canonical paths (never Go field names), with only real values
// (never a zero time); large values by size and digest, so that an event
// stays small.
func TestAuditEventsForSIEM(t *testing.T) {
	e := newEnv(t)
	const ua = "siem-test/1.0"
	login := func(body map[string]any, path string, want int) {
		t.Helper()
		e.call("POST", path, "", body, "User-Agent", ua).want(t, want)
	}
	body := map[string]any{"client_id": e.appA.ClientID, "username": e.userName, "password": "wrong password!"}
	login(body, "/cis/v1/auth/password/login", http.StatusUnauthorized)
	body["password"] = "correct horse battery"
	login(body, "/cis/v1/auth/password/login", http.StatusOK)
	e.call("PUT", "/cis/v1/users/"+e.userID+"/password", e.admin, map[string]any{"password": "temporary-pass-1", "force_replace": true}).want(t, http.StatusOK)
	login(map[string]any{"client_id": e.appA.ClientID, "username": e.userName, "password": "temporary-pass-1", "new_password": "permanent-pass-2"},
		"/cis/v1/auth/password/replace", http.StatusOK)

	seen := map[string]bool{}
	for _, ev := range e.auditEvents(t, e.userID) {
		if ev["actor_type"] == "user" && ev["ip"] == "127.0.0.1" && ev["user_agent"] == ua {
			seen[ev["activity"].(string)] = true
		}
	}
	for _, a := range []string{"userLogin", "userFailedLogin", "updatePassword"} {
		if !seen[a] {
			t.Errorf("no %s event by the user with the caller's IP and user agent", a)
		}
	}

	// A user created with app data and changed through both kinds of field.
	id := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{
		"email": "siem@example.org", "name": map[string]any{"first_name": "Sia"},
		"custom_data": map[string]any{"tier": "gold"}, "custom_app_data": map[string]any{"plan": "basic"},
		"external_account_id": "acc-1",
	}).want(t, http.StatusCreated).result()["user_id"].(string)
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{
		"name": map[string]any{"first_name": "Siana"}, "custom_app_data": map[string]any{"plan": "pro"},
	}).want(t, http.StatusOK)
	events := e.auditEvents(t, id)
	raw, _ := json.Marshal(events)
	for _, bad := range []string{`"iD"`, `"iMs"`, `"AssignedAt"`, `"GivenName"`, `"CustomAppData"`, `"Value"`, "0001-01-01"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("audit events contain %s: %s", bad, raw)
		}
	}
	if len(events) != 2 {
		t.Fatalf("%d events for a create and an update, want 2: %s", len(events), raw)
	}
	update, create := events[0]["changes"].(map[string]any), events[1]["changes"].(map[string]any)
	for _, k := range []string{"name", "customData", "apps", "emails", "status"} {
		if _, ok := create[k]; !ok {
			t.Errorf("create event lacks the change of %q: %v", k, create)
		}
	}
	for k := range update {
		if k != "name" && k != "apps" && k != "displayName" {
			t.Errorf("update event records a change of %q, which did not change: %v", k, update)
		}
	}
	apps := update["apps"].(map[string]any)["current"].(map[string]any)[e.appA.ID].(map[string]any)
	if apps["customAppData"].(map[string]any)["plan"] != "pro" || apps["externalAccountId"] != "acc-1" {
		t.Errorf("apps change %v", update["apps"])
	}
	if n := update["name"].(map[string]any); n["prev"].(map[string]any)["givenName"] != "Sia" || n["current"].(map[string]any)["givenName"] != "Siana" {
		t.Errorf("name change %v", n)
	}

	// A 500 KB custom_data edit is recorded by size and digest.
	big := strings.Repeat("x", 490<<10)
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"custom_data": map[string]any{"blob": big}}).want(t, http.StatusOK)
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"custom_data": map[string]any{"blob": big + "y"}}).want(t, http.StatusOK)
	last := e.auditEvents(t, id)[0]
	enc, _ := json.Marshal(last)
	if len(enc) > 64<<10 {
		t.Errorf("the event of a 500 KB custom_data edit is %d bytes, want under 64 KB", len(enc))
	}
	cd := last["changes"].(map[string]any)["customData"].(map[string]any)
	digest := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, side := range []string{"prev", "current"} {
		d, _ := cd[side].(map[string]any)
		if size, _ := d["size"].(float64); size < 490<<10 || !digest.MatchString(d["sha256"].(string)) {
			t.Errorf("customData %s = %v, want {size, sha256}", side, cd[side])
		}
	}
	if cd["prev"].(map[string]any)["sha256"] == cd["current"].(map[string]any)["sha256"] {
		t.Errorf("different values have the same digest: %v", cd)
	}
}
