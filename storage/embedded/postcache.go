package embedded

import (
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
// Which values are current is known without reading the file. Postings
// change only when a batch flushes pending rows into them (finishSearch),
// and the writer records the batch's sequence number as the last flush of
// every block it rewrites before the batch is published (flushed). A
// transaction that sees every write up to high, and finds a block's last
// flush L ≤ high, sees the block as every such transaction does: the state
// after every flush of the block, all of them numbered L or lower (a flush
// numbered above L would have been recorded before it could be seen). So a
// value read under L is the value of the block for every transaction that
// finds L again, and only those use it (get). A transaction that finds
// L > high is older than the block's last flush: it reads the file, and
// keeps nothing. Open's migrations write postings before the store serves,
// when the cache is empty.
//
// The cache holds at most postCacheBudget bytes (values and their slots,
// about); a new value over it forgets other keys, arbitrary ones, whole.
type postCache struct {
	mu    sync.RWMutex
	keys  map[postKey]*cachedKey
	bytes int64 // the size of keys' values and slots (see cachedSize), under mu

	// flushes is each block's last flush, replaced by a longer table when
	// a flush reaches a block beyond it (only the writer writes it).
	flushes atomic.Pointer[flushTable]
}

// postCacheBudget is the most the cache holds, in bytes: enough for the
// thousand digit trigrams of the phone numbers of a million users (~50
// MB) beside the keys of the names searched most. A variable for the tests.
var postCacheBudget int64 = 64 << 20

// A flushTable holds, at index b, the sequence number of the last batch
// that rewrote a posting value of block b (0: none since Open).
type flushTable struct{ last []atomic.Uint64 }

// A cachedKey is one key's cached values, at index b that of block b.
type cachedKey struct {
	slots []atomic.Pointer[cachedValue]
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

func newPostCache() *postCache {
	c := &postCache{keys: make(map[postKey]*cachedKey)}
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

// A cacheView is the cache as one transaction uses it: the flush table
// loaded after the transaction began, and the newest write it sees.
type cacheView struct {
	c    *postCache
	tab  *flushTable
	high uint64
}

// view returns the cache for a transaction that sees every write up to
// high; it must be called after that transaction began.
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
	return cv.v, true
}

// put caches a copy of val, the value of key k in block read under flush,
// in a transaction whose file has blocks blocks (the length a new key's
// slots start at).
func (v cacheView) put(k postKey, block uint32, flush uint64, val []byte, blocks uint32) {
	cv := &cachedValue{flush: flush}
	if val != nil {
		cv.v = append(make([]byte, 0, len(val)), val...)
	}
	c := v.c
	c.mu.Lock()
	defer c.mu.Unlock()
	ck := c.keys[k]
	if ck == nil || int(block) >= len(ck.slots) {
		// Slots for the blocks of the file and some to come: a key whose
		// blocks outgrow them moves to a longer array.
		n := max(int(blocks), int(block)+1)
		nk := &cachedKey{slots: make([]atomic.Pointer[cachedValue], n+n/8+4)}
		if ck != nil {
			for i := range ck.slots {
				nk.slots[i].Store(ck.slots[i].Load())
			}
			c.bytes -= int64(8 * len(ck.slots))
		} else {
			c.bytes += cachedKeyOverhead
		}
		c.bytes += int64(8 * len(nk.slots))
		c.keys[k], ck = nk, nk
	}
	if old := ck.slots[block].Swap(cv); old != nil {
		c.bytes -= int64(len(old.v) + cachedValueOverhead)
	}
	c.bytes += int64(len(cv.v) + cachedValueOverhead)
	for other, ek := range c.keys {
		if c.bytes <= postCacheBudget {
			break
		}
		if other != k || len(c.keys) == 1 {
			c.bytes -= ek.size()
			delete(c.keys, other)
		}
	}
}

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
