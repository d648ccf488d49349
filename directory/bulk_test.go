package directory

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testclock"
	"github.com/scimd/scimd/storage/embedded"
)

// A bulk creation reaches the store as concurrent writes, which the embedded
// store commits together: far fewer commits (and fsyncs) than users. Created
// one by one, 300 users took 300 commits.
func TestBulkCreateUsersSharesCommits(t *testing.T) {
	var commits, writes atomic.Int64
	st, err := embedded.OpenWithOptions(t.TempDir(), embedded.Options{OnCommit: func(n int) {
		commits.Add(1)
		writes.Add(int64(n))
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := testclock.At(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	svc := New(st, Options{Now: c.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Issuer: "https://scimd.test"})
	const n = 300
	items := make([]BulkUser, n)
	for i := range items {
		items[i].User = user(fmt.Sprintf("bulk%03d", i))
	}
	before := commits.Load()
	res, err := svc.BulkCreateUsers(t.Context(), System, items)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("element %d: %v", r.Index, r.Err)
		}
	}
	if got := commits.Load() - before; got > n/5 {
		t.Fatalf("%d users took %d commits; want at most %d (concurrent creates share commits)", n, got, n/5)
	}
}

// Elements whose identifiers clash give the result of creating them one by
// one in order: the later element fails, whatever the concurrency; and ids
// ascend in element order.
func TestBulkCreateUsersClashesFailTheLaterElement(t *testing.T) {
	f := newFixture(t)
	items := make([]BulkUser, 0, 100)
	for i := range 40 {
		items = append(items, BulkUser{User: user(fmt.Sprintf("p%02d", i))})
	}
	clash := user("P07") // userName folded equal to element 7's
	clash.Emails[0].Value = "other7@example.org"
	items = append(items, BulkUser{User: clash})
	byEmail := user("q1")
	byEmail.UserName = "p09@example.org" // element 9's primary email as a userName
	byEmail.Emails[0].Value = "q1@example.org"
	items = append(items, BulkUser{User: byEmail})
	ext := user("q2")
	ext.ExternalID = "x-1"
	ext2 := user("q3")
	ext2.ExternalID = "x-1"
	items = append(items, BulkUser{User: ext}, BulkUser{User: ext2})
	for i := range 20 {
		items = append(items, BulkUser{User: user(fmt.Sprintf("r%02d", i))})
	}
	res, err := f.svc.BulkCreateUsers(t.Context(), f.admin, items)
	if err != nil {
		t.Fatal(err)
	}
	last := ""
	for i, r := range res {
		wantFail := i == 40 || i == 41 || i == 43
		if wantFail {
			wantKind(t, r.Err, KindConflict)
			continue
		}
		if r.Err != nil {
			t.Fatalf("element %d: %v", i, r.Err)
		}
		if r.User.ID <= last {
			t.Fatalf("element %d has id %s, not after the previous element's %s", i, r.User.ID, last)
		}
		last = r.User.ID
	}
}
