package httpx

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestLimitListenerAnswersConnectionsPastTheLimit503: with two connections
// open, a third is answered 503 with Retry-After and closed; once one closes,
// new connections are served again.
func TestLimitListenerAnswersConnectionsPastTheLimit503(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	logs, log := newLog()
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
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		resp := get(c)
		c.Close()
		if resp.StatusCode == http.StatusNoContent {
			break
		}
		if i == 100 {
			t.Fatalf("the closed connection's slot was never freed: %d", resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
