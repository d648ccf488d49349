package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/scimd/scimd/internal/testfs"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded/internal/wal"
	"github.com/scimd/scimd/storage/storagetest"
)

// consistentView checks, in one transaction t, what every batch keeps
// consistent: the user count in meta is the number of user records.
func consistentView(t *txBuckets) error {
	n := 0
	if err := t.bucket(fbUsers).ForEach(func(k, v []byte) error { n++; return nil }); err != nil {
		return err
	}
	if c := countUsers(t); c != n {
		return fmt.Errorf("the user count says %d, the records are %d", c, n)
	}
	return nil
}

// TestReaderViewAcrossApply delays a reader between loading the overlay's
// state and beginning its bbolt transaction (the scheduler may do so at any
// time) while a write commits and the applier applies the table it went
// into: the reader must see one batch's state, not the file of after the
// write under the overlay of before it (the count of one user next to two
// user records).
func TestReaderViewAcrossApply(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, storagetest.NewUser(1), nil); err != nil {
		t.Fatal(err)
	}
	st := s.ov.Load() // readView's first step
	if _, err := s.CreateUser(ctx, storagetest.NewUser(2), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.catchUp(ctx); err != nil { // the applier wrote both into the file
		t.Fatal(err)
	}
	if err := s.viewAt(st, consistentView); err != nil { // readView's second step
		t.Fatal(err)
	}
}

// TestReaderViewAcrossTwoApplies delays a reader between loading the
// overlay's state and beginning its bbolt transaction while the table of
// that state is frozen and applied, and the next one too: the file then
// holds writes newer than any of the state's tables, which must not lay
// their older values over them (the count of two users over three user
// records).
func TestReaderViewAcrossTwoApplies(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, storagetest.NewUser(1), nil); err != nil {
		t.Fatal(err)
	}
	st := s.ov.Load() // readView's first step: the active table holds user 1
	if _, err := s.CreateUser(ctx, storagetest.NewUser(2), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.catchUp(ctx); err != nil { // that table (users 1, 2) into the file
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, storagetest.NewUser(3), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.catchUp(ctx); err != nil { // the next one (user 3) too
		t.Fatal(err)
	}
	if err := s.viewAt(st, consistentView); err != nil { // readView's second step
		t.Fatal(err)
	}
	if err := s.userView(func(r *users) error { return consistentView(&r.txBuckets) }); err != nil {
		t.Fatal(err)
	}
}

// TestPanicRetryWhileApplying has a batch fail half-way (a panic) after
// writes that make the overlay freeze and stall: the writer runs each write
// again on its own, and must not do so inside the failed batch's read
// transaction, for which the applier's commit that grows the file waits
// (bbolt remaps it only once no read transaction is open) while the writer
// waits for the applier.
func TestPanicRetryWhileApplying(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{OverlayBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	deadlocked := false
	t.Cleanup(func() {
		if !deadlocked { // (Close would wait for the writer for ever)
			s.Close()
		}
	})
	big := func(key string, size int) func(b *batch) error {
		return func(b *batch) error {
			b.staged++
			return b.u.bucket(fbMeta).Put([]byte(key), bytes.Repeat([]byte{'x'}, size))
		}
	}
	reqs := queueOneBatch(t, s,
		big("test-big1", 2<<20), // its commit freezes the table: the applier grows the file
		big("test-big2", 5<<20), // its commit reaches the stall size: the writer waits for the applier
		func(b *batch) error {
			b.staged++
			b.u.bucket(fbMeta).Put([]byte("test-half"), []byte("x"))
			panic("half-way")
		},
	)
	done := make(chan []error)
	go func() {
		var errs []error
		for _, r := range reqs {
			errs = append(errs, s.wait(r))
		}
		done <- errs
	}()
	select {
	case errs := <-done:
		if errs[0] != nil || errs[1] != nil || errs[2] == nil {
			t.Fatalf("the writes answered %v; want nil, nil and the panic", errs)
		}
	case <-time.After(20 * time.Second): // a hang guard, not a timing target
		deadlocked = true
		t.Fatal("the writer deadlocked with the applier")
	}
	err = s.readView(func(tx *txBuckets) error {
		m := tx.bucket(fbMeta)
		if len(m.Get([]byte("test-big1"))) != 2<<20 || len(m.Get([]byte("test-big2"))) != 5<<20 {
			return errors.New("a write of the batch is missing")
		}
		if m.Get([]byte("test-half")) != nil {
			return errors.New("the failed write's staged put is visible")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// logKeys returns, for every key the log of the store in dir holds a write
// of (bucket byte, then the key), how many records write it. It reads a
// copy of the log: the store may be open.
func logKeys(t *testing.T, dir string) map[string]int {
	t.Helper()
	cp := filepath.Join(t.TempDir(), LogDirName)
	testfs.CopyDir(t, filepath.Join(dir, LogDirName), cp)
	l, err := wal.Open(cp, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	keys := map[string]int{}
	err = l.Replay(0, func(seq uint64, rec []byte) error {
		for len(rec) > 0 {
			if len(rec) < 2 {
				return errBadRecord
			}
			id, op := rec[0], rec[1]
			key, rest, ok := lenPrefixed(rec[2:])
			if !ok {
				return errBadRecord
			}
			rec = rest
			keys[string(append([]byte{id}, key...))]++
			if op == opPut {
				if _, rest, ok = lenPrefixed(rec); !ok {
					return errBadRecord
				}
				rec = rest
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestHalfFailedBatchNotLogged has one write of a batch fail after staging
// a put (a panic): the writer aborts the batch's staging and runs each
// write again on its own. The failed write's put must be visible nowhere —
// not to readers, not in the log (which a crash would replay), not in the
// file after Close — and each other write must be logged once.
func TestHalfFailedBatchNotLogged(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	put := func(key string, fail bool) func(b *batch) error {
		return func(b *batch) error {
			b.staged++
			if err := b.u.bucket(fbMeta).Put([]byte(key), []byte("v")); err != nil {
				return err
			}
			if fail {
				panic("half-way")
			}
			return nil
		}
	}
	reqs := queueOneBatch(t, s, put("test-a", false), put("test-half", true), put("test-c", false))
	for i, r := range reqs {
		if err := s.wait(r); (err != nil) != (i == 1) {
			t.Fatalf("write %d answered %v", i, err)
		}
	}
	visible := func() (a, half, c bool) {
		got := metaKeys(t, s, "test-a", "test-half", "test-c")
		return got[0], got[1], got[2]
	}
	if a, half, c := visible(); !a || half || !c {
		t.Fatalf("visible: a %v, the failed write %v, c %v", a, half, c)
	}
	keys := logKeys(t, dir)
	meta := func(k string) string { return string(append([]byte{byte(fbMeta)}, k...)) }
	if keys[meta("test-a")] != 1 || keys[meta("test-half")] != 0 || keys[meta("test-c")] != 1 {
		t.Fatalf("records writing a: %d, the failed write: %d, c: %d", keys[meta("test-a")], keys[meta("test-half")], keys[meta("test-c")])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	if a, half, c := visible(); !a || half || !c {
		t.Fatalf("after reopen: a %v, the failed write %v, c %v", a, half, c)
	}
}

// metaKeys reports which of keys a reader sees in the meta bucket.
func metaKeys(t *testing.T, s *Store, keys ...string) []bool {
	t.Helper()
	out := make([]bool, len(keys))
	if err := s.readView(func(tb *txBuckets) error {
		for i, k := range keys {
			out[i] = tb.bucket(fbMeta).Get([]byte(k)) != nil
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// queueOneBatch has the writer take execs as one batch: it holds the writer
// with a write of its own while it queues them, then lets it go, and returns
// their requests (to wait for).
func queueOneBatch(t *testing.T, s *Store, execs ...func(b *batch) error) []*request {
	t.Helper()
	hold, held := make(chan struct{}), make(chan struct{})
	r0, err := s.enqueue(func(b *batch) error { close(held); <-hold; return nil })
	if err != nil {
		t.Fatal(err)
	}
	<-held
	var reqs []*request
	for _, exec := range execs {
		r, err := s.enqueue(exec)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	close(hold)
	if err := s.wait(r0); err != nil {
		t.Fatal(err)
	}
	return reqs
}

// TestDerivedBatchNotSynced: the idle writer's seals of audit events are
// derived writes (housekeep), logged but not synced. The events are written
// by one client batch; the idle writer then seals them (seal age 0). An
// image of the data directory taken after the seals, as a crash would
// leave it, lacks every seal and lists every event; once a client's write
// has committed after them, the image holds every seal. An image is judged
// only when no apply wrote the file between the events and the copy (the
// idle writer freezes its table after overlayIdle): else the round is
// tried again.
func TestDerivedBatchNotSynced(t *testing.T) {
	ctx := t.Context()
	event := func(i int) *schemas.Event {
		return &schemas.Event{ID: fmt.Sprintf("ev-%03d", i), Time: time.Now().UTC(), Action: "userLogin", TargetID: "u1", ActorID: "app1"}
	}
	// image copies dir and reports the sealed blocks and the events listed
	// of the copy, opened as after a crash.
	image := func(dir string) (blocks, total int) {
		to := t.TempDir()
		testfs.CopyDir(t, dir, to)
		testfs.CopyDir(t, filepath.Join(dir, LogDirName), filepath.Join(to, LogDirName))
		s, err := Open(to)
		if err != nil {
			t.Fatalf("open the image: %v", err)
		}
		defer s.Close()
		blocks, _ = blockStats(t, s)
		p, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
		if err != nil {
			t.Fatal(err)
		}
		return blocks, p.Total
	}
	for round := 0; ; round++ {
		if round == 5 {
			t.Fatal("an apply came between the seals and the copy in every round")
		}
		dir := t.TempDir()
		s, err := OpenWithOptions(dir, Options{seal: sealOptions{blockBytes: 300}}) // blocks of about five events, sealed at once
		if err != nil {
			t.Fatal(err)
		}
		applied := s.ov.Load().applied
		const n = 40
		staged := make([]*stagedEvent, n)
		for i := range n {
			if staged[i], err = newStagedEvent(event(i)); err != nil {
				t.Fatal(err)
			}
		}
		err = s.submit(func(b *batch) error { // one client batch: every seal comes after it
			for _, ev := range staged {
				if err := b.putEvent(ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var live int
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			blocks, tail := blockStats(t, s)
			if live = blocks; blocks > 0 && tail*60 < 300 { // sealed down to less than a block
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the idle writer did not seal the events")
			}
		}
		blocks, total := image(dir)
		if s.ov.Load().applied != applied {
			s.Close()
			continue // the file caught up meanwhile: it holds the seals durably
		}
		if blocks != 0 || total != n {
			t.Errorf("image after the idle seals: %d of %d blocks, %d events listed; want no seal (not synced) and all %d events",
				blocks, live, total, n)
		}
		if err := s.AppendEvent(ctx, event(n)); err != nil {
			t.Fatal(err)
		}
		if blocks, total = image(dir); blocks != live || total != n+1 {
			t.Errorf("image after a client's write: %d of %d blocks, %d events listed; want every seal synced with it and all %d events",
				blocks, live, total, n+1)
		}
		s.Close()
		return
	}
}
