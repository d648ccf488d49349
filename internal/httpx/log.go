package httpx

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StatusClientClosedRequest (nginx's 499) is the status logged, and answered
// to nobody, when the client went away before its request was answered.
const StatusClientClosedRequest = 499

// ClientGone reports whether err, the failure of serving r, happened because
// the client went away: a body read it cut short, or r's context cancelled by
// the server because the connection closed. Such a failure is not a server
// fault: faces answer it StatusClientClosedRequest. A body that did not
// arrive in time (ErrBodyTimeout) is not "gone", although net/http cancels
// the context of a request whose connection failed a read.
func ClientGone(r *http.Request, err error) bool {
	if errors.Is(err, ErrBodyTimeout) {
		return false
	}
	return errors.Is(err, ErrClientGone) || errors.Is(r.Context().Err(), context.Canceled)
}

// Default Retry-After of an answer whose error names none.
const (
	RetryAfterRateLimited = time.Minute     // 429: a rate limit's window
	RetryAfterUnavailable = 5 * time.Second // 503: the store is temporarily unavailable
)

// SetRetryAfter sets the Retry-After header of a 429 or 503 answer: after
// (rounded up to whole seconds) when positive, else RetryAfterRateLimited or
// RetryAfterUnavailable.
func SetRetryAfter(h http.Header, status int, after time.Duration) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return
	}
	if after <= 0 {
		after = RetryAfterUnavailable
		if status == http.StatusTooManyRequests {
			after = RetryAfterRateLimited
		}
	}
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
}

// outcome is what the handlers behind AccessLog tell it about a request: the
// cause of an error answer (Fail), the route pattern that matched (SetRoute)
// and the authenticated caller (SetPrincipal).
type outcome struct {
	mu        sync.Mutex
	cause     error
	route     string
	principal string
	// Resolved by AccessLog before the handler runs (read-only afterwards).
	requestID string
	clientIP  string
	scheme    string
}

type outcomeKey struct{}

func outcomeOf(r *http.Request) *outcome {
	o, _ := r.Context().Value(outcomeKey{}).(*outcome)
	return o
}

// Fail records err as the cause of the error status a face is answering r
// with. Behind AccessLog the cause is logged on the request's line, with its
// request id (server faults at error level); a face served without it logs
// server faults (status >= 500) to log itself, so that no 5xx ever goes
// unexplained.
func Fail(log *slog.Logger, r *http.Request, status int, err error) {
	if o := outcomeOf(r); o != nil {
		o.mu.Lock()
		o.cause = err
		o.mu.Unlock()
		return
	}
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
}

// SetRoute records the route pattern that serves r (a template such as
// "/cis/v1/users/{user_id}", never a raw path): it labels the request's log
// line and metrics. A face with its own routing calls it once it has matched;
// without it AccessLog uses the http.ServeMux pattern that matched, or
// "unmatched". The set of patterns must be bounded: they become metric labels.
func SetRoute(r *http.Request, pattern string) {
	if o := outcomeOf(r); o != nil {
		o.mu.Lock()
		o.route = pattern
		o.mu.Unlock()
	}
}

// SetPrincipal records who the request was authenticated as (an actor type and
// id such as "app:3f…", never a credential), for the request's log line.
func SetPrincipal(r *http.Request, principal string) {
	if o := outcomeOf(r); o != nil {
		o.mu.Lock()
		o.principal = principal
		o.mu.Unlock()
	}
}

// statusRecorder remembers the status code and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// RequestIDHeader carries a request's id: taken from the request when it holds
// a usable one (MaxRequestIDLength characters of [A-Za-z0-9._:-] at most),
// generated otherwise, and always echoed in the response.
const RequestIDHeader = "X-Request-Id"

// MaxRequestIDLength caps a request id taken from a client.
const MaxRequestIDLength = 128

// Record is what AccessLog knows of a request once it is answered.
type Record struct {
	Method    string // as received (HEAD stays HEAD)
	Route     string // see SetRoute
	Path      string // the raw path, never the query string
	Status    int
	Bytes     int
	Duration  time.Duration
	RequestID string
	ClientIP  string
	Principal string
}

// Options configure AccessLog. The zero value logs every request at debug
// level only, trusts no proxy and observes nothing.
type Options struct {
	// Requests logs one line per request at info level; when false the line is
	// logged at debug level (server errors are logged at error level either way).
	Requests bool
	// Proxies are the peers whose X-Forwarded-For and X-Forwarded-Proto are believed.
	Proxies Proxies
	// Observe, when set, is called with every answered request (metrics).
	Observe func(Record)
	// RequestLog, when set, receives the request lines below error level
	// (typically the same handler over a LineBuffer); server errors (5xx)
	// are logged to AccessLog's log either way.
	RequestLog *slog.Logger
}

// AccessLog is the front of every scimd handler. It gives each request an id
// (see RequestIDHeader), resolves the client's address and scheme (see
// Proxies, ClientIP, Scheme), serves HEAD as GET without a body wherever GET
// is served (the server discards the body of a HEAD answer), answers OPTIONS
// with the methods a path allows, recovers from next's panics (answered 500)
// and, once the request is answered, logs one line: method, path (never the
// query string, which may carry filters with personal data), status, size,
// duration, route pattern, request id, client address, principal and, for an error
// answer, the cause a face recorded with Fail. Server errors (5xx) are logged
// at error level with their cause; a request whose client went away is
// logged as status 499 at info level; everything else at info level when
// opts.Requests is set, else at debug level.
func AccessLog(log *slog.Logger, opts Options, next http.Handler) http.Handler {
	// A TextHandler under a log takes the line straight (see writeLine).
	fastLog, fastRequests := textHandlerOf(log), textHandlerOf(opts.RequestLog)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		method := r.Method
		// The request's outcome, its response recorder and its request id
		// header's value in one allocation.
		st := &struct {
			o   outcome
			rec statusRecorder
			id  [1]string
		}{}
		o := &st.o
		o.requestID = requestID(r.Header.Get(RequestIDHeader))
		o.clientIP, o.scheme = opts.Proxies.resolve(r)
		// What Header().Set does, without allocating the value's slice (its
		// capacity of 1 makes a later Add copy rather than write past it).
		st.id[0] = o.requestID
		w.Header()[RequestIDHeader] = st.id[:]
		r = r.WithContext(context.WithValue(r.Context(), outcomeKey{}, o))
		if method == http.MethodHead {
			r.Method = http.MethodGet // r is AccessLog's copy; the server still knows it is HEAD
		}
		rec := &st.rec
		rec.ResponseWriter = w
		var rw http.ResponseWriter = rec
		if method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") == "" {
			rw = &optionsWriter{statusRecorder: rec}
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				Fail(log, r, http.StatusInternalServerError, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
				if rec.status == 0 {
					rec.Header().Set("Content-Type", "application/json")
					rec.WriteHeader(http.StatusInternalServerError)
					_, _ = rec.Write([]byte(`{"message":"internal server error","error_code":500}` + "\n"))
				}
			}
			o.mu.Lock()
			cause, route, principal := o.cause, o.route, o.principal
			o.mu.Unlock()
			if route == "" {
				route = muxPattern(r.Pattern)
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK // net/http answers 200 for a handler that wrote nothing
			}
			if (status >= 500 || status == StatusClientClosedRequest) && ClientGone(r, cause) {
				status = StatusClientClosedRequest
			}
			rc := Record{Method: method, Route: route, Path: r.URL.Path, Status: status, Bytes: rec.bytes,
				Duration: time.Since(start), RequestID: o.requestID, ClientIP: o.clientIP, Principal: principal}
			if opts.Observe != nil {
				opts.Observe(rc)
			}
			level := slog.LevelDebug
			if opts.Requests {
				level = slog.LevelInfo
			}
			switch {
			case status == StatusClientClosedRequest:
				level = slog.LevelInfo
			case status >= 500:
				level = slog.LevelError
				if cause == nil {
					cause = errors.New("no cause recorded by the handler")
				}
			}
			out, fast := log, fastLog
			if opts.RequestLog != nil && level < slog.LevelError {
				out, fast = opts.RequestLog, fastRequests
			}
			if !out.Enabled(r.Context(), level) {
				return // the access log is off: no line, and none of its attributes built
			}
			// Typed attributes on a stack array: no boxing of each value into an
			// interface and no slice allocation (the same line as log.Log would write).
			var buf [11]slog.Attr
			attrs := append(buf[:0], slog.String("method", rc.Method), slog.String("path", rc.Path),
				slog.Int("status", status), slog.Int("bytes", rc.Bytes),
				slog.Duration("duration", rc.Duration.Round(time.Microsecond)), slog.String("route", rc.Route),
				slog.String("request_id", rc.RequestID), slog.String("client_ip", rc.ClientIP))
			if principal != "" {
				attrs = append(attrs, slog.String("principal", principal))
			}
			if status == StatusClientClosedRequest {
				attrs = append(attrs, slog.String("reason", "client closed request"))
			}
			if cause != nil && status != StatusClientClosedRequest {
				attrs = append(attrs, slog.String("err", cause.Error()))
			}
			if fast == nil || !fast.writeLine(level, "request", attrs) {
				out.LogAttrs(r.Context(), level, "request", attrs...)
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

// muxPattern turns an http.ServeMux pattern ("GET /healthz", "/cis/v1/") into
// a route label: the path part, or "unmatched" when no pattern matched.
func muxPattern(p string) string {
	if p == "" {
		return "unmatched"
	}
	if _, path, ok := strings.Cut(p, " "); ok {
		return path
	}
	return p
}

// requestID returns the client's id when it is usable, a new random one
// otherwise: 96 bits from the runtime's generator (ChaCha8, seeded by the
// system), unique in practice though not secret — a request id is echoed
// and logged, never trusted. (crypto/rand's system call cost a microsecond a
// request.)
func requestID(given string) string {
	if n := len(given); n > 0 && n <= MaxRequestIDLength && strings.Trim(given,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == "" {
		return given
	}
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
	return hex.EncodeToString(b[:])
}

// optionsWriter turns the 405 a handler answers to OPTIONS (a path that
// exists, with its Allow header) into "204 No Content" with that Allow header
// plus HEAD (where GET is allowed) and OPTIONS. Other answers (404 for a path
// that does not exist, a CORS preflight a face answered) pass unchanged.
type optionsWriter struct {
	*statusRecorder
	swallow bool
}

func (w *optionsWriter) WriteHeader(code int) {
	if w.swallow || w.status != 0 {
		return
	}
	if code == http.StatusMethodNotAllowed {
		h := w.Header()
		allow := strings.Split(h.Get("Allow"), ", ")
		if slices.Contains(allow, http.MethodGet) && !slices.Contains(allow, http.MethodHead) {
			allow = append(allow, http.MethodHead)
		}
		allow = append(allow, http.MethodOptions)
		for _, k := range []string{"Content-Type", "Content-Length", "Www-Authenticate"} {
			h.Del(k)
		}
		h.Set("Allow", strings.Join(slices.DeleteFunc(allow, func(s string) bool { return s == "" }), ", "))
		w.swallow = true
		w.statusRecorder.WriteHeader(http.StatusNoContent)
		return
	}
	w.statusRecorder.WriteHeader(code)
}

func (w *optionsWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.statusRecorder.Write(b)
}

// LogHandler wraps h so that a record logged with the context of a request
// served behind AccessLog (log.ErrorContext(r.Context(), …)) carries the
// request's id as "request_id", unless it already has one: every error
// logged while serving a request can be found with its access line.
func LogHandler(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if o, _ := ctx.Value(outcomeKey{}).(*outcome); o != nil {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "request_id"
			return !has
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", o.requestID))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
