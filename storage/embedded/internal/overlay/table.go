package overlay

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

const (
	// maxHeight bounds a node's tower. With p = 1/4 a list of 4^maxHeight entries still
	// searches in O(log n); 16 is far beyond any table the store keeps in memory.
	maxHeight = 16
	// lowLinks tower links live in the node itself: with p = 1/4 only one node in 256 is
	// taller and takes the rest of its tower from the tower arena.
	lowLinks = 4
	// nodeChunk nodes are allocated at a time; towerChunk overflow links at a time.
	nodeChunk  = 4096
	towerChunk = 4096
	// byteChunk is the size of one key/value arena chunk. A key plus value larger than
	// byteChunk/4 gets an allocation of its own, so a chunk wastes at most a quarter.
	byteChunk = 1 << 20
)

// node is one entry: one version of one key. Nodes of one key are adjacent in the list,
// newest first. Every field but the tower links is written before the node is published
// and never changed afterwards. What a search touches (kp, the low links, key) comes first
// so that a search step usually reads one cache line of the node and no other memory.
type node struct {
	kp    keyPrefix // prefix(b, key): decides most comparisons without reading key
	low   [lowLinks]atomic.Pointer[node]
	key   []byte // aliases the byte arena
	value []byte // aliases the byte arena; nil for a tombstone
	seq   uint64
	b     uint8
	del   bool
	more  []atomic.Pointer[node] // tower links from lowLinks up; aliases the tower arena
}

// link is n's link at level i (< its height).
func (n *node) link(i int) *atomic.Pointer[node] {
	if i < lowLinks {
		return &n.low[i]
	}
	return &n.more[i-lowLinks]
}

// next is n's successor in the list (level 0).
func (n *node) next() *node { return n.low[0].Load() }

// keyPrefix is bucket b and the first 15 bytes of a key (zero-padded), big-endian in two
// words: comparing two prefixes orders them as (bucket, key) does, except that equal
// prefixes need a look at the keys. 15 bytes, not 7: the store's index keys begin with
// folded values (user names, emails) that share their first 7 bytes with many others, and
// every comparison decided by the prefix saves a read of the key in the arena (a cache miss).
type keyPrefix struct{ hi, lo uint64 }

func prefix(b uint8, key []byte) keyPrefix {
	var buf [16]byte
	buf[0] = b
	copy(buf[1:], key)
	return keyPrefix{binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])}
}

// cmp orders p and q as their (bucket, key)s, 0 when the prefix cannot tell.
func (p keyPrefix) cmp(q keyPrefix) int {
	switch {
	case p.hi != q.hi:
		if p.hi < q.hi {
			return -1
		}
		return 1
	case p.lo != q.lo:
		if p.lo < q.lo {
			return -1
		}
		return 1
	}
	return 0
}

// Table is an ordered, multi-version, in-memory key-value table: keys live in numbered
// buckets (uint8), each Put adds an entry (a version of a key at a sequence number).
//
// One writer goroutine calls Put and Abort; any number of goroutines read through Views,
// Merged cursors, Entries, Len, Bytes and MaxSeq concurrently with it, without locks: the
// table is an insert-only skiplist whose links are published with atomic stores after the
// node they point to is fully written. Memory is never reused, so a reader may keep using
// a View (and the slices it returned) after the owner has dropped the Table.
//
// The zero Table is not usable; call New.
type Table struct {
	head   node // sentinel; its tower has maxHeight links
	height atomic.Int32

	// writer-only state
	nodes  []node
	towers []atomic.Pointer[node]
	buf    []byte
	rnd    uint64
	// prev is the writer's finger: the search path of the last Put or
	// WriterGet, at every level below the table's height the last node
	// before one position of the list (after the node put; before the key
	// looked up). A Put or WriterGet of a key after prev[0]'s starts from
	// it (seek), so an ascending run of keys — a flush of sorted postings
	// or sort keys — costs O(1) a key instead of a search from the head,
	// and a Put right after a WriterGet of its key costs no search. nil
	// prev[0]: none yet.
	prev [maxHeight]*node

	// filter is a Bloom filter of the table's (bucket, key)s, one 64-bit
	// word per key (4 bits of it), so that Get answers a key the table does
	// not hold — most lookups, since most keys live in the file — with one
	// hash and one load instead of a search. The writer sets a key's bits
	// (atomic Or) before it publishes the key's node. Empty: no filter.
	filter []atomic.Uint64
	seed   maphash.Seed

	len     atomic.Int64
	bytes   atomic.Int64
	maxSeq  atomic.Uint64
	gen     atomic.Uint64            // bumped after every Put and Abort: readers detect change
	aborted atomic.Pointer[[]uint64] // sorted aborted seqs, copy-on-write; nil when none
}

// New returns an empty Table whose point lookups (View.Get) first consult a
// filter of filterBytes (rounded down to a power of two, 0: no filter) that
// answers most lookups of absent keys without a search. Size it for the
// entries the table will hold: 8 bytes for every 3 keys or so keeps false
// positives below 1 %; a fuller filter only makes more lookups search.
func New(filterBytes int) *Table {
	t := &Table{rnd: 0x9e3779b97f4a7c15, seed: maphash.MakeSeed()}
	t.head.more = make([]atomic.Pointer[node], maxHeight-lowLinks)
	t.height.Store(1)
	if words := filterBytes / 8; words > 0 {
		t.filter = make([]atomic.Uint64, 1<<(bits.Len(uint(words))-1))
		t.bytes.Add(int64(8 * len(t.filter)))
	}
	return t
}

// filterBits returns the filter word of (b, key) and the bits the key sets
// in it (4 of 64, chosen by the hash, possibly coinciding); w is -1 when
// the table has no filter.
func (t *Table) filterBits(b uint8, key []byte) (w int, mask uint64) {
	if len(t.filter) == 0 {
		return -1, 0
	}
	h := maphash.Bytes(t.seed, key) ^ uint64(b)*0x9e3779b97f4a7c15
	mask = 1<<(h&63) | 1<<(h>>6&63) | 1<<(h>>12&63) | 1<<(h>>18&63)
	return int((h >> 32) & uint64(len(t.filter)-1)), mask
}

// mayHold reports whether the table may hold a version of (b, key): false
// only when it certainly holds none.
func (t *Table) mayHold(b uint8, key []byte) bool {
	w, mask := t.filterBits(b, key)
	return w < 0 || t.filter[w].Load()&mask == mask
}

// Len is the number of entries: one per Put, superseded and aborted ones included.
func (t *Table) Len() int { return int(t.len.Load()) }

// Bytes is the memory the table's arenas hold: node, tower and key/value chunks as
// allocated (so it grows in steps of a chunk), plus the separate allocations of large
// entries and the filter. It is what dropping the Table gives back to the garbage collector.
func (t *Table) Bytes() int { return int(t.bytes.Load()) }

// MaxSeq is the largest seq put so far (0 for an empty table), aborted ones included.
func (t *Table) MaxSeq() uint64 { return t.maxSeq.Load() }

// Put records, at sequence seq, key = value in bucket b; with del it records that key is
// deleted (a tombstone; value is ignored). Put copies key and value into the table's
// arenas, so the caller may reuse them; it allocates only when an arena chunk is full
// (amortised far below one allocation per Put).
//
// seq must be ≥ every seq put before (Put panics otherwise), and positive: a View sees
// only the seqs above its low, 0 at the least. Several Puts of one key at
// one seq are all kept; the last one is the newest and wins. Put must only be called from
// one goroutine at a time (the writer); readers need no coordination with it.
func (t *Table) Put(b uint8, key, value []byte, del bool, seq uint64) {
	if seq < t.maxSeq.Load() {
		panic("overlay: Put with a seq below an earlier one")
	}
	// Find, at every level, the last node before (b, key): the new node goes before every
	// existing version of key, which keeps each key's versions newest first.
	kp := prefix(b, key)
	h := int(t.height.Load())
	t.seek(kp, b, key, h)
	nh := t.randomHeight()
	for i := h; i < nh; i++ {
		t.prev[i] = &t.head
	}

	if w, mask := t.filterBits(b, key); w >= 0 {
		t.filter[w].Or(mask) // before the node is published (see mayHold)
	}
	n := t.newNode(nh)
	n.kp, n.b, n.seq, n.del = kp, b, seq, del
	if del {
		value = nil
	}
	kv := t.alloc(len(key) + len(value))
	copy(kv, key)
	copy(kv[len(key):], value)
	n.key = kv[:len(key):len(key)]
	if !del {
		n.value = kv[len(key):] // non-nil even when empty: a present empty value
	}
	for i := 0; i < nh; i++ {
		n.link(i).Store(t.prev[i].link(i).Load())
	}
	// Publish bottom-up: once linked at level 0 the node is in the table; higher levels
	// only make it faster to find.
	for i := 0; i < nh; i++ {
		t.prev[i].link(i).Store(n)
		t.prev[i] = n
	}
	if nh > h {
		t.height.Store(int32(nh))
	}
	t.len.Add(1)
	t.maxSeq.Store(seq)
	t.gen.Add(1)
}

// Abort marks every entry of seq invisible to every View, those already open included,
// and to Entries — a batch that failed to commit. Entries put at seq after Abort are
// invisible too. Abort is meant to be rare: it copies the list of aborted seqs. Like Put,
// it must only be called by the writer.
func (t *Table) Abort(seq uint64) {
	var old []uint64
	if p := t.aborted.Load(); p != nil {
		old = *p
	}
	i := 0
	for i < len(old) && old[i] < seq {
		i++
	}
	if i < len(old) && old[i] == seq {
		return
	}
	s := make([]uint64, 0, len(old)+1)
	s = append(append(append(s, old[:i]...), seq), old[i:]...)
	t.aborted.Store(&s)
	t.gen.Add(1)
}

// abortCount is the number of aborted seqs; it only grows.
func (t *Table) abortCount() int {
	if p := t.aborted.Load(); p != nil {
		return len(*p)
	}
	return 0
}

func (t *Table) isAborted(seq uint64) bool {
	p := t.aborted.Load()
	if p == nil {
		return false
	}
	s := *p
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(s) && s[lo] == seq
}

func (t *Table) randomHeight() int {
	// xorshift64*: writer-only state, no allocation, no locking.
	t.rnd ^= t.rnd >> 12
	t.rnd ^= t.rnd << 25
	t.rnd ^= t.rnd >> 27
	r := t.rnd * 2685821657736338717
	h := 1
	for h < maxHeight && r&3 == 0 {
		h++
		r >>= 2
	}
	return h
}

func (t *Table) newNode(height int) *node {
	if len(t.nodes) == cap(t.nodes) {
		t.nodes = make([]node, 0, nodeChunk)
		t.bytes.Add(int64(nodeChunk * sizeofNode))
	}
	t.nodes = t.nodes[:len(t.nodes)+1]
	n := &t.nodes[len(t.nodes)-1]
	if extra := height - lowLinks; extra > 0 {
		if len(t.towers)+extra > cap(t.towers) {
			t.towers = make([]atomic.Pointer[node], 0, towerChunk)
			t.bytes.Add(int64(towerChunk * sizeofLink))
		}
		l := len(t.towers)
		t.towers = t.towers[:l+extra]
		n.more = t.towers[l : l+extra : l+extra]
	}
	return n
}

// alloc returns n bytes of fresh arena memory, never nil.
func (t *Table) alloc(n int) []byte {
	if n > byteChunk/4 {
		t.bytes.Add(int64(n))
		return make([]byte, n)
	}
	if cap(t.buf)-len(t.buf) < n || t.buf == nil {
		t.buf = make([]byte, 0, byteChunk)
		t.bytes.Add(byteChunk)
	}
	l := len(t.buf)
	t.buf = t.buf[:l+n]
	return t.buf[l : l+n : l+n]
}

// cmpNode compares n's (bucket, key) with (b, key), whose prefix is kp; end stands for
// "after every key of b".
func cmpNode(n *node, kp keyPrefix, b uint8, key []byte, end bool) int {
	if end {
		if n.b <= b {
			return -1
		}
		return 1
	}
	if c := n.kp.cmp(kp); c != 0 {
		return c
	}
	return bytes.Compare(n.key, key) // equal prefixes: same bucket
}

// search returns the last node before (b, key) (before the end of bucket b with end), or
// the head if there is none, and the node after it at level 0 as the search saw it (nil at
// the end). With prev it records the last node before the target at every level (the
// writer's insertion points). A reader must use that successor, not load the link again:
// a node the writer inserts meanwhile after the returned one lies before (b, key).
func (t *Table) search(kp keyPrefix, b uint8, key []byte, end bool, prev *[maxHeight]*node) (x, next *node) {
	x = &t.head
	for i := int(t.height.Load()) - 1; i >= 0; i-- {
		for {
			next = x.link(i).Load()
			if next == nil || cmpNode(next, kp, b, key, end) >= 0 {
				break
			}
			x = next
		}
		if prev != nil {
			prev[i] = x
		}
	}
	return x, next
}

// seek sets the writer's finger t.prev to the insertion points of (b, key):
// at every level below h, the table's height, the last node before every
// version of key. It starts from the finger when that lies before key
// (seekAfter), else from the head.
func (t *Table) seek(kp keyPrefix, b uint8, key []byte, h int) {
	if p := t.prev[0]; p != nil && (p == &t.head || cmpNode(p, kp, b, key, false) < 0) {
		t.seekAfter(kp, b, key, h)
		return
	}
	t.search(kp, b, key, false, &t.prev)
}

// seekAfter is seek for a key after the finger's prev[0] (every node of the
// finger lies before it). The finger's successors lie ever further at
// higher levels, so the levels whose successor is already at or after the
// key keep their node, and only those below the lowest such level walk
// forward, each from its own node: O(log d) steps for a key d entries past
// the finger.
func (t *Table) seekAfter(kp keyPrefix, b uint8, key []byte, h int) {
	l := 0
	for ; l < h; l++ {
		if next := t.prev[l].link(l).Load(); next == nil || cmpNode(next, kp, b, key, false) >= 0 {
			break
		}
	}
	if l == 0 {
		return
	}
	x := t.prev[l-1]
	for i := l - 1; i >= 0; i-- {
		for {
			next := x.link(i).Load()
			if next == nil || cmpNode(next, kp, b, key, false) >= 0 {
				break
			}
			x = next
		}
		t.prev[i] = x
	}
}

// findGE returns the first node at or after (b, key) — the newest version of key if the
// table has key — or nil.
func (t *Table) findGE(b uint8, key []byte) *node {
	_, next := t.search(prefix(b, key), b, key, false, nil)
	return next
}

// findGT returns the first node after every version of (b, key), or nil.
func (t *Table) findGT(b uint8, key []byte) *node {
	kp := prefix(b, key)
	x := &t.head
	var next *node
	for i := int(t.height.Load()) - 1; i >= 0; i-- {
		for {
			next = x.link(i).Load()
			if next == nil || cmpNode(next, kp, b, key, false) > 0 {
				break
			}
			x = next
		}
	}
	return next
}

// findLT returns the last node before (b, key) (before the end of bucket b with end), or
// nil if there is none.
func (t *Table) findLT(b uint8, key []byte, end bool) *node {
	x, _ := t.search(prefix(b, key), b, key, end, nil)
	if x == &t.head {
		return nil
	}
	return x
}

// Entries calls fn, in (bucket, key) order, for every key of the table with its newest
// entry of seq ≤ upTo that is not aborted, tombstones included (del = true, value nil).
// key and value alias the table's memory. Entries stops at and returns fn's first error.
// It is a reader: safe concurrently with the writer, it sees the keys inserted ahead of
// its position while it runs.
func (t *Table) Entries(upTo uint64, fn func(b uint8, key, value []byte, del bool) error) error {
	v := t.View(0, upTo) // every seq is above 0
	for n := t.head.next(); n != nil; {
		var found *node
		found, n = v.resolve(n)
		if found != nil {
			if err := fn(found.b, found.key, found.value, found.del); err != nil {
				return err
			}
		}
	}
	return nil
}

// View is a read-only window on a Table: it sees the entries with low < seq ≤ high that
// are not aborted, and for each key only the newest such entry counts. A View is a small
// value (no allocation) and safe to use concurrently with the writer; entries put later
// at seqs above high never change what it answers.
type View struct {
	t         *Table
	low, high uint64
}

// View returns the View of t on the seqs low < seq ≤ high.
func (t *Table) View(low, high uint64) View { return View{t: t, low: low, high: high} }

// resolve returns the visible version of the key whose versions start at n (n must be the
// first node of its key, or a later version of it), or nil if the view has none. It also
// returns the first node after the key's versions.
func (v View) resolve(n *node) (vis, after *node) {
	g := n
	for walked := 0; n != nil && sameKey(n, g); n = n.next() {
		if vis == nil && v.sees(n) {
			vis = n
		}
		// A key written many times (a posting rewritten at every flush, a
		// row pending again and again) has as many versions: past a few,
		// one search skips the rest.
		if walked++; walked == walkVersions && vis != nil {
			return vis, v.t.findGT(g.b, g.key)
		}
	}
	return vis, n
}

// walkVersions is how many versions of one key resolve steps through before
// it searches for the next key instead.
const walkVersions = 4

func (v View) sees(n *node) bool {
	return n.seq > v.low && n.seq <= v.high && !v.t.isAborted(n.seq)
}

func sameKey(n, g *node) bool { return n.kp == g.kp && bytes.Equal(n.key, g.key) }

// Get looks key up in bucket b. found reports whether the view has an entry for the key,
// deleted that this entry is a tombstone (value is then nil). A present value, even an
// empty one, is non-nil; it aliases the table's memory, which is immutable and valid as
// long as the Table is reachable.
//
// A key the table's filter rules out costs no search. That is exact for
// the View: an entry it sees (seq ≤ high) was put, its filter bits set,
// before its seq was published as the View's high, which the View's owner
// read before this call.
func (v View) Get(b uint8, key []byte) (value []byte, deleted, found bool) {
	if !v.t.mayHold(b, key) {
		return nil, false, false
	}
	return v.versionOf(v.t.findGE(b, key), b, key)
}

// versionOf is Get's answer from n, the first node at or after (b, key).
func (v View) versionOf(n *node, b uint8, key []byte) (value []byte, deleted, found bool) {
	if n == nil || n.b != b || !bytes.Equal(n.key, key) {
		return nil, false, false
	}
	for g := n; n != nil && sameKey(n, g); n = n.next() {
		if v.sees(n) {
			return n.value, n.del, true
		}
	}
	return nil, false, false
}

// WriterGet is Get for the table's writer (the one goroutine that calls
// Put), for lookups that run in key order among its Puts — a read before
// each write of a sorted run. It searches from the writer's finger, as Put
// does, and leaves the finger at key, so that a Put of key right after
// costs no search. Only the writer may call it; it answers as Get does.
func (v View) WriterGet(b uint8, key []byte) (value []byte, deleted, found bool) {
	t := v.t
	if !t.mayHold(b, key) {
		return nil, false, false
	}
	kp := prefix(b, key)
	t.seek(kp, b, key, int(t.height.Load()))
	return v.versionOf(t.prev[0].next(), b, key)
}

// seekGE returns the visible version of the first key ≥ key in bucket b, or nil; nil as
// well when that key is ≥ limit (nil: no bound).
func (v View) seekGE(b uint8, key, limit []byte) *node {
	return v.scan(b, v.t.findGE(b, key), limit)
}

// scan returns the first visible version of a key at or after n (n the first node of its
// key) within bucket b and below limit (nil: no bound), or nil. It steps over every key
// the view does not see — written after it, or aborted —, and a reader's view taken before
// a long scan sees none of what the writer put since: the limit stops it at the caller's
// bound instead of the bucket's end.
func (v View) scan(b uint8, n *node, limit []byte) *node {
	for n != nil && n.b == b {
		if limit != nil && bytes.Compare(n.key, limit) >= 0 {
			return nil
		}
		vis, after := v.resolve(n)
		if vis != nil {
			return vis
		}
		n = after
	}
	return nil
}

// nextKey returns the visible version of the first key after n's key in bucket b and below
// limit (nil: no bound), or nil.
func (v View) nextKey(b uint8, n *node, limit []byte) *node {
	_, after := v.resolve(n)
	return v.scan(b, after, limit)
}

// seekLT returns the visible version of the last key < key in bucket b (of the last key
// of b with end), or nil.
func (v View) seekLT(b uint8, key []byte, end bool) *node {
	for {
		n := v.t.findLT(b, key, end)
		if n == nil || n.b != b {
			return nil
		}
		// n is the oldest version of its key; its newest is the first node ≥ its key.
		if vis, _ := v.resolve(v.t.findGE(b, n.key)); vis != nil {
			return vis
		}
		key, end = n.key, false
	}
}
