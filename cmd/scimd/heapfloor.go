package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// heapFloor is the least heap goal of `scimd serve` when GOGC is unset (see
// keepHeapGoal). The server's live heap is a few megabytes (9 MB serving a
// million users: they stay in the store file's memory map), so at GOGC=400
// alone the collector ran every 37 MB of request garbage, four times a
// second under load, and each collection's pauses and mark assists were
// what made the 99th percentile of a read (docs/performance.md, "Read
// request CPU"). 128 MB makes collections three times rarer for at most
// about 120 MB more anonymous memory, well within the 768 MiB default
// GOMEMLIMIT (memoryLimit), which still bounds the heap first.
const heapFloor = 128 << 20

// keepHeapGoal keeps the collector's heap goal at floor bytes or more:
// after each collection it sets the collector's target (debug.SetGCPercent)
// so that the next collection comes once the heap has grown by percent of
// its live part that static does not claim (long-lived caches:
// embedded.CachedBytes, whose 64 MiB at a target of 400 would otherwise
// let 256 MB more of garbage pile up), or at floor when that is later. A
// larger live heap collects at percent as before, and a soft memory limit
// (GOMEMLIMIT) still runs the collector sooner once memory nears it. stop
// ends the adjustments (the target stays as last set) and waits for one
// that is running to finish. Only one keeper may run at a time.
func keepHeapGoal(floor uint64, percent int, static func() uint64) (stop func()) {
	k := &heapGoalKeeper{floor: floor, percent: percent, static: static, set: percent,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	debug.SetGCPercent(percent)
	k.arm()
	return func() {
		k.mu.Lock()
		k.stopped = true
		k.mu.Unlock()
	}
}

type heapGoalKeeper struct {
	floor   uint64
	percent int
	static  func() uint64
	sample  []metrics.Sample

	mu      sync.Mutex
	set     int // the target last set
	stopped bool
}

// gcSentinel is an object allocated to die in the next collection: its
// cleanup runs once that collection has marked the live heap. (It has a
// pointer, so the tiny allocator never packs it with objects that outlive it.)
type gcSentinel struct{ _ *byte }

func (k *heapGoalKeeper) arm() {
	runtime.AddCleanup(new(gcSentinel), (*heapGoalKeeper).collected, k)
}

// collected runs after each collection: it sets the target for the next
// one, and arms itself again.
func (k *heapGoalKeeper) collected() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	metrics.Read(k.sample)
	if k.sample[0].Value.Kind() == metrics.KindUint64 {
		if p := gcPercentFor(k.sample[0].Value.Uint64(), k.static(), k.floor, k.percent); p != k.set {
			debug.SetGCPercent(p)
			k.set = p
		}
	}
	k.arm()
}

// gcPercentFor is the collector's target that puts the next collection of a
// heap of live bytes, static of them long-lived, once it has grown by
// percent of the others, or at floor bytes when that is later: percent
// itself when static is 0 and the heap is past the floor. It moves in
// steps of a sixteenth of percent, so that a live heap that changes by a
// few bytes does not change the target each time, and is at least one
// step and at most maxGCPercent.
func gcPercentFor(live, static, floor uint64, percent int) int {
	if live == 0 {
		return percent
	}
	static = min(static, live)
	grown := (live - static) * uint64(percent) / 100
	if static == 0 && live+grown >= floor {
		return percent
	}
	goal := max(live+grown, floor)
	p := min((goal*100+live-1)/live-100, maxGCPercent)
	step := uint64(max(percent/16, 1))
	return int(max((p+step-1)/step*step, step))
}

// maxGCPercent caps the target gcPercentFor sets (the runtime holds it in
// an int32): a next collection at a thousand times the live heap, which only
// a heap of less than a thousandth of the floor could ask for.
const maxGCPercent = 100_000
