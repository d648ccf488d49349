package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

// BenchmarkWrites8 runs durable creates, replaces and deletes of users from 8
// concurrent writers (the HTTP figures' 8 clients) on a fresh store of 2,000
// users, each write with its audit event, and reports what a write costs
// whatever the machine's load: the commits per write (group commit shares a
// commit, and its fsyncs, among the writes queued together), the pages
// written per write (bbolt's page writes, one pwrite each, by the overlay's
// applies: the run ends with the rest of its writes applied, and that is
// counted) and the process's CPU time per write (user and system: the
// fsyncs' kernel time and the applies too), and the writes per second (the
// store's ceiling for 8 clients: no HTTP; until the last write is
// acknowledged), and the allocations and bytes allocated per write (the
// writers', the writer goroutine's and the applier's: a figure the
// machine's load does not blur).
func BenchmarkWrites8(b *testing.B) {
	var commits atomic.Int64
	s, err := OpenWithOptions(b.TempDir(), Options{OnCommit: func(int) { commits.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := bulkLoad(s, 0, 2000); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var seq atomic.Int64
	seq.Store(20_000_000)
	newEvent := func(action, target string) *schemas.Event {
		return &schemas.Event{ID: fmt.Sprintf("ev-%d", seq.Add(1)), Time: time.Now().UTC(), Action: action, TargetID: target,
			Changes: map[string]schemas.Change{"title": {Current: "x"}}}
	}
	// run makes n writes with 8 writers, write(i) the i-th.
	run := func(b *testing.B, n int, write func(i int) error) {
		pages := func() int64 { st := s.db.Stats(); return st.TxStats.GetWrite() }
		if dir := os.Getenv("SCIMD_WRITES_PROFILE"); dir != "" { // a CPU profile of the writes alone
			f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "-")+".pprof"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
			defer pprof.StopCPUProfile()
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		cpu0, c0, p0, t0 := cpuTime(), commits.Load(), pages(), time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					if err := write(i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		el := time.Since(t0)
		// The writes' share of the file: the overlay's apply (in the
		// background, or here for what is left) belongs to their cost.
		if err := s.catchUp(ctx); err != nil {
			b.Fatal(err)
		}
		cpu := cpuTime() - cpu0
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(n)/el.Seconds(), "writes/s")
		b.ReportMetric(float64(commits.Load()-c0)/float64(n), "commits/write")
		b.ReportMetric(float64(pages()-p0)/float64(n), "pages/write")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/write")
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(n), "allocs/write")
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(n), "B/write")
	}
	b.Run("create", func(b *testing.B) {
		base := int(seq.Add(1_000_000))
		run(b, loops(b), func(i int) error {
			u := storagetest.NewUser(base + i)
			_, err := s.CreateUser(ctx, u, newEvent("createUser", u.ID))
			return err
		})
	})
	b.Run("replace", func(b *testing.B) {
		run(b, loops(b), func(i int) error {
			id := storagetest.NewUser(i % 2000).ID
			_, err := s.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
				u.Title = fmt.Sprintf("Title %d", i)
				u.Updated = time.Now().UTC()
				return nil
			}, nil)
			return err
		})
	})
	b.Run("delete", func(b *testing.B) {
		n := loops(b)
		base := int(seq.Add(1_000_000))
		if err := bulkLoad(s, base, n); err != nil { // the users to delete, in creation order
			b.Fatal(err)
		}
		run(b, n, func(i int) error {
			id := storagetest.NewUser(base + i).ID
			return s.DeleteUser(ctx, id, newEvent("deleteUser", id))
		})
	})
}

// loops returns b.N (the writes are made after the loop, by 8 writers).
func loops(b *testing.B) int {
	n := 0
	for b.Loop() {
		n++
	}
	return n
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFdatasync measures the disk's floor under a durable write: one
// 4 KiB page written and fdatasync'd per operation, in a file of the test's
// temporary directory (TMPDIR; put it on the data directory's disk). ns/op is
// the wall time of one; bbolt syncs twice per commit (the data pages, then
// the meta page), so a commit takes at least twice that.
func BenchmarkFdatasync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	if _, err := f.WriteAt(make([]byte, 1<<20), 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	cpu0, i := cpuTime(), 0
	for b.Loop() {
		if _, err := f.WriteAt(page, int64(i%256)*4096); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(i), "cpu-µs/op")
}
