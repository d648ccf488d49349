package scim_test

import (
	"bytes"
	"flag"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
)

// writerFunc is the embedded store's single writer, the goroutine that runs
// every write transaction (bbolt's begin, bucket opens, puts and commit).
const writerFunc = "github.com/scimd/scimd/storage/embedded.(*Store).run"

// reportAllocSplit reports where a request's allocations happen, split by
// goroutine, from the runtime's exact allocation profile: "caller-allocs/op"
// on the goroutines of the benchmark function caller (the request: body
// decode, authentication, the read, the PATCH engine, the directory's
// checks, the audit diff, the staging of the write, the response; see
// docs/performance.md) and "writer-allocs/op" in the store's write
// transaction (writerFunc); the two add up to allocs/op within a few (the
// runtime's own goroutines count in neither, nor does reading the profile).
// run(n) must do n requests.
//
// It runs after the timed loop, with the timer stopped, so that the
// profile's cost (every allocation recorded) changes neither ns/op nor
// allocs/op; the split is taken over its own requests. With -memprofile it
// is not taken, so that the profile written holds the timed requests only.
func reportAllocSplit(b *testing.B, caller string, run func(n int)) {
	b.Helper()
	b.StopTimer()
	if f := flag.Lookup("test.memprofile"); f != nil && f.Value.String() != "" {
		return
	}
	const warm, n = 200, 1000
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	run(warm) // every P's next sample is drawn at rate 1 past this point
	runtime.GC()
	before := allocsByRoot(b, caller)
	run(n)
	runtime.GC()
	runtime.GC()
	after := allocsByRoot(b, caller)
	b.ReportMetric(float64(after[0]-before[0])/n, "caller-allocs/op")
	b.ReportMetric(float64(after[1]-before[1])/n, "writer-allocs/op")
}

// allocsByRoot counts the objects allocated so far (as the memory profile
// has them) on caller's goroutines, in the store's writer, and elsewhere. It
// reads the "allocs" profile's text form, whose stacks are whole
// (runtime.MemProfile cuts them at 32 frames, short of a request's root).
func allocsByRoot(b *testing.B, caller string) [3]int64 {
	var buf bytes.Buffer
	if err := pprof.Lookup("allocs").WriteTo(&buf, 1); err != nil {
		b.Fatal(err)
	}
	var out [3]int64
	for line := range strings.Lines(buf.String()) {
		// "inuse objects: inuse bytes [alloc objects: alloc bytes] @ pc pc …"
		if strings.HasPrefix(line, "heap profile:") {
			continue // the totals
		}
		counts, pcs, ok := strings.Cut(strings.TrimSpace(line), " @ ")
		_, counts, ok2 := strings.Cut(counts, "[")
		objects, _, ok3 := strings.Cut(counts, ":")
		if !ok || !ok2 || !ok3 {
			continue
		}
		n, err := strconv.ParseInt(objects, 10, 64)
		if err != nil {
			b.Fatalf("allocs profile: %q: %v", line, err)
		}
		var stack []uintptr
		for _, f := range strings.Fields(pcs) {
			pc, err := strconv.ParseUint(f, 0, 64)
			if err != nil {
				b.Fatalf("allocs profile: %q: %v", line, err)
			}
			stack = append(stack, uintptr(pc))
		}
		out[rootOf(stack, caller)] += n
	}
	return out
}

// rootOf is 0 for a stack on caller's goroutines, 1 in the store's writer,
// 2 otherwise (allocsByRoot's own allocations included).
func rootOf(stack []uintptr, caller string) int {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "github.com/scimd/scimd/scim_test.allocsByRoot":
			return 2 // reading the profile itself
		case f.Function == writerFunc:
			return 1
		case f.Function == caller || strings.HasPrefix(f.Function, caller+"."):
			return 0
		}
		if !more {
			return 2
		}
	}
}
