package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
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

// outcome is what a face tells AccessLog about the request it failed.
type outcome struct {
	mu    sync.Mutex
	cause error
}

type outcomeKey struct{}

// Fail records err as the cause of the error status a face is answering r
// with. Behind AccessLog the cause is logged on the request's line (server
// faults at error level); a face served without it logs server faults (status
// >= 500) to log itself, so that no 5xx ever goes unexplained.
func Fail(log *slog.Logger, r *http.Request, status int, err error) {
	if o, ok := r.Context().Value(outcomeKey{}).(*outcome); ok {
		o.mu.Lock()
		o.cause = err
		o.mu.Unlock()
		return
	}
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
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

// AccessLog serves next, recovering from its panics (answered 500), and logs
// one line per request: method, path (never the query string, which may carry
// filters with personal data), status, size, duration and, for an error
// answer, the cause a face recorded with Fail. Server errors (5xx) are logged
// at error level with their cause; a request whose client went away is logged
// as status 499 at info level; everything else at debug level.
func AccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		o := &outcome{}
		r = r.WithContext(context.WithValue(r.Context(), outcomeKey{}, o))
		rec := &statusRecorder{ResponseWriter: w}
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
			cause := o.cause
			o.mu.Unlock()
			status := rec.status
			if status == 0 {
				status = http.StatusOK // net/http answers 200 for a handler that wrote nothing
			}
			if (status >= 500 || status == StatusClientClosedRequest) && ClientGone(r, cause) {
				status = StatusClientClosedRequest
			}
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status,
				"bytes", rec.bytes, "duration", time.Since(start).Round(time.Microsecond)}
			level := slog.LevelDebug
			switch {
			case status == StatusClientClosedRequest:
				level = slog.LevelInfo
				attrs = append(attrs, "reason", "client closed request")
			case status >= 500:
				level = slog.LevelError
				if cause == nil {
					cause = errors.New("no cause recorded by the handler")
				}
			}
			if cause != nil && status != StatusClientClosedRequest {
				attrs = append(attrs, "err", cause.Error())
			}
			log.Log(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}
