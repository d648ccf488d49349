package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

// TestWriterKeepsTransaction checks that the writer keeps its read
// transaction of the file from batch to batch while no table is frozen
// (writerTx): a run of writes, nothing but the writer reading the file,
// begins one or two transactions, not one per write.
func TestWriterKeepsTransaction(t *testing.T) {
	s := openTemp(t)
	probe := func(i int) error {
		v := fmt.Appendf(nil, "probe %d", i)
		return s.submit(func(b *batch) error { b.staged++; return b.u.bucket(fbMeta).Put(keyProbe, v) })
	}
	if err := probe(0); err != nil {
		t.Fatal(err)
	}
	const n = 100
	before := s.db.Stats().TxN
	for i := range n {
		if err := probe(i + 1); err != nil {
			t.Fatal(err)
		}
	}
	// An idle freeze (a second without a write, on a loaded machine) ends
	// the transaction: a few may begin, never one per write.
	if began := s.db.Stats().TxN - before; began > 5 {
		t.Errorf("%d writes began %d read transactions of the file, want at most a few", n, began)
	}
	if err := s.submit(func(b *batch) error {
		if got := string(b.u.bucket(fbMeta).Get(keyProbe)); got != fmt.Sprintf("probe %d", n) {
			return fmt.Errorf("the writer reads the probe as %q, want %q", got, fmt.Sprintf("probe %d", n))
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// TestWriterTransactionAndApplies runs writes with a small overlay, so that
// the applier writes a frozen table into the file (growing it, and bbolt's
// memory map, many times: with MaxSize the map starts small) every few writes while the writer keeps its read
// transaction between them: no apply may wait for that transaction (a
// deadlock), the writer must see each applied table in the file once the
// table is dropped, and Close, which applies the rest, must not wait for
// it either.
func TestWriterTransactionAndApplies(t *testing.T) {
	dir := t.TempDir()
	// MaxSize keeps bbolt's map at its small first size (see
	// OpenWithOptions): the applies grow it, and each remap waits for every
	// read transaction to end.
	s, err := OpenWithOptions(dir, Options{OverlayBytes: 16 << 10, MaxSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close()
		}
	})
	ctx := context.Background()
	const n = 600
	ids := make([]string, 0, n)
	// deadlocked fails the test when fn has not returned after a minute:
	// a writer that holds its transaction across an apply hangs for ever.
	deadlocked := func(what string, fn func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- fn() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: no answer after a minute (an apply waits for the writer's transaction?)", what)
		}
	}
	var applied uint64
	applies := 0
	deadlocked("writes", func() error {
		for i := range n {
			u, err := s.CreateUser(ctx, storagetest.NewUser(i), nil)
			if err != nil {
				return err
			}
			ids = append(ids, u.ID)
			if st := s.ov.Load(); st.applied != applied {
				applied, applies = st.applied, applies+1
			}
			// Every user created so far, as the writer reads it: after an
			// apply, from the file.
			if i%50 == 49 {
				if err := s.submit(func(b *batch) error {
					for _, id := range ids {
						if !b.userExists(id) {
							return fmt.Errorf("after %d writes and %d applies the writer does not see user %s", i+1, applies, id)
						}
					}
					return nil
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if applies < 10 {
		t.Fatalf("%d writes saw %d applies of the overlay; the test needs many", n, applies)
	}
	deadlocked("catch up", func() error { return s.catchUp(ctx) })
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 1<<20 {
		t.Fatalf("the file holds %d bytes: bbolt's map (32 KiB, doubled as needed) grew too few times", fi.Size())
	}
	// The writer's view after the last apply: an update of every user.
	deadlocked("updates", func() error {
		for _, id := range ids {
			if _, err := s.UpdateUser(ctx, id, 0, func(u *schemas.User) error { u.Title = "after"; return nil }, nil); err != nil {
				return fmt.Errorf("update %s: %w", id, err)
			}
		}
		return nil
	})
	deadlocked("close", func() error { closed = true; return s.Close() })
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	closed = false
	for _, id := range ids {
		if u, err := s.GetUser(ctx, id); err != nil || u.Title != "after" {
			t.Fatalf("user %s after a restart: %v, %v; want its title %q", id, u, err, "after")
		}
	}
}
