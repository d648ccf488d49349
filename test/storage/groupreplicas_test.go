package storage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/mongo"
)

// TestConcurrentMemberAddsAcrossReplicas adds 200 members to one group, each
// by its own PATCH, split over two directory services on two stores sharing
// one FerretDB database, as two scimd replicas would. Every call answers
// within the deadline (a 503, which FerretDB's SQLite answers when its
// writers wait too long, is retried as an identity provider retries it),
// every user ends up a member, and the group's version (its ETag) moved on
// with each change: the version each PATCH answers is newer than the one
// its client read before sending it (concurrent changes in one replica may
// share a bump: they are made together).
func TestConcurrentMemberAddsAcrossReplicas(t *testing.T) {
	uri, db := freshDatabase(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var svcs []*directory.Service
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		st, err := mongo.OpenOptions(ctx, uri, db, mongo.Options{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		svcs = append(svcs, directory.New(st, directory.Options{Logger: log}))
	}
	ctx := t.Context()
	p := directory.System
	g, err := svcs[0].CreateGroup(ctx, p, &schemas.Group{DisplayName: "Crowd"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	ids := make([]string, n)
	for i := range n {
		u, err := svcs[0].CreateUser(ctx, p, &schemas.User{UserName: fmt.Sprintf("member%03d", i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	before, after := make([]int64, n), make([]int64, n)
	retries := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			svc := svcs[i%2]
			cur, err := svc.GetGroup(dctx, p, g.ID)
			if err != nil {
				t.Errorf("GET before adding %s: %v", id, err)
				return
			}
			before[i] = cur.Version
			for {
				got, err := svc.PatchGroup(dctx, p, g.ID, directory.GroupPatch{Members: []directory.MemberOp{{Op: "add", IDs: []string{id}}}})
				if directory.KindOf(err) == directory.KindUnavailable && dctx.Err() == nil {
					mu.Lock()
					retries++
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Errorf("PATCH adding %s: %v", id, err)
					return
				}
				after[i] = got.Version
				return
			}
		})
	}
	wg.Wait()
	t.Logf("%d concurrent adds over 2 replicas: %v (%d retried after a 503)", n, time.Since(start), retries)
	members, err := svcs[1].GroupMemberIDs(ctx, p, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(slices.Values(ids)); !slices.Equal(members, want) {
		t.Errorf("%d members after %d adds, want all of them", len(members), n)
	}
	if t.Failed() {
		return
	}
	last, err := svcs[0].GetGroup(ctx, p, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if after[i] <= before[i] || after[i] > last.Version {
			t.Errorf("PATCH %d: version %d before, %d in its answer, %d at the end: want its answer's newer than what it found", i, before[i], after[i], last.Version)
		}
	}
	t.Logf("group version %d → %d after %d adds (concurrent adds share a bump)", g.Version, last.Version, n)
}
