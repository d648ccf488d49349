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
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage/embedded"
)

// fixture is the SCIM face over a real embedded store behind a real listener.
type fixture struct {
	t         testing.TB
	srv       *httptest.Server
	svc       *directory.Service
	admin     string // an admin API token
	app       *schemas.App
	appToken  string // an API token bound to app
	appSecret string
	base      string // srv.URL + "/scim/v2"
}

func newFixture(t testing.TB) *fixture {
	return newFixtureOpts(t, scim.Options{})
}

func newFixtureOpts(t testing.TB, opts scim.Options) *fixture {
	t.Helper()
	// No fsync: the tests and fuzz targets exercise the face, not durability
	// (storage/embedded's own tests and the crash test do).
	return newFixtureStore(t, opts, embedded.Options{NoSync: true})
}

// newFixtureStore is newFixtureOpts with the embedded store's options.
func newFixtureStore(t testing.TB, opts scim.Options, sto embedded.Options) *fixture {
	t.Helper()
	st, err := embedded.OpenWithOptions(t.TempDir(), sto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := directory.New(st, directory.Options{Logger: log})
	ctx := t.Context()
	if err := svc.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, svc: svc}
	if _, f.admin, err = svc.CreateAPIToken(ctx, directory.System, "okta", "", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if f.app, f.appSecret, err = svc.CreateApp(ctx, directory.System, schemas.AppRegular, &schemas.App{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if _, f.appToken, err = svc.CreateAPIToken(ctx, directory.System, "app connector", f.app.ID, nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(nil)
	t.Cleanup(f.srv.Close)
	opts.PublicURL, opts.Logger = f.srv.URL, log
	mux := http.NewServeMux()
	scim.New(svc, opts).Register(mux)
	f.srv.Config.Handler = mux
	f.base = f.srv.URL + "/scim/v2"
	return f
}

// resp is a decoded response.
type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (f *fixture) do(method, path, token string, body any, hdr ...string) resp {
	f.t.Helper()
	rd := jsontest.Body(body)
	url := path
	if !strings.HasPrefix(path, "http") {
		url = f.base + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := httpClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: jsontest.Decode(raw), raw: string(raw)}
}

func (r resp) want(t testing.TB, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if r.raw != "" && !strings.HasPrefix(r.header.Get("Content-Type"), "application/scim+json") {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	return r
}

// wantError checks a SCIM error body.
func (r resp) wantError(t testing.TB, status int, scimType string) resp {
	t.Helper()
	r.want(t, status)
	if s, _ := r.body["status"].(string); s != strconv.Itoa(status) {
		t.Fatalf("error status %v, want string %q; body %s", r.body["status"], strconv.Itoa(status), r.raw)
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		t.Fatalf("scimType %q, want %q; body %s", got, scimType, r.raw)
	}
	if !hasString(r.body["schemas"], "urn:ietf:params:scim:api:messages:2.0:Error") {
		t.Fatalf("no Error schema: %s", r.raw)
	}
	return r
}

// wantTransmitError checks an error body of /cis/scim: Transmit's
// ScimHttpError, {"schemas": <the Error URN, one string>, "status": <a
// number>, "detail": <a string>}, and nothing else.
func (r resp) wantTransmitError(t testing.TB, status int) resp {
	t.Helper()
	r.want(t, status)
	if _, ok := r.body["status"].(json.Number); !ok || num(r.body["status"]) != status {
		t.Fatalf("error status %v, want the number %d; body %s", r.body["status"], status, r.raw)
	}
	if r.body["schemas"] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Fatalf("schemas %v, want the Error URN as a string; body %s", r.body["schemas"], r.raw)
	}
	if d, _ := r.body["detail"].(string); d == "" || len(r.body) != 3 {
		t.Fatalf("want exactly schemas, status and a detail; body %s", r.raw)
	}
	return r
}

// wantErrorOn checks the error body of base: Transmit's on /cis/scim,
// RFC 7644's (with scimType) on /scim/v2.
func (r resp) wantErrorOn(t testing.TB, base string, status int, scimType string) resp {
	t.Helper()
	if base == "/cis/scim" {
		return r.wantTransmitError(t, status)
	}
	return r.wantError(t, status, scimType)
}

// The JSON helpers shared with the end-to-end tests (test/scim).
var (
	get       = jsontest.At // get(body, "name", "givenName"), get(body, "emails", 0, "value")
	num       = jsontest.Int
	hasString = jsontest.HasString
)

// user is a minimal SCIM user body.
func user(name string) map[string]any {
	return map[string]any{
		"schemas":  []string{schemas.UserSchemaURN},
		"userName": name,
		"name":     map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"emails":   []any{map[string]any{"value": name, "type": "work", "primary": true}},
		"active":   true,
	}
}

func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// createUser creates a user with the admin token and returns its id.
func (f *fixture) createUser(name string) string {
	f.t.Helper()
	r := f.do("POST", "/Users", f.admin, user(name)).want(f.t, 201)
	return r.body["id"].(string)
}

func scimOptions(maxResults, bulkOps int) scim.Options {
	return scim.Options{MaxResults: maxResults, BulkMaxOperations: bulkOps}
}

func scimOptionsPayload(bytes int64) scim.Options {
	return scim.Options{BulkMaxPayloadBytes: bytes}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}
