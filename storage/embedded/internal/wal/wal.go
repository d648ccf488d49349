package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// ErrCorrupt is wrapped by the error of Open or Replay when the log holds
// damage that is not the torn tail of an interrupted append: a bad record
// followed by a valid one, a bad record in a segment other than the last,
// seqs that do not increase, or a segment whose first record is not the seq
// its name says.
var ErrCorrupt = errors.New("wal: corrupt")

const (
	headerSize = 16 // length uint32, crc32c uint32, seq uint64; also the segment header's size

	// segmentMagic opens every segment, in place of a record's length: the
	// segment header is segmentMagic, the CRC-32C of prev, and prev, the seq
	// of the last record before the segment ("WAL1" little endian).
	segmentMagic = 0x314c4157

	// MaxRecord is the largest payload a record may carry. A length field
	// above it is corruption, never an allocation.
	MaxRecord = 256 << 20

	// DefaultSegmentBytes is Options.SegmentBytes when it is zero.
	DefaultSegmentBytes = 64 << 20

	segmentSuffix = ".wal"

	// spareName is the file a background goroutine fills with zeros for the
	// next segment (see spare); no segment's name.
	spareName = "spare.tmp"

	// firstSegmentBytes is the size at which the first segment a Log starts
	// is closed (SegmentBytes when smaller); each segment after it closes at
	// twice the size of the one before, up to SegmentBytes.
	firstSegmentBytes = 1 << 20

	// maxKeptBuffer is the largest append buffer kept across Syncs.
	maxKeptBuffer = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options tune a Log.
type Options struct {
	// SegmentBytes is the largest size after which the log starts a new
	// segment file (checked before each Sync writes; one batch may overrun
	// it): the first segment a Log starts closes at 1 MiB, each after it at
	// twice the size of the one before, up to SegmentBytes; each segment is
	// preallocated (or filled with zeros) to its size. 0 means
	// DefaultSegmentBytes.
	SegmentBytes int64
}

// segment is one file of the log, dir/<16 hex digits of first>.wal.
type segment struct {
	first uint64 // seq of its first record, from its name
	last  uint64 // seq of its last durable record
	prev  uint64 // seq of the last record before it, from its header
	size  int64  // bytes of its header and records; past them only zeros (preallocation)
	limit int64  // the size at which it is closed, zeros or preallocated up to it (appended to: the last)
}

// Log is a sequence of records, each (seq uint64, payload []byte), seq
// strictly increasing, stored in segment files dir/<16 hex digits of the
// segment's first seq>.wal.
//
// A Log is not safe for concurrent use: one goroutine calls Append and Sync,
// and Release, Replay, LastSeq, Bytes and Close only from that same goroutine
// (or under the caller's own lock). Only one Log may have a directory open at
// a time; the caller ensures it (the embedded store locks its data directory).
type Log struct {
	dir      string
	segBytes int64
	segs     []segment // live segments, oldest first
	cur      *os.File  // open for appending to segs[len(segs)-1]; nil: the next Sync starts a segment

	buf      []byte // headerSize bytes for a segment header, then the framed records appended since the last Sync
	bufFirst uint64 // seq of buf's first record
	last     uint64 // largest seq appended (durable or buffered)
	synced   uint64 // largest seq synced
	removed  bool   // a segment was removed since the directory was last fsynced
	err      error  // sticky: set when a write or sync failed
	closed   bool

	// spare is the next segment being zero-filled (nil: none). Appends into
	// blocks that fallocate reserved convert unwritten extents, metadata
	// that each fdatasync must then journal; blocks written with zeros
	// beforehand are plain overwrites, which fdatasync flushes alone:
	// measured on ext4 (this machine's /dev/vda), 59 instead of 76 µs of
	// CPU and 106–184 instead of 145–265 µs of wall time per 3 KB append
	// and fdatasync. Once the current segment is half full, a spare is
	// prepared for the next, with as many zeros as the next one's size
	// (twice this one's, up to SegmentBytes): a log that stays small (a
	// test's) writes none, and a busy one syncs into zeros from its second
	// segment on, its first being 1 MiB (firstSegmentBytes).
	spare     *spare
	lastLimit int64 // the limit of the segment started last (0: none since Open)
	// sparesUsed counts the segments started from a spare; noSpares turns
	// spares off (both for the tests).
	sparesUsed int
	noSpares   bool
}

// spare is a segment file being filled with zeros in the background.
type spare struct {
	done chan struct{} // closed when the goroutine is over
	stop atomic.Bool   // asks it to give up (Close)
	size int64         // bytes of zeros
	f    *os.File      // the zero-filled, synced file, set before done closes; nil when that failed
}

// Open opens the log in dir, creating dir (mode 0700) when missing. It
// scans every segment: a torn tail of the last segment (a record cut short
// or with a bad checksum, as a crash during an append leaves it, with no
// valid record after it) is truncated away and the log appends after the
// last valid record; a last segment left with no record is removed. Any
// other damage makes Open fail with an error wrapping ErrCorrupt: a bad
// record followed by a valid one, a bad record in a segment other than the
// last, seqs that do not increase. Open never drops a record that Sync
// acknowledged without reporting it.
func Open(dir string, opt Options) (*Log, error) {
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = DefaultSegmentBytes
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	firsts, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, segBytes: opt.SegmentBytes}
	if err := os.Remove(filepath.Join(dir, spareName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err // a spare left by a crash: prepared again when needed
	}
	var scratch []byte
	dirChanged := false
	for i, first := range firsts {
		isLast := i == len(firsts)-1
		path := l.path(first)
		sc, err := scanSegment(path, first, &scratch)
		if err != nil {
			return nil, err
		}
		if len(l.segs) > 0 && sc.last != 0 && sc.prev != l.last {
			return nil, fmt.Errorf("%w: %s follows seq %d but the segment before ends at %d: a segment is missing", ErrCorrupt, path, sc.prev, l.last)
		}
		if !isLast && (sc.torn || sc.last == 0) {
			if sc.last == 0 {
				return nil, fmt.Errorf("%w: %s holds no record but is not the last segment", ErrCorrupt, path)
			}
			return nil, fmt.Errorf("%w: %s: bad record at offset %d, and it is not the last segment", ErrCorrupt, path, sc.end)
		}
		if isLast && sc.last == 0 {
			// Created by a Sync that did not complete: nothing in it was
			// acknowledged.
			if err := os.Remove(path); err != nil {
				return nil, err
			}
			dirChanged = true
			break
		}
		if isLast && sc.torn {
			if err := truncateDurably(path, sc.end); err != nil {
				return nil, err
			}
		}
		l.segs = append(l.segs, segment{first: first, last: sc.last, prev: sc.prev, size: sc.end})
		l.last = sc.last
	}
	l.synced = l.last
	if dirChanged {
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	if n := len(l.segs); n > 0 && l.segs[n-1].size < l.segBytes {
		f, err := os.OpenFile(l.path(l.segs[n-1].first), os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		if err := preallocate(f, l.segBytes); err != nil {
			f.Close()
			return nil, err
		}
		l.cur = f
		l.segs[n-1].limit, l.lastLimit = l.segBytes, l.segBytes
	}
	return l, nil
}

// Append adds the record (seq, payload) to the log's buffer: it is written
// and made durable by the next Sync, not before. seq must be greater than
// every seq appended before (LastSeq) and payload at most MaxRecord bytes;
// otherwise Append returns an error and the log is unchanged. Append copies
// payload, does no I/O and, once the buffer has grown to a batch's size,
// allocates nothing.
func (l *Log) Append(seq uint64, payload []byte) error {
	if l.err != nil {
		return l.err
	}
	if l.closed {
		return errors.New("wal: append to a closed log")
	}
	if seq <= l.last {
		return fmt.Errorf("wal: append seq %d, not above the last seq %d", seq, l.last)
	}
	if len(payload) > MaxRecord {
		return fmt.Errorf("wal: record of %d bytes, above the limit of %d", len(payload), MaxRecord)
	}
	if len(l.buf) <= headerSize {
		l.buf = append(l.buf[:0], make([]byte, headerSize)...) // no allocation once buf has room
		l.bufFirst = seq
	}
	// Framed in place in buf (a header in a local array would escape to
	// the heap through crc32's assembly).
	start := len(l.buf)
	l.buf = binary.LittleEndian.AppendUint32(l.buf, uint32(len(payload)))
	l.buf = binary.LittleEndian.AppendUint32(l.buf, 0) // crc, below
	l.buf = binary.LittleEndian.AppendUint64(l.buf, seq)
	l.buf = append(l.buf, payload...)
	binary.LittleEndian.PutUint32(l.buf[start+4:], crc32.Checksum(l.buf[start+8:], castagnoli))
	l.last = seq
	return nil
}

// Sync writes the records appended since the last Sync and makes them
// durable: when Sync returns nil they survive a crash of the process or of
// the machine (fdatasync; when it started a new segment file, the directory
// is fsynced too). When the current segment holds SegmentBytes or more,
// Sync first starts a new one. After an error the log is failed: that and
// every later Append and Sync return the same error, since the state of
// the file after a failed write or fsync is unknown and an fsync is not
// retryable; the records written before the failure are Open's to judge.
// Sync with nothing appended does nothing.
func (l *Log) Sync() error {
	if l.err != nil {
		return l.err
	}
	if l.closed {
		return errors.New("wal: sync of a closed log")
	}
	if len(l.buf) <= headerSize {
		return nil
	}
	if err := l.sync(); err != nil {
		l.err = fmt.Errorf("wal: log failed: %w", err)
		return l.err
	}
	return nil
}

// Fail makes the log failed as a failed write or fsync does: that and every
// later Append and Sync return err, and nothing more is written (what was
// appended since the last Sync is lost). It exists for tests of the log's
// users, which cannot fail a disk.
func (l *Log) Fail(err error) {
	if l.err == nil {
		l.err = fmt.Errorf("wal: log failed: %w", err)
	}
}

func (l *Log) sync() error {
	if n := len(l.segs); l.cur != nil && l.segs[n-1].size >= l.segs[n-1].limit {
		if err := l.closeCur(); err != nil {
			return err
		}
	}
	newSeg := l.cur == nil
	if newSeg {
		limit := l.nextLimit()
		f, zeros, err := l.takeSpare(l.path(l.bufFirst))
		if err != nil {
			return err
		}
		if f != nil {
			limit = zeros
		} else if f, err = os.OpenFile(l.path(l.bufFirst), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return err
		}
		if err := preallocate(f, limit); err != nil {
			f.Close()
			return err
		}
		l.cur, l.lastLimit = f, limit
		l.segs = append(l.segs, segment{first: l.bufFirst, prev: l.synced, limit: limit})
	}
	s := &l.segs[len(l.segs)-1]
	b := l.buf[headerSize:]
	if newSeg {
		putSegmentHeader(l.buf[:headerSize], l.synced)
		b = l.buf
	}
	if _, err := l.cur.WriteAt(b, s.size); err != nil {
		return err
	}
	if err := datasync(l.cur); err != nil {
		return err
	}
	if newSeg {
		if err := syncDir(l.dir); err != nil {
			return err
		}
		l.removed = false
	}
	s.size += int64(len(b))
	s.last = l.last
	l.synced = l.last
	if l.spare == nil && !l.noSpares && s.size >= s.limit/2 {
		l.prepareSpare(l.nextLimit())
	}
	if cap(l.buf) > maxKeptBuffer {
		l.buf = nil // one huge batch does not pin its memory for good
	} else {
		l.buf = l.buf[:0]
	}
	return nil
}

// Release deletes the segments all of whose records have seq ≤ upTo (the
// caller has their effect elsewhere, durably); it never deletes a record
// with a greater seq, so a segment holding one stays whole. When the
// segment being appended to is entirely ≤ upTo it is closed first (the next
// Sync starts a new one) and deleted too, so that its disk is freed.
// Records appended but not yet synced are not affected. Release is cheap
// when there is nothing to release. The last removal is not made durable:
// after a crash the segment may reappear, and Replay(after) skips its
// records as before. Earlier ones are: before removing a segment, Release
// fsyncs the directory when a removal is not yet durable (a new segment's
// fsync makes it so), since a crash must not leave a later segment removed
// and an earlier one not — Open refuses a log whose segments do not link up.
// An error leaves the log usable.
func (l *Log) Release(upTo uint64) error {
	if len(l.segs) == 0 || l.segs[0].last > upTo {
		return nil
	}
	if l.cur != nil && l.segs[len(l.segs)-1].last <= upTo {
		if err := l.closeCur(); err != nil {
			return err
		}
	}
	n := 0
	for n < len(l.segs) && l.segs[n].last <= upTo && (l.cur == nil || n < len(l.segs)-1) {
		if l.removed {
			// The removal before this one is made durable first, so that
			// no crash leaves a later segment removed and an earlier one
			// not: the segments left would not link up (Open checks each
			// segment's prev).
			if err := syncDir(l.dir); err != nil {
				l.segs = slices.Delete(l.segs, 0, n)
				return err
			}
			l.removed = false
		}
		if err := os.Remove(l.path(l.segs[n].first)); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.segs = slices.Delete(l.segs, 0, n)
			return err
		}
		l.removed = true
		n++
	}
	l.segs = slices.Delete(l.segs, 0, n)
	return nil
}

// Replay calls fn for every durable record with seq > after, in seq order,
// reading the segment files (records appended but not yet synced are not
// included). payload is valid only during the call. It stops at the first
// error of fn and returns it; damage found on disk since Open returns an
// error wrapping ErrCorrupt.
func (l *Log) Replay(after uint64, fn func(seq uint64, payload []byte) error) error {
	var scratch []byte
	for _, s := range l.segs {
		if s.last <= after {
			continue
		}
		if err := replaySegment(l.path(s.first), s, after, &scratch, fn); err != nil {
			return err
		}
	}
	return nil
}

// LastSeq is the largest seq appended to the log, including records not yet
// synced; 0 when the log has held no record since it was created, or when
// it was opened with every record released. The caller keeps its own high
// water mark across releases.
func (l *Log) LastSeq() uint64 { return l.last }

// Bytes is the size of the headers and records of the live segments (those
// synced, not yet released), a measure of the work a replay would do. The files may take
// more disk: the last one is preallocated to its size (up to SegmentBytes), and a
// spare.tmp of zeros (up to SegmentBytes) may wait to become the next.
func (l *Log) Bytes() int64 {
	var n int64
	for _, s := range l.segs {
		n += s.size
	}
	return n
}

// Close syncs the records appended since the last Sync (as Sync, returning
// its error) and closes the log; the Log is not usable after it.
func (l *Log) Close() error {
	if l.closed {
		return nil
	}
	err := l.Sync()
	l.closed = true
	l.dropSpare()
	if l.cur != nil {
		if cerr := l.cur.Close(); err == nil {
			err = cerr
		}
		l.cur = nil
	}
	return err
}

// nextLimit is the limit of the next segment: firstSegmentBytes after
// Open, then twice the one started last; at most SegmentBytes.
func (l *Log) nextLimit() int64 {
	return min(l.segBytes, max(firstSegmentBytes, 2*l.lastLimit))
}

// zeroChunk is what spares are filled from; never written (a read-only
// source for every spare's goroutine).
var zeroChunk [1 << 20]byte

// prepareSpare starts filling the spare file with size bytes of zeros,
// synced, in the background.
func (l *Log) prepareSpare(size int64) {
	sp := &spare{done: make(chan struct{}), size: size}
	l.spare = sp
	path := filepath.Join(l.dir, spareName)
	go func() {
		defer close(sp.done)
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return
		}
		zeros := zeroChunk[:min(size, int64(len(zeroChunk)))]
		for off := int64(0); off < size && err == nil; off += int64(len(zeros)) {
			if sp.stop.Load() {
				err = errors.New("stopped")
				break
			}
			_, err = f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off)
		}
		if err == nil {
			err = datasync(f)
		}
		if err != nil {
			f.Close()
			os.Remove(path)
			return
		}
		sp.f = f
	}()
}

// takeSpare returns the spare, renamed to path, and its bytes of zeros,
// when it is ready (nil when there is none or it is not ready yet: the
// caller creates the segment as before). The rename is made durable with
// the segment's first record (sync fsyncs the directory after a new
// segment's write).
func (l *Log) takeSpare(path string) (*os.File, int64, error) {
	sp := l.spare
	if sp == nil {
		return nil, 0, nil
	}
	select {
	case <-sp.done:
	default:
		return nil, 0, nil // still filling: it serves the segment after
	}
	l.spare = nil
	if sp.f == nil {
		return nil, 0, nil
	}
	if _, err := os.Lstat(path); err == nil { // as O_EXCL: never over a file
		sp.f.Close()
		os.Remove(filepath.Join(l.dir, spareName))
		return nil, 0, fmt.Errorf("wal: %s exists", path)
	}
	if err := os.Rename(filepath.Join(l.dir, spareName), path); err != nil {
		sp.f.Close()
		return nil, 0, err
	}
	l.sparesUsed++
	return sp.f, sp.size, nil
}

// dropSpare stops the spare's goroutine and removes its file.
func (l *Log) dropSpare() {
	sp := l.spare
	if sp == nil {
		return
	}
	l.spare = nil
	sp.stop.Store(true)
	<-sp.done
	if sp.f != nil {
		sp.f.Close()
		os.Remove(filepath.Join(l.dir, spareName))
	}
}

// closeCur stops appending to the current segment; the next Sync starts a
// new one. Its preallocated tail stays (zeros read as its end).
func (l *Log) closeCur() error {
	err := l.cur.Close()
	l.cur = nil
	return err
}

// putSegmentHeader writes the header of a segment that follows seq prev
// into h.
func putSegmentHeader(h []byte, prev uint64) {
	binary.LittleEndian.PutUint32(h[0:4], segmentMagic)
	binary.LittleEndian.PutUint64(h[8:16], prev)
	binary.LittleEndian.PutUint32(h[4:8], crc32.Checksum(h[8:16], castagnoli))
}

func (l *Log) path(first uint64) string { return filepath.Join(l.dir, segmentName(first)) }

func segmentName(first uint64) string { return fmt.Sprintf("%016x%s", first, segmentSuffix) }

// listSegments returns the first seqs of dir's segment files, ascending.
// Other files are ignored.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segmentSuffix) || len(name) != 16+len(segmentSuffix) {
			continue
		}
		first, err := strconv.ParseUint(name[:16], 16, 64)
		if err != nil || segmentName(first) != name || !e.Type().IsRegular() {
			continue
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)
	return firsts, nil
}

// truncateDurably cuts the file at path to size and fsyncs it, so that the
// torn tail cut away cannot come back after records are appended in its
// place.
func truncateDurably(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes the entries of dir durable (a created or removed file).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there; NTFS journals them
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
