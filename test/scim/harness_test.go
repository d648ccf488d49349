// Package scim_test replays identity-provider lifecycles against scimd's
// SCIM face (and checks consistency with the native face) over a real
// listener on the embedded store, as written from
// ../../shared/reference/scim-clients.md.
package scim_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/jsontest"
	"github.com/scimd/scimd/native"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage/embedded"
)

// server is scimd's two faces over one embedded store.
type server struct {
	t     *testing.T
	srv   *httptest.Server
	svc   *directory.Service
	token string // an admin API token, as an IdP connector is configured with
}

func newServer(t *testing.T) *server {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &server{t: t, srv: httptest.NewServer(nil)}
	t.Cleanup(s.srv.Close)
	s.svc = directory.New(st, directory.Options{Logger: log, Issuer: s.srv.URL})
	if err := s.svc.EnsureSigningKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, s.token, err = s.svc.CreateAPIToken(t.Context(), directory.System, "idp", "", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	scim.New(s.svc, scim.Options{PublicURL: s.srv.URL, Logger: log}).Register(mux)
	native.New(s.svc, native.Options{PublicURL: s.srv.URL, Logger: log}).Register(mux)
	s.srv.Config.Handler = mux
	return s
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// call sends a request; hdr are header name/value pairs (they replace the defaults).
func (s *server) call(method, path string, body any, hdr ...string) reply {
	s.t.Helper()
	rd := jsontest.Body(body)
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/scim+json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: jsontest.Decode(raw), raw: string(raw)}
}

func (r reply) is(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// scimError checks an RFC 7644 §3.12 error body with a string status.
func (r reply) scimError(t *testing.T, status int, scimType string) reply {
	t.Helper()
	r.is(t, status)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/scim+json") {
		t.Fatalf("error Content-Type %q", r.header.Get("Content-Type"))
	}
	if r.body["status"] != strconv.Itoa(status) || r.body["detail"] == nil || !has(r.body["schemas"], "urn:ietf:params:scim:api:messages:2.0:Error") {
		t.Fatalf("not a SCIM error: %s", r.raw)
	}
	if st, _ := r.body["scimType"].(string); st != scimType {
		t.Fatalf("scimType %q, want %q", st, scimType)
	}
	return r
}

// transmitError checks an error body of /cis/scim: Transmit's ScimHttpError,
// {"schemas": <the Error URN, one string>, "status": <a number>, "detail"}.
func (r reply) transmitError(t *testing.T, status int) reply {
	t.Helper()
	r.is(t, status)
	if _, num := r.body["status"].(json.Number); !num || n(r.body["status"]) != status || r.body["detail"] == nil ||
		r.body["schemas"] != "urn:ietf:params:scim:api:messages:2.0:Error" || len(r.body) != 3 {
		t.Fatalf("not a Transmit SCIM error: %s", r.raw)
	}
	return r
}

// The JSON helpers shared with the SCIM package's tests.
var (
	at  = jsontest.At // at(body, "name", "givenName"), at(body, "emails", 0, "value")
	n   = jsontest.Int
	has = jsontest.HasString
)

func isNumber(v any) bool { _, ok := v.(json.Number); return ok }

func members(body map[string]any) map[string]bool {
	out := map[string]bool{}
	l, _ := body["members"].([]any)
	for _, m := range l {
		out[at(m, "value").(string)] = true
	}
	return out
}

const (
	patchURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	entURN   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	userURN  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

func patch(ops ...any) map[string]any {
	return map[string]any{"schemas": []string{patchURN}, "Operations": ops}
}

func strconvItoa(i int) string { return strconv.Itoa(i) }

func splitDots(s string) []string { return strings.Split(s, ".") }

func atoi(s string) (int, error) { return strconv.Atoi(s) }

func stringsContains(s, sub string) bool { return strings.Contains(s, sub) }
