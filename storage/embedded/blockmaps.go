package embedded

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// blockMaps remembers, for some posting keys, which blocks of rows hold
// them (in any attribute), so that a search skips the blocks a key of its
// comparison is absent from without a B-tree descent into each (~1.2 µs
// at a million users, the floor of ~250 reads a key: see search.go). It is
// learnt, not stored: a search that has read a key in every block (keyRows,
// and the first key of postedCandidates) records where it was, when it was
// absent from most blocks — a key a few blocks hold, such as the prefix
// digits of the phone numbers one import gave, where a key every block
// holds ("555") would skip nothing. At most maxBlockMaps keys (an arbitrary
// one is forgotten for a new one), a bit per block each: 128 KiB at a
// million users.
//
// A map may say a block holds a key it does not (a superset: the block is
// read, as without the map), never the converse, to any transaction that
// uses it. The writer keeps it so for the transactions that see the one it
// was learnt on: a flush that posts a key in a block that had no posting of
// it sets the key's bit before its batch is published (posted), and a map
// learnt on a transaction that does not see every such flush is not kept
// (learn). A block past the map's end (rows created after it was learnt) is
// read. Deleted postings leave their bits set. An older transaction does
// not use the map (of): a flush it does not see may have removed the key's
// last posting from a block that its file still holds the key in.
type blockMaps struct {
	mu   sync.RWMutex
	keys map[postKey]*blockMap
	// newest is the sequence number of the newest batch that posted a
	// key in a block without one (posted): a map learnt on a transaction
	// that does not see it may lack that block.
	newest uint64
}

// maxBlockMaps bounds the keys blockMaps keeps. A variable for the tests.
var maxBlockMaps = 4096

// blockMap is the blocks one key may be posted in: bit b of the words,
// for the blocks below blocks.
type blockMap struct {
	blocks uint32
	words  []atomic.Uint64
	// learnt is the newest write the transaction it was learnt on saw.
	learnt uint64
}

func newBlockMaps() *blockMaps { return &blockMaps{keys: make(map[postKey]*blockMap)} }

// may reports whether block may hold the key: false only when it holds none.
func (m *blockMap) may(block uint32) bool {
	return block >= m.blocks || m.words[block/64].Load()&(1<<(block%64)) != 0
}

// of returns the map of key k for a transaction that sees every write up
// to high: nil when there is none, or when it was learnt on a newer one.
func (bm *blockMaps) of(k postKey, high uint64) *blockMap {
	if bm == nil {
		return nil
	}
	bm.mu.RLock()
	m := bm.keys[k]
	bm.mu.RUnlock()
	if m == nil || m.learnt > high {
		return nil
	}
	return m
}

// learn keeps the map of key k — words, bit b set when block b holds it,
// for the first blocks blocks — read by a transaction that sees every
// write up to high, unless most blocks hold the key, k has a map already,
// or a flush the transaction does not see has posted a key since (its
// block might be missing: see blockMaps).
func (bm *blockMaps) learn(k postKey, words []uint64, blocks uint32, high uint64) {
	if bm == nil || blocks == 0 {
		return
	}
	n := 0
	for _, w := range words {
		n += bits.OnesCount64(w)
	}
	if 2*n > int(blocks) {
		return
	}
	m := &blockMap{blocks: blocks, words: make([]atomic.Uint64, len(words)), learnt: high}
	for i, w := range words {
		m.words[i].Store(w)
	}
	bm.mu.Lock()
	defer bm.mu.Unlock()
	if bm.newest > high || bm.keys[k] != nil {
		return
	}
	if len(bm.keys) >= maxBlockMaps {
		for old := range bm.keys {
			delete(bm.keys, old)
			break
		}
	}
	bm.keys[k] = m
}

// posted records that the batch numbered seq posts each key of pairs
// (block<<32 | key) in a block that held no posting of it: before the
// batch is published, so that no transaction that sees the posting finds
// a map without its block.
func (bm *blockMaps) posted(pairs []uint64, seq uint64) {
	if bm == nil || len(pairs) == 0 {
		return
	}
	bm.mu.Lock()
	defer bm.mu.Unlock()
	bm.newest = max(bm.newest, seq)
	if len(bm.keys) == 0 {
		return
	}
	for _, p := range pairs {
		if m := bm.keys[postKey(p)]; m != nil {
			if b := uint32(p >> 32); b < m.blocks {
				m.words[b/64].Or(1 << (b % 64))
			}
		}
	}
}
