package embedded

import (
	"bytes"
	"cmp"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/scimd/scimd/internal/uuidfmt"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Sealed blocks of audit events (file format 9).
//
// An audit log grows by every write and is read rarely, newest first. One
// bbolt key per event cost about 150 bytes of record, a 48-byte key and two
// index entries of about 50 bytes each (docs/performance.md): the repeated
// strings of neighbouring events (actor, IP, user agent, field names) are
// stored again in each. So the events bucket keeps only the tail of the
// log, and the writer seals older events, a block at a time, into the
// eventBlocks bucket: the events' (key, record) pairs in key order,
// compressed together with compress/flate.
//
// Invariant: every event whose key is at most the last block's last key
// lives in a block; the blocks' key ranges are disjoint and ascend with
// their sequence numbers; the events bucket (the tail) holds only keys above
// the last block's last key. A listing is therefore the tail, newest first,
// then the blocks from the highest sequence number down, each newest first.
//
// A block value is blockCodecV1, then the uvarints count (events), the
// length of the first key and the key, the length of the last key and the
// key, the length of the raw payload, its CRC-32C (4 bytes, big-endian:
// flate alone does not notice every damaged byte), then the raw payload compressed
// (flate, no dictionary): per event in key order, its key's 12 bytes of time
// (see eventKey), its id (1 and a canonical UUID's 16 bytes, or 0, the
// length as a uvarint, and the bytes), the record's length as a uvarint and
// the record verbatim (so that readEvent and decodeEventHead read it as
// they read a tail record, damaged records included). The header is read
// without decompressing anything: a listing counts a block from it.
//
// A block's key in eventBlocks is its sequence number (8 bytes,
// big-endian; see firstBlockSeq). eventBlockEnds maps each block's last
// key to its sequence number, so that a Seek finds the block covering a
// key. Sealed
// events are indexed by block: per id (as a target, as an actor), the list
// of the blocks holding its events and how many (blockRef).

const blockCodecV1 = 0xB1

var (
	bucketEventBlocks    = []byte("eventBlocks")
	bucketEventBlockEnds = []byte("eventBlockEnds")
	// keyEventBlockSeq (meta) is the sequence number of the last block
	// sealed (8 bytes, big-endian; absent: none yet), so that a sequence
	// number is never used twice, even when pruning deleted that block.
	keyEventBlockSeq = []byte("eventBlockSeq")
	// keyEventBlockRetired (meta) is the highest number of a damaged block
	// that pruning deleted whole (8 bytes; absent: none): its ids' block
	// lists still name it, so no block made later may take a number at or
	// below it (beforeFirstSeq).
	keyEventBlockRetired = []byte("eventBlockRetired")
)

// blockEvent is one event of a block: its key (eventKey) and record.
type blockEvent struct{ key, rec []byte }

// blockHeader is the part of a block value read without decompressing.
type blockHeader struct {
	count       int
	first, last []byte // keys, aliasing the value
	rawLen      int
	crc         uint32 // of the raw payload
	payload     []byte // compressed
}

// errDamagedBlock wraps every failure to read a block value.
var errDamagedBlock = errors.New("damaged block of audit events")

// maxBlockRaw bounds the raw payload a block header may claim: far above
// what sealing writes (blockTarget) and stragglers add, it keeps a damaged
// header from making a reader allocate without bound.
const maxBlockRaw = 1 << 30

// parseBlockHeader reads the header of a block value.
func parseBlockHeader(v []byte) (blockHeader, error) {
	var h blockHeader
	if len(v) == 0 || v[0] != blockCodecV1 {
		return h, fmt.Errorf("%w: not a block value", errDamagedBlock)
	}
	r := rbuf{b: v[1:]}
	count := r.uint()
	first, last := r.bytes(), r.bytes()
	raw := r.uint()
	if crc := r.fixed(4); crc != nil {
		h.crc = binary.BigEndian.Uint32(crc)
	}
	if r.err != nil || count == 0 || count > raw || raw > maxBlockRaw || len(first) < 12 || len(last) < 12 ||
		bytes.Compare(first, last) > 0 {
		return h, fmt.Errorf("%w: bad header", errDamagedBlock)
	}
	h.count, h.first, h.last, h.rawLen, h.payload = int(count), first, last, int(raw), r.b
	return h, nil
}

// flateReaders are readers of block payloads, reused (flate.Resetter).
var flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// decodeBlock decodes a block value: its header and its events in key
// order, whose keys and records alias one new buffer (not the value).
func decodeBlock(v []byte) (blockHeader, []blockEvent, error) {
	h, err := parseBlockHeader(v)
	if err != nil {
		return h, nil, err
	}
	fr := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(fr)
	if err := fr.(flate.Resetter).Reset(bytes.NewReader(h.payload), nil); err != nil {
		return h, nil, fmt.Errorf("%w: %v", errDamagedBlock, err)
	}
	// Grown as it reads, not allocated as the header claims: a damaged
	// header must not make a reader allocate a gigabyte.
	var raw bytes.Buffer
	raw.Grow(min(h.rawLen, 1<<20) + bytes.MinRead) // (ReadFrom wants MinRead free to see the end)
	n, err := raw.ReadFrom(io.LimitReader(fr, int64(h.rawLen)+1))
	if err != nil {
		return h, nil, fmt.Errorf("%w: %v", errDamagedBlock, err)
	}
	if n != int64(h.rawLen) {
		return h, nil, fmt.Errorf("%w: payload of %d bytes, the header says %d", errDamagedBlock, n, h.rawLen)
	}
	if crc32.Checksum(raw.Bytes(), castagnoli) != h.crc {
		return h, nil, fmt.Errorf("%w: its checksum does not match", errDamagedBlock)
	}
	evs, err := parseBlockPayload(raw.Bytes(), h.count)
	if err != nil {
		return h, nil, err
	}
	if !bytes.Equal(evs[0].key, h.first) || !bytes.Equal(evs[len(evs)-1].key, h.last) {
		return h, nil, fmt.Errorf("%w: its events do not span the header's keys", errDamagedBlock)
	}
	return h, evs, nil
}

// parseBlockPayload splits a raw payload into its count events, which must
// be in strictly ascending key order.
func parseBlockPayload(raw []byte, count int) ([]blockEvent, error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", errDamagedBlock, what) }
	evs := make([]blockEvent, 0, count)
	// The keys are rebuilt (the id of a UUID as its 36 characters), into
	// one buffer for all.
	keys := make([]byte, 0, count*(12+36))
	for range count {
		if len(raw) < 13 {
			return nil, bad("short event")
		}
		at := len(keys)
		keys = append(keys, raw[:12]...)
		tag := raw[12]
		raw = raw[13:]
		switch tag {
		case 1:
			if len(raw) < 16 {
				return nil, bad("short id")
			}
			keys = uuidfmt.AppendFormat(keys, [16]byte(raw[:16]))
			raw = raw[16:]
		case 0:
			n, m := binary.Uvarint(raw)
			if m <= 0 || n > uint64(len(raw)-m) {
				return nil, bad("bad id")
			}
			keys = append(keys, raw[m:m+int(n)]...)
			raw = raw[m+int(n):]
		default:
			return nil, bad("bad id tag")
		}
		n, m := binary.Uvarint(raw)
		if m <= 0 || n > uint64(len(raw)-m) {
			return nil, bad("bad record length")
		}
		rec := raw[m : m+int(n) : m+int(n)]
		raw = raw[m+int(n):]
		if len(evs) > 0 && bytes.Compare(evs[len(evs)-1].key, keys[at:]) >= 0 {
			return nil, bad("events out of order")
		}
		// keys may grow (move) later: the earlier events' keys keep
		// pointing into the old array, which stays valid.
		evs = append(evs, blockEvent{key: keys[at:len(keys):len(keys)], rec: rec})
	}
	if len(raw) != 0 {
		return nil, bad("bytes after its events")
	}
	return evs, nil
}

// blockEncoder encodes blocks; the writer goroutine owns one (sealer.enc)
// and reuses its compressor and buffers.
type blockEncoder struct {
	level int // 0: blockLevel (benchmarks set others)
	fw    *flate.Writer
	raw   bytes.Buffer
	out   bytes.Buffer
}

// blockLevel is the flate level of sealed blocks: on a year's mix of
// events (BenchmarkSealBlock, 32 KiB blocks) level 3 took about half the
// CPU of level 6 for 4–8 % more bytes, and 12 % fewer bytes than level 1
// on create events for the same CPU (docs/performance.md).
const blockLevel = 3

// encode returns the block value of evs (at least one, in strictly
// ascending key order), in a new slice.
func (e *blockEncoder) encode(evs []blockEvent) []byte {
	e.raw.Reset()
	var tmp [binary.MaxVarintLen64]byte
	for _, ev := range evs {
		e.raw.Write(ev.key[:12])
		id := ev.key[12:]
		if u, ok := uuidfmt.Parse(id); ok { // canonical only: it comes back as it was
			e.raw.WriteByte(1)
			e.raw.Write(u[:])
		} else {
			e.raw.WriteByte(0)
			e.raw.Write(binary.AppendUvarint(tmp[:0], uint64(len(id))))
			e.raw.Write(id)
		}
		e.raw.Write(binary.AppendUvarint(tmp[:0], uint64(len(ev.rec))))
		e.raw.Write(ev.rec)
	}
	first, last := evs[0].key, evs[len(evs)-1].key
	out := &e.out
	out.Reset()
	out.WriteByte(blockCodecV1)
	out.Write(binary.AppendUvarint(tmp[:0], uint64(len(evs))))
	for _, k := range [][]byte{first, last} {
		out.Write(binary.AppendUvarint(tmp[:0], uint64(len(k))))
		out.Write(k)
	}
	out.Write(binary.AppendUvarint(tmp[:0], uint64(e.raw.Len())))
	out.Write(binary.BigEndian.AppendUint32(tmp[:0], crc32.Checksum(e.raw.Bytes(), castagnoli)))
	if e.fw == nil {
		if e.level == 0 {
			e.level = blockLevel
		}
		e.fw, _ = flate.NewWriter(out, e.level) // (an error only for a bad level)
	} else {
		e.fw.Reset(out)
	}
	e.fw.Write(e.raw.Bytes()) // (writes to a bytes.Buffer do not fail)
	e.fw.Close()
	if e.raw.Cap() > 4<<20 {
		e.raw = bytes.Buffer{} // a block grown by stragglers: do not keep its memory
	}
	return bytes.Clone(out.Bytes())
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockSeqKey is the key of block seq in eventBlocks (and the value of its
// entry in eventBlockEnds).
func blockSeqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// blockSeq is the sequence number of a key or value blockSeqKey made (ok:
// it is one).
func blockSeq(b []byte) (seq uint64, ok bool) {
	if len(b) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

// Sequence numbers: the first block sealed is firstBlockSeq and each next
// one the last plus sealStep, so that the low seqLowBits bits of a sealed
// block's number are 0 and there are numbers between any two sealed
// blocks for the blocks that stragglers between them make (putStraggler,
// newBlockSeq): an import of an older log, in either order, or the events
// after the wall clock stepped back, make blocks instead of growing one.
// A block made for stragglers older than every block is numbered
// beforeFirstStep below the first (its low bits are then not 0, as of
// every block made for stragglers after a sealed one).
const (
	seqLowBits      = 20
	sealStep        = 1 << seqLowBits
	firstBlockSeq   = 1 << 40
	beforeFirstStep = sealStep - 1
)

// newBlockSeq returns the number of a new block between blocks p and n
// (ok: there is one): just above p when p was made for stragglers and n
// was sealed (a run of stragglers in time order fills the gap upwards),
// just below n in the converse case (a run newest first), else the middle.
func newBlockSeq(p, n uint64) (seq uint64, ok bool) {
	if p >= n || n-p < 2 {
		return 0, false
	}
	const low = sealStep - 1
	switch {
	case p&low != 0 && n&low == 0:
		return p + 1, true
	case p&low == 0 && n&low != 0:
		return n - 1, true
	}
	return p + (n-p)/2, true
}

// The kinds of the block lists of the event index (see ixTarget, blockRef).
const (
	ixTargetBlock byte = iota + 2
	ixActorBlock
)

// Sealing. The writer seals when it is idle (as it drains the membership
// lag), and also after a batch under sustained load once the tail holds
// sealLoadBlocks blocks' worth: as many blocks as the batch added (see
// loadSealBlocks), so that a bulk load does not leave its every event in
// the tail until it ends, while a batch of a few writes is followed by the
// compression of one block (about 0.3 ms), not more. It seals the oldest tail
// events whose time is older than the seal age (concurrent writes commit
// slightly out of time order: an event the writer seals must not be
// followed by an older one, which would straggle), and only a full block
// (blockTarget bytes of keys and records, or maxBlockEvents events): a
// quiet log keeps less than a block in the tail rather than sealing
// small blocks. A seal is a batch of process's, like any write: staged,
// logged, committed and applied with them, so a crash loses it whole or
// not at all.

// Defaults of sealOptions.
const (
	blockTarget    = 32 << 10 // flate's window: a block's events all see each other
	maxBlockEvents = 4096
	sealAge        = 2 * time.Second
	sealLoadBlocks = 4
)

// sealOptions are the unexported knobs of sealing (Options.seal), for
// tests: tiny blocks sealed at once.
type sealOptions struct {
	blockBytes int           // 0: blockTarget
	age        time.Duration // with blockBytes set, the seal age (0 included)
	// eager seals at the end of every batch, inside it, every full block
	// (the conformance suite's sealed run: its events are in blocks when
	// its listings read them).
	eager bool
}

// sealer is the writer's state of sealing (Store.sealer), used by the
// writer goroutine only.
type sealer struct {
	blockBytes int
	age        time.Duration
	eager      bool
	enc        blockEncoder
	// tail is the bytes (keys and records) of the tail as far as the
	// writer knows: a hint of when to try a seal, exact after a seal found
	// the tail's end. Open does not walk the log to learn it: it starts at
	// unknownTail, so that the first idle moment tries.
	tail int
	// added is the bytes the last batch added to the tail.
	added int
	// ratio is the raw bytes of the blocks sealed over their compressed
	// bytes (0: none sealed yet; see rawBudget).
	ratio float64
	// notBefore is when the oldest unsealed event of a full block becomes
	// old enough (zero: now).
	notBefore time.Time
}

const unknownTail = 1 << 62

// A block value is stored in whole pages of the file (bbolt's overflow
// pages; a node of the bucket holds two to four blocks): a 32 KiB block of
// create events compresses to about 6 KB and took two pages, 167 bytes an
// event where the compressed bytes were 121. So the sealer sizes a block's
// raw bytes to fill the pages its compressed bytes take: it learns the
// ratio of raw to compressed bytes from the blocks it sealed (ratio, a
// moving average), and aims each block at the whole pages that blockBytes
// would fill, less pageMargin for the ratio's variance.
const (
	pageSize   = 4096 // bbolt's page on the machines scimd runs on (the OS page)
	pageMargin = 0.97
)

// rawBudget is the raw bytes of the next block (see pageSize).
func (z *sealer) rawBudget() int {
	if z.ratio <= 0 || z.blockBytes < 2*pageSize { // (tests' tiny blocks: as asked)
		return z.blockBytes
	}
	pages := math.Ceil(float64(z.blockBytes) / z.ratio / pageSize)
	return min(4*z.blockBytes, max(z.blockBytes/2, int(pages*pageSize*pageMargin*z.ratio)))
}

// learn records that raw bytes of events compressed into a block of n.
func (z *sealer) learn(raw, n int) {
	r := float64(raw) / float64(n)
	if z.ratio == 0 {
		z.ratio = r
	} else {
		z.ratio = (z.ratio + r) / 2
	}
}

func newSealer(o sealOptions) sealer {
	s := sealer{blockBytes: blockTarget, age: sealAge, eager: o.eager, tail: unknownTail}
	if o.blockBytes > 0 {
		s.blockBytes, s.age = o.blockBytes, o.age
	}
	return s
}

// loadSealBlocks is how many blocks the writer seals after a batch under
// load: as many as the batch added to the tail and one more, so that
// sealing keeps pace with any load and catches up; at most
// maxLoadSealBlocks (a bulk load's batch of 8,192 creates adds about 170).
func (s *Store) loadSealBlocks() int {
	z := &s.sealer
	return min(maxLoadSealBlocks, 1+z.added/z.blockBytes)
}

const maxLoadSealBlocks = 256

// sealDue reports whether the writer should try a seal now (idle: a
// block's worth in the tail; else load: sealLoadBlocks blocks' worth). A
// block's worth is rawBudget, what sealBlock seals, not blockBytes: with
// a tail between the two sealBlock seals nothing, and the idle writer
// would try again at once, and again.
func (s *Store) sealDue(idle bool) bool {
	z := &s.sealer
	if s.keepLag || s.writeErr.Load() != nil {
		return false
	}
	need := z.rawBudget()
	if !idle {
		need *= sealLoadBlocks
	}
	return z.tail >= need && !time.Now().Before(z.notBefore)
}

// sealWait returns when a seal becomes due by the clock alone (zero: not so).
func (s *Store) sealWait() time.Time {
	z := &s.sealer
	if s.keepLag || z.tail < z.rawBudget() || !time.Now().Before(z.notBefore) {
		return time.Time{}
	}
	return z.notBefore
}

// idleSealBlocks is how many blocks the idle writer seals per batch: a
// write that arrives meanwhile waits for their compression (about 0.3 ms a
// block of creates, less of updates), and the batch's commit (an fsync)
// is shared by them.
const idleSealBlocks = 4

// sealEvents seals up to max blocks, as a batch of its own (housekeep: a
// derived write, not synced; see sealDue).
func (s *Store) sealEvents(max int) error {
	return s.housekeep(func(b *batch) error { // its events are durable in the tail already
		return b.sealBlocks(max)
	})
}

// sealBlocks seals up to max blocks (sealBlock), stopping at the first it
// does not seal.
func (b *batch) sealBlocks(max int) error {
	for range max {
		if ok, err := b.sealBlock(time.Now()); err != nil || !ok {
			return err
		}
	}
	return nil
}

// eventBatch is a batch's state of the event log (batch.ev).
type eventBatch struct {
	// tail is the change of the tail's bytes the batch made (the writer
	// adds it to sealer.tail when the batch commits).
	tail int
	// end is the last sealed key as the batch sees it, once read (endRead).
	end     []byte
	endRead bool
}

// blockEnd returns the last key of the last block as the batch sees it
// (nil: no block).
func (b *batch) blockEnd() []byte {
	if !b.ev.endRead {
		b.ev.end, b.ev.endRead = bytes.Clone(lastSealed(&b.u.txBuckets)), true
	}
	return b.ev.end
}

// sealBlock seals the oldest tail events into a new block when a full
// block of them is older than the seal age at now, and reports whether it
// did. When it did not, it records in the sealer when to try again.
func (b *batch) sealBlock(now time.Time) (bool, error) {
	z := &b.s.sealer
	cut := make([]byte, 12)
	timeKey(cut, now.Add(-z.age))
	events := b.u.bucket(fbEvents)
	var evs []blockEvent
	size := 0
	c := events.Cursor()
	// From the last sealed key on, not from the first key: the tail's
	// sealed keys may still be deletions in the overlay, which a walk from
	// the start would step over, each seal more of them.
	k, v := firstAfter(c, b.blockEnd())
	budget := z.rawBudget()
	for ; k != nil && size < budget && len(evs) < maxBlockEvents; k, v = c.Next() {
		if bytes.Compare(k[:12], cut) >= 0 {
			z.notBefore = keyTime(k).Add(z.age + time.Millisecond) // (strictly older then)
			return false, nil
		}
		evs = append(evs, blockEvent{bytes.Clone(k), bytes.Clone(v)})
		size += len(k) + len(v)
	}
	if size < budget && len(evs) < maxBlockEvents { // the tail's end: it is all there is
		z.tail = size - b.ev.tail // (the batch's own events are added when it commits)
		return false, nil
	}
	b.staged++
	meta := b.u.bucket(fbMeta)
	seq := uint64(firstBlockSeq)
	if last, ok := blockSeq(meta.Get(keyEventBlockSeq)); ok {
		seq = last + sealStep
	}
	sk := blockSeqKey(seq)
	if err := meta.Put(keyEventBlockSeq, sk); err != nil {
		return false, err
	}
	block := z.enc.encode(evs)
	z.learn(size, len(block))
	if err := b.u.bucket(fbEventBlocks).Put(sk, block); err != nil {
		return false, err
	}
	last := evs[len(evs)-1].key
	if err := b.u.bucket(fbEventBlockEnds).Put(last, sk); err != nil {
		return false, err
	}
	counts := blockCounts{}
	for _, ev := range evs {
		if h, err := decodeEventHead(ev.key, ev.rec); err == nil {
			if err := indexEvent(&b.u.txBuckets, ev.key, h.Tg, h.A, false); err != nil {
				return false, err
			}
			counts.add(h.Tg, h.A, 1)
		}
		if err := events.Delete(ev.key); err != nil {
			return false, err
		}
	}
	if err := counts.write(&b.u.txBuckets, seq); err != nil {
		return false, err
	}
	b.ev.end, b.ev.endRead = last, true
	b.ev.tail -= size
	return true, nil
}

// blockCounts are changes of the counts of one block in block lists: kind
// and id → delta.
type blockCounts map[blockListID]int

// blockListID names a block list: ixTargetBlock or ixActorBlock, and the id.
type blockListID struct {
	kind byte
	id   string
}

// add counts delta events of the target and the actor.
func (c blockCounts) add(target, actor string, delta int) {
	if indexed(target) {
		c[blockListID{ixTargetBlock, target}] += delta
	}
	if indexed(actor) {
		c[blockListID{ixActorBlock, actor}] += delta
	}
}

// addEvent counts delta of the event ev as add does, by the target and
// actor of its head; an event whose head cannot be read counts in no list.
func (c blockCounts) addEvent(ev blockEvent, delta int) {
	if h, err := decodeEventHead(ev.key, ev.rec); err == nil {
		c.add(h.Tg, h.A, delta)
	}
}

// write applies the changes to the block lists of block seq (see
// blockRef; a block whose count reaches 0 leaves its list).
func (c blockCounts) write(t *txBuckets, seq uint64) error {
	bk := t.bucket(fbEventIndex)
	for ki, d := range c {
		if d == 0 {
			continue
		}
		if err := addToBlockList(bk, ixPrefix(ki.kind, ki.id), seq, d); err != nil {
			return err
		}
	}
	return nil
}

// A block list is the blocks holding events of one id (as a target, or as
// an actor) with how many each holds, in chunks of up to
// maxBlockListChunk blocks: key ixPrefix(ixTargetBlock or ixActorBlock,
// id) then an 8-byte chunk key, at most the sequence number of each of its
// blocks and above every block of the chunk before; value per block in
// ascending order its number less the one before (the first: less the
// chunk key) and its count, uvarints. One entry per block and id instead
// cost 24 bytes of key and bbolt's 16 of element per (id, block) — about
// one per event, since a user's few events a year fall in as many blocks;
// a chunk holds a user's year in about 40 bytes. A seal appends to the
// last chunk of each of its ids; a straggler or a prune changes the chunk
// covering its block.
type blockRef struct {
	seq uint64
	n   uint64
}

// maxBlockListChunk bounds a chunk: the connector that acts in every
// event has one block list entry per block, and its last chunk is
// rewritten at every seal. Stragglers' blocks go into the chunk covering
// them, before its last block (an import of an older log: all into the
// first chunk); a chunk they grow past twice the bound is split in two.
var maxBlockListChunk = 256 // a variable for the tests

// A block list codes each block as the difference of its number's high
// part (above seqLowBits) from the one before's (sealed blocks sealStep
// apart: 1), then its count shifted left by one, the low bit set when the
// low part is not 0 (a block made for stragglers) and follows: a sealed
// block's number takes what it took when they were numbered one apart,
// and the flag costs a user's count of 1 nothing.
func decodeBlockList(chunk uint64, v []byte) ([]blockRef, error) {
	var refs []blockRef
	prev := chunk
	r := rbuf{b: v}
	for len(r.b) > 0 {
		d, x := r.uint(), r.uint()
		var lo uint64
		if x&1 != 0 {
			lo = r.uint()
		}
		n, hi := x>>1, prev>>seqLowBits+d
		if r.err != nil || x&1 != 0 && (lo == 0 || lo >= sealStep) ||
			n == 0 || hi < prev>>seqLowBits || hi > math.MaxUint64>>seqLowBits {
			return nil, errDamagedBlockList
		}
		seq := hi<<seqLowBits | lo
		if len(refs) > 0 && seq <= prev || seq < chunk {
			return nil, errDamagedBlockList
		}
		refs = append(refs, blockRef{seq, n})
		prev = seq
	}
	return refs, nil
}

var errDamagedBlockList = errors.New("embedded: a block list of the event index is damaged")

func encodeBlockList(chunk uint64, refs []blockRef) []byte {
	var out []byte
	prev := chunk
	for _, r := range refs {
		x, lo := r.n<<1, r.seq&(sealStep-1)
		if lo != 0 {
			x |= 1
		}
		out = binary.AppendUvarint(out, r.seq>>seqLowBits-prev>>seqLowBits)
		out = binary.AppendUvarint(out, x)
		if lo != 0 {
			out = binary.AppendUvarint(out, lo)
		}
		prev = r.seq
	}
	return out
}

// addToBlockList adds delta to the count of block seq in the block list
// of prefix (ixPrefix), in the chunk covering seq: the last whose key is
// at most seq, else the first (whose key becomes seq); after the last
// block of a full chunk, a new chunk. A chunk that cannot be decoded is
// replaced: the write goes on, and that chunk's blocks are no longer
// found by the id (as events whose head cannot be read).
func addToBlockList(bk *kvBucket, prefix []byte, seq uint64, delta int) error {
	want := binary.BigEndian.AppendUint64(bytes.Clone(prefix), seq)
	c := bk.Cursor()
	k, v := c.Seek(want)
	if !bytes.Equal(k, want) {
		var pk, pv []byte
		if k == nil {
			pk, pv = c.Last()
		} else {
			pk, pv = c.Prev()
		}
		if pk != nil && bytes.HasPrefix(pk, prefix) && len(pk) == len(want) {
			k, v = pk, pv
		} else if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(want) {
			k, v = nil, nil // no chunk yet
		}
	}
	var chunk uint64
	var refs []blockRef
	if k != nil {
		chunk = binary.BigEndian.Uint64(k[len(prefix):])
		refs, _ = decodeBlockList(chunk, v)
		k = bytes.Clone(k)
	}
	i, found := slices.BinarySearchFunc(refs, seq, func(r blockRef, s uint64) int { return cmp.Compare(r.seq, s) })
	switch {
	case found:
		if n := int64(refs[i].n) + int64(delta); n > 0 {
			refs[i].n = uint64(n)
		} else {
			refs = slices.Delete(refs, i, i+1)
		}
	case delta <= 0:
		return nil // nothing to take from
	case k != nil && i == len(refs) && len(refs) >= maxBlockListChunk && seq > chunk:
		k, chunk, refs = nil, seq, []blockRef{{seq, uint64(delta)}} // a new chunk after a full one
	default:
		refs = slices.Insert(refs, i, blockRef{seq, uint64(delta)})
	}
	if k == nil {
		k, chunk = want, seq
	} else if seq < chunk { // before the first chunk's key: it is re-keyed
		if err := bk.Delete(k); err != nil {
			return err
		}
		k, chunk = want, seq
	}
	if len(refs) == 0 {
		return bk.Delete(k)
	}
	if len(refs) > 2*maxBlockListChunk { // grown by stragglers: its upper half is a chunk of its own
		h := len(refs) / 2
		hk := binary.BigEndian.AppendUint64(bytes.Clone(prefix), refs[h].seq)
		if err := bk.Put(hk, encodeBlockList(refs[h].seq, refs[h:])); err != nil {
			return err
		}
		refs = refs[:h]
	}
	return bk.Put(k, encodeBlockList(chunk, refs))
}

// putStraggler stores the event (key, rec) whose key is at most the last
// sealed key into a block, keeping the invariant; an event of the same key
// is replaced. Its block: the one whose range holds the key; for a key
// between two blocks (or before the first), the block before it while
// that is not full (the key becomes its last), else the one after it
// while that is not full (its first), else a new block between them (or
// before the first; newBlockSeq), else — no sequence number left between
// them — the one after it. A block that grows past twice blockBytes so is
// split in two (splitStraggled). So stragglers of a commit delayed past the
// seal age join their neighbours, and an import of an older log or the
// events after the wall clock stepped back make blocks of their own rather
// than growing one without bound. A block that cannot be decoded fails
// the write.
func (b *batch) putStraggler(key, rec []byte, target, actor string) error {
	ends, blocks := b.u.bucket(fbEventBlockEnds), b.u.bucket(fbEventBlocks)
	c := ends.Cursor()
	nEnd, nv := c.Seek(key) // N: the first block whose last key is not below key
	nSeq, ok := blockSeq(nv)
	if !ok {
		return fmt.Errorf("embedded: event %s: no sealed block covers it", key[12:])
	}
	nEnd = bytes.Clone(nEnd)
	full := func(v []byte) bool {
		h, err := parseBlockHeader(v)
		return err != nil || h.rawLen >= b.s.sealer.blockBytes
	}
	nBlock := blocks.Get(nv)
	var into uint64 // the block to insert into (0: a new one at seq)
	var seq uint64
	var intoEnd []byte // its last key
	if h, err := parseBlockHeader(nBlock); err != nil || bytes.Compare(key, h.first) >= 0 || !full(nBlock) {
		into, intoEnd = nSeq, nEnd // in N's range (or N has room, or N is damaged: fails below)
	} else if pEnd, pv := c.Prev(); pEnd != nil {
		pSeq, pok := blockSeq(pv)
		var room bool
		switch {
		case pok && !full(blocks.Get(pv)):
			into, intoEnd = pSeq, bytes.Clone(pEnd)
		case pok:
			seq, room = newBlockSeq(pSeq, nSeq)
		}
		if into == 0 && !room { // (a damaged entry of P: no number is known to be free)
			into, intoEnd = nSeq, nEnd
		}
	} else if s, ok := b.beforeFirstSeq(nSeq); ok {
		seq = s
	} else {
		into, intoEnd = nSeq, nEnd
	}
	counts := blockCounts{}
	counts.add(target, actor, 1)
	if into == 0 { // a new block of the one event
		sk := blockSeqKey(seq)
		if err := blocks.Put(sk, b.s.sealer.enc.encode([]blockEvent{{key, rec}})); err != nil {
			return err
		}
		if err := ends.Put(key, sk); err != nil {
			return err
		}
		return counts.write(&b.u.txBuckets, seq)
	}
	sk := blockSeqKey(into)
	_, evs, err := decodeBlock(blocks.Get(sk))
	if err != nil {
		return fmt.Errorf("embedded: event %s belongs in sealed block %d: %w", key[12:], into, err)
	}
	i, found := slices.BinarySearchFunc(evs, key, func(e blockEvent, k []byte) int { return bytes.Compare(e.key, k) })
	if found {
		counts.addEvent(evs[i], -1)
		evs[i].rec = rec
	} else {
		evs = slices.Insert(evs, i, blockEvent{key, rec})
	}
	last := bytes.Clone(evs[len(evs)-1].key)
	if !bytes.Equal(last, intoEnd) { // appended to the block before
		if err := errors.Join(ends.Delete(intoEnd), ends.Put(last, sk)); err != nil {
			return err
		}
	}
	if evs, err = b.splitStraggled(evs, into, last, counts); err != nil {
		return err
	}
	if err := blocks.Put(sk, b.s.sealer.enc.encode(evs)); err != nil {
		return err
	}
	return counts.write(&b.u.txBuckets, into)
}

// beforeFirstSeq returns the number of a new block before the first block,
// numbered n (ok: there is one): beforeFirstStep below n, but above
// keyEventBlockRetired.
func (b *batch) beforeFirstSeq(n uint64) (uint64, bool) {
	floor, _ := blockSeq(b.u.bucket(fbMeta).Get(keyEventBlockRetired))
	if n > beforeFirstStep && n-beforeFirstStep > floor {
		return n - beforeFirstStep, true
	}
	return newBlockSeq(floor, n)
}

// splitStraggled bounds a block that stragglers grew (the events after
// the wall clock stepped back fall inside the block sealed as it did):
// when evs, the events of block seq (whose last key is end),
// hold more than twice blockBytes, their lower half becomes a new block
// numbered between the block before and seq (newBlockSeq; while there is
// a number), its counts moved from counts (seq's) to its own. It returns
// the events left to block seq.
func (b *batch) splitStraggled(evs []blockEvent, seq uint64, end []byte, counts blockCounts) ([]blockEvent, error) {
	size := 0
	for _, ev := range evs {
		size += len(ev.key) + len(ev.rec)
	}
	if size <= 2*b.s.sealer.blockBytes || len(evs) < 2 {
		return evs, nil
	}
	ends := b.u.bucket(fbEventBlockEnds)
	c := ends.Cursor()
	c.Seek(end)
	var lowSeq uint64
	var ok bool
	if _, pv := c.Prev(); pv != nil {
		if pSeq, pok := blockSeq(pv); pok {
			lowSeq, ok = newBlockSeq(pSeq, seq)
		}
	} else {
		lowSeq, ok = b.beforeFirstSeq(seq)
	}
	if !ok {
		return evs, nil // no number left: it grows
	}
	h, half := 0, 0
	for half < size/2 && h < len(evs)-1 {
		half += len(evs[h].key) + len(evs[h].rec)
		h++
	}
	low := blockCounts{}
	for _, ev := range evs[:h] {
		if hd, err := decodeEventHead(ev.key, ev.rec); err == nil {
			low.add(hd.Tg, hd.A, 1)
			counts.add(hd.Tg, hd.A, -1)
		}
	}
	sk := blockSeqKey(lowSeq)
	if err := b.u.bucket(fbEventBlocks).Put(sk, b.s.sealer.enc.encode(evs[:h])); err != nil {
		return nil, err
	}
	if err := ends.Put(bytes.Clone(evs[h-1].key), sk); err != nil {
		return nil, err
	}
	return evs[h:], low.write(&b.u.txBuckets, lowSeq)
}

// pruneBlocks deletes up to limit events older than before (hi: its time
// key) from the blocks, oldest first: whole blocks, and the one that
// straddles before rewritten without them; it returns how many, and
// whether the tail may be pruned next (every block older than before is
// gone). A block that cannot be decoded cannot be cut: it is deleted whole
// once its last key (its entry's in eventBlockEnds, which a damaged header
// does not hide) is older than before, even past the limit, and counts as
// its header's count (1 when even the header cannot be read); its index
// entries stay (listings skip entries of a missing block), and its number
// is retired (keyEventBlockRetired). Stopping before
// it instead stopped retention for good: every later call stopped there.
func (b *batch) pruneBlocks(hi []byte, limit int) (n int, more bool, err error) {
	ends, blocks := b.u.bucket(fbEventBlockEnds), b.u.bucket(fbEventBlocks)
	defer func() { b.ev.endRead = false }() // the last block may be gone
	for n < limit {
		end, sv := ends.Cursor().First()
		if end == nil {
			return n, true, nil
		}
		end, sv = bytes.Clone(end), bytes.Clone(sv)
		seq, seqOK := blockSeq(sv)
		v := blocks.Get(sv)
		h, evs, derr := decodeBlock(v)
		if derr != nil {
			if len(end) < 12 || bytes.Compare(end[:12], hi) >= 0 {
				return n, false, nil
			}
			b.staged++
			if err := errors.Join(blocks.Delete(sv), ends.Delete(end)); err != nil {
				return n, false, err
			}
			if seqOK { // its number stays in block lists: retired
				if err := b.u.bucket(fbMeta).Put(keyEventBlockRetired, blockSeqKey(seq)); err != nil {
					return n, false, err
				}
			}
			n += max(1, h.count)
			continue
		}
		m := 0
		for m < len(evs) && m < limit-n && bytes.Compare(evs[m].key[:12], hi) < 0 {
			m++
		}
		if m == 0 {
			return n, false, nil
		}
		b.staged++
		counts := blockCounts{}
		for _, ev := range evs[:m] {
			counts.addEvent(ev, -1)
		}
		if m == len(evs) {
			err = errors.Join(blocks.Delete(sv), ends.Delete(end))
		} else {
			err = blocks.Put(sv, b.s.sealer.enc.encode(evs[m:]))
		}
		if err == nil {
			err = counts.write(&b.u.txBuckets, seq)
		}
		if err != nil {
			return n, false, err
		}
		n += m
		if m < len(evs) {
			return n, false, nil // its next event is not older, or the limit is reached
		}
	}
	return n, false, nil
}

// sealEager seals, with sealOptions.eager, every full block of the tail
// into the batch (see finish).
func (b *batch) sealEager() error {
	if !b.s.sealer.eager {
		return nil
	}
	return b.sealBlocks(math.MaxInt)
}

// eventLister is one ListEvents call's walk: the tail first, then the
// blocks, newest first, counting every match in page.Total and keeping the
// page's.
type eventLister struct {
	t        *txBuckets
	q        storage.EventQuery
	lo, hi   []byte // time keys: inclusive, exclusive (nil: none)
	page     *storage.Page[*schemas.Event]
	filtered bool // the query has an id or action filter
	// needles are bytes that a binary record of a match holds (idNeedle)
	needles [2][]byte
}

// newEventLister returns the lister of q between lo and hi into page.
func newEventLister(t *txBuckets, q storage.EventQuery, lo, hi []byte, page *storage.Page[*schemas.Event]) *eventLister {
	return &eventLister{t: t, q: q, lo: lo, hi: hi, page: page,
		filtered: q.ActorID != "" || q.TargetID != "" || q.Action != "",
		needles:  [2][]byte{idNeedle(q.TargetID), idNeedle(q.ActorID)}}
}

// idNeedle returns the bytes every binary event record that holds id (as
// any of its strings) contains, as dstr writes it: a canonical UUID's 16
// bytes, another string's own bytes; nil for "" and for a dictionary
// string (written as an index).
func idNeedle(id string) []byte {
	if _, dict := eventDictIndex[id]; id == "" || dict {
		return nil
	}
	if u, ok := uuidfmt.Parse(id); ok {
		return u[:]
	}
	return []byte(id)
}

// match reports whether the event (key k, record v) matches the query's
// filters; a head that cannot be read matches none. A binary record that
// lacks the needle of a filtering id is no match without decoding its
// head: a block holds about a hundred events of other targets.
func (l *eventLister) match(k, v []byte) bool {
	if !l.filtered {
		return true
	}
	if binaryEvent(v) {
		for _, n := range l.needles {
			if n != nil && !bytes.Contains(v, n) {
				return false
			}
		}
	}
	h, _ := decodeEventHead(k, v)
	q := l.q
	return (q.ActorID == "" || h.A == q.ActorID) && (q.TargetID == "" || h.Tg == q.TargetID) && (q.Action == "" || h.Ac == q.Action)
}

// inPage reports whether any of the n matches after the ones counted so
// far is on the page.
func (l *eventLister) inPage(n int) bool {
	at, q := l.page.Total, l.q
	return at+n > q.Offset && (q.Limit == storage.Unlimited || at < q.Offset+q.Limit)
}

// event counts the event (key k, record v) if it matches, and keeps it if
// it is on the page.
func (l *eventLister) event(k, v []byte) {
	if !l.match(k, v) {
		return
	}
	if l.inPage(1) {
		l.page.Items = append(l.page.Items, readEvent(k, v))
	}
	l.page.Total++
}

// blocks walks the blocks newest first for a query without an indexed id:
// from the one covering hi (the first whose last key is not below it) down
// to the last whose events reach lo.
func (l *eventLister) blocks() {
	ends, blocks := l.t.bucket(fbEventBlockEnds).Cursor(), l.t.bucket(fbEventBlocks)
	var end, sv []byte
	if l.hi != nil {
		end, sv = ends.Seek(l.hi)
	}
	if end == nil {
		end, sv = ends.Last()
	}
	for ; end != nil; end, sv = ends.Prev() {
		if l.lo != nil && bytes.Compare(end[:min(12, len(end))], l.lo) < 0 {
			return
		}
		l.block(blocks.Get(sv), -1)
	}
}

// indexedBlocks walks, after the tail's (indexedTail), the blocks
// holding events of the query's indexed id (its target's, else its
// actor's) newest first, by its block list (blockRef).
func (l *eventLister) indexedBlocks() {
	kind, id := ixTargetBlock, l.q.TargetID
	if id == "" {
		kind, id = ixActorBlock, l.q.ActorID
	}
	// The numbers of the blocks the time bounds leave: none above the one
	// covering hi, none below the first that reaches lo; the others are
	// passed over without reading them.
	// (A damaged entry bounds nothing: the blocks' headers still do.)
	minSeq, maxSeq := uint64(0), uint64(math.MaxUint64)
	ends := l.t.bucket(fbEventBlockEnds).Cursor()
	if l.hi != nil {
		if _, sv := ends.Seek(l.hi); sv != nil {
			if seq, ok := blockSeq(sv); ok {
				maxSeq = seq
			}
		}
	}
	if l.lo != nil {
		_, sv := ends.Seek(l.lo)
		if sv == nil {
			return // every block ends before lo
		}
		if seq, ok := blockSeq(sv); ok {
			minSeq = seq
		}
	}
	prefix := ixPrefix(kind, id)
	blocks, c := l.t.bucket(fbEventBlocks), l.t.bucket(fbEventIndex).Cursor()
	k, v := lastBefore(c, prefixEnd(prefix))
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if len(k) != len(prefix)+8 {
			continue // not a chunk this store writes
		}
		chunk := binary.BigEndian.Uint64(k[len(prefix):])
		if chunk > maxSeq {
			continue // (its blocks are numbered from chunk on)
		}
		refs, err := decodeBlockList(chunk, v)
		if err != nil {
			continue // its blocks are not found by the id (see addToBlockList)
		}
		for i := len(refs) - 1; i >= 0; i-- {
			if refs[i].seq > maxSeq {
				continue
			}
			if refs[i].seq < minSeq {
				return
			}
			v := blocks.Get(blockSeqKey(refs[i].seq))
			if v == nil {
				continue // a damaged block pruned whole (pruneBlocks)
			}
			if h, err := parseBlockHeader(v); err == nil {
				if l.hi != nil && bytes.Compare(h.first[:12], l.hi) >= 0 {
					continue
				}
				if l.lo != nil && bytes.Compare(h.last[:12], l.lo) < 0 {
					return
				}
			}
			l.block(v, int(min(refs[i].n, 1<<31)))
		}
	}
}

// block counts and keeps the matches of the block value v, which holds n
// of them when no more than the id the walk follows filters it (n < 0:
// the block's count, when nothing filters). It decodes the block only
// when it must: when the time bounds cut it, another filter is left to
// check, or the page takes some of its events.
//
// A block that cannot be decoded where it must be matches no filter and no
// time bound that cuts it (as an event whose head cannot be read); else it
// counts as its n events and its first position on the page gets one event
// that stands for it all, with Damaged set (its id and time those of its
// newest event, when its header tells them), and the page is that much
// shorter: one damaged block never breaks reading the log.
func (l *eventLister) block(v []byte, n int) {
	h, err := parseBlockHeader(v)
	cut := err != nil && (l.lo != nil || l.hi != nil) ||
		err == nil && (l.lo != nil && bytes.Compare(h.first[:12], l.lo) < 0 || l.hi != nil && bytes.Compare(h.last[:12], l.hi) >= 0)
	// Other filters than the walk's id: with n < 0 any; else the actor of
	// a query by target, or the action.
	other := l.filtered && (n < 0 || l.q.TargetID != "" && l.q.ActorID != "" || l.q.Action != "")
	if n < 0 {
		n = h.count
		if err != nil {
			n = 1
		}
	}
	if !cut && !other && !l.inPage(n) {
		l.page.Total += n
		return
	}
	var evs []blockEvent
	if err == nil {
		_, evs, err = decodeBlock(v)
	}
	if err != nil {
		if cut || other {
			return
		}
		if l.inPage(n) {
			l.page.Items = append(l.page.Items, damagedBlock(h, err))
		}
		l.page.Total += n
		return
	}
	for i := len(evs) - 1; i >= 0; i-- {
		k := evs[i].key
		if l.hi != nil && bytes.Compare(k[:12], l.hi) >= 0 {
			continue
		}
		if l.lo != nil && bytes.Compare(k[:12], l.lo) < 0 {
			break
		}
		l.event(k, evs[i].rec)
	}
}

// damagedBlock is the event that stands for a block that cannot be decoded.
func damagedBlock(h blockHeader, err error) *schemas.Event {
	e := &schemas.Event{Damaged: fmt.Sprintf("a sealed block of %d audit events could not be decoded: %v", h.count, err)}
	if len(h.last) >= 12 {
		e.ID, e.Time = string(h.last[12:]), keyTime(h.last)
	}
	return e
}
