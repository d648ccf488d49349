package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/internal/metrics"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/mongo"
)

// accessLogFlush is how long a request line may wait in its buffer: what a
// crash can lose of the access log.
const accessLogFlush = 100 * time.Millisecond

// serve opens the store, bootstraps credentials, and serves HTTP until ctx is
// cancelled (SIGINT/SIGTERM), then lets in-flight requests finish.
func serve(ctx context.Context, cfg *config, stderr io.Writer) error {
	log := cfg.logger(stderr)
	directory.SetHashConcurrency(cfg.HashConcurrency)
	v, c, d := buildInfo()
	m := metrics.New(v, c, d)
	m.Zero(authFailureReasons, []string{"client", "user"})
	store, kind, err := openStoreWith(ctx, cfg, embedded.Options{OnCommit: m.Batch, SearchCacheBytes: cfg.searchCacheBytes, MappedBytes: cfg.mappedBytes})
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
	var mln net.Listener
	if cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on -metrics-addr %s: %w", cfg.MetricsAddr, err)
		}
		defer mln.Close()
	}

	base := publicURL(cfg, ln.Addr())
	if strings.HasPrefix(base, "http://") && cfg.TLSCert != "" && cfg.PublicURL == "" {
		base = "https://" + strings.TrimPrefix(base, "http://")
	}
	m.CountEntities(store)
	if b := backendOf(cfg); b.metrics != nil {
		b.metrics(m)
	}
	svc := directory.New(m.Store(store), directory.Options{Logger: log, Issuer: base, Observer: m,
		MasterKey: cfg.MasterKey, PreviousMasterKey: cfg.PreviousMasterKey})
	if err := svc.EnsureSigningKey(ctx); err != nil {
		return err
	}
	if err := bootstrap(ctx, cfg, svc, log, stderr); err != nil {
		return err
	}
	opts := httpOptions{PublicURL: cfg.PublicURL, AccessLog: cfg.AccessLog == "on",
		Proxies: cfg.proxies, CORSOrigins: cfg.corsOrigins(), Observe: m.Request}
	// Request lines are written in batches, at most accessLogFlush apart (a
	// write(2) per request cost more than formatting the line); Close below
	// writes out the last batch on a graceful stop. Everything else logged
	// (errors, 5xx request lines) goes out unbuffered.
	lines := httpx.NewLineBuffer(stderr, accessLogFlush)
	defer lines.Close()
	opts.RequestLog = cfg.logger(lines)
	if mln == nil {
		opts.Metrics = m.Handler()
	} else {
		msrv := httpx.NewServer(metricsHandler(m.Handler()), log)
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener failed", "err", err)
			}
		}()
		defer msrv.Close()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	srv := httpx.NewServer(newHandler(store, svc, log, opts), log)
	var certs *certReloader
	if cfg.TLSCert != "" {
		if certs, err = newCertReloader(cfg.TLSCert, cfg.TLSKey, log); err != nil {
			return err
		}
		srv.TLSConfig = tlsConfig(certs)
	}
	bg, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	if cfg.KeyRotationEvery > 0 {
		go rotateKeys(bg, svc, cfg.KeyRotationEvery, log)
	}
	if cfg.AuditRetentionFor > 0 {
		go pruneAudit(bg, store, cfg.AuditRetentionFor, log)
	}
	served := make(chan error, 1)
	go func() {
		l := httpx.LimitListener(ln, cfg.MaxConnections, log)
		if certs != nil {
			served <- srv.ServeTLS(l, "", "")
		} else {
			served <- srv.Serve(l)
		}
	}()
	log.Info("listening", "addr", ln.Addr().String(), "tls", certs != nil, "public_url", base, "store", kind, "version", v, "commit", c)

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
	_ = lines.Close() // before "stopped": every request line precedes it
	log.Info("stopped")
	return nil
}

// publicURL is the configured public base URL, or one derived from the
// listener. It is the issuer of every token: replicas behind one load balancer
// must share it, or a token issued by one is refused by the others.
func publicURL(cfg *config, addr net.Addr) string {
	if cfg.PublicURL != "" {
		return strings.TrimRight(cfg.PublicURL, "/")
	}
	return "http://" + addr.String()
}

// openStore opens the backend the configuration chooses (see backendOf).
func openStore(ctx context.Context, cfg *config) (storage.Store, string, error) {
	return openStoreWith(ctx, cfg, embedded.Options{})
}

// A backend is one storage implementation the binary links: its name (in
// logs and metrics) and label (in messages), its flags, when the
// configuration chooses it, what makes its configuration invalid, how it
// opens (embedded takes the embedded store's options, e.g. the metrics hook),
// and the metrics of its own it exports (nil: none).
type backend struct {
	name, label string
	flags       func(c *config) []envFlag
	chosen      func(c *config) bool // nil: the default, chosen when no other is
	check       func(c *config) []error
	open        func(ctx context.Context, cfg *config, opts embedded.Options) (storage.Store, error)
	metrics     func(m *metrics.Metrics)
}

// dataDirFlag is the embedded store's --data-dir (SCIMD_DATA_DIR, default
// ./data) filling dst: the one definition serve and the offline commands
// (backup, restore, compact: registerDataDir) share.
func dataDirFlag(usage string, dst *string) envFlag {
	return envFlag{"data-dir", "SCIMD_DATA_DIR", usage, "./data", dst}
}

// backends are the storage backends, the default last (dex's pattern: one
// registry in the composition root, and the only package that names a
// backend is cmd — internal/layers holds it to that). A new backend is one
// entry here and the config fields its flags fill.
var backends = []backend{
	{
		name: "mongodb", label: "MongoDB",
		flags: func(c *config) []envFlag {
			return []envFlag{
				{"mongodb-uri", "SCIMD_MONGODB_URI", "MongoDB connection URI; when set, MongoDB is the store instead of the embedded one", "", &c.MongoURI},
				{"mongodb-database", "SCIMD_MONGODB_DATABASE", "MongoDB database name", "scimd", &c.MongoDatabase},
			}
		},
		chosen: func(c *config) bool { return c.MongoURI != "" },
		check: func(c *config) []error {
			var errs []error
			if !strings.HasPrefix(c.MongoURI, "mongodb://") && !strings.HasPrefix(c.MongoURI, "mongodb+srv://") {
				errs = append(errs, errors.New("-mongodb-uri must start with mongodb:// or mongodb+srv://"))
			}
			if c.MongoDatabase == "" {
				errs = append(errs, errors.New("-mongodb-database must not be empty"))
			}
			return errs
		},
		open: func(ctx context.Context, cfg *config, _ embedded.Options) (storage.Store, error) {
			return mongo.Open(ctx, cfg.MongoURI, cfg.MongoDatabase)
		},
	},
	{
		name: "embedded", label: "embedded",
		flags: func(c *config) []envFlag {
			return []envFlag{dataDirFlag("data directory of the embedded store", &c.DataDir)}
		},
		check: func(c *config) []error {
			if c.DataDir == "" {
				return []error{errors.New("-data-dir must not be empty")}
			}
			return nil
		},
		open: func(_ context.Context, cfg *config, opts embedded.Options) (storage.Store, error) {
			return embedded.OpenWithOptions(cfg.DataDir, opts)
		},
		metrics: func(m *metrics.Metrics) {
			m.GaugeFunc("scimd_embedded_search_cache_bytes", fmt.Sprintf("Bytes of index values the embedded store's search cache holds (at most %d MiB by default).", embedded.DefaultSearchCacheBytes>>20),
				func() float64 { return float64(embedded.CachedBytes()) })
			m.CounterFunc("scimd_embedded_map_drops_total", fmt.Sprintf("Times the embedded store dropped its mappings of the file's pages, the process's resident share of the file having passed -mapped-mib (%d MiB by default).", embedded.DefaultMappedBytes>>20),
				func() float64 { return float64(embedded.MapDrops()) })
		},
	},
}

// backendOf is the backend the configuration chooses: the first that says
// so, else the default.
func backendOf(cfg *config) backend {
	for _, b := range backends {
		if b.chosen == nil || b.chosen(cfg) {
			return b
		}
	}
	panic("no default backend")
}

// openStoreWith is openStore with the embedded store's options.
func openStoreWith(ctx context.Context, cfg *config, opts embedded.Options) (storage.Store, string, error) {
	b := backendOf(cfg)
	s, err := b.open(ctx, cfg, opts)
	if err != nil {
		return nil, "", fmt.Errorf("open %s store: %w", b.label, err)
	}
	return s, b.name, nil
}

// bootstrapFile is the name, in the data directory, of the file that receives
// the credentials of the management app created on first start.
const bootstrapFile = "bootstrap-credentials"

// bootstrap makes sure an operator can sign in to the portal (with
// SCIMD_BOOTSTRAP_ADMIN_EMAIL/PASSWORD set, that administrator exists; an
// existing one keeps its password) and obtain an admin token: with
// SCIMD_BOOTSTRAP_CLIENT_ID/SECRET set, a management app with exactly those
// credentials exists; otherwise, on first start with an empty store, one is
// created and its credentials are written to bootstrapFile (mode 0600) in the
// data directory, and shown on stderr only when it is a terminal: the secret
// never goes into a log stream.
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
	if !created {
		return nil
	}
	file := filepath.Join(cfg.DataDir, bootstrapFile)
	text := fmt.Sprintf("client_id:     %s\nclient_secret: %s\n", id, secret)
	if err := writePrivateFile(file, []byte(text)); err != nil {
		return fmt.Errorf("bootstrap: created management application %s but could not save its secret: %w "+
			"(set SCIMD_BOOTSTRAP_CLIENT_ID and SCIMD_BOOTSTRAP_CLIENT_SECRET to create one with known credentials)", id, err)
	}
	log.Info("created a management application on first start; its credentials are in the file (delete it once stored safely)",
		"client_id", id, "file", file)
	if isTerminal(stderr) {
		// Deliberately not through the logger: this is shown once, to the operator at a terminal.
		fmt.Fprintf(stderr, "\nscimd: created a management application on first start:\n"+
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

// writePrivateFile writes data to path (replacing it) with mode 0600,
// creating the directory with mode 0700 if needed.
func writePrivateFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return replaceFile(path, path+".tmp", func(w *os.File) error {
		_, err := w.Write(data)
		return err
	}, nil)
}

// isTerminal reports whether w is a character device (a terminal), not a
// pipe or file that a log collector reads.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Audit retention: events older than the retention are deleted in batches of
// pruneBatch with a pause between batches, at start and every pruneEvery.
const (
	pruneBatch = 500
	pruneEvery = 10 * time.Minute
	prunePause = 50 * time.Millisecond
)

// pruneAudit deletes audit events older than retention until ctx ends.
func pruneAudit(ctx context.Context, store storage.Store, retention time.Duration, log *slog.Logger) {
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		cut := time.Now().UTC().Add(-retention)
		total := 0
		for {
			n, err := store.PruneEvents(ctx, cut, pruneBatch)
			total += n
			if err != nil {
				if ctx.Err() == nil {
					log.Error("audit retention: pruning failed", "err", err, "pruned", total)
				}
				break
			}
			if n < pruneBatch {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(prunePause):
			}
		}
		if total > 0 {
			log.Info("audit events pruned", "count", total, "older_than", cut.Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
