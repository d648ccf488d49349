package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// TestIdleSealNotDueBelowBudget: once a block is sealed the sealer aims
// blocks at rawBudget, which is above blockBytes when the learnt ratio
// rounds up to whole pages. A tail between the two is not a block's worth:
// sealBlock finds its end and seals nothing, so the idle writer must not
// find a seal due then. (It did: sealDue compared the tail with
// blockBytes, and the idle writer ran empty seal batches back to back, a
// core's worth of CPU, until the next write: measured 280 ms of CPU in
// 300 ms of an idle store with 8 KiB blocks.)
func TestIdleSealNotDueBelowBudget(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{seal: sealOptions{blockBytes: 8192, age: 0}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now().Add(-time.Hour)
	i := 0
	add := func() {
		e := &schemas.Event{ID: fmt.Sprintf("%08x-0000-7000-8000-000000000000", i), Time: t0.Add(time.Duration(i) * time.Millisecond),
			ActorID: "a1", Action: "createUser", TargetID: fmt.Sprintf("u%d", i%50),
			Changes: map[string]schemas.Change{"title": {Prev: "a", Current: fmt.Sprint("b", i)}}}
		if err := s.AppendEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		i++
	}
	// state reads the sealer on the writer goroutine (its only user), once
	// the idle writer has sealed what it would seal.
	type state struct {
		tail, budget, blocks int
		due                  bool
	}
	read := func() state {
		var st state
		for range 200 { // the idle writer seals within milliseconds
			var again bool
			if err := s.submit(func(b *batch) error {
				z := &b.s.sealer
				st.tail, st.budget, st.due = z.tail, z.rawBudget(), b.s.sealDue(true)
				ok, err := b.sealBlock(time.Now()) // seals only what the idle writer left
				again = ok
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if !again {
				break
			}
		}
		st.blocks, _ = blockStats(t, s)
		return st
	}
	for st := read(); st.blocks == 0; st = read() {
		add()
	}
	checked := 0
	for st := read(); st.blocks == 1 && i < 5000; st = read() {
		if st.budget <= s.sealer.blockBytes {
			t.Fatalf("the learnt budget %d is not above the block size: the test tests nothing", st.budget)
		}
		if st.tail >= s.sealer.blockBytes && st.tail < st.budget {
			checked++
			if st.due {
				t.Fatalf("the tail holds %d bytes, below the block's budget of %d, and a seal is due: the idle writer seals nothing, again and again", st.tail, st.budget)
			}
		}
		add()
	}
	if checked == 0 {
		t.Fatal("the tail never held between a block's size and its budget: the test tests nothing")
	}
}

// TestBlockListChunksBoundedByImport: an older log appended to a sealed
// store (an import, oldest first) makes blocks numbered below the
// store's first block, whose refs go into the id's first block-list chunk,
// before its refs: the chunk must be split, not grow by a ref per block
// of the import (it did: the connector acting in every event had one chunk
// of every block, rewritten by every write). The listings by the id still
// answer in full and in order.
func TestBlockListChunksBoundedByImport(t *testing.T) {
	defer func(n int) { maxBlockListChunk = n }(maxBlockListChunk)
	maxBlockListChunk = 4
	s, err := OpenWithOptions(t.TempDir(), sealedOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	model := map[string]*schemas.Event{}
	add := func(id string, at time.Time, target string) {
		e := &schemas.Event{ID: id, Time: at, ActorID: "a1", Action: "createUser", TargetID: target,
			Changes: map[string]schemas.Change{"title": {Current: "t"}}}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		model[string(eventKey(e.Time, e.ID))] = e
	}
	for i := range 60 { // the store's own log: sealed, several chunks
		add(fmt.Sprintf("ev-%03d", i), t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("u%d", i%2))
	}
	for i := range 400 { // a year before, oldest first
		add(fmt.Sprintf("im-%03d", i), t0.AddDate(-1, 0, 0).Add(time.Duration(i)*time.Second), fmt.Sprintf("u%d", i%2))
	}
	for _, id := range []struct {
		kind byte
		id   string
	}{{ixActorBlock, "a1"}, {ixTargetBlock, "u0"}} {
		var chunks, biggest int
		prefix := ixPrefix(id.kind, id.id)
		if err := s.readView(func(tb *txBuckets) error {
			c := tb.bucket(fbEventIndex).Cursor()
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				refs, err := decodeBlockList(binary.BigEndian.Uint64(k[len(prefix):]), v)
				if err != nil {
					return err
				}
				chunks, biggest = chunks+1, max(biggest, len(refs))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if biggest > 2*maxBlockListChunk {
			t.Errorf("the block list of %q: %d chunks, the biggest of %d blocks; want at most %d", id.id, chunks, biggest, 2*maxBlockListChunk)
		}
	}
	for _, q := range []storage.EventQuery{{ActorID: "a1", Limit: storage.Unlimited}, {TargetID: "u0", Limit: storage.Unlimited},
		{ActorID: "a1", Offset: 150, Limit: 30}, {TargetID: "u1", Offset: 190, Limit: 40}} {
		checkEventModel(t, s, model, q, "after the import")
	}
}
