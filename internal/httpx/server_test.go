package httpx

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testlog"
)

// TestLimitListenerAnswersConnectionsPastTheLimit503: with two connections
// open, a third is answered 503 with Retry-After and closed; once one closes,
// new connections are served again.
func TestLimitListenerAnswersConnectionsPastTheLimit503(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	logs, log := testlog.New(slog.LevelDebug)
	srv.Listener = LimitListener(srv.Listener, 2, log)
	srv.Start()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	get := func(c net.Conn) *http.Response {
		t.Helper()
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if resp := get(c); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("connection %d: %d", i, resp.StatusCode)
		}
		held = append(held, c) // kept alive, holding its slot
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	c.Close()
	if err != nil {
		t.Fatalf("no answer past the limit: %v", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("past the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if out := logs.String(); !strings.Contains(out, "level=ERROR msg=\"connections refused: too many open\" status=503 refused=1 limit=2") {
		t.Errorf("the refusal was not logged:\n%s", out)
	}
	held[0].Close()
	// The slot is freed when the server notices the close; retry until then.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		resp := get(c)
		c.Close()
		if resp.StatusCode == http.StatusNoContent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed connection's slot was never freed: %d", resp.StatusCode)
		}
	}
}

// TestProxiesResolveTheClient: forwarding headers are believed only from a
// trusted peer, read from the right, skipping trusted hops; a spoofed
// left-most entry never wins over the address the proxy appended.
func TestProxiesResolveTheClient(t *testing.T) {
	ps, err := ParseProxies("10.0.0.0/8, 192.168.1.7,::1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies("10.0.0.0/8,nonsense"); err == nil {
		t.Fatal("a bad entry was accepted")
	}
	cases := []struct {
		peer, xff, proto string
		ip, scheme       string
	}{
		{"203.0.113.5:1000", "1.2.3.4", "https", "203.0.113.5", "http"},  // untrusted peer: headers ignored
		{"10.1.2.3:1000", "1.2.3.4", "https", "1.2.3.4", "https"},        // trusted proxy
		{"10.1.2.3:1000", "6.6.6.6, 1.2.3.4", "http", "1.2.3.4", "http"}, // spoofed left entry ignored
		{"10.1.2.3:1000", "1.2.3.4, 192.168.1.7", "", "1.2.3.4", "http"}, // a chain of trusted proxies
		{"[::1]:1000", "2001:db8::1", "HTTPS", "2001:db8::1", "https"},   // IPv6
		{"10.1.2.3:1000", "garbage, 1.2.3.4", "ftp", "1.2.3.4", "http"},  // bad proto ignored
		{"10.1.2.3:1000", "1.2.3.4, garbage", "", "10.1.2.3", "http"},    // a malformed last hop: the proxy
		{"10.1.2.3:1000", "", "", "10.1.2.3", "http"},                    // no header
		{"[::ffff:10.1.2.3]:1000", "1.2.3.4", "", "1.2.3.4", "http"},     // IPv4-mapped peer
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		ip, scheme := ps.resolve(r)
		if ip != c.ip || scheme != c.scheme {
			t.Errorf("peer %s XFF %q proto %q: %s %s, want %s %s", c.peer, c.xff, c.proto, ip, scheme, c.ip, c.scheme)
		}
	}
	var none Proxies
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:1000"
	r.Header.Set("X-Forwarded-For", "1.2.3.4")
	if ip, _ := none.resolve(r); ip != "10.1.2.3" {
		t.Errorf("no trusted proxies: %s", ip)
	}
}
