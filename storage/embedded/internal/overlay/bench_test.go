package overlay

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

const benchN = 100_000

func benchKey(dst []byte, i uint64) []byte {
	// 16 bytes, spread over the key space like hashed ids.
	dst = binary.BigEndian.AppendUint64(dst[:0], i*0x9e3779b97f4a7c15)
	return binary.BigEndian.AppendUint64(dst, i)
}

// benchPuts measures Puts of valLen-byte values under the keys key makes
// (into dst) and buckets b(i), into tables of up to benchN entries.
func benchPuts(b *testing.B, valLen int, key func(dst []byte, i int) ([]byte, uint8)) {
	val := make([]byte, valLen)
	var k []byte
	var bucket uint8
	tb := New(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%benchN == 0 {
			tb = New(0)
		}
		k, bucket = key(k, i)
		tb.Put(bucket, k, val, false, uint64(i))
	}
}

// BenchmarkPut: 16-byte keys, 100-byte values, into tables of up to 100k entries.
func BenchmarkPut(b *testing.B) {
	benchPuts(b, 100, func(dst []byte, i int) ([]byte, uint8) { return benchKey(dst, uint64(i)), uint8(i % 4) })
}

func filled(n int) *Table {
	tb := New(0)
	val := make([]byte, 100)
	var key []byte
	for i := 0; i < n; i++ {
		key = benchKey(key, uint64(i))
		tb.Put(0, key, val, false, uint64(i+1))
	}
	return tb
}

// BenchmarkSeekBelowUnseen: SeekBelow of a range with no key, followed by
// 100k keys put after the view was taken (a reader's view before a long scan,
// while the writer goes on) and then a key the view sees: a seek whose bound
// ends before the 100k must not step over them to the one it sees.
func BenchmarkSeekBelowUnseen(b *testing.B) {
	tb := New(0)
	tb.Put(0, []byte{0x10}, []byte("seen"), false, 1)
	tb.Put(0, []byte{0xf0}, []byte("seen"), false, 2)
	val := make([]byte, 16)
	var key []byte
	for i := 0; i < benchN; i++ {
		key = append(append(key[:0], 0x30), benchKey(nil, uint64(i))...)
		tb.Put(0, key, val, false, uint64(3+i))
	}
	v := tb.View(0, 2)
	var m Merged
	seek, limit := []byte{0x20}, []byte{0x21}
	b.ReportAllocs()
	for b.Loop() {
		m.Reset(nil, 0, v)
		if k, _ := m.SeekBelow(seek, limit); k != nil {
			b.Fatalf("SeekBelow found %q", k)
		}
	}
}

// BenchmarkGet: hits in a table of 100k entries.
func BenchmarkGet(b *testing.B) {
	tb := filled(benchN)
	v := tb.View(0, math.MaxUint64)
	rng := rand.New(rand.NewPCG(1, 1))
	var key []byte
	b.ReportAllocs()
	for b.Loop() {
		key = benchKey(key, uint64(rng.IntN(benchN)))
		if _, _, ok := v.Get(0, key); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkMergedScan: a full forward scan of 100k table entries, alone and merged over a
// bbolt bucket of 100k other keys; ns/op is per key returned.
func BenchmarkMergedScan(b *testing.B) {
	tb := filled(benchN)
	v := tb.View(0, math.MaxUint64)
	scan := func(b *testing.B, under func() Cursor, want int) {
		var m Merged
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if n == 0 {
				m.Reset(under(), 0, v)
				m.First()
				n = 1
			}
			if k, _ := m.Next(); k != nil {
				n++
			} else {
				if n != want {
					b.Fatalf("scanned %d keys, want %d", n, want)
				}
				n = 0
			}
		}
	}
	b.Run("table", func(b *testing.B) { scan(b, func() Cursor { return nil }, benchN) })
	b.Run("table+bbolt", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "u.db"), 0o600, &bolt.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucket([]byte("u"))
			if err != nil {
				return err
			}
			val := make([]byte, 100)
			var key []byte
			for i := benchN; i < 2*benchN; i++ {
				key = benchKey(key, uint64(i))
				if err := bk.Put(key, val); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		tx, err := db.Begin(false)
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback()
		scan(b, func() Cursor { return tx.Bucket([]byte("u")).Cursor() }, 2*benchN)
	})
}

// BenchmarkGetMiss: lookups of absent keys in a table of 100k entries,
// without a filter (a search each) and with one of 1 of 32 bytes of the
// table (as the store sizes it).
func BenchmarkGetMiss(b *testing.B) {
	for _, fb := range []int{0, 1 << 20} {
		b.Run(fmt.Sprintf("filter=%d", fb), func(b *testing.B) {
			tb := New(fb)
			val := make([]byte, 100)
			var key []byte
			for i := 0; i < benchN; i++ {
				key = benchKey(key, uint64(i))
				tb.Put(0, key, val, false, uint64(i+1))
			}
			v := tb.View(0, math.MaxUint64)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				key = benchKey(key, uint64(benchN+i))
				if _, _, ok := v.Get(0, key); ok {
					b.Fatal("hit")
				}
			}
		})
	}
}

// BenchmarkPutShared: Puts of keys that share their first 12 bytes (an
// index of folded user names and emails: "ada.lovelace.123@example.org"),
// into tables of up to 100k entries.
func BenchmarkPutShared(b *testing.B) {
	benchPuts(b, 20, func(dst []byte, i int) ([]byte, uint8) {
		return fmt.Appendf(dst[:0], "ada.lovelace.%d@example.org", uint32(uint64(i)*0x9e3779b97f4a7c15>>40)), 0
	})
}

// BenchmarkPutAscending: the store's flushes — runs of 2,000 ascending keys
// (postings, sort keys) into a table that already holds 100k random ones.
func BenchmarkPutAscending(b *testing.B) {
	val := make([]byte, 8)
	var key []byte
	tb := filled(benchN)
	seq := uint64(benchN + 1)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%2000 == 0 {
			seq++
		}
		key = binary.BigEndian.AppendUint64(key[:0], uint64(i%2000)<<52|uint64(i/2000))
		tb.Put(0, key, val, false, seq)
	}
}

// BenchmarkEntriesVersions: Entries over a table of 10k keys written 30
// times each (postings rewritten at every flush), what an apply walks.
func BenchmarkEntriesVersions(b *testing.B) {
	tb := New(0)
	val := make([]byte, 8)
	var key []byte
	for seq := uint64(1); seq <= 30; seq++ {
		for i := range 10_000 {
			key = benchKey(key, uint64(i))
			tb.Put(0, key, val, false, seq)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		tb.Entries(math.MaxUint64, func(uint8, []byte, []byte, bool) error { n++; return nil })
		if n != 10_000 {
			b.Fatal(n)
		}
	}
}
