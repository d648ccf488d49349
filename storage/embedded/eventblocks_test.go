package embedded

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
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

// sealedOptions seal tiny blocks at the end of every batch: nearly every
// event a test reads is in a block, a few in the tail.
var sealedOptions = Options{seal: sealOptions{blockBytes: 300, eager: true}}

// TestConformanceSealed runs the storage contract with the audit events
// sealed into tiny blocks as soon as they are written (and stragglers, the
// events appended in the past, put into their blocks).
func TestConformanceSealed(t *testing.T) { storagetest.RunTests(t, backendWith(sealedOptions)) }

// sealNow seals one block, as the idle writer does, and reports whether
// one was full enough to seal.
func sealNow(t *testing.T, s *Store) bool {
	t.Helper()
	var ok bool
	if err := s.submit(func(b *batch) (err error) { ok, err = b.sealBlock(time.Now()); return err }); err != nil {
		t.Fatalf("seal: %v", err)
	}
	return ok
}

// blockStats returns the number of sealed blocks and of tail events.
func blockStats(t *testing.T, s *Store) (blocks, tail int) {
	t.Helper()
	err := s.readView(func(tb *txBuckets) error {
		tb.bucket(fbEventBlocks).ForEach(func(k, v []byte) error { blocks++; return nil })
		tb.bucket(fbEvents).ForEach(func(k, v []byte) error { tail++; return nil })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return blocks, tail
}

// TestEventBlocksDifferential runs a random mix of appends (a fifth in the
// past of what is sealed: stragglers; and imports of runs of older events),
// seals (idle ones and sealNow's), prunes, reopens and
// ListEvents queries against a plain model of the log: every listing has
// the model's items, order and Total.
func TestEventBlocksDifferential(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { eventBlocksDifferential(t, seed) })
	}
}

func eventBlocksDifferential(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	// Even seeds: the idle writer seals too; odd seeds: only sealNow does.
	opts := Options{seal: sealOptions{blockBytes: 200 + rng.IntN(800)}, keepLag: seed%2 == 1}
	if seed >= 2 { // block lists in chunks of two blocks
		setBlockListChunk(t, 2)
	}
	dir, s := openDir(t, opts)
	defer func() { s.Close() }()
	ctx := t.Context()
	targets := []string{"t1", "t10", testUUID, "", strings.ToUpper(testUUID), "t2"}
	actors := []string{"a1", "01907c4e-0000-7c3d-9e4f-a1b2c3d4e5f6", "", "a2"}
	actions := []string{"createUser", "adminUpdateUser", "deleteUser"}
	model := map[string]*schemas.Event{} // by string(eventKey)
	clock := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	sealed := 0
	for step := range 1500 {
		switch op := rng.IntN(100); {
		case op < 60: // append
			at := clock
			if rng.IntN(5) == 0 {
				at = clock.Add(-time.Duration(rng.IntN(3000)) * time.Second) // a straggler, probably
			} else {
				clock = clock.Add(time.Duration(rng.IntN(3)) * time.Second) // some share an instant
			}
			// Events of one instant have ids of one kind: the per-event
			// index orders the events of an instant by ixID, which puts
			// other ids before every UUID, where key order need not.
			var id string
			if at.Unix()%3 == 0 {
				id = fmt.Sprintf("ev-%d", step)
			} else {
				id = fmt.Sprintf("%08x-0000-7000-8000-%012x", step, rng.Uint64()>>16)
			}
			e := &schemas.Event{ID: id, Time: at, ActorID: actors[rng.IntN(len(actors))], ActorType: "app",
				Action: actions[rng.IntN(len(actions))], TargetID: targets[rng.IntN(len(targets))], TargetType: "user"}
			if rng.IntN(2) == 0 {
				e.Changes = map[string]schemas.Change{"title": {Prev: "a", Current: strings.Repeat("x", rng.IntN(200))}}
			}
			if err := s.AppendEvent(ctx, e); err != nil {
				t.Fatalf("step %d: AppendEvent: %v", step, err)
			}
			model[string(eventKey(e.Time, e.ID))] = e
		case op < 74:
			if sealNow(t, s) {
				sealed++
			}
		case op < 75: // an import of older events, in time order or the reverse
			at := clock.Add(-time.Duration(4000+rng.IntN(2000)) * time.Second)
			n, down := 5+rng.IntN(40), rng.IntN(2) == 0
			for j := range n {
				k := j
				if down {
					k = n - 1 - j
				}
				e := &schemas.Event{ID: fmt.Sprintf("im-%d-%03d", step, k), Time: at.Add(time.Duration(k) * time.Second),
					ActorID: actors[rng.IntN(len(actors))], Action: "createUser", TargetID: targets[rng.IntN(len(targets))]}
				if err := s.AppendEvent(ctx, e); err != nil {
					t.Fatalf("step %d: AppendEvent: %v", step, err)
				}
				model[string(eventKey(e.Time, e.ID))] = e
			}
		case op < 78: // prune
			pruneModel(t, s, model, clock.Add(-time.Duration(rng.IntN(4000))*time.Second), 1+rng.IntN(40), fmt.Sprintf("step %d", step))
		case op < 79:
			s.Close()
			s = openAt(t, dir, opts)
		default: // a query
			checkEventModel(t, s, model, randomEventQuery(rng, targets, actors, actions, clock, 3000*time.Second), fmt.Sprintf("step %d", step))
		}
	}
	checkEventModel(t, s, model, storage.EventQuery{Limit: storage.Unlimited}, "at the end")
	blocks, tail := blockStats(t, s)
	t.Logf("%d seals, %d blocks and %d tail events at the end, %d events", sealed, blocks, tail, len(model))
	if blocks == 0 || seed%2 == 1 && sealed == 0 {
		t.Fatal("nothing was sealed: the test tests nothing")
	}
}

// pruneModel prunes the store's events before cut, up to limit, and the
// model's the same way (oldest first), and fails unless both pruned as many.
func pruneModel(t *testing.T, s *Store, model map[string]*schemas.Event, cut time.Time, limit int, stage string) {
	t.Helper()
	n, err := s.PruneEvents(t.Context(), cut, limit)
	if err != nil {
		t.Fatalf("%s: PruneEvents: %v", stage, err)
	}
	want := 0
	for _, k := range slices.Sorted(maps.Keys(model)) {
		if want == limit || !model[k].Time.Before(cut) {
			break
		}
		delete(model, k)
		want++
	}
	if n != want {
		t.Fatalf("%s: PruneEvents(%v, %d) = %d, want %d", stage, cut, limit, n, want)
	}
}

// randomEventQuery is a query of the differential tests: by a target, an
// actor, both or neither, sometimes an action, sometimes time bounds up to
// span before clock, and a page.
func randomEventQuery(rng *rand.Rand, targets, actors, actions []string, clock time.Time, span time.Duration) storage.EventQuery {
	var q storage.EventQuery
	switch rng.IntN(4) {
	case 0:
		q.TargetID = targets[rng.IntN(len(targets))]
	case 1:
		q.ActorID = actors[rng.IntN(len(actors))]
	case 2:
		q.TargetID, q.ActorID = targets[rng.IntN(len(targets))], actors[rng.IntN(len(actors))]
	}
	if rng.IntN(3) == 0 {
		q.Action = actions[rng.IntN(len(actions))]
	}
	if rng.IntN(3) == 0 {
		q.Since = clock.Add(-time.Duration(rng.Int64N(int64(span))))
	}
	if rng.IntN(3) == 0 {
		q.Until = clock.Add(-time.Duration(rng.Int64N(int64(span))))
	}
	q.Offset, q.Limit = rng.IntN(30), []int{storage.Unlimited, 0, 1, 3, 5, 17, 20}[rng.IntN(7)]
	return q
}

// checkEventModel compares ListEvents(q) with the model.
func checkEventModel(t *testing.T, s *Store, model map[string]*schemas.Event, q storage.EventQuery, stage string) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(model))
	slices.Reverse(keys)
	var want []*schemas.Event
	for _, k := range keys {
		e := model[k]
		if (q.TargetID == "" || e.TargetID == q.TargetID) && (q.ActorID == "" || e.ActorID == q.ActorID) &&
			(q.Action == "" || e.Action == q.Action) && (q.Since.IsZero() || !e.Time.Before(q.Since)) &&
			(q.Until.IsZero() || e.Time.Before(q.Until)) {
			want = append(want, e)
		}
	}
	total := len(want)
	want = want[min(q.Offset, len(want)):]
	if q.Limit != storage.Unlimited && q.Limit < len(want) {
		want = want[:q.Limit]
	}
	got, err := s.ListEvents(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: ListEvents(%+v): %v", stage, q, err)
	}
	if got.Total != total || len(got.Items) != len(want) {
		t.Fatalf("%s: ListEvents(%+v): %d items, Total %d; want %d, %d", stage, q, len(got.Items), got.Total, len(want), total)
	}
	for i, w := range want {
		g := got.Items[i]
		if g.ID != w.ID || !g.Time.Equal(w.Time) || g.Action != w.Action || g.TargetID != w.TargetID || g.ActorID != w.ActorID ||
			!reflect.DeepEqual(g.Changes, w.Changes) && len(g.Changes)+len(w.Changes) > 0 {
			t.Fatalf("%s: ListEvents(%+v) item %d = %+v, want %+v", stage, q, i, g, w)
		}
	}
}

// openSealed opens a store of sealedOptions in a new directory, closed by
// the test's cleanup.
func openSealed(t *testing.T) *Store {
	t.Helper()
	s, err := OpenWithOptions(t.TempDir(), sealedOptions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sealedEvents opens a store of sealedOptions (closed by the test's
// cleanup) and appends n events "ev-NN" a second apart from t0 (2024-01-01),
// by actor a1 on targets u0, u1 and u2 in turn, each changing title when
// titled: most of them sealed into tiny blocks. It returns the store, t0
// and the events.
func sealedEvents(t *testing.T, n int, titled bool) (*Store, time.Time, []*schemas.Event) {
	t.Helper()
	s := openSealed(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]*schemas.Event, n)
	for i := range n {
		e := &schemas.Event{ID: fmt.Sprintf("ev-%02d", i), Time: t0.Add(time.Duration(i) * time.Second), ActorID: "a1",
			Action: "createUser", TargetID: fmt.Sprintf("u%d", i%3)}
		if titled {
			e.Changes = map[string]schemas.Change{"title": {Current: "t"}}
		}
		if err := s.AppendEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		evs[i] = e
	}
	return s, t0, evs
}

// TestEventBlockDamaged: a sealed block whose payload is damaged does not
// break the log: the unfiltered listing counts its events and returns one
// event with Damaged set in their place; filtered listings that must
// decode it skip it; the other blocks and the tail read in full; pruning
// deletes it whole once it is old enough.
func TestEventBlockDamaged(t *testing.T) {
	const n = 30
	s, t0, _ := sealedEvents(t, n, true)
	ctx := t.Context()
	blocks, tail := blockStats(t, s)
	if blocks < 3 {
		t.Fatalf("%d blocks, %d tail events: want several blocks", blocks, tail)
	}
	// Damage the second block's payload.
	var count, countU1 int // its events, of them u1's
	err := s.fileUpdate(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketEventBlocks)
		c := bk.Cursor()
		c.First()
		k, v := c.Next()
		h, evs, err := decodeBlock(v)
		if err != nil {
			return err
		}
		count = h.count
		for _, e := range evs {
			if hd, _ := decodeEventHead(e.key, e.rec); hd.Tg == "u1" {
				countU1++
			}
		}
		bad := bytes.Clone(v)
		bad[len(bad)-1] ^= 0xff
		return bk.Put(bytes.Clone(k), bad)
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListEvents with a damaged block: %v", err)
	}
	var damaged int
	for _, e := range all.Items {
		if e.Damaged != "" {
			damaged++
		}
	}
	if all.Total != n || damaged != 1 || len(all.Items) != n-count+1 {
		t.Fatalf("ListEvents: Total %d, %d items of which %d damaged; want %d, %d, 1", all.Total, len(all.Items), damaged, n, n-count+1)
	}
	// By target alone: counted from the block list, the block's u1 events
	// stand as one damaged event.
	u1, err := s.ListEvents(ctx, storage.EventQuery{TargetID: "u1", Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListEvents(target) with a damaged block: %v", err)
	}
	damaged = 0
	for _, e := range u1.Items {
		if e.Damaged != "" {
			damaged++
		}
	}
	if countU1 == 0 || u1.Total != n/3 || damaged != 1 || len(u1.Items) != n/3-countU1+1 {
		t.Fatalf("ListEvents(target): Total %d, %d items of which %d damaged; want %d, %d, 1 (the block held %d of u1's)",
			u1.Total, len(u1.Items), damaged, n/3, n/3-countU1+1, countU1)
	}
	byTarget, err := s.ListEvents(ctx, storage.EventQuery{TargetID: "u1", Action: "createUser", Limit: storage.Unlimited})
	if err != nil || byTarget.Total >= n/3 || byTarget.Total == 0 {
		t.Fatalf("ListEvents(target, action) with a damaged block: Total %d, %v; want fewer than %d, more than 0", byTarget.Total, err, n/3)
	}
	for _, e := range byTarget.Items {
		if e.TargetID != "u1" || e.Damaged != "" {
			t.Fatalf("ListEvents(target): %+v", e)
		}
	}
	// Pruning goes through it.
	pruned, err := s.PruneEvents(ctx, t0.Add(n*time.Second), n)
	if err != nil || pruned != n {
		t.Fatalf("PruneEvents = %d, %v; want %d", pruned, err, n)
	}
	if p, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited}); err != nil || p.Total != 0 {
		t.Fatalf("after pruning: %+v, %v", p, err)
	}
}

// BenchmarkSealBlock measures what sealing costs and saves at each flate
// level and block size, on the events of BenchmarkAuditYear (a year's mix:
// 1 create to 12 updates, one connector as actor): µs to encode a block,
// and the compressed bytes per event (keys included).
func BenchmarkSealBlock(b *testing.B) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const users = 2000
	var recs []blockEvent
	for k := range 13 * users {
		t := start.Add(time.Duration(k) * 100 * time.Millisecond)
		i := k % users
		id := fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x", t.UnixMilli()>>16, t.UnixMilli()&0xffff, k&0xfff, 0x8000|k>>12&0x3fff, uint64(k)*0x9e3779b97f4a7c15>>16)
		e := &schemas.Event{ID: id, Time: t, ActorID: "0oa1b2c3d4e5f6g7h8i9", ActorType: "api_token",
			TargetID: fmt.Sprintf("0190%04x-0000-7000-8000-%012x", i, uint64(i)*0x9e3779b97f4a7c15>>16), TargetType: "user",
			IP: "203.0.113.42", UserAgent: "Okta SCIM Client 1.0.0"}
		u := storagetest.NewUser(i)
		if k < users {
			e.Action, e.Changes = "createUser", map[string]schemas.Change{}
			schemas.AuditDiff(nil, u, func(key string, _, v any) { e.Changes[key] = schemas.Change{Current: v} })
		} else {
			e.Action = "adminUpdateUser"
			e.Changes = map[string]schemas.Change{"title": {Prev: u.Title, Current: u.Title + " II"},
				"displayName": {Prev: u.DisplayName, Current: u.DisplayName + " (" + u.Enterprise.Department + ")"}}
		}
		enc, err := encodeEvent(e)
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, blockEvent{eventKey(e.Time, e.ID), enc})
	}
	for _, mix := range []struct {
		name string
		evs  []blockEvent
	}{{"creates", recs[:users]}, {"updates", recs[users:]}} {
		for _, size := range []int{16 << 10, 32 << 10, 64 << 10} {
			// The blocks of size bytes: as sealBlock cuts them.
			var blocks [][]blockEvent
			for at := 0; at < len(mix.evs); {
				n, sz := 0, 0
				for at+n < len(mix.evs) && sz < size {
					sz += len(mix.evs[at+n].key) + len(mix.evs[at+n].rec)
					n++
				}
				if sz < size {
					break
				}
				blocks = append(blocks, mix.evs[at:at+n])
				at += n
			}
			for _, level := range []int{1, 3, 6, 9} {
				b.Run(fmt.Sprintf("%s/%dKiB/level%d", mix.name, size>>10, level), func(b *testing.B) {
					enc := blockEncoder{level: level}
					var out, events, raw int
					for _, blk := range blocks {
						out += len(enc.encode(blk))
						events += len(blk)
						for _, e := range blk {
							raw += len(e.key) + len(e.rec)
						}
					}
					i := 0
					for b.Loop() {
						enc.encode(blocks[i%len(blocks)])
						i++
					}
					b.ReportMetric(float64(out)/float64(events), "B/event")
					b.ReportMetric(float64(raw)/float64(events), "raw-B/event")
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3/float64(events/len(blocks)), "µs/event")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
	}
}

// BenchmarkDecodeBlock measures decodeBlock on a 32 KiB block of update
// events (what a listing by target pays per block it must open).
func BenchmarkDecodeBlock(b *testing.B) {
	var evs []blockEvent
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	size := 0
	for i := 0; size < 32<<10; i++ {
		e := &schemas.Event{ID: fmt.Sprintf("0190%04x-0000-7000-8000-%012x", i, uint64(i)*0x9e3779b97f4a7c15>>16), Time: t.Add(time.Duration(i) * time.Second),
			ActorID: "0oa1b2c3d4e5f6g7h8i9", ActorType: "api_token", Action: "adminUpdateUser", TargetID: fmt.Sprintf("0190%04x-0000-7000-8000-%012x", i*7, i), TargetType: "user",
			IP: "203.0.113.42", UserAgent: "Okta SCIM Client 1.0.0", Changes: map[string]schemas.Change{"title": {Prev: "Engineer", Current: fmt.Sprintf("Engineer %d", i)}}}
		enc, _ := encodeEvent(e)
		evs = append(evs, blockEvent{eventKey(e.Time, e.ID), enc})
		size += len(enc) + 48
	}
	var enc blockEncoder
	v := enc.encode(evs)
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := decodeBlock(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode+heads", func(b *testing.B) {
		for b.Loop() {
			_, got, _ := decodeBlock(v)
			for _, e := range got {
				decodeEventHead(e.key, e.rec)
			}
		}
	})
	b.Logf("%d events, %d bytes", len(evs), len(v))
}

// toFormat8 makes the current file of tx, which has no sealed block, the
// file format 8 wrote: without the buckets of blocks.
func toFormat8(tx *bolt.Tx) error {
	if k, _ := tx.Bucket(bucketEventBlocks).Cursor().First(); k != nil {
		return fmt.Errorf("the file has sealed blocks")
	}
	for _, name := range [][]byte{bucketEventBlocks, bucketEventBlockEnds} {
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV8))
}

// setBlockListChunk sets maxBlockListChunk to n until t ends.
func setBlockListChunk(t *testing.T, n int) {
	old := maxBlockListChunk
	maxBlockListChunk = n
	t.Cleanup(func() { maxBlockListChunk = old })
}

// testUUID is a canonical UUID the tests use as an id (stored as its 16
// bytes, where other ids are stored as their text).
const testUUID = "01907c4e-8b2a-7c3d-9e4f-a1b2c3d4e5f6"

// openAt opens the store in dir with opts.
func openAt(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := OpenWithOptions(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openDir is openAt of a new directory, which it returns for the tests
// that reopen it.
func openDir(t *testing.T, opts Options) (dir string, s *Store) {
	t.Helper()
	dir = t.TempDir()
	return dir, openAt(t, dir, opts)
}

// openUnsealed is openDir of a store that seals nothing (keepLag), for
// the tests that write a log as an older version left it.
func openUnsealed(t *testing.T) (dir string, s *Store) { return openDir(t, Options{keepLag: true}) }

// mixedEvent is the i-th event of the tests of old logs (format 8, JSON
// records): a UUID id, a time step after the one before from t0, the
// actors in turn, two actions, the targets in runs of three, a title change.
func mixedEvent(i int, t0 time.Time, step time.Duration, targets, actors []string) *schemas.Event {
	return &schemas.Event{ID: fmt.Sprintf("%08x-0000-7000-8000-000000000000", i), Time: t0.Add(time.Duration(i) * step),
		ActorID: actors[i%len(actors)], Action: []string{"createUser", "adminUpdateUser"}[i%2], TargetID: targets[(i/3)%len(targets)],
		Changes: map[string]schemas.Change{"title": {Prev: "a", Current: fmt.Sprint("b", i)}}}
}

// queryMatrix is, for every target (and none) with every actor (and none),
// the query of all their events and paged with the two ids set.
func queryMatrix(targets, actors []string, paged storage.EventQuery) []storage.EventQuery {
	var qs []storage.EventQuery
	for _, tg := range append(targets, "") {
		for _, a := range append(actors, "") {
			p := paged
			p.TargetID, p.ActorID = tg, a
			qs = append(qs, storage.EventQuery{TargetID: tg, ActorID: a, Limit: storage.Unlimited}, p)
		}
	}
	return qs
}

// listPages returns the pages of the queries.
func listPages(t *testing.T, s *Store, qs []storage.EventQuery) []storage.Page[*schemas.Event] {
	t.Helper()
	var out []storage.Page[*schemas.Event]
	for _, q := range qs {
		p, err := s.ListEvents(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestMigrateFormat8 opens a file of format 8 (every event its own key in
// the events bucket): Open makes it format 9, every listing answers as
// before, and the idle writer seals the old log into blocks, after which
// (and after a reopen) every listing still answers as before.
func TestMigrateFormat8(t *testing.T) {
	dir, s := openUnsealed(t)
	ctx := t.Context()
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	targets, actors := []string{"u1", testUUID, "u3"}, []string{"system", "a1", testUUID}
	for i := range 300 {
		if err := s.AppendEvent(ctx, mixedEvent(i, t0, time.Minute, targets, actors)); err != nil {
			t.Fatal(err)
		}
	}
	queries := queryMatrix(targets, actors, storage.EventQuery{Offset: 3, Limit: 7, Since: t0.Add(50 * time.Minute), Until: t0.Add(250 * time.Minute)})
	list := func(s *Store) []storage.Page[*schemas.Event] { return listPages(t, s, queries) }
	want := list(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	updateFile(t, dir, toFormat8)

	s, err := OpenWithOptions(dir, Options{seal: sealOptions{blockBytes: 2000}})
	if err != nil {
		t.Fatalf("open a file of format 8: %v", err)
	}
	defer func() { s.Close() }()
	check := func(stage string) {
		t.Helper()
		if got := list(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the listings differ from format 8's", stage)
		}
	}
	check("opened")
	var format string
	s.fileView(func(tx *bolt.Tx) error { format = string(tx.Bucket(bucketMeta).Get(keyFormat)); return nil })
	if format != formatVersion {
		t.Fatalf("format %q after open, want %q", format, formatVersion)
	}
	// The idle writer seals the old log: wait (bounded) until it has.
	var blocks, tail int
	for range 500 {
		if blocks, tail = blockStats(t, s); tail < 30 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if blocks == 0 || tail >= 30 {
		t.Fatalf("the idle writer did not seal the old log: %d blocks, %d events in the tail", blocks, tail)
	}
	check("sealed")
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	check("reopened")
}

// TestEventBlocksCompactAndBackup: `scimd compact` and a backup copy the
// sealed blocks, their ends and index entries with the rest: the
// compacted store and a store opened on the backup list the same events.
func TestEventBlocksCompactAndBackup(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWithOptions(dir, sealedOptions)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		e := &schemas.Event{ID: fmt.Sprintf("ev-%03d", i), Time: t0.Add(time.Duration(i) * time.Second), ActorID: "a1",
			Action: "createUser", TargetID: fmt.Sprintf("u%d", i%4)}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if blocks, _ := blockStats(t, s); blocks < 5 {
		t.Fatalf("%d blocks: want several", blocks)
	}
	queries := []storage.EventQuery{{Limit: storage.Unlimited}, {TargetID: "u2", Limit: storage.Unlimited}, {ActorID: "a1", Offset: 10, Limit: 5}}
	list := func(s *Store) []storage.Page[*schemas.Event] { return listPages(t, s, queries) }
	want := list(s)
	var backup bytes.Buffer
	if _, err := s.Backup(ctx, &backup); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Compact(dir); err != nil {
		t.Fatal(err)
	}
	restored := t.TempDir()
	if err := os.WriteFile(filepath.Join(restored, FileName), backup.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]string{"compacted": dir, "restored": restored} {
		s, err := Open(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := list(s); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the listings differ", name)
		}
		s.Close()
	}
}

// TestEventBlocksImportOlderLog: appending an older log to a store whose
// events are sealed — in time order, then in reverse — makes blocks of
// its own: no block grows past a full block and one more event.
func TestEventBlocksImportOlderLog(t *testing.T) {
	s := openSealed(t)
	ctx := t.Context()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	event := func(id string, at time.Time) *schemas.Event {
		return &schemas.Event{ID: id, Time: at, ActorID: "a1", Action: "createUser", TargetID: "u1",
			Changes: map[string]schemas.Change{"title": {Current: "t"}}}
	}
	n := 0
	add := func(e *schemas.Event) {
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		n++
	}
	for i := range 50 { // the log: sealed
		add(event(fmt.Sprintf("ev-%03d", i), t0.Add(time.Duration(i)*time.Second)))
	}
	for i := range 200 { // a year before, in time order
		add(event(fmt.Sprintf("up-%03d", i), t0.AddDate(-1, 0, 0).Add(time.Duration(i)*time.Second)))
	}
	for i := range 200 { // two years before, newest first
		add(event(fmt.Sprintf("dn-%03d", i), t0.AddDate(-2, 0, 0).Add(-time.Duration(i)*time.Second)))
	}
	biggest, blocks := blockSizes(t, s)
	// No block is more than a full one (sealedOptions: 300 bytes) and one
	// more event (about 60 bytes raw).
	if biggest > 300+100 {
		t.Fatalf("%d blocks for %d events, the biggest of %d raw bytes: the import grew blocks", blocks, n, biggest)
	}
	t.Logf("%d blocks for %d events, the biggest of %d raw bytes", blocks, n, biggest)
	p, err := s.ListEvents(ctx, storage.EventQuery{TargetID: "u1", Limit: storage.Unlimited})
	if err != nil || p.Total != n || len(p.Items) != n {
		t.Fatalf("ListEvents: %d of %d, %v; want %d", len(p.Items), p.Total, err, n)
	}
	for i := 1; i < len(p.Items); i++ {
		if !p.Items[i-1].Time.After(p.Items[i].Time) {
			t.Fatalf("ListEvents: %s before %s: not newest first", p.Items[i-1].ID, p.Items[i].ID)
		}
	}
}

// blockSizes returns the raw size of s's biggest sealed block and the
// number of blocks.
func blockSizes(t *testing.T, s *Store) (biggest, blocks int) {
	t.Helper()
	if err := s.readView(func(tb *txBuckets) error {
		return tb.bucket(fbEventBlocks).ForEach(func(k, v []byte) error {
			h, err := parseBlockHeader(v)
			if err != nil {
				return err
			}
			biggest, blocks = max(biggest, h.rawLen), blocks+1
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return biggest, blocks
}
