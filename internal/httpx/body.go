package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"
)

// ErrBodyTimeout is in the chain of a body read that did not finish before
// the read deadline: the client is sending too slowly. Faces answer 408.
var ErrBodyTimeout = errors.New("the request body was not received in time")

// ErrClientGone is in the chain of a body read cut short because the client
// closed the connection. Nothing can be answered; see [ClientGone].
var ErrClientGone = errors.New("client closed request")

// ReadBody reads r's whole body, at most limit bytes (DefaultMaxBody when
// limit <= 0). A body over the limit (this one or a smaller one already set
// on r.Body) wraps ErrBodyTooLarge and names the limit, a read that ran into
// the connection's read deadline wraps ErrBodyTimeout, one the client cut
// short wraps ErrClientGone, and any other failure (such as malformed chunked
// encoding) is a *SyntaxError: none of them is a server fault.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	return AppendBody(nil, r, limit)
}

// AppendBody is ReadBody appending the body to dst (a buffer the caller
// reuses), with ReadBody's limit and errors; it never reads more than one
// byte past the limit.
func AppendBody(dst []byte, r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) { // grow, from 512 bytes as io.ReadAll does
			dst = slices.Grow(dst, max(512, cap(dst)))
		}
		room := dst[len(dst):cap(dst)]
		if left := limit + 1 - int64(len(dst)-start); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Body.Read(room)
		dst = dst[:len(dst)+n]
		if int64(len(dst)-start) > limit {
			return nil, fmt.Errorf("%w: the limit is %d bytes", ErrBodyTooLarge, limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return nil, bodyError(err)
		}
	}
}

// bodyError classifies a failed body read (see ReadBody).
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return fmt.Errorf("%w: the limit is %d bytes", ErrBodyTooLarge, mbe.Limit)
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrBodyTimeout, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %w", ErrClientGone, err)
	}
	return &SyntaxError{Reason: "the request body could not be read: " + err.Error()}
}

// LimitUnauthenticated bounds what a request served before its caller is
// authenticated (the token endpoint, password login) may hold: its body is
// capped at MaxUnauthenticatedBody bytes and must arrive within
// UnauthenticatedBodyTimeout of this call, instead of the server-wide ReadTimeout.
// Call it before reading the body.
func LimitUnauthenticated(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxUnauthenticatedBody)
	// An error means the writer cannot set deadlines (a test recorder): the
	// server-wide ReadTimeout still applies.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(UnauthenticatedBodyTimeout))
}
