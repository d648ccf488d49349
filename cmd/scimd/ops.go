package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
)

// backuper is a store that can copy itself consistently while it serves
// (the embedded store; MongoDB is backed up with mongodump).
type backuper interface {
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// Operations endpoints, for a management application's token (admin scope):
//
//	GET  /admin/v1/backup       a consistent copy of the embedded store's file (application/octet-stream)
//	POST /admin/v1/keys/rotate  start signing with a new key (the old one verifies until its tokens expired)
func registerOps(mux *http.ServeMux, store storage.Store, svc *directory.Service, log *slog.Logger) {
	authorized := func(w http.ResponseWriter, r *http.Request) bool {
		p, err := svc.Authenticate(r.Context(), httpx.BearerToken(r))
		switch {
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "message": "a valid access token is required"})
		case !p.MayOperate():
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "forbidden", "message": "operations need a management application's token with the admin scope"})
		default:
			return true
		}
		return false
	}
	mux.HandleFunc("GET /admin/v1/backup", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		b, ok := store.(backuper)
		if !ok {
			writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "not_implemented",
				"message": "this store is MongoDB: back it up with mongodump (see docs/operations.md)"})
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="scimd.db"`)
		if r.Method == http.MethodHead {
			return // no copy for a HEAD (the GET pattern also serves HEAD)
		}
		n, err := b.Backup(r.Context(), w)
		if err != nil {
			// The status is sent: the client sees a short body (the copy
			// announces its size in the bbolt meta page; scimd backup checks it).
			httpx.Fail(log, r, http.StatusInternalServerError, fmt.Errorf("backup after %d bytes: %w", n, err))
			return
		}
		log.Info("online backup taken", "bytes", n)
	})
	mux.HandleFunc("POST /admin/v1/keys/rotate", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		if err := svc.RotateSigningKey(r.Context()); err != nil {
			httpx.Fail(log, r, http.StatusInternalServerError, err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "message": "the key could not be rotated"})
			return
		}
		log.Info("signing key rotated on demand")
		writeJSON(w, http.StatusOK, map[string]string{"status": "rotated"})
	})
}

func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// parseDays is time.ParseDuration that also takes whole days ("400d").
func parseDays(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// runBackup is `scimd backup`: online through a running server (--url, with
// an admin access token in SCIMD_TOKEN), or else offline from a data
// directory no server holds (--data-dir, defaulted as serve's). The copy is written next to --out, synced,
// checked to open as a scimd store, and renamed into place (writeStore).
func runBackup(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "base URL of a running scimd to back up online (admin token in SCIMD_TOKEN)")
	dataDir := registerDataDir(fs, getenv, "data directory to back up offline when --url is not given (no server may be running on it)")
	out := fs.String("out", "", "file to write the backup to")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if *out == "" || *rawURL != "" && flagSet(fs, "data-dir") {
		fmt.Fprintln(stderr, "scimd: backup needs --out and at most one of --url (online) or --data-dir (offline)")
		return exitUsage
	}
	start := time.Now()
	var n int64
	err := writeStore(*out, func(f *os.File) error {
		var err error
		if *rawURL != "" {
			n, err = backupOnline(ctx, *rawURL, getenv("SCIMD_TOKEN"), f)
			return err
		}
		s, err := embedded.OpenExisting(*dataDir)
		if err != nil {
			return err
		}
		n, err = s.Backup(ctx, f)
		return errors.Join(err, s.Close())
	}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: backup: %s\n", oneLine(err))
		return exitFailure
	}
	fmt.Fprintf(stderr, "scimd: backup of %d bytes written to %s in %s\n", n, *out, time.Since(start).Round(time.Millisecond))
	return exitOK
}

func backupOnline(ctx context.Context, base, token string, w io.Writer) (int64, error) {
	if token == "" {
		return 0, errors.New("set SCIMD_TOKEN to an admin access token (a management application's client-credentials token)")
	}
	u, err := url.JoinPath(base, "/admin/v1/backup")
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Message string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		return 0, fmt.Errorf("%s: %s %s", u, resp.Status, e.Message)
	}
	return io.Copy(w, resp.Body)
}

// writeStore writes the store file path through a scratch directory beside
// it: write fills the store file there, which is synced and checked where it
// lies by opening it as a scimd store (read fully, as at start: a truncated
// or foreign file fails here) and closing it; then before (when not nil)
// runs, and only then is the file renamed over path. On any failure the
// scratch directory is removed and path is left as it was.
func writeStore(path string, write func(*os.File) error, before func() error) error {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".scimd-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return replaceFile(path, filepath.Join(dir, embedded.FileName), write, func() error {
		s, err := embedded.Open(dir)
		if err != nil {
			return fmt.Errorf("the copy is not a usable scimd store: %w", err)
		}
		if err := s.Close(); err != nil {
			return err
		}
		if before == nil {
			return nil
		}
		return before()
	})
}

// runRestore is `scimd restore`: puts a backup in place as the data
// directory's store. The server must be stopped (the file lock is checked).
// An existing store is kept as scimd.db.before-restore-<time>, and only with
// --force is it replaced.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "backup file (from scimd backup)")
	dataDir := registerDataDir(fs, getenv, "data directory to restore into")
	force := fs.Bool("force", false, "replace an existing store (it is kept as scimd.db.before-restore-<time>)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if *in == "" {
		fmt.Fprintln(stderr, "scimd: restore needs --in")
		return exitUsage
	}
	if err := restore(*in, *dataDir, *force); err != nil {
		fmt.Fprintf(stderr, "scimd: restore: %s\n", oneLine(err))
		return exitFailure
	}
	fmt.Fprintf(stderr, "scimd: restored %s into %s\n", *in, *dataDir)
	return exitOK
}

// registerDataDir registers --data-dir on fs as `scimd serve` has it for the
// embedded store (dataDirFlag: same default and environment variable), with
// usage saying what the command does with it.
func registerDataDir(fs *flag.FlagSet, getenv func(string) string, usage string) *string {
	dir := new(string)
	dataDirFlag(usage, dir).register(fs, getenv)
	return dir
}

// flagSet reports whether the flag name was given on fs's command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func restore(in, dataDir string, force bool) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	target := filepath.Join(dataDir, embedded.FileName)
	_, err := os.Stat(target)
	exists := err == nil
	if exists && !force {
		return fmt.Errorf("%s exists: stop scimd and re-run with --force to replace it", target)
	}
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	return writeStore(target, func(f *os.File) error {
		_, err := io.Copy(f, src)
		return err
	}, func() error {
		// The log of writes the old file had not applied (after a crash)
		// goes aside too, with the file or without one (a log left alone):
		// replayed over the backup, it would mix the two.
		log := filepath.Join(dataDir, embedded.LogDirName)
		_, err := os.Stat(log)
		hasLog := err == nil
		if !exists && !hasLog {
			return nil
		}
		// Taking the lock (of the file: a server holds it) proves no server
		// is running on it; only the lock: opening the store would migrate
		// (and compact) an older file that is about to be set aside.
		unlock := func() error { return nil }
		if exists {
			if unlock, err = embedded.LockDir(dataDir); err != nil {
				return err
			}
		}
		suffix := ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		err = nil
		if exists {
			err = os.Rename(target, target+suffix)
		}
		if err == nil && hasLog {
			err = os.Rename(log, log+suffix)
		}
		return errors.Join(err, unlock())
	})
}

// replaceFile writes path (mode 0600) through the temporary file tmp (on
// path's file system): write fills it (through f, or by its name f.Name()),
// it is synced, check (when not nil) runs, and only then is it renamed over
// path. On any failure the temporary file is removed and path is left as it
// was.
func replaceFile(path, tmp string, write func(f *os.File) error, check func() error) error {
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil && check != nil {
		err = check()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// runCompact is `scimd compact`: rewrites the embedded store of a data
// directory without its free pages, offline (embedded.Compact: the store
// is opened, which takes the file lock — a directory a server or another
// command holds is refused — and migrates an older file as a start would;
// the compacted copy is written beside the file, synced, checked and
// renamed over it as a start compacts a file it migrated; on any failure
// the original is left as it was). It prints the sizes before and after and
// the time taken.
func runCompact(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := registerDataDir(fs, getenv, "data directory whose store to compact (no server may be running on it)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	start := time.Now()
	before, after, err := embedded.Compact(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: compact: %s\n", oneLine(err))
		return exitFailure
	}
	fmt.Fprintf(stderr, "scimd: compacted %s from %d to %d bytes (%.0f %%) in %s\n", filepath.Join(*dataDir, embedded.FileName),
		before, after, 100*float64(after)/float64(max(before, 1)), time.Since(start).Round(time.Millisecond))
	return exitOK
}

// runKeys is `scimd keys rotate`: rotates the signing key in the store (a
// running server picks the new key up within a minute; tokens signed with the
// old one keep verifying until they expire).
func runKeys(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprintln(stderr, "scimd: usage: scimd keys rotate [--data-dir dir | --mongodb-uri uri]")
		return exitUsage
	}
	fs := flag.NewFlagSet("scimd keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return usageExit(err)
	}
	cur, prev, err := masterKeys(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
		return exitUsage
	}
	store, _, err := sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: %s (with a server running on the embedded store, use POST /admin/v1/keys/rotate)\n", oneLine(err))
		return exitFailure
	}
	defer store.Close()
	svc := directory.New(store, directory.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		MasterKey: cur, PreviousMasterKey: prev})
	// Seal what the master keys say first (as a server start does), then rotate.
	if err := svc.EnsureSigningKey(ctx); err != nil {
		fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
		return exitFailure
	}
	if err := svc.RotateSigningKey(ctx); err != nil {
		fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
		return exitFailure
	}
	fmt.Fprintln(stderr, "scimd: signing key rotated; the previous key verifies its tokens until they expire")
	return exitOK
}
