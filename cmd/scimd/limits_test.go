package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/testlog"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
)

var opsEnv = []string{"SCIMD_BOOTSTRAP_CLIENT_ID=ops", "SCIMD_BOOTSTRAP_CLIENT_SECRET=ops-secret-123"}

// tokenStatus asks for a token with the bootstrap credentials.
func tokenStatus(t *testing.T, addr string) int {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"ops"}, "client_secret": {"ops-secret-123"}}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post("http://"+addr+"/oidc/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTricklingBodiesAreCutOff: connections that send an unauthenticated body
// a byte at a time (token request, password login) are answered 408 and
// closed once httpx.UnauthenticatedBodyTimeout has passed, and meanwhile
// /healthz and token requests are served.
func TestTricklingBodiesAreCutOff(t *testing.T) {
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir()}, opsEnv...))
	paths := []string{"/oidc/token", "/cis/v1/auth/password/login"}
	types := []string{"application/x-www-form-urlencoded", "application/json"}
	const n = 20
	results := make(chan string, n)
	stop := make(chan struct{})
	defer close(stop)
	var sending sync.WaitGroup // every trickler has sent its request's head
	sending.Add(n)
	for i := range n {
		go func() {
			path := paths[i%len(paths)]
			conn, err := net.Dial("tcp", p.addr)
			if err != nil {
				sending.Done()
				results <- err.Error()
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 10000\r\n\r\n", path, types[i%len(types)])
			sending.Done()
			go func() { // a byte every 200 ms: never done within the deadline
				for {
					select {
					case <-stop:
						return
					case <-time.After(200 * time.Millisecond):
						if _, err := conn.Write([]byte("a")); err != nil {
							return
						}
					}
				}
			}()
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				results <- path + ": " + err.Error()
				return
			}
			resp.Body.Close()
			results <- fmt.Sprintf("%s: %d", path, resp.StatusCode)
		}()
	}
	sending.Wait()
	if code, _ := get(t, "http://"+p.addr+"/healthz"); code != 200 {
		t.Fatalf("/healthz during the trickle: %d", code)
	}
	if code := tokenStatus(t, p.addr); code != 200 {
		t.Fatalf("token request during the trickle: %d", code)
	}
	for range n {
		if r := <-results; !strings.HasSuffix(r, ": 408") {
			t.Errorf("trickling connection: %s, want 408", r)
		}
	}
}

// TestConnectionsPastTheLimitAre503: with -max-connections 3 and three
// keep-alive connections open, the next one is answered 503 with Retry-After.
func TestConnectionsPastTheLimitAre503(t *testing.T) {
	p := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir()}, "serve", "-max-connections", "3")
	for range 3 {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection within the limit: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer past the connection limit: %v", err)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("past the connection limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestClientClosingMidRequestIsNotAServerError: a client that closes its
// connection halfway through a body is logged as 499 at info level, not as a
// 500 at error level.
func TestClientClosingMidRequestIsNotAServerError(t *testing.T) {
	p := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir()})
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /cis/v1/auth/password/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"client_id\":")
	time.Sleep(200 * time.Millisecond)
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.log(), "path=/cis/v1/auth/password/login") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out := p.log()
	if !strings.Contains(out, "level=INFO msg=request method=POST path=/cis/v1/auth/password/login status=499") {
		t.Errorf("no 499 logged at info level:\n%s", out)
	}
	if strings.Contains(out, "level=ERROR") {
		t.Errorf("a client going away was logged as an error:\n%s", out)
	}
}

// faultStore is the embedded store with GetUser failing on demand, as a
// failing disk or a lost MongoDB primary would make it fail.
type faultStore struct {
	storage.Store
	fail atomic.Bool
}

var errDiskOnFire = errors.New("read /data/scimd.db: input/output error")

func (s *faultStore) GetUser(ctx context.Context, id string) (*schemas.User, error) {
	if s.fail.Load() {
		return nil, errDiskOnFire
	}
	return s.Store.GetUser(ctx, id)
}

// TestEveryServerErrorIsLoggedWithItsCause: a store failure answered 5xx by
// either face — the SCIM DELETE served through the SCIM library included — is
// logged at error level with the underlying error.
func TestEveryServerErrorIsLoggedWithItsCause(t *testing.T) {
	emb, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	store := &faultStore{Store: emb}
	logs, log := testlog.New(slog.LevelInfo)
	svc := directory.New(store, directory.Options{Logger: log})
	ctx := t.Context()
	if err := svc.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.CreateAPIToken(ctx, directory.System, "idp", "", []directory.Scope{directory.ScopeAdmin}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, directory.System, &schemas.User{UserName: "ann"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(store, svc, log, httpOptions{PublicURL: "http://scimd.test"}))
	defer srv.Close()

	store.fail.Store(true)
	for _, rq := range []struct{ method, path, ifMatch string }{
		{"DELETE", "/scim/v2/Users/" + u.ID, `W/"1"`}, // served by the SCIM library
		{"GET", "/cis/scim/Users/" + u.ID, ""},
		{"GET", "/cis/v1/users/" + u.ID, ""},
	} {
		req, _ := http.NewRequest(rq.method, srv.URL+rq.path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if rq.ifMatch != "" {
			req.Header.Set("If-Match", rq.ifMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 500 {
			t.Fatalf("%s %s with a failing store: %d", rq.method, rq.path, resp.StatusCode)
		}
		line := ""
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "path="+rq.path+" ") && strings.Contains(l, fmt.Sprintf("status=%d", resp.StatusCode)) {
				line = l
			}
		}
		if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "input/output error") {
			t.Errorf("%s %s answered %d; its log line %q lacks error level or the cause; log:\n%s",
				rq.method, rq.path, resp.StatusCode, line, logs.String())
		}
	}
}
