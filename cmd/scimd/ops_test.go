package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scimd/scimd/internal/testfs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testbin"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/storagetest"
	bolt "go.etcd.io/bbolt"
)

// adminToken exchanges the bootstrap credentials of opsEnv for a token.
func adminToken(t *testing.T, base string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"ops"}, "client_secret": {"ops-secret-123"}}
	code, tok := call(t, "POST", base+"/oidc/token", "", "application/x-www-form-urlencoded", form.Encode())
	token, _ := tok["access_token"].(string)
	if code != 200 || token == "" {
		t.Fatalf("token: %d %v", code, tok)
	}
	return token
}

// scimd runs a maintenance sub-command of the binary and returns its exit
// code and stderr.
func scimd(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(testbin.Path(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

// An online backup taken while writers keep creating users holds every user
// whose creation was acknowledged before the backup started; restored into a
// new data directory and served, every one of them is there.
func TestOnlineBackupUnderWritesRestores(t *testing.T) {
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir()}, opsEnv...))
	base := "http://" + p.addr
	token := adminToken(t, base)

	var (
		mu    sync.Mutex
		acked []string // ids acknowledged so far
		n     atomic.Int64
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Add(1)
				code, body := call(t, "POST", base+"/cis/v1/users", token, "application/json",
					fmt.Sprintf(`{"email":"u%d-%d@example.org"}`, w, i))
				if code != 201 {
					t.Errorf("create: %d %v", code, body)
					return
				}
				mu.Lock()
				acked = append(acked, body["result"].(map[string]any)["user_id"].(string))
				mu.Unlock()
			}
		})
	}
	// Back up once some writes are acknowledged (however slow the machine is)
	// and while the writers keep going.
	var before []string
	for deadline := time.Now().Add(time.Minute); len(before) < 10; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d users were written in a minute", len(before))
		}
		mu.Lock()
		before = append(before[:0], acked...)
		mu.Unlock()
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	// Without a token, and with a token that may not operate, nothing is served.
	if code, _ := scimd(t, nil, "backup", "--url", base, "--out", out); code == 0 {
		t.Fatal("backup without a token succeeded")
	}
	code, log := scimd(t, []string{"SCIMD_TOKEN=" + token}, "backup", "--url", base, "--out", out)
	time.Sleep(200 * time.Millisecond) // writes keep going after the backup, too
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("online backup: exit %d: %s", code, log)
	}

	data := t.TempDir()
	if code, log := scimd(t, nil, "restore", "--in", out, "--data-dir", data); code != 0 {
		t.Fatalf("restore: exit %d: %s", code, log)
	}
	if code, log := scimd(t, nil, "restore", "--in", out, "--data-dir", data); code == 0 || !strings.Contains(log, "--force") {
		t.Fatalf("a restore over an existing store without --force: exit %d: %s", code, log)
	}
	p2 := start(t, append([]string{"SCIMD_DATA_DIR=" + data}, opsEnv...))
	base2 := "http://" + p2.addr
	token2 := adminToken(t, base2)
	for _, id := range before {
		if code, body := call(t, "GET", base2+"/cis/v1/users/"+id, token2, "", ""); code != 200 {
			t.Fatalf("user %s acknowledged before the backup is missing after restore: %d %v", id, code, body)
		}
	}
	t.Logf("%d users acknowledged before the backup, %d in all; all present after restore", len(before), n.Load())
}

// An offline backup of a stopped server's data directory (SCIMD_DATA_DIR, as
// for serve) restores (with --force over an existing store, which is kept
// aside); a backup of a directory a server holds is refused with a pointer to
// --url, one of a directory without a store is refused and creates none, and
// --url with --data-dir is a usage error; a file that is not a store is
// refused by restore and changes nothing.
func TestOfflineBackupAndRestoreChecks(t *testing.T) {
	dir := t.TempDir()
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + dir}, opsEnv...))
	base := "http://" + p.addr
	token := adminToken(t, base)
	code, body := call(t, "POST", base+"/cis/v1/users", token, "application/json", `{"email":"kept@example.org"}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	out := filepath.Join(t.TempDir(), "offline.db")
	if code, log := scimd(t, nil, "backup", "--data-dir", dir, "--out", out); code == 0 || !strings.Contains(log, "in use") {
		t.Fatalf("offline backup of a served directory: exit %d: %s", code, log)
	}
	p.stop(t)
	// --data-dir defaults as serve's does: SCIMD_DATA_DIR here.
	if code, log := scimd(t, []string{"SCIMD_DATA_DIR=" + dir}, "backup", "--out", out); code != 0 {
		t.Fatalf("offline backup: exit %d: %s", code, log)
	}
	if code, log := scimd(t, nil, "backup", "--url", base, "--data-dir", dir, "--out", out); code != exitUsage {
		t.Fatalf("backup with both --url and --data-dir: exit %d: %s", code, log)
	}
	empty := t.TempDir()
	if code, log := scimd(t, nil, "backup", "--data-dir", empty, "--out", filepath.Join(t.TempDir(), "empty.db")); code == 0 {
		t.Fatalf("backup of a directory without a store succeeded: %s", log)
	}
	if _, err := os.Stat(filepath.Join(empty, embedded.FileName)); err == nil {
		t.Fatal("a refused backup created a store in its --data-dir")
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	target := t.TempDir()
	if code, log := scimd(t, nil, "restore", "--in", junk, "--data-dir", target); code == 0 {
		t.Fatalf("restore of a junk file succeeded: %s", log)
	}
	if _, err := os.Stat(filepath.Join(target, embedded.FileName)); err == nil {
		t.Fatal("a refused restore left a store behind")
	}
	// Restore over the original with --force: the old file is kept aside.
	if code, log := scimd(t, nil, "restore", "--in", out, "--data-dir", dir, "--force"); code != 0 {
		t.Fatalf("restore --force: exit %d: %s", code, log)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, embedded.FileName+".before-restore-*")); len(m) != 1 {
		t.Fatalf("the replaced store was not kept aside: %v", m)
	}
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.FindUser(context.Background(), storage.FieldEmail, "kept@example.org"); err != nil {
		t.Fatalf("user missing after offline backup and restore: %v", err)
	}
}

// TestRestoreOnlyLocksTheReplacedStore checks that restore proves no server
// holds the data directory by its file lock alone: a store another process
// holds is refused and left as it was, and a store restore replaces — of an
// older format that opening would migrate, or one that is no store at all —
// is set aside byte for byte, not opened.
func TestRestoreOnlyLocksTheReplacedStore(t *testing.T) {
	src := t.TempDir()
	s, err := embedded.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(src, embedded.FileName)

	held := t.TempDir()
	hs, err := embedded.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(held, embedded.FileName))
	code, log := scimd(t, nil, "restore", "--in", backup, "--data-dir", held, "--force")
	hs.Close()
	if code == 0 || !strings.Contains(log, "in use by another scimd process") {
		t.Fatalf("restore into a held directory: exit %d: %s", code, log)
	}
	if now, _ := os.ReadFile(filepath.Join(held, embedded.FileName)); !bytes.Equal(now, before) {
		t.Fatal("a refused restore changed the held store")
	}
	if m, _ := filepath.Glob(filepath.Join(held, embedded.FileName+".before-restore-*")); len(m) != 0 {
		t.Fatalf("a refused restore set the store aside: %v", m)
	}

	old := t.TempDir()
	db, err := bolt.Open(filepath.Join(old, embedded.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, n := range []string{"meta", "users", "groups", "apps", "tokens", "events"} {
			if _, err := tx.CreateBucket([]byte(n)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte("1")) // Open migrates it
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	junk := t.TempDir()
	if err := os.WriteFile(filepath.Join(junk, embedded.FileName), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{old, junk} {
		before, err := os.ReadFile(filepath.Join(dir, embedded.FileName))
		if err != nil {
			t.Fatal(err)
		}
		if code, log := scimd(t, nil, "restore", "--in", backup, "--data-dir", dir, "--force"); code != 0 {
			t.Fatalf("restore over %s: exit %d: %s", dir, code, log)
		}
		m, _ := filepath.Glob(filepath.Join(dir, embedded.FileName+".before-restore-*"))
		if len(m) != 1 {
			t.Fatalf("the replaced store was not kept aside: %v", m)
		}
		if aside, _ := os.ReadFile(m[0]); !bytes.Equal(aside, before) {
			t.Fatalf("the store set aside (%d bytes) differs from the one replaced (%d bytes)", len(aside), len(before))
		}
		s, err := embedded.Open(dir)
		if err != nil {
			t.Fatalf("the restored store: %v", err)
		}
		s.Close()
	}
}

// exportLines runs scimd export on dir and returns its lines (header dropped).
func exportLines(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "export.jsonl")
	if code, log := scimd(t, env, append([]string{"export", "--out", out}, args...)...); code != 0 {
		t.Fatalf("export: exit %d: %s", code, log)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if !strings.Contains(lines[0], `"scimd-export"`) {
		t.Fatalf("no header: %s", lines[0])
	}
	return lines[1:]
}

// seedDirectory fills an embedded store through the binary's API: a user with
// a password, app data and a group, another with an imported bcrypt hash,
// an API token.
func seedDirectory(t *testing.T, dir string) {
	t.Helper()
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + dir}, opsEnv...))
	base := "http://" + p.addr
	token := adminToken(t, base)
	code, app := call(t, "POST", base+"/cis/v1/applications", token, "application/json", `{"app_name":"shop"}`)
	if code != 201 {
		t.Fatalf("create app: %d %v", code, app)
	}
	appID, _ := app["result"].(map[string]any)["app_id"].(string)
	if appID == "" {
		appID, _ = app["result"].(map[string]any)["id"].(string)
	}
	code, g := call(t, "POST", base+"/cis/v1/groups", token, "application/json", `{"name":"staff"}`)
	if code != 201 {
		t.Fatalf("create group: %d %v", code, g)
	}
	groupID, _ := g["result"].(map[string]any)["group_id"].(string)
	if groupID == "" {
		groupID, _ = g["result"].(map[string]any)["id"].(string)
	}
	var userIDs []string
	for i, cred := range []string{`{"password":"clear-pass-123","force_replace":false}`,
		`{"hashed_password":"$2a$04$rix0i6k8bR6zuyikzwrQaOmIlhLcfF748eysgKbYDE13EcwhXSZPC","force_replace":false}`} {
		code, u := call(t, "POST", base+"/cis/v1/users", token, "application/json",
			fmt.Sprintf(`{"email":"seed%d@example.org","username":"seed%d","custom_data":{"n":%d,"tags":["a","b"]},"app_ids":[%q],"credentials":%s}`, i, i, i, appID, cred))
		if code != 201 {
			t.Fatalf("create user: %d %v", code, u)
		}
		userIDs = append(userIDs, u["result"].(map[string]any)["user_id"].(string))
	}
	ids, _ := json.Marshal(map[string]any{"user_ids": userIDs})
	if code, body := call(t, "POST", base+"/cis/v1/groups/"+groupID+"/members", token, "application/json", string(ids)); code != 204 {
		t.Fatalf("add members: %d %v", code, body)
	}
	if code, body := call(t, "POST", base+"/cis/v1/manage/api-tokens", token, "application/json", `{"description":"idp connector"}`); code != 201 {
		t.Fatalf("api token: %d %v", code, body)
	}
	for i := range 50 {
		if code, u := call(t, "POST", base+"/cis/v1/users", token, "application/json", fmt.Sprintf(`{"email":"bulk%d@example.org"}`, i)); code != 201 {
			t.Fatalf("create user: %d %v", code, u)
		}
	}
	p.stop(t)
}

// Export from one embedded store, import into an empty one: the second
// export is identical to the first; importing again skips everything; users
// log in with their passwords in the target.
func TestExportImportRoundTrip(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	seedDirectory(t, src)
	first := exportLines(t, nil, "--data-dir", src, "--audit")
	file := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(file, []byte(`{"type":"header","data":{"format":"scimd-export","version":1}}`+"\n"+strings.Join(first, "\n")+"\n"), 0o600)
	code, log := scimd(t, nil, "import", "--data-dir", dst, "--in", file)
	if code != 0 || !strings.Contains(log, "52 users") {
		t.Fatalf("import: exit %d: %s", code, log)
	}
	second := exportLines(t, nil, "--data-dir", dst, "--audit")
	if strings.Join(first, "\n") != strings.Join(second, "\n") {
		diffLines(t, first, second)
	}
	// Re-running skips what is there (events are rewritten under their id:
	// nothing is doubled).
	code, log = scimd(t, nil, "import", "--data-dir", dst, "--in", file)
	if code != 0 || !strings.Contains(log, "skipped (already there) 1 signing_keys, 2 apps, 1 groups, 52 users, 1 api_tokens") {
		t.Fatalf("second import: exit %d: %s", code, log)
	}
	if third := exportLines(t, nil, "--data-dir", dst, "--audit"); strings.Join(first, "\n") != strings.Join(third, "\n") {
		diffLines(t, first, third)
	}
	// The imported directory serves: both users log in with their passwords.
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + dst}, opsEnv...))
	s, err := embedded.Open(src) // the source is stopped; read the app's client id from it
	if err != nil {
		t.Fatal(err)
	}
	apps, _ := s.ListApps(context.Background(), schemas.AppRegular)
	s.Close()
	for i, pw := range []string{"clear-pass-123", "imported-pass-1"} {
		code, body := call(t, "POST", "http://"+p.addr+"/cis/v1/auth/password/login", "", "application/json",
			fmt.Sprintf(`{"client_id":%q,"username":"seed%d","password":%q}`, apps[0].ClientID, i, pw))
		if code != 200 {
			t.Fatalf("login of seed%d after import: %d %v", i, code, body)
		}
	}
}

func diffLines(t *testing.T, a, b []string) {
	t.Helper()
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			t.Fatalf("exports differ at record %d (of %d and %d):\n%s\n%s", i, len(a), len(b), x, y)
		}
	}
}

// An audit-only export is one event a line, oldest first, each a JSON object
// with the event's fields; --since drops older events.
func TestAuditExportForSIEM(t *testing.T) {
	dir := t.TempDir()
	seedDirectory(t, dir)
	out := filepath.Join(t.TempDir(), "audit.jsonl")
	if code, log := scimd(t, nil, "export", "--data-dir", dir, "--audit-only", "--out", out); code != 0 {
		t.Fatalf("audit export: exit %d: %s", code, log)
	}
	raw, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) < 52 {
		t.Fatalf("%d events, want at least one per created user", len(lines))
	}
	var prev time.Time
	for _, l := range lines {
		var e schemas.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID == "" || e.Action == "" {
			t.Fatalf("not an event line: %s (%v)", l, err)
		}
		if e.Time.Before(prev) {
			t.Fatalf("events not oldest first: %s", l)
		}
		prev = e.Time
	}
	if code, _ := scimd(t, nil, "export", "--data-dir", dir, "--audit-only", "--since", "1h", "--out", out); code != 0 {
		t.Fatal("export --since 1h failed")
	}
	if raw, _ := os.ReadFile(out); len(strings.TrimSpace(string(raw))) == 0 {
		t.Fatal("--since 1h dropped the events just written")
	}
	if code, _ := scimd(t, nil, "export", "--data-dir", dir, "--audit-only", "--since", "2999-01-01", "--out", out); code != 0 {
		t.Fatal("export --since in the future failed")
	}
	if raw, _ := os.ReadFile(out); len(strings.TrimSpace(string(raw))) != 0 {
		t.Fatalf("--since in the future kept events: %s", raw)
	}
}

// Rotating the signing key on demand (admin endpoint and, offline, scimd keys
// rotate) keeps earlier tokens verifying; only an operator may rotate.
func TestSigningKeyRotationKeepsTokens(t *testing.T) {
	dir := t.TempDir()
	// One public URL for both runs: it is the tokens' issuer.
	env := append([]string{"SCIMD_DATA_DIR=" + dir, "SCIMD_PUBLIC_URL=https://scimd.test"}, opsEnv...)
	p := start(t, env)
	base := "http://" + p.addr
	old := adminToken(t, base)
	kid := func(tok string) string {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		var hdr struct{ Kid string }
		json.Unmarshal(raw, &hdr)
		return hdr.Kid
	}
	if code, _ := call(t, "POST", base+"/admin/v1/keys/rotate", "", "", ""); code != 401 {
		t.Fatalf("rotate without a token: %d", code)
	}
	if code, body := call(t, "POST", base+"/admin/v1/keys/rotate", old, "", ""); code != 200 {
		t.Fatalf("rotate: %d %v", code, body)
	}
	fresh := adminToken(t, base)
	if kid(fresh) == kid(old) || kid(fresh) == "" {
		t.Fatalf("the new token is signed with the old key %q", kid(old))
	}
	for _, tok := range []string{old, fresh} {
		if code, body := call(t, "GET", base+"/cis/v1/users", tok, "", ""); code != 200 {
			t.Fatalf("a token stopped working after rotation: %d %v", code, body)
		}
	}
	p.stop(t)
	if code, log := scimd(t, nil, "keys", "rotate", "--data-dir", dir); code != 0 {
		t.Fatalf("scimd keys rotate: exit %d: %s", code, log)
	}
	p2 := start(t, env)
	third := adminToken(t, "http://"+p2.addr)
	if kid(third) == kid(fresh) {
		t.Fatal("scimd keys rotate did not change the signing key")
	}
	for _, tok := range []string{old, fresh, third} {
		if code, body := call(t, "GET", "http://"+p2.addr+"/cis/v1/users", tok, "", ""); code != 200 {
			t.Fatalf("a token stopped working after two rotations: %d %v", code, body)
		}
	}
}

// With -audit-retention, events older than the retention are deleted in the
// background at start; younger ones stay.
func TestAuditRetentionPrunes(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range 1200 { // more than one pruning batch
		e := &schemas.Event{ID: fmt.Sprintf("old-%04d", i), Time: now.Add(-72*time.Hour + time.Duration(i)*time.Second), Action: "failedLogin", ActorType: "user"}
		if err := s.AppendEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendEvent(context.Background(), &schemas.Event{ID: "young", Time: now.Add(-time.Hour), Action: "failedLogin", ActorType: "user"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	p := start(t, []string{"SCIMD_DATA_DIR=" + dir}, "-audit-retention", "2d")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.log(), `msg="audit events pruned" count=1200`) {
		if time.Now().After(deadline) {
			t.Fatalf("no pruning logged:\n%s", p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.stop(t)
	s, err = embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	page, err := s.ListEvents(context.Background(), storage.EventQuery{Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Items {
		if strings.HasPrefix(e.ID, "old-") {
			t.Fatalf("event %s older than the retention survived", e.ID)
		}
	}
	if !slices.ContainsFunc(page.Items, func(e *schemas.Event) bool { return e.ID == "young" }) {
		t.Fatal("an event within the retention was pruned")
	}
}

// An imported user whose password hash is in no accepted format is reported
// and not created; the other records go in; the exit code says it failed.
func TestImportRefusesUnknownHash(t *testing.T) {
	file := filepath.Join(t.TempDir(), "in.jsonl")
	os.WriteFile(file, []byte(`{"type":"header","data":{"format":"scimd-export","version":1}}
{"type":"user","data":{"ID":"u-bad","UserName":"bad","Password":{"Hash":"clear-text-password"}}}
{"type":"user","data":{"ID":"u-good","UserName":"good","Password":{"Hash":"$2a$04$rix0i6k8bR6zuyikzwrQaOmIlhLcfF748eysgKbYDE13EcwhXSZPC"}}}
`), 0o600)
	dir := t.TempDir()
	code, log := scimd(t, nil, "import", "--data-dir", dir, "--in", file)
	if code != 1 || !strings.Contains(log, "user u-bad") || !strings.Contains(log, "hashed_password") || !strings.Contains(log, "created 1 users") {
		t.Fatalf("import with a bad hash: exit %d: %s", code, log)
	}
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetUser(context.Background(), "u-bad"); err == nil {
		t.Fatal("the user with a bad hash was created")
	}
}

// With SCIMD_MASTER_KEY the signing keys are sealed in the store; a start
// without it fails with one line that names it; a malformed key is a usage
// error.
func TestMasterKeyThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	key := "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + dir, "SCIMD_MASTER_KEY=" + key}, opsEnv...))
	adminToken(t, "http://"+p.addr)
	p.stop(t)
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := s.SigningKeys(context.Background())
	s.Close()
	if len(keys) != 1 || !bytes.HasPrefix(keys[0].PrivateKey, []byte("scimd-gcm1")) {
		t.Fatalf("the signing key is not sealed in the store")
	}
	env := append([]string{"SCIMD_DATA_DIR=" + dir, "SCIMD_ADDR=127.0.0.1:0"}, opsEnv...)
	if code, log := scimd(t, env, "serve"); code != 1 || !strings.Contains(log, "SCIMD_MASTER_KEY") || strings.Count(strings.TrimSpace(log), "\n") > 0 && !strings.Contains(log, "scimd: ") {
		t.Fatalf("start without the master key: exit %d: %s", code, log)
	}
	if code, log := scimd(t, append(env, "SCIMD_MASTER_KEY=short"), "serve"); code != 2 || !strings.Contains(log, "SCIMD_MASTER_KEY") {
		t.Fatalf("a malformed master key: exit %d: %s", code, log)
	}
}

// scimd compact, through the binary: refused while the store is held (the
// file untouched) and on a file that is not a store; on a store with most
// users deleted it writes a smaller file in which every remaining user is
// found, and leaves nothing else in the data directory.
func TestCompactOffline(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := embedded.OpenWithOptions(dir, embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var kept []*schemas.User
	for i := range 3000 {
		u, err := s.CreateUser(ctx, storagetest.NewUser(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			kept = append(kept, u)
		} else if err := s.DeleteUser(ctx, u.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, embedded.FileName)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	held, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	code, log := scimd(t, nil, "compact", "--data-dir", dir)
	held.Close()
	if code == 0 || !strings.Contains(log, "in use") {
		t.Fatalf("compact of a held store: exit %d: %s", code, log)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, orig) {
		t.Fatal("a refused compact changed the store file")
	}
	junkDir := t.TempDir()
	os.WriteFile(filepath.Join(junkDir, embedded.FileName), []byte("not a database"), 0o600)
	if code, log := scimd(t, nil, "compact", "--data-dir", junkDir); code == 0 {
		t.Fatalf("compact of a junk file succeeded: %s", log)
	}
	if now, _ := os.ReadFile(filepath.Join(junkDir, embedded.FileName)); string(now) != "not a database" {
		t.Fatal("a refused compact changed the junk file")
	}
	if code, log := scimd(t, nil, "compact", "--data-dir", t.TempDir()); code == 0 {
		t.Fatalf("compact of an empty directory succeeded: %s", log)
	}

	code, log = scimd(t, []string{"SCIMD_DATA_DIR=" + dir}, "compact")
	if code != 0 || !strings.Contains(log, fmt.Sprintf("from %d to ", len(orig))) {
		t.Fatalf("compact: exit %d: %s", code, log)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= int64(len(orig)) {
		t.Fatalf("compacted file %d bytes, not smaller than %d", fi.Size(), len(orig))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != embedded.FileName && e.Name() != embedded.LogDirName {
			t.Fatalf("the data directory holds more than the store after compact: %v", entries)
		}
	}
	if segs, _ := os.ReadDir(filepath.Join(dir, embedded.LogDirName)); len(segs) != 0 {
		t.Fatalf("the store's log holds %v after compact: every write should be in the file", segs)
	}
	s, err = embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, u := range kept {
		got, err := s.FindUser(ctx, storage.FieldUserName, u.UserName)
		if err != nil || got.ID != u.ID {
			t.Fatalf("after compact FindUser(%q) = %v, %v", u.UserName, got, err)
		}
	}
	if p, err := s.ListUsers(ctx, storage.Query{}); err != nil || p.Total != len(kept) {
		t.Fatalf("after compact %d users (%v), want %d", p.Total, err, len(kept))
	}
}

// TestRestoreSetsTheLogAside restores a backup into a data directory whose
// write-ahead log holds writes made after the backup (as a crash leaves
// it): replayed over the backup, they would mix the two stores, so restore
// sets the log aside — with the file it replaces, and also when the file
// is gone and the log alone is left.
func TestRestoreSetsTheLogAside(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	before, after := storagetest.NewUser(1), storagetest.NewUser(2)
	if _, err := s.CreateUser(ctx, before, nil); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.CreateUser(ctx, after, nil); err != nil {
		t.Fatal(err)
	}
	crashLog := filepath.Join(t.TempDir(), embedded.LogDirName)
	testfs.CopyDir(t, filepath.Join(dir, embedded.LogDirName), crashLog) // (synced: the create was acknowledged)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The log as the crash left it, with the backup: the later user is
	// replayed into it (what restore must prevent).
	mixed := t.TempDir()
	testfs.CopyDir(t, crashLog, filepath.Join(mixed, embedded.LogDirName))
	b, _ := os.ReadFile(backup)
	os.WriteFile(filepath.Join(mixed, embedded.FileName), b, 0o600)
	if m, err := embedded.Open(mixed); err != nil {
		t.Fatal(err)
	} else {
		_, err := m.GetUser(ctx, after.ID)
		m.Close()
		if err != nil {
			t.Fatalf("the crash's log does not hold the later write (%v): the test proves nothing", err)
		}
	}

	for _, fileLeft := range []bool{true, false} {
		aside, _ := filepath.Glob(filepath.Join(dir, "*.before-restore-*")) // (the suffix is per second)
		for _, a := range append(aside, filepath.Join(dir, embedded.LogDirName)) {
			os.RemoveAll(a)
		}
		testfs.CopyDir(t, crashLog, filepath.Join(dir, embedded.LogDirName))
		args := []string{"restore", "--in", backup, "--data-dir", dir}
		if fileLeft {
			args = append(args, "--force")
		} else {
			os.Remove(filepath.Join(dir, embedded.FileName))
		}
		if code, log := scimd(t, nil, args...); code != 0 {
			t.Fatalf("restore (file left %v): exit %d: %s", fileLeft, code, log)
		}
		s, err := embedded.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		_, errBefore := s.GetUser(ctx, before.ID)
		_, errAfter := s.GetUser(ctx, after.ID)
		s.Close()
		if errBefore != nil || !errors.Is(errAfter, storage.ErrNotFound) {
			t.Fatalf("restored (file left %v): the user of before the backup: %v; of after: %v (want not found)", fileLeft, errBefore, errAfter)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, embedded.LogDirName+".before-restore-*")); len(m) == 0 {
			t.Fatalf("restore (file left %v) did not set the log aside", fileLeft)
		}
	}
}
