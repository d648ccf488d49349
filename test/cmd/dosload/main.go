// Command dosload measures how the real scimd binary holds up against the two
// unauthenticated denial-of-service shapes of issue 7: a flood of wrong client
// secrets at POST /oidc/token (-mode flood) and connections trickling a request
// body (-mode trickle). It starts the binary itself (so that it can read the
// server's resident memory from /proc), loopback only, bounded in time, and
// reports figures; it asserts nothing. See README.md next to this file.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	bin := flag.String("bin", "", "scimd binary (default: build ../cmd/scimd into a temporary directory)")
	mode := flag.String("mode", "flood", "flood (wrong client secrets) or trickle (slow request bodies)")
	conc := flag.Int("c", 1000, "concurrent attackers: flooding clients or trickling connections")
	dur := flag.Duration("duration", 10*time.Second, "how long the attack lasts")
	spread := flag.Int("spread", 0, "flood: spread the attackers over this many client ids (apps created first) and source addresses 127.0.0.2…, so that the per-client and per-address budgets do not stop them and only the hashing slots bound the work (at most 250)")
	flag.Parse()
	if *bin == "" {
		dir, err := os.MkdirTemp("", "dosload")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "scimd")
		build := exec.Command("go", "build", "-o", *bin, "github.com/scimd/scimd/cmd/scimd")
		if out, err := build.CombinedOutput(); err != nil {
			log.Fatalf("go build: %v\n%s", err, out)
		}
	}
	if err := run(*bin, *mode, *conc, *dur, min(*spread, 250)); err != nil {
		log.Fatal(err)
	}
}

const (
	clientID = "ops"
	secret   = "ops-secret-123"
)

// server is the scimd process under test.
type server struct {
	cmd  *exec.Cmd
	addr string
}

func startServer(bin string) (*server, error) {
	dir, err := os.MkdirTemp("", "dosload-data")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SCIMD_ADDR=127.0.0.1:0", "SCIMD_DATA_DIR="+dir, "SCIMD_LOG_LEVEL=info",
		"SCIMD_BOOTSTRAP_CLIENT_ID="+clientID, "SCIMD_BOOTSTRAP_CLIENT_SECRET="+secret)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addrc := make(chan string, 1)
	re := regexp.MustCompile(`msg=listening addr=(\S+)`)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case a := <-addrc:
		return &server{cmd: cmd, addr: a}, nil
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		return nil, errors.New("scimd did not start listening")
	}
}

func (s *server) stop() { s.cmd.Process.Kill(); s.cmd.Wait() }

// rssMiB reads the server's resident set size.
func (s *server) rssMiB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return -1
}

// probe is one kind of request timed while the attack runs.
type probe struct {
	name     string
	mu       sync.Mutex
	lat      []time.Duration
	statuses map[int]int
	errs     int
}

func (p *probe) record(d time.Duration, status int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.statuses == nil {
		p.statuses = map[int]int{}
	}
	if err != nil {
		p.errs++
	} else {
		p.statuses[status]++
	}
	p.lat = append(p.lat, d)
}

func (p *probe) report() {
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.Sort(p.lat)
	q := func(f float64) time.Duration {
		if len(p.lat) == 0 {
			return 0
		}
		return p.lat[int(f*float64(len(p.lat)-1))].Round(time.Millisecond)
	}
	fmt.Printf("  %-22s n=%d p50=%v max=%v statuses=%v errors=%d\n", p.name, len(p.lat), q(0.5), q(1), p.statuses, p.errs)
}

func tokenForm(sec string) string {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {sec}}.Encode()
}

// send makes one request on a fresh connection and returns its status.
func send(ctx context.Context, c *http.Client, method, u, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func run(bin, mode string, conc int, dur time.Duration, spread int) error {
	s, err := startServer(bin)
	if err != nil {
		return err
	}
	defer s.stop()
	base := "http://" + s.addr
	probeClient := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if code, err := send(context.Background(), probeClient, "POST", base+"/oidc/token", tokenForm(secret)); err != nil || code != 200 {
		return fmt.Errorf("warm-up token request: %d %v", code, err)
	}
	clientIDs := []string{clientID}
	if mode == "flood" && spread > 0 {
		var err error
		if clientIDs, err = createApps(probeClient, base, spread); err != nil {
			return err
		}
	}
	time.Sleep(500 * time.Millisecond)
	idle := s.rssMiB()
	fmt.Printf("mode=%s attackers=%d spread=%d duration=%v idle RSS %.1f MiB\n", mode, conc, spread, dur, idle)

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	var peak atomic.Int64
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample RSS until the report, not just during the attack
		defer close(sampled)
		for {
			if r := int64(s.rssMiB() * 1024); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-sampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	attack := &probe{name: "attack requests"}
	var trickleCut atomic.Int64
	switch mode {
	case "flood":
		// Every attacker keeps one wrong-secret request in flight, each on
		// its own connection, for the whole duration.
		for i := 0; i < conc; i++ {
			dialer := &net.Dialer{}
			if spread > 0 {
				dialer.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%spread))}
			}
			c := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientIDs[i%len(clientIDs)]},
				"client_secret": {"wrong-" + strconv.Itoa(i)}}.Encode()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					t0 := time.Now()
					code, err := send(ctx, c, "POST", base+"/oidc/token", form)
					if ctx.Err() != nil {
						return
					}
					attack.record(time.Since(t0), code, err)
				}
			}()
		}
	case "trickle":
		// Every attacker announces a 10,000-byte token request body and sends
		// one byte a second.
		for i := 0; i < conc; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				conn, err := net.Dial("tcp", s.addr)
				if err != nil {
					attack.record(time.Since(t0), 0, err)
					return
				}
				defer conn.Close()
				head := "POST /oidc/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n"
				if _, err := conn.Write([]byte(head)); err != nil {
					attack.record(time.Since(t0), 0, err)
					return
				}
				done := make(chan struct{})
				go func() { // the server cutting us off shows as a response or EOF
					defer close(done)
					conn.SetReadDeadline(time.Now().Add(dur + time.Minute))
					resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
					if ctx.Err() != nil {
						return
					}
					trickleCut.Add(1)
					if err == nil {
						attack.record(time.Since(t0), resp.StatusCode, nil)
					} else {
						attack.record(time.Since(t0), 0, err)
					}
				}()
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-done:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte("a")); err != nil {
							<-done
							return
						}
					}
				}
			}()
		}
	default:
		return fmt.Errorf("unknown -mode %q", mode)
	}

	time.Sleep(500 * time.Millisecond) // let the attack build up
	health, token := &probe{name: "GET /healthz"}, &probe{name: "correct token request"}
	for ctx.Err() == nil {
		for _, p := range []struct {
			p            *probe
			method, path string
			body         string
		}{{health, "GET", "/healthz", ""}, {token, "POST", "/oidc/token", tokenForm(secret)}} {
			t0 := time.Now()
			code, err := send(context.Background(), probeClient, p.method, base+p.path, p.body)
			p.p.record(time.Since(t0), code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	wg.Wait()
	time.Sleep(2 * time.Second)
	after := s.rssMiB()
	close(sampling)
	<-sampled
	fmt.Printf("  peak RSS %.1f MiB (+%.1f MiB over idle), %.1f MiB 2 s after the attack\n",
		float64(peak.Load())/1024, float64(peak.Load())/1024-idle, after)
	attack.report()
	if mode == "trickle" {
		fmt.Printf("  trickling connections ended by the server: %d of %d\n", trickleCut.Load(), conc)
	}
	health.report()
	token.report()
	return nil
}

// createApps creates n regular applications with an admin token from the
// bootstrap credentials, and returns their client ids.
func createApps(c *http.Client, base string, n int) ([]string, error) {
	resp, err := c.Post(base+"/oidc/token", "application/x-www-form-urlencoded", strings.NewReader(tokenForm(secret)))
	if err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, n)
	for i := range n {
		req, _ := http.NewRequest("POST", base+"/cis/v1/applications", strings.NewReader(fmt.Sprintf(`{"app_name":"dosload %d"}`, i)))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		var out struct {
			Result struct {
				ClientID string `json:"client_id"`
			} `json:"result"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || out.Result.ClientID == "" {
			return nil, fmt.Errorf("create app %d: %d %v", i, resp.StatusCode, err)
		}
		ids = append(ids, out.Result.ClientID)
	}
	return ids, nil
}
