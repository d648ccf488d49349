package overlay

import (
	"math"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestAllocs: reads never allocate, and Put allocates only a chunk now and then.
func TestAllocs(t *testing.T) {
	tb := New(0)
	var key []byte
	val := make([]byte, 50)
	i := 0
	puts := testing.AllocsPerRun(1, func() { // runs twice, counts the second
		for end := i + 10000; i < end; i++ {
			key = benchKey(key, uint64(i))
			tb.Put(uint8(i%2), key, val, i%5 == 0, uint64(i+1))
		}
	})
	// 10000 nodes: ≤ 3 node chunks; 0.7 MB of keys and values: ≤ 2 byte chunks; a tower chunk.
	t.Logf("10000 Puts: %v allocations", puts)
	if puts > 10 { // the race detector adds a few
		t.Errorf("10000 Puts made %v allocations", puts)
	}
	db := openDB(t)
	if err := db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket([]byte("u"))
		if err != nil {
			return err
		}
		for i := 20000; i < 21000; i++ {
			if err := bk.Put(benchKey(nil, uint64(i)), val); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	older := tb.View(0, 10000)
	newer := tb.View(10000, math.MaxUint64)
	err := db.View(func(tx *bolt.Tx) error {
		var m Merged
		c := tx.Bucket([]byte("u")).Cursor()
		reads := testing.AllocsPerRun(20, func() {
			for i := 0; i < 100; i++ {
				newer.Get(uint8(i%2), benchKey(key[:0], uint64(i*97)))
			}
			m.Reset(c, 0, newer, older)
			n := 0
			for k, _ := m.First(); k != nil; k, _ = m.Next() {
				n++
			}
			for k, _ := m.Seek(benchKey(key[:0], 7)); k != nil; k, _ = m.Prev() {
				n++
			}
			m.Last()
			if n < 1000 {
				t.Errorf("scanned only %d keys", n)
			}
		})
		if reads != 0 {
			t.Errorf("reads made %v allocations", reads)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
