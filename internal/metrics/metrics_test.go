package metrics

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/storage"
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

// TestRequestSeriesBound: a request's series is bound once and reused, each
// combination of labels keeps its own count, and a store operation's result
// labels its series.
func TestRequestSeriesBound(t *testing.T) {
	m := New("v", "c", "d")
	for range 3 {
		m.Request(httpx.Record{Method: "GET", Route: "/scim/v2/Users/{id}", Status: 200})
	}
	m.Request(httpx.Record{Method: "GET", Route: "/scim/v2/Users/{id}", Status: 404})
	m.Request(httpx.Record{Method: "PUT", Route: "/scim/v2/Users/{id}", Status: 200})
	s := &store{m: m}
	s.done("GetUser", time.Now(), nil, 0)
	s.done("GetUser", time.Now(), storage.ErrNotFound, 0)
	s.done("GetUser", time.Now(), nil, 0)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		`scimd_http_request_duration_seconds_count{method="GET",route="/scim/v2/Users/{id}",status="200"} 3`,
		`scimd_http_request_duration_seconds_count{method="GET",route="/scim/v2/Users/{id}",status="404"} 1`,
		`scimd_http_request_duration_seconds_count{method="PUT",route="/scim/v2/Users/{id}",status="200"} 1`,
		`scimd_store_operation_duration_seconds_count{op="GetUser",result="ok"} 2`,
		`scimd_store_operation_duration_seconds_count{op="GetUser",result="not_found"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

// TestRequestSeriesConcurrent: series bound by concurrent requests (the
// copy-on-write of the bound series) lose no observation.
func TestRequestSeriesConcurrent(t *testing.T) {
	m := New("v", "c", "d")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				m.Request(httpx.Record{Method: "GET", Route: "/r" + strconv.Itoa((g+i)%4), Status: 200})
			}
		})
	}
	wg.Wait()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for r := range 4 {
		want := `scimd_http_request_duration_seconds_count{method="GET",route="/r` + strconv.Itoa(r) + `",status="200"} 200`
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}
