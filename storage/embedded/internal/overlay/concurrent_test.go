package overlay

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestWriterPutsWhileIterating is the writer's own pattern: it walks a bucket forward
// through a Merged whose view includes its own writes, deletes every key it visits, inserts
// a key just after the position and one behind it. The iteration must visit each original
// key and each key inserted ahead exactly once, in order, and none of the keys behind.
func TestWriterPutsWhileIterating(t *testing.T) {
	db := openDB(t)
	if err := db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket([]byte("u"))
		if err != nil {
			return err
		}
		for i := 0; i < 300; i += 3 { // under holds every third key
			if err := bk.Put(fmt.Appendf(nil, "k%03d", i), []byte("under")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tb := New(0)
	for i := 0; i < 300; i++ {
		if i%3 != 0 {
			tb.Put(0, fmt.Appendf(nil, "k%03d", i), []byte("table"), false, 1)
		}
	}
	var want []string
	for i := 0; i < 300; i++ {
		want = append(want, fmt.Sprintf("k%03d", i), fmt.Sprintf("k%03d+", i))
	}
	err := db.View(func(tx *bolt.Tx) error {
		var m Merged
		m.Reset(tx.Bucket([]byte("u")).Cursor(), 0, tb.View(0, math.MaxUint64))
		var got []string
		seq := uint64(2)
		for k, _ := m.First(); k != nil; k, _ = m.Next() {
			got = append(got, string(k))
			cur := bytes.Clone(k)
			tb.Put(0, cur, nil, true, seq) // delete the key it is on
			if !bytes.HasSuffix(cur, []byte("+")) {
				tb.Put(0, append(bytes.Clone(cur), '+'), []byte("ahead"), false, seq)
			}
			tb.Put(0, append([]byte("a"), cur...), []byte("behind"), false, seq)
			seq++
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("forward iteration while putting:\n got %v\nwant %v", got, want)
		}
		// Afterwards only the keys put behind are left.
		got = got[:0]
		for k, _ := m.First(); k != nil; k, _ = m.Next() {
			got = append(got, string(k))
		}
		if len(got) != 2*300 || got[0] != "ak000" || got[len(got)-1] != "ak299+" {
			t.Errorf("after the walk: %d keys %v…", len(got), got[:min(4, len(got))])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReaders: one writer Puts (and now and then Aborts) at seqs above 1 while 4
// readers, each holding the View of seq 1, Get and iterate both ways. A View fixed at seq 1
// must answer exactly as it did before the writer started. Run it with -race.
func TestConcurrentReaders(t *testing.T) {
	tb := New(2048) // a filter with some of the 3000 keys ruled out, some not
	rng := rand.New(rand.NewPCG(5, 6))
	key := func(r *rand.Rand) []byte { return fmt.Appendf(nil, "%04d", r.IntN(3000)) }
	for i := 0; i < 2000; i++ {
		tb.Put(uint8(i%2), key(rng), fmt.Appendf(nil, "v%d", i), i%7 == 0, 1)
	}
	view := tb.View(0, 1)
	// The snapshot the readers must keep seeing.
	type entry struct {
		v   string
		del bool
	}
	snap := map[string]entry{}
	var scan [2][]string
	for b := uint8(0); b < 2; b++ {
		for i := 0; i < 3000; i++ {
			k := fmt.Appendf(nil, "%04d", i)
			if v, del, ok := view.Get(b, k); ok {
				snap[fmt.Sprint(b, string(k))] = entry{string(v), del}
			}
		}
		var m Merged
		m.Reset(nil, b, view)
		for k, v := m.First(); k != nil; k, v = m.Next() {
			scan[b] = append(scan[b], string(k)+"="+string(v))
		}
	}
	if len(scan[0]) < 500 || len(scan[1]) < 500 {
		t.Fatalf("setup: scans of %d and %d keys", len(scan[0]), len(scan[1]))
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(r), 7))
			var m Merged
			for rounds := 0; !stop.Load() || rounds < 3; rounds++ {
				for i := 0; i < 200; i++ {
					b := uint8(rr.IntN(2))
					k := key(rr)
					v, del, ok := view.Get(b, k)
					e, want := snap[fmt.Sprint(b, string(k))]
					if ok != want || string(v) != e.v || del != e.del {
						errs <- fmt.Errorf("reader %d: Get(%d,%s) = %q,%v,%v want %+v,%v", r, b, k, v, del, ok, e, want)
						return
					}
				}
				b := uint8(rounds % 2)
				m.Reset(nil, b, view)
				var got []string
				if rounds%4 < 2 {
					for k, v := m.First(); k != nil; k, v = m.Next() {
						got = append(got, string(k)+"="+string(v))
					}
				} else {
					for k, v := m.Last(); k != nil; k, v = m.Prev() {
						got = append(got, string(k)+"="+string(v))
					}
					for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
						got[i], got[j] = got[j], got[i]
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(scan[b]) {
					errs <- fmt.Errorf("reader %d: scan of bucket %d changed under concurrent Puts", r, b)
					return
				}
				// A view that follows the writer still iterates in strictly rising order.
				m.Reset(nil, b, tb.View(0, tb.MaxSeq()))
				var last []byte
				for k, _ := m.First(); k != nil; k, _ = m.Next() {
					if last != nil && bytes.Compare(last, k) >= 0 {
						errs <- fmt.Errorf("reader %d: %q after %q", r, k, last)
						return
					}
					last = k
				}
			}
		}(r)
	}
	wr := rand.New(rand.NewPCG(8, 9))
	for seq := uint64(2); seq < 3000; seq++ {
		for i := 0; i < 10; i++ {
			tb.Put(uint8(wr.IntN(2)), key(wr), fmt.Appendf(nil, "w%d", seq), wr.IntN(5) == 0, seq)
		}
		if seq%500 == 0 {
			tb.Abort(seq)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAbortDuringIteration: an Abort of a seq the view sees takes effect at the next step,
// even for the key a layer has already lined up, and even for a view no Put can reach.
func TestAbortDuringIteration(t *testing.T) {
	top, tb := New(0), New(0)
	top.Put(0, []byte("a"), []byte("top"), false, 1)
	tb.Put(0, []byte("b"), []byte("2"), false, 2)
	tb.Put(0, []byte("c"), []byte("3"), false, 3)
	tb.Put(0, []byte("z"), []byte("9"), false, 9) // above the view: the view is sealed
	var m Merged
	m.Reset(nil, 0, top.View(0, 1), tb.View(0, 5))
	if k, _ := m.First(); string(k) != "a" { // tb's layer has lined up b
		t.Fatalf("First = %q", k)
	}
	tb.Abort(2)
	if k, _ := m.Next(); string(k) != "c" {
		t.Fatalf("Next after Abort(2) = %q, want c", k)
	}
	if k, _ := m.Prev(); string(k) != "a" {
		t.Fatalf("Prev = %q, want a", k)
	}
	tb.Abort(3)
	if k, _ := m.Next(); k != nil {
		t.Fatalf("Next after Abort(3) = %q, want the end", k)
	}
}

// TestFindGEUnderInserts: a reader's lookup of a key that is in the table finds it while
// the writer inserts keys next to it. (findGE loaded the link after the search's last node
// a second time, and a key inserted there meanwhile — before the one sought — came back
// in its place: one lookup in a few thousand missed under a concurrent writer.)
func TestFindGEUnderInserts(t *testing.T) {
	for round := 0; round < 50; round++ {
		tb := New(0)
		var keys [][]byte
		for i := 0; i < 2000; i += 2 { // even keys; the writer adds odd ones between them
			k := fmt.Appendf(nil, "%04d", i)
			keys = append(keys, k)
			tb.Put(0, k, []byte("x"), false, 1)
		}
		view := tb.View(0, 1)
		var stop atomic.Bool
		var wg sync.WaitGroup
		var misses atomic.Int64
		for range 3 {
			wg.Go(func() {
				for !stop.Load() {
					for _, k := range keys {
						if v, _, ok := view.Get(0, k); !ok || string(v) != "x" {
							misses.Add(1)
						}
					}
				}
			})
		}
		rng := rand.New(rand.NewPCG(uint64(round), 3))
		for seq := uint64(2); seq < 3000; seq++ {
			tb.Put(0, fmt.Appendf(nil, "%04d", rng.IntN(2000)), []byte("y"), false, seq)
		}
		stop.Store(true)
		wg.Wait()
		if n := misses.Load(); n > 0 {
			t.Fatalf("round %d: %d lookups of a present key missed it", round, n)
		}
	}
}
