package embedded

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// benchDirEnv names a data directory to keep the benchmark store in across
// runs (it is loaded on first use); by default a temporary one is used.
const benchDirEnv = "SCIMD_EMBEDDED_BENCH_DIR"

// benchUsersEnv sets the number of users of the benchmark store (default
// 100,000; make bench uses 1,000,000).
const benchUsersEnv = "SCIMD_BENCH_USERS"

// benchUsers is the number of users of the shared benchmark store.
var benchUsers = func() int {
	if n, err := strconv.Atoi(os.Getenv(benchUsersEnv)); err == nil && n > 0 {
		return n
	}
	return 100_000
}()

var bench struct {
	once     sync.Once
	err      error
	dir      string
	keep     bool
	s        *Store
	loadTime time.Duration // generating the users straight into the store
	openTime time.Duration // reopening the loaded store (durable)
	heap     float64       // Go heap bytes after open (after GC)
	rssOpen  int64         // resident set after open
	fileSize int64         // the database file after the load
}

// benchStore returns the shared store of benchUsers storagetest.NewUser users,
// generated once straight into the store (bulkLoad, NoSync), then closed and
// reopened durable. It prints the load rate, open time, heap, RSS and file size.
func benchStore(b *testing.B) *Store {
	bench.once.Do(func() {
		if dir := os.Getenv(benchDirEnv); dir != "" {
			bench.keep = true
			bench.dir = dir
		} else if bench.dir, bench.err = os.MkdirTemp("", "scimd-embedded-bench-"); bench.err != nil {
			return
		}
		s, err := OpenWithOptions(bench.dir, Options{NoSync: true})
		if err != nil {
			bench.err = err
			return
		}
		if n, _ := s.ListUsers(context.Background(), storage.Query{}); n.Total < benchUsers {
			start := time.Now()
			if bench.err = bulkLoad(s, n.Total, benchUsers-n.Total); bench.err != nil {
				s.Close()
				return
			}
			bench.loadTime = time.Since(start)
			if bench.err = s.Sync(); bench.err != nil {
				return
			}
			if bench.err = s.Close(); bench.err != nil {
				return
			}
			// Loading in big transactions leaves many pages free; a
			// directory grown by ordinary writes has few. Compact, so that
			// the file size and what a read pass makes resident are those of
			// the data.
			if bench.err = compactFile(bench.dir); bench.err != nil {
				return
			}
		} else if bench.err = s.Close(); bench.err != nil {
			return
		}
		if fi, err := os.Stat(filepath.Join(bench.dir, FileName)); err == nil {
			bench.fileSize = fi.Size()
		}

		var m runtime.MemStats
		runtime.GC()
		debug.FreeOSMemory()
		start := time.Now()
		bench.s, bench.err = Open(bench.dir)
		if bench.err != nil {
			return
		}
		bench.openTime = time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&m)
		bench.heap = float64(m.HeapAlloc)
		bench.rssOpen = rss()
		// The searches measure the store as it serves once the
		// vocabulary's walk of the file is done (vocab.go).
		<-bench.s.vocabDone
		vocabTime := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&m)
		if bench.loadTime > 0 {
			fmt.Fprintf(os.Stderr, "bench store: %d users generated into the store in %v (%.0f users/s, NoSync)\n",
				benchUsers, bench.loadTime.Round(time.Millisecond), float64(benchUsers)/bench.loadTime.Seconds())
		}
		fmt.Fprintf(os.Stderr, "bench store: %d users, file %.0f MB; opened in %v; Go heap %.1f MB, RSS %.0f MB after open\n",
			benchUsers, float64(bench.fileSize)/1e6, bench.openTime.Round(time.Microsecond), bench.heap/1e6, float64(bench.rssOpen)/1e6)
		fmt.Fprintf(os.Stderr, "bench store: the vocabulary ready %v after the start; Go heap %.1f MB then\n",
			vocabTime.Round(time.Millisecond), float64(m.HeapAlloc)/1e6)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.s
}

// compactFile rewrites the database file of dir without its free pages.
func compactFile(dir string) error {
	path := filepath.Join(dir, FileName)
	src, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := bolt.Open(path+".compact", 0o600, &bolt.Options{NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return err
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Rename(path+".compact", path)
}

// rss is the resident set size of this process in bytes (Linux), or 0.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// bulkLoad generates n storagetest.NewUser users from index from on, straight
// into the store: each transaction stages 5,000 of them through the same
// checks and indexes as CreateUser (without audit events), encoded on all CPUs.
func bulkLoad(s *Store, from, n int) error {
	const per = 5000
	for start := from; start < from+n; start += per {
		end := min(start+per, from+n)
		encs := make([][]byte, end-start)
		stored := make([]*schemas.User, end-start)
		imgs := make([]*userImage, end-start)
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		errs := make([]error, workers)
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(encs); i += workers {
					u := storagetest.NewUser(start + i)
					u.Version = 1
					var err error
					if encs[i], stored[i], err = encodeUser(u); err != nil {
						errs[w] = err
					}
					imgs[i] = imageOf(stored[i])
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		err := s.submit(func(b *batch) error {
			for i, u := range stored {
				if b.userExists(u.ID) {
					return storage.Conflict(storage.FieldID)
				}
				if err := userRecords.put(b, u, encs[i], nil, imgs[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bulk load at %d: %w", start, err)
		}
	}
	return nil
}

// closeBench releases the benchmark store after the run.
func closeBench() {
	if bench.s != nil {
		bench.s.Close()
	}
	if bench.dir != "" && !bench.keep {
		os.RemoveAll(bench.dir)
	}
}

func BenchmarkGetUser(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := s.GetUser(ctx, fmt.Sprintf("u%08d", i%benchUsers)); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

// BenchmarkGetUserParallel is GetUser from 8 goroutines (the 8 clients).
func BenchmarkGetUserParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetUser(ctx, fmt.Sprintf("u%08d", (n.Add(7919))%int64(benchUsers))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkFindUserByUserName(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	names := make([]string, 1000)
	for i := range names {
		names[i] = storagetest.NewUser(i * 97 % benchUsers).UserName
	}
	i := 0
	for b.Loop() {
		if _, err := s.FindUser(ctx, storage.FieldUserName, names[i%len(names)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// mustParse parses expr, a filter of users in the SCIM dialect, failing tb on an error.
func mustParse(tb testing.TB, expr string) schemas.Filter {
	f, err := schemas.ParseFilter(expr, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// listBench measures ListUsers (a page of 100) filtered by expr; want is the
// expected total (-1: any non-zero).
func listBench(b *testing.B, expr string, want int) {
	queryBench(b, storage.Query{Filter: mustParse(b, expr), Limit: 100}, want)
}

func BenchmarkListFilterUserNameEq(b *testing.B) {
	listBench(b, fmt.Sprintf("userName eq %q", storagetest.NewUser(54321%benchUsers).UserName), 1)
}

func BenchmarkListFilterEmailEq(b *testing.B) {
	listBench(b, fmt.Sprintf("emails.value eq %q", storagetest.NewUser(4321 % benchUsers).Emails[0].Value), 1)
}

// The substring searches of the issue: rare and common matches.
func BenchmarkListFilterFamilyNameCo(b *testing.B) { listBench(b, `name.familyName co "opp"`, -1) } // Hopper: 1/25
// benchName is the userName of a user in the middle of the store.
func benchName() string { return storagetest.NewUser(benchUsers / 2).UserName }

func BenchmarkListFilterUserNameCoRare(b *testing.B) {
	n := benchName() // "<given>.<family>.<i>": the family name and the number
	listBench(b, fmt.Sprintf("userName co %q", n[strings.Index(n, ".")+1:]), 1)
}

// BenchmarkListFilterUserNameCoTail is scimload's default co filter,
// `userName co "{tail}"` for a user with a small number: "<family>.42"
// matches the users of that family numbered 42, 420–429, 4200–4299, ….
func BenchmarkListFilterUserNameCoTail(b *testing.B) {
	n := storagetest.NewUser(42).UserName
	listBench(b, fmt.Sprintf("userName co %q", n[strings.Index(n, ".")+1:]), -1)
}
func BenchmarkListFilterUserNameSw(b *testing.B) {
	n := benchName() // "<given>.<family>.": 1 in 625 users
	listBench(b, fmt.Sprintf("userName sw %q", n[:strings.LastIndex(n, ".")+1]), -1)
}
func BenchmarkListFilterEmailEw(b *testing.B) {
	n := benchName()
	listBench(b, fmt.Sprintf("emails.value ew %q", n[strings.LastIndex(n, "."):]+"@example.com"), -1)
}
func BenchmarkListFilterPhoneCo(b *testing.B) {
	listBench(b, fmt.Sprintf("phoneNumbers.value co %q", fmt.Sprintf("%07d", benchUsers/3)[1:]), -1)
}
func BenchmarkListFilterExternalIDSw(b *testing.B) {
	listBench(b, fmt.Sprintf("externalId sw %q", fmt.Sprintf("ext-%d", benchUsers/7)), -1)
}
func BenchmarkListFilterDisplayNameCo(b *testing.B) { listBench(b, `displayName co "ace Hop"`, -1) }

// The names many users share, exact through the vocabulary (vocab.go): a
// given name (1 in 25 users) and a display name of two keys (1 in 625).
func BenchmarkListFilterGivenNameCo(b *testing.B) {
	listBench(b, `name.givenName co "Katherine"`, (benchUsers+8)/25) // i%25 == 16
}
func BenchmarkListFilterDisplayNameSw(b *testing.B) {
	listBench(b, `displayName sw "Ada Lovelace"`, -1)
}

// BenchmarkListFilterUnindexed is a filter no index answers: every user is
// decoded and evaluated.
func BenchmarkListFilterUnindexed(b *testing.B) { listBench(b, `title eq "Nobody"`, 0) }

func BenchmarkListNoFilter(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.ListUsers(ctx, storage.Query{Offset: benchUsers / 2, Limit: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSeq numbers the users the write benchmarks create, beyond the loaded ones.
var benchSeq atomic.Int64

// BenchmarkCreateUserParallel creates users from 64 writers, durable (fsync
// before each answer), with an audit event each, as the service does.
func BenchmarkCreateUserParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.SetParallelism(32) // 64 writers on 2 CPUs: many writes share each fsync
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := 10_000_000 + int(benchSeq.Add(1))
			u := storagetest.NewUser(i)
			e := &schemas.Event{ID: fmt.Sprintf("ev-%d", i), Time: time.Now().UTC(), Action: "createUser", TargetID: u.ID,
				Changes: map[string]schemas.Change{"userName": {Current: u.UserName}}}
			if _, err := s.CreateUser(ctx, u, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

func BenchmarkUpdateUserCAS(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.SetParallelism(32)
	var n atomic.Int64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("u%08d", (n.Add(1)*7919)%int64(benchUsers))
			_, err := s.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
				u.Title = "Updated"
				u.Updated = time.Now().UTC()
				return nil
			}, nil)
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
}

// addMembers adds k users to a new group per iteration, in one PatchGroup
// "add" with the audit event the directory writes for it (the member list
// above 4 KB recorded by size and digest). Spread, the users are spread over
// the whole store, others at each iteration (and each run), so that they
// have the few groups users have and their pages are as cold as a random
// user's: a group of users created at different times, each member on a
// page of its own. Otherwise they are k consecutive users from a random
// offset: a cohort created together (ids are time-ordered, as
// directory.NewID's), what scimload's "group +1000" phase adds. It reports
// the pages written per addition (bbolt's count of page writes) and the
// spill and write (pwrite and fdatasync) times of the file's transaction,
// each addition applied to the file alone after it (untimed: the overlay's
// apply, which a running store does in the background with other writes). Each addition
// starts with the membership lag drained (memberlag.go), and the time the
// idle writer then takes to drain what it left is reported (drain-ms/op,
// wall clock, untimed).
func addMembers(b *testing.B, k int, spread bool) {
	s := benchStore(b)
	ctx := context.Background()
	departments(b, s)
	ids := make([]string, k)
	n := 0
	var pages int64
	var spill, write, drain time.Duration
	txStats := func() (int64, time.Duration, time.Duration) {
		st := s.db.Stats()
		return st.TxStats.GetWrite(), st.TxStats.GetSpillTime(), st.TxStats.GetWriteTime()
	}
	defer func() {
		b.ReportMetric(float64(pages)/float64(n), "pages/op")
		b.ReportMetric(spill.Seconds()*1000/float64(n), "spill-ms/op")
		b.ReportMetric(write.Seconds()*1000/float64(n), "write-ms/op")
		b.ReportMetric(drain.Seconds()*1000/float64(n), "drain-ms/op")
	}()
	digest := sha256.Sum256([]byte(fmt.Sprint(k)))
	for b.Loop() {
		b.StopTimer()
		n++
		g := fmt.Sprintf("bench-group-%d-%d", time.Now().UnixNano(), n)
		off := rand.IntN(benchUsers)
		for i := range ids {
			if spread {
				ids[i] = fmt.Sprintf("u%08d", (off+i*(benchUsers/k))%benchUsers)
			} else {
				ids[i] = fmt.Sprintf("u%08d", (off+i)%benchUsers)
			}
		}
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: g}, nil); err != nil {
			b.Fatal(err)
		}
		e := &schemas.Event{ID: fmt.Sprintf("ev-%s", g), Time: time.Now().UTC(), ActorID: "bench-app", ActorType: "app",
			Action: "addMembers", TargetID: g, TargetType: "group", IP: "127.0.0.1", UserAgent: "bench",
			Changes: map[string]schemas.Change{"members": {Current: map[string]any{
				"size": 39 * k, "sha256": hex.EncodeToString(digest[:])}}}}
		p0, s0, w0 := txStats()
		b.StartTimer()
		if err := storagetest.AddMembers(ctx, s, g, ids, e); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		// The addition's pages: its apply to the file, alone (untimed).
		if err := s.catchUp(ctx); err != nil {
			b.Fatal(err)
		}
		p1, s1, w1 := txStats()
		pages, spill, write = pages+p1-p0, spill+s1-s0, write+w1-w0
		drain += lagDrained(b, s)
		b.StartTimer()
	}
}

// lagDrained waits until the idle writer has drained the membership lag
// and returns how long that took.
func lagDrained(b *testing.B, s *Store) time.Duration {
	start := time.Now()
	for {
		var n int
		if err := s.fileView(func(tx *bolt.Tx) error {
			var l lagIndex
			err := decodeLagIndex(tx.Bucket(bucketUserGroups).Get(lagIndexKey), &l)
			n = l.total
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
}

// departments gives every user of the benchmark store one group, as a
// directory's users have (a department of 10,000 consecutive users), once
// per store: without it the store's memberships would be those earlier runs
// left, and a fresh store's few would make a membership change write a few
// pages where a real directory's writes one per member.
func departments(b *testing.B, s *Store) {
	const size = 10_000
	ctx := context.Background()
	ids := make([]string, 0, size)
	for d := 0; d*size < benchUsers; d++ {
		g := fmt.Sprintf("bench-department-%d", d)
		if _, err := s.GetGroup(ctx, g); err == nil {
			continue
		}
		ids = ids[:0]
		for i := d * size; i < min((d+1)*size, benchUsers); i++ {
			ids = append(ids, fmt.Sprintf("u%08d", i))
		}
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: g}, nil); err != nil {
			b.Fatal(err)
		}
		if err := storagetest.AddMembers(ctx, s, g, ids, nil); err != nil {
			b.Fatal(err)
		}
	}
	lagDrained(b, s)
}

// BenchmarkGroupMembers lists a department (10,000 members, consecutive
// users) with their names: what a group's GET, or a PATCH's answer, reads.
func BenchmarkGroupMembers(b *testing.B) {
	s := benchStore(b)
	departments(b, s)
	for b.Loop() {
		m, err := s.GroupMembers(context.Background(), "bench-department-0")
		if err != nil || len(m) != min(10_000, benchUsers) {
			b.Fatal(len(m), err)
		}
	}
}

func BenchmarkAddMembers1k(b *testing.B)        { addMembers(b, 1_000, true) }
func BenchmarkAddMembers10k(b *testing.B)       { addMembers(b, 10_000, true) }
func BenchmarkAddMembersCohort1k(b *testing.B)  { addMembers(b, 1_000, false) }
func BenchmarkAddMembersCohort10k(b *testing.B) { addMembers(b, 10_000, false) }

// BenchmarkMemory reports the store's footprint: open time, Go heap and RSS
// after open, and RSS after a read pass (a full scan that decodes every user).
func BenchmarkMemory(b *testing.B) {
	s := benchStore(b)
	f := mustParse(b, `title eq "Nobody"`)
	for b.Loop() {
		if _, err := s.ListUsers(context.Background(), storage.Query{Filter: f}); err != nil {
			b.Fatal(err)
		}
	}
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	b.ReportMetric(bench.openTime.Seconds()*1000, "open-ms")
	b.ReportMetric(bench.heap/1e6, "heap-open-MB")
	b.ReportMetric(float64(bench.rssOpen)/1e6, "rss-open-MB")
	b.ReportMetric(float64(rss())/1e6, "rss-after-scan-MB")
	b.ReportMetric(float64(m.HeapAlloc)/1e6, "heap-after-scan-MB")
	b.ReportMetric(float64(bench.fileSize)/1e6, "file-MB")
}

// BenchmarkAuditYear measures what a year of audit events costs in the
// file: SCIMD_BENCH_USERS users (default 100,000; `make bench` sets 1,000,000) each created once (the
// event holds the whole new user, as directory records a create) and
// updated SCIMD_AUDIT_UPDATES times (default 12: a monthly IdP sync; each
// update changes two attributes), as an IdP's connector writes them (a
// UUIDv7 event id and target, the connector's actor id, an IP and a user
// agent). The events are written in time order, 5,000 to a transaction,
// into a fresh store of their own; it reports the bytes each kind of event
// takes in the file (pages of the events bucket), what the target and actor
// index takes per event, and the file's size; then, after compacting the
// file as `scimd compact` does, what the events and the index take per
// event in the copy.
func BenchmarkAuditYear(b *testing.B) {
	updates := 12
	if v := os.Getenv("SCIMD_AUDIT_UPDATES"); v != "" {
		var err error
		if updates, err = strconv.Atoi(v); err != nil || updates < 0 {
			b.Fatalf("SCIMD_AUDIT_UPDATES=%q: want a number", v)
		}
	}
	n := benchUsers
	for b.Loop() {
		var err error
		dir := b.TempDir()
		// keepLag: the writer seals nothing by itself; sealAll seals
		// every event before each measure, timed.
		opts := Options{NoSync: true, keepLag: true}
		if v := os.Getenv("SCIMD_BLOCK_BYTES"); v != "" { // another block size than blockTarget
			if opts.seal.blockBytes, err = strconv.Atoi(v); err != nil {
				b.Fatalf("SCIMD_BLOCK_BYTES=%q: want a number", v)
			}
		}
		s, err := OpenWithOptions(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) // a year past: every event is old enough to seal
		total := n * (1 + updates)
		step := 365 * 24 * time.Hour / time.Duration(total)
		uuid := func(t time.Time, i int) string { // UUIDv7's layout: time first
			return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x", t.UnixMilli()>>16, t.UnixMilli()&0xffff, i&0xfff, 0x8000|i>>12&0x3fff, uint64(i)*0x9e3779b97f4a7c15>>16)
		}
		event := func(k int) *schemas.Event {
			t := start.Add(time.Duration(k) * step)
			i := k % n
			e := &schemas.Event{ID: uuid(t, k), Time: t, ActorID: "0oa1b2c3d4e5f6g7h8i9", ActorType: "api_token",
				TargetID: uuid(start, i), TargetType: "user", IP: "203.0.113.42", UserAgent: "Okta SCIM Client 1.0.0"}
			u := storagetest.NewUser(i)
			if k < n {
				e.Action, e.Changes = "createUser", map[string]schemas.Change{}
				schemas.AuditDiff(nil, u, func(key string, _, v any) { e.Changes[key] = schemas.Change{Current: v} })
			} else {
				e.Action = "adminUpdateUser"
				e.Changes = map[string]schemas.Change{
					"title":       {Prev: u.Title, Current: u.Title + " II"},
					"displayName": {Prev: u.DisplayName, Current: u.DisplayName + " (" + u.Enterprise.Department + ")"},
				}
			}
			return e
		}
		var sealTook time.Duration
		sealAll := func() {
			t0 := time.Now()
			for more := true; more; {
				if err := s.submit(func(bt *batch) (err error) {
					for range 64 {
						if more, err = bt.sealBlock(time.Now()); err != nil || !more {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			sealTook += time.Since(t0)
		}
		sizeAt := func() (int64, int) { // the tail, the blocks and their ends; the events
			sealAll()
			var sz int64
			s.fileView(func(tx *bolt.Tx) error {
				for _, name := range [][]byte{bucketEvents, bucketEventBlocks, bucketEventBlockEnds} {
					st := tx.Bucket(name).Stats()
					sz += int64(st.LeafAlloc + st.BranchAlloc)
				}
				return nil
			})
			p, err := s.ListEvents(context.Background(), storage.EventQuery{Limit: 0})
			if err != nil {
				b.Fatal(err)
			}
			return sz, p.Total
		}
		var createBytes int64
		const per = 5000
		for from := 0; from < total; from += per {
			to := min(from+per, total)
			putBenchEvents(b, s, from, to, event)
			if from < n && to >= n {
				createBytes, _ = sizeAt() // the creates end in this batch (n is a multiple of per, or nearly)
			}
		}
		all, keys := sizeAt()
		var ix int
		s.fileView(func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bucketEventIndex} {
				st := tx.Bucket(name).Stats()
				ix += st.LeafAlloc + st.BranchAlloc
			}
			return nil
		})
		b.ReportMetric(float64(ix)/float64(total), "B/event-index")
		b.ReportMetric(float64(sealTook.Microseconds())/float64(total), "µs/event-seal")
		auditYearLists(b, s, uuid(start, n/2), "0oa1b2c3d4e5f6g7h8i9", 1+updates, total)
		s.Close()
		fi, err := os.Stat(filepath.Join(dir, FileName))
		if err != nil {
			b.Fatal(err)
		}
		perCreate := float64(createBytes) / float64(n)
		perUpdate := 0.0
		if updates > 0 {
			perUpdate = float64(all-createBytes) / float64(n*updates)
		}
		b.ReportMetric(perCreate, "B/create")
		b.ReportMetric(perUpdate, "B/update")
		b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
		events, index, compacted := compactedAuditBytes(b, filepath.Join(dir, FileName))
		b.ReportMetric(float64(events)/float64(total), "B/event-compacted")
		b.ReportMetric(float64(index)/float64(total), "B/event-index-compacted")
		fmt.Printf("audit year: %d users, %d creates + %d updates = %d events; events bucket %.0f MB (%.0f B a create, %.0f B an update), index %.0f MB; file %.0f MB; after compact: events %.0f MB, index %.0f MB, file %.0f MB\n",
			n, n, n*updates, keys, float64(all)/1e6, perCreate, perUpdate, float64(ix)/1e6, float64(fi.Size())/1e6,
			float64(events)/1e6, float64(index)/1e6, float64(compacted)/1e6)
	}
}

// auditYearLists reports what ListEvents takes in the year's store: the
// audit trail of one user (its 1+updates events, newest first) and the first
// page of 20 of the connector's (every event's actor) with its Total. Each
// is the mean of 20 calls after one that warms the pages.
func auditYearLists(b *testing.B, s *Store, target, actor string, perUser, total int) {
	b.Helper()
	for _, c := range []struct {
		name string
		q    storage.EventQuery
		want int
	}{
		{"target", storage.EventQuery{TargetID: target, Limit: storage.Unlimited}, perUser},
		{"actor", storage.EventQuery{ActorID: actor, Limit: 20}, total},
	} {
		const calls = 20
		var took time.Duration
		for i := range calls + 1 {
			t0 := time.Now()
			p, err := s.ListEvents(context.Background(), c.q)
			if err != nil {
				b.Fatal(err)
			}
			if p.Total != c.want {
				b.Fatalf("ListEvents(%s): Total %d, want %d", c.name, p.Total, c.want)
			}
			if i > 0 {
				took += time.Since(t0)
			}
		}
		b.ReportMetric(float64(took.Microseconds())/calls, "µs/list-"+c.name)
	}
}

// compactedAuditBytes compacts the file at path as `scimd compact` does
// (compactInto) into a file beside it and returns the bytes the events
// bucket and the event index take in the copy (allocated pages), and the
// copy's size: what a year of events costs once compacted (pages full,
// where live writes leave the index's pages about half full).
func compactedAuditBytes(b *testing.B, path string) (events, index, size int64) {
	b.Helper()
	src, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	dst := path + ".compacted"
	size, err = compactInto(src, dst)
	if err = errors.Join(err, src.Close()); err != nil {
		b.Fatal(err)
	}
	db, err := bolt.Open(dst, 0, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEvents, bucketEventBlocks, bucketEventBlockEnds} {
			st := tx.Bucket(name).Stats()
			events += int64(st.LeafAlloc + st.BranchAlloc)
		}
		st := tx.Bucket(bucketEventIndex).Stats()
		index = int64(st.LeafAlloc + st.BranchAlloc)
		return nil
	})
	return events, index, size
}

// portalQuery builds the store query of the Admin Portal's users list as
// portal/users.go's usersQuery does: the search box's text as an Or of sw
// over its paths, And the native status, a sort, a page of 25 and a count
// up to 1,000.
func portalQuery(b *testing.B, text string, paths []string, status, sortBy string, desc bool) storage.Query {
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	var q storage.Query
	var terms []schemas.Filter
	if text != "" {
		var or schemas.Filter
		for _, name := range paths {
			p, err := schemas.ParsePath(name, scim)
			if err != nil {
				b.Fatal(err)
			}
			var c schemas.Filter = &schemas.Compare{Path: p, Op: schemas.OpSw, Value: schemas.Value{Kind: schemas.KindString, Str: text}}
			if or == nil {
				or = c
			} else {
				or = &schemas.Or{Left: or, Right: c}
			}
		}
		terms = append(terms, or)
	}
	if status != "" {
		p, err := schemas.ParsePath("status", schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect})
		if err != nil {
			b.Fatal(err)
		}
		terms = append(terms, &schemas.Compare{Path: p, Op: schemas.OpEq, Value: schemas.Value{Kind: schemas.KindString, Str: status}})
	}
	for _, t := range terms {
		if q.Filter == nil {
			q.Filter = t
		} else {
			q.Filter = &schemas.And{Left: q.Filter, Right: t}
		}
	}
	if sortBy != "" {
		p, err := schemas.ParsePath(sortBy, scim)
		if err != nil {
			b.Fatal(err)
		}
		q.Sort = &schemas.SortKey{Path: p, Descending: desc}
	}
	q.Offset, q.Limit = 25, 25 // the second page
	q.CountLimit = 1_000       // the portal's usersCountLimit
	return q
}

// portalPaths are the portal's search paths for text without "@" that is
// not phone-like (all of them).
var portalPaths = []string{"userName", "emails.value", "phoneNumbers.value", "name.givenName", "name.familyName", "displayName", "externalId"}

// queryBench measures ListUsers(q) from one goroutine per CPU, which keeps
// the CPUs busy, and reports the 99th percentile as well as the mean; want
// is the expected total (-1: any non-zero). More goroutines than CPUs would
// measure the scheduler: a goroutine runs its time slice (10 ms) of
// back-to-back searches before another gets the CPU.
func queryBench(b *testing.B, q storage.Query, want int) {
	s := benchStore(b)
	ctx := context.Background()
	var mu sync.Mutex
	var lat []time.Duration
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			p, err := s.ListUsers(ctx, q)
			mine = append(mine, time.Since(t0))
			if err != nil || (want >= 0 && p.Total != want) || (want < 0 && p.Total == 0) {
				b.Errorf("%s: total %d, %v (want %d)", b.Name(), p.Total, err, want)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// The Admin Portal's users list at the store: sorted listings without a
// filter, the search box (common and rare prefixes), the status filter.
func BenchmarkPortalNewestFirst(b *testing.B) {
	queryBench(b, portalQuery(b, "", nil, "", "meta.created", true), -1)
}
func BenchmarkPortalByUserName(b *testing.B) {
	queryBench(b, portalQuery(b, "", nil, "", "userName", false), -1)
}
func BenchmarkPortalByFamilyNameDesc(b *testing.B) {
	queryBench(b, portalQuery(b, "", nil, "", "name.familyName", true), -1)
}
func BenchmarkPortalByEmail(b *testing.B) {
	queryBench(b, portalQuery(b, "", nil, "", "emails.value", false), -1)
}
func BenchmarkPortalByUpdatedDesc(b *testing.B) {
	queryBench(b, portalQuery(b, "", nil, "", "meta.lastModified", true), -1)
}
func BenchmarkPortalSearchOneLetter(b *testing.B) { // 1 in ~15 users
	queryBench(b, portalQuery(b, "g", portalPaths, "", "", false), -1)
}
func BenchmarkPortalSearchCommon(b *testing.B) { // a given name: 1 in 25
	queryBench(b, portalQuery(b, "ada", portalPaths, "", "", false), -1)
}
func BenchmarkPortalSearchCommonByUserName(b *testing.B) {
	queryBench(b, portalQuery(b, "ada", portalPaths, "", "userName", false), -1)
}
func BenchmarkPortalSearchName(b *testing.B) { // "<given>.<family>.": 1 in 625
	n := benchName()
	queryBench(b, portalQuery(b, n[:strings.LastIndex(n, ".")+1], portalPaths, "", "meta.created", true), -1)
}
func BenchmarkPortalSearchEmail(b *testing.B) {
	n := benchName()
	queryBench(b, portalQuery(b, n+"@", []string{"emails.value", "userName", "externalId"}, "", "", false), -1)
}
func BenchmarkPortalStatusByUpdated(b *testing.B) {
	queryBench(b, portalQuery(b, "", nil, schemas.StatusDisabled, "meta.lastModified", true), -1)
}
func BenchmarkPortalSearchStatusByFamilyName(b *testing.B) {
	queryBench(b, portalQuery(b, "gr", portalPaths, schemas.StatusActive, "name.familyName", false), -1)
}

// BenchmarkListEventsByTarget measures the user detail page's audit trail
// and the audit log filtered by actor: SCIMD_BENCH_EVENTS events (default
// 200,000; a createUser event of one user each, by one of 1,000 actors,
// 5,000 to a transaction, straight into a fresh store), then the newest 20
// events of one user ("target", one match), of one actor ("actor", 1 in
// 1,000 events) and of one user in a time range ("target_range"). It logs
// the bytes an event takes in the events bucket and in the two indexes.
func BenchmarkListEventsByTarget(b *testing.B) {
	n := 200_000
	if v := os.Getenv("SCIMD_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("SCIMD_BENCH_EVENTS=%q: want a positive number", v)
		}
	}
	s, err := OpenWithOptions(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	event := func(k int) *schemas.Event {
		return &schemas.Event{ID: fmt.Sprintf("ev-%09d", k), Time: start.Add(time.Duration(k) * time.Second),
			ActorID: fmt.Sprintf("app-%04d", k%1000), ActorType: "app", Action: "createUser",
			TargetID: fmt.Sprintf("u-%09d", k), TargetType: "user", IP: "203.0.113.42", UserAgent: "Okta SCIM Client 1.0.0",
			Changes: map[string]schemas.Change{"userName": {Current: fmt.Sprintf("user%d@example.com", k)}, "active": {Current: true}}}
	}
	t0 := time.Now()
	const per = 5000
	for from := 0; from < n; from += per {
		putBenchEvents(b, s, from, min(from+per, n), event)
	}
	b.Logf("%d events written in %v", n, time.Since(t0).Round(time.Millisecond))
	var evBytes, ixBytes int
	s.fileView(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEvents, bucketEventIndex} {
			st := tx.Bucket(name).Stats()
			if name[0] == 'e' {
				evBytes += st.LeafAlloc + st.BranchAlloc
			} else {
				ixBytes += st.LeafAlloc + st.BranchAlloc
			}
		}
		return nil
	})
	b.Logf("events bucket %d B/event, target and actor indexes %d B/event", evBytes/n, ixBytes/n)
	mid := n / 2
	for _, c := range []struct {
		name string
		q    storage.EventQuery
		want int
	}{
		{"target", storage.EventQuery{TargetID: fmt.Sprintf("u-%09d", mid), Limit: 20}, 1},
		{"actor", storage.EventQuery{ActorID: "app-0007", Limit: 20}, (n - 7 + 999) / 1000},
		{"target_range", storage.EventQuery{TargetID: fmt.Sprintf("u-%09d", mid), Since: event(mid).Time, Until: event(mid + 1).Time, Limit: 20}, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				p, err := s.ListEvents(context.Background(), c.q)
				if err != nil {
					b.Fatal(err)
				}
				if p.Total != c.want {
					b.Fatalf("%s: %d events, want %d", c.name, p.Total, c.want)
				}
			}
		})
	}
}

// putBenchEvents stores event(from) … event(to-1) in one transaction, as the
// writer stores the events of a batch, without the changes they record.
func putBenchEvents(b *testing.B, s *Store, from, to int, event func(int) *schemas.Event) {
	b.Helper()
	evs := make([]*stagedEvent, 0, to-from)
	for k := from; k < to; k++ {
		ev, err := newStagedEvent(event(k))
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if err := s.submit(func(bt *batch) error {
		for _, ev := range evs {
			if err := bt.putEvent(ev); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGetUserLagging is GetUser in a store of 20,000 users of which
// 8,000 are in one of maxLagGroups groups whose membership lag is kept (not
// drained): what a read pays for the lag (one Get per lagging group), beside
// the same reads once the lag is drained.
func BenchmarkGetUserLagging(b *testing.B) {
	const n = 20_000
	dir := b.TempDir()
	s, err := OpenWithOptions(dir, Options{NoSync: true, keepLag: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := bulkLoad(s, 0, n); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for g := range maxLagGroups {
		id := fmt.Sprintf("lag-%d", g)
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: id, DisplayName: id}, nil); err != nil {
			b.Fatal(err)
		}
		var ids []string
		for i := g; i < n; i += 2 * maxLagGroups {
			ids = append(ids, fmt.Sprintf("u%08d", i))
		}
		if err := storagetest.AddMembers(ctx, s, id, ids, nil); err != nil {
			b.Fatal(err)
		}
	}
	get := func(b *testing.B, s *Store) {
		i := 0
		for b.Loop() {
			if _, err := s.GetUser(ctx, fmt.Sprintf("u%08d", i%n)); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	}
	b.Run("lagging=8", func(b *testing.B) {
		var l lagIndex
		s.fileView(func(tx *bolt.Tx) error {
			return decodeLagIndex(tx.Bucket(bucketUserGroups).Get(lagIndexKey), &l)
		})
		if len(l.groups) != maxLagGroups {
			b.Fatalf("%d lagging groups, want %d", len(l.groups), maxLagGroups)
		}
		get(b, s)
	})
	// The oldest group drained but for its last chunk, the drained entries
	// deletions in the overlay (not applied): a read looks its user up
	// among them.
	for range (n/(2*maxLagGroups))/lagDrainChunk - 1 {
		if err := drainChunk(s); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("lagging=8,drained-in-overlay", func(b *testing.B) { get(b, s) })
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = OpenWithOptions(dir, Options{NoSync: true}); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	lagDrained(b, s)
	b.Run("lagging=0", func(b *testing.B) { get(b, s) })
}
