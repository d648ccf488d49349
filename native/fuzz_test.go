package native

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzSearch sends arbitrary `search` (and search_prefix, sort_field) values
// through the handler: any answer but a 500 is fine.
func FuzzSearch(f *testing.F) {
	e := newEnv(f)
	e.seedUser(e.pA, "fuzzy", true)
	h := New(e.svc, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, s := range []string{
		`email eq "a@b.org"`, `(status eq "Pending") and (name.first_name sw "John") and (created_at le "2022-08-22")`,
		`(address.country eq "USA")and(email sw "sales")`, `custom_data.tier eq "gold"`, `custom_app_data.a.b pr`,
		`secondary_emails eq "x"`, `not (username pr)`, `emails[type eq "work"]`, `last_auth gt "2023-04-22T05:52:49.703+00:00"`,
		`created_at ge 1700000000000`, `((((`, `"`, `email eq "\u0000"`, ``, `phone_number sw "+1"`, `birthday eq "2000-01-01"`,
	} {
		f.Add(s, "john", "email")
	}
	f.Fuzz(func(t *testing.T, search, prefix, sort string) {
		// API tokens (an app-bound one and an unbound one): the same scopes as
		// the app's and the management app's JWTs without an ECDSA verification
		// per request, which would hold the target under 1,000 executions/s.
		for _, tok := range []string{e.apiA, e.apiAdmin} {
			for _, path := range []string{"/cis/v1/users", "/cis/v1/users/count"} {
				q := url.Values{"search": {search}, "search_prefix": {prefix}, "sort_field": {sort}}
				req := httptest.NewRequest("GET", path+"?"+q.Encode(), nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code >= 500 || (w.Code != http.StatusOK && w.Code != http.StatusBadRequest) {
					t.Fatalf("search %q prefix %q sort %q: %d %s", search, prefix, sort, w.Code, w.Body)
				}
			}
		}
	})
}
