package main

import (
	"bufio"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/testbin"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
)

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

// proc is a running scimd process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// start runs scimd with env and waits until it listens.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startBinary(t, testbin.Path(t), env, args...)
}

// startBinary is start with the binary bin.
func startBinary(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "SCIMD_ADDR=127.0.0.1:0"}, env...)
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case p.addr = <-addrc:
	case <-p.done:
		p.cmd.Wait()
		t.Fatalf("scimd exited before listening:\n%s", p.log())
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("scimd did not listen in time:\n%s", p.log())
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done; p.cmd.Wait() })
	return p
}

func (p *proc) log() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeHealthAndGracefulShutdown(t *testing.T) {
	p := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir()})
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, "http://"+p.addr+path); code != 200 || !strings.Contains(body, `"ok"`) {
			t.Errorf("GET %s = %d %s", path, code, body)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; log:\n%s", code, p.log())
	}
	if !strings.Contains(p.log(), "msg=stopped") {
		t.Fatalf("no clean stop logged:\n%s", p.log())
	}
}

var printedSecret = regexp.MustCompile(`client_id:\s+(\S+)\n\s*client_secret:\s+(\S+)`)

// TestFirstStartWritesCredentialsToAPrivateFile: the management app created on
// first start has its credentials written to a 0600 file in the data
// directory, never to the log stream (stderr is a pipe here, not a terminal),
// and only once.
func TestFirstStartWritesCredentialsToAPrivateFile(t *testing.T) {
	dir := t.TempDir()
	p := start(t, []string{"SCIMD_DATA_DIR=" + dir})
	p.stop(t)
	file := filepath.Join(dir, bootstrapFile)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no credentials file: %v\n%s", err, p.log())
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %v, want 0600", fi.Mode().Perm())
	}
	m := printedSecret.FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatalf("credentials file holds no credentials:\n%s", raw)
	}
	if strings.Contains(p.log(), m[2]) || strings.Contains(p.log(), "client_secret") {
		t.Fatalf("the secret went into the log stream:\n%s", p.log())
	}
	if !strings.Contains(p.log(), "file="+file) {
		t.Fatalf("the log does not say where the credentials are:\n%s", p.log())
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	p2 := start(t, []string{"SCIMD_DATA_DIR=" + dir})
	p2.stop(t)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("second start wrote credentials again: %v", err)
	}
	assertManagementApp(t, dir, m[1], m[2])
}

func TestBootstrapFromEnvironmentIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SCIMD_DATA_DIR=" + dir, "SCIMD_BOOTSTRAP_CLIENT_ID=ops-client", "SCIMD_BOOTSTRAP_CLIENT_SECRET=first-secret"}
	for i := 0; i < 2; i++ {
		p := start(t, env)
		if strings.Contains(p.log(), "first-secret") {
			t.Fatalf("the secret was logged:\n%s", p.log())
		}
		p.stop(t)
	}
	assertManagementApp(t, dir, "ops-client", "first-secret")

	env[2] = "SCIMD_BOOTSTRAP_CLIENT_SECRET=second-secret"
	start(t, env).stop(t)
	assertManagementApp(t, dir, "ops-client", "second-secret")
}

// assertManagementApp checks that the store in dir holds exactly one management
// app, with these credentials.
func assertManagementApp(t *testing.T, dir, clientID, secret string) {
	t.Helper()
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	apps, err := s.ListApps(ctx, schemas.AppManagement)
	if err != nil || len(apps) != 1 {
		t.Fatalf("management apps: %d, %v; want 1", len(apps), err)
	}
	a, err := s.FindAppByClientID(ctx, clientID)
	if err != nil {
		t.Fatalf("find app %q: %v", clientID, err)
	}
	if len(a.Secrets) != 1 {
		t.Fatalf("app has %d secrets, want 1", len(a.Secrets))
	}
	if ok, err := directory.VerifySecret(a.Secrets[0].Hash, secret); !ok || err != nil {
		t.Fatalf("secret %q does not verify: %v", secret, err)
	}
}

func TestBadConfigurationExitsWithOneClearLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name string
		env  []string
		args []string
		want string
		code int
	}{
		{"unknown flag", nil, []string{"serve", "-no-such-flag"}, "flag provided but not defined", exitUsage},
		{"bad log level", []string{"SCIMD_LOG_LEVEL=loud"}, nil, "invalid -log-level", exitUsage},
		{"bad address", []string{"SCIMD_ADDR=nonsense"}, nil, "invalid -addr", exitUsage},
		{"half bootstrap", []string{"SCIMD_BOOTSTRAP_CLIENT_ID=x"}, nil, "must be set together", exitUsage},
		{"no connections", nil, []string{"serve", "-max-connections", "0"}, "-max-connections must be at least 1", exitUsage},
		{"no hashing", nil, []string{"serve", "-hash-concurrency", "0"}, "-hash-concurrency must be at least 1", exitUsage},
		{"negative search cache", []string{"SCIMD_SEARCH_CACHE_MIB=-1"}, nil, "invalid -search-cache-mib", exitUsage},
		{"search cache not a number", nil, []string{"serve", "-search-cache-mib", "64MiB"}, "invalid -search-cache-mib", exitUsage},
		{"mapped bound too large", nil, []string{"serve", "-mapped-mib", "99999999"}, "invalid -mapped-mib", exitUsage},
		{"unknown command", nil, []string{"frobnicate"}, "unknown command", exitUsage},
		{"unwritable data dir", []string{"SCIMD_DATA_DIR=" + filepath.Join(file, "sub")}, nil, "open embedded store", exitFailure},
		{"unreachable mongodb", []string{"SCIMD_MONGODB_URI=mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"}, nil, "open MongoDB store", exitFailure},
		{"address in use", []string{"SCIMD_DATA_DIR=" + t.TempDir(), "SCIMD_ADDR=" + busy.Addr().String()}, nil, "listen on", exitFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(testbin.Path(t), tc.args...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "SCIMD_LOG_LEVEL=error", "SCIMD_DATA_DIR=" + t.TempDir()}, tc.env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("exit: %v, want exit code %d; stderr:\n%s", err, tc.code, stderr.String())
			}
			if ee.ExitCode() != tc.code {
				t.Errorf("exit code %d, want %d", ee.ExitCode(), tc.code)
			}
			out := strings.TrimRight(stderr.String(), "\n")
			lines := strings.Split(out, "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "scimd: ") || !strings.Contains(last, tc.want) {
				t.Errorf("last stderr line %q, want one line with %q", last, tc.want)
			}
			if len(lines) != 1 {
				t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), out)
			}
		})
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	env := map[string]string{"SCIMD_ADDR": "127.0.0.1:9000", "SCIMD_LOG_FORMAT": "json"}
	c, err := parseConfig([]string{"-addr", "127.0.0.1:9001"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9001" || c.LogFormat != "json" || c.DataDir != "./data" {
		t.Fatalf("config %+v", c)
	}
}

// TestCollectLessOften: serve and import raise the collector's target to
// gcPercent unless GOGC is set, in which case the runtime's (GOGC's) stays.
func TestCollectLessOften(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	limit := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(limit)
	collectLessOften(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC unset: collector target %d, want %d", got, gcPercent)
	}
	collectLessOften(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100: collector target %d, want it left at 100", got)
	}
	// GOMEMLIMIT likewise: unset, memoryLimit; set, the runtime's stays.
	debug.SetMemoryLimit(math.MaxInt64)
	collectLessOften(func(string) string { return "" })
	if got := debug.SetMemoryLimit(-1); got != memoryLimit {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", got, memoryLimit)
	}
	debug.SetMemoryLimit(1 << 40)
	collectLessOften(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1TiB"
		}
		return ""
	})
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("GOMEMLIMIT=1TiB: memory limit %d, want it left at %d", got, int64(1<<40))
	}
}
