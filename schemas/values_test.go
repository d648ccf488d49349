package schemas

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// AppendWireTime writes what formatting with wireTime writes, for any time:
// every year of 0–9999 and beyond, any zone, any sub-millisecond part.
func TestAppendWireTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zone := time.FixedZone("X", -(5*3600 + 30*60))
	times := []time.Time{{}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 1, 1, 0, 0, 0, 0, zone), time.Date(99, 7, 4, 5, 6, 7, 8e6, time.UTC)}
	for range 20000 {
		times = append(times, time.Unix(r.Int64N(400e9)-62e9, r.Int64N(1e9)).In(zone))
	}
	for _, tm := range times {
		want := tm.UTC().Format(wireTime)
		if got := string(AppendWireTime([]byte("x"), tm)); got != "x"+want {
			t.Fatalf("%v: %q, want %q", tm, got, want)
		}
	}
}

// TestETag pins the weak entity tag of a version across the widths its
// stack buffer must hold (ETag builds it by hand).
func TestETag(t *testing.T) {
	for _, c := range []struct {
		v    int64
		want string
	}{
		{1, `W/"1"`}, {99, `W/"99"`}, {100, `W/"100"`}, {-7, `W/"-7"`},
		{math.MaxInt64, `W/"9223372036854775807"`}, {math.MinInt64, `W/"-9223372036854775808"`},
	} {
		if got := ETag(c.v); got != c.want {
			t.Errorf("ETag(%d) = %s, want %s", c.v, got, c.want)
		}
	}
}
