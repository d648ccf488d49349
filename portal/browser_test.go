package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/native"
	"github.com/scimd/scimd/portal"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
)

// The browser tests drive headless Chromium (one browser for the package,
// one isolated browser context per test) against a real listener serving the
// real handlers of all three faces over a real embedded store.

const (
	adminEmail = "admin@example.com"
	adminPW    = "correct horse battery"
)

// clock is the directory's settable clock: tests move it to expire sessions.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.off += d; c.mu.Unlock() }

type server struct {
	URL   string
	svc   *directory.Service
	store storage.Store
	clock *clock
}

func newServer(t *testing.T) *server {
	t.Helper()
	st, err := embedded.OpenWithOptions(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.Start()
	t.Cleanup(srv.Close)
	svc := directory.New(st, directory.Options{Now: c.now, Logger: log, Issuer: srv.URL})
	ctx := context.Background()
	if err := svc.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EnsureAdmin(ctx, adminEmail, adminPW); err != nil {
		t.Fatal(err)
	}
	native.New(svc, native.Options{PublicURL: srv.URL, Logger: log}).Register(mux)
	scim.New(svc, scim.Options{PublicURL: srv.URL, Logger: log}).Register(mux)
	portal.New(svc, portal.Options{PublicURL: srv.URL, Logger: log}).Register(mux)
	return &server{URL: srv.URL, svc: svc, store: st, clock: c}
}

// ---- the browser ----

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

// chromiumPath finds a Chromium or Chrome binary on PATH.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// tab returns a new tab in a fresh browser context (its own cookies) of the
// package's one browser. Without Chromium the test fails in CI (CI=true) and
// is skipped elsewhere, saying so.
func tab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is not installed: the portal's browser tests need it (apt-get install -y chromium)")
		}
		t.Skip("Chromium is not installed (apt-get install -y chromium); skipping the portal's browser tests outside CI")
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "scimd-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path),
			chromedp.Flag("headless", true),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 800),
		)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil { // starts the browser
			browser.err = err
		}
		browser.ctx = ctx
		browser.cancel = func() { cancelCtx(); cancelAlloc(); os.RemoveAll(dir) }
	})
	if browser.err != nil {
		t.Fatalf("starting Chromium: %v", browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// b runs browser steps, failing the test with what the page showed.
func b(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("browser: %v\npage %s:\n%s", err, location(ctx), pageText(ctx))
	}
}

func location(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(sctx, chromedp.Location())
	return loc
}

func pageText(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(sctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	return s
}

// submit clicks a button and waits for the page it leads to (the old page is
// marked; the wait ends when a page without the mark has loaded).
func submit(t *testing.T, ctx context.Context, button string) {
	t.Helper()
	b(t, ctx,
		chromedp.Evaluate[chromedp.Void]("document.documentElement.dataset.old = '1'"),
		chromedp.Click(chromedp.CSS(button), chromedp.NodeVisible),
	)
	deadline := time.Now().Add(10 * time.Second)
	for {
		done, _ := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.readyState === 'complete' && !document.documentElement.dataset.old"))
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("clicking %s led to no new page; still at %s:\n%s", button, location(ctx), pageText(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	b(t, ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("main")))
}

// fill sets form fields by CSS selector.
func fill(t *testing.T, ctx context.Context, kv ...string) {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(kv); i += 2 {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(kv[i]), kv[i+1]))
	}
	b(t, ctx, steps...)
}

func wantText(t *testing.T, ctx context.Context, want ...string) {
	t.Helper()
	text := pageText(ctx)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Fatalf("page %s does not show %q:\n%s", location(ctx), w, text)
		}
	}
}

// wantBadge checks the status badge in the user page's heading.
func wantBadge(t *testing.T, ctx context.Context, status string) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.querySelector('.head h1 .badge').innerText"))
	if err != nil || got != status {
		t.Fatalf("page %s shows the status %q (%v), want %q", location(ctx), got, err, status)
	}
}

func wantNoText(t *testing.T, ctx context.Context, unwanted string) {
	t.Helper()
	if text := pageText(ctx); strings.Contains(text, unwanted) {
		t.Fatalf("page %s shows %q:\n%s", location(ctx), unwanted, text)
	}
}

func wantPath(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	loc := location(ctx)
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(u.Path, prefix) {
		t.Fatalf("at %s, want a page under %s:\n%s", loc, prefix, pageText(ctx))
	}
	return u.Path
}

func signIn(t *testing.T, ctx context.Context, s *server) {
	t.Helper()
	open(t, ctx, s.URL+"/")
	wantPath(t, ctx, "/portal/signin")
	fill(t, ctx, "#email", adminEmail, "#password", adminPW)
	submit(t, ctx, "form button[type=submit]")
	wantPath(t, ctx, "/portal/users")
	wantText(t, ctx, adminEmail, "Users")
}

// ---- API clients for the cross-face checks ----

// mgmtToken returns an access token of a new management app.
func mgmtToken(t *testing.T, s *server) string {
	t.Helper()
	app, secret, err := s.svc.CreateApp(context.Background(), directory.System, schemas.AppManagement, &schemas.App{Name: "test client"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(s.URL+"/oidc/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v (status %d)", err, resp.StatusCode)
	}
	return tok.AccessToken
}

func apiJSON(t *testing.T, method, url, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// ---- the tests ----

func TestBrowserUserLifecycle(t *testing.T) {
	s := newServer(t)
	ctx := tab(t)
	bg := context.Background()
	app, _, err := s.svc.CreateApp(bg, directory.System, schemas.AppRegular, &schemas.App{Name: "Payroll"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.CreateGroup(bg, directory.System, &schemas.Group{DisplayName: "Engineering"}, nil); err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, s)

	// Create a user.
	fill(t, ctx, "#n-email", "jane@example.com", "#n-first", "Jane", "#n-last", "Doe")
	submit(t, ctx, "#new-user button[type=submit]")
	path := wantPath(t, ctx, "/portal/users/")
	id := strings.TrimPrefix(path, "/portal/users/")
	wantText(t, ctx, "User created.", "Jane Doe", "Pending")

	// Edit a profile field; a bad value is refused next to its field.
	fill(t, ctx, "#p-phone", "not a phone")
	submit(t, ctx, "#profile-h + form button[type=submit]")
	wantText(t, ctx, "phone_number")
	b(t, ctx, chromedp.WaitVisible(chromedp.CSS(".field-error")))
	open(t, ctx, s.URL+path)
	fill(t, ctx, "#p-first", "Janet", "#p-title", "Dr.")
	submit(t, ctx, "#profile-h + form button[type=submit]")
	wantText(t, ctx, "Profile saved.", "Janet Doe")

	// custom_data: invalid JSON is refused, valid JSON saved.
	fill(t, ctx, "#custom_data", `{"plan": `)
	submit(t, ctx, "#cd-h + form button[type=submit]")
	wantText(t, ctx, "custom_data must be one JSON object")
	fill(t, ctx, "#custom_data", `{"plan": "gold", "seats": 3}`)
	submit(t, ctx, "#cd-h + form button[type=submit]")
	wantText(t, ctx, "Custom data saved.")

	// Assign the app, then remove it.
	b(t, ctx, chromedp.SetValue(chromedp.CSS("#assign-app"), app.ID))
	submit(t, ctx, "#apps-h ~ form.row button[type=submit]")
	wantText(t, ctx, "Application assigned.", "Remove Payroll")
	u, _ := s.svc.GetUser(bg, directory.System, id)
	if u.Apps[app.ID] == nil {
		t.Fatal("the portal's assignment is not stored")
	}
	submit(t, ctx, "#apps-h ~ form.inline button[type=submit]")
	wantText(t, ctx, "Application removed from the user.", "Not assigned to any application.")

	// Add to a group.
	fill(t, ctx, "#add-group", "engineering")
	submit(t, ctx, "#groups-h ~ form.row button[type=submit]")
	wantText(t, ctx, "Added to the group.", "Engineering")

	// Disable, then enable: the directory's lifecycle rule
	// (directory.SetActive). Jane has never signed in, so enabling makes
	// her Pending, not Active, and the page says so with her last login.
	submit(t, ctx, ".head form button[type=submit]")
	wantText(t, ctx, "User disabled.", "Enable user")
	submit(t, ctx, ".head form button[type=submit]")
	wantText(t, ctx, "User enabled: Pending", "never signed in", "Disable user")
	wantBadge(t, ctx, "Pending")
	if u, _ := s.svc.GetUser(bg, directory.System, id); u.Status != schemas.StatusPending {
		t.Fatalf("a never-signed-in user enabled in the portal is %q, want Pending", u.Status)
	}
	// A user who has signed in comes back Active, with the last login shown.
	sam, err := s.svc.CreateUser(bg, directory.System, &schemas.User{UserName: "sam", Apps: map[string]*schemas.AppLink{app.ID: {}}},
		&directory.PasswordInput{Password: "Sam-password-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.svc.PasswordLogin(bg, directory.Client{}, app.ClientID, directory.Username("sam"), "Sam-password-1"); err != nil {
		t.Fatal(err)
	}
	open(t, ctx, s.URL+"/portal/users/"+sam.ID)
	submit(t, ctx, ".head form button[type=submit]")
	wantText(t, ctx, "User disabled.", "Enable user")
	submit(t, ctx, ".head form button[type=submit]")
	wantText(t, ctx, "User enabled: Active (last login ", "Disable user")
	wantBadge(t, ctx, "Active")
	if u, _ := s.svc.GetUser(bg, directory.System, sam.ID); u.Status != schemas.StatusActive || u.LastAuth.IsZero() {
		t.Fatalf("a signed-in user enabled in the portal is %q (last login %v), want Active", u.Status, u.LastAuth)
	}
	open(t, ctx, s.URL+path)

	// A temporary password.
	fill(t, ctx, "#temp-pw", "Temp-password-1")
	submit(t, ctx, "#pw-h + form button[type=submit]")
	wantText(t, ctx, "Temporary password set", "temporary, set")

	// Cross-face: what the portal wrote, the native and SCIM faces read back.
	tok := mgmtToken(t, s)
	st, nu := apiJSON(t, "GET", s.URL+"/cis/v1/users/"+id, tok, "")
	if st != http.StatusOK {
		t.Fatalf("native GET: %d %v", st, nu)
	}
	res, _ := nu["result"].(map[string]any)
	name, _ := res["name"].(map[string]any)
	cd, _ := res["custom_data"].(map[string]any)
	if name["first_name"] != "Janet" || cd["plan"] != "gold" || res["status"] != "Pending" || len(res["groupIds"].([]any)) != 1 {
		t.Fatalf("native view of the portal's user: %v", res)
	}
	st, su := apiJSON(t, "GET", s.URL+"/scim/v2/Users/"+id, tok, "")
	if st != http.StatusOK || su["userName"] == nil && su["emails"] == nil {
		t.Fatalf("SCIM GET: %d %v", st, su)
	}
	if n, _ := su["name"].(map[string]any); n["givenName"] != "Janet" || su["active"] != true {
		t.Fatalf("SCIM view of the portal's user: %v", su)
	}
	// …and the other way: a native change shows in the portal at once.
	st, _ = apiJSON(t, "PUT", s.URL+"/cis/v1/users/"+id, tok, `{"name":{"first_name":"Janet","last_name":"Native"}}`)
	if st != http.StatusOK {
		t.Fatalf("native PUT: %d", st)
	}
	open(t, ctx, s.URL+path)
	wantText(t, ctx, "Janet Native")
	open(t, ctx, s.URL+"/portal/users?q=jan")
	wantText(t, ctx, "jane@example.com", "Janet Native")

	// The audit log shows every change, by the administrator.
	open(t, ctx, s.URL+"/portal/audit?target="+id)
	wantText(t, ctx, "createUser", "adminUpdateUser", "assignUserToApp", "removeUserFromApp", "addGroupMembers",
		"admin "+adminEmail, "customData", "gold")
	ev, err := s.svc.ListEvents(bg, directory.System, storage.EventQuery{ActorID: adminEmail, TargetID: id, Limit: storage.Unlimited})
	if err != nil || ev.Total < 8 {
		t.Fatalf("events by the admin on the user: %d (%v)", ev.Total, err)
	}
	for _, e := range ev.Items {
		if e.ActorType != directory.ActorAdmin || e.IP == "" || !strings.Contains(e.UserAgent, "Chrome") {
			t.Fatalf("event %s lacks the admin actor, IP or user agent: %+v", e.Action, e)
		}
	}

	// Delete with typed confirmation.
	open(t, ctx, s.URL+path)
	fill(t, ctx, "#confirm", "wrong")
	submit(t, ctx, ".danger-zone button[type=submit]")
	wantText(t, ctx, "to confirm the deletion")
	fill(t, ctx, "#confirm", "jane@example.com")
	submit(t, ctx, ".danger-zone button[type=submit]")
	wantPath(t, ctx, "/portal/users")
	wantText(t, ctx, "deleted")

	// Sign out: the session ends, the pages send back to sign-in.
	submit(t, ctx, "form.who button")
	wantPath(t, ctx, "/portal/signin")
	wantText(t, ctx, "You are signed out.")
	open(t, ctx, s.URL+"/portal/users")
	wantPath(t, ctx, "/portal/signin")
}

func TestBrowserTokensAndManagementApps(t *testing.T) {
	s := newServer(t)
	ctx := tab(t)
	signIn(t, ctx, s)

	// A connector token: shown once, works over SCIM, revoked stops working.
	open(t, ctx, s.URL+"/portal/settings/tokens")
	wantText(t, ctx, "No connector tokens", s.URL+"/scim/v2")
	fill(t, ctx, "#t-desc", "Okta production")
	submit(t, ctx, "#new-token button[type=submit]")
	wantText(t, ctx, "Token created.", "you won't see it again", "Okta production")
	token, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret-value")))
	if err != nil || !strings.HasPrefix(token, "scimd_") {
		t.Fatalf("token shown: %q, %v", token, err)
	}
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.querySelector('button.copy').hidden")); err != nil || hidden {
		t.Fatalf("with scripts on, copy.js shows the Copy button: hidden %v (%v)", hidden, err)
	}
	if st, _ := apiJSON(t, "GET", s.URL+"/scim/v2/Users", token, ""); st != http.StatusOK {
		t.Fatalf("the new token on SCIM: %d", st)
	}
	open(t, ctx, s.URL+"/portal/settings/tokens")
	wantNoText(t, ctx, token) // never shown twice
	submit(t, ctx, "td.actions button")
	wantText(t, ctx, "Token revoked")
	if st, _ := apiJSON(t, "GET", s.URL+"/scim/v2/Users", token, ""); st != http.StatusUnauthorized {
		t.Fatalf("the revoked token on SCIM: %d", st)
	}

	// Management apps: add, rotate, refuse to delete the last, delete.
	open(t, ctx, s.URL+"/portal/settings/management-apps")
	fill(t, ctx, "#a-name", "Ops automation")
	submit(t, ctx, "#new-app button[type=submit]")
	wantText(t, ctx, "was created", "you won't see it again")
	first, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret-value")))
	submit(t, ctx, "#rot-h ~ form button")
	wantText(t, ctx, "A new client secret was issued")
	second, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret-value")))
	if first == "" || second == "" || first == second {
		t.Fatalf("secrets at creation and rotation: %q, %q", first, second)
	}
	fill(t, ctx, "#aconfirm", "Ops automation")
	submit(t, ctx, ".danger-zone button[type=submit]")
	wantText(t, ctx, "last management app")
	open(t, ctx, s.URL+"/portal/settings/management-apps")
	fill(t, ctx, "#a-name", "Backup ops")
	submit(t, ctx, "#new-app button[type=submit]")
	open(t, ctx, s.URL+"/portal/settings/management-apps")
	wantText(t, ctx, "Ops automation", "Backup ops")
	submit(t, ctx, `a[href^="/portal/settings/management-apps/"]`) // the first: Ops automation
	wantText(t, ctx, "Rotate secret")
	fill(t, ctx, "#aconfirm", "Ops automation")
	submit(t, ctx, ".danger-zone button[type=submit]")
	wantText(t, ctx, "Ops automation deleted.")

	open(t, ctx, s.URL+"/portal/audit?actor="+url.QueryEscape(adminEmail))
	wantText(t, ctx, "createApiToken", "deleteApiToken", "createMgmtApp", "rotateClientSecret", "deleteMgmtApp", "adminSignIn")
}

func TestBrowserFormWithoutCSRFTokenIsRefused(t *testing.T) {
	s := newServer(t)
	ctx := tab(t)
	signIn(t, ctx, s)
	b(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('#new-user input[name=csrf]').forEach(e => e.remove())`))
	fill(t, ctx, "#n-email", "csrf@example.com")
	submit(t, ctx, "#new-user button[type=submit]")
	wantText(t, ctx, "security token is missing or out of date")
	if _, err := s.svc.FindUser(context.Background(), directory.System, storage.FieldEmail, "csrf@example.com"); directory.KindOf(err) != directory.KindNotFound {
		t.Fatalf("the refused form created the user: %v", err)
	}
}

func TestBrowserExpiredSessionRedirectsToSignIn(t *testing.T) {
	s := newServer(t)
	ctx := tab(t)
	signIn(t, ctx, s)
	s.clock.add(directory.SessionIdle + time.Minute)
	open(t, ctx, s.URL+"/portal/groups")
	wantPath(t, ctx, "/portal/signin")
	wantText(t, ctx, "Your session has ended")
	// Signing in again goes back to the page asked for.
	fill(t, ctx, "#email", adminEmail, "#password", adminPW)
	submit(t, ctx, "form button[type=submit]")
	wantPath(t, ctx, "/portal/groups")
}

// TestPortalRefusesOtherCredentials: no credential but a portal session opens
// a page; API tokens, end-user passwords and forged cookies get the sign-in
// page and no data.
func TestPortalRefusesOtherCredentials(t *testing.T) {
	s := newServer(t)
	bg := context.Background()
	u := &schemas.User{UserName: "enduser", Emails: []schemas.Email{{Value: "secret-person@example.com", Primary: true}}}
	if _, err := s.svc.CreateUser(bg, directory.System, u, &directory.PasswordInput{Password: "end-user-password"}); err != nil {
		t.Fatal(err)
	}
	tok := mgmtToken(t, s)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for name, set := range map[string]func(*http.Request){
		"management token": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) },
		"forged cookie":    func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "scimd_session", Value: directory.NewSecret()}) },
		"nothing":          func(*http.Request) {},
	} {
		for _, p := range []string{"/portal/users", "/portal/audit", "/portal/admins", "/portal/settings/tokens"} {
			req, _ := http.NewRequest("GET", s.URL+p, nil)
			set(req)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/portal/signin") ||
				strings.Contains(string(body), "secret-person") {
				t.Errorf("%s on %s: %d %s", name, p, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}
	// An end user's password does not open the portal.
	resp, err := noRedirect.PostForm(s.URL+"/portal/signin", url.Values{"email": {"secret-person@example.com"}, "password": {"end-user-password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("end-user sign-in: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
}

// TestPortalSessionCookieAndHeaders checks the cookie's attributes, the
// security headers and a POST without the CSRF token from a plain client.
func TestPortalSessionCookieAndHeaders(t *testing.T) {
	s := newServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(s.URL+"/portal/signin", url.Values{"email": {adminEmail}, "password": {adminPW}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	set := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"scimd_session=", "Path=/portal/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("session cookie over plain HTTP is Secure: %q", set)
	}
	resp, err = c.Get(s.URL + "/portal/users")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s: %q, want %q", h, resp.Header.Get(h), want)
		}
	}
	resp, err = c.PostForm(s.URL+"/portal/groups", url.Values{"name": {"Forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without a CSRF token: %d", resp.StatusCode)
	}
	page, _ := s.svc.ListGroups(context.Background(), directory.System, storage.Query{Limit: 0})
	if page.Total != 0 {
		t.Fatal("the refused POST created a group")
	}
}

// TestBrowserScreenshots visits every page at 1280×800 (and the users list at
// phone width) and, with SCIMD_UPDATE_SCREENSHOTS=1, writes the PNGs of
// docs/portal.md.
func TestBrowserScreenshots(t *testing.T) {
	s := newServer(t)
	ctx := tab(t)
	bg := context.Background()
	payroll, _, _ := s.svc.CreateApp(bg, directory.System, schemas.AppRegular, &schemas.App{Name: "Payroll", Description: "HR and payroll portal"})
	s.svc.CreateApp(bg, directory.System, schemas.AppRegular, &schemas.App{Name: "Intranet"})
	s.svc.CreateApp(bg, directory.System, schemas.AppManagement, &schemas.App{Name: "Terraform", Description: "Infrastructure automation"})
	eng, _ := s.svc.CreateGroup(bg, directory.System, &schemas.Group{DisplayName: "Engineering", Description: "Everyone who ships code"}, nil)
	s.svc.CreateGroup(bg, directory.System, &schemas.Group{DisplayName: "Finance"}, nil)
	people := [][3]string{{"Ada", "Lovelace", "ada"}, {"Grace", "Hopper", "grace"}, {"Alan", "Turing", "alan"}, {"Katherine", "Johnson", "katherine"},
		{"Edsger", "Dijkstra", "edsger"}, {"Barbara", "Liskov", "barbara"}, {"Ken", "Thompson", "ken"}, {"Margaret", "Hamilton", "margaret"}}
	var ada string
	for i, p := range people {
		u := &schemas.User{UserName: p[2], Name: schemas.Name{GivenName: p[0], FamilyName: p[1]},
			Emails:       []schemas.Email{{Value: p[2] + "@example.com", Primary: true, Verified: i%2 == 0}},
			PhoneNumbers: []schemas.PhoneNumber{{Value: fmt.Sprintf("+1212555%04d", 100+i), Primary: true}},
			CustomData:   map[string]any{"department": "R&D", "employee_no": json.Number(fmt.Sprint(1000 + i))},
			Apps:         map[string]*schemas.AppLink{payroll.ID: {ExternalAccountID: "pay-" + p[2]}}}
		if i == 3 {
			u.Status = schemas.StatusDisabled
		}
		if i == 0 {
			u.Emails = append(u.Emails, schemas.Email{Value: "ada.lovelace@home.example"})
		}
		created, err := s.svc.CreateUser(bg, directory.System, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			ada = created.ID
		}
		s.svc.AddMembers(bg, directory.System, eng.ID, []string{created.ID})
	}
	if _, _, err := s.svc.CreateAPIToken(bg, directory.System, "Okta production", "", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	shots := []struct{ name, path, action string }{
		{"signin", "/portal/signin", ""},
	}
	// Every page records what its Content-Security-Policy blocked: nothing
	// may be (no inline script or style, no foreign resource).
	b(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__csp = []; document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`})
		return err
	}))
	noViolations := func(name string) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string]("JSON.stringify(window.__csp || null)"))
		if err != nil || v != "[]" {
			t.Fatalf("page %s: Content-Security-Policy violations %s (%v)", name, v, err)
		}
	}
	write := os.Getenv("SCIMD_UPDATE_SCREENSHOTS") == "1"
	dir := filepath.Join("..", "docs", "images", "portal")
	shoot := func(name string) {
		t.Helper()
		noViolations(name)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil || len(png) < 1000 {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if write {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, sh := range shots {
		open(t, ctx, s.URL+sh.path)
		shoot(sh.name)
	}
	signIn(t, ctx, s)
	for _, sh := range []struct{ name, path string }{
		{"users", "/portal/users"},
		{"user", "/portal/users/" + ada},
		{"groups", "/portal/groups"},
		{"group", "/portal/groups/" + eng.ID},
		{"apps", "/portal/apps"},
		{"app", "/portal/apps/" + payroll.ID},
		{"management-apps", "/portal/settings/management-apps"},
		{"tokens", "/portal/settings/tokens"},
		{"audit", "/portal/audit"},
		{"admins", "/portal/admins"},
	} {
		open(t, ctx, s.URL+sh.path)
		wantNoText(t, ctx, "Something went wrong")
		shoot(sh.name)
	}
	// A secret shown once, and the users list on a phone.
	open(t, ctx, s.URL+"/portal/settings/tokens")
	fill(t, ctx, "#t-desc", "Entra ID")
	submit(t, ctx, "#new-token button[type=submit]")
	shoot("token-created")
	b(t, ctx, chromedp.EmulateViewport(390, 844))
	open(t, ctx, s.URL+"/portal/users")
	shoot("users-phone")
}

// TestBrowserWorksWithoutJavaScript signs in, creates a user and disables
// it with script execution turned off in the page: the portal needs no
// JavaScript.
func TestBrowserWorksWithoutJavaScript(t *testing.T) {
	s := newServer(t)
	ctx := tab(t)
	b(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	signIn(t, ctx, s)
	// Scripts are really off: copy.js would have shown the Copy button.
	open(t, ctx, s.URL+"/portal/settings/tokens")
	submit(t, ctx, "#new-token button[type=submit]")
	wantText(t, ctx, "Token created.")
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("document.querySelector('button.copy').hidden")); err != nil || !hidden {
		t.Fatalf("the Copy button is shown (%v): scripts ran", err)
	}
	open(t, ctx, s.URL+"/portal/users")
	fill(t, ctx, "#n-email", "nojs@example.com")
	submit(t, ctx, "#new-user button[type=submit]")
	wantText(t, ctx, "User created.")
	submit(t, ctx, ".head form button[type=submit]")
	wantText(t, ctx, "User disabled.")
	u, err := s.svc.FindUser(context.Background(), directory.System, storage.FieldEmail, "nojs@example.com")
	if err != nil || u.Status != schemas.StatusDisabled {
		t.Fatalf("the user made without JavaScript: %+v, %v", u, err)
	}
}

// TestBrowserContactsAndSortHeaders adds, changes and removes a user's
// secondary email and phone number on its page, and sorts the users list by
// its column headers — with scripts turned off, as both need none. What the
// portal wrote, the native API reads back.
func TestBrowserContactsAndSortHeaders(t *testing.T) {
	s := newServer(t)
	ctx := tab(t)
	bg := context.Background()
	b(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	var ids []string
	for i, n := range []string{"bravo", "alpha", "charlie"} {
		u, err := s.svc.CreateUser(bg, directory.System, &schemas.User{UserName: n, Emails: []schemas.Email{{Value: n + "@example.com", Primary: true}},
			PhoneNumbers: []schemas.PhoneNumber{{Value: fmt.Sprintf("+1212555010%d", i), Primary: true}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	signIn(t, ctx, s)

	// Sorting by the column headers: a click sorts ascending, the next one
	// descending; the header says which (aria-sort).
	rows := func() string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`[...document.querySelectorAll('tbody tr td:nth-child(2)')].map(td => td.textContent).join(' ')`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	ariaSort := func(label string) string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`[...document.querySelectorAll('th.sortable')].filter(th => th.textContent.startsWith('`+label+`')).map(th => th.getAttribute('aria-sort') || 'none').join()`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := rows(); got != "bravo alpha charlie" || ariaSort("Created") != "ascending" || ariaSort("Username") != "none" {
		t.Fatalf("the first list: %q, Created %s, Username %s", got, ariaSort("Created"), ariaSort("Username"))
	}
	submit(t, ctx, `th.sortable a[href*="sort=userName"]`)
	if got := rows(); got != "alpha bravo charlie" || ariaSort("Username") != "ascending" || ariaSort("Created") != "none" {
		t.Fatalf("sorted by username: %q, Username %s, Created %s", got, ariaSort("Username"), ariaSort("Created"))
	}
	submit(t, ctx, `th.sortable a[href*="sort=userName"]`)
	if got := rows(); got != "charlie bravo alpha" || ariaSort("Username") != "descending" {
		t.Fatalf("sorted by username again: %q, Username %s", got, ariaSort("Username"))
	}

	// Contacts: an address the user has already is refused next to its field; good ones are
	// added, one phone number as the new primary; a secondary is changed from
	// its row, then removed.
	path := "/portal/users/" + ids[0]
	open(t, ctx, s.URL+path)
	fill(t, ctx, "#add-email", "BRAVO@example.com") // the primary again
	submit(t, ctx, "#add-email-form button[type=submit]")
	b(t, ctx, chromedp.WaitVisible(chromedp.CSS("#add-email-form .field-error")))
	wantText(t, ctx, "listed twice")
	fill(t, ctx, "#add-email", "bravo@home.example")
	submit(t, ctx, "#add-email-form button[type=submit]")
	wantText(t, ctx, "bravo@home.example added.")
	fill(t, ctx, "#add-phone", "+12125550199")
	b(t, ctx, chromedp.Click(chromedp.CSS(`#add-phone-form input[name=primary]`), chromedp.NodeVisible))
	submit(t, ctx, "#add-phone-form button[type=submit]")
	wantText(t, ctx, "+12125550199 added as the primary phone number.")
	b(t, ctx, chromedp.Click(chromedp.Search(`//td[starts-with(., "bravo@home.example")]/..//summary`), chromedp.NodeVisible))
	fill(t, ctx, "#edit-email-1", "bravo@work.example")
	submit(t, ctx, "#edit-email-1 ~ button[type=submit]")
	wantText(t, ctx, "bravo@home.example changed to bravo@work.example.")

	st, nu := apiJSON(t, "GET", s.URL+"/cis/v1/users/"+ids[0], mgmtToken(t, s), "")
	res, _ := nu["result"].(map[string]any)
	if st != http.StatusOK || fmt.Sprint(res["secondary_emails"]) != "[map[email_verified:false value:bravo@work.example]]" ||
		fmt.Sprint(res["phone_number"]) != "map[phone_number_verified:false value:+12125550199]" ||
		fmt.Sprint(res["secondary_phone_numbers"]) != "[map[phone_number_verified:false value:+12125550100]]" {
		t.Fatalf("native view of the portal's contacts: %d %v", st, res)
	}

	submit(t, ctx, `tbody button[value="remove"]`) // the first: the secondary email's
	wantText(t, ctx, "bravo@work.example removed.")
	open(t, ctx, s.URL+"/portal/audit?target="+ids[0])
	wantText(t, ctx, "adminUpdateUser", "admin "+adminEmail, "bravo@work.example")
}
