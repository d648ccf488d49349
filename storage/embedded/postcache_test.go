package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
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

// qzxUsers returns searchUsers(n), every userName ending in ".qzx": a key
// every block holds, whose values the cache keeps.
func qzxUsers(n int) []*schemas.User {
	all := searchUsers(n)
	for _, u := range all {
		u.UserName += ".qzx"
	}
	return all
}

// TestPostCacheFlush: a search after a flush rewrote a block does not take
// the block's values cached before it. `userName co "qzx"` (three bytes: the
// postings alone answer it, exactly) is cached while every user holds it,
// then a user of the first block loses it: a cache that missed the flush
// would still count that user.
func TestPostCacheFlush(t *testing.T) {
	s, _ := flushingAt(t, 1) // every batch flushes
	defer s.Close()
	all := qzxUsers(5000) // two blocks
	createAll(t, s, all)
	const qzx = `userName co "qzx"`
	searchAgainstScan(t, s, qzx)
	before, last := cachedSlot(s, "qzx", 0), cachedSlot(s, "qzx", 1)
	if before == nil || len(before.v) != blockRows*entrySize || last == nil {
		t.Fatalf("blocks 0 and 1 of qzx after the first search: %+v, %+v; want cached, block 0 full", before, last)
	}
	rename(t, s, all[10].ID, "plain")
	searchAgainstScan(t, s, qzx)
	after := cachedSlot(s, "qzx", 0)
	if after == nil || after.flush <= before.flush || len(after.v) != len(before.v)-entrySize {
		t.Errorf("block 0 of qzx after the rename: %+v, want read again under the flush, an entry less", after)
	}
	if other := cachedSlot(s, "qzx", 1); other != last {
		t.Errorf("block 1 of qzx, which no flush rewrote: %+v, want the value cached before", other)
	}
}

// zqjStore returns a store that flushes its postings at every batch
// (flushingAt), holding qzxUsers(n) of which user i alone also holds
// "zqj", and those users.
func zqjStore(t *testing.T, n, i int) (*Store, []*schemas.User) {
	t.Helper()
	s, _ := flushingAt(t, 1)
	t.Cleanup(func() { s.Close() })
	all := qzxUsers(n)
	all[i].UserName = "a.zqj.qzx"
	createAll(t, s, all)
	return s, all
}

// TestPostCacheAdmission: the values of a key most blocks lack are not
// kept (block maps serve it); those of a key every block holds are.
func TestPostCacheAdmission(t *testing.T) {
	s, _ := zqjStore(t, 5000, 7)
	searchAgainstScan(t, s, `userName co "zqj"`)
	searchAgainstScan(t, s, `userName co "qzx"`)
	if v := cachedSlot(s, "zqj", 0); v != nil {
		t.Errorf("zqj, held by one user: %+v cached", v)
	}
	if v := cachedSlot(s, "qzx", 1); v == nil {
		t.Error("qzx, held by every user: not cached")
	}
}

// TestSearchOldReader: a transaction that began before a block's last
// flush neither takes nor fills the posting cache for that block, nor uses
// a block map learnt on a newer transaction. A user who holds "qzx" (as
// every user does) and "zqj" (alone) is renamed away while an old
// transaction is open, and a newer one caches the block without the user
// and learns that no block holds "zqj": the old transaction must still
// find the user.
func TestSearchOldReader(t *testing.T) {
	s, all := zqjStore(t, 3000, 20)
	filters := []string{`userName co "qzx"`, `userName co "zqj"`}
	for _, f := range filters {
		searchAgainstScan(t, s, f)
	}
	err := s.userView(func(old *users) error {
		done := make(chan struct{})
		go func() {
			defer close(done)
			rename(t, s, all[20].ID, "plain")
			for _, f := range filters {
				searchAgainstScan(t, s, f)
			}
		}()
		<-done
		if v := cachedSlot(s, "qzx", 0); v == nil || len(v.v) != (len(all)-1)*entrySize {
			t.Errorf("block 0 of qzx after the rename: %+v, want cached without the user", v)
		}
		if s.maps.of(keyOf("zqj"), s.committed.Load()) == nil {
			t.Error("no map of zqj learnt after the rename")
		}
		for _, f := range filters {
			if diff, exact := planAgainstScan(s, old, mustParse(t, f)); diff != "" || !exact {
				t.Errorf("%s in the transaction older than the flush: exact %v, %s", f, exact, diff)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := cachedSlot(s, "qzx", 0); v == nil || len(v.v) != (len(all)-1)*entrySize {
		t.Errorf("block 0 of qzx after the old transaction's search: %+v, want the newer value kept", v)
	}
}

// TestPostCacheBudget: the cache never holds more than its budget, its
// count of bytes is the sum of what it holds, and searches answer as the
// evaluator does while it forgets keys.
func TestPostCacheBudget(t *testing.T) {
	withoutVocabulary(t)
	const budget = 4 << 10
	s, err := OpenWithOptions(t.TempDir(), Options{SearchCacheBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	others := CachedBytes()            // stores other tests left open
	createAll(t, s, searchUsers(9000)) // three blocks
	most := 0
	for i := range 60 {
		// Three-byte values the postings answer alone, most of them in
		// every block.
		searchAgainstScan(t, s, fmt.Sprintf(`userName co "%03d" or userName co "er%d"`, i*7, i%10))
		s.posts.mu.RLock()
		var sum int64
		for _, ck := range s.posts.keys {
			sum += ck.size()
		}
		held, n := s.posts.bytes, len(s.posts.keys)
		s.posts.mu.RUnlock()
		if held != sum || held > budget {
			t.Fatalf("after search %d: %d bytes counted, %d held, budget %d", i, held, sum, budget)
		}
		most = max(most, n)
	}
	if most < 2 {
		t.Errorf("at most %d keys cached at once: the budget is not exercised", most)
	}
	// The process's count follows (the package's tests do not run in
	// parallel), and a closed store holds nothing.
	s.posts.mu.RLock()
	held := s.posts.bytes
	s.posts.mu.RUnlock()
	if got := CachedBytes() - others; got != uint64(held) || held == 0 {
		t.Errorf("CachedBytes %d beyond other stores' with this one holding %d", got, held)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := CachedBytes(); got != others {
		t.Errorf("CachedBytes %d after the store closed, %d before it cached anything", got, others)
	}
}

// TestFlushTable: a block's last flush only grows, survives the table's
// growth, and a transaction uses the cache for a block only when it sees
// that flush.
func TestFlushTable(t *testing.T) {
	c := newPostCache(0)
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

// TestPostCacheKeepsUsedKeys: over the budget, the keys no search used
// since the last sweep go first: a key just used survives two keys
// installed after it, whatever the map's order.
func TestPostCacheKeepsUsedKeys(t *testing.T) {
	value := make([]byte, 1000)
	fill := func(k postKey) []postFill {
		return []postFill{{k: k, block: 0, v: value}, {k: k, block: 1, v: value}}
	}
	for trial := range 50 {
		c := newPostCache(0)
		c.install(fill(1))
		c.budget = 2*c.bytes + c.bytes/2 // room for two keys, not three
		c.install(fill(2))
		v := c.view(0)
		if _, ok := v.get(1, 0, 0); !ok {
			t.Fatal("key 1 not cached")
		}
		c.install(fill(3))
		if _, ok := v.get(1, 1, 0); !ok {
			t.Fatalf("trial %d: the key just used was forgotten", trial)
		}
		if c.bytes > c.budget || len(c.keys) != 2 {
			t.Fatalf("trial %d: %d keys, %d bytes, budget %d", trial, len(c.keys), c.bytes, c.budget)
		}
	}
}

// TestPostCacheOff: with a negative Options.SearchCacheBytes nothing is
// cached, and searches answer as the evaluator does.
func TestPostCacheOff(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{SearchCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	createAll(t, s, qzxUsers(300))
	searchAgainstScan(t, s, `userName co "qzx"`)
	if s.posts != nil {
		t.Errorf("a cache of %d bytes with SearchCacheBytes -1", s.posts.bytes)
	}
}

// TestPostCacheConcurrent: searches answer as the evaluator does on the
// same transaction while writers keep rewriting the blocks whose values the
// cache holds. Three writers rename users of both blocks of the file into
// and out of "qzx" and "zqv" (keys every block holds, so cached), a fourth
// creates users (in the last block) and deletes them again. flushPending is
// small, so that most batches flush, and the overlay too, so that the
// applier writes frozen tables into the file meanwhile. The writers pause
// while every other four searches run (counted as they end), so that the
// values searches keep are still current for the next ones, which take
// them. Each reader plans its filter as its transaction begins (it takes
// and fills the cache like any search), then scans every user and plans
// again (by then its transaction is older than the last flushes): both
// plans must be the evaluator's answer. A search that took or kept a value
// of a block across a flush it does not see, or a value the cache kept
// across a flush it missed, counts users the evaluator does not match, or
// misses some.
func TestPostCacheConcurrent(t *testing.T) {
	old := flushPending
	t.Cleanup(func() { flushPending = old })
	flushPending = 3
	// A small overlay: the applier writes frozen tables into the file
	// while the searches run.
	s, err := OpenWithOptions(t.TempDir(), Options{OverlayBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := qzxUsers(5000) // rows 0 to 4999 (about in this order): blocks 0 and 1
	for i, u := range all {
		if i%40 == 0 {
			u.UserName += ".zqv"
		}
	}
	createAll(t, s, all)
	created := s.committed.Load()
	filters := []string{
		`userName co "qzx"`,
		`userName co "zqv"`,
		`userName co "qzx" and userName co "zqv"`,
		`userName co "qzx" or userName co "zqv"`,
		`userName co "zqv.qzx"`,
		`userName co "qzx" and not (userName co "zqv")`,
	}
	parsed := make([]schemas.Filter, len(filters))
	for i, expr := range filters {
		parsed[i] = mustParse(t, expr)
	}
	ctx := context.Background()
	start := time.Now()
	const run = 2 * time.Second
	stopped := func() bool { return time.Since(start) > run }
	var wg sync.WaitGroup
	var writes, searches, failures atomic.Int64
	quiet := func() bool { return searches.Load()/4%2 == 1 }
	// write runs the writes of one writer until the end, pausing in the
	// quiet phases; a write returns false to stop.
	write := func(do func(n int) bool) {
		for n := 0; !stopped(); n++ {
			if quiet() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if !do(n) {
				return
			}
			writes.Add(1)
		}
	}
	// The renamers: each takes the users of one stretch of rows (in block
	// 0, across its end, in block 1), one at a time.
	names := []string{".qzx", ".zqv.qzx", ".plain", ".zqv"}
	for w, from := range []int{0, 3500, 4100} {
		rnd := rand.New(rand.NewPCG(uint64(w), 1))
		wg.Go(func() {
			write(func(n int) bool {
				i := from + rnd.IntN(800)
				name := fmt.Sprintf("r%d.%d%s", i, n, names[rnd.IntN(len(names))])
				_, err := s.UpdateUser(ctx, all[i].ID, 0, func(u *schemas.User) error { u.UserName = name; return nil }, nil)
				if err != nil {
					t.Errorf("rename %s: %v", all[i].ID, err)
				}
				return err == nil
			})
		})
	}
	wg.Go(func() { // the creates and deletes
		var live []string
		write(func(n int) bool {
			if len(live) > 20 && n%3 == 0 {
				if err := s.DeleteUser(ctx, live[0], nil); err != nil {
					t.Errorf("delete %s: %v", live[0], err)
					return false
				}
				live = live[1:]
				return true
			}
			u := storagetest.NewUser(100000 + n)
			u.UserName += names[n%len(names)]
			if _, err := s.CreateUser(ctx, u, nil); err != nil {
				t.Errorf("create %s: %v", u.ID, err)
				return false
			}
			live = append(live, u.ID)
			return true
		})
	})
	for r := range 3 {
		wg.Go(func() {
			for n := r; !stopped(); n++ {
				expr, f := filters[n%len(filters)], parsed[n%len(filters)]
				err := s.userView(func(tx *users) error {
					early, _ := plannedIDs(s, tx, f)
					diff, _ := planAgainstScan(s, tx, f)
					if late, _ := plannedIDs(s, tx, f); diff == "" && !slices.Equal(early, late) {
						diff = fmt.Sprintf("planned first %v, after the scan %v", early, late)
					}
					if diff != "" && failures.Add(1) <= 3 {
						t.Errorf("%s: %s", expr, diff)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				searches.Add(1)
			}
		})
	}
	wg.Wait()
	var blocks uint32
	if err := s.userView(func(r *users) error { blocks = r.search.blocks(); return nil }); err != nil {
		t.Fatal(err)
	}
	applies := s.ov.Load().applied > created // (an apply of the run's writes)
	t.Logf("%d writes, %d searches, %d differing; %d blocks", writes.Load(), searches.Load(), failures.Load(), blocks)
	if !applies {
		t.Error("no apply of the writes while the searches ran: the test does not exercise it")
	}
	s.posts.mu.RLock()
	ck := s.posts.keys[keyOf("qzx")]
	s.posts.mu.RUnlock()
	if ck == nil || !ck.used.Load() {
		t.Error("no search took a value of qzx from the cache: the test does not exercise it")
	}
}

// TestPostCacheGrownKeyKeepsUse: a key whose slots grow with the file
// keeps the mark of its use, so the sweep still gives it its second chance.
func TestPostCacheGrownKeyKeepsUse(t *testing.T) {
	c := newPostCache(0)
	value := make([]byte, 100)
	c.install([]postFill{{k: 1, block: 0, v: value}})
	if _, ok := c.view(0).get(1, 0, 0); !ok {
		t.Fatal("key 1 not cached")
	}
	before := len(c.keys[1].slots)
	c.install([]postFill{{k: 1, block: uint32(before) + 10, v: value}})
	if ck := c.keys[1]; len(ck.slots) <= before || !ck.used.Load() {
		t.Errorf("after growing from %d to %d slots: used %v, want true", before, len(ck.slots), ck.used.Load())
	}
}

// TestPostCacheNarrowsCandidates: a block left with two candidates or fewer
// stops reading the file (checking them costs what one more descent does),
// but goes on through the values the posting cache holds. In `userName co
// "kqvwjx"` the rare keys vwj and wjx are held by user 7, who matches, and
// by two users in each block who lack qvw; every other user holds kqv and
// qvw. The first search (cache empty) leaves the second block's two users
// to check; the second, its values cached, reads qvw there from memory and
// leaves the match alone.
func TestPostCacheNarrowsCandidates(t *testing.T) {
	withoutVocabulary(t)
	s, _ := flushingAt(t, 1)
	defer s.Close()
	all := searchUsers(5000) // two blocks
	for i, u := range all {
		switch i {
		case 7:
			u.UserName = fmt.Sprintf("u%d.kqvwjx", i)
		case 100, 200, 4500, 4600: // 4,096 rows a block
			u.UserName = fmt.Sprintf("u%d.kqv.vwjx", i)
		default:
			u.UserName = fmt.Sprintf("u%d.kqvw", i)
		}
	}
	createAll(t, s, all)
	f := mustParse(t, `userName co "kqvwjx"`)
	// candidates returns a search's candidates and the values the cache
	// gave it, failing unless they hold every match.
	candidates := func() (rows []string, hits int) {
		err := s.userView(func(r *users) error {
			var planned bool
			if rows, planned = plannedIDs(s, r, f); !planned {
				t.Fatal("not planned")
			}
			hits = r.search.cacheHits
			if diff, _ := planAgainstScan(s, r, f); diff != "" {
				t.Error(diff)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows, hits
	}
	cold, coldHits := candidates()
	if coldHits != 0 || !slices.Contains(cold, all[7].ID) || len(cold) < 3 {
		t.Fatalf("first search: candidates %v, %d cache hits; want user 7 and the second block's two, none cached", cold, coldHits)
	}
	warm, warmHits := candidates()
	if warmHits == 0 || !slices.Equal(warm, []string{all[7].ID}) {
		t.Errorf("second search: candidates %v (first: %v), %d cache hits; want user 7 (%s) alone, from the cache", warm, cold, warmHits, all[7].ID)
	}
}

// TestIntersectMasked: both ways of intersecting (stepping through the
// value, and bisecting it for a few offsets) give what a plain filter does.
func TestIntersectMasked(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ways [2]int // stepped, bisected
	for range 2000 {
		// A value: sorted distinct offsets, each with a mask; offsets to
		// look for, sorted and distinct, about half of them in the value.
		held := rng.Perm(blockRows)[:1+rng.IntN(blockRows)]
		slices.Sort(held)
		var v []byte
		for _, o := range held {
			v = append(v, byte(o>>8), byte(o), byte(1+rng.IntN(7)))
		}
		var offs []uint16
		for range 1 + rng.IntN(300) {
			o := rng.IntN(blockRows)
			if rng.IntN(2) == 0 {
				o = held[rng.IntN(len(held))]
			}
			offs = append(offs, uint16(o))
		}
		slices.Sort(offs)
		offs = slices.Compact(offs)
		mask := uint8(1 + rng.IntN(7))
		if len(offs)*gallopRatio < len(v)/entrySize {
			ways[1]++
		} else {
			ways[0]++
		}
		var want []uint16
		for _, o := range offs {
			for j := 0; j+entrySize <= len(v); j += entrySize {
				if uint16(v[j])<<8|uint16(v[j+1]) == o && v[j+2]&mask != 0 {
					want = append(want, o)
				}
			}
		}
		if got := intersectMasked(nil, offs, v, mask); !slices.Equal(got, want) {
			t.Fatalf("%d offsets against %d entries, mask %b: %v, want %v", len(offs), len(v)/entrySize, mask, got, want)
		}
	}
	if ways[0] < 100 || ways[1] < 100 {
		t.Errorf("cases stepped %d, bisected %d: want both ways tried", ways[0], ways[1])
	}
}
