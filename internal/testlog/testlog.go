// Package testlog is the log sink of tests that read what a server logged: a
// buffer that the server's goroutines may write while the test reads it.
package testlog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a log destination safe for concurrent writers and readers.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *Buffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// WaitFor polls the log until it contains want and returns it; after 10 s it
// fails the test.
func (s *Buffer) WaitFor(t testing.TB, want string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if out := s.String(); strings.Contains(out, want) {
			return out
		}
	}
	t.Fatalf("log never got %q:\n%s", want, s.String())
	return ""
}

// New returns a buffer and a text logger writing to it at level and above.
func New(level slog.Level) (*Buffer, *slog.Logger) {
	b := &Buffer{}
	return b, slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
}
