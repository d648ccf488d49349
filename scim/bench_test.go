package scim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/internal/httpx"
)

// serve runs one request through the SCIM handler in-process (no socket),
// so that allocations and time are the server's own.
func (f *fixture) serve(_ testing.TB, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, f.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.admin)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	w := httptest.NewRecorder()
	f.srv.Config.Handler.ServeHTTP(w, req)
	return w
}

// entraPatch is the PATCH Entra ID sends most: a replace of the work email.
func entraPatch(i int) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+
		`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w%d@bench.org"}]}`, i)
}

// BenchmarkUserGet is the reference for BenchmarkUserPatch: a GET of the
// same user through the same handler.
func BenchmarkUserGet(b *testing.B) {
	f := newFixture(b)
	id := f.createUser("get@bench.org")
	b.ReportAllocs()
	for b.Loop() {
		if w := f.serve(b, "GET", "/Users/"+id, ""); w.Code != 200 {
			b.Fatalf("GET: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkUserPatch measures one Entra email replace, in-process: the
// allocations per PATCH are to stay within 2× those of BenchmarkUserGet.
func BenchmarkUserPatch(b *testing.B) {
	f := newFixture(b)
	id := f.createUser("patch@bench.org")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if w := f.serve(b, "PATCH", "/Users/"+id, entraPatch(i)); w.Code != 200 {
			b.Fatalf("PATCH: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkUserPatchConcurrent8 is PATCH throughput with 8 concurrent
// clients, each patching its own user (the store's writer is shared).
func BenchmarkUserPatchConcurrent8(b *testing.B) {
	const clients = 8
	f := newFixture(b)
	ids := make([]string, clients)
	for c := range ids {
		ids[c] = f.createUser(fmt.Sprintf("c%d@bench.org", c))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var n atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for {
				i := n.Add(1)
				if i > int64(b.N) {
					return
				}
				if w := f.serve(b, "PATCH", "/Users/"+ids[c], entraPatch(int(i))); w.Code != 200 {
					b.Errorf("PATCH: %d %s", w.Code, w.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "patches/s")
}

// rolesPatch is one PATCH adding n roles; n < 0 fills the body limit.
func rolesPatch(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"roles","value":[`)
	for i := 0; n < 0 || i < n; i++ {
		el, _ := json.Marshal(map[string]string{"value": fmt.Sprintf("role-%07d", i)})
		if n < 0 && sb.Len()+len(el)+8 > httpx.DefaultMaxBody {
			break
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.Write(el)
	}
	sb.WriteString(`]}]}`)
	return sb.String()
}

// BenchmarkUserPatchLargest sends the most expensive PATCH bodies up to the
// body limit (issue 7: 8,000 roles took 12 s; a 2 MiB body about an hour).
// Each is refused (more values than a user may hold) and must be answered
// within a second.
func BenchmarkUserPatchLargest(b *testing.B) {
	for _, n := range []int{8000, -1} {
		body := rolesPatch(n)
		b.Run(fmt.Sprintf("bytes=%d", len(body)), func(b *testing.B) {
			f := newFixture(b)
			id := f.createUser("big@bench.org")
			for b.Loop() {
				if w := f.serve(b, "PATCH", "/Users/"+id, body); w.Code != http.StatusBadRequest {
					b.Fatalf("PATCH: %d %.200s", w.Code, w.Body)
				}
			}
		})
	}
}
