package main

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/testbin"
	"github.com/scimd/scimd/storage/embedded"
)

// TestAdminCreate runs "scimd admin create" as a process: the password comes
// from stdin, the account can sign in, a second create of the same address
// is a usage error, and a short password is refused.
func TestAdminCreate(t *testing.T) {
	dir := t.TempDir()
	create := func(email, password string) (string, int) {
		cmd := exec.Command(testbin.Path(t), "admin", "create", "--email", email, "--data-dir", dir)
		cmd.Stdin = strings.NewReader(password + "\n")
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := create("Ops@Example.com", "a long enough password"); code != exitOK || !strings.Contains(out, "ops@example.com created") {
		t.Fatalf("admin create: exit %d\n%s", code, out)
	}
	if out, code := create("ops@example.com", "another long password"); code != exitUsage || !strings.Contains(out, "already exists") {
		t.Fatalf("admin create of an existing address: exit %d\n%s", code, out)
	}
	if out, code := create("short@example.com", "short"); code != exitUsage || !strings.Contains(out, "at least 12") {
		t.Fatalf("admin create with a short password: exit %d\n%s", code, out)
	}
	if out, code := create("", "x"); code != exitUsage {
		t.Fatalf("admin create without --email: exit %d\n%s", code, out)
	}
	st, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := directory.New(st, directory.Options{})
	if _, err := svc.SignIn(context.Background(), "ops@example.com", "a long enough password", "127.0.0.1", "test"); err != nil {
		t.Fatalf("signing in with the created account: %v", err)
	}
}

// TestBootstrapAdminServesThePortal starts the binary with the bootstrap
// administrator: / redirects to the portal, the administrator signs in, and a
// restart with another password changes nothing (idempotent).
func TestBootstrapAdminServesThePortal(t *testing.T) {
	dir := t.TempDir()
	env := []string{"SCIMD_DATA_DIR=" + dir, "SCIMD_BOOTSTRAP_ADMIN_EMAIL=boot@example.com", "SCIMD_BOOTSTRAP_ADMIN_PASSWORD=bootstrap password 1"}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(p *proc, password string) int {
		resp, err := noRedirect.PostForm("http://"+p.addr+"/portal/signin", url.Values{"email": {"boot@example.com"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	p := start(t, env)
	if strings.Contains(p.log(), "bootstrap password") {
		t.Fatalf("the password was logged:\n%s", p.log())
	}
	resp, err := noRedirect.Get("http://" + p.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/portal/" {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code := signIn(p, "bootstrap password 1"); code != http.StatusSeeOther {
		t.Fatalf("sign-in of the bootstrap admin: %d\n%s", code, p.log())
	}
	p.stop(t)
	env[2] = "SCIMD_BOOTSTRAP_ADMIN_PASSWORD=another password 2"
	p = start(t, env)
	if code := signIn(p, "bootstrap password 1"); code != http.StatusSeeOther {
		t.Fatalf("a restart with another password changed the existing admin's: %d", code)
	}
	p.stop(t)
}
