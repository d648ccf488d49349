package wal

import "testing"

// BenchmarkOpen opens a log of one default-size (preallocated) segment
// holding 1000 records of 300 bytes: the cost a restart pays before the
// replay, dominated by reading the segment whole.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 300)
	for s := uint64(1); s <= 1000; s++ {
		if err := l.Append(s, payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}
