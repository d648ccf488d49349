// Package deploy holds the deployment files (Dockerfile at the repository
// root, compose.yaml, Caddyfile, scimd.service). There is no container engine
// where the tests run, so these tests check what can be checked without one:
// the files parse, agree with each other and with the binary's flags, and
// keep the promised hardening. See docs/operations.md for what was not run.
package deploy

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v4"

	"github.com/scimd/scimd/internal/testbin"
)

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

// envNames are the environment variables "scimd serve -h" documents.
func envNames(t *testing.T, bin string) []string {
	t.Helper()
	out, _ := exec.Command(bin, "serve", "-h").CombinedOutput()
	var names []string
	for _, m := range regexp.MustCompile(`\(env (SCIMD_[A-Z_]+)\)`).FindAllStringSubmatch(string(out), -1) {
		names = append(names, m[1])
	}
	if len(names) < 10 {
		t.Fatalf("serve -h lists %d environment variables:\n%s", len(names), out)
	}
	// Secrets are read from the environment only, never flags.
	return append(names, "SCIMD_BOOTSTRAP_CLIENT_ID", "SCIMD_BOOTSTRAP_CLIENT_SECRET")
}

type service struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	ReadOnly    bool              `yaml:"read_only"`
	User        string            `yaml:"user"`
	CapDrop     []string          `yaml:"cap_drop"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]any    `yaml:"depends_on"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Networks    any               `yaml:"networks"`
}

type compose struct {
	Services map[string]service `yaml:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet string `yaml:"subnet"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
}

// TestComposeFile: three MongoDB nodes in one replica set initiated once, two
// hardened scimd replicas sharing one public URL on that replica set, and a
// TLS proxy that is their only trusted proxy and reaches both.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml does not parse: %v", err)
	}
	bin := testbin.Path(t)
	known := envNames(t, bin)

	mongos := []string{"mongo1", "mongo2", "mongo3"}
	init := c.Services["mongo-init"]
	for _, m := range mongos {
		s, ok := c.Services[m]
		if !ok || !strings.HasPrefix(s.Image, "mongo:") || !slices.Contains(s.Command, "--replSet") || !slices.Contains(s.Command, "rs0") {
			t.Errorf("%s: %+v, want a mongo node of replica set rs0", m, s)
		}
		if _, ok := init.DependsOn[m]; !ok {
			t.Errorf("mongo-init does not wait for %s", m)
		}
		if !strings.Contains(strings.Join(init.Entrypoint, " "), `host: "`+m+`:27017"`) {
			t.Errorf("the replica set is not initiated with %s", m)
		}
	}

	var proxyIP netip.Addr
	proxy := c.Services["proxy"]
	if !slices.Contains(proxy.Ports, "443:443") {
		t.Errorf("the proxy does not publish 443: %v", proxy.Ports)
	}
	if nets, ok := proxy.Networks.(map[string]any); ok {
		if b, ok := nets["backend"].(map[string]any); ok {
			proxyIP, _ = netip.ParseAddr(b["ipv4_address"].(string))
		}
	}
	subnet := netip.MustParsePrefix(c.Networks["backend"].IPAM.Config[0].Subnet)
	if !subnet.Contains(proxyIP) {
		t.Errorf("proxy address %v outside the backend subnet %v", proxyIP, subnet)
	}

	publicURL := ""
	for _, name := range []string{"scimd1", "scimd2"} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if !s.ReadOnly || s.User == "" || strings.HasPrefix(s.User, "0") || s.User == "root" || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s is not read-only, non-root and without capabilities: %+v", name, s)
		}
		if _, ok := s.DependsOn["mongo-init"]; !ok {
			t.Errorf("%s does not wait for the replica set", name)
		}
		env := s.Environment
		for k := range env {
			if !slices.Contains(known, k) {
				t.Errorf("%s sets %s, which scimd does not read", name, k)
			}
		}
		uri := env["SCIMD_MONGODB_URI"]
		for _, m := range mongos {
			if !strings.Contains(uri, m+":27017") {
				t.Errorf("%s: MongoDB URI %q lacks %s", name, uri, m)
			}
		}
		if !strings.Contains(uri, "replicaSet=rs0") {
			t.Errorf("%s: MongoDB URI %q names no replica set", name, uri)
		}
		if env["SCIMD_TRUSTED_PROXIES"] != proxyIP.String() {
			t.Errorf("%s trusts %q, want exactly the proxy %v", name, env["SCIMD_TRUSTED_PROXIES"], proxyIP)
		}
		if env["SCIMD_PUBLIC_URL"] == "" {
			t.Errorf("%s has no public URL", name)
		}
		if publicURL != "" && env["SCIMD_PUBLIC_URL"] != publicURL {
			t.Errorf("the replicas have different public URLs (%q, %q): tokens of one would fail on the other", publicURL, env["SCIMD_PUBLIC_URL"])
		}
		publicURL = env["SCIMD_PUBLIC_URL"]
	}

	caddy, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`reverse_proxy scimd1:8080 scimd2:8080`).Match(caddy) || !strings.Contains(string(caddy), "health_uri /readyz") {
		t.Errorf("the Caddyfile does not balance both replicas with a readiness check:\n%s", caddy)
	}
	if !slices.ContainsFunc(proxy.Volumes, func(v string) bool { return strings.HasPrefix(v, "./Caddyfile:") }) {
		t.Errorf("the proxy does not mount the Caddyfile: %v", proxy.Volumes)
	}
}

// TestDockerfile: multi-stage, static, stamped, non-root, a data volume and a
// HEALTHCHECK that runs a sub-command the binary has.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(raw)
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(d, -1)
	if len(froms) < 2 || froms[len(froms)-1][1] != "scratch" {
		t.Errorf("want a multi-stage build ending FROM scratch: %v", froms)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-X main.buildDate=${BUILD_DATE}",
		`VOLUME ["/data"]`, "SCIMD_DATA_DIR=/data", "SCIMD_ADDR=0.0.0.0:8080"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	user := regexp.MustCompile(`(?m)^USER (\S+)`).FindStringSubmatch(d)
	if user == nil || strings.HasPrefix(user[1], "0") || strings.HasPrefix(user[1], "root") {
		t.Errorf("the image runs as %v, want a non-root user", user)
	}
	hc := regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD \["/scimd", "([a-z]+)"\]`).FindStringSubmatch(d)
	if hc == nil {
		t.Fatal("no HEALTHCHECK running /scimd")
	}
	bin := testbin.Path(t)
	// The sub-command exists: against nothing listening it fails with exit 1, not 2 (usage).
	cmd := exec.Command(bin, hc[1], "-timeout", "1s")
	cmd.Env = []string{"SCIMD_ADDR=0.0.0.0:1"}
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("scimd %s against a closed port: %v, want exit code 1", hc[1], err)
	}
}

// TestSystemdUnit: the unit runs "scimd serve" sandboxed, and systemd's own
// checker accepts it where systemd-analyze is installed.
func TestSystemdUnit(t *testing.T) {
	raw, err := os.ReadFile("scimd.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("not a key=value line: %q", line)
			}
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	for k, want := range map[string]string{
		"Service.ExecStart": "/usr/local/bin/scimd serve", "Service.DynamicUser": "yes", "Service.StateDirectory": "scimd",
		"Service.Environment": "SCIMD_DATA_DIR=/var/lib/scimd", "Service.NoNewPrivileges": "yes",
		"Service.ProtectSystem": "strict", "Service.ProtectHome": "yes", "Service.PrivateTmp": "yes",
		"Service.PrivateDevices": "yes", "Service.MemoryDenyWriteExecute": "yes", "Service.RestrictNamespaces": "yes",
		"Service.SystemCallFilter": "@system-service", "Service.KillSignal": "SIGTERM", "Install.WantedBy": "multi-user.target",
	} {
		if !slices.Contains(keys[k], want) {
			t.Errorf("%s = %v, want %q among them", k, keys[k], want)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: the unit was checked by the parser above only")
		return
	}
	bin := testbin.Path(t)
	dir := t.TempDir()
	unit := strings.ReplaceAll(string(raw), "/usr/local/bin/scimd", bin)
	if err := os.WriteFile(filepath.Join(dir, "scimd.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "scimd.service")).CombinedOutput()
	// verify also reports problems of the host's own units; keep only ours.
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "scimd.service") {
			ours = append(ours, line)
		}
	}
	if len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, strings.Join(ours, "\n"))
	}
}
