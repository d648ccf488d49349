package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live, static, floor uint64
		percent             int
		want                int
	}{
		{0, 0, 128 * mb, 400, 400},              // no collection yet: the target as given
		{64 * mb, 0, 128 * mb, 400, 400},        // 5 × 64 MB is past the floor
		{25 * mb, 0, 125 * mb, 400, 400},        // exactly at the floor
		{16 * mb, 0, 128 * mb, 400, 700},        // 8 × 16 MB = 128 MB
		{9 * mb, 0, 128 * mb, 400, 1325},        // 1322 rounded up to a step of 25
		{9*mb + 1, 0, 128 * mb, 400, 1325},      // a byte more moves nothing
		{1 * mb, 0, 128 * mb, 400, 12700},       // a tiny heap
		{16 * mb, 0, 128 * mb, 10, 700},         // steps of 1 below 16
		{100 * mb, 0, 128 * mb, 100, 100},       // GOGC=100 past the floor
		{10 * mb, 0, 128 * mb, 100, 1182},       // 1180 rounded up to a step of 6
		{1, 0, 1 << 40, 400, maxGCPercent},      // capped, not overflowing
		{200 * mb, 64 * mb, 128 * mb, 400, 275}, // 200 + 4 × 136 = 744 MB: 272 rounded up
		{80 * mb, 64 * mb, 128 * mb, 400, 100},  // 80 + 4 × 16 = 144 MB: 80 rounded up
		{70 * mb, 64 * mb, 128 * mb, 400, 100},  // 70 + 4 × 6 = 94 MB, short of the floor: 128 MB, 83 rounded up
		{64 * mb, 64 * mb, 256 * mb, 400, 300},  // all of it cached: the floor
		{300 * mb, 64 * mb, 128 * mb, 400, 325}, // 300 + 944: 314.7 rounded up
		{64 * mb, 100 * mb, 16 * mb, 400, 25},   // more cached than live: one step, not 0
	} {
		got := gcPercentFor(c.live, c.static, c.floor, c.percent)
		if got != c.want {
			t.Errorf("gcPercentFor(%d, %d, %d, %d) = %d, want %d", c.live, c.static, c.floor, c.percent, got, c.want)
		}
		if c.live > 0 && got < maxGCPercent && c.live*uint64(100+got) < c.floor*100 {
			t.Errorf("gcPercentFor(%d, %d, %d, %d) = %d collects before the floor", c.live, c.static, c.floor, c.percent, got)
		}
	}
}

// gogc is the collector's current target, read without changing it.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// TestKeepHeapGoal: once a collection has run, the keeper raises the
// collector's target above percent for a heap far below the floor (this
// test's is a few MB, the floor 1 GB), and after stop it changes nothing.
func TestKeepHeapGoal(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	stop := keepHeapGoal(1<<30, 400, func() uint64 { return 0 })
	if got := gogc(); got != 400 {
		t.Errorf("target %d right after keepHeapGoal, want 400", got)
	}
	for deadline := time.Now().Add(20 * time.Second); gogc() == 400 && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	got := gogc()
	if got <= 400 {
		t.Fatalf("target %d after collections of a small heap under a 1 GB floor, want more than 400", got)
	}
	debug.SetGCPercent(150)
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := gogc(); got != 150 {
		t.Errorf("target %d after stop and collections, want 150 (left as set)", got)
	}
}
