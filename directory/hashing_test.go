package directory_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/native"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
)

// TestHashingStaysWithinItsSlots drives the token and login endpoints through
// a real listener: with every hashing slot taken, a secret check answers 503
// with Retry-After instead of hashing; under a burst of wrong secrets no more
// hashes run at once than there are slots.
func TestHashingStaysWithinItsSlots(t *testing.T) {
	const slots = 2
	defer directory.SetHashGate(slots, 50*time.Millisecond)()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := directory.New(st, directory.Options{Logger: discard})
	ctx := t.Context()
	if err := svc.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	type client struct{ id, secret string }
	var clients []client
	for i := range 12 {
		app, secret, err := svc.CreateApp(ctx, directory.System, schemas.AppRegular, &schemas.App{Name: fmt.Sprintf("app %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client{app.ClientID, secret})
	}
	mux := http.NewServeMux()
	native.New(svc, native.Options{Logger: discard}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	token := func(c client, secret string) (int, string) {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {secret}}
		resp, err := http.Post(srv.URL+"/oidc/token", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	login := func() (int, string) {
		body, _ := json.Marshal(map[string]string{"client_id": clients[0].id, "username": "nobody", "password": "whatever-it-is"})
		resp, err := http.Post(srv.URL+"/cis/v1/auth/password/login", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}

	// Every slot taken: nothing is hashed, every check is refused at once.
	release := directory.HoldHashSlots()
	for name, do := range map[string]func() (int, string){
		"wrong secret":   func() (int, string) { return token(clients[0], "wrong") },
		"right secret":   func() (int, string) { return token(clients[1], clients[1].secret) },
		"password login": login,
	} {
		if code, after := do(); code != http.StatusServiceUnavailable || after != "1" {
			t.Errorf("%s with every hashing slot taken: %d, Retry-After %q; want 503 with Retry-After 1", name, code, after)
		}
	}
	release()

	// A burst of wrong secrets, four per client (within the client budget).
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range 4 * len(clients) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, after := token(clients[i%len(clients)], "wrong")
			if (code == 429 || code == 503) && after == "" {
				t.Errorf("%d without Retry-After", code)
			}
			mu.Lock()
			statuses[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	peak, inFlight := directory.HashPeak()
	if peak > slots || peak < 1 || inFlight != 0 {
		t.Fatalf("hashes at once: peak %d (slots %d), %d still running", peak, slots, inFlight)
	}
	for code := range statuses {
		if code != 401 && code != 429 && code != 503 {
			t.Fatalf("statuses %v", statuses)
		}
	}
	if statuses[401] == 0 {
		t.Fatalf("no wrong secret was checked: %v", statuses)
	}
}
