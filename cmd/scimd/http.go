package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/native"
	"github.com/scimd/scimd/portal"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage"
)

// httpOptions configure newHandler. The zero value serves with defaults: no
// request log lines above debug level, no trusted proxy, no CORS, no metrics.
type httpOptions struct {
	// PublicURL is -public-url: the base of absolute URLs. When empty the SCIM
	// face builds them from the request (Host, and the scheme a trusted proxy
	// reports); the native face's discovery documents use the token issuer.
	PublicURL   string
	AccessLog   bool          // one info line per request
	Proxies     httpx.Proxies // see -trusted-proxies
	CORSOrigins []string      // see -cors-origins
	// Observe receives every answered request (metrics); nil for none.
	Observe func(httpx.Record)
	// RequestLog, when set, takes the request lines below error level (see
	// httpx.Options.RequestLog); nil logs them to the handler's log.
	RequestLog *slog.Logger
	// Metrics, when set, is served at /metrics on this handler.
	Metrics http.Handler
}

// newHandler builds the HTTP surface: the health endpoints, the native face
// (/cis/v1, /oidc, discovery, OpenAPI), the SCIM face (/cis/scim and /scim/v2)
// the Admin Portal (/portal/, and / redirecting there) and optionally
// /metrics, all on one mux behind httpx.AccessLog (request ids, client
// addresses, HEAD and OPTIONS, one log line per request, panics
// recovered, every server error logged with its cause).
func newHandler(store storage.Store, svc *directory.Service, log *slog.Logger, opts httpOptions) http.Handler {
	mux := http.NewServeMux()
	native.New(svc, native.Options{PublicURL: opts.PublicURL, Logger: log, CORSOrigins: opts.CORSOrigins}).Register(mux)
	scim.New(svc, scim.Options{PublicURL: opts.PublicURL, Logger: log}).Register(mux)
	portal.New(svc, portal.Options{PublicURL: opts.PublicURL, Logger: log}).Register(mux)
	v, c, d := buildInfo()
	registerOps(mux, store, svc, log)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": v, "commit": c, "build_date": d})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			httpx.Fail(log, r, http.StatusServiceUnavailable, fmt.Errorf("readiness check: %w", err))
			httpx.SetRetryAfter(w.Header(), http.StatusServiceUnavailable, 0)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "store unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	return httpx.AccessLog(log, httpx.Options{Requests: opts.AccessLog, Proxies: opts.Proxies, Observe: opts.Observe, RequestLog: opts.RequestLog}, mux)
}

// metricsHandler serves the -metrics-addr listener: /metrics and the Go
// profiler under /debug/pprof/, which is served nowhere else.
func metricsHandler(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// authFailureReasons are exported at zero from the start (see metrics.Zero).
var authFailureReasons = []string{
	directory.AuthFailureNoCredential, directory.AuthFailureInvalidToken, directory.AuthFailureExpired,
	directory.AuthFailureForeignIssuer, directory.AuthFailureRevoked, directory.AuthFailureAPIToken,
	directory.AuthFailureClientSecret, directory.AuthFailurePassword, directory.AuthFailureRateLimited,
	directory.AuthFailureLockedOut,
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
