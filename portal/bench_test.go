package portal_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/portal"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/storagetest"
)

// benchUsersEnv sets the number of users of the benchmark store (default
// 100,000; SCIMD_PORTAL_BENCH_USERS=1000000 for the million).
const benchUsersEnv = "SCIMD_PORTAL_BENCH_USERS"

var portalBench struct {
	once  sync.Once
	err   error
	h     http.Handler
	token string
	n     int
	ids   []string
}

// benchPortal loads storagetest.NewUser users into an embedded store (once
// per process) and returns the portal handler and a session token.
func benchPortal(b *testing.B) (http.Handler, string) {
	pb := &portalBench
	pb.once.Do(func() {
		pb.n = 100_000
		if s := os.Getenv(benchUsersEnv); s != "" {
			if pb.n, pb.err = strconv.Atoi(s); pb.err != nil {
				return
			}
		}
		dir, err := os.MkdirTemp("", "scimd-portal-bench-")
		if err != nil {
			pb.err = err
			return
		}
		st, err := embedded.OpenWithOptions(dir, embedded.Options{NoSync: true})
		if err != nil {
			pb.err = err
			return
		}
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Pointer[error]
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= pb.n || failed.Load() != nil {
						return
					}
					if _, err := st.CreateUser(context.Background(), storagetest.NewUser(i), nil); err != nil {
						failed.Store(&err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if e := failed.Load(); e != nil {
			pb.err = *e
			return
		}
		fmt.Fprintf(os.Stderr, "portal bench: %d users loaded in %v\n", pb.n, time.Since(start).Round(time.Millisecond))
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		svc := directory.New(st, directory.Options{Logger: log})
		ctx := context.Background()
		if _, err := svc.EnsureAdmin(ctx, adminEmail, adminPW); err != nil {
			pb.err = err
			return
		}
		if pb.token, pb.err = svc.SignIn(ctx, adminEmail, adminPW, "127.0.0.1", "bench"); pb.err != nil {
			return
		}
		mux := http.NewServeMux()
		portal.New(svc, portal.Options{PublicURL: "http://127.0.0.1"}).Register(mux)
		pb.h = mux
	})
	if pb.err != nil {
		b.Fatal(pb.err)
	}
	return pb.h, pb.token
}

// get serves one portal GET in-process, so that the time measured is the
// server's: session check, directory query, template.
func get(b *testing.B, h http.Handler, token, path string) {
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(&http.Cookie{Name: "scimd_session", Value: token})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d\n%s", path, w.Code, w.Body)
	}
}

// BenchmarkUsersList measures the users list page (25 a page) at the size
// of benchUsersEnv: the first page, a deep page, a prefix search, a status
// filter with a sort, and the user detail page.
func BenchmarkUsersList(b *testing.B) {
	h, token := benchPortal(b)
	n := portalBench.n
	deep := n/25 - 10
	for _, c := range []struct{ name, path string }{
		{"first-page", "/portal/users"},
		{"deep-page", fmt.Sprintf("/portal/users?page=%d", deep)},
		{"search-prefix", "/portal/users?q=" + storagetest.NewUser(n / 2).UserName[:8]},
		{"sorted-by-username", "/portal/users?sort=userName"},
		{"status-sorted-by-email", "/portal/users?status=Disabled&sort=email&dir=desc"},
		{"scim-filter", "/portal/users?filter=" + "emails.value+sw+%22" + storagetest.NewUser(n / 3).UserName[:6] + "%22"},
		{"user-detail", "/portal/users/" + storagetest.NewUser(n/2).ID},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				get(b, h, token, c.path)
			}
		})
	}
	b.ReportMetric(float64(n), "users")
}
