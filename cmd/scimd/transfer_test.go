package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/storagetest"
)

// Export reads users a page at a time and encodes each page on every CPU:
// with pages of 3, 10 users come out once each, in id order, with the same
// bytes as in one page.
func TestExportPagesUsers(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 10 {
		if _, err := s.CreateUser(ctx, storagetest.NewUser(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	exportWith := func(page int) []string {
		t.Helper()
		old := exportPage
		exportPage = page
		defer func() { exportPage = old }()
		var buf bytes.Buffer
		counts, err := export(ctx, s, &buf, io.Discard, false, false, time.Time{})
		if err != nil || counts[recUser] != 10 {
			t.Fatalf("export with pages of %d: %v, %v", page, counts, err)
		}
		return strings.Split(strings.TrimSpace(buf.String()), "\n")[1:] // without the header
	}
	one, paged := exportWith(1000), exportWith(3)
	if len(paged) != 10 || strings.Join(one, "\n") != strings.Join(paged, "\n") {
		t.Fatalf("pages of 3 gave %d lines, differing from one page", len(paged))
	}
	for i, l := range paged {
		if want := fmt.Sprintf(`{"type":"user","data":{"ID":"u%08d",`, i); !strings.HasPrefix(l, want) {
			t.Fatalf("line %d: %.60s…, want %s…", i, l, want)
		}
	}
}

// A user line in another layout than export's (keys in another order,
// spaces) is read through the generic path and imported the same; a user
// line that is not valid JSON fails that user alone, reported.
func TestImportUserLineLayouts(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	line := func(i int) string {
		return string(mustJSON(record{Type: recUser, Data: mustJSON(storagetest.NewUser(i))}))
	}
	u1 := string(mustJSON(storagetest.NewUser(1)))
	in := `{"type":"header","data":{"format":"scimd-export","version":1}}` + "\n" +
		line(0) + "\n" +
		`{ "data": ` + u1 + `, "type": "user" }` + "\n" +
		`{"type":"user","data":{"ID":"u00000002",` + "\n" +
		line(3) + "\n"
	st, err := importRecords(context.Background(), s, strings.NewReader(in), io.Discard, 4)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if st.created[recUser] != 3 || st.failed[recUser] != 1 || len(st.errs) != 1 {
		t.Fatalf("created %v, failed %v (%v); want 3 created, 1 failed", st.created, st.failed, st.errs)
	}
	for _, i := range []int{0, 1, 3} {
		u, err := s.GetUser(context.Background(), fmt.Sprintf("u%08d", i))
		if err != nil || u.Version != 1 || u.UserName != storagetest.NewUser(i).UserName {
			t.Fatalf("user %d: %+v, %v", i, u, err)
		}
	}
}

// --no-sync syncs the file once at the end, before the store is closed (it
// used to sync after closing: "bad file descriptor", and nothing synced).
func TestImportNoSyncSyncsAtTheEnd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.jsonl")
	in := `{"type":"header","data":{"format":"scimd-export","version":1}}` + "\n"
	for i := range 3 {
		in += string(mustJSON(record{Type: recUser, Data: mustJSON(storagetest.NewUser(i))})) + "\n"
	}
	if err := os.WriteFile(file, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, log := scimd(t, nil, "import", "--data-dir", dir, "--in", file, "--no-sync")
	if code != 0 || strings.Contains(log, "sync") || !strings.Contains(log, "created 3 users") {
		t.Fatalf("import --no-sync: exit %d: %s", code, log)
	}
	s, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetUser(context.Background(), "u00000002"); err != nil {
		t.Fatalf("after import --no-sync: %v", err)
	}
}

// --no-sync is the embedded store's: with MongoDB chosen it is a usage
// error, before any connection (it used to be ignored there in silence).
func TestImportNoSyncEmbeddedOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	code := runImport(ctx, []string{"--mongodb-uri", "mongodb://127.0.0.1:1", "--no-sync"}, func(string) string { return "" },
		strings.NewReader(""), &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "--no-sync applies to the embedded store only") {
		t.Fatalf("import --no-sync on MongoDB: exit %d: %s", code, stderr.String())
	}
}

// Free-form numbers are imported as the export wrote them: an integer above
// 2^53 in custom data (stored as json.Number) came back rounded, because the
// import decoded it as a float64. Both layouts of a user line are checked.
func TestImportKeepsFreeFormNumbers(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const big = "12345678901234567891"
	var in strings.Builder
	in.WriteString(`{"type":"header","data":{"format":"scimd-export","version":1}}` + "\n")
	for i := range 2 {
		u := storagetest.NewUser(i)
		u.CustomData = map[string]any{"big": json.Number(big), "list": []any{json.Number("9007199254740993")}}
		data := string(mustJSON(u))
		if i == 0 {
			in.WriteString(`{"type":"user","data":` + data + "}\n") // export's layout
		} else {
			in.WriteString(`{"data":` + data + `,"type":"user"}` + "\n") // any other
		}
	}
	if _, err := importRecords(context.Background(), s, strings.NewReader(in.String()), io.Discard, 2); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		u, err := s.GetUser(context.Background(), fmt.Sprintf("u%08d", i))
		if err != nil {
			t.Fatal(err)
		}
		if got := u.CustomData["big"]; got != json.Number(big) {
			t.Errorf("user %d: customData.big is %#v, want %s", i, got, big)
		}
		if got := u.CustomData["list"]; !reflect.DeepEqual(got, []any{json.Number("9007199254740993")}) {
			t.Errorf("user %d: customData.list is %#v", i, got)
		}
	}
}

// countingStore is a store without CreateUsers (as MongoDB's) that records
// how many CreateUser calls run at once.
type countingStore struct {
	storage.Store
	mu           sync.Mutex
	now, maxSeen int
}

func (c *countingStore) CreateUser(ctx context.Context, u *schemas.User, e *schemas.Event) (*schemas.User, error) {
	c.mu.Lock()
	c.now++
	c.maxSeen = max(c.maxSeen, c.now)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.now--
		c.mu.Unlock()
	}()
	return c.Store.CreateUser(ctx, u, e)
}

// An import into a store without CreateUsers runs at most
// maxCreatesInFlight creates at once over all its workers (it ran one
// goroutine per user of every chunk: thousands).
func TestImportBoundsCreatesInFlight(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs := &countingStore{Store: s}
	create := createUsersOf(cs)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			us := make([]*schemas.User, 200)
			for i := range us {
				us[i] = storagetest.NewUser(w*1000 + i)
			}
			for i, err := range create(context.Background(), us) {
				if err != nil {
					t.Errorf("user %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	if cs.maxSeen > maxCreatesInFlight || cs.maxSeen < 2 {
		t.Fatalf("%d creates ran at once, want 2..%d", cs.maxSeen, maxCreatesInFlight)
	}
	if p, err := s.ListUsers(context.Background(), storage.Query{Limit: 1}); err != nil || p.Total != 800 {
		t.Fatalf("%d users created (%v), want 800", p.Total, err)
	}
}
