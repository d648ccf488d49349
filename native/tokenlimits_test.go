package native

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
)

// TestTokenEndpointBudgetsWrongSecrets: wrong secrets are budgeted per client
// id and per address (429 with Retry-After once used up, until the window
// frees one), while a client whose secret verified before keeps getting tokens.
func TestTokenEndpointBudgetsWrongSecrets(t *testing.T) {
	e := newEnv(t) // A's and B's secrets verified once already
	token := func(id, secret string) (int, string) {
		t.Helper()
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
		resp, err := http.Post(e.srv.URL+"/oidc/token", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	want429 := func(what string, code int, after string) {
		t.Helper()
		if secs, err := strconv.Atoi(after); code != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 60 {
			t.Fatalf("%s: %d, Retry-After %q; want 429 with Retry-After in 1..60", what, code, after)
		}
	}

	for i := range directory.MaxClientSecretFailures {
		if code, _ := token(e.appA.ClientID, "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("wrong secret %d: %d", i+1, code)
		}
	}
	code, after := token(e.appA.ClientID, "wrong")
	want429("wrong secret past the client budget", code, after)
	if code, _ := token(e.appA.ClientID, e.secA); code != http.StatusOK {
		t.Fatalf("A's known secret while A is blocked: %d", code)
	}
	if code, _ := token(e.appB.ClientID, "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("another client's wrong secret: %d (the budget is per client)", code)
	}

	// The address budget counts every failure, unknown client ids too.
	for i := directory.MaxClientSecretFailures + 1; i < directory.MaxIPSecretFailures; i++ {
		if code, _ := token("no-such-client-"+strconv.Itoa(i), "x"); code != http.StatusUnauthorized {
			t.Fatalf("unknown client %d: %d", i, code)
		}
	}
	code, after = token("no-such-client", "x")
	want429("unknown client past the address budget", code, after)
	code, after = token(e.appB.ClientID, "wrong")
	want429("wrong secret past the address budget", code, after)
	if code, _ := token(e.appB.ClientID, e.secB); code != http.StatusOK {
		t.Fatalf("B's known secret while the address is blocked: %d", code)
	}

	e.clock.Add(directory.SecretFailureWindow)
	if code, _ := token(e.appA.ClientID, "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("after the window: %d", code)
	}
}

// TestUnauthenticatedBodiesAreCapped: the token endpoint and password login
// read at most httpx.MaxUnauthenticatedBody bytes before knowing the caller.
func TestUnauthenticatedBodiesAreCapped(t *testing.T) {
	e := newEnv(t)
	pad := strings.Repeat("a", httpx.MaxUnauthenticatedBody)
	for _, rq := range []struct{ path, ctype, body string }{
		{"/oidc/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=x&client_secret=y&pad=" + pad},
		{"/cis/v1/auth/password/login", "application/json", `{"client_id":"x","username":"u","password":"` + pad + `"}`},
	} {
		resp, err := http.Post(e.srv.URL+rq.path, rq.ctype, strings.NewReader(rq.body))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = jsonDecode(resp.Body, &body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(body["message"]), strconv.Itoa(httpx.MaxUnauthenticatedBody)) {
			t.Errorf("%s with a %d-byte body: %d %v; want 413 naming the limit", rq.path, len(rq.body), resp.StatusCode, body)
		}
	}
}
