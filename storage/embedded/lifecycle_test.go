package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// createLoad runs n goroutines creating users (ids prefix-<g>-<i>) until
// stop is closed or a create fails; acked gets every acknowledged id and
// failed every id whose create returned an error (with it), and each
// acknowledgement adds one to count.
type createLoad struct {
	mu     sync.Mutex
	acked  map[string]bool
	failed map[string]error
	count  atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup
}

func startCreates(s *Store, prefix string, n, size int) *createLoad {
	l := &createLoad{acked: map[string]bool{}, failed: map[string]error{}, stop: make(chan struct{})}
	pad := strings.Repeat("x", size)
	for g := range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d-%05d", prefix, g, i)
				_, err := s.CreateUser(context.Background(), &schemas.User{ID: id, UserName: "n-" + id, Title: pad},
					&schemas.Event{ID: "e-" + id, Time: time.Now().UTC(), Action: "create", TargetID: id})
				l.mu.Lock()
				if err != nil {
					l.failed[id] = err
				} else {
					l.acked[id] = true
				}
				l.mu.Unlock()
				if err != nil {
					return
				}
				l.count.Add(1)
			}
		}()
	}
	return l
}

// waitCount waits until at least n creates are acknowledged, or one fails.
func (l *createLoad) waitCount(n int64) error {
	for l.count.Load() < n {
		l.mu.Lock()
		for id, err := range l.failed {
			l.mu.Unlock()
			return fmt.Errorf("create %s: %w", id, err)
		}
		l.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
	return nil
}

func (l *createLoad) snapshot() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]bool, len(l.acked))
	for id := range l.acked {
		m[id] = true
	}
	return m
}

// TestCloseUnderWrites closes the store while writers create users and the
// applier applies every few writes: every create acknowledged is stored
// with its event, every create answered with an error is not (ErrClosed:
// never taken by the writer), and Close leaves the log empty (everything
// applied to the file).
func TestCloseUnderWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWithOptions(dir, Options{OverlayBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	l := startCreates(s, "c", 8, 0)
	if err := l.waitCount(200); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	l.wg.Wait() // every writer stops at its first failure: ErrClosed
	for id, err := range l.failed {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("create %s during Close: %v", id, err)
		}
	}
	if keys := logKeys(t, dir); len(keys) != 0 {
		t.Fatalf("the log holds writes of %d keys after Close", len(keys))
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	for id := range l.acked {
		if _, err := s.GetUser(ctx, id); err != nil {
			t.Fatalf("acknowledged user %s after Close: %v", id, err)
		}
		if ev, err := s.ListEvents(ctx, storage.EventQuery{TargetID: id, Limit: storage.Unlimited}); err != nil || len(ev.Items) != 1 {
			t.Fatalf("the event of acknowledged user %s after Close: %v, %v", id, ev.Items, err)
		}
	}
	for id := range l.failed {
		if _, err := s.GetUser(ctx, id); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("user %s, whose create failed with ErrClosed, reads %v", id, err)
		}
	}
	if err := consistent(ctx, s); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d creates acknowledged, %d refused by Close", len(l.acked), len(l.failed))
}

// TestBackupUnderWrites takes a backup while writers create users and the
// applier applies every few writes: the copy, opened as a store of its own,
// holds every user acknowledged before Backup was called, and is
// consistent.
func TestBackupUnderWrites(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{OverlayBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := startCreates(s, "b", 4, 0)
	defer func() { close(l.stop); l.wg.Wait() }()
	if err := l.waitCount(100); err != nil {
		t.Fatal(err)
	}
	want := l.snapshot()
	var buf bytes.Buffer
	if _, err := s.Backup(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	if err := l.waitCount(int64(len(want)) + 50); err != nil { // the writes go on meanwhile
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	for id := range want {
		if _, err := b.GetUser(ctx, id); err != nil {
			t.Fatalf("user %s, acknowledged before Backup, in the copy: %v", id, err)
		}
	}
	if err := consistent(ctx, b); err != nil {
		t.Fatal(err)
	}
}

// TestLongReaderDuringStall holds a reader's transaction (a long scan)
// while writers push the overlay past its stall size again and again: the
// applier's commits must not wait for the reader (the writers would stall
// behind it, or deadlock if the reader waited for them), the reader keeps
// the state it began with, and a reader after it sees every write.
func TestLongReaderDuringStall(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{OverlayBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	pre := startCreates(s, "pre", 2, 0)
	if err := pre.waitCount(20); err != nil {
		t.Fatal(err)
	}
	close(pre.stop)
	pre.wg.Wait()

	hold, held, released := make(chan struct{}), make(chan int), make(chan error, 1)
	go func() {
		released <- s.userView(func(r *users) error {
			n := 0
			if err := r.recs().ForEach(func(k, v []byte) error { n++; return nil }); err != nil {
				return err
			}
			held <- n
			<-hold // the scan goes on for as long as the writes below take
			m := 0
			if err := r.recs().ForEach(func(k, v []byte) error { m++; return nil }); err != nil {
				return err
			}
			if m != n || countUsers(&r.txBuckets) != n {
				return fmt.Errorf("the held reader saw %d users, then %d (count %d)", n, m, countUsers(&r.txBuckets))
			}
			return nil
		})
	}()
	n := <-held
	// 8 KiB users: 2 MiB is eight times the stall size.
	l := startCreates(s, "w", 4, 8<<10)
	done := make(chan error, 1)
	go func() { done <- l.waitCount(256) }()
	select {
	case err := <-done:
		if err != nil {
			close(hold)
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing target
		close(hold)
		t.Fatal("the writes stalled behind a reader's transaction")
	}
	close(l.stop)
	l.wg.Wait()
	close(hold)
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	for id, err := range l.failed {
		t.Fatalf("create %s: %v", id, err)
	}
	page, err := s.ListUsers(ctx, storage.Query{Limit: 0})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != n+len(l.acked) {
		t.Fatalf("%d users after the writes, want %d", page.Total, n+len(l.acked))
	}
	if err := consistent(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// TestWaitAppliedFailing: the writer, stalled behind a frozen table, stops
// waiting once its apply fails (the writes then fail, see stalled), rather
// than wait for as long as the applier's retries fail (a disk that stays
// full). The apply's failure is set by hand here: making the one apply the
// writer waits for fail needs a commit that first remaps the file and then
// passes MaxSize.
func TestWaitAppliedFailing(t *testing.T) {
	s := openTemp(t)
	if _, err := s.CreateUser(t.Context(), storagetest.NewUser(1), nil); err != nil {
		t.Fatal(err)
	}
	// Freeze the active table without asking the applier: it stays frozen.
	s.ovMu.Lock()
	st := s.ov.Load()
	s.ov.Store(&ovState{active: s.newTable(), frozen: st.active, applied: st.applied})
	s.ovMu.Unlock()
	s.applyErr.Store(&writeFailure{err: storage.Unavailable(errors.New("disk full")), at: time.Now()})
	done := make(chan struct{})
	go func() { s.waitApplied(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a hang guard, not a timing target
		t.Error("waitApplied waits for an apply that failed")
	}
	s.applyErr.Store(nil)
	s.applyReq <- struct{}{} // the apply, so that Close finds the store as it should
	<-done
}
