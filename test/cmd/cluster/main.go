// Command cluster runs the closest thing to a MongoDB replica-set deployment
// this machine allows — PostgreSQL (Debian's package) behind FerretDB v1.24's
// PostgreSQL backend, with two scimd replicas on it sharing one public URL —
// then checks what must hold across replicas and measures one replica against
// two. See README.md. Everything listens on 127.0.0.1 and is stopped at the end.
//
//	cd test && go run ./cmd/cluster               # checks, then 10 s of load per setup
//	go run ./cmd/cluster -users 2000 -duration 5s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

const publicURL = "http://scimd.cluster.test" // shared by both replicas: the token issuer

func main() {
	users := flag.Int("users", 2000, "users loaded before the load phase")
	clients := flag.Int("clients", 8, "concurrent clients in the load phase")
	dur := flag.Duration("duration", 10*time.Second, "duration of each load measurement")
	flag.Parse()
	if err := run(*users, *clients, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(users, clients int, dur time.Duration) error {
	tmp, err := os.MkdirTemp("", "scimd-cluster")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	pgURL, stopPG, err := startPostgres(tmp)
	if err != nil {
		return err
	}
	defer stopPG()
	mongoURI, stopFerret, err := startFerret(pgURL)
	if err != nil {
		return err
	}
	defer stopFerret()
	fmt.Println("PostgreSQL + FerretDB:", mongoURI)

	bin := filepath.Join(tmp, "scimd")
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/scimd/scimd").Output()
	if err != nil {
		return fmt.Errorf("locate the scimd module: %w", err)
	}
	build := exec.Command("go", "build", "-o", bin, "./cmd/scimd")
	build.Dir = strings.TrimSpace(string(root)) // the main module builds with its own go.sum
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	var reps []*replica
	for i := 0; i < 2; i++ {
		r, err := startReplica(bin, tmp, i, mongoURI)
		if err != nil {
			return err
		}
		defer r.stop()
		reps = append(reps, r)
	}
	a, b := reps[0], reps[1]
	fmt.Println("replicas:", a.base, b.base)

	if err := checks(a, b); err != nil {
		return err
	}
	fmt.Println("cross-replica checks: all passed")
	return load(a, b, users, clients, dur)
}

// startPostgres initialises a cluster in dir (as the postgres user: initdb
// refuses root) on a free port and creates the ferretdb database.
func startPostgres(dir string) (string, func(), error) {
	data := filepath.Join(dir, "pg")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", nil, err
	}
	asPG := func(name string, args ...string) *exec.Cmd {
		if os.Geteuid() == 0 {
			exec.Command("chown", "-R", "postgres:postgres", dir).Run()
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
		return exec.Command(name, args...)
	}
	if out, err := asPG("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port := freePort()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200", port, data)
	if out, err := asPG("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(data, "log"), "-w", "start").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	stop := func() { asPG("pg_ctl", "-D", data, "-m", "fast", "-w", "stop").Run() }
	if out, err := exec.Command("psql", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "postgres", "-c", "CREATE DATABASE ferretdb").CombinedOutput(); err != nil {
		stop()
		return "", nil, fmt.Errorf("create database: %v\n%s", err, out)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/ferretdb", port), stop, nil
}

func startFerret(pgURL string) (string, func(), error) {
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:       "postgresql",
		PostgreSQLURL: pgURL,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return "", nil, fmt.Errorf("FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	return f.MongoDBURI(), func() { cancel(); <-done }, nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type replica struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

func startReplica(bin, dir string, i int, mongoURI string) (*replica, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "SCIMD_ADDR=127.0.0.1:0", "SCIMD_MONGODB_URI=" + mongoURI,
		"SCIMD_DATA_DIR=" + filepath.Join(dir, fmt.Sprint("replica", i)), "SCIMD_PUBLIC_URL=" + publicURL,
		"SCIMD_ACCESS_LOG=off", "SCIMD_BOOTSTRAP_CLIENT_ID=ops", "SCIMD_BOOTSTRAP_CLIENT_SECRET=ops-secret-123"}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &replica{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	var logMu sync.Mutex
	var logBuf strings.Builder
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			logMu.Lock()
			logBuf.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		r.base = "http://" + a
		return r, nil
	case <-r.done:
	case <-time.After(60 * time.Second):
	}
	cmd.Process.Kill()
	logMu.Lock()
	defer logMu.Unlock()
	return nil, fmt.Errorf("replica %d did not start:\n%s", i, logBuf.String())
}

func (r *replica) stop() {
	r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
	}
	r.cmd.Wait()
}

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// call sends one request and returns the status, the headers and the decoded JSON body.
func call(method, u, token, ctype, body string, hdr ...string) (int, http.Header, map[string]any, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, resp.Header, out, nil
}

func token(r *replica) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"ops"}, "client_secret": {"ops-secret-123"}}
	code, _, out, err := call("POST", r.base+"/oidc/token", "", "application/x-www-form-urlencoded", form.Encode())
	if err != nil || code != 200 {
		return "", fmt.Errorf("token from %s: %d %v %v", r.base, code, out, err)
	}
	return out["access_token"].(string), nil
}

const scimType = "application/scim+json"

func scimUser(name string) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q}`, name)
}

// checks runs what must hold across replicas of one store.
func checks(a, b *replica) error {
	var failed []string
	check := func(name string, ok bool, detail ...any) {
		status := "ok  "
		if !ok {
			status = "FAIL"
			failed = append(failed, name)
		}
		fmt.Printf("  %s %s %v\n", status, name, fmt.Sprint(detail...))
	}
	tokA, err := token(a)
	if err != nil {
		return err
	}
	// A token issued by one replica is accepted by the other (shared issuer and keys).
	code, _, _, err := call("GET", b.base+"/cis/v1/users?page_limit=1", tokA, "", "")
	check("token from replica A accepted by replica B", err == nil && code == 200, code, err)

	// Read-your-write: created on A, read on B at once.
	code, hdr, out, err := call("POST", a.base+"/scim/v2/Users", tokA, scimType, scimUser("ryw@example.com"))
	id, _ := out["id"].(string)
	check("create on A", err == nil && code == 201, code, err)
	code, _, _, err = call("GET", b.base+"/scim/v2/Users/"+id, tokA, "", "")
	check("read-your-write: the user created on A is read on B at once", err == nil && code == 200, code, err)

	// Revocation: an API token deleted on B stops working on A at once.
	code, _, out, _ = call("POST", a.base+"/cis/v1/manage/api-tokens", tokA, "application/json", `{"description":"cluster"}`)
	res, _ := out["result"].(map[string]any)
	apiTok, _ := res["token"].(string)
	apiID, _ := res["token_id"].(string)
	code, _, _, _ = call("GET", a.base+"/scim/v2/Users?count=1", apiTok, "", "")
	check("API token works on A", code == 200, code)
	code, _, _, _ = call("DELETE", b.base+"/cis/v1/manage/api-tokens/"+apiID, tokA, "", "")
	check("API token revoked on B", code == 204, code)
	code, _, _, _ = call("GET", a.base+"/scim/v2/Users?count=1", apiTok, "", "")
	check("revocation: the token revoked on B is refused by A at once", code == 401, code)

	// If-Match race: two replaces with the same ETag, one on each replica, at once.
	etag := hdr.Get("ETag")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, r := range []*replica{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ryw@example.com","title":"t%d"}`, i)
			codes[i], _, _, _ = call("PUT", r.base+"/scim/v2/Users/"+id, tokA, scimType, body, "If-Match", etag)
		}()
	}
	wg.Wait()
	slices.Sort(codes)
	check("If-Match race across replicas: exactly one 200, the other 412", etag != "" && slices.Equal(codes, []int{200, 412}), codes)

	// Concurrent unique creates: the same userName on both replicas at once, 20 times.
	okRounds := 0
	for round := 0; round < 20; round++ {
		name := fmt.Sprintf("race-%d@example.com", round)
		for i, r := range []*replica{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _, _, _ = call("POST", r.base+"/scim/v2/Users", tokA, scimType, scimUser(name))
			}()
		}
		wg.Wait()
		slices.Sort(codes)
		if slices.Equal(codes, []int{201, 409}) {
			okRounds++
		}
	}
	check("concurrent creates of one userName on both replicas: one 201 and one 409, 20 of 20 rounds", okRounds == 20, okRounds, "/20")

	if len(failed) > 0 {
		return fmt.Errorf("%d cross-replica checks failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// load measures GET /scim/v2/Users/{id} and a userName filter with the
// clients on one replica, then spread over both.
func load(a, b *replica, users, clients int, dur time.Duration) error {
	tok, err := token(a)
	if err != nil {
		return err
	}
	fmt.Printf("loading %d users through SCIM POST...\n", users)
	ids := make([]string, users)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= users {
					return
				}
				r := []*replica{a, b}[i%2]
				code, _, out, err := call("POST", r.base+"/scim/v2/Users", tok, scimType, scimUser(fmt.Sprintf("load-%06d@example.com", i)))
				if err == nil && code == 201 {
					ids[i], _ = out["id"].(string)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("  POST /Users over both replicas: %.0f/s\n", float64(users)/time.Since(start).Seconds())

	type result struct {
		n          int
		errs       int
		p50, p99   time.Duration
		perSecond  float64
		replicaSet string
	}
	measure := func(targets []*replica, path func(i int) string) result {
		var mu sync.Mutex
		var lat []time.Duration
		errs := 0
		stop := time.Now().Add(dur)
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				bad := 0
				for i := c; time.Now().Before(stop); i += clients {
					r := targets[i%len(targets)]
					t0 := time.Now()
					code, _, _, err := call("GET", r.base+path(i), tok, "", "")
					if err != nil || code != 200 {
						bad++
						continue
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				errs += bad
				mu.Unlock()
			}()
		}
		wg.Wait()
		slices.Sort(lat)
		res := result{n: len(lat), errs: errs, perSecond: float64(len(lat)) / dur.Seconds()}
		if len(lat) > 0 {
			res.p50, res.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
		}
		return res
	}
	byID := func(i int) string { return "/scim/v2/Users/" + ids[(i*7919)%len(ids)] }
	byFilter := func(i int) string {
		return "/scim/v2/Users?filter=" + url.QueryEscape(fmt.Sprintf(`userName eq "load-%06d@example.com"`, (i*7919)%users))
	}
	fmt.Printf("load: %d clients, %s per measurement, %d users\n", clients, dur, users)
	fmt.Println("| request | replicas | requests/s | p50 | p99 | errors |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, q := range []struct {
		name string
		path func(int) string
	}{{"GET /Users/{id}", byID}, {`GET /Users?filter=userName eq`, byFilter}} {
		for _, set := range [][]*replica{{a}, {a, b}} {
			r := measure(set, q.path)
			fmt.Printf("| %s | %d | %.0f | %s | %s | %d |\n", q.name, len(set), r.perSecond,
				r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errs)
		}
	}
	return nil
}
