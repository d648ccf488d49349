package wal

import (
	"fmt"
	"testing"
)

// BenchmarkAppendSync appends records of 300 bytes and syncs after every
// 1 or 8; one op is one Sync (so µs/op is the latency of a durable batch).
func BenchmarkAppendSync(b *testing.B) {
	payload := make([]byte, 300)
	for i := range payload {
		payload[i] = byte(i)
	}
	for _, per := range []int{1, 8} {
		b.Run(fmt.Sprintf("per=%d", per), func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			var seq uint64
			b.SetBytes(int64(per * (headerSize + len(payload))))
			b.ReportAllocs()
			for b.Loop() {
				for range per {
					seq++
					if err := l.Append(seq, payload); err != nil {
						b.Fatal(err)
					}
				}
				if err := l.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
