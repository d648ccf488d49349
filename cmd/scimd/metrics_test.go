package main

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/storagetest"
)

// metricValue returns the value of the sample whose line starts with series
// (name and labels exactly as exposed), or -1 when there is none.
func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	return -1
}

func scrape(t *testing.T, u string) string {
	t.Helper()
	code, body := get(t, u)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", u, code, body)
	}
	return body
}

// TestMetricsAfterKnownRequests drives the real binary through a known set of
// requests and checks what /metrics says about them: request counts by route
// pattern (never a raw path), store operations, batch sizes, entity counts,
// tokens, auth failures by reason, a lockout, audit events, the build, and
// the Go runtime and process collectors.
func TestMetricsAfterKnownRequests(t *testing.T) {
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir()}, opsEnv...))
	base := "http://" + p.addr
	before := scrape(t, base+"/metrics")
	auditBefore := metricValue(t, before, "scimd_audit_events_written_total")

	admin := adminToken(t, base)
	bad := url.Values{"grant_type": {"client_credentials"}, "client_id": {"ops"}, "client_secret": {"wrong-secret"}}
	if code, _ := call(t, "POST", base+"/oidc/token", "", "application/x-www-form-urlencoded", bad.Encode()); code != 401 {
		t.Fatalf("bad secret: %d", code)
	}
	var ids []string
	for i := 0; i < 2; i++ {
		code, out := call(t, "POST", base+"/cis/v1/users", admin, "application/json", fmt.Sprintf(`{"email":"m%d@example.com"}`, i))
		if code != 201 {
			t.Fatalf("create user: %d %v", code, out)
		}
		ids = append(ids, out["result"].(map[string]any)["user_id"].(string))
	}
	if code, out := call(t, "POST", base+"/cis/v1/groups", admin, "application/json", `{"name":"Ops"}`); code != 201 {
		t.Fatalf("create group: %d %v", code, out)
	}
	code, app := call(t, "POST", base+"/cis/v1/applications", admin, "application/json", `{"app_name":"CRM"}`)
	if code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	clientID := app["result"].(map[string]any)["client_id"].(string)
	for _, id := range ids {
		call(t, "GET", base+"/cis/v1/users/"+id, admin, "", "")
	}
	call(t, "GET", base+"/scim/v2/Users/"+ids[0], admin, "", "")
	do(t, "HEAD", base+"/healthz", nil, "")
	call(t, "GET", base+"/cis/v1/users", "not-a-token", "", "")
	for _, m := range []string{"BREW", "X-ANYTHING-123"} {
		do(t, m, base+"/healthz", nil, "")
	}
	// Five failed logins lock the account; the sixth is refused as locked out.
	for i := 0; i < 6; i++ {
		call(t, "POST", base+"/cis/v1/auth/password/login", "", "application/json",
			fmt.Sprintf(`{"client_id":%q,"email":"m0@example.com","password":"wrong-password"}`, clientID))
	}

	text := scrape(t, base+"/metrics")
	for series, want := range map[string]float64{
		`scimd_http_request_duration_seconds_count{method="GET",route="/cis/v1/users/{user_id}",status="200"}`: 2,
		`scimd_http_request_duration_seconds_count{method="GET",route="/scim/v2/Users/{id}",status="200"}`:     1,
		`scimd_http_request_duration_seconds_count{method="POST",route="/cis/v1/users",status="201"}`:          2,
		`scimd_http_request_duration_seconds_count{method="POST",route="/oidc/token",status="401"}`:            1,
		`scimd_http_request_duration_seconds_count{method="HEAD",route="/healthz",status="200"}`:               1,
		`scimd_http_request_duration_seconds_count{method="GET",route="/cis/v1/users",status="401"}`:           1,
		`scimd_store_operation_duration_seconds_count{op="CreateUser",result="ok"}`:                            2,
		`scimd_store_operation_duration_seconds_count{op="CreateGroup",result="ok"}`:                           1,
		`scimd_users`:                                            2,
		`scimd_groups`:                                           1,
		`scimd_apps{kind="management"}`:                          1,
		`scimd_apps{kind="regular"}`:                             1,
		`scimd_tokens_issued_total{kind="client"}`:               1,
		`scimd_auth_failures_total{reason="client_credentials"}`: 1,
		`scimd_auth_failures_total{reason="invalid_token"}`:      1,
		`scimd_auth_failures_total{reason="password"}`:           5,
		`scimd_auth_failures_total{reason="locked_out"}`:         1,
		`scimd_auth_failures_total{reason="expired"}`:            0,
		`scimd_login_lockouts_total`:                             1,
	} {
		if got := metricValue(t, text, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	// 2 users, 1 group and 1 app (a failed login of a user without a
	// password records no event).
	if got := metricValue(t, text, "scimd_audit_events_written_total") - auditBefore; got != 4 {
		t.Errorf("audit events written: %v, want 4", got)
	}
	if n := metricValue(t, text, "scimd_embedded_write_batch_size_count"); n < 4 {
		t.Errorf("embedded batches: %v, want at least 4", n)
	}
	for _, re := range []string{
		`(?m)^scimd_build_info\{build_date="[^"]+",commit="[^"]+",version="[^"]+"\} 1$`,
		`(?m)^go_goroutines \d+`, `(?m)^process_resident_memory_bytes \S+`, `(?m)^go_gc_duration_seconds_count \d+`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
	if strings.Contains(text, "BREW") {
		t.Error("a client-chosen method became a label")
	}
	for _, id := range ids {
		if strings.Contains(text, id) {
			t.Errorf("a raw path (user id %s) became a label", id)
		}
	}
	if code, _ := get(t, base+"/debug/pprof/"); code == 200 {
		t.Error("pprof is served on the API listener")
	}
}

// TestMetricsOnTheirOwnListener: with -metrics-addr, /metrics and pprof are
// served there, and neither on the API listener.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	// Port 0 and the logged address: a port picked here and closed before
	// scimd listens on it could be taken by anyone in between.
	p := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir(), "SCIMD_METRICS_ADDR=127.0.0.1:0"})
	maddr := strings.TrimPrefix(p.waitLog(t, `msg="metrics listening" addr=\S+`), `msg="metrics listening" addr=`)
	if !strings.Contains(scrape(t, "http://"+maddr+"/metrics"), "scimd_build_info") {
		t.Fatal("no metrics on -metrics-addr")
	}
	if code, body := get(t, "http://"+maddr+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof on -metrics-addr: %d", code)
	}
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if code, _ := get(t, "http://"+p.addr+path); code == 200 {
			t.Errorf("%s served on the API listener", path)
		}
	}
}

// TestForeignIssuerIsRefusedWithAClearLine: a token issued under one public
// URL is refused by a server with another (as by a replica configured with
// its own URL), and the log says why.
func TestForeignIssuerIsRefusedWithAClearLine(t *testing.T) {
	dir := t.TempDir()
	a := start(t, append([]string{"SCIMD_DATA_DIR=" + dir, "SCIMD_PUBLIC_URL=https://replica-a.example.com"}, opsEnv...))
	tok := adminToken(t, "http://"+a.addr)
	if code, _ := call(t, "GET", "http://"+a.addr+"/cis/v1/users", tok, "", ""); code != 200 {
		t.Fatalf("own token: %d", code)
	}
	a.stop(t)
	b := start(t, append([]string{"SCIMD_DATA_DIR=" + dir, "SCIMD_PUBLIC_URL=https://replica-b.example.com"}, opsEnv...))
	if code, _ := call(t, "GET", "http://"+b.addr+"/cis/v1/users", tok, "", ""); code != 401 {
		t.Fatalf("foreign token: %d, want 401", code)
	}
	b.waitLog(t, `level=WARN msg="access token refused: it was issued for another public URL; every replica behind one address must share the same -public-url" token_issuer=https://replica-a.example.com issuer=https://replica-b.example.com`)
	if v := metricValue(t, scrape(t, "http://"+b.addr+"/metrics"), `scimd_auth_failures_total{reason="foreign_issuer"}`); v != 1 {
		t.Fatalf("foreign_issuer failures: %v", v)
	}
}

// usersDir returns a data directory whose embedded store holds n generated
// users (storagetest.NewUser), closed for a server to open.
func usersDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	users := make([]*schemas.User, n)
	for i := range users {
		users[i] = storagetest.NewUser(i)
	}
	for _, err := range s.CreateUsers(context.Background(), users) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSearchCacheMetric: scimd_embedded_search_cache_bytes reports what the
// embedded store's search cache holds: nothing at start, more than nothing
// once a substring search every user answers has run; and nothing after it
// with SCIMD_SEARCH_CACHE_MIB=0.
func TestSearchCacheMetric(t *testing.T) {
	dir := usersDir(t, 200) // more than the pending rows a flush waits for
	// cached returns the gauge after a search every user answers, on a
	// server started with env.
	cached := func(env ...string) float64 {
		p := start(t, append(append([]string{"SCIMD_DATA_DIR=" + dir}, opsEnv...), env...))
		defer p.stop(t)
		base := "http://" + p.addr
		if got := metricValue(t, scrape(t, base+"/metrics"), "scimd_embedded_search_cache_bytes"); got != 0 {
			t.Errorf("scimd_embedded_search_cache_bytes = %v at start, want 0", got)
		}
		q := url.Values{"filter": {`emails.value co "example"`}}
		if code, out := call(t, "GET", base+"/scim/v2/Users?"+q.Encode(), adminToken(t, base), "", ""); code != 200 || out["totalResults"] != 200.0 {
			t.Fatalf("search: %d %v", code, out["totalResults"])
		}
		return metricValue(t, scrape(t, base+"/metrics"), "scimd_embedded_search_cache_bytes")
	}
	if got := cached(); got <= 0 {
		t.Errorf("scimd_embedded_search_cache_bytes = %v after a search every user answers, want more than 0", got)
	}
	if got := cached("SCIMD_SEARCH_CACHE_MIB=0"); got != 0 {
		t.Errorf("scimd_embedded_search_cache_bytes = %v with the cache off, want 0", got)
	}
}
