package httpx

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testlog"
)

func TestAccessLogRecoversPanicsAndLogsEveryServerErrorWithItsCause(t *testing.T) {
	logs, log := testlog.New(slog.LevelDebug)
	srv := httptest.NewServer(AccessLog(log, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/boom":
			panic("kaboom")
		case "/fault":
			Fail(log, r, 500, errors.New("disk on fire"))
			w.WriteHeader(500)
		case "/silent":
			w.WriteHeader(502)
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	})))
	defer srv.Close()
	for _, path := range []string{"/boom?filter=secret", "/fault", "/silent", "/tea?filter=userName%20eq%20%22zelda%22"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	out := logs.String()
	for _, want := range []string{
		`level=ERROR msg=request method=GET path=/boom status=500`, "kaboom", "log_test.go", // the stack
		`level=ERROR msg=request method=GET path=/fault status=500`, `err="disk on fire"`,
		`level=ERROR msg=request method=GET path=/silent status=502`, `err="no cause recorded by the handler"`,
		`level=DEBUG msg=request method=GET path=/tea status=418`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "zelda") || strings.Contains(out, "secret") {
		t.Errorf("query strings were logged:\n%s", out)
	}
}

// TestAccessLogOffKeepsServerErrors: with the access log off (request lines
// at debug level, the logger at info) a request answered 2xx/4xx leaves no
// line, and one answered 5xx still leaves its error line.
func TestAccessLogOffKeepsServerErrors(t *testing.T) {
	logs, log := testlog.New(slog.LevelInfo)
	srv := httptest.NewServer(AccessLog(log, Options{Requests: false}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fault":
			Fail(log, r, 500, errors.New("disk on fire"))
			w.WriteHeader(500)
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		}
	})))
	defer srv.Close()
	for _, path := range []string{"/ok", "/missing", "/fault"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	out := logs.String()
	if !strings.Contains(out, `level=ERROR msg=request method=GET path=/fault status=500`) || !strings.Contains(out, `err="disk on fire"`) {
		t.Errorf("the 500 was not logged:\n%s", out)
	}
	if strings.Contains(out, "path=/ok") || strings.Contains(out, "path=/missing") {
		t.Errorf("request lines with the access log off:\n%s", out)
	}
}

// TestClientGoneIsNotAServerError: a client that disconnects while its body is
// arriving, or while the handler works, is logged as 499 at info level.
func TestClientGoneIsNotAServerError(t *testing.T) {
	logs, log := testlog.New(slog.LevelDebug)
	srv := httptest.NewServer(AccessLog(log, Options{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if r.URL.Path == "/body" {
			_, err = ReadBody(r, 1<<20)
		} else {
			<-r.Context().Done() // a long operation, abandoned with the request
			err = fmt.Errorf("store: %w", r.Context().Err())
		}
		status := 500
		if ClientGone(r, err) {
			status = StatusClientClosedRequest
		}
		Fail(log, r, status, err)
		w.WriteHeader(status)
	})))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	for _, req := range []string{
		"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"half\":",
		"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		c.Close()
	}
	logs.WaitFor(t, "path=/body status=499")
	out := logs.WaitFor(t, "path=/wait status=499")
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "status=500") {
		t.Fatalf("a client going away was logged as a server error:\n%s", out)
	}
	if !strings.Contains(out, `level=INFO msg=request method=POST path=/body status=499`) {
		t.Fatalf("not logged at info level:\n%s", out)
	}
}

func TestFailWithoutAccessLogLogsServerErrors(t *testing.T) {
	logs, log := testlog.New(slog.LevelDebug)
	r := httptest.NewRequest("GET", "/x", nil)
	Fail(log, r, 404, errors.New("not here"))
	Fail(log, r, 503, errors.New("store down"))
	out := logs.String()
	if strings.Contains(out, "not here") || !strings.Contains(out, `status=503 err="store down"`) {
		t.Fatalf("log:\n%s", out)
	}
}

func TestSetRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		status int
		after  time.Duration
		want   string
	}{{429, 0, "60"}, {503, 0, "5"}, {429, 1500 * time.Millisecond, "2"}, {503, 30 * time.Second, "30"}, {400, time.Second, ""}} {
		h := http.Header{}
		SetRetryAfter(h, tc.status, tc.after)
		if got := h.Get("Retry-After"); got != tc.want {
			t.Errorf("SetRetryAfter(%d, %v) = %q, want %q", tc.status, tc.after, got, tc.want)
		}
	}
}

// TestErrorsInsideARequestCarryItsID: a record logged with a request's
// context behind AccessLog carries the request id once, the access line too.
func TestErrorsInsideARequestCarryItsID(t *testing.T) {
	logs, base := testlog.New(slog.LevelDebug)
	log := slog.New(LogHandler(base.Handler()))
	srv := httptest.NewServer(AccessLog(log, Options{Requests: true}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.ErrorContext(r.Context(), "something failed inside", "err", "boom")
		w.WriteHeader(http.StatusNoContent)
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Header.Set(RequestIDHeader, "trace-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(RequestIDHeader) != "trace-42" {
		t.Fatalf("echoed %q", resp.Header.Get(RequestIDHeader))
	}
	out := logs.WaitFor(t, "msg=request")
	if !strings.Contains(out, `msg="something failed inside" err=boom request_id=trace-42`) {
		t.Errorf("the inner error lacks the request id:\n%s", out)
	}
	if n := strings.Count(out, "request_id=trace-42"); n != 2 {
		t.Errorf("request id appears %d times, want 2 (one per line):\n%s", n, out)
	}
}

// BenchmarkAccessLog is the cost of the front (request id, client address,
// route, one log line) around a handler that does nothing, logging to a
// discarding text handler at info level.
func BenchmarkAccessLog(b *testing.B) { benchAccessLog(b, true) }

// BenchmarkAccessLogOff is BenchmarkAccessLog with the access log off
// (-access-log off: request lines at debug level, below the handler's info):
// no line is formatted, and none of its attributes should be built.
func BenchmarkAccessLogOff(b *testing.B) { benchAccessLog(b, false) }

func benchAccessLog(b *testing.B, requests bool) {
	log := slog.New(LogHandler(NewTextHandler(io.Discard, nil)))
	h := AccessLog(log, Options{Requests: requests, Observe: func(Record) {}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r, "/x/{id}")
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest("GET", "/x/1", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkAccessLogFile is BenchmarkAccessLog writing its lines to a real
// file: the write(2) per line that a server pays on stderr.
func BenchmarkAccessLogFile(b *testing.B) { benchAccessLogFile(b, false) }

// BenchmarkAccessLogFileBuffered is BenchmarkAccessLogFile with the request
// lines going through a LineBuffer, as scimd serve writes them.
func BenchmarkAccessLogFileBuffered(b *testing.B) { benchAccessLogFile(b, true) }

func benchAccessLogFile(b *testing.B, buffered bool) {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	log := slog.New(LogHandler(NewTextHandler(f, nil)))
	opts := Options{Requests: true, Observe: func(Record) {}}
	if buffered {
		lines := NewLineBuffer(f, 100*time.Millisecond)
		defer lines.Close()
		opts.RequestLog = slog.New(LogHandler(NewTextHandler(lines, nil)))
	}
	h := AccessLog(log, opts, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r, "/x/{id}")
		SetPrincipal(r, "app:3f1c")
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest("GET", "/x/1", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
