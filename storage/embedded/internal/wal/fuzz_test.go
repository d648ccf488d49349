package wal

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// frame is a record as the log writes it.
func frame(seq uint64, payload []byte) []byte {
	b := make([]byte, headerSize+len(payload))
	binary.LittleEndian.PutUint32(b[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(b[8:16], seq)
	copy(b[headerSize:], payload)
	binary.LittleEndian.PutUint32(b[4:8], crc32.Checksum(b[8:], castagnoli))
	return b
}

// FuzzReplay opens fuzzed bytes as the only segment of a log (named for
// seq 1): Open and Replay must not panic, must allocate no more than the
// file's size and one read window, and either fail or replay records that
// are the file's leading well-framed records after a valid segment header,
// checksums verified.
func FuzzReplay(f *testing.F) {
	valid := make([]byte, headerSize)
	putSegmentHeader(valid, 0)
	for s := uint64(1); s <= 5; s++ {
		valid = append(valid, frame(s, payloadFor(s))...)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(append(bytes.Clone(valid), make([]byte, 64)...))
	bad := bytes.Clone(valid)
	bad[40] ^= 1
	f.Add(bad)
	huge := append(valid[:headerSize:headerSize], frame(1, []byte("x"))...)
	binary.LittleEndian.PutUint32(huge[headerSize:], 0xffffffff)
	f.Add(huge)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := memDir(t)
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		l, err := Open(dir, Options{SegmentBytes: 1 << 12})
		if err != nil {
			return
		}
		defer l.Close()
		off := headerSize
		err = l.Replay(0, func(seq uint64, payload []byte) error {
			want := frame(seq, payload)
			if off+len(want) > len(data) || !bytes.Equal(data[off:off+len(want)], want) {
				t.Fatalf("replayed seq %d (%d bytes) that is not the record at offset %d", seq, len(payload), off)
			}
			off += len(want)
			return nil
		})
		if err != nil {
			t.Fatalf("Replay after a successful Open: %v", err)
		}
		runtime.ReadMemStats(&ms)
		if a := ms.TotalAlloc - before; a > uint64(2*len(data))+4*readChunk {
			t.Fatalf("Open+Replay of %d bytes allocated %d", len(data), a)
		}
		// What Open kept is exactly what Replay gave.
		if off == headerSize {
			off = 0 // a segment with no record is removed
		} else {
			h := make([]byte, headerSize)
			putSegmentHeader(h, binary.LittleEndian.Uint64(data[8:16]))
			if !bytes.Equal(h, data[:headerSize]) {
				t.Fatalf("replayed records of a segment with a bad header % x", data[:headerSize])
			}
		}
		if l.Bytes() != int64(off) {
			t.Fatalf("Bytes %d, replayed %d", l.Bytes(), off)
		}
	})
}

// memDir is a fresh directory in memory (/dev/shm) where there is one,
// for tests of the format that open many logs: Open fsyncs what it
// truncates, and on a disk under load that is the whole cost of a case.
func memDir(t testing.TB) string {
	fi, err := os.Stat("/dev/shm")
	if err != nil || !fi.IsDir() {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("/dev/shm", "walfuzz")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
