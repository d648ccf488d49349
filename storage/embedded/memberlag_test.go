package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// TestConformanceLagging runs the storage contract with the membership lag
// kept (never drained by the idle writer): every membership read goes
// through the lag entries.
func TestConformanceLagging(t *testing.T) {
	storagetest.RunTests(t, backendWith(Options{keepLag: true}))
}

// lagGroups returns the number of lagging groups in the file.
func lagGroups(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	err := s.fileView(func(tx *bolt.Tx) error {
		var l lagIndex
		err := decodeLagIndex(tx.Bucket(bucketUserGroups).Get(lagIndexKey), &l)
		n = len(l.groups)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitLagDrained waits until the idle writer has drained the membership
// lag: no lagging group, no lag entry.
func waitLagDrained(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var entries int
		s.fileView(func(tx *bolt.Tx) error {
			entries = tx.Bucket(bucketMemberLag).Stats().KeyN
			return nil
		})
		if entries == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writer left %d keys in memberLag", entries)
		}
	}
}

// checkUserGroups checks that userGroups holds exactly the pairs of
// groupMembers, reversed, and a count only for users that exist.
func checkUserGroups(t *testing.T, s *Store) {
	t.Helper()
	err := s.fileView(func(tx *bolt.Tx) error {
		r := usersOf(tx)
		var fromMembers, fromGroups []string
		r.members().ForEach(func(k, _ []byte) error {
			g, u := splitPair(k)
			fromMembers = append(fromMembers, g+"|"+u)
			return nil
		})
		r.groups().ForEach(func(k, _ []byte) error {
			if bytes.Equal(k, lagIndexKey) {
				t.Error("userGroups holds a list of lagging groups, with none left")
				return nil
			}
			u, g := splitPair(k)
			if g == "" {
				if !r.exists(u) {
					t.Errorf("userGroups holds a count for %s, which does not exist", u)
				}
				return nil
			}
			fromGroups = append(fromGroups, g+"|"+u)
			return nil
		})
		slices.Sort(fromMembers)
		slices.Sort(fromGroups)
		if !slices.Equal(fromMembers, fromGroups) {
			t.Errorf("groupMembers %v\nuserGroups %v", fromMembers, fromGroups)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func splitPair(k []byte) (string, string) {
	n := int(k[0])<<8 | int(k[1])
	return string(k[2 : 2+n]), string(k[2+n:])
}

// TestPatchGroupWritesNoUserGroups checks that adding and removing members
// through a group writes no user's key in userGroups (the user-keyed bucket
// where members spread over the store were a page each; only the list of
// lagging groups, lagIndexKey, changes) while the lag is kept,
// and that updating and deleting a lagging member settle its lag: the
// update keeps its groups and gives it one more version, the delete
// removes its memberships everywhere.
func TestPatchGroupWritesNoUserGroups(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWithOptions(dir, Options{keepLag: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := context.Background()
	ids := userIDs(createUsers(t, s, 40))
	for _, g := range []string{"ga", "gb"} {
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: g}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := storagetest.AddMembers(ctx, s, "ga", ids[:20], nil); err != nil {
		t.Fatal(err)
	}
	before := bucketDump(t, s, bucketUserGroups)
	if err := storagetest.AddMembers(ctx, s, "gb", ids, nil); err != nil {
		t.Fatal(err)
	}
	if err := storagetest.RemoveMembers(ctx, s, "ga", ids[10:20], nil); err != nil {
		t.Fatal(err)
	}
	if after := bucketDump(t, s, bucketUserGroups); !bytes.Equal(before, after) {
		t.Error("a membership change through a group wrote userGroups")
	}
	for i, id := range ids {
		u, err := s.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want, version := []string{"gb"}, int64(2) // created, added to gb
		if i < 10 {
			want, version = []string{"ga", "gb"}, 3
		} else if i < 20 {
			version = 4 // added to ga, removed
		}
		if !slices.Equal(u.GroupIDs, want) || u.Version != version {
			t.Errorf("%s: groups %v version %d, want %v %d", id, u.GroupIDs, u.Version, want, version)
		}
	}
	// An update of a lagging member settles its lag.
	u, err := s.UpdateUser(ctx, ids[0], 3, func(u *schemas.User) error { u.Title = "Boss"; return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, ids[0]); got.Version != 4 || u.Version != 4 || !slices.Equal(got.GroupIDs, []string{"ga", "gb"}) || got.Title != "Boss" {
		t.Errorf("after an update: %+v (returned version %d)", got, u.Version)
	}
	if err := s.DeleteUser(ctx, ids[1], nil); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"ga", "gb"} {
		if m, _ := s.GroupMemberIDs(ctx, g); slices.Contains(m, ids[1]) {
			t.Errorf("%s still lists the deleted user", g)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	waitLagDrained(t, s)
	checkUserGroups(t, s)
	if got, _ := s.GetUser(ctx, ids[15]); got.Version != 4 || !slices.Equal(got.GroupIDs, []string{"gb"}) {
		t.Errorf("after the drain: %s groups %v version %d, want [gb] 4", ids[15], got.GroupIDs, got.Version)
	}
}

// bucketDump returns every key and value of the bucket but lagIndexKey,
// concatenated.
func bucketDump(t *testing.T, s *Store, name []byte) []byte {
	t.Helper()
	var out []byte
	s.fileView(func(tx *bolt.Tx) error {
		return tx.Bucket(name).ForEach(func(k, v []byte) error {
			if bytes.Equal(k, lagIndexKey) {
				return nil
			}
			out = append(out, k...)
			out = append(out, '=')
			out = append(out, v...)
			out = append(out, '\n')
			return nil
		})
	})
	return out
}

// TestOpenMigratesV7 checks that a format-7 file (no memberLag bucket:
// every membership in userGroups) is migrated at Open — the bucket created,
// the version written — and reads its memberships as before.
func TestOpenMigratesV7(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := userIDs(createUsers(t, s, 30))
	if _, err := s.CreateGroup(ctx, &schemas.Group{ID: "g", DisplayName: "g"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := storagetest.AddMembers(ctx, s, "g", ids[:10], nil); err != nil {
		t.Fatal(err)
	}
	waitLagDrained(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	updateFile(t, dir, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketMemberLag); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV7))
	})
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, id := range ids {
		u, err := s.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if in := slices.Equal(u.GroupIDs, []string{"g"}); in != (i < 10) || u.Version != map[bool]int64{true: 2, false: 1}[i < 10] {
			t.Errorf("%s: groups %v version %d", id, u.GroupIDs, u.Version)
		}
	}
	if err := storagetest.RemoveMembers(ctx, s, "g", ids[:5], nil); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.GetUser(ctx, ids[0]); len(u.GroupIDs) != 0 || u.Version != 3 {
		t.Errorf("after a removal: groups %v version %d", u.GroupIDs, u.Version)
	}
	s.fileView(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMemberLag) == nil {
			t.Error("Open did not create the memberLag bucket")
		}
		if f := string(tx.Bucket(bucketMeta).Get(keyFormat)); f != formatVersion {
			t.Errorf("format after Open %q, want %q", f, formatVersion)
		}
		return nil
	})
}

// TestLagRoom checks that changes of more groups than maxLagGroups keep at
// most maxLagGroups lagging, draining the smallest, and that every user
// reads its groups right meanwhile; and that a change smaller than the
// smallest lagging group is written direct instead, draining nothing.
func TestLagRoom(t *testing.T) {
	s, ids := lagStore(t, 3*maxLagGroups)
	ctx := context.Background()
	var groups []string
	for i := range 2 * maxLagGroups {
		g := fmt.Sprintf("g%02d", i)
		groups = append(groups, g)
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: g}, nil); err != nil {
			t.Fatal(err)
		}
		if err := storagetest.AddMembers(ctx, s, g, ids[i:i+1+i%3], nil); err != nil {
			t.Fatal(err)
		}
		if n := lagGroups(t, s); n != min(i+1, maxLagGroups) {
			t.Fatalf("after %d groups changed, %d lag", i+1, n)
		}
	}
	for i, id := range ids {
		u, err := s.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for gi, g := range groups {
			if i >= gi && i < gi+1+gi%3 {
				want = append(want, g)
			}
		}
		if !slices.Equal(u.GroupIDs, want) || u.Version != 1+int64(len(want)) {
			t.Errorf("%s: groups %v version %d, want %v %d", id, u.GroupIDs, u.Version, want, 1+len(want))
		}
	}

	// Every lagging group has 2 or 3 entries: one member more, in a new
	// group, is written direct.
	before := bucketDump(t, s, bucketMemberLag)
	v0, _ := s.GetUser(ctx, ids[0])
	if _, err := s.CreateGroup(ctx, &schemas.Group{ID: "direct", DisplayName: "direct"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := storagetest.AddMembers(ctx, s, "direct", ids[:1], nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, bucketDump(t, s, bucketMemberLag)) || lagGroups(t, s) != maxLagGroups {
		t.Error("a change smaller than every lagging group changed the lag")
	}
	if u, _ := s.GetUser(ctx, ids[0]); !slices.Contains(u.GroupIDs, "direct") || u.Version != v0.Version+1 {
		t.Errorf("after a direct change: groups %v version %d, want direct in them and %d", u.GroupIDs, u.Version, v0.Version+1)
	}
	if err := storagetest.RemoveMembers(ctx, s, "direct", ids[:1], nil); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.GetUser(ctx, ids[0]); slices.Contains(u.GroupIDs, "direct") || u.Version != v0.Version+2 {
		t.Errorf("after a direct removal: groups %v version %d, want %d", u.GroupIDs, u.Version, v0.Version+2)
	}
	if err := s.DeleteGroup(ctx, "direct", nil); err != nil {
		t.Fatal(err)
	}
	checkMembersMirror(t, s)
}

// checkMembersMirror checks that every pair of groupMembers is a membership
// of its user as GetUser reads it, and the other way round.
func checkMembersMirror(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	var pairs, read []string
	s.fileView(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGroupMembers).ForEach(func(k, _ []byte) error {
			g, u := splitPair(k)
			pairs = append(pairs, g+"|"+u)
			return nil
		})
	})
	p, err := s.ListUsers(ctx, storage.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range p.Items {
		for _, g := range u.GroupIDs {
			read = append(read, g+"|"+u.ID)
		}
	}
	slices.Sort(pairs)
	slices.Sort(read)
	if !slices.Equal(pairs, read) {
		t.Errorf("groupMembers %v\nusers' groups %v", pairs, read)
	}
}

// crashMembersDirEnv makes the test binary the child of
// TestCrashDuringMembershipLag (see TestMain).
const crashMembersDirEnv = "SCIMD_EMBEDDED_CRASH_MEMBERS_DIR"

// crashMembersUsers is the number of users the parent stores first.
const crashMembersUsers = 2000

// crashMembersChild creates groups and adds a seventh of the users, spread
// over the store, to each, one PATCH after the other, printing each
// acknowledged group: the idle writer drains the lag between them, and a
// ninth lagging group drains one inside a PATCH.
func crashMembersChild(dir string) {
	// A small overlay: the kills land while the applier applies too.
	s, err := OpenWithOptions(dir, Options{OverlayBytes: 64 << 10})
	if err != nil {
		fmt.Println("OPENERR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		g := fmt.Sprintf("cg-%d-%d", os.Getpid(), i)
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: g}, nil); err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		var ids []string
		for j := i % 7; j < crashMembersUsers; j += 7 {
			ids = append(ids, fmt.Sprintf("u%08d", j))
		}
		if err := storagetest.AddMembers(ctx, s, g, ids, nil); err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Printf("ACK %s %d\n", g, i)
	}
}

// TestCrashDuringMembershipLag kills a child adding members (its writer
// draining the membership lag meanwhile) with SIGKILL, twice, and checks
// that the store opens, drains what was left, and is consistent: every
// acknowledged addition is there, userGroups mirrors groupMembers, and
// every user's version is 1 plus its membership changes (additions only).
func TestCrashDuringMembershipLag(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := bulkLoad(s, 0, crashMembersUsers); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]int{} // group → its i
	for round := range 2 {
		killChildAt(t, crashMembersDirEnv+"="+dir, 12+round*3, func(f []string) {
			i, _ := strconv.Atoi(f[1])
			acked[f[0]] = i
		})
	}
	if s, err = Open(dir); err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	waitLagDrained(t, s)
	checkUserGroups(t, s)
	ctx := context.Background()
	for g, i := range acked {
		members, err := s.GroupMemberIDs(ctx, g)
		if err != nil {
			t.Fatalf("acknowledged group %s: %v", g, err)
		}
		if want := (crashMembersUsers - i%7 + 6) / 7; len(members) != want {
			t.Errorf("acknowledged group %s has %d members, want %d", g, len(members), want)
		}
	}
	for j := range crashMembersUsers {
		u, err := s.GetUser(ctx, fmt.Sprintf("u%08d", j))
		if err != nil {
			t.Fatal(err)
		}
		if u.Version != 1+int64(len(u.GroupIDs)) {
			t.Fatalf("%s: version %d with %d groups, want %d", u.ID, u.Version, len(u.GroupIDs), 1+len(u.GroupIDs))
		}
	}
	t.Logf("%d acknowledged groups over 2 kills", len(acked))
}

// TestDamagedLagList checks that a list of lagging groups that cannot be
// decoded fails the reads of users' groups (one user or a scan of all) and
// the writes that need it with
// an error (no panic, nothing written from it), and Open with a message.
func TestDamagedLagList(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWithOptions(dir, Options{keepLag: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ids := userIDs(createUsers(t, s, 5))
	if _, err := s.CreateGroup(ctx, &schemas.Group{ID: "g", DisplayName: "g"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := storagetest.AddMembers(ctx, s, "g", ids[:2], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.fileUpdate(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUserGroups).Put(lagIndexKey, []byte{0, 9, 'g'})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, ids[3]); err == nil || !strings.Contains(err.Error(), "lagging groups") {
		t.Errorf("GetUser with a damaged list: %v", err)
	}
	// A listing that scans every user (an unindexed filter) reads the
	// groups of each as well.
	if err := s.userView(func(r *users) error {
		_, err := s.scanUsers(ctx, r, nil)
		return err
	}); err == nil || !strings.Contains(err.Error(), "lagging groups") {
		t.Errorf("a scan of every user with a damaged list: %v", err)
	}
	if err := storagetest.AddMembers(ctx, s, "g", ids[2:3], nil); err == nil {
		t.Error("a membership change with a damaged list succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "lagging groups") {
		t.Errorf("Open with a damaged list: %v", err)
	}
}

// TestDamagedLagEntry: a lag entry that is not a lagValue fails what reads
// or replaces it — the user's read, a change of the pair, the group's
// delete, the drain — instead of reading as "not a member, no change", which
// a drain would then have written into userGroups and deleted.
func TestDamagedLagEntry(t *testing.T) {
	s, ids := lagStore(t, 3, "g")
	ctx := context.Background()
	if err := storagetest.AddMembers(ctx, s, "g", ids[:2], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.fileUpdate(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMemberLag).Put(pairKey("g", ids[0]), []byte{1, 2, 3})
	}); err != nil {
		t.Fatal(err)
	}
	damaged := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, errDamagedLagEntry) {
			t.Errorf("%s with a damaged lag entry: %v, want errDamagedLagEntry", what, err)
		}
	}
	_, err := s.GetUser(ctx, ids[0])
	damaged("GetUser of its user", err)
	if u, err := s.GetUser(ctx, ids[1]); err != nil || !slices.Contains(u.GroupIDs, "g") {
		t.Errorf("GetUser of another member: %v, %v", u, err)
	}
	damaged("a change of the pair", storagetest.RemoveMembers(ctx, s, "g", ids[:1], nil))
	damaged("DeleteGroup", s.DeleteGroup(ctx, "g", nil))
	damaged("the drain", drainChunk(s))
	if err := s.fileView(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMemberLag).Get(pairKey("g", ids[0])); !bytes.Equal(v, []byte{1, 2, 3}) {
			t.Errorf("the damaged entry after the refused writes: %v", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// lagStore opens a store in a new directory whose writer keeps the
// membership lag (never drains it when idle; closed when the test ends), with
// the given number of users (their ids returned) and the groups named.
func lagStore(t *testing.T, users int, groups ...string) (*Store, []string) {
	t.Helper()
	s, err := OpenWithOptions(t.TempDir(), Options{keepLag: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ids := userIDs(createUsers(t, s, users))
	for _, g := range groups {
		if _, err := s.CreateGroup(context.Background(), &schemas.Group{ID: g, DisplayName: g}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s, ids
}

// drainChunk has the writer drain one chunk of the membership lag, as it
// does when idle (Store.drainLag, which only the writer goroutine may call),
// through the queue as a write.
func drainChunk(s *Store) error { return s.submit((*batch).drainLag) }

// TestDrainResumes checks that the idle writer's drain takes a group's lag
// entries a chunk at a time from where the last chunk ended (so that no
// chunk steps over the entries drained before it), and that a chunk which
// reaches the group's last entry wraps around to entries made since before
// its start, leaving no entry behind.
func TestDrainResumes(t *testing.T) {
	defer func(n int) { lagDrainChunk = n }(lagDrainChunk)
	lagDrainChunk = 16
	s, ids := lagStore(t, 40, "g")
	ctx := context.Background()
	slices.Sort(ids) // the order of the group's lag entries
	if err := storagetest.AddMembers(ctx, s, "g", ids, nil); err != nil {
		t.Fatal(err)
	}
	// The entries as a reader sees them, the overlay not applied: the
	// chunks after the first resume among the deletions of the ones before.
	lagEntries := func() int {
		var n int
		if err := s.userView(func(r *users) error {
			c := r.lagBucket().Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				n++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	drain := func(wantLeft int, wantAt string) {
		t.Helper()
		if err := drainChunk(s); err != nil {
			t.Fatal(err)
		}
		if n := lagEntries(); n != wantLeft {
			t.Errorf("after a chunk %d lag entries, want %d", n, wantLeft)
		}
		if at := s.drainedTo; at != (lagPosition{"g", wantAt}) {
			t.Errorf("the chunk ended at %+v, want %s", at, wantAt)
		}
	}
	drain(24, ids[15])
	// Three drained members leave: new entries before where the next chunk begins.
	if err := storagetest.RemoveMembers(ctx, s, "g", ids[:3], nil); err != nil {
		t.Fatal(err)
	}
	drain(27-16, ids[31])
	drain(0, ids[2]) // ids[32:] and then, wrapping around, ids[:3]
	if n := lagGroups(t, s); n != 0 {
		t.Errorf("%d groups lag after the last chunk", n)
	}
	checkUserGroups(t, s)
	checkMembersMirror(t, s)
	for i, id := range ids {
		u, err := s.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want, version := []string{"g"}, int64(2) // created, added
		if i < 3 {
			want, version = nil, 3 // and removed
		}
		if !slices.Equal(u.GroupIDs, want) || u.Version != version {
			t.Errorf("%s: groups %v version %d, want %v %d", id, u.GroupIDs, u.Version, want, version)
		}
	}
}
