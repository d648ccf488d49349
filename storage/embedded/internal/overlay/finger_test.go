package overlay

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPutRuns puts what the store's flushes put — ascending runs of keys
// (dense, sparse, across buckets, repeating the run's last key) between
// random keys and descending ones — into a table big enough for tall towers,
// with reads through WriterGet among them (of the key about to be put, and
// of random keys), and checks every level of the skiplist and every key
// against a model:
// each level in (bucket, key) order with a key's versions newest first,
// each level's nodes a subset of the level below, Get and Entries exact.
func TestPutRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 12))
	tb := New(1 << 12)
	type ver struct {
		b   uint8
		key string
	}
	newest := map[ver]string{}
	seq := uint64(1)
	// get looks key up with WriterGet, as the store's flushes do before a
	// Put, and checks it against the model and Get.
	get := func(b uint8, key []byte) {
		t.Helper()
		v := tb.View(0, math.MaxUint64)
		got, _, ok := v.WriterGet(b, key)
		want, wok := newest[ver{b, string(key)}]
		if ok != wok || string(got) != want {
			t.Fatalf("WriterGet(%d, %x) = %q %v, want %q %v", b, key, got, ok, want, wok)
		}
		if g, _, gok := v.Get(b, key); gok != ok || !bytes.Equal(g, got) {
			t.Fatalf("Get(%d, %x) = %q %v, WriterGet %q %v", b, key, g, gok, got, ok)
		}
	}
	put := func(b uint8, k uint64, suffix string) {
		key := binary.BigEndian.AppendUint64(nil, k)
		key = append(key, suffix...)
		val := fmt.Sprintf("v%d", seq)
		switch rng.IntN(4) {
		case 0: // a read of the key, then its write
			get(b, key)
		case 1: // a read of some key
			get(uint8(rng.IntN(3)), binary.BigEndian.AppendUint64(nil, rng.Uint64N(1<<20)))
		}
		tb.Put(b, key, []byte(val), false, seq)
		newest[ver{b, string(key)}] = val
		if rng.IntN(3) == 0 {
			seq++
		}
	}
	for range 400 {
		b := uint8(rng.IntN(3))
		start, step := rng.Uint64N(1<<20), 1+rng.Uint64N(uint64(1)<<rng.IntN(16))
		switch rng.IntN(5) {
		case 0: // random keys
			for range 20 {
				put(uint8(rng.IntN(3)), rng.Uint64N(1<<20), "")
			}
		case 1: // descending
			for i := range uint64(30) {
				put(b, start-i*step, "")
			}
		case 2: // ascending across a bucket boundary
			for i := range uint64(30) {
				put(b, start+i*step, "")
			}
			for i := range uint64(30) {
				put(b+1, i*step, "")
			}
		default: // ascending, the last key again, keys extending it
			k := start
			for range 60 {
				put(b, k, "")
				if rng.IntN(8) == 0 {
					put(b, k, "")
					put(b, k, "x")
				}
				k += step
			}
		}
	}

	h := int(tb.height.Load())
	if h < 5 {
		t.Fatalf("height %d: too small a table to test tall towers", h)
	}
	for i := h - 1; i >= 0; i-- {
		var below map[*node]bool
		if i > 0 {
			below = map[*node]bool{}
			for n := tb.head.link(i - 1).Load(); n != nil; n = n.link(i - 1).Load() {
				below[n] = true
			}
		}
		var p *node
		for n := tb.head.link(i).Load(); n != nil; p, n = n, n.link(i).Load() {
			if below != nil && !below[n] {
				t.Fatalf("level %d: node %x not on level %d", i, n.key, i-1)
			}
			if p == nil {
				continue
			}
			if c := cmpNode(p, n.kp, n.b, n.key, false); c > 0 || c == 0 && p.seq < n.seq {
				t.Fatalf("level %d: (%d %x seq %d) before (%d %x seq %d)", i, p.b, p.key, p.seq, n.b, n.key, n.seq)
			}
		}
	}
	v := tb.View(0, math.MaxUint64)
	for k, want := range newest {
		if got, _, ok := v.Get(k.b, []byte(k.key)); !ok || string(got) != want {
			t.Fatalf("Get(%d, %x) = %q %v, want %q", k.b, k.key, got, ok, want)
		}
	}
	n := 0
	var pb uint8
	var pk []byte
	err := tb.Entries(math.MaxUint64, func(b uint8, key, value []byte, del bool) error {
		if n > 0 && (b < pb || b == pb && bytes.Compare(pk, key) >= 0) {
			return fmt.Errorf("Entries: (%d %x) after (%d %x)", b, key, pb, pk)
		}
		if want := newest[ver{b, string(key)}]; string(value) != want {
			return fmt.Errorf("Entries: (%d %x) = %q, want %q", b, key, value, want)
		}
		n, pb, pk = n+1, b, key
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(newest) {
		t.Fatalf("Entries: %d keys, want %d", n, len(newest))
	}
}

// TestEntriesManyVersions: Entries gives each key's newest entry at or
// below upTo when keys have many versions (more than it walks before it
// skips the rest with a search), for every upTo, aborted seqs among them.
func TestEntriesManyVersions(t *testing.T) {
	tb := New(0)
	const versions = 3 * walkVersions
	keys := []string{"a", "b", "bb", "c"}
	for seq := uint64(1); seq <= versions; seq++ {
		for i, k := range keys {
			if i%2 == 1 && seq%3 == 0 {
				continue // b and c skip some seqs
			}
			tb.Put(0, []byte(k), []byte(fmt.Sprintf("%s%d", k, seq)), false, seq)
		}
	}
	tb.Abort(versions - 1)
	for upTo := uint64(0); upTo <= versions+1; upTo++ {
		var want, got []string
		for i, k := range keys {
			for s := min(upTo, versions); s > 0; s-- {
				if s == versions-1 || i%2 == 1 && s%3 == 0 {
					continue
				}
				want = append(want, fmt.Sprintf("%s%d", k, s))
				break
			}
		}
		err := tb.Entries(upTo, func(b uint8, key, value []byte, del bool) error {
			got = append(got, string(value))
			return nil
		})
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Entries(%d) = %v, %v; want %v", upTo, got, err, want)
		}
	}
}
