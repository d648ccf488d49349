package overlay

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
)

// TestFilter: a filtered table answers Get as an unfiltered one does, for
// present and absent keys in every bucket, and it rules out most absent
// keys without a search (counted through mayHold).
func TestFilter(t *testing.T) {
	plain, filtered := New(0), New(64<<10)
	for i := 0; i < 20000; i += 2 {
		k := fmt.Appendf(nil, "user-%06d", i)
		plain.Put(uint8(i%3), k, k, i%10 == 0, uint64(i+1))
		filtered.Put(uint8(i%3), k, k, i%10 == 0, uint64(i+1))
	}
	if want := 64 << 10; filtered.Bytes()-plain.Bytes() != want {
		t.Fatalf("the filter takes %d bytes, want %d", filtered.Bytes()-plain.Bytes(), want)
	}
	pv, fv := plain.View(0, math.MaxUint64), filtered.View(0, math.MaxUint64)
	ruledOut := 0
	for i := 0; i < 20000; i++ {
		for b := uint8(0); b < 3; b++ {
			k := fmt.Appendf(nil, "user-%06d", i)
			v1, d1, ok1 := pv.Get(b, k)
			v2, d2, ok2 := fv.Get(b, k)
			if string(v1) != string(v2) || d1 != d2 || ok1 != ok2 {
				t.Fatalf("Get(%d, %s): filtered %q %v %v, plain %q %v %v", b, k, v2, d2, ok2, v1, d1, ok1)
			}
			if !ok1 && !filtered.mayHold(b, k) {
				ruledOut++
			}
			if ok1 && !filtered.mayHold(b, k) {
				t.Fatalf("(%d, %s) is in the table and ruled out", b, k)
			}
		}
	}
	// 50,000 absent (bucket, key)s; 10,000 keys in 8,192 words: a few percent pass.
	if absent := 3*20000 - 10000; ruledOut < absent*9/10 {
		t.Fatalf("the filter ruled out %d of %d absent keys", ruledOut, absent)
	}
	if New(7).filter != nil || len(New(24).filter) != 2 {
		t.Fatal("filter sizes: under a word is none, 3 words round down to 2")
	}
}

// TestFilterPublication: a reader that sees a seq published (as the store
// publishes its committed seq, after the batch's Puts) finds every key put
// at or below it, although the writer keeps setting filter bits meanwhile.
// Run it with -race.
func TestFilterPublication(t *testing.T) {
	tb := New(256) // 32 words: saturated soon, so both paths run
	var published atomic.Uint64
	const n = 5000
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Go(func() {
			for published.Load() < n {
				high := published.Load()
				if high == 0 {
					continue
				}
				v := tb.View(0, high)
				for _, i := range []uint64{high, (high + 1) / 2, 1} {
					if _, _, ok := v.Get(uint8(i%2), fmt.Appendf(nil, "k%d", i)); !ok {
						errs <- fmt.Errorf("key %d not found at published %d", i, high)
						return
					}
				}
			}
		})
	}
	for i := uint64(1); i <= n; i++ {
		tb.Put(uint8(i%2), fmt.Appendf(nil, "k%d", i), []byte("v"), false, i)
		published.Store(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
