package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/httpx"
)

// BenchmarkRequest is the cost the request metrics add to every request.
func BenchmarkRequest(b *testing.B) {
	m := New("v", "c", "d")
	r := httpx.Record{Method: "GET", Route: "/cis/v1/users/{user_id}", Status: 200, Duration: 3 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.Request(r)
	}
}

// TestHandlerServesTheRegistry: the exposition has scimd's families and the
// runtime's, in the text format.
func TestHandlerServesTheRegistry(t *testing.T) {
	m := New("v1", "abc", "2026-01-01")
	m.Request(httpx.Record{Method: "BREW", Route: "/x", Status: 405})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{`scimd_build_info{build_date="2026-01-01",commit="abc",version="v1"} 1`,
		`scimd_http_request_duration_seconds_count{method="OTHER",route="/x",status="405"} 1`, "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}
