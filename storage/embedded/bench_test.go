package embedded

import (
	"context"
	"fmt"
	"os"
	"runtime"
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

// benchUsers is the number of users of the shared benchmark store.
const benchUsers = 100_000

var bench struct {
	once     sync.Once
	err      error
	dir      string
	keep     bool
	s        *Store
	loadTime time.Duration // creating the users (NoSync, concurrent writers)
	openTime time.Duration // reopening the loaded store (durable)
	perUser  float64       // heap bytes per user after open, beyond the encoded size
	encoded  float64       // encoded bytes per user
	heap     float64       // heap bytes per user after open
}

// benchStore returns the shared store of benchUsers storagetest.NewUser users,
// loaded once through CreateUser from concurrent writers (with NoSync, to load
// fast), then closed and reopened durable.
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
		if n, _ := s.ListUsers(context.Background(), storage.Query{}); n.Total > 0 { // a kept store from an earlier run
			s.Close()
		} else if bench.err = loadBench(s); bench.err != nil {
			return
		}

		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		start := time.Now()
		bench.s, bench.err = Open(bench.dir)
		if bench.err != nil {
			return
		}
		bench.openTime = time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		var enc int64
		bench.err = bench.s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
				enc += int64(len(v))
				return nil
			})
		})
		all, _ := bench.s.ListUsers(context.Background(), storage.Query{})
		n := float64(all.Total)
		bench.heap = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / n
		bench.encoded = float64(enc) / n
		bench.perUser = bench.heap - bench.encoded
		if bench.loadTime > 0 {
			fmt.Fprintf(os.Stderr, "bench store: %d users loaded in %v (%.0f creates/s, NoSync)\n",
				benchUsers, bench.loadTime.Round(time.Millisecond), benchUsers/bench.loadTime.Seconds())
		}
		fmt.Fprintf(os.Stderr, "bench store: opened in %v; heap %.0f B/user, encoded %.0f B/user, overhead %.0f B/user\n",
			bench.openTime.Round(time.Millisecond), bench.heap, bench.encoded, bench.perUser)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.s
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

func BenchmarkFindUserByUserName(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	names := make([]string, 1000)
	for i := range names {
		names[i] = storagetest.NewUser(i * 97).UserName
	}
	i := 0
	for b.Loop() {
		if _, err := s.FindUser(ctx, storage.FieldUserName, names[i%len(names)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func mustParse(b *testing.B, expr string) schemas.Filter {
	f, err := schemas.ParseFilter(expr, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func BenchmarkListFilterUserNameEq(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	f := mustParse(b, fmt.Sprintf("userName eq %q", storagetest.NewUser(54321).UserName))
	for b.Loop() {
		p, err := s.ListUsers(ctx, storage.Query{Filter: f, Limit: 100})
		if err != nil || p.Total != 1 {
			b.Fatal(p.Total, err)
		}
	}
}

func BenchmarkListFilterFamilyNameCo(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	f := mustParse(b, `name.familyName co "opp"`) // Hopper: 1/25 of the users
	for b.Loop() {
		p, err := s.ListUsers(ctx, storage.Query{Filter: f, Limit: 100})
		if err != nil || p.Total == 0 {
			b.Fatal(p.Total, err)
		}
	}
}

func BenchmarkListNoFilter(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.ListUsers(ctx, storage.Query{Offset: 50_000, Limit: 100}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSeq numbers the users the write benchmarks create, beyond the loaded ones.
var benchSeq atomic.Int64

func BenchmarkCreateUserParallel(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.SetParallelism(32) // 64 writers on 2 CPUs: many writes share each fsync
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := 1_000_000 + int(benchSeq.Add(1))
			if _, err := s.CreateUser(ctx, storagetest.NewUser(i), nil); err != nil {
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
			id := fmt.Sprintf("u%08d", (n.Add(1)*7919)%benchUsers)
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

func BenchmarkAddMembers10k(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("u%08d", i*7)
	}
	n := 0
	for b.Loop() {
		n++
		g := fmt.Sprintf("bench-group-%d-%d", time.Now().UnixNano(), n)
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: g}, nil); err != nil {
			b.Fatal(err)
		}
		if err := s.AddMembers(ctx, g, ids, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryPerUser reports the heap the store uses per user once open
// (HeapAlloc after GC, before and after Open of the 100,000-user store), the
// encoded size of a user in the file, and the difference: what the in-memory
// documents and indexes cost beyond the data itself.
func BenchmarkMemoryPerUser(b *testing.B) {
	benchStore(b)
	for b.Loop() {
	}
	b.ReportMetric(bench.heap, "heap-B/user")
	b.ReportMetric(bench.encoded, "encoded-B/user")
	b.ReportMetric(bench.perUser, "overhead-B/user")
	b.ReportMetric(bench.openTime.Seconds()*1000, "open-ms")
}

// loadBench creates the benchUsers users from 64 concurrent writers and closes s.
func loadBench(s *Store) error {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= benchUsers {
					return
				}
				if _, err := s.CreateUser(context.Background(), storagetest.NewUser(i), nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		s.Close()
		return err
	}
	bench.loadTime = time.Since(start)
	return s.Close()
}

// BenchmarkStoreOverheadPerUser reports what the store costs beyond the
// documents themselves: its heap per user (as BenchmarkMemoryPerUser) minus the
// heap of the same users held as plain decoded documents in a slice. The
// difference is the indexes, the id order and the store's bookkeeping.
func BenchmarkStoreOverheadPerUser(b *testing.B) {
	benchStore(b)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	docs := make([]*schemas.User, benchUsers)
	for i := range docs {
		docs[i] = storagetest.NewUser(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	docHeap := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / benchUsers
	runtime.KeepAlive(docs)
	for b.Loop() {
	}
	b.ReportMetric(docHeap, "docs-B/user")
	b.ReportMetric(bench.heap-docHeap, "store-overhead-B/user")
}
