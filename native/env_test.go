package native

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/testclock"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
)

const testIssuer = "https://scimd.test"

// env is the native API over a real embedded store in a temporary directory,
// served on a real listener, with a management app, two regular apps (A and
// B) and a token for each.
type env struct {
	t     testing.TB
	dir   string
	store *embedded.Store
	svc   *directory.Service
	srv   *httptest.Server
	clock *testclock.Clock

	mgmt, appA, appB       *schemas.App
	mgmtSecret, secA, secB string
	admin, tokA, tokB      string // client access tokens
	pA, pB                 directory.Principal
	// API tokens: unbound with the admin scope, bound to app A (default scope),
	// unbound with the default scope (scim), unbound read-only, and an unbound
	// one stored before tokens had scopes.
	apiAdmin, apiA, apiSCIM, apiRead, apiLegacy string
	userTok, userID, userName                   string // a user of app A, logged in
}

var seq atomic.Int64

// uniq returns a string unique within the test binary.
func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: testclock.At(time.Now().UTC().Truncate(time.Second))}
	e.open()
	ctx := t.Context()
	var err error
	if e.mgmt, e.mgmtSecret, err = e.svc.CreateApp(ctx, directory.System, schemas.AppManagement, &schemas.App{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	if e.appA, e.secA, err = e.svc.CreateApp(ctx, directory.System, schemas.AppRegular, &schemas.App{Name: "Shop A"}); err != nil {
		t.Fatal(err)
	}
	if e.appB, e.secB, err = e.svc.CreateApp(ctx, directory.System, schemas.AppRegular, &schemas.App{Name: "Shop B"}); err != nil {
		t.Fatal(err)
	}
	e.pA = directory.Principal{AppID: e.appA.ID, Scopes: []directory.Scope{directory.ScopeAdmin}, ActorType: directory.ActorApp, ActorID: e.appA.ClientID}
	e.pB = directory.Principal{AppID: e.appB.ID, Scopes: []directory.Scope{directory.ScopeAdmin}, ActorType: directory.ActorApp, ActorID: e.appB.ClientID}
	e.admin = e.clientToken(e.mgmt.ClientID, e.mgmtSecret)
	e.tokA = e.clientToken(e.appA.ClientID, e.secA)
	e.tokB = e.clientToken(e.appB.ClientID, e.secB)
	e.apiAdmin = e.apiToken("", directory.ScopeAdmin)
	e.apiA = e.apiToken(e.appA.ID)
	e.apiSCIM = e.apiToken("")
	e.apiRead = e.apiToken("", directory.ScopeRead)
	e.apiLegacy = e.legacyAPIToken("")
	e.userName = uniq("enduser")
	u := e.seedUser(e.pA, e.userName, false)
	if err := e.svc.SetPassword(ctx, directory.System, u.ID, directory.PasswordInput{Password: "correct horse battery"}, true); err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.svc.PasswordLogin(ctx, directory.Client{}, e.appA.ClientID, directory.Username(e.userName), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	e.userTok, e.userID = tok.Token, u.ID
	return e
}

// apiToken creates an API token through the directory.
func (e *env) apiToken(appID string, scopes ...directory.Scope) string {
	e.t.Helper()
	_, tok, err := e.svc.CreateAPIToken(e.t.Context(), directory.System, "idp", appID, scopes, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// legacyAPIToken stores an API token the way scimd did before tokens had
// scopes (a record without any) and returns the token.
func (e *env) legacyAPIToken(appID string) string {
	e.t.Helper()
	tok := "scimd_" + directory.NewSecret()
	sum := sha256.Sum256([]byte(tok))
	rec := &schemas.APIToken{ID: directory.NewID(), Description: "made before scopes", Hash: hex.EncodeToString(sum[:]),
		AppID: appID, Created: e.clock.Now()}
	if err := e.store.CreateAPIToken(e.t.Context(), rec, nil); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// open opens the store in e.dir and serves a new handler over it.
func (e *env) open() {
	e.t.Helper()
	st, err := embedded.OpenWithOptions(e.dir, embedded.Options{NoSync: true}) // durability is storage's to test
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = st
	e.svc = directory.New(st, directory.Options{Now: e.clock.Now, Issuer: testIssuer, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := e.svc.EnsureSigningKey(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(e.svc, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(mux)
	e.srv = httptest.NewServer(mux)
	e.t.Cleanup(e.close)
}

// close stops the server and closes the store (idempotent).
func (e *env) close() {
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
	if e.store != nil {
		_ = e.store.Close()
		e.store = nil
	}
}

// seedUser creates a user directly through the directory as p, with a
// primary and a secondary email and phone, a username and an external id.
func (e *env) seedUser(p directory.Principal, name string, withSecondaries bool) *schemas.User {
	e.t.Helper()
	n := seq.Add(1)
	u := &schemas.User{UserName: name, ExternalID: "ext-" + name,
		Emails:       []schemas.Email{{Value: name + "@example.org", Primary: true}},
		PhoneNumbers: []schemas.PhoneNumber{{Value: fmt.Sprintf("+1555%07d", n), Primary: true}},
		Name:         schemas.Name{GivenName: "Ada", FamilyName: name}}
	if withSecondaries {
		u.Emails = append(u.Emails, schemas.Email{Value: name + "@second.example.org"})
		u.PhoneNumbers = append(u.PhoneNumbers, schemas.PhoneNumber{Value: fmt.Sprintf("+1666%07d", n)})
	}
	created, err := e.svc.CreateUser(e.t.Context(), p, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return created
}

// clientToken obtains a client access token over HTTP.
func (e *env) clientToken(id, secret string) string {
	e.t.Helper()
	st, body := e.form("/oidc/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if st != http.StatusOK {
		e.t.Fatalf("token: %d %v", st, body)
	}
	return body["access_token"].(string)
}

// form posts a form body.
func (e *env) form(path string, v url.Values) (int, map[string]any) {
	e.t.Helper()
	resp, err := http.Post(e.srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// response is a decoded HTTP response.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// result returns the "result" member as an object.
func (r response) result() map[string]any {
	m, _ := r.body["result"].(map[string]any)
	return m
}

// list returns the "result" member as an array of objects.
func (r response) list() []map[string]any {
	arr, _ := r.body["result"].([]any)
	out := make([]map[string]any, len(arr))
	for i, v := range arr {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// call sends a request with a bearer token (none when ""); body is JSON-encoded
// unless it is a string or []byte, sent as is.
func (e *env) call(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// want fails the test unless the response has the status.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// wantError checks the native error body of a response.
func (r response) wantError(t *testing.T, status int) response {
	t.Helper()
	r.want(t, status)
	if code, _ := r.body["error_code"].(float64); int(code) != status {
		t.Fatalf("error_code %v, want %d: %s", r.body["error_code"], status, r.raw)
	}
	msg := r.body["message"]
	if status == http.StatusBadRequest {
		arr, ok := msg.([]any)
		if !ok || len(arr) == 0 {
			t.Fatalf("a 400's message must be a non-empty array of strings: %s", r.raw)
		}
	} else if s, ok := msg.(string); !ok || s == "" {
		t.Fatalf("message must be a string: %s", r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
	return r
}

func esc(s string) string { return url.PathEscape(s) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
