package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/scimd/scimd/internal/testfs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// crashOverlayDirEnv makes the test binary the child of
// TestCrashWhileApplying (see TestMain).
const crashOverlayDirEnv = "SCIMD_EMBEDDED_CRASH_OVERLAY_DIR"

// crashOverlayBytes is the child's Options.OverlayBytes: small, so that
// the applier freezes and applies a table every few writes and a kill
// lands in every phase of it (staging, log sync, apply, release).
const crashOverlayBytes = 16 << 10

// crashLanes is the number of the child's writers.
const crashLanes = 8

// A lane is one writer of the crash child: it makes users one after the
// other, each with the steps below, each step one acknowledged write with
// its audit event (id laneEvent), so that the parent knows from a lane's
// last acknowledged step what must be stored and what may be.
const (
	stepCreate = iota // create the user (Title "")
	stepUpdate        // Title "upd"
	stepJoin          // add it to the lane's group (a PatchGroup)
	stepLast          // odd users: delete it; even users: Title "upd2"
	laneSteps
)

func laneUser(lane string, j int) string     { return fmt.Sprintf("%s-u%05d", lane, j) }
func laneGroup(lane string) string           { return lane + "-g" }
func laneEvent(lane string, step int) string { return fmt.Sprintf("%s-e%06d", lane, step) }

// crashOverlayChild runs crashLanes lanes and prints "ACK <lane> <step>" for
// every acknowledged step, until it is killed.
func crashOverlayChild(dir string) {
	// Tiny blocks of audit events sealed as soon as they are written, so
	// that kills land in seals too (between batches: the lanes keep the
	// writer busy).
	s, err := OpenWithOptions(dir, Options{OverlayBytes: crashOverlayBytes, seal: sealOptions{blockBytes: 1 << 10}})
	if err != nil {
		fmt.Println("OPENERR", err)
		os.Exit(2)
	}
	ctx := context.Background()
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	for w := range crashLanes {
		go func() {
			lane := fmt.Sprintf("p%d-l%d", os.Getpid(), w)
			if _, err := s.CreateGroup(ctx, &schemas.Group{ID: laneGroup(lane), DisplayName: laneGroup(lane)}, nil); err != nil {
				fail(err)
			}
			for step := 0; ; step++ {
				if err := laneStep(ctx, s, lane, step); err != nil {
					fail(fmt.Errorf("lane %s step %d: %w", lane, step, err))
				}
				mu.Lock()
				fmt.Printf("ACK %s %d\n", lane, step) // os.Stdout is unbuffered: one write per line
				mu.Unlock()
			}
		}()
	}
	select {}
}

// laneStep makes step of lane: step%laneSteps of user step/laneSteps.
func laneStep(ctx context.Context, s storage.Store, lane string, step int) error {
	j := step / laneSteps
	id := laneUser(lane, j)
	ev := &schemas.Event{ID: laneEvent(lane, step), Time: time.Now().UTC(), Action: fmt.Sprint("step", step%laneSteps), TargetID: id}
	if step%laneSteps == stepUpdate { // a straggler, into the blocks sealed meanwhile (or a block of its own, or a split)
		ev.Time = ev.Time.Add(-300 * time.Millisecond)
	}
	setTitle := func(title string) error {
		_, err := s.UpdateUser(ctx, id, 0, func(u *schemas.User) error { u.Title = title; return nil },
			func(prev, cur *schemas.User) *schemas.Event { return ev })
		return err
	}
	switch step % laneSteps {
	case stepCreate:
		_, err := s.CreateUser(ctx, &schemas.User{ID: id, UserName: "n-" + id,
			Emails: []schemas.Email{{Value: id + "@crash.test", Primary: true}}}, ev)
		return err
	case stepUpdate:
		return setTitle("upd")
	case stepJoin:
		_, err := s.PatchGroup(ctx, laneGroup(lane), storage.GroupChange{Members: []storage.MemberOp{{Op: "add", IDs: []string{id}}}, At: ev.Time},
			func(prev, cur *schemas.Group, added, removed []string) []*schemas.Event { return []*schemas.Event{ev} })
		return err
	default:
		if j%2 == 1 {
			return s.DeleteUser(ctx, id, ev)
		}
		return setTitle("upd2")
	}
}

// TestCrashWhileApplying kills a child whose lanes create, update, add to
// a group and delete users, each write with its audit event, while its
// applier applies the overlay every few writes, three times; then it checks
// each lane: every acknowledged step is stored with its event, the step in
// flight at the kill is stored whole or not at all (its event, the user's
// record, its indexes and its memberships agree), and nothing after it.
func TestCrashWhileApplying(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	acked := map[string]int{} // lane → its last acknowledged step
	for round := range 3 {
		// Each round kills at another point of the apply cycle.
		killChildAt(t, crashOverlayDirEnv+"="+dir, 300+97*round, func(f []string) {
			step, _ := strconv.Atoi(f[1])
			acked[f[0]] = step
		})
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	inFlight := 0
	for lane, last := range acked {
		for j := 0; j <= (last+1)/laneSteps; j++ {
			done := checkLaneUser(t, s, lane, j)
			want := min(max(last+1-j*laneSteps, 0), laneSteps) // its steps acknowledged
			switch {
			case done == want:
			case done == want+1 && last+1 == j*laneSteps+done-1:
				inFlight++ // the step in flight at the kill: stored whole
			default:
				t.Errorf("lane %s user %d: %d steps stored, %d acknowledged (lane's last step %d)", lane, j, done, want, last)
			}
		}
	}
	if err := consistent(ctx, s); err != nil {
		t.Fatal(err)
	}
	// No event is listed twice (a seal copies events into a block and
	// deletes them from the tail: both or neither), and seals happened.
	all, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range all.Items {
		if seen[e.ID] {
			t.Fatalf("event %s is listed twice", e.ID)
		}
		seen[e.ID] = true
	}
	blocks, tail := blockStats(t, s)
	if blocks == 0 {
		t.Fatalf("no block of audit events was sealed (%d in the tail): the kills missed the seals", tail)
	}
	made := 0 // blocks that stragglers made (between blocks, or a split's lower half)
	s.readView(func(tb *txBuckets) error {
		return tb.bucket(fbEventBlocks).ForEach(func(k, _ []byte) error {
			if seq, ok := blockSeq(k); ok && seq&(sealStep-1) != 0 {
				made++
			}
			return nil
		})
	})
	if made == 0 {
		t.Fatalf("no block was made for stragglers (%d blocks): the kills missed them", blocks)
	}
	t.Logf("%d lanes, %d steps in flight at a kill found stored; %d events, %d blocks (%d made for stragglers), %d in the tail",
		len(acked), inFlight, len(all.Items), blocks, made, tail)
}

// checkLaneUser returns how many steps of user j of lane are stored, after
// checking that they are a prefix of its steps and that the user's record,
// indexes and membership are those of exactly these steps.
func checkLaneUser(t *testing.T, s *Store, lane string, j int) int {
	t.Helper()
	ctx := t.Context()
	id := laneUser(lane, j)
	page, err := s.ListEvents(ctx, storage.EventQuery{TargetID: id, Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, e := range page.Items {
		step, ok := strings.CutPrefix(e.ID, lane+"-e")
		n, err := strconv.Atoi(step)
		if !ok || err != nil || n/laneSteps != j {
			t.Fatalf("user %s: an event %s of another user", id, e.ID)
		}
		steps = append(steps, n%laneSteps)
	}
	slices.Sort(steps)
	for i, st := range steps {
		if st != i {
			t.Fatalf("user %s: the events of steps %v are stored: not a prefix", id, steps)
		}
	}
	done := len(steps)
	u, err := s.GetUser(ctx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	deleted := done == laneSteps && j%2 == 1
	if exists != (done > 0 && !deleted) {
		t.Fatalf("user %s: exists %v after steps %v", id, exists, steps)
	}
	f, err := s.FindUser(ctx, storage.FieldUserName, "n-"+id)
	if (err == nil) != exists || (exists && f.ID != id) {
		t.Fatalf("user %s: exists %v, its userName finds %v (%v)", id, exists, f, err)
	}
	members, err := s.GroupMemberIDs(ctx, laneGroup(lane))
	if err != nil {
		t.Fatal(err)
	}
	member := slices.Contains(members, id)
	if member != (done > stepJoin && !deleted) {
		t.Fatalf("user %s: member %v after steps %v", id, member, steps)
	}
	if exists {
		title := map[int]string{1: "", 2: "upd", 3: "upd", 4: "upd2"}[done]
		if u.Title != title || slices.Contains(u.GroupIDs, laneGroup(lane)) != member {
			t.Fatalf("user %s after steps %v: title %q, groups %v", id, steps, u.Title, u.GroupIDs)
		}
	}
	return done
}

// consistent checks what must agree across the whole store: the user count
// and the users listed.
func consistent(ctx context.Context, s *Store) error {
	all, err := s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited})
	if err != nil {
		return err
	}
	count, err := s.ListUsers(ctx, storage.Query{Limit: 0})
	if err != nil {
		return err
	}
	if count.Total != len(all.Items) {
		return fmt.Errorf("the count says %d users, the list has %d", count.Total, len(all.Items))
	}
	return s.readView(consistentView)
}

// TestReplaySkipsApplied makes the state a crash leaves between the
// apply's bbolt commit and the log's release: the file holds every write
// (walApplied at the last), and the log still holds records of older
// writes. Open must skip them: replaying them would bring back a deleted
// user and an old version of an updated one.
func TestReplaySkipsApplied(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	x, y := storagetest.NewUser(1), storagetest.NewUser(2)
	for _, u := range []*schemas.User{x, y} {
		if _, err := s.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	logCopy := filepath.Join(t.TempDir(), LogDirName)
	testfs.CopyDir(t, filepath.Join(dir, LogDirName), logCopy) // (synced: the creates were acknowledged)
	if _, err := s.UpdateUser(ctx, x.ID, 0, func(u *schemas.User) error { u.Title = "later"; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, y.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // applies everything, releases the log
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, LogDirName)); err != nil {
		t.Fatal(err)
	}
	testfs.CopyDir(t, logCopy, filepath.Join(dir, LogDirName))
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.GetUser(ctx, x.ID); err != nil || got.Title != "later" || got.Version != 2 {
		t.Fatalf("the updated user after reopen: %+v, %v", got, err)
	}
	if _, err := s.GetUser(ctx, y.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the deleted user after reopen: %v", err)
	}
	if err := consistent(ctx, s); err != nil {
		t.Fatal(err)
	}
	// The next writes follow the file's last sequence number, not the
	// log's: a write must not reuse a number the file has applied.
	if _, err := s.UpdateUser(ctx, x.ID, 0, func(u *schemas.User) error { u.Title = "again"; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if got, err := s.GetUser(ctx, x.ID); err != nil || got.Title != "again" {
		t.Fatalf("the user updated after the reopen: %+v, %v", got, err)
	}
}

// TestOpenRefusesLogOfOlderFile puts the log of a store that did not close
// (writes beyond the file's walApplied) next to a file of an older format,
// which Open would migrate: the records are of the current format's buckets,
// so Open must refuse rather than replay them into it or drop them, and leave
// the file as it was.
func TestOpenRefusesLogOfOlderFile(t *testing.T) {
	src := t.TempDir()
	s, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(t.Context(), storagetest.NewUser(1), nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testfs.CopyDir(t, filepath.Join(src, LogDirName), filepath.Join(dir, LogDirName)) // (synced: the create was acknowledged)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	updateFile(t, dir, func(tx *bolt.Tx) error {
		for _, n := range [][]byte{bucketMeta, bucketUsers, bucketGroups, bucketApps, bucketTokens, bucketEvents} {
			if _, err := tx.CreateBucket(n); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV1))
	})
	before, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("Open replayed a log into a file of format 1")
	} else if !strings.Contains(err.Error(), "a log of another file") {
		t.Errorf("Open's error %q does not say that the log is another file's", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(after, before) {
		t.Error("the refused Open changed the file")
	}
}
