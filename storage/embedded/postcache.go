package embedded

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
)

// postCache keeps copies of the posting values searches read (search.go),
// so that the next search reading a key in a block takes it from memory
// instead of descending the postings B-tree: ~1.2 µs a descent at a million
// users, most of it the first touch of the mapped pages, and a search whose
// keys every block holds (a phone number's digit trigrams, a full name's)
// makes about two a block, ~500 in all. A value is a copy (the map of the
// file is not the cache's: it is remapped as the file grows), kept with the
// number of its block's last flush when it was read.
//
// Which values are current is known without reading the file. While the
// store serves, postings change only when a batch flushes pending rows into
// them (finishSearch; the applier writing a frozen table into the file
// changes the file, not what any transaction sees), and the writer records
// the batch's sequence number as the last flush of every block it rewrites
// before the batch is published (flushed). A transaction that sees every
// write up to high loads the table of last flushes after it loaded high
// (view). Where it finds a block's last flush L ≤ high, it sees the block
// as every transaction that finds L does: the state after every flush of
// the block, all of them numbered L or lower. A flush numbered in
// (L, high] was recorded before the transaction could see it, so before
// it loaded the table; a table it loaded that a longer one has replaced
// since lacks only flushes recorded after that, all above high. So a value
// read under L is the value of the block for every transaction that finds
// L again, and only those use it (get). A transaction that finds L > high
// is older than the block's last flush: it reads the file, and keeps
// nothing.
//
// A number recorded for a batch that is then withdrawn (abortBatch) is
// never published nor used again: the transactions that find it see the
// state after the flushes below it, all the same one, and those older than
// it do not use the cache for the block. Open's log replay and migrations
// (rebuildSearch, migrateV1) write postings before the store serves, when
// the cache is empty: a last flush of 0 is the state Open left. A cached
// value is never changed: install replaces a slot's value with another,
// and a search that took the old one holds the value of the flush it found.
//
// A transaction's reads are installed as it ends (install, before the
// values it read, views of the file's map, go), the keys most blocks hold
// only. The cache holds at most its budget in bytes (values and their
// slots, about); beyond it, keys are forgotten whole, the ones no search
// used lately first.
type postCache struct {
	budget int64 // the most bytes it holds

	mu    sync.RWMutex
	keys  map[postKey]*cachedKey
	bytes int64 // the size of keys' values and slots (see cachedKey.size), under mu

	// flushes is each block's last flush, replaced by a longer table when
	// a flush reaches a block beyond it (only the writer writes it).
	flushes atomic.Pointer[flushTable]
}

// DefaultSearchCacheBytes is the most a store's search cache holds unless
// Options.SearchCacheBytes says otherwise: enough for the thousand digit
// trigrams of the phone numbers of a million users (~50 MB) beside the keys
// of the names searched most.
const DefaultSearchCacheBytes = 64 << 20

// A flushTable holds, at index b, the sequence number of the last batch
// that rewrote a posting value of block b (0: none since Open).
type flushTable struct{ last []atomic.Uint64 }

// A cachedKey is one key's cached values, at index b that of block b;
// used is set when a search takes one of them, cleared by the eviction's
// sweep.
type cachedKey struct {
	slots []atomic.Pointer[cachedValue]
	used  atomic.Bool
}

// A cachedValue is a copy of a posting value (nil: the block holds no
// posting of the key), read when its block's last flush was flush.
type cachedValue struct {
	flush uint64
	v     []byte
}

// The bytes counted for a cached value beyond its own (the struct, its
// allocation's rounding) and for a key beyond its slots.
const (
	cachedValueOverhead = 48
	cachedKeyOverhead   = 64
)

// newPostCache returns a cache of at most budget bytes (0: the default),
// or nil (no cache: every method does nothing) when budget is negative.
func newPostCache(budget int) *postCache {
	if budget < 0 {
		return nil
	}
	c := &postCache{budget: DefaultSearchCacheBytes, keys: make(map[postKey]*cachedKey)}
	if budget > 0 {
		c.budget = int64(budget)
	}
	c.flushes.Store(&flushTable{})
	return c
}

// flushed records that the batch numbered seq rewrites posting values of
// blocks. The writer calls it before the batch is published, so that no
// transaction that sees the new values finds an older last flush.
func (c *postCache) flushed(blocks []uint32, seq uint64) {
	if c == nil || len(blocks) == 0 {
		return
	}
	t := c.flushes.Load()
	top := blocks[0]
	for _, b := range blocks {
		top = max(top, b)
	}
	if int(top) >= len(t.last) {
		// A longer table, published before any number is written to it:
		// a transaction that may see this batch loads it (or a later one).
		nt := &flushTable{last: make([]atomic.Uint64, 2*int(top)+16)}
		for i := range t.last {
			nt.last[i].Store(t.last[i].Load())
		}
		c.flushes.Store(nt)
		t = nt
	}
	for _, b := range blocks {
		if t.last[b].Load() < seq {
			t.last[b].Store(seq)
		}
	}
}

// A cacheView is the cache as one transaction uses it: high, the newest
// write the transaction sees, and the flush table loaded after high was.
type cacheView struct {
	c    *postCache
	tab  *flushTable
	high uint64
}

// view returns the cache for a transaction that sees every write up to
// high; it must be called after high was loaded (committedOverlay): a table
// loaded before might lack a flush numbered up to high, and the
// transaction would take the block's values from before that flush.
func (c *postCache) view(high uint64) cacheView {
	if c == nil {
		return cacheView{}
	}
	return cacheView{c: c, tab: c.flushes.Load(), high: high}
}

// lastFlush returns block's last flush, and whether the transaction sees
// it (and may therefore use and fill the cache for the block).
func (v cacheView) lastFlush(block uint32) (flush uint64, ok bool) {
	if v.c == nil {
		return 0, false
	}
	if int(block) < len(v.tab.last) {
		flush = v.tab.last[block].Load()
	}
	return flush, flush <= v.high
}

// get returns the cached value of key k in block when it was read under
// flush; ok is false when there is none.
func (v cacheView) get(k postKey, block uint32, flush uint64) (val []byte, ok bool) {
	v.c.mu.RLock()
	ck := v.c.keys[k]
	v.c.mu.RUnlock()
	if ck == nil || int(block) >= len(ck.slots) {
		return nil, false
	}
	cv := ck.slots[block].Load()
	if cv == nil || cv.flush != flush {
		return nil, false
	}
	if !ck.used.Load() {
		ck.used.Store(true)
	}
	return cv.v, true
}

// A postFill is a posting value a transaction read from the file where the
// cache had none: the value of key k in block (nil: none), read under the
// block's last flush, a view of the transaction.
type postFill struct {
	k     postKey
	block uint32
	flush uint64
	v     []byte
}

// install keeps copies of the values of fills, read by one transaction,
// before it ends. Only the keys that most of their fills hold are kept: a
// key most blocks lack is what block maps serve (blockmaps.go), and the
// unique values searches look for (a userName, an email) would otherwise
// fill the cache with slots that hold nothing and push out the keys every
// block holds. Beyond the budget, keys no search used since the last sweep
// (a new key is unused until a search takes it) are forgotten first, whole.
func (c *postCache) install(fills []postFill) {
	if c == nil || len(fills) == 0 {
		return
	}
	slices.SortFunc(fills, func(a, b postFill) int {
		return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.block, b.block))
	})
	fills = slices.CompactFunc(fills, func(a, b postFill) bool { return a.k == b.k && a.block == b.block })
	type keyFill struct {
		k      postKey
		blocks []uint32
		vals   []cachedValue
	}
	var keep []keyFill
	for i := 0; i < len(fills); {
		j, held, size := i, 0, 0
		for ; j < len(fills) && fills[j].k == fills[i].k; j++ {
			if fills[j].v != nil {
				held++
				size += len(fills[j].v)
			}
		}
		group := fills[i:j]
		i = j
		if 2*held <= len(group) {
			continue
		}
		kf := keyFill{k: group[0].k, blocks: make([]uint32, len(group)), vals: make([]cachedValue, len(group))}
		arena := make([]byte, 0, size) // one copy of every value of the key
		for n, f := range group {
			kf.blocks[n], kf.vals[n].flush = f.block, f.flush
			if f.v != nil {
				arena = append(arena, f.v...)
				kf.vals[n].v = arena[len(arena)-len(f.v) : len(arena) : len(arena)]
			}
		}
		keep = append(keep, kf)
	}
	if len(keep) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil {
		return // dropped: the store is closed
	}
	for _, kf := range keep {
		ck := c.slotsFor(kf.k, kf.blocks[len(kf.blocks)-1]+1)
		for n, b := range kf.blocks {
			if old := ck.slots[b].Swap(&kf.vals[n]); old != nil {
				c.grow(-int64(len(old.v) + cachedValueOverhead))
			}
			c.grow(int64(len(kf.vals[n].v) + cachedValueOverhead))
		}
	}
	for sweep := 0; sweep < 2 && c.bytes > c.budget; sweep++ {
		for k, ck := range c.keys {
			if c.bytes <= c.budget {
				break
			}
			if sweep == 0 && ck.used.Load() {
				ck.used.Store(false) // a second chance
				continue
			}
			c.grow(-ck.size())
			delete(c.keys, k)
		}
	}
}

// slotsFor returns the cached key of k with slots for at least blocks
// blocks, made or moved to a longer array as needed (under c.mu). A key's
// first fills usually reach the file's last block (a search reads its
// first key in every block and samples the last ones), so the slots start
// about as long as the file, and grow with it.
func (c *postCache) slotsFor(k postKey, blocks uint32) *cachedKey {
	ck := c.keys[k]
	if ck != nil && int(blocks) <= len(ck.slots) {
		return ck
	}
	// Slots for some blocks to come.
	nk := &cachedKey{slots: make([]atomic.Pointer[cachedValue], blocks+blocks/8+4)}
	if ck != nil {
		for i := range ck.slots {
			nk.slots[i].Store(ck.slots[i].Load())
		}
		nk.used.Store(ck.used.Load()) // the key keeps its second chance
		c.grow(-int64(8 * len(ck.slots)))
	} else {
		c.grow(cachedKeyOverhead)
	}
	c.grow(int64(8 * len(nk.slots)))
	c.keys[k] = nk
	return nk
}

// grow adds delta to the bytes the cache holds (under c.mu).
func (c *postCache) grow(delta int64) {
	c.bytes += delta
	heldBytes.Add(delta)
}

// drop forgets every value, for good: the store is closing.
func (c *postCache) drop() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.grow(-c.bytes)
	c.keys = nil
}

// heldBytes is what the posting caches of the open stores hold.
var heldBytes atomic.Int64

// CachedBytes returns the bytes the posting caches of the process's open
// stores hold (at most DefaultSearchCacheBytes a store by default): long-lived heap, which a garbage
// collector target meant for the garbage of requests (cmd/scimd keeps the
// heap goal at a multiple of the live heap) may leave out.
func CachedBytes() uint64 { return uint64(max(heldBytes.Load(), 0)) }

// size is what a key counts for in postCache.bytes (under postCache.mu).
func (ck *cachedKey) size() int64 {
	n := int64(cachedKeyOverhead + 8*len(ck.slots))
	for i := range ck.slots {
		if cv := ck.slots[i].Load(); cv != nil {
			n += int64(len(cv.v) + cachedValueOverhead)
		}
	}
	return n
}
