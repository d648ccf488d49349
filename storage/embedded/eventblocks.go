package embedded

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/scimd/scimd/internal/uuidfmt"
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
// eventBlockEnds maps each block's last key to its sequence number (4
// bytes, big-endian), so that a Seek finds the block covering a key. Index
// entries of sealed events are per block (ixTargetBlock, ixActorBlock: the
// kind, the id as the per-event entries hold it, then the 4-byte sequence
// number → the id's number of events in the block as a uvarint).

const blockCodecV1 = 0xB1

var (
	bucketEventBlocks    = []byte("eventBlocks")
	bucketEventBlockEnds = []byte("eventBlockEnds")
	// keyEventBlockSeq (meta) is the sequence number of the last block
	// sealed (4 bytes, big-endian; absent: none yet), so that a sequence
	// number is never used twice, even when pruning deleted that block.
	keyEventBlockSeq = []byte("eventBlockSeq")
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
	r := v[1:]
	uv := func() (uint64, bool) {
		x, n := binary.Uvarint(r)
		if n <= 0 {
			return 0, false
		}
		r = r[n:]
		return x, true
	}
	bytesOf := func() ([]byte, bool) {
		n, ok := uv()
		if !ok || n > uint64(len(r)) {
			return nil, false
		}
		b := r[:n:n]
		r = r[n:]
		return b, true
	}
	count, ok1 := uv()
	first, ok2 := bytesOf()
	last, ok3 := bytesOf()
	raw, ok4 := uv()
	if len(r) < 4 {
		ok4 = false
	} else {
		h.crc = binary.BigEndian.Uint32(r)
		r = r[4:]
	}
	if !ok1 || !ok2 || !ok3 || !ok4 || count == 0 || count > raw || raw > maxBlockRaw || len(first) < 12 || len(last) < 12 ||
		bytes.Compare(first, last) > 0 {
		return h, fmt.Errorf("%w: bad header", errDamagedBlock)
	}
	h.count, h.first, h.last, h.rawLen, h.payload = int(count), first, last, int(raw), r
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
	raw.Grow(min(h.rawLen, 64<<10))
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
			keys = append(keys, uuidfmt.Format([16]byte(raw[:16]))...)
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

// blockEncoder encodes blocks; the writer goroutine owns one (Store.blocks)
// and reuses its compressor and buffers.
type blockEncoder struct {
	fw  *flate.Writer
	raw bytes.Buffer
	out bytes.Buffer
}

// blockLevel is the flate level of sealed blocks (see docs/performance.md
// for the measurement that chose it).
const blockLevel = flate.DefaultCompression

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
	for _, x := range []uint64{uint64(len(evs)), uint64(len(first))} {
		out.Write(binary.AppendUvarint(tmp[:0], x))
	}
	out.Write(first)
	out.Write(binary.AppendUvarint(tmp[:0], uint64(len(last))))
	out.Write(last)
	out.Write(binary.AppendUvarint(tmp[:0], uint64(e.raw.Len())))
	out.Write(binary.BigEndian.AppendUint32(tmp[:0], crc32.Checksum(e.raw.Bytes(), castagnoli)))
	if e.fw == nil {
		e.fw, _ = flate.NewWriter(out, blockLevel) // (an error only for a bad level)
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

// blockSeqKey is the key of block seq in eventBlocks.
func blockSeqKey(seq uint32) []byte { return binary.BigEndian.AppendUint32(nil, seq) }
