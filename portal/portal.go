package portal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
)

//go:embed assets templates
var files embed.FS

// Cookie names.
const (
	sessionCookie = "scimd_session"
	flashCookie   = "scimd_flash"
)

// maxFormBytes caps a portal form: custom_data is at most 500 KB of JSON,
// which URL-encoding can triple.
const maxFormBytes = 2 << 20

// Options configures a Handler.
type Options struct {
	// PublicURL is the externally visible base URL (no trailing slash): the
	// SCIM base URLs shown to administrators derive from it, and the session
	// cookie is Secure when it is https. Default: the directory's issuer.
	PublicURL string
	// Logger receives server faults; default slog.Default().
	Logger *slog.Logger
}

// Handler serves the Admin Portal.
type Handler struct {
	svc    *directory.Service
	log    *slog.Logger
	public string
	mux    *http.ServeMux
	pages  map[string]*template.Template
	static http.Handler
}

// New returns the portal over svc.
func New(svc *directory.Service, opts Options) *Handler {
	h := &Handler{svc: svc, log: opts.Logger, public: strings.TrimRight(opts.PublicURL, "/")}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.public == "" {
		h.public = strings.TrimRight(svc.Issuer(), "/")
	}
	h.pages = parsePages()
	assets, _ := fs.Sub(files, "assets")
	h.static = http.StripPrefix("/portal/static/", http.FileServerFS(assets))
	h.mux = http.NewServeMux()
	h.routes()
	return h
}

// Register mounts the portal on mux: everything under /portal/, and / which
// redirects to it.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("/portal/", h)
	mux.Handle("/portal", http.RedirectHandler("/portal/", http.StatusFound))
	mux.Handle("GET /{$}", http.RedirectHandler("/portal/", http.StatusFound))
}

// ServeHTTP serves one portal request with the portal's security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/portal/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

// call is one request of a signed-in administrator.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	p     directory.Principal
	token string // the session token from the cookie
}

// csrfToken is the CSRF token of a session: an HMAC of a fixed label keyed
// with the session token. Only a page served to the cookie's holder has it.
func csrfToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("scimd portal csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// crossSite reports whether the browser says a request came from another
// site (Sec-Fetch-Site, or else an Origin naming another host).
func crossSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default:
		return true
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err != nil || u.Host != r.Host
	}
	return false
}

// secure reports whether cookies must be Secure: the request came over TLS
// (directly, or to a trusted proxy that says so), or the public URL is https.
func (h *Handler) secure(r *http.Request) bool {
	return httpx.Scheme(r) == "https" || strings.HasPrefix(h.public, "https://")
}

// authed wraps a page of signed-in administrators: it resolves the session
// (an absent, unknown or expired one redirects to the sign-in page), and on
// POST it demands the form's CSRF token and a same-site origin.
func (h *Handler) authed(fn func(c *call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var token string
		if ck, err := r.Cookie(sessionCookie); err == nil {
			token = ck.Value
		}
		p, err := h.svc.Session(r.Context(), token, httpx.ClientIP(r), r.UserAgent())
		if err != nil {
			if directory.KindOf(err) != directory.KindUnauthenticated {
				h.failPage(w, r, err)
				return
			}
			if token != "" {
				h.clearSession(w, r)
				h.setFlash(w, r, "info", "Your session has ended. Sign in again.")
			}
			next := ""
			if r.Method == http.MethodGet {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/portal/signin"+next, http.StatusSeeOther)
			return
		}
		c := &call{w: w, r: r, p: p, token: token}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				h.errorPage(c, http.StatusBadRequest, "The form could not be read (is it larger than 2 MB?).")
				return
			}
			if crossSite(r) || !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(csrfToken(token))) {
				h.errorPage(c, http.StatusForbidden, "This form was not sent from a current portal page (its security token is missing or out of date). Go back, reload the page and try again.")
				return
			}
		}
		fn(c)
	}
}

func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/portal/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure(r)})
}

// setFlash stores a one-time message for the next page.
func (h *Handler) setFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(kind + "\x00" + msg))
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: v, Path: "/portal/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure(r)})
}

// takeFlash reads and clears the one-time message.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request) (kind, msg string) {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return "", ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/portal/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secure(r)})
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return "", ""
	}
	kind, msg, ok := strings.Cut(string(b), "\x00")
	if !ok || (kind != "ok" && kind != "info" && kind != "error") {
		return "", ""
	}
	return kind, msg
}

// done redirects after a successful change, with a flash message.
func (c *call) done(h *Handler, to, msg string) {
	h.setFlash(c.w, c.r, "ok", msg)
	http.Redirect(c.w, c.r, to, http.StatusSeeOther)
}

// view is what every page template receives.
type view struct {
	Title     string
	Nav       string // the active navigation entry
	Admin     string // the signed-in administrator's id; "" on the sign-in page
	CSRF      string
	FlashKind string
	Flash     string
	Error     string            // a form-level error, in words
	Errors    map[string]string // field → error
	Form      url.Values        // the submitted form, to re-fill it after an error
	Data      any
}

// Val returns the submitted value of a form field, or def.
func (v *view) Val(name string, def any) string {
	if v.Form != nil && v.Form.Has(name) {
		return v.Form.Get(name)
	}
	if def == nil {
		return ""
	}
	return fmt.Sprint(def)
}

// render writes a page with status.
func (h *Handler) render(c *call, status int, name string, v *view) {
	if c != nil && c.p.ActorID != "" {
		v.Admin, v.CSRF = c.p.ActorID, csrfToken(c.token)
	}
	h.write(c.w, c.r, status, name, v)
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	if v.Flash == "" {
		v.FlashKind, v.Flash = h.takeFlash(w, r)
	}
	t, ok := h.pages[name]
	if !ok {
		panic("portal: no page " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		httpx.Fail(h.log, r, http.StatusInternalServerError, fmt.Errorf("portal: render %s: %w", name, err))
		http.Error(w, "The page could not be shown because of a server fault.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// status maps a directory error kind to the page's status code: the one
// mapping of the portal face.
func status(err error) int {
	switch directory.KindOf(err) {
	case directory.KindInvalid, directory.KindInvalidFilter, directory.KindInvalidPath,
		directory.KindNoTarget, directory.KindMutability:
		return http.StatusBadRequest
	case directory.KindNotFound:
		return http.StatusNotFound
	case directory.KindConflict:
		return http.StatusConflict
	case directory.KindPrecondition:
		return http.StatusPreconditionFailed
	case directory.KindUnauthenticated:
		return http.StatusUnauthorized
	case directory.KindForbidden:
		return http.StatusForbidden
	case directory.KindTooMany:
		return http.StatusBadRequest
	case directory.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case directory.KindRateLimited:
		return http.StatusTooManyRequests
	case directory.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// message is an error in words: the directory's message, never a server
// fault's internals.
func message(err error) string {
	var de *directory.Error
	if errors.As(err, &de) && de.Kind != directory.KindInternal {
		return de.Msg
	}
	return "Something went wrong on the server; the problem has been logged. Try again later."
}

// fail shows err on an error page.
func (h *Handler) fail(c *call, err error) {
	st := status(err)
	if st >= 500 {
		httpx.Fail(h.log, c.r, st, err)
	}
	if d := directory.RetryAfterOf(err); d > 0 {
		httpx.SetRetryAfter(c.w.Header(), st, d)
	}
	h.errorPage(c, st, message(err))
}

func (h *Handler) failPage(w http.ResponseWriter, r *http.Request, err error) {
	h.fail(&call{w: w, r: r}, err)
}

func (h *Handler) errorPage(c *call, st int, msg string) {
	h.render(c, st, "error", &view{Title: http.StatusText(st), Error: msg})
}

// actionDone ends an action posted from a detail page: after success the
// browser goes to back with msg as the flash; after err the page, read again
// by page(c, id), shows the error at its form (or, when the page cannot be
// read, an error page shows err).
func (h *Handler) actionDone(c *call, err error, name string, page func(*call, string) (*view, error), id, back, msg string) {
	if err == nil {
		c.done(h, back, msg)
		return
	}
	v, perr := page(c, id)
	if perr != nil {
		h.fail(c, err)
		return
	}
	h.formError(c, name, v, err)
}

// formError re-renders a form page after err: a field's error next to it,
// others on top.
func (h *Handler) formError(c *call, name string, v *view, err error) {
	st := status(err)
	if st >= 500 {
		h.fail(c, err)
		return
	}
	var de *directory.Error
	if v.Errors == nil {
		v.Errors = map[string]string{}
	}
	if errors.As(err, &de) && de.Field != "" {
		v.Errors[de.Field] = de.Msg
	}
	v.Error = message(err)
	v.Form = c.r.PostForm
	h.render(c, st, name, v)
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02")
	},
	"add":       func(a, b int) int { return a + b },
	"list":      func(s ...string) []string { return s },
	"secretBox": func(label, value string) map[string]string { return map[string]string{"Label": label, "Value": value} },
	"pg": func(p pager, base, q string) map[string]any {
		return map[string]any{"P": p, "Base": base, "Q": template.URL(q)}
	},
	"err":        func(m map[string]string, k string) string { return m[k] },
	"contactRow": contactRow,
	"q": func(kv ...any) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if s := fmt.Sprint(kv[i+1]); s != "" {
				v.Set(fmt.Sprint(kv[i]), s)
			}
		}
		return v.Encode()
	},
}

// parsePages parses every page template together with the layout.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html"))
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(files, n))
	}
	return pages
}
