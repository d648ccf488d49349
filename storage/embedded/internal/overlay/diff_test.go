package overlay

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// src hands out the scenario's choices from fuzz bytes (zeros once they run out).
type src struct{ data []byte }

func (s *src) byte() byte {
	if len(s.data) == 0 {
		return 0
	}
	c := s.data[0]
	s.data = s.data[1:]
	return c
}

func (s *src) intn(n int) int { return int(s.byte()) % n }

const nBuckets = 3

// key returns one of the 1..3-letter keys over "abc" (39 keys, so they collide).
func (s *src) key() []byte {
	n := 1 + s.intn(3)
	k := make([]byte, n)
	for i := range k {
		k[i] = "abc"[s.intn(3)]
	}
	return k
}

// seekKey is a key to Seek: usually a table key, sometimes one between keys, empty, or past all.
func (s *src) seekKey() []byte {
	switch s.intn(8) {
	case 0:
		return nil
	case 1:
		return []byte("d")
	case 2:
		return append(s.key(), 0)
	default:
		return s.key()
	}
}

func (s *src) value() []byte {
	n := s.intn(8)
	if s.intn(16) == 0 {
		n = 200 + s.intn(200) // large values push bbolt to several leaf pages
	}
	v := make([]byte, n)
	for i := range v {
		v[i] = s.byte()
	}
	return v
}

// put is one Put as the model records it.
type put struct {
	b        uint8
	key, val []byte
	del      bool
	seq      uint64
}

// model is the reference: the log of Puts and the aborted seqs of one Table.
type model struct {
	puts    []put
	aborted map[uint64]bool
}

// visible returns what a view (low, high) of the model holds: key -> newest entry.
func (m *model) visible(b uint8, low, high uint64) map[string]put {
	out := map[string]put{}
	for _, p := range m.puts { // in Put order: later wins
		if p.b == b && p.seq > low && p.seq <= high && !m.aborted[p.seq] {
			out[string(p.key)] = p
		}
	}
	return out
}

type kv struct{ k, v []byte }

func sortedKV(m map[string][]byte) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{[]byte(k), v})
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].k, out[j].k) < 0 })
	return out
}

// fill makes a table and its model from s: Puts at rising seqs (several per seq at times),
// tombstones, and now and then an Abort.
func fill(s *src, seq0 uint64) (*Table, *model) {
	t, m := New(8*s.intn(3)), &model{aborted: map[uint64]bool{}}
	seq := seq0
	for n := 10 + s.intn(120); n > 0; n-- {
		seq += uint64(s.intn(2))
		p := put{b: uint8(s.intn(nBuckets)), key: s.key(), del: s.intn(4) == 0, seq: seq}
		if !p.del {
			p.val = p.value(s)
		}
		t.Put(p.b, p.key, p.val, p.del, p.seq)
		m.puts = append(m.puts, p)
		if s.intn(24) == 0 {
			a := seq0 + uint64(s.intn(int(seq-seq0)+1))
			t.Abort(a)
			m.aborted[a] = true
		}
	}
	return t, m
}

func (p put) value(s *src) []byte { return s.value() }

type layer struct {
	m         *model
	v         View
	low, high uint64
}

// scenario runs one differential scenario from the bytes: one or two tables, one or two
// views (both on one table, or one per table), a real bbolt under layer or none; it checks
// Get and Entries against the model and Merged against a real bbolt cursor over a bucket
// holding the merged state, with full scans both ways and a random walk of cursor moves.
func scenario(t testing.TB, db *bolt.DB, data []byte) {
	s := &src{data: data}
	older, om := fill(s, 1+uint64(s.intn(3)))
	var layers []layer
	pick := func(tb *Table, m *model) layer {
		max := int(tb.MaxSeq()) + 2
		lo := uint64(s.intn(max))
		hi := lo + uint64(s.intn(max))
		if s.intn(3) == 0 {
			lo, hi = 0, tb.MaxSeq()
		}
		return layer{m: m, v: tb.View(lo, hi), low: lo, high: hi}
	}
	switch s.intn(3) {
	case 0:
		layers = []layer{pick(older, om)}
	case 1: // two views of one table
		layers = []layer{pick(older, om), pick(older, om)}
	case 2: // a newer table over the older one
		newer, nm := fill(s, older.MaxSeq())
		layers = []layer{pick(newer, nm), pick(older, om)}
	}
	withUnder := s.intn(4) != 0

	// Get and Entries against the model.
	for _, l := range layers {
		for b := uint8(0); b < nBuckets; b++ {
			vis := l.m.visible(b, l.low, l.high)
			for _, k := range allKeys() {
				val, del, found := l.v.Get(b, k)
				p, ok := vis[string(k)]
				if found != ok || (ok && (del != p.del || !bytes.Equal(val, p.val) || (!del && val == nil))) {
					t.Fatalf("Get(%d,%q) view(%d,%d) = %q,%v,%v want %+v,%v", b, k, l.low, l.high, val, del, found, p, ok)
				}
			}
		}
	}
	upTo := uint64(s.intn(int(older.MaxSeq()) + 2))
	var got []put
	if err := older.Entries(upTo, func(b uint8, k, v []byte, del bool) error {
		got = append(got, put{b: b, key: k, val: v, del: del})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var want []put
	for b := uint8(0); b < nBuckets; b++ {
		vis := om.visible(b, 0, upTo)
		for _, e := range sortedKV(toVals(vis)) {
			p := vis[string(e.k)]
			want = append(want, put{b: b, key: p.key, val: p.val, del: p.del})
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Entries(%d):\n got %v\nwant %v", upTo, got, want)
	}

	// The under layer and the expected merged state, as bbolt buckets.
	err := db.Update(func(tx *bolt.Tx) error {
		for b := uint8(0); b < nBuckets; b++ {
			for _, name := range []string{"u", "x"} {
				name += string('0' + rune(b))
				if tx.Bucket([]byte(name)) != nil {
					if err := tx.DeleteBucket([]byte(name)); err != nil {
						return err
					}
				}
				if _, err := tx.CreateBucket([]byte(name)); err != nil {
					return err
				}
			}
			state := map[string][]byte{}
			if withUnder {
				for n := s.intn(80); n > 0; n-- {
					state[string(s.key())] = s.value()
				}
				for k, v := range state {
					if err := tx.Bucket([]byte{'u', '0' + b}).Put([]byte(k), v); err != nil {
						return err
					}
				}
			}
			for i := len(layers) - 1; i >= 0; i-- {
				for k, p := range layers[i].m.visible(b, layers[i].low, layers[i].high) {
					if p.del {
						delete(state, k)
					} else {
						state[k] = p.val
					}
				}
			}
			for k, v := range state {
				if err := tx.Bucket([]byte{'x', '0' + b}).Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	views := make([]View, len(layers))
	for i, l := range layers {
		views[i] = l.v
	}
	err = db.View(func(tx *bolt.Tx) error {
		var m Merged
		for b := uint8(0); b < nBuckets; b++ {
			var under Cursor
			if withUnder {
				under = tx.Bucket([]byte{'u', '0' + b}).Cursor()
			}
			m.Reset(under, b, views...)
			x := tx.Bucket([]byte{'x', '0' + b}).Cursor()
			// Full scans both ways.
			var fw, bw, want []string
			for k, v := x.First(); k != nil; k, v = x.Next() {
				want = append(want, fmt.Sprintf("%q=%q", k, v))
			}
			for k, v := m.First(); k != nil; k, v = m.Next() {
				fw = append(fw, fmt.Sprintf("%q=%q", k, v))
			}
			for k, v := m.Last(); k != nil; k, v = m.Prev() {
				bw = append([]string{fmt.Sprintf("%q=%q", k, v)}, bw...)
			}
			if fmt.Sprint(fw) != fmt.Sprint(want) || fmt.Sprint(bw) != fmt.Sprint(want) {
				t.Fatalf("bucket %d scans:\nforward  %v\nbackward %v\nwant     %v", b, fw, bw, want)
			}
			// A random walk, move for move against bbolt.
			m.Reset(under, b, views...)
			var trail []string
			for n := 0; n < 40; n++ {
				positioned := len(trail) > 0
				var gk, gv, wk, wv []byte
				op := s.intn(5)
				switch op {
				case 0:
					gk, gv = m.First()
					wk, wv = x.First()
					trail = append(trail, "First")
				case 1:
					gk, gv = m.Last()
					wk, wv = x.Last()
					trail = append(trail, "Last")
				case 2:
					k := s.seekKey()
					gk, gv = m.Seek(k)
					wk, wv = x.Seek(k)
					trail = append(trail, fmt.Sprintf("Seek(%q)", k))
				case 3, 4:
					if !positioned {
						continue // a fresh bbolt cursor cannot Next/Prev
					}
					if op == 3 {
						gk, gv = m.Next()
						wk, wv = x.Next()
						trail = append(trail, "Next")
					} else {
						gk, gv = m.Prev()
						wk, wv = x.Prev()
						trail = append(trail, "Prev")
					}
				}
				if (gk == nil) != (wk == nil) || !bytes.Equal(gk, wk) || !bytes.Equal(gv, wv) {
					t.Fatalf("bucket %d after %v: got %q=%q want %q=%q (state %v)", b, trail, gk, gv, wk, wv, want)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func toVals(m map[string]put) map[string][]byte {
	out := map[string][]byte{}
	for k, p := range m {
		out[k] = p.val
	}
	return out
}

func allKeys() [][]byte {
	var out [][]byte
	var gen func(prefix []byte)
	gen = func(prefix []byte) {
		if len(prefix) > 0 {
			out = append(out, prefix)
		}
		if len(prefix) == 3 {
			return
		}
		for _, c := range []byte("abc") {
			gen(append(bytes.Clone(prefix), c))
		}
	}
	gen(nil)
	return append(out, []byte("d"), []byte("a\x00"))
}

func openDB(tb testing.TB) *bolt.DB {
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "under.db"), 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestMergedDifferential runs many random scenarios.
func TestMergedDifferential(t *testing.T) {
	db := openDB(t)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 1000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		data := make([]byte, 4000)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		t.Run("", func(t *testing.T) { scenario(t, db, data) })
		if t.Failed() {
			break
		}
	}
}

// FuzzMerged drives the same differential scenario from fuzz bytes.
func FuzzMerged(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 300))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 8; i++ {
		data := make([]byte, 800)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		f.Add(data)
	}
	db := openDB(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		scenario(t, db, data)
	})
}
