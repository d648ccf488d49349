package embedded

import (
	"context"
	"fmt"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// cachedSlot returns the cached value of key in block, nil when there is none.
func cachedSlot(s *Store, key string, block uint32) *cachedValue {
	s.posts.mu.RLock()
	defer s.posts.mu.RUnlock()
	ck := s.posts.keys[keyOf(key)]
	if ck == nil || int(block) >= len(ck.slots) {
		return nil
	}
	return ck.slots[block].Load()
}

// searchAgainstScan runs the filter expr through the planner and through
// the evaluator in one transaction; it fails unless the planner's answer,
// exact, is the evaluator's.
func searchAgainstScan(t *testing.T, s *Store, expr string) {
	t.Helper()
	f := mustParse(t, expr)
	err := s.userView(func(r *users) error {
		if diff, exact := planAgainstScan(s, r, f); diff != "" || !exact {
			t.Errorf("%s: exact %v, %s", expr, exact, diff)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rename sets the userName of user id.
func rename(t *testing.T, s *Store, id, userName string) {
	t.Helper()
	if _, err := s.UpdateUser(context.Background(), id, 0, func(u *schemas.User) error { u.UserName = userName; return nil }, nil); err != nil {
		t.Fatal(err)
	}
}

// TestPostCacheFlush: a search after a flush rewrote a block does not take
// the block's values cached before it. `userName co "qzx"` (three bytes: the
// postings alone answer it) is cached with no user holding it, then a user
// of the first block is given it: a cache that missed the flush would still
// say nobody does.
func TestPostCacheFlush(t *testing.T) {
	s, _ := flushingAt(t, 1) // every batch flushes
	defer s.Close()
	users := searchUsers(5000) // two blocks
	createAll(t, s, users)
	const qzx = `userName co "qzx"`
	searchAgainstScan(t, s, qzx)
	before, last := cachedSlot(s, "qzx", 0), cachedSlot(s, "qzx", 1)
	if before == nil || before.v != nil || last == nil {
		t.Fatalf("blocks 0 and 1 of qzx after the first search: %+v, %+v; want cached and absent", before, last)
	}
	rename(t, s, users[10].ID, "aqzxb")
	searchAgainstScan(t, s, qzx)
	after := cachedSlot(s, "qzx", 0)
	if after == nil || after.flush <= before.flush || len(after.v) != entrySize {
		t.Errorf("block 0 of qzx after the rename: %+v, want read again under the flush, one entry", after)
	}
	if other := cachedSlot(s, "qzx", 1); other != last {
		t.Errorf("block 1 of qzx, which no flush rewrote: %+v, want the value cached before", other)
	}
}

// TestSearchOldReader: a transaction that began before a block's last
// flush neither takes nor fills the posting cache for that block, nor uses
// a block map learnt on a newer transaction. A user who holds "qzx" is
// renamed away while an old transaction is open, and a newer one caches
// the block without it and learns that no block holds "qzx": the old
// transaction must still find the user.
func TestSearchOldReader(t *testing.T) {
	s, _ := flushingAt(t, 1)
	defer s.Close()
	all := searchUsers(3000)
	all[20].UserName = "aqzxb"
	createAll(t, s, all)
	const qzx = `userName co "qzx"`
	searchAgainstScan(t, s, qzx)
	err := s.userView(func(old *users) error {
		done := make(chan struct{})
		go func() {
			defer close(done)
			rename(t, s, all[20].ID, "plain")
			searchAgainstScan(t, s, qzx) // caches block 0 without the user
		}()
		<-done
		if v := cachedSlot(s, "qzx", 0); v == nil || v.v != nil {
			t.Errorf("block 0 of qzx after the rename: %+v, want cached and absent", v)
		}
		if diff, exact := planAgainstScan(s, old, mustParse(t, qzx)); diff != "" || !exact {
			t.Errorf("the transaction older than the flush: exact %v, %s", exact, diff)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := cachedSlot(s, "qzx", 0); v == nil || v.v != nil {
		t.Errorf("block 0 of qzx after the old transaction's search: %+v, want the newer value kept", v)
	}
}

// TestPostCacheBudget: the cache never holds more than its budget, its
// count of bytes is the sum of what it holds, and searches answer as the
// evaluator does while it forgets keys.
func TestPostCacheBudget(t *testing.T) {
	withoutVocabulary(t)
	old := postCacheBudget
	t.Cleanup(func() { postCacheBudget = old })
	postCacheBudget = 4 << 10
	s := openTemp(t)
	defer s.Close()
	createAll(t, s, searchUsers(9000)) // three blocks
	most := 0
	for i := range 60 {
		// Three-byte values the postings answer alone, most of them held.
		searchAgainstScan(t, s, fmt.Sprintf(`userName co "%03d" or userName co "er%d"`, i*7, i%10))
		s.posts.mu.RLock()
		var sum int64
		for _, ck := range s.posts.keys {
			sum += ck.size()
		}
		held, n := s.posts.bytes, len(s.posts.keys)
		s.posts.mu.RUnlock()
		if held != sum || held > postCacheBudget {
			t.Fatalf("after search %d: %d bytes counted, %d held, budget %d", i, held, sum, postCacheBudget)
		}
		most = max(most, n)
	}
	if most < 2 {
		t.Errorf("at most %d keys cached at once: the budget is not exercised", most)
	}
}

// TestFlushTable: a block's last flush only grows, survives the table's
// growth, and a transaction uses the cache for a block only when it sees
// that flush.
func TestFlushTable(t *testing.T) {
	c := newPostCache()
	c.flushed([]uint32{3}, 5)
	c.flushed([]uint32{3}, 4) // an older number (never sent by the writer) lowers nothing
	c.flushed([]uint32{100, 3}, 6)
	v := c.view(5)
	for _, w := range []struct {
		block uint32
		flush uint64
		ok    bool
	}{{3, 6, false}, {100, 6, false}, {2, 0, true}, {10_000, 0, true}} {
		if flush, ok := v.lastFlush(w.block); flush != w.flush || ok != w.ok {
			t.Errorf("block %d: last flush %d, usable %v; want %d, %v", w.block, flush, ok, w.flush, w.ok)
		}
	}
	if flush, ok := c.view(6).lastFlush(3); flush != 6 || !ok {
		t.Errorf("block 3 seen from 6: %d, %v", flush, ok)
	}
	var none *postCache
	none.flushed([]uint32{1}, 1)
	if _, ok := none.view(9).lastFlush(1); ok {
		t.Error("no cache: usable")
	}
}
