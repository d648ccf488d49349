package scim

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
)

// Bases are the URL prefixes the SCIM face is served under: Transmit's path
// and the conventional one.
var Bases = []string{transmitBase, rfcBase}

const (
	transmitBase = "/cis/scim" // Transmit's SCIM API
	rfcBase      = "/scim/v2"  // RFC 7644, for identity providers
)

// semantics are the behaviours that differ between the two bases: /cis/scim
// behaves like Transmit's SCIM API (a client written against its
// documentation keeps working), /scim/v2 like RFC 7644 (what IdPs expect).
// The same code serves both; only these switches differ.
type semantics struct {
	// mergePUT: a user PUT merges into the stored user (the attributes sent
	// replace theirs, the rest stays) instead of replacing it.
	mergePUT bool
	// transmitSort: sortBy also takes the Users API names email,
	// created_at, phone_number and last_auth.
	transmitSort bool
	// transmitErrors: error bodies are Transmit's ScimHttpError,
	// {"schemas": <the Error URN, a string>, "status": <a number>, "detail"},
	// instead of RFC 7644 §3.12's (schemas an array, status a string, scimType).
	transmitErrors bool
	// usersOnly: only the Users endpoints are served (Transmit's SCIM API
	// has no other resource), with discovery describing just them; every
	// other endpoint (Groups, Bulk, Me, the root queries) answers 501,
	// naming the base that serves it.
	usersOnly bool
}

var baseSemantics = map[string]semantics{
	transmitBase: {mergePUT: true, transmitSort: true, transmitErrors: true, usersOnly: true},
	rfcBase:      {},
}

// Defaults for zero Options fields.
const (
	DefaultMaxResults          = 1000
	DefaultBulkMaxOperations   = 1000
	DefaultBulkMaxPayloadBytes = 4 << 20
)

// Options configures the SCIM face. Zero values select defaults.
type Options struct {
	// PublicURL is the externally visible scheme://host[:port] of the server,
	// the prefix of every meta.location and Location header (the base the
	// request came in on is appended). When empty, the request's Host is used,
	// which is only safe behind a proxy that sets it: configure it in production.
	PublicURL string
	// Logger receives server faults; default slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies other than Bulk; default httpx.DefaultMaxBody.
	MaxBodyBytes int64
	// MaxResults caps the resources of one list response (SPC filter.maxResults); default 1000.
	MaxResults int
	// BulkMaxOperations caps the operations of one Bulk request; default 1000.
	BulkMaxOperations int
	// BulkMaxPayloadBytes caps a Bulk request body; default 4 MiB.
	BulkMaxPayloadBytes int64
}

// Handler serves the SCIM 2.0 API over a directory service. It is safe for
// concurrent use.
type Handler struct {
	svc       *directory.Service
	opts      Options
	log       *slog.Logger
	discovery map[bool]*discoveryDocs // by usersOnly (see semantics)
}

// New returns the SCIM face over svc.
func New(svc *directory.Service, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = httpx.DefaultMaxBody
	}
	if opts.MaxResults <= 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if opts.BulkMaxOperations <= 0 {
		opts.BulkMaxOperations = DefaultBulkMaxOperations
	}
	if opts.BulkMaxPayloadBytes <= 0 {
		opts.BulkMaxPayloadBytes = DefaultBulkMaxPayloadBytes
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	return &Handler{svc: svc, opts: opts, log: opts.Logger,
		discovery: map[bool]*discoveryDocs{false: newDiscoveryDocs(opts, false), true: newDiscoveryDocs(opts, true)}}
}

// Register mounts the SCIM face on mux under every base in Bases.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, base := range Bases {
		hb := h.ForBase(base)
		mux.Handle(base, hb)
		mux.Handle(base+"/", hb)
	}
}

// ForBase returns the handler for requests under one base path (e.g.
// "/cis/scim"); the request path must start with it.
func (h *Handler) ForBase(base string) http.Handler {
	m := &mount{base: strings.TrimRight(base, "/")}
	m.routes = newRouteLabels(m.base)
	if h.opts.PublicURL != "" {
		m.url = h.opts.PublicURL + m.base
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, m)
	})
}

// mount is what a base's requests share, made when it is mounted.
type mount struct {
	base   string
	routes routeLabels // its route labels
	url    string      // its absolute URL with a configured PublicURL, else ""
}

// serve is the wrapper in front of the library: it fixes the response media
// type, recovers from panics, authenticates and routes.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, m *mount) {
	base := m.base
	// The call and its writer in one allocation.
	c := &call{h: h, r: r, base: base, rest: strings.TrimPrefix(r.URL.Path, base), mount: m}
	c.sw.ResponseWriter = w
	c.w = &c.sw
	sw := &c.sw
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err := fmt.Errorf("scim: panic serving request: %v\n%s", v, debug.Stack())
			if sw.wrote {
				httpx.Fail(h.log, r, http.StatusInternalServerError, err)
			} else {
				h.writeError(sw, r, base, err)
			}
		}
	}()
	c.route()
	c.releaseBody()
}

// scimWriter makes every response application/scim+json, whoever writes it
// (the library sets the type without a charset).
type scimWriter struct {
	http.ResponseWriter
	wrote bool
}

const scimContentType = "application/scim+json; charset=utf-8"

// scimContentTypeValue is the Content-Type header value every response
// shares: assigned to the header map (under its canonical key) rather than
// Set, so a response does not allocate a slice of its own. Nothing may write
// into it; its capacity of 1 makes an Add copy instead.
var scimContentTypeValue = []string{scimContentType}

func (w *scimWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if status != http.StatusNoContent && status != http.StatusNotModified {
		if h := w.Header(); h.Get("Content-Type") != scimContentType { // writeBody has set it
			h["Content-Type"] = scimContentTypeValue
		}
	} else {
		w.Header().Del("Content-Type")
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *scimWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *scimWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
