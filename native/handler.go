package native

import (
	"log/slog"
	"net/http"
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
}

// Handler serves the native API over one directory.Service.
type Handler struct {
	svc     *directory.Service
	log     *slog.Logger
	public  string
	maxBody int64
	router  *mux.Router
}

// New returns a Handler for svc.
func New(svc *directory.Service, opts Options) *Handler {
	h := &Handler{svc: svc, log: opts.Logger, public: strings.TrimRight(opts.PublicURL, "/"), maxBody: opts.MaxBodyBytes}
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
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range []string{"/oidc/", "/.well-known/openid-configuration", "/cis/v1/", "/cis/openapi.json", "/activities/"} {
		mux.Handle(p, h)
	}
}

// ServeHTTP serves one request of the native API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }
