package httpx

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flushing goroutine and the test.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLineBufferBatchesAndCloseWritesEverything: lines written concurrently
// are held (an hour's interval never fires here), then all written, whole
// and in one write, by Close; a line written after Close goes out at once.
func TestLineBufferBatchesAndCloseWritesEverything(t *testing.T) {
	out := &syncBuffer{}
	b := NewLineBuffer(out, time.Hour)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				fmt.Fprintf(b, "line g=%d i=%d\n", g, i)
			}
		})
	}
	wg.Wait()
	if s := out.String(); s != "" {
		t.Fatalf("lines written before any flush:\n%.200s", s)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for g := range 4 {
		for i := range 100 {
			if !strings.Contains(got, fmt.Sprintf("line g=%d i=%d\n", g, i)) {
				t.Fatalf("line g=%d i=%d lost or torn:\n%s", g, i, got)
			}
		}
	}
	if n := strings.Count(got, "\n"); n != 400 || out.writes != 1 {
		t.Fatalf("%d lines in %d writes, want 400 in 1", n, out.writes)
	}
	fmt.Fprintf(b, "late\n")
	if !strings.HasSuffix(out.String(), "late\n") {
		t.Fatal("a line written after Close was held")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLineBufferFlushesOnItsOwn: without Close, a held line is written out
// by the flushing goroutine, and a full buffer is written out at once.
func TestLineBufferFlushesOnItsOwn(t *testing.T) {
	out := &syncBuffer{}
	b := NewLineBuffer(out, time.Millisecond)
	defer b.Close()
	fmt.Fprintf(b, "one\n")
	for deadline := time.Now().Add(10 * time.Second); out.String() != "one\n"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never flushed: %q", out.String())
		}
	}

	full := &syncBuffer{}
	c := NewLineBuffer(full, time.Hour)
	defer c.Close()
	line := strings.Repeat("x", 1023) + "\n"
	for range lineBufferSize/len(line) + 1 {
		c.Write([]byte(line))
	}
	if n := len(full.String()); n != lineBufferSize {
		t.Fatalf("a full buffer wrote %d bytes, want %d", n, lineBufferSize)
	}
}

// TestRequestLogTakesRequestLinesButNotServerErrors: with Options.RequestLog
// the request lines go there, but a 5xx line goes to the (unbuffered) log.
func TestRequestLogTakesRequestLinesButNotServerErrors(t *testing.T) {
	errs, lines := &syncBuffer{}, &syncBuffer{}
	log := slog.New(slog.NewTextHandler(errs, nil))
	h := AccessLog(log, Options{Requests: true, RequestLog: slog.New(slog.NewTextHandler(lines, nil))},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/fail" {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/ok", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/fail", nil))
	if l := lines.String(); !strings.Contains(l, "path=/ok status=204") || strings.Contains(l, "/fail") {
		t.Errorf("request lines:\n%s", l)
	}
	if e := errs.String(); !strings.Contains(e, "level=ERROR msg=request method=GET path=/fail status=500") || strings.Contains(e, "/ok") {
		t.Errorf("error lines:\n%s", e)
	}
}
