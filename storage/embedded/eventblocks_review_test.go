package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

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
	setBlockListChunk(t, 4)
	s := openSealed(t)
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

// TestEventBlocksStragglerStorm is a differential test of the event log
// against a plain model, with other mixes than TestEventBlocksDifferential:
// the clock stepped back (runs of stragglers), stragglers far before every
// block, re-appends of stored events (an import run again), blocks of one
// event, block-list chunks of one and two blocks, prunes of a few events,
// reopens, and queries by ids longer than maxIndexedID, ids that are
// strings of eventDict and upper-case UUIDs.
func TestEventBlocksStragglerStorm(t *testing.T) {
	for _, c := range []struct {
		name       string
		blockBytes int
		chunk      int
	}{{"one-event-blocks", 1, 1}, {"small-blocks", 250, 2}, {"bigger-blocks", 1500, 3}} {
		t.Run(c.name, func(t *testing.T) {
			setBlockListChunk(t, c.chunk)
			// Seals by sealNow only; then also by the idle writer and at
			// the end of every batch (eager).
			stragglerStorm(t, uint64(c.blockBytes), Options{seal: sealOptions{blockBytes: c.blockBytes}, keepLag: true})
			stragglerStorm(t, uint64(c.blockBytes)+1, Options{seal: sealOptions{blockBytes: c.blockBytes, eager: true}})
		})
	}
}

func stragglerStorm(t *testing.T, seed uint64, opts Options) {
	rng := rand.New(rand.NewPCG(seed, 7))
	dir, s := openDir(t, opts)
	defer func() { s.Close() }()
	ctx := t.Context()
	long := strings.Repeat("L", maxIndexedID+1)
	targets := []string{"t1", long, testUUID, strings.ToUpper(testUUID), "user", "createUser", ""}
	actors := []string{"a1", long + "a", "system", testUUID, ""}
	actions := []string{"createUser", "adminUpdateUser", "userLogin"}
	model := map[string]*schemas.Event{}
	clock := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	var stored []*schemas.Event
	appendEvent := func(e *schemas.Event, step int) {
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatalf("step %d: AppendEvent: %v", step, err)
		}
		model[string(eventKey(e.Time, e.ID))] = e
	}
	for step := range 1500 {
		switch op := rng.IntN(100); {
		case op < 55:
			at := clock
			switch rng.IntN(6) {
			case 0:
				at = clock.Add(-time.Duration(rng.IntN(5000)) * time.Second)
			case 1:
				at = clock.Add(-time.Duration(100000+rng.IntN(5000)) * time.Second) // before every block
			default:
				clock = clock.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
			}
			// A nanosecond of its own: events of one instant list in the
			// per-event index's order of ids, not in the model's.
			at = at.Add(time.Duration(rng.IntN(1e6)))
			e := &schemas.Event{ID: fmt.Sprintf("%08x-0000-7000-8000-%012x", step, rng.Uint64()>>16), Time: at,
				ActorID: actors[rng.IntN(len(actors))], ActorType: "app", Action: actions[rng.IntN(len(actions))],
				TargetID: targets[rng.IntN(len(targets))], TargetType: "user"}
			if rng.IntN(3) == 0 {
				e.ID = fmt.Sprintf("ev-%d", step)
			}
			if rng.IntN(2) == 0 {
				e.Changes = map[string]schemas.Change{"title": {Prev: "a", Current: strings.Repeat("x", rng.IntN(100))}}
			}
			appendEvent(e, step)
			stored = append(stored, e)
		case op < 60: // an import run again: a stored event appended as it was
			if len(stored) > 0 {
				appendEvent(stored[rng.IntN(len(stored))], step)
			}
		case op < 62: // the clock stepped back
			clock = clock.Add(-time.Duration(rng.IntN(3000)) * time.Second)
		case op < 75:
			sealNow(t, s)
		case op < 79:
			pruneModel(t, s, model, clock.Add(-time.Duration(2000+rng.IntN(100000))*time.Second), 1+rng.IntN(6), fmt.Sprintf("step %d", step))
		case op < 80:
			s.Close()
			s = openAt(t, dir, opts)
		default:
			checkEventModel(t, s, model, randomEventQuery(rng, targets, actors, actions, clock, 6000*time.Second), fmt.Sprintf("step %d", step))
		}
	}
	checkEventModel(t, s, model, storage.EventQuery{Limit: storage.Unlimited}, "at the end")
	blocks, tail := blockStats(t, s)
	t.Logf("%d blocks and %d tail events at the end, %d events", blocks, tail, len(model))
	if blocks < 3 {
		t.Fatal("hardly anything was sealed: the test tests little")
	}
}

// TestEventListingsWhileSealing runs writers of audit events (some of them
// stragglers, into the blocks, some a run that splits a block) against the idle writer sealing tiny blocks
// and the applier applying a tiny overlay, and readers listing the log,
// unfiltered and by target, with pages: no listing may hold an event
// twice, be out of order, disagree with its Total, or miss an event
// acknowledged before it began. Run it with -race too.
func TestEventListingsWhileSealing(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{OverlayBytes: 16 << 10, seal: sealOptions{blockBytes: 400}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	const writers, readers, per = 3, 2, 300
	var acked [writers]atomic.Int64 // events acknowledged per writer, in order
	run := newStressRun(writers, readers)
	t0 := time.Now().Add(-time.Hour)
	evTime := func(w, i int) time.Time {
		if w == 0 && i%2 == 1 { // the clock stepped back: a run inside an early block, which splits
			return t0.Add(time.Duration(i) * time.Microsecond)
		}
		if i%5 == 4 { // a straggler: before what the writers wrote so far
			return t0.Add(time.Duration(i*writers+w)*time.Millisecond - 500*time.Millisecond + time.Microsecond)
		}
		return t0.Add(time.Duration(i*writers+w) * time.Millisecond)
	}
	for w := range writers {
		run.writers.Add(1)
		go func() {
			defer run.writers.Done()
			for i := range per {
				e := &schemas.Event{ID: fmt.Sprintf("w%d-%04d", w, i), Time: evTime(w, i), Action: "createUser",
					ActorID: "a1", TargetID: fmt.Sprintf("u%d", w)}
				if err := s.AppendEvent(ctx, e); err != nil {
					run.errc <- err
					return
				}
				acked[w].Store(int64(i + 1))
			}
		}()
	}
	for r := range readers {
		run.readers.Add(1)
		go func() {
			defer run.readers.Done()
			for n := 0; !run.done.Load(); n++ {
				var seen [writers]int64
				for w := range writers {
					seen[w] = acked[w].Load()
				}
				w := n % writers
				q := storage.EventQuery{Limit: storage.Unlimited}
				if r == 1 {
					q.TargetID = fmt.Sprintf("u%d", w)
				}
				p, err := s.ListEvents(ctx, q)
				if err != nil {
					run.errc <- err
					return
				}
				if p.Total != len(p.Items) {
					run.errc <- fmt.Errorf("%+v: Total %d, %d items", q, p.Total, len(p.Items))
					return
				}
				ids := map[string]bool{}
				for i, e := range p.Items {
					if ids[e.ID] || i > 0 && e.Time.After(p.Items[i-1].Time) {
						run.errc <- fmt.Errorf("%+v: item %d (%s) twice or out of order", q, i, e.ID)
						return
					}
					ids[e.ID] = true
				}
				for v := range writers {
					if r == 1 && v != w {
						continue
					}
					for i := range seen[v] {
						if id := fmt.Sprintf("w%d-%04d", v, i); !ids[id] {
							run.errc <- fmt.Errorf("%+v: %s, acknowledged before the listing, is missing", q, id)
							return
						}
					}
				}
				// A page in the middle agrees with the whole.
				q.Offset, q.Limit = len(p.Items)/3, 7
				pg, err := s.ListEvents(ctx, q)
				if err != nil {
					run.errc <- err
					return
				}
				if pg.Total < p.Total {
					run.errc <- fmt.Errorf("%+v: Total %d after %d", q, pg.Total, p.Total)
					return
				}
			}
		}()
	}
	run.finish(t)
	if blocks, _ := blockStats(t, s); blocks == 0 {
		t.Fatal("nothing was sealed meanwhile: the test tests nothing")
	}
	all := 0
	for w := range writers {
		all += int(acked[w].Load())
	}
	if p, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited}); err != nil || p.Total != all {
		t.Fatalf("at the end: Total %d, %v; want %d", p.Total, err, all)
	}
}

// TestEventBlocksClockSteppedBack: after the wall clock ran a day ahead
// and was stepped back, every event is a straggler into the gap between
// two sealed blocks or into the block sealed as the clock jumped, in time
// order; an import of an older log, newest first, may fill another such
// gap. Each run makes blocks of its own: no block grows past twice a full
// one and one event. (Sealed blocks were numbered
// one apart: the runs grew the block after the gap by every event, each
// write decoding and encoding it whole — measured with 32 KiB blocks: 21
// ms a write and a block of 2.5 MiB after 20,000 events.)
func TestEventBlocksClockSteppedBack(t *testing.T) {
	s := openSealed(t)
	ctx := t.Context()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	model := map[string]*schemas.Event{}
	add := func(id string, at time.Time) {
		e := &schemas.Event{ID: id, Time: at, ActorID: "a1", Action: "createUser", TargetID: "u" + id[len(id)-1:],
			Changes: map[string]schemas.Change{"title": {Current: "t"}}}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		model[string(eventKey(e.Time, e.ID))] = e
	}
	for i := range 50 { // before the clock ran ahead; an hour apart
		add(fmt.Sprintf("ev-%03d", i), t0.Add(time.Duration(i)*time.Hour))
	}
	for i := range 50 { // a day ahead
		add(fmt.Sprintf("sk-%03d", i), t0.Add(100*time.Hour+time.Duration(i)*time.Second))
	}
	for i := range 600 { // stepped back: a run in time order
		add(fmt.Sprintf("bk-%03d", i), t0.Add(60*time.Hour+time.Duration(i)*time.Second))
	}
	for i := range 600 { // an import newest first into an earlier gap
		add(fmt.Sprintf("im-%03d", i), t0.Add(20*time.Hour+30*time.Minute-time.Duration(i)*time.Second))
	}
	biggest, blocks := blockSizes(t, s)
	if biggest > 2*300+100 { // sealedOptions: 300 bytes, split past twice that; an event: about 60
		t.Errorf("%d blocks for %d events, the biggest of %d raw bytes: the stragglers grew a block", blocks, len(model), biggest)
	}
	for _, q := range []storage.EventQuery{{Limit: storage.Unlimited}, {ActorID: "a1", Limit: storage.Unlimited},
		{TargetID: "u3", Limit: storage.Unlimited}, {TargetID: "u7", Offset: 40, Limit: 25, Since: t0.Add(20 * time.Hour), Until: t0.Add(61 * time.Hour)}} {
		checkEventModel(t, s, model, q, "after the stragglers")
	}
}

// TestBlockListCoding: block lists of sealed blocks' numbers and of
// stragglers' blocks between them code back to the same refs, a sealed
// block after the one before in one byte.
func TestBlockListCoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for range 200 {
		chunk := uint64(firstBlockSeq) + uint64(rng.IntN(1000))*sealStep
		seq := chunk
		if rng.IntN(2) == 0 {
			seq += uint64(rng.IntN(sealStep))
		}
		var refs []blockRef
		for range 1 + rng.IntN(50) {
			refs = append(refs, blockRef{seq, 1 + uint64(rng.IntN(300))})
			switch rng.IntN(3) {
			case 0:
				seq = (seq>>seqLowBits + 1) << seqLowBits // the next sealed block
			case 1:
				seq += 1 + uint64(rng.IntN(5)) // a straggler's block
			default:
				seq = (seq>>seqLowBits+uint64(1+rng.IntN(100000)))<<seqLowBits | uint64(rng.IntN(sealStep))
			}
		}
		got, err := decodeBlockList(chunk, encodeBlockList(chunk, refs))
		if err != nil || !slices.Equal(got, refs) {
			t.Fatalf("refs %v from %d: decoded %v, %v", refs, chunk, got, err)
		}
	}
	if v := encodeBlockList(firstBlockSeq, []blockRef{{firstBlockSeq, 1}, {firstBlockSeq + sealStep, 1}}); len(v) != 4 {
		t.Fatalf("two consecutive sealed blocks: %d bytes, want 4", len(v))
	}
	for _, bad := range [][]byte{{1}, {3, 0, 1}, {0, 1, 0, 1}, {2, 0}} {
		if refs, err := decodeBlockList(firstBlockSeq, bad); err == nil {
			t.Errorf("%v decoded: %v", bad, refs)
		}
	}
}

// TestEventListingDamagedBlockEnd: an entry of eventBlockEnds whose value
// is damaged is no block number: a listing by id with a time bound must
// not take it for block 0 and pass over every sealed block (it did: the
// listing answered from the tail alone).
func TestEventListingDamagedBlockEnd(t *testing.T) {
	s, t0, evs := sealedEvents(t, 60, false)
	model := map[string]*schemas.Event{}
	for _, e := range evs {
		model[string(eventKey(e.Time, e.ID))] = e
	}
	until := t0.Add(30 * time.Second)
	// Damage the end entry of the block covering until (and so the walk's
	// upper bound).
	err := s.fileUpdate(func(tx *bolt.Tx) error {
		hi := make([]byte, 12)
		timeKey(hi, until)
		k, _ := tx.Bucket(bucketEventBlockEnds).Cursor().Seek(hi)
		if k == nil {
			return fmt.Errorf("no block covers %v", until)
		}
		return tx.Bucket(bucketEventBlockEnds).Put(bytes.Clone(k), []byte{1, 2, 3})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []storage.EventQuery{{TargetID: "u1", Until: until, Limit: storage.Unlimited},
		{ActorID: "a1", Until: until, Since: t0.Add(5 * time.Second), Limit: storage.Unlimited}} {
		checkEventModel(t, s, model, q, "a damaged block end")
	}
}

// TestPruneDamagedBlocks: retention prunes past a damaged block — one
// whose payload fails its checks and that holds more events than a prune's
// limit, and one whose header cannot be read — once all its events are
// older than the cut-off: before, pruning stopped before either for good
// (every later PruneEvents returned 0), and the log was kept past its
// retention.
func TestPruneDamagedBlocks(t *testing.T) {
	for _, damage := range []struct {
		name string
		fn   func(v []byte) []byte
	}{
		{"payload", func(v []byte) []byte { v[len(v)-1] ^= 0xff; return v }},
		{"header", func(v []byte) []byte { v[0] ^= 0xff; return v }},
	} {
		t.Run(damage.name, func(t *testing.T) {
			const n = 40
			s, t0, _ := sealedEvents(t, n, false)
			ctx := t.Context()
			var count int
			if err := s.fileUpdate(func(tx *bolt.Tx) error { // the second block
				bk := tx.Bucket(bucketEventBlocks)
				c := bk.Cursor()
				c.First()
				k, v := c.Next()
				h, err := parseBlockHeader(v)
				if err != nil {
					return err
				}
				count = h.count
				return bk.Put(bytes.Clone(k), damage.fn(bytes.Clone(v)))
			}); err != nil {
				t.Fatal(err)
			}
			limit := count - 1 // less than the damaged block holds
			if limit < 1 {
				t.Fatalf("a block of %d events: the test needs more", count)
			}
			cut := t0.Add(n * time.Second)
			for range n { // as the retention loop: until a call prunes fewer than its limit
				p, err := s.PruneEvents(ctx, cut, limit)
				if err != nil {
					t.Fatal(err)
				}
				if p < limit {
					break
				}
			}
			if p, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited}); err != nil || p.Total != 0 {
				t.Fatalf("after pruning every event with a limit of %d: Total %d, %v; want 0", limit, p.Total, err)
			}
		})
	}
}

// TestJSONEventsSealed: events written as JSON (before the binary codec)
// in the tail of an old file are sealed into blocks verbatim, with binary
// ones, and list as before by target, actor, action and time, with pages.
func TestJSONEventsSealed(t *testing.T) {
	dir, s := openUnsealed(t)
	ctx := t.Context()
	t0 := time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)
	targets, actors := []string{"u1", testUUID, "user"}, []string{"a1", testUUID, "system"}
	model := map[string]*schemas.Event{}
	var jsonEvents []*schemas.Event
	for i := range 240 {
		e := mixedEvent(i, t0, time.Second, targets, actors)
		model[string(eventKey(e.Time, e.ID))] = e
		if i%3 != 0 {
			if err := s.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
			continue
		}
		jsonEvents = append(jsonEvents, e)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	updateFile(t, dir, func(tx *bolt.Tx) error { // a third of the log as an old version wrote it
		tb := &txBuckets{tx: tx}
		for _, e := range jsonEvents {
			rec, err := encodeEventJSON(e)
			if err != nil {
				return err
			}
			k := eventKey(e.Time, e.ID)
			if err := tb.bucket(fbEvents).Put(k, rec); err != nil {
				return err
			}
			if err := indexEvent(tb, k, e.TargetID, e.ActorID, true); err != nil {
				return err
			}
		}
		return nil
	})
	s, err := OpenWithOptions(dir, Options{keepLag: true, seal: sealOptions{blockBytes: 1500}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	queries := queryMatrix(targets, actors, storage.EventQuery{Action: "createUser", Offset: 2, Limit: 9,
		Since: t0.Add(30 * time.Second), Until: t0.Add(200 * time.Second)})
	check := func(stage string) {
		t.Helper()
		for _, q := range queries {
			checkEventModel(t, s, model, q, stage)
		}
	}
	check("in the tail")
	for sealNow(t, s) {
	}
	if blocks, tail := blockStats(t, s); blocks < 5 || tail > 40 {
		t.Fatalf("%d blocks, %d tail events: want the log sealed", blocks, tail)
	}
	check("sealed")
}

// FuzzBlockListDecode: decodeBlockList never panics, and a chunk it
// accepts holds strictly ascending numbers from the chunk key on, and its
// refs code back to the same refs.
func FuzzBlockListDecode(f *testing.F) {
	f.Add(uint64(firstBlockSeq), encodeBlockList(firstBlockSeq, []blockRef{{firstBlockSeq, 3}, {firstBlockSeq + sealStep, 1}, {firstBlockSeq + sealStep + 7, 200}}))
	f.Add(uint64(firstBlockSeq), []byte{3, 1, 1})
	f.Fuzz(func(t *testing.T, chunk uint64, v []byte) {
		refs, err := decodeBlockList(chunk, v)
		if err != nil {
			return
		}
		for i, r := range refs {
			if r.seq < chunk || i > 0 && r.seq <= refs[i-1].seq || r.n == 0 {
				t.Fatalf("accepted %v from %d", refs, chunk)
			}
		}
		again, err := decodeBlockList(chunk, encodeBlockList(chunk, refs))
		if err != nil || !slices.Equal(again, refs) {
			t.Fatalf("%v re-coded: %v, %v", refs, again, err)
		}
	})
}

// TestPrunedDamagedBlockNumberNotReused: a damaged block pruned whole
// leaves its ids' block-list entries (its events cannot be read); a block
// made later for stragglers older than every block must not take its
// number, or those entries would count the new block's events for ids it
// does not hold.
func TestPrunedDamagedBlockNumberNotReused(t *testing.T) {
	s := openSealed(t)
	ctx := t.Context()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(id string, at time.Time, target string) {
		if err := s.AppendEvent(ctx, &schemas.Event{ID: id, Time: at, ActorID: "a1", Action: "createUser", TargetID: target}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		add(fmt.Sprintf("ev-%02d", i), t0.Add(time.Duration(i)*time.Second), "u1")
	}
	add("old-1", t0.Add(-time.Hour), "gone") // a block of its own, before the first
	if err := s.fileUpdate(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketEventBlocks)
		k, v := bk.Cursor().First()
		if h, err := parseBlockHeader(v); err != nil || string(h.first[12:]) != "old-1" {
			return fmt.Errorf("the first block is not old-1's: %v", err)
		}
		bad := bytes.Clone(v)
		bad[len(bad)-1] ^= 0xff
		return bk.Put(bytes.Clone(k), bad)
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneEvents(ctx, t0.Add(-time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("PruneEvents = %d, %v; want the damaged block's 1", n, err)
	}
	add("old-2", t0.Add(-2*time.Hour), "u2") // again before every block
	for _, q := range []storage.EventQuery{{TargetID: "gone", Limit: 0}, {TargetID: "gone", Limit: storage.Unlimited}} {
		if p, err := s.ListEvents(ctx, q); err != nil || p.Total != 0 {
			t.Errorf("ListEvents(%+v): Total %d, %v; want 0 (its only event was pruned)", q, p.Total, err)
		}
	}
	if p, err := s.ListEvents(ctx, storage.EventQuery{TargetID: "u2", Limit: storage.Unlimited}); err != nil || p.Total != 1 {
		t.Errorf("ListEvents(u2): Total %d, %v; want 1", p.Total, err)
	}
}
