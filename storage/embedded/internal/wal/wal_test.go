package wal

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/scimd/scimd/internal/testfs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// payloadFor is the payload the tests write for seq: its length varies
// with seq so that records straddle every alignment.
func payloadFor(seq uint64) []byte {
	n := int(seq*37%300) + 1
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(seq) ^ byte(i*7)
	}
	return p
}

type rec struct {
	seq     uint64
	payload []byte
}

func mustOpen(t *testing.T, dir string, opt Options) *Log {
	t.Helper()
	l, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func replayAll(t *testing.T, l *Log, after uint64) []rec {
	t.Helper()
	var got []rec
	err := l.Replay(after, func(seq uint64, payload []byte) error {
		got = append(got, rec{seq, bytes.Clone(payload)})
		return nil
	})
	if err != nil {
		t.Fatalf("Replay(%d): %v", after, err)
	}
	return got
}

// appendSync appends seqs from..to, syncing after every perSync records
// and at the end.
func appendSync(t *testing.T, l *Log, from, to uint64, perSync int) {
	t.Helper()
	for s := from; s <= to; s++ {
		if err := l.Append(s, payloadFor(s)); err != nil {
			t.Fatalf("Append(%d): %v", s, err)
		}
		if int(s-from+1)%perSync == 0 {
			if err := l.Sync(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// checkRange fails unless got is exactly the records from..to as
// payloadFor writes them.
func checkRange(t *testing.T, got []rec, from, to uint64) {
	t.Helper()
	want := int(to - from + 1)
	if to < from {
		want = 0
	}
	if len(got) != want {
		t.Fatalf("replayed %d records, want %d (seqs %d..%d)", len(got), want, from, to)
	}
	for i, r := range got {
		if r.seq != from+uint64(i) || !bytes.Equal(r.payload, payloadFor(r.seq)) {
			t.Fatalf("record %d: seq %d payload %d bytes, want seq %d with its payload", i, r.seq, len(r.payload), from+uint64(i))
		}
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestRoundTripAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 4096}
	l := mustOpen(t, dir, opt)
	appendSync(t, l, 1, 500, 3)
	if l.LastSeq() != 500 {
		t.Fatalf("LastSeq = %d, want 500", l.LastSeq())
	}
	segs := segmentFiles(t, dir)
	if len(segs) < 10 {
		t.Fatalf("%d segments for ~80 KB at 4 KiB each: no rotation", len(segs))
	}
	checkRange(t, replayAll(t, l, 0), 1, 500)
	checkRange(t, replayAll(t, l, 321), 322, 500)
	checkRange(t, replayAll(t, l, 500), 501, 500)
	bytesBefore := l.Bytes()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = mustOpen(t, dir, opt)
	if l.LastSeq() != 500 || l.Bytes() != bytesBefore {
		t.Fatalf("reopened: LastSeq %d Bytes %d, want 500 and %d", l.LastSeq(), l.Bytes(), bytesBefore)
	}
	checkRange(t, replayAll(t, l, 0), 1, 500)
	if err := l.Append(500, []byte("x")); err == nil {
		t.Fatal("Append of seq 500 after 500 succeeded")
	}
	appendSync(t, l, 501, 600, 7)
	// Close syncs what is buffered.
	if err := l.Append(601, payloadFor(601)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, opt)
	defer l.Close()
	checkRange(t, replayAll(t, l, 0), 1, 601)
	checkRange(t, replayAll(t, l, 555), 556, 601)
}

func TestAppendRejects(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	defer l.Close()
	if err := l.Append(0, nil); err == nil {
		t.Fatal("Append of seq 0 succeeded")
	}
	if err := l.Append(5, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(5, []byte("b")); err == nil {
		t.Fatal("Append of a repeated seq succeeded")
	}
	if err := l.Append(4, []byte("b")); err == nil {
		t.Fatal("Append of a smaller seq succeeded")
	}
	if err := l.Append(6, make([]byte, MaxRecord+1)); err == nil {
		t.Fatal("Append above MaxRecord succeeded")
	}
	// The rejections changed nothing: the log goes on.
	if err := l.Append(6, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	got := replayAll(t, l, 0)
	if len(got) != 2 || got[0].seq != 5 || string(got[0].payload) != "a" || got[1].seq != 6 || len(got[1].payload) != 0 {
		t.Fatalf("replayed %v", got)
	}
}

func TestRelease(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentBytes: 2048})
	defer l.Close()
	appendSync(t, l, 1, 300, 4)
	segs := l.segs
	if len(segs) < 5 {
		t.Fatalf("only %d segments", len(segs))
	}
	// Release up to a seq in the middle of segment 2: segments 0 and 1
	// go, segment 2 stays whole.
	mid := segs[2].first + (segs[2].last-segs[2].first)/2
	wantFirst := segs[2].first
	if err := l.Release(mid); err != nil {
		t.Fatal(err)
	}
	if l.segs[0].first != wantFirst || len(segmentFiles(t, dir)) != len(segs)-2 {
		t.Fatalf("after Release(%d): first segment %d, %d files; want %d and %d", mid, l.segs[0].first, len(segmentFiles(t, dir)), wantFirst, len(segs)-2)
	}
	checkRange(t, replayAll(t, l, 0), wantFirst, 300)
	// Nothing to release: no change.
	before := len(l.segs)
	if err := l.Release(mid); err != nil || len(l.segs) != before {
		t.Fatalf("second Release: %v, %d segments, want %d", err, len(l.segs), before)
	}
	// Release up to the end of a segment boundary minus one keeps it.
	b := l.segs[1].last - 1
	if err := l.Release(b); err != nil {
		t.Fatal(err)
	}
	for _, s := range l.segs {
		if s.last <= b {
			t.Fatalf("segment %d..%d not released by Release(%d)", s.first, s.last, b)
		}
	}
	checkRange(t, replayAll(t, l, b), b+1, 300)
	got := replayAll(t, l, 0)
	if got[0].seq > b+1 {
		t.Fatalf("Release(%d) dropped seq %d", b, b+1)
	}

	// Release of everything frees the segment being appended to too.
	if err := l.Release(300); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentFiles(t, dir)); n != 0 || l.Bytes() != 0 {
		t.Fatalf("after Release(last): %d files, %d bytes", n, l.Bytes())
	}
	if l.LastSeq() != 300 {
		t.Fatalf("LastSeq after full release = %d", l.LastSeq())
	}
	appendSync(t, l, 301, 310, 2)
	checkRange(t, replayAll(t, l, 0), 301, 310)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := mustOpen(t, dir, Options{SegmentBytes: 2048})
	defer l2.Close()
	checkRange(t, replayAll(t, l2, 0), 301, 310)
}

// writeLog makes a log of seqs 1..n in dir with the given segment size
// and closes it, returning the path and offsets of the records of its last
// segment.
func writeLog(t *testing.T, dir string, n uint64, segBytes int64) (last string, offs []int64) {
	t.Helper()
	l := mustOpen(t, dir, Options{SegmentBytes: segBytes})
	appendSync(t, l, 1, n, 1)
	s := l.segs[len(l.segs)-1]
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	off := int64(headerSize)
	for seq := s.first; seq <= s.last; seq++ {
		offs = append(offs, off)
		off += headerSize + int64(len(payloadFor(seq)))
	}
	offs = append(offs, off)
	return l.path(s.first), offs
}

// copyDir copies the segments of src into a new directory (memDir) and
// returns it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := memDir(t)
	testfs.CopyDir(t, src, dst)
	return dst
}

// openAfterDamage opens dir and checks that it holds exactly seqs 1..want,
// then that appending continues after want and survives a reopen.
func openAfterDamage(t *testing.T, dir string, want uint64, what string) {
	t.Helper()
	l, err := Open(dir, Options{SegmentBytes: 4096})
	if err != nil {
		t.Fatalf("%s: Open: %v", what, err)
	}
	checkRange(t, replayAll(t, l, 0), 1, want)
	if l.LastSeq() != want {
		t.Fatalf("%s: LastSeq %d, want %d", what, l.LastSeq(), want)
	}
	// The torn tail is gone from the file, not just skipped: what is
	// appended next cannot end up followed by it.
	s := l.segs[len(l.segs)-1]
	b, err := os.ReadFile(l.path(s.first))
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(b[s.size:], func(c byte) bool { return c != 0 }); i >= 0 {
		t.Fatalf("%s: byte %d of the last segment, after its records, is %#x", what, s.size+int64(i), b[s.size+int64(i)])
	}
	appendSync(t, l, want+1, want+2, 2)
	l.Close()
	l = mustOpen(t, dir, Options{SegmentBytes: 4096})
	checkRange(t, replayAll(t, l, 0), 1, want+2)
	l.Close()
}

func TestTornTail(t *testing.T) {
	src := t.TempDir()
	const n = 40
	path, offs := writeLog(t, src, n, 4096)
	name := filepath.Base(path)
	lastOff, end := offs[len(offs)-2], offs[len(offs)-1]
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for cut := lastOff; cut < end; cut++ {
		// Cut short (a crash during an append without preallocation).
		dir := copyDir(t, src)
		if err := os.Truncate(filepath.Join(dir, name), cut); err != nil {
			t.Fatal(err)
		}
		openAfterDamage(t, dir, n-1, fmt.Sprintf("truncated at %d", cut))
		// Cut short inside the preallocated size: zeros from cut on.
		dir = copyDir(t, src)
		b := bytes.Clone(full)
		clear(b[cut:])
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		openAfterDamage(t, dir, n-1, fmt.Sprintf("zeroed from %d", cut))
	}
	for off := lastOff; off < end; off++ {
		dir := copyDir(t, src)
		b := bytes.Clone(full)
		b[off] ^= 0x40
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		openAfterDamage(t, dir, n-1, fmt.Sprintf("flipped byte %d", off))
	}
}

func TestCorruption(t *testing.T) {
	src := t.TempDir()
	const n = 40
	path, offs := writeLog(t, src, n, 4096)
	name := filepath.Base(path)
	if len(offs) < 6 {
		t.Fatalf("last segment has only %d records", len(offs)-1)
	}
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(what string, dir string) {
		t.Helper()
		l, err := Open(dir, Options{SegmentBytes: 4096})
		if !errors.Is(err, ErrCorrupt) {
			if err == nil {
				l.Close()
			}
			t.Fatalf("%s: Open = %v, want ErrCorrupt", what, err)
		}
	}
	// Every byte of a record in the middle of the last segment, with valid
	// records after it.
	mid := len(offs) / 2
	for off := offs[mid]; off < offs[mid+1]; off++ {
		dir := copyDir(t, src)
		b := bytes.Clone(full)
		b[off] ^= 0x01
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		corrupt(fmt.Sprintf("flipped byte %d of a middle record", off), dir)
	}
	// The last record of a segment that is not the last.
	first := segmentFiles(t, src)[0]
	b0, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	l := mustOpen(t, src, Options{SegmentBytes: 4096})
	size0 := l.segs[0].size
	l.Close()
	for _, off := range []int64{size0 - 1, size0 - 20, 3} {
		dir := copyDir(t, src)
		b := bytes.Clone(b0)
		b[off] ^= 0x80
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(first)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		corrupt(fmt.Sprintf("flipped byte %d of the first segment", off), dir)
	}
	// A non-last segment cut short.
	dir := copyDir(t, src)
	if err := os.Truncate(filepath.Join(dir, filepath.Base(first)), size0-5); err != nil {
		t.Fatal(err)
	}
	corrupt("first segment truncated", dir)
	// A non-last segment emptied.
	dir = copyDir(t, src)
	if err := os.Truncate(filepath.Join(dir, filepath.Base(first)), 0); err != nil {
		t.Fatal(err)
	}
	corrupt("first segment emptied", dir)
	// A segment missing in the middle is not detectable from seqs (they
	// may skip), but a renamed one is: its first record is not its name.
	dir = copyDir(t, src)
	segs := segmentFiles(t, dir)
	if err := os.Rename(segs[1], filepath.Join(dir, segmentName(2))); err != nil {
		t.Fatal(err)
	}
	corrupt("segment renamed", dir)
}

func TestEmptyLastSegmentRemoved(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentBytes: 4096})
	appendSync(t, l, 1, 10, 1)
	l.Close()
	// A Sync that created its segment and crashed before any byte landed.
	empty := filepath.Join(dir, segmentName(11))
	if err := os.WriteFile(empty, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{SegmentBytes: 4096})
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty last segment not removed: %v", err)
	}
	checkRange(t, replayAll(t, l, 0), 1, 10)
	appendSync(t, l, 11, 12, 1)
	l.Close()
	l = mustOpen(t, dir, Options{SegmentBytes: 4096})
	defer l.Close()
	checkRange(t, replayAll(t, l, 0), 1, 12)
}

func TestFailedLogStaysFailed(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentBytes: 4096})
	appendSync(t, l, 1, 3, 1)
	// Make the write fail: the segment file is closed under the log.
	l.cur.Close()
	if err := l.Append(4, []byte("x")); err != nil {
		t.Fatal(err)
	}
	err := l.Sync()
	if err == nil {
		t.Fatal("Sync on a closed file succeeded")
	}
	if err2 := l.Append(5, []byte("y")); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("Append after a failed Sync = %v, want %v", err2, err)
	}
	if err2 := l.Sync(); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("Sync after a failed Sync = %v, want %v", err2, err)
	}
	l2 := mustOpen(t, dir, Options{SegmentBytes: 4096})
	defer l2.Close()
	checkRange(t, replayAll(t, l2, 0), 1, 3)
}

// TestFail: a log failed by Fail behaves as one whose fsync failed: the
// records appended since the last Sync are not written, every later Append
// and Sync returns the failure, and a reopen has the records synced before.
func TestFail(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentBytes: 4096})
	appendSync(t, l, 1, 3, 1)
	if err := l.Append(4, []byte("x")); err != nil {
		t.Fatal(err)
	}
	fault := errors.New("injected")
	l.Fail(fault)
	if err := l.Sync(); !errors.Is(err, fault) {
		t.Fatalf("Sync after Fail = %v, want %v", err, fault)
	}
	if err := l.Append(5, []byte("y")); !errors.Is(err, fault) {
		t.Fatalf("Append after Fail = %v, want %v", err, fault)
	}
	l.Close()
	l2 := mustOpen(t, dir, Options{SegmentBytes: 4096})
	defer l2.Close()
	checkRange(t, replayAll(t, l2, 0), 1, 3)
}

func TestReplayStopsAtCallbackError(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{SegmentBytes: 1024})
	defer l.Close()
	appendSync(t, l, 1, 50, 5)
	stop := errors.New("stop")
	var seen []uint64
	err := l.Replay(10, func(seq uint64, _ []byte) error {
		seen = append(seen, seq)
		if seq == 20 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || len(seen) != 10 || seen[0] != 11 {
		t.Fatalf("Replay = %v after %v", err, seen)
	}
}

// TestPreallocatedTail checks that a segment is preallocated (on Linux)
// and that its zeros read as the end of the log at every reopen.
func TestPreallocatedTail(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("segments are preallocated on Linux only")
	}
	dir := t.TempDir()
	const segBytes = 1 << 20
	l := mustOpen(t, dir, Options{SegmentBytes: segBytes})
	appendSync(t, l, 1, 3, 1)
	path := l.path(1)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != segBytes || l.Bytes() >= segBytes {
		t.Fatalf("segment of %d bytes holding %d bytes of records; want it preallocated to %d", fi.Size(), l.Bytes(), segBytes)
	}
	l.Close()
	for round := uint64(0); round < 3; round++ {
		l = mustOpen(t, dir, Options{SegmentBytes: segBytes})
		checkRange(t, replayAll(t, l, 0), 1, 3+round*2)
		appendSync(t, l, 4+round*2, 5+round*2, 2)
		l.Close()
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != segBytes {
		t.Fatalf("segment now %v bytes (%v)", fi.Size(), err)
	}
}

// TestAppendSyncAllocatesNothing: once the buffer has grown, a batch
// costs no allocation (the embedded store appends one per write).
func TestAppendSyncAllocatesNothing(t *testing.T) {
	l := mustOpen(t, memDir(t), Options{SegmentBytes: 1 << 20})
	defer l.Close()
	payload := make([]byte, 300)
	var seq uint64
	batch := func() {
		for range 8 {
			seq++
			if err := l.Append(seq, payload); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	batch()
	if a := testing.AllocsPerRun(100, batch); a != 0 {
		t.Fatalf("%v allocations per batch of 8 appends and a Sync", a)
	}
}

// TestOtherFilesIgnored: only names the log writes are segments.
func TestOtherFilesIgnored(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"notes.txt", "0000000000000001.wal.tmp", "000000000000000G.wal", "0000000000000000A.wal", "000000000000000A.wal"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.LastSeq() != 0 || len(l.segs) != 0 {
		t.Fatalf("foreign files read as segments: %+v", l.segs)
	}
}

func TestMissingSegment(t *testing.T) {
	src := t.TempDir()
	writeLog(t, src, 60, 1024)
	segs := segmentFiles(t, src)
	if len(segs) < 4 {
		t.Fatalf("only %d segments", len(segs))
	}
	// The oldest segments gone is a release: the log opens.
	dir := copyDir(t, src)
	for _, p := range segs[:2] {
		if err := os.Remove(filepath.Join(dir, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	l := mustOpen(t, dir, Options{SegmentBytes: 1024})
	first := l.segs[0].first
	checkRange(t, replayAll(t, l, 0), first, 60)
	l.Close()
	// One gone from the middle is not.
	dir = copyDir(t, src)
	if err := os.Remove(filepath.Join(dir, filepath.Base(segs[2]))); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(dir, Options{SegmentBytes: 1024}); !errors.Is(err, ErrCorrupt) {
		if err == nil {
			l.Close()
		}
		t.Fatalf("Open with a middle segment removed = %v, want ErrCorrupt", err)
	}
}

// TestTornFirstBatch: a crash during the Sync that started a segment
// leaves it with its header, or part of it, and maybe part of a record:
// nothing in it was acknowledged, and Open removes it.
func TestTornFirstBatch(t *testing.T) {
	src := t.TempDir()
	writeLog(t, src, 20, 4096)
	l := mustOpen(t, src, Options{SegmentBytes: 4096})
	seg := make([]byte, headerSize)
	putSegmentHeader(seg, 20)
	seg = append(seg, frame(21, payloadFor(21))...)
	seg = append(seg, frame(22, payloadFor(22))...)
	l.Close()
	name := segmentName(21)
	for cut := 0; cut < headerSize+len(frame(21, payloadFor(21))); cut++ {
		dir := copyDir(t, src)
		b := make([]byte, 4096)
		copy(b, seg[:cut])
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, Options{SegmentBytes: 4096})
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		checkRange(t, replayAll(t, l, 0), 1, 20)
		l.Close()
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("cut at %d: segment with no record kept (%v)", cut, err)
		}
	}
	// A damaged header with its records whole is corruption.
	for i := range headerSize {
		dir := copyDir(t, src)
		b := bytes.Clone(seg)
		b[i] ^= 0x10
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if l, err := Open(dir, Options{SegmentBytes: 4096}); !errors.Is(err, ErrCorrupt) {
			if err == nil {
				l.Close()
			}
			t.Fatalf("header byte %d flipped: Open = %v, want ErrCorrupt", i, err)
		}
	}
	// Whole, it is read.
	dir := copyDir(t, src)
	if err := os.WriteFile(filepath.Join(dir, name), seg, 0o600); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{SegmentBytes: 4096})
	checkRange(t, replayAll(t, l, 0), 1, 22)
	l.Close()
}

// TestSpareSegments: once a segment is half full the next one is filled
// with zeros in the background (spare.tmp), which then becomes that
// segment: every segment after the first comes from a spare when the spare
// is ready in time (waited for here), each at least SegmentBytes long, the
// records read back whole across them and after a reopen; Close removes a
// spare not used, and Open one a crash left.
func TestSpareSegments(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 8192}
	l := mustOpen(t, dir, opt)
	spare := filepath.Join(dir, spareName)
	for s := uint64(1); s <= 400; s++ {
		if err := l.Append(s, payloadFor(s)); err != nil {
			t.Fatal(err)
		}
		if s%4 == 0 {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			if l.spare != nil {
				<-l.spare.done // ready before the segment fills
			}
		}
	}
	segs := segmentFiles(t, dir)
	if len(segs) < 5 || l.sparesUsed != len(segs)-1 {
		t.Fatalf("%d segments, %d of them from a spare; want every one after the first", len(segs), l.sparesUsed)
	}
	for _, p := range segs[1:] {
		if fi, err := os.Stat(p); err != nil || fi.Size() < opt.SegmentBytes {
			t.Fatalf("%s: %v, want a file of at least %d bytes", p, err, opt.SegmentBytes)
		}
	}
	checkRange(t, replayAll(t, l, 0), 1, 400)
	if _, err := os.Stat(spare); err != nil {
		t.Fatalf("no spare prepared for the next segment: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spare); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Close left the spare: %v", err)
	}
	if err := os.WriteFile(spare, []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, opt)
	defer l.Close()
	if _, err := os.Stat(spare); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open kept a stale spare: %v", err)
	}
	checkRange(t, replayAll(t, l, 0), 1, 400)
	appendSync(t, l, 401, 600, 5)
	checkRange(t, replayAll(t, l, 0), 1, 600)
}

// TestSegmentSizesDouble: the first segment a Log starts closes at 1 MiB,
// each after it at twice the one before, up to SegmentBytes; a segment
// from a spare is its size in zeros; the records read back whole.
func TestSegmentSizesDouble(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentBytes: 4 << 20})
	defer l.Close()
	payload := make([]byte, 60<<10)
	for s := uint64(1); s <= 200; s++ { // 12 MB
		payload[0] = byte(s)
		if err := l.Append(s, payload); err != nil {
			t.Fatal(err)
		}
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		if l.spare != nil {
			<-l.spare.done
		}
	}
	var limits []int64
	for _, s := range l.segs {
		limits = append(limits, s.limit>>20)
		if s.size > s.limit+int64(len(payload))+2*headerSize {
			t.Fatalf("a segment of %d bytes past its limit %d", s.size, s.limit)
		}
	}
	if fmt.Sprint(limits) != "[1 2 4 4 4]" || l.sparesUsed != 4 {
		t.Fatalf("segment limits %v MiB, %d from spares; want [1 2 4 4 4] and 4", limits, l.sparesUsed)
	}
	for i, p := range segmentFiles(t, dir)[1:] {
		if fi, err := os.Stat(p); err != nil || fi.Size() < l.segs[i+1].limit {
			t.Fatalf("%s: %v, want a file of at least %d bytes", p, err, l.segs[i+1].limit)
		}
	}
	got := replayAll(t, l, 0)
	if len(got) != 200 || got[199].seq != 200 || got[199].payload[0] != 200 {
		t.Fatalf("replayed %d records", len(got))
	}
}
