package portal_test

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/portal"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/storagetest"
)

// benchUsersEnv sets the number of users of the benchmark store (default
// 100,000; SCIMD_PORTAL_BENCH_USERS=1000000 for the million).
const benchUsersEnv = "SCIMD_PORTAL_BENCH_USERS"

// benchDirEnv names a data directory to keep the benchmark store in across
// runs (generated at the first, topped up to the size later); without it the
// store is generated into a temporary directory, removed at the end.
const benchDirEnv = "SCIMD_PORTAL_BENCH_DIR"

// benchEventsEnv sets how many audit events the benchmark store holds at
// least (default none): a createUser event for each of the first users, as
// a directory whose users were created through the API has. The user
// detail page shows the user's audit trail, so its time depends on them.
const benchEventsEnv = "SCIMD_PORTAL_BENCH_EVENTS"

// parallel calls fn(i) for every i in [from, to) from thousands of
// goroutines, so that the embedded store's writer commits many writes to a
// transaction; it returns the first error.
func parallel(from, to int, fn func(i int) error) error {
	next := int64(from)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 4096 {
		wg.Go(func() {
			for {
				mu.Lock()
				i := int(next)
				next++
				stop := firstErr != nil
				mu.Unlock()
				if i >= to || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// benchPortal opens (generating it when short of users) the benchmark store
// of storagetest.NewUser users and returns the portal handler over it, a
// session token and the number of users. Users are written by many
// concurrent CreateUser calls, which the embedded store's writer commits
// thousands to a transaction, with NoSync; the store is then synced and
// reopened durable, as a server would open it.
func benchPortal(b *testing.B) (h http.Handler, token string, n int) {
	n = 100_000
	if s := os.Getenv(benchUsersEnv); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1000 {
			b.Fatalf("%s=%q: want a number of users, at least 1000", benchUsersEnv, s)
		}
	}
	dir := os.Getenv(benchDirEnv)
	if dir == "" {
		dir = b.TempDir()
	}
	ctx := context.Background()
	st, err := embedded.OpenWithOptions(dir, embedded.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	have, err := st.ListUsers(ctx, storage.Query{})
	if err != nil {
		b.Fatal(err)
	}
	if have.Total < n {
		start := time.Now()
		if err := parallel(have.Total, n, func(i int) error {
			_, err := st.CreateUser(ctx, storagetest.NewUser(i), nil)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		fmt.Fprintf(os.Stderr, "portal bench: %d users generated in %v (%.0f users/s)\n", n-have.Total, el.Round(time.Millisecond), float64(n-have.Total)/el.Seconds())
	}
	if s := os.Getenv(benchEventsEnv); s != "" {
		events, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("%s=%q: want a number of events", benchEventsEnv, s)
		}
		had, err := st.ListEvents(ctx, storage.EventQuery{})
		if err != nil {
			b.Fatal(err)
		}
		if had.Total < events {
			start := time.Now()
			if err := parallel(had.Total, events, func(i int) error {
				u := storagetest.NewUser(i)
				return st.AppendEvent(ctx, &schemas.Event{ID: fmt.Sprintf("ev%08d", i), Time: u.Created, ActorID: "okta", ActorType: "api_token",
					Action: "createUser", TargetID: u.ID, TargetType: "user", IP: "10.0.0.1", UserAgent: "Okta SCIM Client 1.0.0",
					Changes: map[string]schemas.Change{"userName": {Current: u.UserName}, "emails": {Current: u.Emails[0].Value}}})
			}); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(os.Stderr, "portal bench: %d audit events generated in %v\n", events-had.Total, time.Since(start).Round(time.Millisecond))
		}
	}
	if err := st.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	s, err := embedded.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if have, err = s.ListUsers(ctx, storage.Query{}); err != nil || have.Total < n {
		b.Fatalf("the store holds %d users (%v), want %d", have.Total, err, n)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := directory.New(s, directory.Options{Logger: log})
	if _, err := svc.EnsureAdmin(ctx, adminEmail, adminPW); err != nil {
		b.Fatal(err)
	}
	if token, err = svc.SignIn(ctx, adminEmail, adminPW, "127.0.0.1", "bench"); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	portal.New(svc, portal.Options{PublicURL: "http://127.0.0.1"}).Register(mux)
	return mux, token, have.Total
}

// cpuTime is the CPU time the process has used (user and system): on a
// machine shared with other work, the server's cost of a request is its
// CPU time, which the wall time (ns/op) exceeds by the time spent waiting
// for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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

// nextLink returns the address of the Next link of the page at path, as
// a browser paging through the list follows it (the store's cursor).
func nextLink(b *testing.B, h http.Handler, token, path string) string {
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(&http.Cookie{Name: "scimd_session", Value: token})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	m := regexp.MustCompile(`href="([^"]*)" rel="next"`).FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusOK || m == nil {
		b.Fatalf("GET %s: %d, no next link\n%s", path, w.Code, w.Body)
	}
	return html.UnescapeString(m[1])
}

// BenchmarkUsersList measures the users list page (25 a page) at the size
// of benchUsersEnv: paging in creation order (a deep page by offset, and
// by the Next link's cursor, also of a sorted list), the search box (a prefix of a
// username, one letter, an email address, a phone number), the status
// filter, the sorts of the column headers, the three together, an advanced
// filter, and the user detail page.
func BenchmarkUsersList(b *testing.B) {
	h, token, n := benchPortal(b)
	deep := n/25 - 10
	mid := storagetest.NewUser(n / 2)
	for _, c := range []struct{ name, path string }{
		{"first-page", "/portal/users"},
		{"deep-page-offset", fmt.Sprintf("/portal/users?page=%d", deep)},
		{"deep-page", nextLink(b, h, token, fmt.Sprintf("/portal/users?page=%d", deep-1))},
		{"deep-page-sorted", nextLink(b, h, token, fmt.Sprintf("/portal/users?sort=email&dir=desc&page=%d", min(4999, deep-1)))},
		{"search-prefix", "/portal/users?q=" + mid.UserName[:8]},
		{"search-one-letter", "/portal/users?q=m"},
		{"search-email", "/portal/users?q=" + url.QueryEscape(mid.Emails[0].Value)},
		{"search-phone", "/portal/users?q=" + url.QueryEscape(mid.PhoneNumbers[0].Value[:9])},
		{"status", "/portal/users?status=Disabled"},
		{"sorted-by-username", "/portal/users?sort=userName"},
		{"sorted-by-last-name-desc", "/portal/users?sort=name&dir=desc"},
		{"status-sorted-by-email", "/portal/users?status=Disabled&sort=email&dir=desc"},
		{"search-status-sorted", "/portal/users?q=" + mid.UserName[:4] + "&status=Active&sort=userName"},
		{"scim-filter", "/portal/users?filter=" + "emails.value+sw+%22" + storagetest.NewUser(n / 3).UserName[:6] + "%22"},
		{"user-detail", "/portal/users/" + mid.ID},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				get(b, h, token, c.path)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
	b.ReportMetric(float64(n), "users")
}
