package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/mongo"
	"github.com/scimd/scimd/test/ferret"
)

// commandCounter counts the commands a client sends, by name. Deletions of
// compare-and-swap claims are counted apart: they run in the background, off
// the operation's critical path.
type commandCounter struct {
	mu         sync.Mutex
	names      []string
	background int
}

func (c *commandCounter) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if e.CommandName == "delete" {
			if coll, ok := e.Command.Lookup("delete").StringValueOK(); ok && coll == "casClaims" {
				c.background++
				return
			}
		}
		c.names = append(c.names, e.CommandName)
	}}
}

// measure runs op and returns the commands it sent on its critical path.
func (c *commandCounter) measure(t *testing.T, op func() error) []string {
	t.Helper()
	c.mu.Lock()
	c.names = nil
	c.mu.Unlock()
	if err := op(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.names
}

// TestRoundTrips asserts the number of commands (round trips) each hot
// operation sends, in both compare-and-swap modes, and logs them. The counts
// are deterministic: they do not depend on timing.
func TestRoundTrips(t *testing.T) {
	uri := ferret.Start(t)
	type row struct {
		op   string
		want int
		got  []string
		mode string
	}
	var rows []row
	for _, mode := range []struct {
		name   string
		claims mongo.ClaimMode
		update int
	}{
		{"plain (MongoDB, DocumentDB, Cosmos)", mongo.ClaimsNever, 2},
		{"claims (FerretDB v1)", mongo.ClaimsAlways, 3},
	} {
		var cc commandCounter
		ctx := t.Context()
		s, err := mongo.OpenOptions(ctx, uri, randomDB(), mongo.Options{Monitor: cc.monitor(), Claims: mode.claims})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 5; i++ {
			if _, err := s.CreateUser(ctx, newTestUser(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		filter, err := schemas.ParseFilter(`userName pr and meta.created gt "2000-01-01T00:00:00Z"`,
			schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect})
		if err != nil {
			t.Fatal(err)
		}
		add := func(op string, want int, f func() error) {
			rows = append(rows, row{op: op, want: want, got: cc.measure(t, f), mode: mode.name})
		}
		// A create claims its login identifiers (one insert for all), checks them
		// against users stored before claims existed (a find), then inserts.
		add("create", 3, func() error { _, err := s.CreateUser(ctx, newTestUser(6), nil); return err })
		add("get", 1, func() error { _, err := s.GetUser(ctx, "rt000003"); return err })
		add("find by unique field", 1, func() error {
			_, err := s.FindUser(ctx, storage.FieldEmail, "RT.3@Example.com")
			return err
		})
		add("update", mode.update, func() error {
			_, err := s.UpdateUser(ctx, "rt000003", 0, func(u *schemas.User) error { u.Title = "Boss"; return nil }, nil)
			return err
		})
		ev := func(id string) *schemas.Event {
			return &schemas.Event{ID: id, Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Action: "x", TargetID: "rt000003"}
		}
		add("create with its audit event", 4, func() error { _, err := s.CreateUser(ctx, newTestUser(7), ev("e1")); return err })
		add("update with its audit event", mode.update+1, func() error {
			_, err := s.UpdateUser(ctx, "rt000003", 0, func(u *schemas.User) error { u.Title = "Chief"; return nil },
				func(_, _ *schemas.User) *schemas.Event { return ev("e2") })
			return err
		})
		// A delete then deletes the user's login identifier claims.
		add("delete with its audit event", 3, func() error { return s.DeleteUser(ctx, "rt000007", ev("e3")) })
		// Changing a login identifier adds the claim, the check and the
		// deletion of the old identifier's claim to an update.
		add("update of the userName", mode.update+3, func() error {
			_, err := s.UpdateUser(ctx, "rt000004", 0, func(u *schemas.User) error { u.UserName = "renamed"; return nil }, nil)
			return err
		})
		add("list page (exact filter)", 2, func() error {
			p, err := s.ListUsers(ctx, storage.Query{Filter: filter, Offset: 2, Limit: 2})
			if err == nil && (len(p.Items) != 2 || p.Total != 6) {
				err = fmt.Errorf("page: %d items, total %d", len(p.Items), p.Total)
			}
			return err
		})
		add("list count only (Limit 0)", 1, func() error {
			_, err := s.ListUsers(ctx, storage.Query{Filter: filter, Limit: 0})
			return err
		})
		add("last partial page", 1, func() error {
			_, err := s.ListUsers(ctx, storage.Query{Filter: filter, Offset: 4, Limit: 10})
			return err
		})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var report strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&report, "\n  %-38s %-30s %d  %v", r.mode, r.op, len(r.got), r.got)
		if len(r.got) != r.want {
			t.Errorf("%s, %s: %d round trips %v, want %d", r.mode, r.op, len(r.got), r.got, r.want)
		}
	}
	t.Logf("round trips per operation:%s", report.String())
}

// newTestUser returns a small user with id rt%06d.
func newTestUser(i int) *schemas.User {
	created := time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)
	return &schemas.User{
		ID:       fmt.Sprintf("rt%06d", i),
		UserName: fmt.Sprintf("rt.%d", i),
		Emails:   []schemas.Email{{Value: fmt.Sprintf("rt.%d@example.com", i), Primary: true}},
		Status:   schemas.StatusActive,
		Created:  created,
		Updated:  created,
	}
}
