// Command scimd serves a user directory through a SCIM 2.0 API and a native REST
// API over one store.
//
// Usage:
//
//	scimd [serve] [flags]   start the server (the default sub-command)
//	scimd admin create --email ADDRESS   add a portal administrator (password on stdin)
//	scimd version           print the version, commit and build date (also --version)
//	scimd healthcheck       exit 0 when the local server answers /healthz (container HEALTHCHECK)
//	scimd backup            copy the embedded store (online with --url, offline with --data-dir)
//	scimd restore           put a backup in place as a data directory's store
//	scimd export            write everything the store holds as JSON Lines (--audit: with audit events)
//	scimd import            create what an export holds in a store (re-running skips what is there)
//	scimd keys rotate       start signing tokens with a new key
//
// Run "scimd serve -h" for the flags; every flag has an SCIMD_* environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/scimd/scimd/storage/embedded"
)

// The build's identity, stamped by the Makefile with
// -ldflags "-X main.version=… -X main.commit=… -X main.buildDate=…".
// An unstamped build reports version "dev" and the commit and time the Go
// toolchain recorded from version control, if any.
var (
	version   = "dev"
	commit    = ""
	buildDate = ""
)

// buildInfo returns the version, commit and build date of this binary.
func buildInfo() (v, c, d string) {
	v, c, d = version, commit, buildDate
	if bi, ok := debug.ReadBuildInfo(); ok && (c == "" || d == "") {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	var code int
	if len(os.Args) > 1 && os.Args[1] == "admin" {
		code = runAdmin(ctx, os.Args[2:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	} else {
		code = run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	}
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the server could not start or failed while running
	exitUsage   = 2 // bad flags or configuration
)

// run executes one sub-command and returns the process exit code. Failures are
// reported as one line on stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	sub := "serve"
	switch {
	case len(args) > 0 && (args[0] == "--version" || args[0] == "-version"):
		sub, args = "version", args[1:]
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "serve":
		cfg, err := parseConfig(args, getenv, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		if err != nil {
			fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
			return exitUsage
		}
		// The server's live heap is small (the embedded store's users live in
		// the file's memory map, not on the heap), so at Go's default the
		// collector runs every few megabytes of request garbage: at 400 every
		// request takes about a fifth less CPU (docs/performance.md), and
		// the heap goal is kept at heapFloor or more.
		collectLessOften(getenv)
		if getenv("GOGC") == "" {
			defer keepHeapGoal(heapFloor, gcPercent, embedded.CachedBytes)()
		}
		if err := serve(ctx, cfg, stderr); err != nil {
			fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
			return exitFailure
		}
		return exitOK
	case "backup":
		return runBackup(ctx, args, getenv, stderr)
	case "restore":
		return runRestore(ctx, args, getenv, stderr)
	case "export":
		return runExport(ctx, args, getenv, stdout, stderr)
	case "import":
		return runImport(ctx, args, getenv, os.Stdin, stderr)
	case "compact":
		return runCompact(ctx, args, getenv, stderr)
	case "keys":
		return runKeys(ctx, args, getenv, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, getenv, stderr)
	case "version":
		v, c, d := buildInfo()
		fmt.Fprintf(stdout, "scimd %s (commit %s, built %s, %s)\n", v, c, d, runtime.Version())
		return exitOK
	case "help":
		fmt.Fprintln(stdout, "usage: scimd [serve] [flags] | scimd admin create --email ADDRESS | scimd version | scimd healthcheck\n       scimd backup|restore|compact|export|import|keys rotate [flags]\nRun 'scimd serve -h' for the flags.")
		return exitOK
	default:
		fmt.Fprintf(stderr, "scimd: unknown command %q (want serve, version, healthcheck, admin, backup, restore, compact, export, import or keys)\n", sub)
		return exitUsage
	}
}

// gcPercent is the garbage collector's target (GOGC) of `scimd serve` and
// `scimd import` when the environment sets none.
const gcPercent = 400

// memoryLimit is the runtime's soft memory limit (GOMEMLIMIT) of `scimd
// serve` and `scimd import` when the environment sets none: the collector
// runs sooner than gcPercent says once the Go runtime's memory nears it.
const memoryLimit = 768 << 20

// collectLessOften sets the collector's target to gcPercent unless GOGC is
// set: the heap may grow to five times what is live between collections
// instead of twice, for a fraction of the collector's CPU. Unless GOMEMLIMIT
// is set, memoryLimit bounds that growth: a million-user bulk load left
// 1.16 GB of anonymous memory, most of it garbage not yet collected.
func collectLessOften(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// oneLine joins a multi-line error (errors.Join) into one line.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
