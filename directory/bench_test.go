package directory

import (
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/storagetest"
)

// BenchmarkCreateUserParallel measures durable user creation through the
// directory (validation, audit event, store) on the embedded store, with
// concurrent callers as an IdP import produces them.
func BenchmarkCreateUserParallel(b *testing.B) {
	st, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := New(st, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := storagetest.NewUser(int(n.Add(1)))
			u.ID = ""
			u.UserName += strconv.Itoa(0)
			if _, err := svc.CreateUser(b.Context(), System, u, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// BenchmarkCreateEventChanges measures the changes of a create's audit
// event (userChanges of a new user: every attribute it holds) for one of
// the suite's generated users.
func BenchmarkCreateEventChanges(b *testing.B) {
	u := storagetest.NewUser(12345)
	b.ReportAllocs()
	for b.Loop() {
		if len(userChanges(nil, u)) == 0 {
			b.Fatal("no changes")
		}
	}
}
