package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/testbin"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// common name, and its key, to certFile and keyFile.
func writeCert(t *testing.T, cn, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: nil,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// The key first, then the certificate: a reload between the two keeps the old pair.
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// servedCN connects with TLS at most version max and returns the common name
// of the certificate the server presents, and the /healthz status.
func servedCN(t *testing.T, addr string, max uint16) (string, int, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: max}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/healthz")
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.TLS.PeerCertificates[0].Subject.CommonName, resp.StatusCode, nil
}

// TestTLSServesAndReloadsTheCertificate: with -tls-cert/-tls-key scimd serves
// HTTPS only, refuses TLS 1.1, and serves a renewed certificate written over
// the files without a restart; a broken renewal keeps the old one in service.
func TestTLSServesAndReloadsTheCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeCert(t, "first", certFile, keyFile)
	p := start(t, []string{"SCIMD_DATA_DIR=" + filepath.Join(dir, "data"), "SCIMD_TLS_CERT=" + certFile, "SCIMD_TLS_KEY=" + keyFile})

	if cn, code, err := servedCN(t, p.addr, 0); err != nil || cn != "first" || code != 200 {
		t.Fatalf("HTTPS: %q %d %v", cn, code, err)
	}
	if _, _, err := servedCN(t, p.addr, tls.VersionTLS11); err == nil {
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
	if code, _, err := plainGet("http://" + p.addr + "/healthz"); err == nil && code == 200 {
		t.Fatal("plain HTTP was served on the TLS listener")
	}
	if !strings.Contains(p.log(), "public_url=https://") {
		t.Fatalf("the derived public URL is not https:\n%s", p.log())
	}

	// A broken renewal: the previous certificate stays in service.
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(certCheckInterval + 100*time.Millisecond)
	if cn, _, err := servedCN(t, p.addr, 0); err != nil || cn != "first" {
		t.Fatalf("after a broken renewal: %q %v", cn, err)
	}
	// The handshake above re-read the files and logged the failure; the line
	// reaches this process through a pipe, so it is waited for.
	p.waitLog(t, "TLS certificate not reloaded")

	writeCert(t, "second", certFile, keyFile)
	time.Sleep(certCheckInterval + 100*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cn, _, err := servedCN(t, p.addr, 0)
		if err == nil && cn == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was never served: %q %v\n%s", cn, err, p.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func plainGet(u string) (int, http.Header, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header, nil
}

// TestVersionIsStampedByTheBuild: a binary built with the Makefile's -ldflags
// reports the stamped version, commit and date on "version", "--version" and
// in /healthz.
func TestVersionIsStampedByTheBuild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "scimd")
	ld := "-X main.version=v9.8.7 -X main.commit=abc1234def -X main.buildDate=2026-11-30T01:02:03Z"
	if out, err := exec.Command("go", "build", "-ldflags", ld, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, arg := range []string{"version", "--version", "-version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if want := "scimd v9.8.7 (commit abc1234def, built 2026-11-30T01:02:03Z, go"; !strings.HasPrefix(string(out), want) {
			t.Fatalf("scimd %s = %q, want prefix %q", arg, out, want)
		}
	}
	p := startBinary(t, bin, []string{"SCIMD_DATA_DIR=" + t.TempDir()})
	_, body := get(t, "http://"+p.addr+"/healthz")
	var h map[string]string
	if err := json.Unmarshal([]byte(body), &h); err != nil || h["version"] != "v9.8.7" || h["commit"] != "abc1234def" || h["build_date"] != "2026-11-30T01:02:03Z" {
		t.Fatalf("/healthz = %s", body)
	}
	if !strings.Contains(p.log(), "version=v9.8.7 commit=abc1234def") {
		t.Fatalf("start line lacks the version:\n%s", p.log())
	}
}

// do sends one request with headers and returns the answer with its body.
func do(t *testing.T, method, u string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// waitLog waits until the process log matches re.
func (p *proc) waitLog(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := rx.FindString(p.log()); m != "" {
			return m
		}
	}
	t.Fatalf("log never matched %s:\n%s", re, p.log())
	return ""
}

// TestAccessLogAndRequestIDs: every request gets one info line with its
// request id (the client's X-Request-Id, or a generated one, echoed in the
// response), method, route pattern (not the raw path), status, bytes,
// duration, client address and principal; -access-log off drops the lines.
func TestAccessLogAndRequestIDs(t *testing.T) {
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir()}, opsEnv...))
	base := "http://" + p.addr
	admin := adminToken(t, base)

	resp, _ := do(t, "GET", base+"/healthz", map[string]string{"X-Request-Id": "req-abc.123"}, "")
	if got := resp.Header.Get("X-Request-Id"); got != "req-abc.123" {
		t.Fatalf("echoed request id %q", got)
	}
	p.waitLog(t, `level=INFO msg=request method=GET path=/healthz status=200 bytes=\d+ duration=\S+ route=/healthz request_id=req-abc.123 client_ip=127.0.0.1\n`)

	// A hostile id is replaced by a generated one.
	resp, _ = do(t, "GET", base+"/healthz", map[string]string{"X-Request-Id": "x\" injected=1"}, "")
	gen := resp.Header.Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(gen) {
		t.Fatalf("generated request id %q", gen)
	}
	p.waitLog(t, `request_id=`+gen)

	// Native and SCIM routes are logged by pattern, with the principal.
	resp, _ = do(t, "GET", base+"/cis/v1/users/nobody-here", map[string]string{"Authorization": "Bearer " + admin, "X-Request-Id": "native-404"}, "")
	if resp.StatusCode != 404 {
		t.Fatalf("GET unknown user: %d", resp.StatusCode)
	}
	line := p.waitLog(t, `msg=request method=GET path=/cis/v1/users/nobody-here status=404 .*route=/cis/v1/users/\{user_id\} request_id=native-404 client_ip=127.0.0.1 principal=app:ops.*\n`)
	if !strings.Contains(line, "err=") {
		t.Errorf("the error's cause is not on the request's line: %s", line)
	}
	do(t, "GET", base+"/scim/v2/Users/nobody-here", map[string]string{"Authorization": "Bearer " + admin, "X-Request-Id": "scim-404"}, "")
	p.waitLog(t, `status=404 .*route=/scim/v2/Users/\{id\} request_id=scim-404 client_ip=127.0.0.1 principal=app:ops`)

	q := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir(), "SCIMD_ACCESS_LOG=off"})
	do(t, "GET", "http://"+q.addr+"/healthz", nil, "")
	// Once the process has exited, its log is complete: a line it would have
	// written for the request is in it.
	if code := q.stop(t); code != 0 {
		t.Fatalf("stop: exit %d:\n%s", code, q.log())
	}
	if strings.Contains(q.log(), "msg=request") {
		t.Fatalf("-access-log off still logs requests:\n%s", q.log())
	}
}

// TestHeadOptionsAndCORS: HEAD is answered wherever GET is, without a body;
// OPTIONS lists the methods of a path; CORS headers go only to the configured
// origins of the native API.
func TestHeadOptionsAndCORS(t *testing.T) {
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir(), "SCIMD_CORS_ORIGINS=https://admin.example.com"}, opsEnv...))
	base := "http://" + p.addr
	admin := adminToken(t, base)
	auth := map[string]string{"Authorization": "Bearer " + admin}
	for _, path := range []string{"/healthz", "/readyz", "/cis/v1/users", "/scim/v2/Users", "/scim/v2/ServiceProviderConfig", "/oidc/jwks", "/cis/openapi.json"} {
		get, getBody := do(t, "GET", base+path, auth, "")
		head, headBody := do(t, "HEAD", base+path, auth, "")
		if get.StatusCode != 200 || head.StatusCode != 200 || headBody != "" || getBody == "" {
			t.Errorf("%s: GET %d (%d bytes), HEAD %d with %q", path, get.StatusCode, len(getBody), head.StatusCode, headBody)
		}
		if head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("%s: HEAD Content-Type %q, GET %q", path, head.Header.Get("Content-Type"), get.Header.Get("Content-Type"))
		}
	}
	if resp, _ := do(t, "HEAD", base+"/oidc/token", nil, ""); resp.StatusCode != 405 {
		t.Errorf("HEAD on a POST-only endpoint: %d", resp.StatusCode)
	}

	for path, want := range map[string]string{
		"/cis/v1/users":      "GET, POST, HEAD, OPTIONS",
		"/cis/v1/users/abc":  "GET, PUT, HEAD, OPTIONS",
		"/scim/v2/Users/abc": "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
		"/healthz":           "GET, HEAD, OPTIONS",
		"/oidc/token":        "POST, OPTIONS",
	} {
		resp, body := do(t, "OPTIONS", base+path, nil, "")
		if resp.StatusCode != 204 || resp.Header.Get("Allow") != want || body != "" {
			t.Errorf("OPTIONS %s: %d Allow %q (want %q) body %q", path, resp.StatusCode, resp.Header.Get("Allow"), want, body)
		}
	}

	preflight := map[string]string{"Origin": "https://admin.example.com", "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "authorization"}
	resp, _ := do(t, "OPTIONS", base+"/cis/v1/groups/g1", preflight, "")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://admin.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "DELETE") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from an allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, "GET", base+"/cis/v1/users", map[string]string{"Authorization": "Bearer " + admin, "Origin": "https://admin.example.com"}, "")
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://admin.example.com" || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Errorf("GET from an allowed origin: %v", resp.Header)
	}
	preflight["Origin"] = "https://evil.example.net"
	for _, path := range []string{"/cis/v1/groups/g1", "/scim/v2/Users"} {
		resp, _ = do(t, "OPTIONS", base+path, preflight, "")
		if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("preflight from another origin to %s allowed: %q", path, v)
		}
	}
	resp, _ = do(t, "GET", base+"/scim/v2/Users", map[string]string{"Authorization": "Bearer " + admin, "Origin": "https://admin.example.com"}, "")
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("CORS on the SCIM face: %q", v)
	}

	q := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir()}, opsEnv...))
	preflight["Origin"] = "https://admin.example.com"
	resp, _ = do(t, "OPTIONS", "http://"+q.addr+"/cis/v1/groups/g1", preflight, "")
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("CORS is on by default: %q", v)
	}
}

// TestTrustedProxies: X-Forwarded-For and X-Forwarded-Proto are believed
// only from -trusted-proxies: then the audit event records the client's
// address and SCIM's absolute URLs use the client's scheme; from any other
// peer they are ignored.
func TestTrustedProxies(t *testing.T) {
	check := func(trusted string, wantIP, wantScheme string) {
		t.Helper()
		env := append([]string{"SCIMD_DATA_DIR=" + t.TempDir(), "SCIMD_TRUSTED_PROXIES=" + trusted}, opsEnv...)
		p := start(t, env)
		base := "http://" + p.addr
		admin := adminToken(t, base)
		fwd := map[string]string{"Authorization": "Bearer " + admin, "Content-Type": "application/scim+json",
			"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https", "X-Request-Id": "via-proxy"}
		resp, body := do(t, "POST", base+"/scim/v2/Users", fwd,
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"proxied@example.com"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, wantScheme+"://"+p.addr+"/scim/v2/Users/") {
			t.Errorf("trusted %q: Location %q, want scheme %s", trusted, loc, wantScheme)
		}
		p.waitLog(t, `request_id=via-proxy client_ip=`+regexp.QuoteMeta(wantIP)+` `)
		_, events := call(t, "GET", base+"/cis/v1/manage/audit-events?action=createUser", admin, "", "")
		raw, _ := json.Marshal(events)
		if !strings.Contains(string(raw), `"`+wantIP+`"`) {
			t.Errorf("trusted %q: audit event lacks ip %s: %s", trusted, wantIP, raw)
		}
	}
	check("127.0.0.1/32", "203.0.113.9", "https")
	check("10.0.0.0/8", "127.0.0.1", "http")
}

// TestHealthcheckSubcommand: "scimd healthcheck" (the container HEALTHCHECK)
// finds the server from SCIMD_ADDR, over TLS when SCIMD_TLS_CERT is set, and
// fails when nothing answers.
func TestHealthcheckSubcommand(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeCert(t, "hc", certFile, keyFile)
	plain := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir()})
	secure := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir(), "SCIMD_TLS_CERT=" + certFile, "SCIMD_TLS_KEY=" + keyFile})
	_, securePort, _ := strings.Cut(secure.addr, ":")
	_, plainPort, _ := strings.Cut(plain.addr, ":")
	for _, tc := range []struct {
		env  []string
		args []string
		code int
	}{
		{[]string{"SCIMD_ADDR=0.0.0.0:" + plainPort}, nil, 0},
		{[]string{"SCIMD_ADDR=0.0.0.0:" + plainPort}, []string{"-ready"}, 0},
		{[]string{"SCIMD_ADDR=0.0.0.0:" + securePort, "SCIMD_TLS_CERT=" + certFile}, nil, 0},
		{[]string{"SCIMD_ADDR=0.0.0.0:" + securePort}, nil, 1}, // plain HTTP to a TLS listener
		{nil, []string{"-url", "http://127.0.0.1:1", "-timeout", "1s"}, 1},
	} {
		cmd := exec.Command(testbin.Path(t), append([]string{"healthcheck"}, tc.args...)...)
		cmd.Env = tc.env
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("healthcheck %v %v: exit %d, want %d: %s", tc.env, tc.args, code, tc.code, out)
		}
	}
}

// TestRateLimitsFollowTheForwardedClient: behind a trusted proxy the token
// endpoint's per-address failure budget is the forwarded client's, so one
// client exhausting it does not lock out another behind the same proxy; from
// an untrusted peer a forged X-Forwarded-For does not escape the peer's budget.
func TestRateLimitsFollowTheForwardedClient(t *testing.T) {
	fail := func(base, xff string) int {
		form := "grant_type=client_credentials&client_id=nobody&client_secret=wrong"
		resp, _ := do(t, "POST", base+"/oidc/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": xff}, form)
		return resp.StatusCode
	}
	for _, tc := range []struct {
		trusted   string
		otherCode int
	}{{"127.0.0.1", 401}, {"10.9.9.9", 429}} {
		p := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir(), "SCIMD_TRUSTED_PROXIES=" + tc.trusted})
		base := "http://" + p.addr
		limited := false
		for i := 0; i < directory.MaxIPSecretFailures+5 && !limited; i++ {
			limited = fail(base, "198.51.100.7") == 429
		}
		if !limited {
			t.Fatalf("trusted %s: %d failures were never rate limited", tc.trusted, directory.MaxIPSecretFailures+5)
		}
		if got := fail(base, "198.51.100.8"); got != tc.otherCode {
			t.Errorf("trusted %s: another forwarded client got %d, want %d", tc.trusted, got, tc.otherCode)
		}
	}
}

// TestAccessLogLinesSurviveAGracefulStop: request lines are written in
// batches (see accessLogFlush); every line of a request answered before a
// graceful stop is in the log, before "stopped".
func TestAccessLogLinesSurviveAGracefulStop(t *testing.T) {
	p := start(t, []string{"SCIMD_DATA_DIR=" + t.TempDir()})
	const n = 50
	for i := range n {
		do(t, "GET", "http://"+p.addr+"/healthz", map[string]string{"X-Request-Id": fmt.Sprintf("stop-%d", i)}, "")
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("stop: exit %d:\n%s", code, p.log())
	}
	out := p.log()
	stopped := strings.Index(out, "msg=stopped")
	if stopped < 0 {
		t.Fatalf("no stopped line:\n%s", out)
	}
	for i := range n {
		at := strings.Index(out, fmt.Sprintf("request_id=stop-%d client_ip", i))
		if at < 0 || at > stopped {
			t.Fatalf("the line of request stop-%d is missing or after stopped:\n%s", i, out)
		}
	}
}
