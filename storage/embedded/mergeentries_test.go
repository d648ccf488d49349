package embedded

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMergeEntries checks mergeEntries against a model — the value decoded
// into offset → mask, the changes applied, encoded again in offset order —
// on random posting values (empty to a full block, with a stray byte at
// times) and changes that add, replace and remove entries anywhere: before,
// among and after the old ones, as creates (new rows at the end), updates
// and deletes make them.
func TestMergeEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 3000 {
		// old: distinct sorted offsets, densely or sparsely spread
		span := 1 + rng.IntN(blockRows)
		var offs []int
		for o := range span {
			if rng.IntN(1+n%7) == 0 {
				offs = append(offs, o)
			}
		}
		model := map[uint16]byte{}
		var old []byte
		for _, o := range offs {
			m := byte(1 + rng.IntN(255))
			model[uint16(o)] = m
			old = append(binary.BigEndian.AppendUint16(old, uint16(o)), m)
		}
		if rng.IntN(10) == 0 {
			old = append(old, 0x7f) // a stray byte: not an entry, dropped
		}
		// set: distinct sorted offsets, masks 0 (remove) at times
		var set []postOp
		for o := range blockRows {
			if rng.IntN(1+rng.IntN(blockRows)) == 0 || n%3 == 0 && o >= span && rng.IntN(span) == 0 {
				m := byte(rng.IntN(256))
				if rng.IntN(4) == 0 {
					m = 0
				}
				set = append(set, postOp{pos: uint64(rng.IntN(1<<20))<<opKeyShift | uint64(o), mask: m})
			}
		}
		for _, op := range set {
			o := uint16(op.pos & (blockRows - 1))
			if op.mask == 0 {
				delete(model, o)
			} else {
				model[o] = op.mask
			}
		}
		var want []byte
		for _, o := range slices.Sorted(func(yield func(uint16) bool) {
			for o := range model {
				if !yield(o) {
					return
				}
			}
		}) {
			want = append(binary.BigEndian.AppendUint16(want, o), model[o])
		}
		if got := mergeEntries(old, set); !bytes.Equal(got, want) || got == nil {
			t.Fatalf("case %d: %d old entries, %d changes: got %d bytes, want %d", n, len(offs), len(set), len(got), len(want))
		}
	}
}

// BenchmarkMergeEntries: a flush's change of one posting key for creates —
// two new rows after 1,000 old entries.
func BenchmarkMergeEntries(b *testing.B) {
	var old []byte
	for o := 0; o < 2000; o += 2 {
		old = append(binary.BigEndian.AppendUint16(old, uint16(o)), 1)
	}
	set := []postOp{{pos: 2001, mask: 1}, {pos: 2003, mask: 2}}
	b.ReportAllocs()
	for b.Loop() {
		mergeEntries(old, set)
	}
}
