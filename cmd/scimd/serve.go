package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/mongo"
)

// serve opens the store, bootstraps credentials, and serves HTTP until ctx is
// cancelled (SIGINT/SIGTERM), then lets in-flight requests finish.
func serve(ctx context.Context, cfg *config, stderr io.Writer) error {
	log := cfg.logger(stderr)
	directory.SetHashConcurrency(cfg.HashConcurrency)
	store, kind, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing store", "err", err)
		}
	}()

	// Listen before bootstrapping, so that a busy address fails before any
	// credentials are created or shown.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()

	base := publicURL(cfg, ln.Addr())
	svc := directory.New(store, directory.Options{Logger: log, Issuer: base})
	if err := svc.EnsureSigningKey(ctx); err != nil {
		return err
	}
	if err := bootstrap(ctx, cfg, svc, log, stderr); err != nil {
		return err
	}
	srv := httpx.NewServer(newHandler(store, svc, base, log), log)
	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	if cfg.KeyRotationEvery > 0 {
		go rotateKeys(bg, svc, cfg.KeyRotationEvery, log)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(httpx.LimitListener(ln, cfg.MaxConnections, log)) }()
	log.Info("listening", "addr", ln.Addr().String(), "store", kind, "version", version)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// publicURL is the configured public base URL, or one derived from the listener.
func publicURL(cfg *config, addr net.Addr) string {
	if cfg.PublicURL != "" {
		return strings.TrimRight(cfg.PublicURL, "/")
	}
	return "http://" + addr.String()
}

// openStore opens MongoDB when a URI is configured, the embedded store otherwise.
func openStore(ctx context.Context, cfg *config) (storage.Store, string, error) {
	if cfg.MongoURI != "" {
		s, err := mongo.Open(ctx, cfg.MongoURI, cfg.MongoDatabase)
		if err != nil {
			return nil, "", fmt.Errorf("open MongoDB store: %w", err)
		}
		return s, "mongodb", nil
	}
	s, err := embedded.Open(cfg.DataDir)
	if err != nil {
		return nil, "", fmt.Errorf("open embedded store: %w", err)
	}
	return s, "embedded", nil
}

// bootstrap makes sure an operator can sign in to the portal (with
// SCIMD_BOOTSTRAP_ADMIN_EMAIL/PASSWORD set, that administrator exists; an
// existing one keeps its password) and obtain an admin token: with
// SCIMD_BOOTSTRAP_CLIENT_ID/SECRET set, a management app with exactly those
// credentials exists; otherwise, on first start with an empty store, one is
// created and its credentials are printed to stderr, once.
func bootstrap(ctx context.Context, cfg *config, svc *directory.Service, log *slog.Logger, stderr io.Writer) error {
	if cfg.BootstrapAdminEmail != "" {
		created, err := svc.EnsureAdmin(ctx, cfg.BootstrapAdminEmail, cfg.BootstrapAdminPassword)
		if err != nil {
			return fmt.Errorf("bootstrap portal administrator: %w", err)
		}
		log.Info("bootstrap portal administrator ready", "email", cfg.BootstrapAdminEmail, "created", created)
	}
	if cfg.BootstrapID != "" {
		created, err := svc.EnsureManagementApp(ctx, cfg.BootstrapID, cfg.BootstrapSecret)
		if err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		log.Info("bootstrap management app ready", "client_id", cfg.BootstrapID, "created", created)
		return nil
	}
	id, secret, created, err := svc.BootstrapIfEmpty(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if created {
		// Deliberately not through the logger: this is shown once, to the operator.
		fmt.Fprintf(stderr, "\nscimd: created a management application on first start. Its secret is shown only now:\n"+
			"  client_id:     %s\n  client_secret: %s\n"+
			"Exchange them for an admin token at POST /oidc/token (grant_type=client_credentials).\n\n", id, secret)
	}
	return nil
}

// rotateKeys rotates the signing key whenever the active one is older than
// every (checked at start and then every every/24, at most hourly), until ctx
// ends. Replicas doing the same rotate once: the check is atomic in the store.
func rotateKeys(ctx context.Context, svc *directory.Service, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(min(every/24, time.Hour))
	defer tick.Stop()
	for {
		rotated, err := svc.RotateSigningKeyOlderThan(ctx, every)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("scheduled signing-key rotation failed", "err", err)
		case rotated:
			log.Info("signing key rotated on schedule", "every", every)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
