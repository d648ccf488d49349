package native

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
)

// Options configures a Handler. Zero values select defaults.
type Options struct {
	// PublicURL is the externally visible base URL (scheme and host, no
	// trailing slash), used in the OpenID configuration and the OpenAPI
	// document; default: the directory's token issuer.
	PublicURL string
	// Logger receives request failures; default slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes caps every request body; default httpx.DefaultMaxBody.
	MaxBodyBytes int64
	// CORSOrigins are the browser origins ("https://admin.example.com", or "*"
	// for any) allowed to call the native API across origins; none by default.
	CORSOrigins []string
}

// Handler serves the native API over one directory.Service.
type Handler struct {
	svc     *directory.Service
	log     *slog.Logger
	public  string
	maxBody int64
	cors    []string
	router  *mux.Router
}

// New returns a Handler for svc.
func New(svc *directory.Service, opts Options) *Handler {
	h := &Handler{svc: svc, log: opts.Logger, public: strings.TrimRight(opts.PublicURL, "/"), maxBody: opts.MaxBodyBytes, cors: opts.CORSOrigins}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.public == "" {
		h.public = strings.TrimRight(svc.Issuer(), "/")
	}
	if h.maxBody <= 0 {
		h.maxBody = httpx.DefaultMaxBody
	}
	h.router = h.newRouter()
	return h
}

// Register mounts the native API on mux: everything under /oidc/ (the token
// endpoint and keys; the rest answers that it is out of scope), the OpenID
// configuration, everything under /cis/v1/, the OpenAPI document, and
// Transmit's event-streaming base /activities/ (out of scope).
//
// The mounts are derived from the route table and outOfScope (see mounts),
// so a new route needs no second registration.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range h.mounts() {
		mux.Handle(p, h)
	}
}

// mounts returns the ServeMux patterns that reach every route and every
// out-of-scope path: a path of three or more segments is reached through
// its first two ("/cis/v1/"), a path ending in "/" is a prefix already, any
// other path is mounted exactly. A path under a prefix mount adds nothing.
func (h *Handler) mounts() []string {
	var paths []string
	for _, o := range outOfScope {
		paths = append(paths, o.path)
	}
	for _, rt := range h.routes() {
		paths = append(paths, rt.path)
	}
	var out []string
	for _, p := range paths {
		if seg := strings.Split(strings.Trim(p, "/"), "/"); len(seg) >= 3 {
			p = "/" + seg[0] + "/" + seg[1] + "/"
		}
		if !slices.ContainsFunc(out, func(m string) bool { return m == p || strings.HasSuffix(m, "/") && strings.HasPrefix(p, m) }) {
			out = append(out, p)
		}
	}
	return slices.DeleteFunc(out, func(p string) bool {
		return slices.ContainsFunc(out, func(m string) bool { return m != p && strings.HasSuffix(m, "/") && strings.HasPrefix(p, m) })
	})
}

// ServeHTTP serves one request of the native API, with CORS for the allowed
// origins: a preflight (OPTIONS with Access-Control-Request-Method) from one is
// answered 204 with the methods of the path; any other request from one gets
// Access-Control-Allow-Origin. Requests from other origins get no CORS
// headers, so browsers keep them from reading the answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(h.cors) > 0 {
		w.Header().Add("Vary", "Origin")
		if allow := h.corsOrigin(r.Header.Get("Origin")); allow != "" {
			hd := w.Header()
			hd.Set("Access-Control-Allow-Origin", allow)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				methods := allowedMethods(h.router, r)
				if slices.Contains(methods, http.MethodGet) {
					methods = append(methods, http.MethodHead)
				}
				if len(methods) > 0 {
					hd.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
					hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, X-Request-Id")
					hd.Set("Access-Control-Max-Age", "600")
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			hd.Set("Access-Control-Expose-Headers", "ETag, Location, Retry-After, X-Request-Id")
		}
	}
	h.router.ServeHTTP(w, r)
}

// corsOrigin is the Access-Control-Allow-Origin value for origin: origin
// itself when listed, "*" when any origin is allowed, "" otherwise.
func (h *Handler) corsOrigin(origin string) string {
	if origin == "" {
		return ""
	}
	for _, o := range h.cors {
		if o == "*" {
			return "*"
		}
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return origin
		}
	}
	return ""
}
