package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/storage/embedded"
)

// config is the server configuration. Every flag has an environment variable;
// a flag given on the command line wins over the environment.
type config struct {
	Addr            string
	DataDir         string
	MongoURI        string
	MongoDatabase   string
	PublicURL       string
	LogLevel        string
	LogFormat       string
	BootstrapID     string
	BootstrapSecret string
	// BootstrapAdminEmail and BootstrapAdminPassword name a portal
	// administrator created at start unless it exists.
	BootstrapAdminEmail    string
	BootstrapAdminPassword string
	ShutdownTimeout        time.Duration
	MaxConnections         int
	HashConcurrency        int
	// KeyRotation is how old the active signing key may get before it is
	// rotated ("off" or "0": never); AuditRetention how long audit events are
	// kept ("" or "forever": always). Both take Go durations or whole days
	// ("400d"); validate parses them into KeyRotationEvery and AuditRetentionFor.
	KeyRotation       string
	AuditRetention    string
	KeyRotationEvery  time.Duration
	AuditRetentionFor time.Duration
	TLSCert           string
	TLSKey            string
	TrustedProxies    string
	CORSOrigins       string
	AccessLog         string
	MetricsAddr       string
	// SearchCacheMiB is the embedded store's search cache in MiB ("0":
	// none); validate parses it into searchCacheBytes (embedded.Options).
	SearchCacheMiB   string
	searchCacheBytes int
	// MappedMiB is how much of the embedded store's file the process keeps
	// mapped in MiB ("0": no bound); validate parses it into mappedBytes
	// (embedded.Options.MappedBytes).
	MappedMiB   string
	mappedBytes int
	proxies     httpx.Proxies // parsed TrustedProxies
	// MasterKey and PreviousMasterKey (SCIMD_MASTER_KEY,
	// SCIMD_MASTER_KEY_PREVIOUS; environment only) encrypt the signing keys at
	// rest (see masterKeys).
	MasterKey, PreviousMasterKey []byte
}

// masterKeys reads SCIMD_MASTER_KEY and SCIMD_MASTER_KEY_PREVIOUS (base64 of
// 32 bytes each; either may be unset).
func masterKeys(getenv func(string) string) (cur, prev []byte, err error) {
	var errs []error
	if v := getenv("SCIMD_MASTER_KEY"); v != "" {
		if cur, err = directory.ParseMasterKey(v); err != nil {
			errs = append(errs, fmt.Errorf("SCIMD_MASTER_KEY: %w", err))
		}
	}
	if v := getenv("SCIMD_MASTER_KEY_PREVIOUS"); v != "" {
		if prev, err = directory.ParseMasterKey(v); err != nil {
			errs = append(errs, fmt.Errorf("SCIMD_MASTER_KEY_PREVIOUS: %w", err))
		}
		if getenv("SCIMD_MASTER_KEY") == "" {
			errs = append(errs, errors.New("SCIMD_MASTER_KEY_PREVIOUS is set without SCIMD_MASTER_KEY"))
		}
	}
	return cur, prev, errors.Join(errs...)
}

// maxMiB bounds the -…-mib flags (64 GiB): a typo of a few digits must
// not make a cache the largest thing in the process.
const maxMiB = 64 << 10

// mibOption parses the value v of the flag -name: a whole number of MiB
// from 0 to maxMiB, in bytes, 0 being -1 (off, as embedded.Options has it).
func mibOption(name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < 0 || n > maxMiB:
		return 0, fmt.Errorf("invalid -%s %q: want a whole number of MiB from 0 (off) to %d", name, v, maxMiB)
	case n == 0:
		return -1, nil
	}
	return n << 20, nil
}

// envFlag ties a flag to its environment variable.
type envFlag struct {
	name, env, usage, def string
	dst                   *string
}

// register defines f on fs: the environment variable, when set, overrides
// the default, and the usage names it. Serve and every maintenance command
// register their shared flags (the backends', --data-dir) through it.
func (f envFlag) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(f.dst, f.name, envOr(getenv, f.env, f.def), f.usage+" (env "+f.env+")")
}

func (c *config) flags() []envFlag {
	return append(c.backendFlags(), []envFlag{
		{"addr", "SCIMD_ADDR", "listen address", "127.0.0.1:8080", &c.Addr},
		{"public-url", "SCIMD_PUBLIC_URL", "external base URL for absolute URLs (default http://<addr>)", "", &c.PublicURL},
		{"log-level", "SCIMD_LOG_LEVEL", "log level: debug, info, warn or error", "info", &c.LogLevel},
		{"log-format", "SCIMD_LOG_FORMAT", "log format: text or json", "text", &c.LogFormat},
		{"key-rotation", "SCIMD_KEY_ROTATION", "rotate the token signing key when it is this old (a duration such as 720h or 30d; off: never)", "720h", &c.KeyRotation},
		{"audit-retention", "SCIMD_AUDIT_RETENTION", "delete audit events older than this, in the background (a duration such as 400d; default: keep forever)", "forever", &c.AuditRetention},
		{"access-log", "SCIMD_ACCESS_LOG", "one log line per request at info level: on, or off (then at debug level)", "on", &c.AccessLog},
		{"tls-cert", "SCIMD_TLS_CERT", "PEM certificate (chain) file: serve HTTPS; re-read when it changes", "", &c.TLSCert},
		{"tls-key", "SCIMD_TLS_KEY", "PEM private key file of -tls-cert; re-read when it changes", "", &c.TLSKey},
		{"trusted-proxies", "SCIMD_TRUSTED_PROXIES", "comma-separated CIDRs or addresses of reverse proxies whose X-Forwarded-For/-Proto are believed", "", &c.TrustedProxies},
		{"metrics-addr", "SCIMD_METRICS_ADDR", "separate listen address for /metrics and /debug/pprof/ (then /metrics is not served on -addr)", "", &c.MetricsAddr},
		{"cors-origins", "SCIMD_CORS_ORIGINS", "comma-separated browser origins allowed to call the native API (\"*\" for any); none by default", "", &c.CORSOrigins},
		{"search-cache-mib", "SCIMD_SEARCH_CACHE_MIB", "MiB of index values the embedded store keeps in memory for substring searches; 0 turns the cache off", strconv.Itoa(embedded.DefaultSearchCacheBytes >> 20), &c.SearchCacheMiB},
		{"mapped-mib", "SCIMD_MAPPED_MIB", "MiB of the embedded store's file the process keeps mapped (in its RSS) before it drops the mappings, leaving the pages to the kernel's page cache; 0: no bound", strconv.Itoa(embedded.DefaultMappedBytes >> 20), &c.MappedMiB},
	}...)
}

// backendFlags are the flags of every storage backend (see backends).
func (c *config) backendFlags() []envFlag {
	var out []envFlag
	for _, b := range backends {
		out = append(out, b.flags(c)...)
	}
	return out
}

// parseConfig reads flags (args excludes the program and sub-command names) and
// the environment, and validates the result, reporting every problem at once.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{ShutdownTimeout: 30 * time.Second, MaxConnections: httpx.DefaultMaxConnections,
		HashConcurrency: directory.DefaultHashConcurrency()}
	fs := flag.NewFlagSet("scimd serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller as one line
	for _, f := range c.flags() {
		f.register(fs, getenv)
	}
	fs.IntVar(&c.MaxConnections, "max-connections", c.MaxConnections, "open client connections served at once; more are answered 503 and closed")
	fs.IntVar(&c.HashConcurrency, "hash-concurrency", c.HashConcurrency, "secret hashes (argon2id, 19 MiB each) computed at once: one per CPU, at most 4, unless set")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests may take to finish on SIGTERM")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: scimd serve [flags]")
			fs.PrintDefaults()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	// Secrets come only from the environment: command lines are visible to every local user.
	c.BootstrapID = getenv("SCIMD_BOOTSTRAP_CLIENT_ID")
	c.BootstrapSecret = getenv("SCIMD_BOOTSTRAP_CLIENT_SECRET")
	var keyErr error
	c.MasterKey, c.PreviousMasterKey, keyErr = masterKeys(getenv)
	if keyErr != nil {
		return c, errors.Join(keyErr, c.validate())
	}
	c.BootstrapAdminEmail = getenv("SCIMD_BOOTSTRAP_ADMIN_EMAIL")
	c.BootstrapAdminPassword = getenv("SCIMD_BOOTSTRAP_ADMIN_PASSWORD")
	return c, c.validate()
}

func (c *config) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("invalid -addr %q: %v", c.Addr, err))
	}
	errs = append(errs, backendOf(c).check(c)...)
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("invalid -public-url %q: want http(s)://host[:port][/path]", c.PublicURL))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("-tls-cert and -tls-key must be set together"))
	}
	if ps, err := httpx.ParseProxies(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("-trusted-proxies: %v", err))
	} else {
		c.proxies = ps
	}
	for _, o := range c.corsOrigins() {
		if u, err := url.Parse(o); o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "") {
			errs = append(errs, fmt.Errorf("invalid -cors-origins entry %q: want scheme://host[:port] or *", o))
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("invalid -metrics-addr %q: %v", c.MetricsAddr, err))
		}
	}
	if c.AccessLog != "on" && c.AccessLog != "off" {
		errs = append(errs, fmt.Errorf("invalid -access-log %q: want on or off", c.AccessLog))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("invalid -log-format %q: want text or json", c.LogFormat))
	}
	if (c.BootstrapID == "") != (c.BootstrapSecret == "") {
		errs = append(errs, errors.New("SCIMD_BOOTSTRAP_CLIENT_ID and SCIMD_BOOTSTRAP_CLIENT_SECRET must be set together"))
	}
	if (c.BootstrapAdminEmail == "") != (c.BootstrapAdminPassword == "") {
		errs = append(errs, errors.New("SCIMD_BOOTSTRAP_ADMIN_EMAIL and SCIMD_BOOTSTRAP_ADMIN_PASSWORD must be set together"))
	}
	if c.MaxConnections < 1 {
		errs = append(errs, errors.New("-max-connections must be at least 1"))
	}
	if c.HashConcurrency < 1 {
		errs = append(errs, errors.New("-hash-concurrency must be at least 1"))
	}
	var err error
	if c.searchCacheBytes, err = mibOption("search-cache-mib", c.SearchCacheMiB); err != nil {
		errs = append(errs, err)
	}
	if c.mappedBytes, err = mibOption("mapped-mib", c.MappedMiB); err != nil {
		errs = append(errs, err)
	}
	switch c.KeyRotation {
	case "off", "0":
		c.KeyRotationEvery = 0
	default:
		d, err := parseDays(c.KeyRotation)
		if err != nil || d < 2*time.Hour {
			errs = append(errs, fmt.Errorf("invalid -key-rotation %q: want a duration of at least 2h (720h, 30d) or off", c.KeyRotation))
		}
		c.KeyRotationEvery = d
	}
	switch c.AuditRetention {
	case "", "forever":
		c.AuditRetentionFor = 0
	default:
		d, err := parseDays(c.AuditRetention)
		if err != nil || d < time.Hour {
			errs = append(errs, fmt.Errorf("invalid -audit-retention %q: want a duration of at least 1h (400d, 2160h) or forever", c.AuditRetention))
		}
		c.AuditRetentionFor = d
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("-shutdown-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// corsOrigins lists the -cors-origins entries.
func (c *config) corsOrigins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("invalid -log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func (c *config) logger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel) // validated
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = httpx.NewTextHandler(w, opts) // slog's text; request lines written directly
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(httpx.LogHandler(h))
}
