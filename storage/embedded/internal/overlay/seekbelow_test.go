package overlay

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestSeekBelow: SeekBelow(seek, limit) and the Nexts after it return what
// Seek(seek) and its Nexts return before the first key ≥ limit, then nil
// (and nil again), over random tables of puts and deletes of colliding keys
// (one or two, the newer over the older; in a third of the rounds the newer
// seen only up to a sequence number, as by a reader that began before its
// last puts), with and without a bbolt bucket under them; and Seek after it
// is unbounded again.
func TestSeekBelow(t *testing.T) {
	db := openDB(t)
	rng := rand.New(rand.NewPCG(7, 8))
	keys := func() [][]byte {
		var ks [][]byte
		for _, a := range "abc" {
			ks = append(ks, []byte{byte(a)})
			for _, b := range "abc" {
				ks = append(ks, []byte{byte(a), byte(b)}, []byte{byte(a), byte(b), 'c'})
			}
		}
		return append(ks, nil, []byte("d"), []byte("b\xff"))
	}()
	for round := 0; round < 300; round++ {
		data := make([]byte, 400)
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		s := &src{data: data}
		older, _ := fill(s, 1)
		newer, _ := fill(s, older.MaxSeq()+1)
		views := []View{newer.View(0, math.MaxUint64)}
		if round%3 == 1 {
			views[0] = newer.View(0, older.MaxSeq()+uint64(rng.IntN(int(newer.MaxSeq()-older.MaxSeq())+1)))
		}
		if round%2 == 0 {
			views = append(views, older.View(0, math.MaxUint64))
		}
		err := db.Update(func(tx *bolt.Tx) error {
			_ = tx.DeleteBucket([]byte("u"))
			bk, err := tx.CreateBucket([]byte("u"))
			if err != nil {
				return err
			}
			for _, k := range keys[:len(keys)-3] {
				if k != nil && rng.IntN(3) == 0 {
					if err := bk.Put(k, []byte("under")); err != nil {
						return err
					}
				}
			}
			for _, withUnder := range []bool{false, true} {
				var under Cursor
				if withUnder {
					under = bk.Cursor()
				}
				var m Merged
				for _, seek := range keys {
					for _, limit := range keys {
						if limit == nil {
							continue
						}
						m.Reset(under, 0, views...)
						var want []string
						for k, _ := m.Seek(seek); k != nil && bytes.Compare(k, limit) < 0; k, _ = m.Next() {
							want = append(want, string(k))
						}
						m.Reset(under, 0, views...)
						var got []string
						k, _ := m.SeekBelow(seek, limit)
						for ; k != nil; k, _ = m.Next() {
							got = append(got, string(k))
						}
						if k, _ := m.Next(); k != nil {
							got = append(got, "after nil: "+string(k))
						}
						if fmt.Sprint(got) != fmt.Sprint(want) {
							return fmt.Errorf("round %d, under %v: SeekBelow(%q, %q) gave %q, want %q", round, withUnder, seek, limit, got, want)
						}
						first, _ := m.Seek(seek)
						m.Reset(under, 0, views...)
						if again, _ := m.Seek(seek); !bytes.Equal(first, again) {
							return fmt.Errorf("round %d: Seek(%q) after SeekBelow gave %q, want %q", round, seek, first, again)
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
