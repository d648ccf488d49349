package embedded

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomBlockEvents returns n events in ascending key order: ids that are
// canonical UUIDs, upper-case ones (kept as text) and other strings, and
// records of any bytes, empty included.
func randomBlockEvents(rng *rand.Rand, n int) []blockEvent {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []blockEvent
	for i := range n {
		t = t.Add(time.Duration(rng.IntN(3)) * time.Millisecond) // some share an instant
		var id string
		switch rng.IntN(3) {
		case 0:
			id = fmt.Sprintf("%08x-0000-7000-8000-%012x", i, rng.Uint64()>>16)
		case 1:
			id = fmt.Sprintf("%08X-0000-7000-8000-%012X", i, rng.Uint64()>>16)
		default:
			id = fmt.Sprintf("ev-%06d", i)
		}
		rec := make([]byte, rng.IntN(300))
		for j := range rec {
			rec[j] = byte(rng.IntN(8)) // compressible, as records are
		}
		evs = append(evs, blockEvent{key: eventKey(t, id), rec: rec})
	}
	slices.SortFunc(evs, func(a, b blockEvent) int { return bytes.Compare(a.key, b.key) })
	return slices.CompactFunc(evs, func(a, b blockEvent) bool { return bytes.Equal(a.key, b.key) })
}

func TestBlockCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var enc blockEncoder
	for _, n := range []int{1, 2, 17, 500} {
		evs := randomBlockEvents(rng, n)
		v := enc.encode(evs)
		h, got, err := decodeBlock(v)
		if err != nil {
			t.Fatalf("%d events: %v", n, err)
		}
		if h.count != len(evs) || !bytes.Equal(h.first, evs[0].key) || !bytes.Equal(h.last, evs[len(evs)-1].key) {
			t.Fatalf("%d events: header %d %x %x", n, h.count, h.first, h.last)
		}
		if !slices.EqualFunc(got, evs, func(a, b blockEvent) bool { return bytes.Equal(a.key, b.key) && bytes.Equal(a.rec, b.rec) }) {
			t.Fatalf("%d events: decoded events differ", n)
		}
	}
}

// TestBlockCodecDamaged: every truncation of a block value, and a flipped
// byte in its payload, is an error, never a panic nor a wrong block.
func TestBlockCodecDamaged(t *testing.T) {
	var enc blockEncoder
	evs := randomBlockEvents(rand.New(rand.NewPCG(3, 4)), 40)
	v := enc.encode(evs)
	for i := range len(v) - 1 {
		if _, _, err := decodeBlock(v[:i]); err == nil {
			t.Fatalf("a block cut at %d of %d bytes decoded", i, len(v))
		}
	}
	h, _ := parseBlockHeader(v)
	bad := bytes.Clone(v)
	bad[len(v)-len(h.payload)/2] ^= 0x55
	if _, _, err := decodeBlock(bad); err == nil {
		t.Fatal("a flipped byte in the payload went unnoticed")
	}
}

// FuzzBlockDecode: decodeBlock never panics, and a value it accepts
// encodes back into a value that decodes to the same events.
func FuzzBlockDecode(f *testing.F) {
	var enc blockEncoder
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 3, 20} {
		f.Add(enc.encode(randomBlockEvents(rng, n)))
	}
	f.Add([]byte{blockCodecV1, 1, 12})
	f.Fuzz(func(t *testing.T, v []byte) {
		_, evs, err := decodeBlock(v)
		if err != nil {
			return
		}
		var e blockEncoder
		_, again, err := decodeBlock(e.encode(evs))
		if err != nil {
			t.Fatalf("re-encoded block: %v", err)
		}
		if !slices.EqualFunc(again, evs, func(a, b blockEvent) bool { return bytes.Equal(a.key, b.key) && bytes.Equal(a.rec, b.rec) }) {
			t.Fatal("re-encoded block differs")
		}
	})
}
