package httpx

import (
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The limits every scimd listener applies, in one place. A client that
// exceeds one is cut off or answered with an error; none of them affects a
// well-behaved client (see docs/security.md).
const (
	// ReadHeaderTimeout bounds how long a client may take to send the request
	// line and headers (slowloris).
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a whole request, headers and body: a 4 MiB
	// SCIM Bulk body arrives in time at 70 KB/s.
	ReadTimeout = time.Minute
	// WriteTimeout bounds the time from the end of the request headers to the
	// end of the response, so that a client that reads slowly cannot hold a
	// connection for ever.
	WriteTimeout = 2 * time.Minute
	// IdleTimeout closes a keep-alive connection without a request for this long.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes caps the request line and headers (a bearer JWT is about 1 KB).
	MaxHeaderBytes = 64 << 10
	// MaxUnauthenticatedBody caps the body of a request read before its caller
	// is authenticated (token request, password login): each is a few hundred bytes.
	MaxUnauthenticatedBody = 64 << 10
	// UnauthenticatedBodyTimeout is how long such a body may take to arrive
	// once the handler starts reading it (see LimitUnauthenticated); a slower
	// client is answered 408 and disconnected.
	UnauthenticatedBodyTimeout = 5 * time.Second
	// DefaultMaxConnections caps the open client connections of one listener
	// (flag -max-connections). Past it a new connection is answered 503 with
	// Retry-After and closed; each open connection costs about 10 KiB.
	DefaultMaxConnections = 4096
)

// NewServer returns the http.Server that serves h with the limits above,
// logging its own connection-level errors to log at warn level.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// LimitListener returns a listener that keeps at most max connections of ln
// open (DefaultMaxConnections when max <= 0). A connection accepted past the
// limit is answered "503 Service Unavailable" with "Retry-After: 1" and closed
// at once, so that the accept loop never stalls and the client learns why.
// Refusals are logged to log at error level, at most one line a second with
// their count.
func LimitListener(ln net.Listener, max int, log *slog.Logger) net.Listener {
	if max <= 0 {
		max = DefaultMaxConnections
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), log: log}
}

type limitListener struct {
	net.Listener
	slots chan struct{}
	log   *slog.Logger
	// refused counts the refusals since lastLog (only Accept's goroutine touches them).
	refused int
	lastLog time.Time
}

// overloaded is the whole answer to a connection past the limit.
var overloaded = func() []byte {
	body := `{"message":"too many open connections; try again shortly","error_code":503}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			// The refusal is logged before it is answered, so that whoever
			// reads the answer finds the log line already written.
			l.refused++
			if now := time.Now(); now.Sub(l.lastLog) >= time.Second {
				l.log.Error("connections refused: too many open", "status", 503, "refused", l.refused, "limit", cap(l.slots))
				l.refused, l.lastLog = 0, now
			}
			// A fresh socket's send buffer takes the answer without blocking;
			// the deadline only guards against the impossible.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(overloaded)
			_ = c.Close()
		}
	}
}

// limitConn frees its slot when closed (once, however often Close is called).
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
