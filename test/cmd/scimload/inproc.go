package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage/embedded"
)

// runInProcess is scimload without -target: it measures the SCIM face on the
// embedded store in this process, as issue 4's performance section asks: with
// -users users (default 100,000) and -clients concurrent clients (default 8)
// over a real loopback listener it reports
//
//   - GET /Users?filter=userName eq "…" latency (p50, p99);
//   - GET /Users/{id} throughput, next to a bare net/http JSON handler
//     measured by the same clients in the same run;
//   - POST /Users rate;
//   - one PATCH adding 10,000 members to a group;
//   - GET /Groups/{id}?excludedAttributes=members on a group of every user.
//
// Figures are reported, not asserted.
func runInProcess(nUsers, clients int, dur time.Duration, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "scimload")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	st, err := embedded.Open(dir)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := directory.New(st, directory.Options{Logger: quiet})
	ctx := context.Background()
	if err := svc.EnsureSigningKey(ctx); err != nil {
		return err
	}
	_, token, err := svc.CreateAPIToken(ctx, directory.System, "load", "", nil, time.Time{})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	scim.New(svc, scim.Options{PublicURL: base, Logger: quiet}).Register(mux)
	bare := map[string]any{}
	mux.HandleFunc("GET /bare/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(bare)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * clients, MaxConnsPerHost: 4 * clients}}

	fmt.Printf("scimload: %d users, %d clients, GOMAXPROCS-limited host\n", nUsers, clients)
	// Load users through the directory (the POST rate is measured separately).
	start := time.Now()
	ids := make([]string, nUsers)
	names := make([]string, nUsers)
	var loadErr error
	var once sync.Once
	each(clients, nUsers, func(i int) bool {
		name := fmt.Sprintf("user%06d@load.example", i)
		u, err := svc.CreateUser(ctx, directory.System, &schemas.User{UserName: name, Name: schemas.Name{GivenName: "Load", FamilyName: fmt.Sprint(i)},
			Emails: []schemas.Email{{Value: name, Type: "work", Primary: true}}}, nil)
		if err != nil {
			once.Do(func() { loadErr = err })
			return false
		}
		ids[i], names[i] = u.ID, name
		return true
	})
	if loadErr != nil {
		return fmt.Errorf("load users: %w", loadErr)
	}
	fmt.Printf("loaded %d users in %v (%.0f/s through the directory)\n", nUsers, time.Since(start).Round(time.Millisecond), float64(nUsers)/time.Since(start).Seconds())
	// the bare handler serves the same document GET /Users/{id} renders
	b0, err := get(cl, token, base+"/scim/v2/Users/"+ids[0])
	if err != nil {
		return err
	}
	_ = json.Unmarshal(b0, &bare)

	// 1. filter userName eq
	settle()
	lat := latencies(cl, clients, 20_000, func(i int) string {
		return base + "/scim/v2/Users?filter=" + url.QueryEscape(`userName eq "`+names[(i*7919)%nUsers]+`"`)
	}, token)
	fmt.Printf("GET /Users?filter=userName eq: n=%d p50=%v p99=%v (target p99 ≤ 3ms)\n", len(lat), pct(lat, 50), pct(lat, 99))

	// 2. GET by id vs bare handler
	settle()
	scimRate := throughput(cl, clients, dur, func(i int) string { return base + "/scim/v2/Users/" + ids[(i*7919)%nUsers] }, token)
	bareRate := throughput(cl, clients, dur, func(i int) string { return base + "/bare/" + ids[(i*7919)%nUsers] }, token)
	fmt.Printf("GET /Users/{id}: %.0f req/s; bare net/http JSON handler: %.0f req/s; ratio %.0f%% (target ≥ 50%%)\n", scimRate, bareRate, 100*scimRate/bareRate)

	// 3. POST /Users rate
	settle()
	const posts = 10_000
	var postErrs atomic.Int64
	start = time.Now()
	each(clients, posts, func(i int) bool {
		name := fmt.Sprintf("post%06d@load.example", i)
		body, _ := json.Marshal(map[string]any{"schemas": []string{schemas.UserSchemaURN}, "userName": name, "active": true,
			"name": map[string]any{"givenName": "P", "familyName": "Q"}, "emails": []any{map[string]any{"value": name, "primary": true, "type": "work"}}})
		if st, _, err := send(cl, token, "POST", base+"/scim/v2/Users", body); err != nil || st != 201 {
			postErrs.Add(1)
		}
		return true
	})
	el := time.Since(start)
	fmt.Printf("POST /Users: %d in %v = %.0f/s, %d errors (target ≥ 2,000/s)\n", posts, el.Round(time.Millisecond), posts/el.Seconds(), postErrs.Load())

	// 4. PATCH adding 10,000 members in one request
	settle()
	g, err := svc.CreateGroup(ctx, directory.System, &schemas.Group{DisplayName: "ten-thousand"}, nil)
	if err != nil {
		return err
	}
	m := make([]any, 0, 10_000)
	for _, id := range ids[:min(10_000, nUsers)] {
		m = append(m, map[string]any{"value": id})
	}
	body, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": m}}})
	start = time.Now()
	code, _, err := send(cl, token, "PATCH", base+"/scim/v2/Groups/"+g.ID+"?excludedAttributes=members", body)
	fmt.Printf("PATCH +%d members (response without members): %v status %d err %v (target ≤ 1s)\n", len(m), time.Since(start).Round(time.Millisecond), code, err)
	g2, _ := svc.CreateGroup(ctx, directory.System, &schemas.Group{DisplayName: "ten-thousand-full"}, nil)
	start = time.Now()
	code, _, err = send(cl, token, "PATCH", base+"/scim/v2/Groups/"+g2.ID, body)
	fmt.Printf("PATCH +%d members (response with members): %v status %d err %v\n", len(m), time.Since(start).Round(time.Millisecond), code, err)

	// 5. GET a group of every user without its members
	big, err := svc.CreateGroup(ctx, directory.System, &schemas.Group{DisplayName: "everyone"}, nil)
	if err != nil {
		return err
	}
	start = time.Now()
	for i := 0; i < nUsers; i += directory.MaxMembersPerRequest {
		if err := svc.AddMembers(ctx, directory.System, big.ID, ids[i:min(i+directory.MaxMembersPerRequest, nUsers)]); err != nil {
			return err
		}
	}
	fmt.Printf("(added %d members through the directory in %v)\n", nUsers, time.Since(start).Round(time.Millisecond))
	settle()
	lat = latencies(cl, clients, 20_000, func(int) string { return base + "/scim/v2/Groups/" + big.ID + "?excludedAttributes=members" }, token)
	fmt.Printf("GET /Groups/{id}?excludedAttributes=members (%d members): p50=%v p99=%v (target ≤ 2ms)\n", nUsers, pct(lat, 50), pct(lat, 99))
	return nil
}

func send(cl *http.Client, token, method, u string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func get(cl *http.Client, token, u string) ([]byte, error) {
	st, b, err := send(cl, token, "GET", u, nil)
	if err == nil && st != 200 {
		err = fmt.Errorf("GET %s: %d %s", u, st, b)
	}
	return b, err
}

// each runs f(0…n-1) over workers goroutines, each taking the next index
// until none is left or its f returns false.
func each(workers, n int, f func(i int) bool) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || !f(i) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// settle lets the garbage of the previous phase's load be collected, so that
// each phase measures the steady state, not the tail of the one before.
func settle() {
	runtime.GC()
}

// latencies runs n GETs over the clients, after a warm-up of n/10 uncounted
// requests, and returns each counted request's latency.
func latencies(cl *http.Client, clients, n int, urlOf func(int) string, token string) []time.Duration {
	warm := n / 10
	run := func(n int, out []time.Duration) {
		each(clients, n, func(i int) bool {
			s := time.Now()
			if _, err := get(cl, token, urlOf(i)); err != nil {
				log.Fatal(err)
			}
			if out != nil {
				out[i] = time.Since(s)
			}
			return true
		})
	}
	run(warm, nil)
	out := make([]time.Duration, n)
	run(n, out)
	return out
}

// throughput runs GETs over the clients for d and returns requests per second.
func throughput(cl *http.Client, clients int, d time.Duration, urlOf func(int) string, token string) float64 {
	var count atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(count.Add(1))
				if _, err := get(cl, token, urlOf(i)); err != nil {
					log.Fatal(err)
				}
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / d.Seconds()
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100].Round(time.Microsecond)
}
