package native

import (
	"strings"
	"testing"
	"time"
)

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	u := e.seedUser(e.pB, uniq("api"), false)
	r := e.call("POST", "/cis/v1/manage/api-tokens", e.admin, map[string]any{"description": "okta", "app_id": e.appA.ID,
		"expires_at": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}).want(t, 201).result()
	tok, id := r["token"].(string), r["token_id"].(string)
	if !strings.HasPrefix(tok, "scimd_") || id == "" || r["app_id"] != e.appA.ID {
		t.Fatalf("created %v", r)
	}
	// A bound token acts as its app.
	e.call("GET", "/cis/v1/users/"+u.ID, tok, nil).wantError(t, 404)
	created := e.call("POST", "/cis/v1/users", tok, map[string]any{"email": "viaapi@example.org"}).want(t, 201).result()
	e.call("GET", "/cis/v1/users/"+created["user_id"].(string), e.tokA, nil).want(t, 200)
	// Listing never shows the token; last use is recorded.
	l := e.call("GET", "/cis/v1/manage/api-tokens", e.admin, nil).want(t, 200)
	if strings.Contains(string(l.raw), tok) || strings.Contains(string(l.raw), `"token"`) {
		t.Fatalf("list leaks the token: %s", l.raw)
	}
	var found bool
	for _, it := range l.list() {
		if it["token_id"] == id {
			found = it["last_used_at"] != nil
		}
	}
	if !found {
		t.Fatalf("token not listed with last_used_at: %s", l.raw)
	}
	for _, body := range []map[string]any{{"app_id": "nope"}, {"expires_at": "tomorrow"}, {"expires_at": "2001-01-01T00:00:00Z"}, {"bogus": true}} {
		e.call("POST", "/cis/v1/manage/api-tokens", e.admin, body).wantError(t, 400)
	}
	// Revocation takes effect at once.
	e.call("DELETE", "/cis/v1/manage/api-tokens/"+id, e.admin, nil).want(t, 204)
	e.call("GET", "/cis/v1/users", tok, nil).wantError(t, 401)
	e.call("DELETE", "/cis/v1/manage/api-tokens/"+id, e.admin, nil).wantError(t, 404)
	// An unbound token is an admin.
	e.call("GET", "/cis/v1/users/"+u.ID, e.apiAdmin, nil).want(t, 200)
	e.call("GET", "/cis/v1/manage/api-tokens", e.apiA, nil).wantError(t, 403)
}

func TestAuditEvents(t *testing.T) {
	e := newEnv(t)
	id := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "aud@example.org", "credentials": map[string]any{"password": "audit-password-1"}},
		"User-Agent", "audit-test/1.0").want(t, 201).result()["user_id"].(string)
	e.call("PUT", "/cis/v1/users/"+id, e.admin, map[string]any{"custom_data": map[string]any{"it": true}}).want(t, 200)
	e.call("DELETE", "/cis/v1/manage/users/"+id, e.admin, nil).want(t, 204)
	r := e.call("GET", "/cis/v1/manage/audit-events?target_id="+id, e.admin, nil).want(t, 200)
	items := r.list()
	if r.body["total_count"] != float64(3) || len(items) != 3 {
		t.Fatalf("events %s", r.raw)
	}
	last := items[2] // newest first: the creation is last
	if last["activity"] != "createUser" || last["actor_id"] != e.appA.ClientID || last["actor_type"] != "app" ||
		last["user_agent"] != "audit-test/1.0" || last["ip"] != "127.0.0.1" || last["target_resource_type"] != "user" {
		t.Fatalf("create event %v", last)
	}
	if strings.Contains(string(r.raw), "audit-password-1") || strings.Contains(string(r.raw), "argon2") {
		t.Fatal("secrets in audit events")
	}
	if ch, _ := items[1]["changes"].(map[string]any); ch["customData"] == nil {
		t.Fatalf("update changes %v", items[1]["changes"])
	}
	q := "/cis/v1/manage/audit-events?action=deleteUser&actor_id=" + esc(e.mgmt.ClientID)
	if r := e.call("GET", q, e.admin, nil).want(t, 200); r.body["total_count"] != float64(1) {
		t.Fatalf("filtered %s", r.raw)
	}
	future := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	if r := e.call("GET", "/cis/v1/manage/audit-events?from="+esc(future), e.admin, nil).want(t, 200); r.body["total_count"] != float64(0) {
		t.Fatalf("from filter %s", r.raw)
	}
	if r := e.call("GET", "/cis/v1/manage/audit-events?to="+esc(future)+"&limit=1&offset=1", e.admin, nil).want(t, 200); len(r.list()) != 1 ||
		r.body["page_info"].(map[string]any)["has_previous_page"] != true {
		t.Fatalf("paging %s", r.raw)
	}
	for _, q := range []string{"from=yesterday", "to=1", "limit=10001", "offset=-1"} {
		e.call("GET", "/cis/v1/manage/audit-events?"+q, e.admin, nil).wantError(t, 400)
	}
	e.call("GET", "/cis/v1/manage/audit-events", e.tokA, nil).wantError(t, 403)
}
