package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/native"
	"github.com/scimd/scimd/portal"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage"
)

// newHandler builds the HTTP surface: the health endpoints, the native face
// (/cis/v1, /oidc, discovery, OpenAPI), the SCIM face (/cis/scim and /scim/v2)
// and the Admin Portal (/portal/, and / redirecting there),
// all on one mux behind httpx.AccessLog (one log line per request, panics
// recovered, every server error logged with its cause).
func newHandler(store storage.Store, svc *directory.Service, publicURL string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	native.New(svc, native.Options{PublicURL: publicURL, Logger: log}).Register(mux)
	scim.New(svc, scim.Options{PublicURL: publicURL, Logger: log}).Register(mux)
	portal.New(svc, portal.Options{PublicURL: publicURL, Logger: log}).Register(mux)
	registerOps(mux, store, svc, log)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
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
	return httpx.AccessLog(log, mux)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
