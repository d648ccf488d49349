package embedded

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// domainUsers are n users, user i with the one email x<i>@<domain(i)>.
func domainUsers(n int, domain func(i int) string) []*schemas.User {
	gen := make([]*schemas.User, n)
	for i := range gen {
		gen[i] = &schemas.User{ID: fmt.Sprintf("k%05d", i), UserName: fmt.Sprintf("user.%05d", i),
			Emails: []schemas.Email{{Value: fmt.Sprintf("x%05d@%s", i, domain(i)), Primary: true}}}
	}
	return gen
}

// TestBlockMaps: a search learns the blocks a rare key is in and the next
// one reads no posting elsewhere; the writer keeps the map a superset, so
// that a key posted later in another block — by a create in the last block
// and by an update of a user in a block the map said had none — is found,
// before and after the flush of the pending rows (a map missing a block
// would lose those users).
func TestBlockMaps(t *testing.T) {
	s, _ := flushingAt(t, 8)
	defer s.Close()
	ctx := context.Background()
	ids := createAll(t, s, domainUsers(2*blockRows+50, func(i int) string {
		if i == 5 || i == 17 || i == 40 {
			return "rare.test"
		}
		return "common.test"
	}))
	f := mustParse(t, `emails.value co "rare.te"`)
	// search returns the postings a search reads (the first search of
	// the key learns its map), and checks that the answer is the scan's.
	search := func(want int) (reads int) {
		t.Helper()
		if err := s.userView(func(r *users) error {
			s.planRows(r, f)
			reads = r.search.reads
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		p, err := s.ListUsers(ctx, storage.Query{Filter: f, Limit: storage.Unlimited})
		if err != nil {
			t.Fatal(err)
		}
		scan, planned := scanAndPlan(t, s, f)
		if !planned || p.Total != len(scan) || p.Total != want {
			t.Errorf("planned %v: %d users, full scan %d, want %d", planned, p.Total, len(scan), want)
		}
		return reads
	}
	first := search(3)
	if m := s.maps.of(keyOf("rar"), s.committed.Load()); m == nil || !m.may(0) || m.may(1) || m.may(2) {
		t.Fatalf("the map of %q: %+v, want block 0 alone", "rar", m)
	}
	if again := search(3); again >= first {
		t.Errorf("a search after the map was learnt read %d postings, the first %d", again, first)
	}
	// Block 1 gains the key by an update, block 2 by a create: pending
	// first, then flushed (flushingAt 8) by more creates.
	if _, err := s.UpdateUser(ctx, ids[6000], 0, func(u *schemas.User) error { u.Emails[0].Value = "moved@rare.test"; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, &schemas.User{ID: "late", UserName: "late", Emails: []schemas.Email{{Value: "late@rare.test", Primary: true}}}, nil); err != nil {
		t.Fatal(err)
	}
	search(5)
	for i := range 16 {
		if _, err := s.CreateUser(ctx, &schemas.User{ID: fmt.Sprintf("z%02d", i), UserName: fmt.Sprintf("z.%02d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var pending []uint32
	if err := s.userView(func(r *users) error {
		var err error
		pending, err = pendingRows(r.search.pend())
		return err
	}); err != nil || len(pending) >= 8 {
		t.Fatalf("pending rows %v, %v: want fewer than 8 after the flush", pending, err)
	}
	search(5)
	if m := s.maps.of(keyOf("rar"), s.committed.Load()); m == nil || !m.may(1) || !m.may(2) {
		t.Errorf("the map of %q does not have blocks 1 and 2 after the writes: %+v", "rar", m)
	}
}

// TestBlockMapsLearn: a map learnt on a transaction older than a flush
// that posted a key in a new block is not kept (it might lack that block);
// one learnt on a transaction that sees it is; a key most blocks hold gets
// none; and the maps are bounded.
func TestBlockMapsLearn(t *testing.T) {
	bm := newBlockMaps()
	k := keyOf("abc")
	bm.posted([]uint64{3<<32 | uint64(keyOf("zzz"))}, 10)
	bm.learn(k, []uint64{1}, 4, 9)
	if bm.of(k, 99) != nil {
		t.Fatal("a map learnt before the newest flush was kept")
	}
	bm.learn(k, []uint64{1}, 4, 10)
	m := bm.of(k, 10)
	if m == nil || !m.may(0) || m.may(1) || !m.may(4) {
		t.Fatalf("map %+v: want block 0, and the blocks past its end", m)
	}
	if bm.of(k, 9) != nil {
		t.Error("a map learnt on a transaction that sees write 10 was given to one that does not")
	}
	bm.posted([]uint64{1<<32 | uint64(k), 9<<32 | uint64(k)}, 11)
	if !m.may(1) {
		t.Error("a flush posting the key in block 1 did not set its bit")
	}
	bm.learn(keyOf("all"), []uint64{0b1110}, 4, 11)
	if bm.of(keyOf("all"), 99) != nil {
		t.Error("a key three blocks of four hold got a map")
	}
	defer func(n int) { maxBlockMaps = n }(maxBlockMaps)
	maxBlockMaps = 2
	for _, key := range []string{"aaa", "bbb", "ccc"} {
		bm.learn(keyOf(key), []uint64{1}, 4, 11)
	}
	if n := len(bm.keys); n > 2 {
		t.Errorf("%d maps kept, at most 2", n)
	}
}

// TestBlockMapsConcurrent: searches that learn maps (one kept at a time,
// so they are forgotten and learnt again all along) while the writer posts
// the key in a block again and again (a user there gets the key, loses it —
// its posting deleted — and gets it back) never miss the user while it
// holds the key.
func TestBlockMapsConcurrent(t *testing.T) {
	defer func(n int) { maxBlockMaps = n }(maxBlockMaps)
	maxBlockMaps = 1
	s, _ := flushingAt(t, 1)
	defer s.Close()
	ctx := context.Background()
	ids := createAll(t, s, domainUsers(2*blockRows+50, func(i int) string {
		switch i {
		case 5:
			return "rare.test"
		case 7:
			return "other.test"
		}
		return "common.test"
	}))
	parse := func(expr string) schemas.Filter {
		f := mustParse(t, expr)
		return f
	}
	rare, other := parse(`emails.value co "rare.te"`), parse(`emails.value co "other.te"`)
	moved := ids[6000] // in block 1
	// phase counts the moved user's changes of key: odd while it holds
	// "rare.te". A search that finds the same odd phase before and after
	// ran while the user held the key all along; a flag read twice could
	// not tell a whole common-and-back cycle in between.
	var phase atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				before := phase.Load()
				p, err := s.ListUsers(ctx, storage.Query{Filter: rare, Limit: storage.Unlimited})
				if err != nil {
					errs <- err
					return
				}
				if before%2 == 1 && phase.Load() == before && !slices.ContainsFunc(p.Items, func(u *schemas.User) bool { return u.ID == moved }) {
					errs <- fmt.Errorf("a search missed %s, which held the key all along (%d found)", moved, p.Total)
					return
				}
				if _, err := s.ListUsers(ctx, storage.Query{Filter: other, Limit: 1}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 100 {
		if _, err := s.UpdateUser(ctx, moved, 0, func(u *schemas.User) error { u.Emails[0].Value = fmt.Sprintf("m%d@rare.test", i); return nil }, nil); err != nil {
			t.Fatal(err)
		}
		phase.Add(1) // rare
		time.Sleep(time.Millisecond)
		phase.Add(1) // about to be common
		if _, err := s.UpdateUser(ctx, moved, 0, func(u *schemas.User) error { u.Emails[0].Value = fmt.Sprintf("m%d@common.test", i); return nil }, nil); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSearchFewBlocksKeyFirst: a key held by few of the sampled blocks is
// read first even when a key every block holds has fewer rows in the
// sample (the users just created share a domain no one else has), so its
// map is learnt and the blocks without it cost one read, then none.
func TestSearchFewBlocksKeyFirst(t *testing.T) {
	s := openTemp(t)
	want := 0
	gen := domainUsers(4*blockRows+50, func(i int) string {
		if i < 3*blockRows {
			return "common.test"
		}
		if i%100 == 42 {
			want++
		}
		return "fresh.test"
	})
	// The fresh users after all the others (createAll's 16 writers take
	// their rows in any order): blocks 3 and 4 alone hold their domain.
	createAll(t, s, gen[:3*blockRows])
	createAll(t, s, gen[3*blockRows:])
	f := mustParse(t, `emails.value co "42@fresh.te"`)
	var reads [2]int
	for i := range reads {
		if err := s.userView(func(r *users) error {
			s.planRows(r, f)
			reads[i] = r.search.reads
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if i == 0 && s.maps.of(keyOf("2@f"), s.committed.Load()) == nil && s.maps.of(keyOf("@fr"), s.committed.Load()) == nil && s.maps.of(keyOf("fre"), s.committed.Load()) == nil {
			t.Fatalf("no map learnt of a key of the fresh users' domain (%d reads): a key every block holds was read first", reads[0])
		}
	}
	// After it, the sample is taken in the blocks the map leaves (3 and
	// 4, or 3 alone while block 4's rows are pending), each key once in
	// each, and the main walk reads the first key there (the others do
	// not narrow the sample's 41 candidates and are dropped); a sample of
	// the usual four blocks read every key in blocks 1 and 2 too.
	keys, _ := searchKeys(schemas.OpCo, "42@fresh.te")
	if most := 2*len(keys) + 2; reads[1] > most || reads[1] >= reads[0] {
		t.Errorf("%d reads after the map was learnt (%d before), want at most %d", reads[1], reads[0], most)
	}
	page, err := s.ListUsers(context.Background(), storage.Query{Filter: f, Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	if scan, _ := scanAndPlan(t, s, f); page.Total != len(scan) || page.Total != want {
		t.Errorf("%d users, full scan %d, want %d", page.Total, len(scan), want)
	}
}
