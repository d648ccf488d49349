package wal

import (
	"fmt"
	"syscall"
	"testing"
	"time"
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

// BenchmarkSegmentKinds appends 3 KB records (a batch of a few creates)
// and syncs each, in segments of 1 MiB: preallocated by fallocate (noSpares)
// or zero-filled beforehand (spares, the default); one op is one Sync.
// cpu-µs/op is the process's CPU time per Sync (mostly the fdatasync).
func BenchmarkSegmentKinds(b *testing.B) {
	payload := make([]byte, 3000)
	for _, kind := range []string{"fallocate", "spares"} {
		b.Run(kind, func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{SegmentBytes: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			l.noSpares = kind == "fallocate"
			var seq uint64
			cpu0 := cpuTime()
			for b.Loop() {
				seq++
				if err := l.Append(seq, payload); err != nil {
					b.Fatal(err)
				}
				if err := l.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(seq), "cpu-µs/op")
			b.ReportMetric(float64(l.sparesUsed), "spares")
		})
	}
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
