// Package ferret runs FerretDB v1 embedded in the test process, backed by SQLite
// in a temporary directory, so that the MongoDB storage backend (and, later,
// end-to-end suites) can be tested against a real MongoDB wire-protocol server
// without installing anything.
//
// FerretDB is a dependency of this test module only, never of the scimd binary.
package ferret

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Start runs an embedded FerretDB on a random local TCP port with a fresh SQLite
// directory under tb.TempDir(), and returns its MongoDB URI (for example
// "mongodb://127.0.0.1:41234/"). The server is stopped when the test ends.
//
// FerretDB's logs are discarded unless SCIMD_TEST_FERRETDB_LOG is set.
func Start(tb testing.TB) (uri string) {
	tb.Helper()
	uri, _ = StartStoppable(tb)
	return uri
}

// StartStoppable is Start, and also returns a function that stops the server
// before the test ends (to test what clients see when it is gone); calling it
// more than once is harmless.
func StartStoppable(tb testing.TB) (uri string, stop func()) {
	tb.Helper()
	var w io.Writer = io.Discard
	level := slog.LevelError
	if os.Getenv("SCIMD_TEST_FERRETDB_LOG") != "" {
		w, level = os.Stderr, slog.LevelDebug
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + tb.TempDir() + "/",
		Logger:    slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		tb.Fatalf("ferret: start FerretDB: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) {
					tb.Errorf("ferret: FerretDB stopped with %v", err)
				}
			case <-time.After(30 * time.Second):
				tb.Errorf("ferret: FerretDB did not stop within 30s")
			}
		})
	}
	tb.Cleanup(stop)
	// MongoDBURI blocks until Run has opened the listener.
	return f.MongoDBURI(), stop
}
