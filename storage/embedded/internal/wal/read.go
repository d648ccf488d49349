package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// readChunk is how much of a segment a reader reads at once.
const readChunk = 1 << 20

// reader gives random access to a segment file through one window of it,
// so that reading records in order costs one read per readChunk. Its
// buffer grows to at most max(readChunk, headerSize+MaxRecord) and never
// beyond the file's size.
type reader struct {
	f    *os.File
	size int64
	buf  *[]byte // backing store, shared across segments
	win  []byte  // the file's bytes [wOff, wOff+len(win))
	wOff int64
}

// at returns the file's bytes [off, off+n); the caller ensures
// off+n ≤ size. The slice is valid until the next call.
func (r *reader) at(off int64, n int) ([]byte, error) {
	if off >= r.wOff && off+int64(n) <= r.wOff+int64(len(r.win)) {
		return r.win[off-r.wOff:][:n], nil
	}
	want := int64(max(n, readChunk))
	want = min(want, r.size-off)
	if int64(cap(*r.buf)) < want {
		*r.buf = make([]byte, want)
	}
	b := (*r.buf)[:want]
	r.win = nil
	if _, err := r.f.ReadAt(b, off); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: %s shrank while being read", ErrCorrupt, r.f.Name())
		}
		return nil, err
	}
	r.win, r.wOff = b, off
	return b[:n], nil
}

// record reads the record at off: ok is false when no whole record with a
// plausible length, a nonzero seq and a matching checksum starts there.
// payload is valid until the next call.
func (r *reader) record(off int64) (seq uint64, payload []byte, ok bool, err error) {
	if r.size-off < headerSize {
		return 0, nil, false, nil
	}
	h, err := r.at(off, headerSize)
	if err != nil {
		return 0, nil, false, err
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	if n > MaxRecord || n > r.size-off-headerSize {
		return 0, nil, false, nil
	}
	seq = binary.LittleEndian.Uint64(h[8:16])
	if seq == 0 {
		return 0, nil, false, nil
	}
	b, err := r.at(off, headerSize+int(n))
	if err != nil {
		return 0, nil, false, err
	}
	if crc32.Checksum(b[8:], castagnoli) != binary.LittleEndian.Uint32(b[4:8]) {
		return 0, nil, false, nil
	}
	return seq, b[headerSize:], true, nil
}

// lastNonZero returns the offset of the last nonzero byte at or after off,
// or -1 when the file is all zeros from off on.
func (r *reader) lastNonZero(off int64) (int64, error) {
	end := r.size
	for end > off {
		start := max(off, end-readChunk)
		b, err := r.at(start, int(end-start))
		if err != nil {
			return 0, err
		}
		for len(b) >= 8 && binary.LittleEndian.Uint64(b[len(b)-8:]) == 0 {
			b = b[:len(b)-8]
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return start + int64(i), nil
			}
		}
		end = start
	}
	return -1, nil
}

// header reads the segment header at offset 0: ok is false unless it is
// whole, with the magic and a matching checksum.
func (r *reader) header() (prev uint64, ok bool, err error) {
	if r.size < headerSize {
		return 0, false, nil
	}
	h, err := r.at(0, headerSize)
	if err != nil {
		return 0, false, err
	}
	if binary.LittleEndian.Uint32(h[0:4]) != segmentMagic || crc32.Checksum(h[8:16], castagnoli) != binary.LittleEndian.Uint32(h[4:8]) {
		return 0, false, nil
	}
	return binary.LittleEndian.Uint64(h[8:16]), true, nil
}

// scanResult is what scanSegment found.
type scanResult struct {
	prev uint64 // from the segment header
	last uint64 // seq of the last valid record; 0 when none
	end  int64  // offset after the header and the last valid record; 0 when the header is not valid
	torn bool   // nonzero bytes after end (not only preallocated zeros)
}

// scanSegment reads the segment at path, whose name says its first seq is
// first, checking its header, every record, and that seqs increase from
// after the header's prev (whether prev is the last seq of the segment
// before is the caller's to check). It stops at the first offset where no valid
// header or record starts. The bytes from
// there on are its end when they are all zeros (preallocation) and a torn
// tail when they hold no valid record; a valid record among them means the
// bad one is damage to acknowledged data, ErrCorrupt.
func scanSegment(path string, first uint64, buf *[]byte) (scanResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return scanResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return scanResult{}, err
	}
	r := &reader{f: f, size: fi.Size(), buf: buf}
	var res scanResult
	hprev, hok, err := r.header()
	if err != nil {
		return scanResult{}, err
	}
	if hok {
		if hprev >= first {
			return scanResult{}, fmt.Errorf("%w: %s: its header says it follows seq %d", ErrCorrupt, path, hprev)
		}
		res.prev, res.end = hprev, headerSize
	}
	for last := hprev; hok; {
		seq, payload, ok, err := r.record(res.end)
		if err != nil {
			return scanResult{}, err
		}
		if !ok {
			break
		}
		if res.end == headerSize && seq != first {
			return scanResult{}, fmt.Errorf("%w: %s starts with seq %d", ErrCorrupt, path, seq)
		}
		if seq <= last {
			return scanResult{}, fmt.Errorf("%w: %s: seq %d at offset %d follows seq %d", ErrCorrupt, path, seq, res.end, last)
		}
		last, res.last = seq, seq
		res.end += headerSize + int64(len(payload))
	}
	nz, err := r.lastNonZero(res.end)
	if err != nil {
		return scanResult{}, err
	}
	if nz < 0 {
		return res, nil
	}
	res.torn = true
	// A valid record holds a nonzero seq in its bytes 8..15, so none starts
	// after nz-8.
	for off := res.end + 1; off <= nz-8; off++ {
		_, _, ok, err := r.record(off)
		if err != nil {
			return scanResult{}, err
		}
		if ok {
			return scanResult{}, fmt.Errorf("%w: %s: bad record at offset %d followed by a valid one at %d", ErrCorrupt, path, res.end, off)
		}
	}
	return res, nil
}

// replaySegment calls fn for the records of s with seq > after, which Open
// found valid; a record that no longer is returns ErrCorrupt.
func replaySegment(path string, s segment, after uint64, buf *[]byte, fn func(uint64, []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := &reader{f: f, size: s.size, buf: buf}
	for off := int64(headerSize); off < s.size; {
		seq, payload, ok, err := r.record(off)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s: record at offset %d changed since Open", ErrCorrupt, path, off)
		}
		if seq > after {
			if err := fn(seq, payload); err != nil {
				return err
			}
		}
		off += headerSize + int64(len(payload))
	}
	return nil
}
