package embedded

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

func backend() storagetest.Backend { return backendWith(Options{}) }

// backendWith is the conformance suite's backend of stores opened, and
// reopened, with opts.
func backendWith(opts Options) storagetest.Backend {
	return storagetest.Backend{
		New: func(t *testing.T) storage.Store {
			s, err := OpenWithOptions(t.TempDir(), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s storage.Store) storage.Store {
			dir := s.(*Store).dir
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s2, err := OpenWithOptions(dir, opts)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			t.Cleanup(func() { s2.Close() })
			return s2
		},
		StoreDamagedEvent: storeDamagedEvent,
	}
}

func TestConformance(t *testing.T) { storagetest.RunTests(t, backend()) }

func TestConcurrency(t *testing.T) { storagetest.RunConcurrencyTests(t, backend()) }

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// updateFile runs fn in one read-write transaction on the file of dir,
// opened with bbolt alone (no Store may have it open), and closes it: the
// tests' way to make a file as an older format or a crash left it.
func updateFile(t *testing.T, dir string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(fn)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data directory mode %v, want 0700", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenUnwritableDir(t *testing.T) {
	// Root ignores permission bits, so use a path below a regular file: that
	// fails for everyone.
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f, "sub")
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("Open below a regular file succeeded")
	}
	if !strings.Contains(err.Error(), "embedded: open "+dir) {
		t.Errorf("error %q does not name the directory", err)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	s2, err := Open(dir)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
	if !strings.Contains(err.Error(), "is in use by another scimd process") {
		t.Errorf("error %q does not say the directory is in use", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("second Open took %v", d) // a sanity bound, not a timing assertion
	}
}

func TestClosedStore(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Close(); err == nil {
		t.Error("second Close: no error")
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close: %v", err)
	}
	if _, err := s.GetUser(ctx, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("GetUser after Close: %v", err)
	}
	if _, err := s.CreateUser(ctx, &schemas.User{ID: "x", UserName: "x"}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateUser after Close: %v", err)
	}
	if _, err := s.ListUsers(ctx, storage.Query{Limit: 10}); !errors.Is(err, ErrClosed) {
		t.Errorf("ListUsers after Close: %v", err)
	}
	if _, err := s.ListEvents(ctx, storage.EventQuery{Limit: 10}); err == nil {
		t.Error("ListEvents after Close: no error")
	}
}

// userIDs returns the ids of us, in their order.
func userIDs(us []*schemas.User) []string {
	var ids []string
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

// createUsers creates the generator's users 0 to n-1 in s, one after the
// other, and returns them as stored.
func createUsers(t *testing.T, s *Store, n int) []*schemas.User {
	t.Helper()
	users := make([]*schemas.User, n)
	for i := range n {
		u, err := s.CreateUser(context.Background(), storagetest.NewUser(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		users[i] = u
	}
	return users
}

// createAll creates the users from concurrent writers (so that they share
// commits) and returns their ids in the order given.
func createAll(t *testing.T, s *Store, users []*schemas.User) []string {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < len(users); i += 16 {
				_, errs[i] = s.CreateUser(context.Background(), users[i], nil)
			}
		})
	}
	wg.Wait()
	ids := make([]string, len(users))
	for i, u := range users {
		if errs[i] != nil {
			t.Fatalf("create %s: %v", u.ID, errs[i])
		}
		ids[i] = u.ID
	}
	return ids
}

// TestBatchSeesItself checks that writes sharing a transaction see each other:
// of many concurrent creates of one userName exactly one wins, and a create
// racing a rename to its userName cannot both succeed.
func TestBatchSeesItself(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	for round := range 20 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.CreateUser(ctx, &schemas.User{ID: fmt.Sprintf("r%02d-%02d", round, i), UserName: fmt.Sprintf("Same%d", round)}, nil)
				switch {
				case err == nil:
					mu.Lock()
					wins++
					mu.Unlock()
				case storage.ConflictField(err) != storage.FieldUserName:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("round %d: %d creates of one userName succeeded", round, wins)
		}
	}
}

// TestCreateUsers checks that CreateUsers creates each user as CreateUser
// does, each on its own and in order: a user whose id or userName is taken
// (by a stored user or an earlier one of the same call) fails alone with
// the Conflict CreateUser gives, one without an id fails, and the others are
// stored as CreateUser stores them.
func TestCreateUsers(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, storagetest.NewUser(0), nil); err != nil {
		t.Fatal(err)
	}
	sameName := storagetest.NewUser(3)
	sameName.ID = "other-3"
	us := []*schemas.User{
		storagetest.NewUser(1),
		storagetest.NewUser(0), // the stored user's id
		storagetest.NewUser(2),
		sameName,               // user 3's userName, under another id
		storagetest.NewUser(3), // its userName is taken by sameName, created before it
		{UserName: "no-id"},
		storagetest.NewUser(1), // user 1 of this call
	}
	errs := s.CreateUsers(ctx, us)
	want := []string{"", storage.FieldID, "", "", storage.FieldUserName, "no id", storage.FieldID}
	for i, err := range errs {
		switch w := want[i]; {
		case w == "" && err != nil:
			t.Errorf("user %d: %v, want created", i, err)
		case w == "no id" && (err == nil || storage.ConflictField(err) != ""):
			t.Errorf("user %d: %v, want an error that is no Conflict", i, err)
		case w != "" && w != "no id" && storage.ConflictField(err) != w:
			t.Errorf("user %d: %v, want a Conflict on %s", i, err, w)
		}
	}
	for _, i := range []int{0, 2, 3} {
		got, err := s.GetUser(ctx, us[i].ID)
		if err != nil || got.Version != 1 || got.UserName != us[i].UserName {
			t.Errorf("user %d (%s): got %+v, %v; want it stored at version 1", i, us[i].ID, got, err)
		}
	}
	if got, err := s.FindUser(ctx, storage.FieldUserName, sameName.UserName); err != nil || got.ID != sameName.ID {
		t.Errorf("FindUser %s: %v, %v; want %s", sameName.UserName, got, err, sameName.ID)
	}
	if _, err := s.GetUser(ctx, us[4].ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("user 4 (%s): %v, want not found", us[4].ID, err)
	}
	if p, err := s.ListUsers(ctx, storage.Query{Limit: 10}); err != nil || p.Total != 4 {
		t.Errorf("ListUsers: total %d, %v; want 4", p.Total, err)
	}
}

// TestMemoryMatchesFile checks, after a mixed workload, that the reopened
// store holds exactly what the running one served.
func TestMemoryMatchesFile(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.CreateGroup(ctx, &schemas.Group{ID: "g1", DisplayName: "One"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateApp(ctx, &schemas.App{ID: "a1", ClientID: "c1", Kind: schemas.AppRegular}, nil); err != nil {
		t.Fatal(err)
	}
	var users []*schemas.User
	for i := range 200 {
		u := storagetest.NewUser(i)
		if i%3 == 0 {
			u.Apps = map[string]*schemas.AppLink{"a1": {ExternalAccountID: fmt.Sprint(i)}}
		}
		users = append(users, u)
	}
	ids := createAll(t, s, users)
	if err := storagetest.AddMembers(ctx, s, "g1", ids[:100], nil); err != nil {
		t.Fatal(err)
	}
	if err := storagetest.RemoveMembers(ctx, s, "g1", ids[:10], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApp(ctx, "a1", nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[190:] {
		if err := s.DeleteUser(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	before, err := s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	members, _ := s.GroupMemberIDs(ctx, "g1")
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after, err := s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	if before.Total != 190 || after.Total != before.Total {
		t.Fatalf("total before %d, after %d", before.Total, after.Total)
	}
	for i := range before.Items {
		b, a := before.Items[i], after.Items[i]
		eb, _ := encodeUserOnly(b)
		ea, _ := encodeUserOnly(a)
		if string(eb) != string(ea) {
			t.Fatalf("user %s differs after reopen:\n%s\n%s", b.ID, eb, ea)
		}
		if len(b.Apps) != 0 {
			t.Errorf("user %s still has app data after DeleteApp", b.ID)
		}
	}
	members2, _ := s.GroupMemberIDs(ctx, "g1")
	if len(members) != 90 || strings.Join(members, ",") != strings.Join(members2, ",") {
		t.Errorf("members before (%d) and after (%d) reopen differ", len(members), len(members2))
	}
}

// TestPlannedEqualsScan checks that every filter the planner answers through
// an index gives exactly what a full scan gives.
func TestPlannedEqualsScan(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	for _, g := range []string{"g1", "g2"} {
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: "Group " + g}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var users []*schemas.User
	for i := range 300 {
		u := storagetest.NewUser(i)
		if i%4 == 0 {
			u.Apps = map[string]*schemas.AppLink{"app1": {ExternalAccountID: fmt.Sprint(i)}}
		}
		if i%7 == 0 { // no primary flag: the only email is still the primary one
			u.Emails = u.Emails[:1]
			u.Emails[0].Primary = false
		}
		users = append(users, u)
	}
	ids := createAll(t, s, users)
	if err := storagetest.AddMembers(ctx, s, "g1", ids[:50], nil); err != nil {
		t.Fatal(err)
	}
	// Changes the search index must follow: a rename, a new email, a delete.
	if _, err := s.UpdateUser(ctx, ids[5], 0, func(u *schemas.User) error {
		u.UserName, u.Emails = "Renamed.Person", []schemas.Email{{Value: "renamed@mail.test", Primary: true}}
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, ids[6], nil); err != nil {
		t.Fatal(err)
	}
	u7, u8 := storagetest.NewUser(7), storagetest.NewUser(8)
	exprs := []string{
		fmt.Sprintf("userName eq %q", strings.ToUpper(u7.UserName)),
		fmt.Sprintf("userName eq %q and title eq \"Engineer\"", u8.UserName),
		fmt.Sprintf("userName eq %q or userName eq %q", u7.UserName, u8.UserName),
		fmt.Sprintf("externalId eq %q", u7.ExternalID),
		fmt.Sprintf("externalId eq %q", strings.ToUpper(u7.ExternalID)),
		fmt.Sprintf("id eq %q", u7.ID),
		fmt.Sprintf("emails[primary eq true and value eq %q]", u7.Emails[0].Value),
		fmt.Sprintf("groups eq %q", "g1"),
		fmt.Sprintf("groups eq %q and name.givenName eq %q", "g1", u8.Name.GivenName),
		"groups eq \"nope\"",
		"groups eq \"G1\"",
		"groups.value eq \"g1\" or groups eq \"g2\"",
		// The trigram index: case folding, Unicode, every indexed attribute,
		// values too short for a trigram, attributes it does not hold.
		`userName co "LOVE"`, `userName sw "ada."`, `userName ew ".7"`, `userName ew ".17"`, `userName co "zzz"`,
		`userName co "renamed"`, `userName co "lovelace.6"`,
		`emails.value co "@MAIL.test"`, `emails co "mail.te"`, `emails.value ew "9@example.com"`,
		fmt.Sprintf("emails.value eq %q", strings.ToUpper(u7.Emails[0].Value)),
		`phoneNumbers.value co "0000012"`, `phoneNumbers.value sw "+1555000002"`,
		`name.givenName co "zoë"`, `name.givenName eq "ZOË"`, `name.familyName sw "MÜ"`, `name.familyName co "üll"`,
		`displayName co "ce Ho"`, `displayName ew "Lovelace"`,
		`externalId sw "EXT-1"`, `externalId sw "ext-1"`, `externalId co "t-29"`,
		`title eq "Engineer" and userName co "lovelace"`, `userName co "love" or displayName co "hopper"`,
		`not (userName co "love")`, `userName co "love" and not (emails.value co "mail.test")`,
		`userName co "love" and groups eq "g1"`,
	}
	native := []string{
		fmt.Sprintf("email eq %q", strings.ToUpper(u7.Emails[0].Value)),
		fmt.Sprintf("email eq %q", u8.Emails[0].Value),
		fmt.Sprintf("phone_number eq %q", u7.PhoneNumbers[0].Value),
		fmt.Sprintf("username eq %q and status eq \"Active\"", u7.UserName),
		"custom_app_data pr",
		"external_account_id pr and status eq \"Active\"",
		"external_account_id sw \"1\"",
		"external_account_id ne \"4\"",
		"not (external_account_id eq \"4\")",
		`email co "LOVELACE"`, `phone_number ew "0000013"`, `email sw "grace."`,
	}
	check := func(expr string, opt schemas.ParseOptions) {
		f, err := schemas.ParseFilter(expr, opt)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", expr, err)
			return
		}
		page, err := s.ListUsers(ctx, storage.Query{Filter: f, Limit: storage.Unlimited})
		if err != nil {
			t.Fatal(err)
		}
		scan, planned := scanAndPlan(t, s, f)
		got, want := userIDs(page.Items), userIDs(scan)
		if os.Getenv("SCIMD_EMBEDDED_DEBUG_PLAN") != "" {
			t.Logf("%q: planned %v, %d matches", expr, planned, len(want))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || page.Total != len(want) {
			t.Errorf("%q (planned %v): got %d %v, full scan %d %v", expr, planned, page.Total, got, len(want), want)
		}
	}
	for _, e := range exprs {
		check(e, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect})
	}
	for _, e := range native {
		check(e, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect, AppID: "app1"})
	}
	// apps pr has no filter syntax: the service builds it for app-scoped lists.
	appsPr := &schemas.Compare{Path: schemas.Path{Attr: schemas.UserAttributeByCanonical("apps"), AppID: "app1"}, Op: schemas.OpPr}
	page, err := s.ListUsers(ctx, storage.Query{Filter: appsPr, Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	scan, planned := scanAndPlan(t, s, appsPr)
	if !planned || page.Total != 75 || len(scan) != 75 {
		t.Errorf("apps pr: planned %v, %d users, full scan %d, want 75", planned, page.Total, len(scan))
	}

	f, err := schemas.ParseFilter(fmt.Sprintf("userName eq %q", u7.UserName), schemas.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, planned := scanAndPlan(t, s, f); !planned {
		t.Error("userName eq is not answered through the index")
	}

	// Parsed group filters (pointer nodes) use the group indexes too.
	if _, err := s.CreateGroup(ctx, &schemas.Group{ID: "grp-1", DisplayName: "Engineering", Version: 0}, nil); err != nil {
		t.Fatal(err)
	}
	gf, err := schemas.ParseFilter(`displayName eq "ENGINEERING" or id eq "grp-1"`, schemas.ParseOptions{Resource: schemas.GroupResource})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.RLock()
	gids, gplanned := s.planGroups(gf)
	s.mu.RUnlock()
	if !gplanned || len(gids) != 2 || gids[0] != "grp-1" || gids[1] != "grp-1" {
		t.Errorf("group filter: planned %v, candidates %v; want the index to give grp-1 for each side", gplanned, gids)
	}
}

// scanAndPlan returns what a full scan of s matches with f, and whether the
// planner answers f through an index.
func scanAndPlan(t *testing.T, s *Store, f schemas.Filter) (scan []*schemas.User, planned bool) {
	t.Helper()
	err := s.userView(func(r *users) error {
		var err error
		scan, err = s.scanUsers(context.Background(), r, f)
		_, planned = s.planRows(r, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return scan, planned
}

const crashDirEnv = "SCIMD_EMBEDDED_CRASH_DIR"

// TestMain runs the crash child instead of the tests when TestCrashDurability
// started this binary as its child, and releases the benchmark store after a run.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir) // never returns: the parent kills it
	}
	if dir := os.Getenv(crashMembersDirEnv); dir != "" {
		crashMembersChild(dir) // never returns: the parent kills it
	}
	if dir := os.Getenv(crashOverlayDirEnv); dir != "" {
		crashOverlayChild(dir) // never returns: the parent kills it
	}
	code := m.Run()
	closeBench()
	os.Exit(code)
}

// crashChild is the child process of TestCrashDurability: it creates users
// from many goroutines and prints the id of every acknowledged create.
func crashChild(dir string) {
	s, err := Open(dir)
	if err != nil {
		fmt.Println("OPENERR", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	prefix := fmt.Sprintf("p%d-%d", os.Getpid(), time.Now().UnixNano())
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%02d-%06d", prefix, w, i)
				u := &schemas.User{ID: id, UserName: "name-" + id, ExternalID: "ext-" + id,
					Emails: []schemas.Email{{Value: id + "@crash.test", Primary: true}}}
				if _, err := s.CreateUser(context.Background(), u, nil); err != nil {
					fmt.Println("ERR", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ACK %s\n", id) // os.Stdout is unbuffered: one write per line
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// startChild runs this test binary again with env added (the child's
// TestMain sees it and does the work to be killed) and returns it with its
// standard output.
func startChild(t *testing.T, env string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewReader(out)
}

// killChildAt runs the test binary as a crash child with env and SIGKILLs
// it once it has acknowledged killAt writes: it calls ack with the fields
// after "ACK" of each whole acknowledgement line (a partial last line is
// not one), and fails the test on a child's ERR or OPENERR line, or when
// the child ends before the kill.
func killChildAt(t *testing.T, env string, killAt int, ack func(fields []string)) {
	t.Helper()
	cmd, r := startChild(t, env)
	n, killed := 0, false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // EOF, or a partial last line: not an acknowledgement
		}
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[0] == "ACK":
			ack(f[1:])
			n++
		case len(f) > 0 && (f[0] == "ERR" || f[0] == "OPENERR"):
			t.Fatalf("child: %s", line)
		}
		if n == killAt && !killed {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("the child ended after %d acknowledgements without being killed", n)
	}
}

// TestCrashDurability kills a writing child process with SIGKILL and checks
// that every create it acknowledged survives, intact, and that the store opens.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	var acked []string
	for range 3 {
		killChildAt(t, crashDirEnv+"="+dir, 300, func(f []string) { acked = append(acked, f[0]) })
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, id := range acked {
		u, err := s.GetUser(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged user %s: %v", id, err)
		}
		if u.Version != 1 || u.UserName != "name-"+id || u.ExternalID != "ext-"+id ||
			len(u.Emails) != 1 || u.Emails[0].Value != id+"@crash.test" {
			t.Fatalf("acknowledged user %s is not intact: %+v", id, u)
		}
		if f, err := s.FindUser(ctx, storage.FieldEmail, id+"@CRASH.test"); err != nil || f.ID != id {
			t.Fatalf("email index of %s after reopen: %v", id, err)
		}
	}
	page, err := s.ListUsers(ctx, storage.Query{Limit: 0})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total < len(acked) {
		t.Fatalf("%d users after crash, %d acknowledged", page.Total, len(acked))
	}
	t.Logf("%d acknowledged creates over 3 kills, %d users stored", len(acked), page.Total)
}

func TestMergeSorted(t *testing.T) {
	id := func(s string) string { return s }
	for _, c := range []struct{ sorted, added, want string }{
		{"", "b a", "a b"},
		{"a c e", "f d", "a c d e f"},
		{"b c", "a", "a b c"},
		{"a b c", "d", "a b c d"},
		{"b d", "e c a", "a b c d e"},
	} {
		got := mergeSorted(strings.Fields(c.sorted), strings.Fields(c.added), id)
		if strings.Join(got, " ") != c.want {
			t.Errorf("mergeSorted(%q, %q) = %q, want %q", c.sorted, c.added, got, c.want)
		}
	}
}

// TestFullDisk fills a capped database file: once the overlay's apply fails
// and the overlay has grown to its stall size, a write fails with
// ErrUnavailable and leaves neither its change nor its event, every write
// before it kept both (in the log: a restart without the cap applies them),
// and Ping reports the store as unable to write.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	u := storagetest.NewUser(1)
	if _, err := s.CreateUser(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	// overlayBytes: the applier writes (and fails) after a few writes, and the
	// overlay stalls after a few more. No block of audit events fills up:
	// sealed, 400 events of one letter repeated would take a few KB.
	s, err = OpenWithOptions(dir, Options{MaxSize: int(fi.Size()) + 1<<20, OverlayBytes: 2 << 20, seal: sealOptions{blockBytes: 1 << 40}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	big := strings.Repeat("x", 60<<10)
	var last *schemas.User
	var failure error
	n := 0
	for i := range 400 {
		e := &schemas.Event{ID: fmt.Sprintf("e%04d", i), Time: time.Date(2025, 1, 1, 0, 0, 0, i*int(time.Millisecond), time.UTC),
			Action: "adminUpdateUser", TargetID: u.ID, Changes: map[string]schemas.Change{"title": {Current: big}}}
		got, err := s.UpdateUser(ctx, u.ID, 0, func(u *schemas.User) error {
			u.CustomData = map[string]any{"blob": big + fmt.Sprint(i)}
			return nil
		}, func(_, _ *schemas.User) *schemas.Event { return e })
		if err != nil {
			failure = err
			break
		}
		last, n = got, n+1
	}
	if failure == nil {
		t.Fatal("400 writes of 120 KB fitted in a file capped 1 MB above its size")
	}
	if !errors.Is(failure, storage.ErrUnavailable) {
		t.Errorf("the write that does not fit failed with %v, want ErrUnavailable", failure)
	}
	if err := s.Ping(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Ping after a failed commit: %v, want ErrUnavailable", err)
	}
	if got, err := s.GetUser(ctx, u.ID); err != nil {
		t.Errorf("user after the failed write: %v", err)
	} else if got.Version != last.Version {
		t.Errorf("user after the failed write has version %d, want %d", got.Version, last.Version)
	}
	p, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != n {
		t.Errorf("%d writes succeeded, %d events stored", n, p.Total)
	}
	t.Logf("%d writes fitted before the cap; the next failed with: %v", n, failure)
	// The acknowledged writes the file could not take are in the log: a
	// start without the cap applies them.
	if err := s.Close(); err == nil {
		t.Error("Close applied the overlay to a file that is full")
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.GetUser(ctx, u.ID); err != nil || got.Version != last.Version {
		t.Errorf("user after a restart without the cap: %v, %v; want version %d", got, err, last.Version)
	}
	if p, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited}); err != nil || p.Total != n {
		t.Errorf("events after a restart without the cap: %d, %v; want %d", p.Total, err, n)
	}
}

// storeDamagedEvent writes e's record in the JSON form of the records
// written before the binary codec, with its changes replaced by JSON nested
// beyond what encoding/json decodes (what a custom_data nested ~10,000
// levels deep left before free-form data had a nesting limit).
func storeDamagedEvent(t *testing.T, st storage.Store, e *schemas.Event) {
	t.Helper()
	head := *e
	head.Changes = nil
	enc, err := encodeEventJSON(&head)
	if err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	enc = append(enc[:len(enc)-1], []byte(`,"ch":{"custom_data":{"c":`+deep+`}}}`)...)
	err = st.(*Store).fileUpdate(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketEvents).Put(eventKey(e.Time, e.ID), enc); err != nil {
			return err
		}
		return indexEvent(&txBuckets{tx: tx}, eventKey(e.Time, e.ID), e.TargetID, e.ActorID, true)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateFormat1 checks that a file of format 1 (users holding their
// version and groups, indexes rebuilt at every open) is migrated at open, in
// several transactions of which a crash stopped the first part: every user,
// version, membership, assignment and unique key is served as before, and
// the file says the current format afterwards.
func TestMigrateFormat1(t *testing.T) {
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 7
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var users []*schemas.User
	err = db.Update(func(tx *bolt.Tx) error {
		for _, n := range [][]byte{bucketMeta, bucketUsers, bucketGroups, bucketApps, bucketTokens, bucketEvents} {
			if _, err := tx.CreateBucket(n); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV1)); err != nil {
			return err
		}
		genc, _, err := encodeGroup(&schemas.Group{ID: "g1", DisplayName: "One", Version: 4})
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketGroups).Put([]byte("g1"), genc); err != nil {
			return err
		}
		for i := range 30 {
			u := storagetest.NewUser(i)
			u.Version = int64(i + 1)
			if i%2 == 0 {
				u.GroupIDs = []string{"g1"}
			}
			if i%3 == 0 {
				u.Apps = map[string]*schemas.AppLink{"a1": {ExternalAccountID: fmt.Sprint(i)}}
			}
			users = append(users, u)
			r := toUserRec(u)
			r.V, r.G = u.Version, u.GroupIDs // as format 1 stored them
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketUsers).Put([]byte(u.ID), b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A migration that stopped after two chunks (a crash after init's first
	// transaction created the buckets): Open resumes it.
	if err := db.Update(createBuckets); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if n, err := migrateV1Chunk(db); n != 7 || err != nil {
			t.Fatalf("migrate a chunk: %d, %v", n, err)
		}
	}
	db.Close()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, want := range users {
		got, err := s.GetUser(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != want.Version || strings.Join(got.GroupIDs, ",") != strings.Join(want.GroupIDs, ",") {
			t.Errorf("user %s: version %d groups %v, want %d %v", want.ID, got.Version, got.GroupIDs, want.Version, want.GroupIDs)
		}
		if f, err := s.FindUser(ctx, storage.FieldEmail, strings.ToUpper(want.Emails[0].Value)); err != nil || f.ID != want.ID {
			t.Errorf("FindUser(email of %s) = %v, %v", want.ID, f, err)
		}
	}
	members, err := s.GroupMemberIDs(ctx, "g1")
	if err != nil || len(members) != 15 {
		t.Errorf("members of g1: %v, %v; want 15", members, err)
	}
	f, err := schemas.ParseFilter("external_account_id pr", schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect, AppID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.ListUsers(ctx, storage.Query{Filter: f}); err != nil || p.Total != 10 {
		t.Errorf("users of app a1: %d, %v; want 10", p.Total, err)
	}
	if p, err := s.ListUsers(ctx, storage.Query{}); err != nil || p.Total != 30 {
		t.Errorf("users: %d, %v; want 30", p.Total, err)
	}
	// The login identifiers were indexed: another user cannot take one.
	clash := storagetest.NewUser(100)
	clash.UserName = users[3].Emails[0].Value
	if _, err := s.CreateUser(ctx, clash, nil); storage.ConflictField(err) != storage.FieldUserName {
		t.Errorf("create with another user's email as userName: %v, want a userName conflict", err)
	}
	var format string
	s.fileView(func(tx *bolt.Tx) error { format = string(tx.Bucket(bucketMeta).Get(keyFormat)); return nil })
	if format != formatVersion {
		t.Errorf("format after migration %q, want %q", format, formatVersion)
	}
}

// TestOpenRefusesUnknownFormat checks that a file of a format this scimd does
// not know is refused, untouched, with a message naming both versions.
func TestOpenRefusesUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	updateFile(t, dir, func(tx *bolt.Tx) error {
		m, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return m.Put(keyFormat, []byte("99"))
	})
	s, err := Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a file of format 99")
	}
	if !strings.Contains(err.Error(), `"99"`) || !strings.Contains(err.Error(), strconv.Quote(formatVersion)) {
		t.Errorf("error %q does not name the file's and the supported format", err)
	}
}

// toUserRec is the format-1 record of u (without Version and GroupIDs).
func toUserRec(u *schemas.User) *userRec {
	r := &userRec{
		ID: u.ID, UN: u.UserName, XID: u.ExternalID,
		DN: u.DisplayName, NN: u.NickName, PU: u.ProfileURL, Ti: u.Title, UT: u.UserType,
		PL: u.PreferredLanguage, Lo: u.Locale, TZ: u.Timezone, BD: u.Birthday,
		Em: convertAll(u.Emails, toEmailRec), Ph: convertAll(u.PhoneNumbers, toPhoneRec),
		IM: convertAll(u.IMs, toMVRec), Pho: convertAll(u.Photos, toMVRec), Ent: convertAll(u.Entitlements, toMVRec),
		Ro: convertAll(u.Roles, toMVRec), X5: convertAll(u.X509Certificates, toMVRec),
		St: u.Status, StAt: utc(u.StatusChangedAt), CD: u.CustomData,
		Cr: utc(u.Created), Up: utc(u.Updated), LA: utc(u.LastAuth),
	}
	if !u.Name.IsZero() {
		n := u.Name
		r.N = &nameRec{F: n.Formatted, Fa: n.FamilyName, G: n.GivenName, M: n.MiddleName, HP: n.HonorificPrefix, HS: n.HonorificSuffix}
	}
	if len(u.Addresses) > 0 {
		r.Ad = make([]addrRec, len(u.Addresses))
		for i, a := range u.Addresses {
			r.Ad[i] = addrRec{F: a.Formatted, S: a.StreetAddress, L: a.Locality, R: a.Region, PC: a.PostalCode,
				C: a.Country, T: a.Type, P: a.Primary, U: utc(a.Updated)}
		}
	}
	if e := u.Enterprise; e != nil {
		r.EU = &enterpriseRec{EN: e.EmployeeNumber, CC: e.CostCenter, Org: e.Organization, Div: e.Division, Dep: e.Department}
		if m := e.Manager; m != nil {
			r.EU.M = &managerRec{V: m.Value, Ref: m.Ref, D: m.DisplayName}
		}
	}
	if len(u.Apps) > 0 {
		r.Apps = make(map[string]*appLinkRec, len(u.Apps))
		for id, a := range u.Apps {
			if a == nil {
				a = &schemas.AppLink{}
			}
			r.Apps[id] = &appLinkRec{XA: a.ExternalAccountID, CD: a.CustomAppData, At: utc(a.AssignedAt), LL: utc(a.LastLogin)}
		}
	}
	if p := u.Password; p != nil {
		r.Pw = &passwordRec{H: p.Hash, T: p.Temporary, U: utc(p.Updated), Ex: utc(p.Expires)}
	}
	if len(u.DeviceKeys) > 0 {
		r.DK = make([]deviceKeyRec, len(u.DeviceKeys))
		for i, k := range u.DeviceKeys {
			d := deviceKeyRec{K: k.KeyID, DN: k.DisplayName, St: k.Status, PK: k.PublicKey, CD: k.CustomData,
				Cr: utc(k.Created), Up: utc(k.Updated)}
			if k.PushConfig != nil {
				d.PC = &pushRec{DT: k.PushConfig.DeviceToken, T: k.PushConfig.Type}
			}
			r.DK[i] = d
		}
	}
	return r
}

// TestSearchAcrossBlocks checks the trigram index beyond one block of rows
// (blockRows): postings in several blocks, changes in later blocks, and
// every answer equal to a full scan's.
func TestSearchAcrossBlocks(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	var users []*schemas.User
	for i := range 2*blockRows + 50 {
		users = append(users, &schemas.User{ID: fmt.Sprintf("b%05d", i), UserName: fmt.Sprintf("member.%05d", i),
			Emails: []schemas.Email{{Value: fmt.Sprintf("m%05d@blocks.test", i), Primary: true}}})
	}
	ids := createAll(t, s, users)
	for _, i := range []int{3, blockRows + 7, 2*blockRows + 1} {
		if err := s.DeleteUser(ctx, ids[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateUser(ctx, ids[2*blockRows+9], 0, func(u *schemas.User) error { u.UserName = "Late.Renamed"; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	defer func(n, m int) { learnReads, trustSample = n, m }(learnReads, trustSample)
	// 1, 1: keys that narrow little are dropped by the sample, or after the first block.
	for _, c := range [][2]int{{16, 16}, {1, 1 << 30}, {1 << 30, 1}} {
		learnReads, trustSample = c[0], c[1]
		testSearchAcrossBlocks(t, s)
	}
}

func testSearchAcrossBlocks(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, expr := range []string{`userName sw "member.0"`, `userName co "ber.01"`, `userName ew "199"`, `userName co "late.ren"`,
		`emails.value co "m020"`, `emails.value ew "@blocks.test"`, `userName co "member.02057"`, `userName eq "MEMBER.00003"`,
		`userName co "ember.0"`, `emails.value co "09@blocks"`} {
		f := mustParse(t, expr)
		page, err := s.ListUsers(ctx, storage.Query{Filter: f, Limit: storage.Unlimited})
		if err != nil {
			t.Fatal(err)
		}
		scan, planned := scanAndPlan(t, s, f)
		if !planned {
			t.Errorf("%s: not planned", expr)
		}
		if page.Total != len(scan) || len(page.Items) != len(scan) {
			t.Errorf("%s: %d users, full scan %d", expr, page.Total, len(scan))
			continue
		}
		for i := range scan {
			if page.Items[i].ID != scan[i].ID {
				t.Errorf("%s: item %d is %s, full scan %s", expr, i, page.Items[i].ID, scan[i].ID)
				break
			}
		}
	}
}

// TestIndexAllEmails checks that a format-3 file made before the index of
// every email existed gets it at Open (in chunks), and that emails.value eq
// then goes through it with the full scan's answer.
func TestIndexAllEmails(t *testing.T) {
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 7
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var gen []*schemas.User
	for i := range 40 {
		gen = append(gen, storagetest.NewUser(i))
	}
	createAll(t, s, gen)
	s.Close()
	updateFile(t, dir, func(tx *bolt.Tx) error { // as a file from before the index
		if err := tx.DeleteBucket(bucketUserEmails); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyEmailsIndexed)
	})
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, v := range []string{gen[4].Emails[1].Value, strings.ToUpper(gen[33].Emails[0].Value), "nobody@example.com"} {
		f := mustParse(t, fmt.Sprintf("emails.value eq %q", v))
		page, err := s.ListUsers(context.Background(), storage.Query{Filter: f, Limit: storage.Unlimited})
		if err != nil {
			t.Fatal(err)
		}
		scan, planned := scanAndPlan(t, s, f)
		var ids []string
		err = s.userView(func(r *users) error { ids = seconds(r.emails(), schemas.Fold(v)); return nil })
		if err != nil || !planned || page.Total != len(scan) || len(ids) != len(scan) {
			t.Errorf("emails.value eq %q: %d users, index %v, full scan %d (planned %v)", v, page.Total, ids, len(scan), planned)
		}
	}
}

// appendTestEvents appends n update events, one a second from 2025-03-01,
// by three actors (a0–a2) on four users (u0–u3): what the event-index
// migrations are tested on.
func appendTestEvents(t *testing.T, s *Store, n int) {
	t.Helper()
	base := time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		e := &schemas.Event{ID: fmt.Sprintf("e%03d", i), Time: base.Add(time.Duration(i) * time.Second), Action: "updateUser",
			ActorID: fmt.Sprintf("a%d", i%3), ActorType: "app", TargetID: fmt.Sprintf("u%d", i%4), TargetType: "user"}
		if err := s.AppendEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIndexAllEvents checks that a file made before the event indexes gets
// them at Open — in chunks, resuming after the last one a crash left — and
// that listing by target or actor then answers as the unfiltered walk does.
func TestIndexAllEvents(t *testing.T) {
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 7
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendTestEvents(t, s, 40)
	s.Close()
	updateFile(t, dir, func(tx *bolt.Tx) error { // as a file from before the indexes
		if err := tx.DeleteBucket(bucketEventIndex); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyEventsIndexed)
	})
	// A crash after the first chunk: its progress is recorded, its entries
	// are left out here so that the test sees it is not redone.
	updateFile(t, dir, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		k, _ := c.First()
		for range migrateChunk - 1 {
			k, _ = c.Next()
		}
		return tx.Bucket(bucketMeta).Put(keyEventsIndexedTo, slices.Clone(k))
	})
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.fileView(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keyEventsIndexed) == nil || meta.Get(keyEventsIndexedTo) != nil {
			return fmt.Errorf("after indexing: done %v, progress %q", meta.Get(keyEventsIndexed) != nil, meta.Get(keyEventsIndexedTo))
		}
		if n, want := tx.Bucket(bucketEventIndex).Stats().KeyN, 2*(40-migrateChunk); n != want {
			return fmt.Errorf("the index has %d entries, want %d (the chunk before the crash is not redone)", n, want)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	all, err := s.ListEvents(context.Background(), storage.EventQuery{Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []storage.EventQuery{{TargetID: "u1"}, {ActorID: "a2"}, {TargetID: "u3", ActorID: "a0"}} {
		q.Limit = storage.Unlimited
		var want []string
		for _, e := range all.Items {
			if e.ID > fmt.Sprintf("e%03d", migrateChunk-1) && (q.TargetID == "" || e.TargetID == q.TargetID) && (q.ActorID == "" || e.ActorID == q.ActorID) {
				want = append(want, e.ID)
			}
		}
		got, err := s.ListEvents(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got.Items {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, want) || got.Total != len(want) {
			t.Errorf("ListEvents(%+v) = %v, want %v", q, ids, want)
		}
	}
}

// TestEventWithLongTarget: an event whose target or actor id is too long for
// a key of the event indexes is stored, and listing by that id finds it (by
// walking the log).
func TestEventWithLongTarget(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	long := strings.Repeat("x", 40000)
	e := &schemas.Event{ID: "e1", Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Action: "failedLogin",
		ActorID: long, ActorType: "user", TargetID: long, TargetType: "user"}
	if err := s.AppendEvent(context.Background(), e); err != nil {
		t.Fatalf("AppendEvent with a 40,000-byte target: %v", err)
	}
	for _, q := range []storage.EventQuery{{TargetID: long, Limit: 10}, {ActorID: long, Limit: 10}} {
		p, err := s.ListEvents(context.Background(), q)
		if err != nil || p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != "e1" {
			t.Errorf("ListEvents by the long id: %d events, %v", p.Total, err)
		}
	}
}

// TestMembershipWalk changes the members of a group whose users' ids have
// different lengths — their keys in userGroups sort by length first, not in
// the ascending id order the membership is planned in, so the walkers step
// forward and seek back — and users in many groups (more than maxLagGroups,
// so with the lag kept, changes drain a group's lag in their transaction).
// Every user's groups, version and the group's member list must be what the
// changes made: read through the lag (kept), after the idle writer drained
// it, and after a reopen that drains what was kept.
func TestMembershipWalk(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keepLag=%v", keep), func(t *testing.T) { membershipWalk(t, keep) })
	}
}

func membershipWalk(t *testing.T, keepLag bool) {
	dir := t.TempDir()
	s, err := OpenWithOptions(dir, Options{keepLag: keepLag})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := context.Background()
	var ids []string
	for i := range 60 {
		u := storagetest.NewUser(i)
		u.ID = strings.Repeat("k", 1+i%7) + fmt.Sprint(i) // lengths 2 to 9
		if _, err := s.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	groups := []string{"g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9", "gA", "gB"}
	for _, g := range groups {
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: g}, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]map[string]bool{} // user → its groups
	changes := map[string]int64{}        // user → membership changes
	apply := func(g, op string, us []string) {
		t.Helper()
		if err := map[string]func(context.Context, storage.Store, string, []string, *schemas.Event) error{
			"add": storagetest.AddMembers, "remove": storagetest.RemoveMembers}[op](ctx, s, g, us, nil); err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if want[u] == nil {
				want[u] = map[string]bool{}
			}
			if want[u][g] != (op == "add") {
				changes[u]++
			}
			want[u][g] = op == "add"
		}
	}
	// The first ten users in every group, the others in every third; then
	// removals and re-adds mixing members and non-members.
	for gi, g := range groups {
		var us []string
		for i, u := range ids {
			if i < 10 || i%3 == gi%3 {
				us = append(us, u)
			}
		}
		apply(g, "add", us)
	}
	apply("g5", "remove", ids[5:40])
	apply("gB", "add", ids)
	apply("g0", "remove", ids[30:])
	for i := 0; i < len(ids); i += 4 {
		apply("g5", "add", ids[i:i+1])
	}
	if keepLag {
		if n := lagGroups(t, s); n == 0 || n > maxLagGroups {
			t.Fatalf("%d lagging groups, want 1 to %d", n, maxLagGroups)
		}
	}
	checkMemberships(t, s, ids, groups, want, changes)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil { // drains the lag kept
		t.Fatal(err)
	}
	waitLagDrained(t, s)
	checkMemberships(t, s, ids, groups, want, changes)
	checkUserGroups(t, s)
}

// checkMemberships checks every user's groups and version and every
// group's members against want (user → group → member) and changes (user
// → its membership changes; each user was created with version 1).
func checkMemberships(t *testing.T, s *Store, ids, groups []string, want map[string]map[string]bool, changes map[string]int64) {
	t.Helper()
	ctx := context.Background()
	for _, u := range ids {
		got, err := s.GetUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var wantGroups []string
		for _, g := range groups {
			if want[u][g] {
				wantGroups = append(wantGroups, g)
			}
		}
		if !slices.Equal(got.GroupIDs, wantGroups) {
			t.Errorf("%s: groups %v, want %v", u, got.GroupIDs, wantGroups)
		}
		if got.Version != 1+changes[u] {
			t.Errorf("%s: version %d, want %d (1 + %d membership changes)", u, got.Version, 1+changes[u], changes[u])
		}
	}
	for _, g := range groups {
		members, err := s.GroupMembers(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		var got, wantIDs []string
		for _, m := range members {
			got = append(got, m.ID)
			if u, _ := s.GetUser(ctx, m.ID); u == nil || m.UserName != u.UserName || m.DisplayName != u.DisplayName {
				t.Errorf("%s: member %+v, user %+v", g, m, u)
			}
		}
		for _, u := range ids {
			if want[u][g] {
				wantIDs = append(wantIDs, u)
			}
		}
		slices.Sort(got)
		slices.Sort(wantIDs)
		if !slices.Equal(got, wantIDs) {
			t.Errorf("%s: members %v, want %v", g, got, wantIDs)
		}
	}
}

// fileUpdate has the overlay applied to the file, then runs fn in a write
// transaction of the file itself: the tests' way to damage, or change
// behind the store's back, what the store reads.
func (s *Store) fileUpdate(fn func(*bolt.Tx) error) error {
	if err := s.catchUp(context.Background()); err != nil {
		return err
	}
	// A batch that asks to freeze ends the writer's kept read transaction
	// (writerTx), which catchUp leaves when nothing was left to apply: it
	// must not hold the file's map while fn writes, nor go on reading the
	// file as it was before.
	if err := s.submit(func(b *batch) error { b.freeze = true; return nil }); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// fileView has the overlay applied to the file, then runs fn in a read
// transaction of the file itself: what a test reads of the file's layout.
func (s *Store) fileView(fn func(*bolt.Tx) error) error {
	if err := s.catchUp(context.Background()); err != nil {
		return err
	}
	return s.db.View(fn)
}
