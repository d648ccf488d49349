// Package ops tests the scimd maintenance commands across backends: an
// export of an embedded store imported into MongoDB (an embedded FerretDB)
// and back yields the same export.
package ops

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/testbin"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/test/ferret"
)

func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

func scimd(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(testbin.Path(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scimd %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stderr.String()
}

// exportOf runs scimd export with the store flags and returns the records
// without the header (which holds the export's time).
func exportOf(t *testing.T, store ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "export.jsonl")
	scimd(t, append([]string{"export", "--audit", "--out", out}, store...)...)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(raw), "\n")
	return rest
}

// seed fills an embedded store through the directory: apps, a group with
// members, users with clear-text and imported passwords, per-app and custom
// data, an API token.
func seed(t *testing.T, dir string) {
	t.Helper()
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	svc := directory.New(s, directory.Options{Issuer: "https://scimd.test"})
	if err := svc.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateApp(ctx, directory.System, schemas.AppManagement, &schemas.App{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	app, _, err := svc.CreateApp(ctx, directory.System, schemas.AppRegular, &schemas.App{Name: "shop", RedirectURIs: []string{"https://shop.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGroup(ctx, directory.System, &schemas.Group{DisplayName: "staff", CustomData: map[string]any{"floor": 3.0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 30 {
		u := &schemas.User{UserName: fmt.Sprintf("user%d", i), Emails: []schemas.Email{{Value: fmt.Sprintf("user%d@example.org", i), Primary: true, Type: "work"}},
			Name: schemas.Name{GivenName: "Ada", FamilyName: fmt.Sprint("L", i)}, CustomData: map[string]any{"n": float64(i), "tags": []any{"a", "b"}},
			Apps: map[string]*schemas.AppLink{app.ID: {}}}
		var pw *directory.PasswordInput
		switch i % 3 {
		case 0:
			pw = &directory.PasswordInput{Password: "clear-pass-123"}
		case 1:
			pw = &directory.PasswordInput{Hash: "$2a$04$rix0i6k8bR6zuyikzwrQaOmIlhLcfF748eysgKbYDE13EcwhXSZPC"}
		}
		created, err := svc.CreateUser(ctx, directory.System, u, pw)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, created.ID)
	}
	if err := svc.AddMembers(ctx, directory.System, g.ID, ids[:10]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateAPIToken(ctx, directory.System, "connector", "", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
}

// The migration path: embedded → MongoDB (FerretDB) → embedded. Every export
// along the way is the same; re-running an import skips everything.
func TestRoundTripThroughMongo(t *testing.T) {
	src := t.TempDir()
	seed(t, src)
	uri := ferret.Start(t)
	first := exportOf(t, "--data-dir", src)

	file := filepath.Join(t.TempDir(), "first.jsonl")
	scimd(t, "export", "--audit", "--data-dir", src, "--out", file)
	log := scimd(t, "import", "--mongodb-uri", uri, "--mongodb-database", "migrated", "--in", file)
	if !strings.Contains(log, "30 users") || !strings.Contains(log, "failed nothing") {
		t.Fatalf("import into MongoDB: %s", log)
	}
	inMongo := exportOf(t, "--mongodb-uri", uri, "--mongodb-database", "migrated")
	if inMongo != first {
		diff(t, "embedded", first, "MongoDB", inMongo)
	}
	log = scimd(t, "import", "--mongodb-uri", uri, "--mongodb-database", "migrated", "--in", file)
	if !strings.Contains(log, "skipped (already there) 1 signing_keys, 2 apps, 1 groups, 30 users, 1 api_tokens") {
		t.Fatalf("re-running the import did not skip everything: %s", log)
	}

	back := filepath.Join(t.TempDir(), "back.jsonl")
	scimd(t, "export", "--audit", "--mongodb-uri", uri, "--mongodb-database", "migrated", "--out", back)
	dst := t.TempDir()
	scimd(t, "import", "--data-dir", dst, "--in", back)
	if again := exportOf(t, "--data-dir", dst); again != first {
		diff(t, "embedded", first, "embedded after MongoDB", again)
	}
}

func diff(t *testing.T, an, a, bn, b string) {
	t.Helper()
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			t.Fatalf("exports differ at record %d:\n%s: %s\n%s: %s", i+1, an, x, bn, y)
		}
	}
}
