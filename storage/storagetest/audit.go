package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Audit events committed with changes (see storage.Store): a change that
// succeeds stores its event, a refused change stores neither, an event that
// cannot be stored stops its change.

// auditClock hands out distinct, increasing event times and ids.
type auditClock struct{ n atomic.Int64 }

func (c *auditClock) event(action, target string, changes map[string]schemas.Change) *schemas.Event {
	n := c.n.Add(1)
	return &schemas.Event{
		ID: "ev" + strconv.FormatInt(1000000+n, 10), Time: ms(2025, time.May, 1, 0, 0, 0, 0).Add(time.Duration(n) * time.Millisecond),
		ActorID: "app-1", ActorType: "app", Action: action, TargetID: target, TargetType: "user",
		IP: "192.0.2.7", UserAgent: "storagetest", Changes: changes,
	}
}

// fixed is an Audit that returns e whatever the versions.
func fixed[T any](e *schemas.Event) storage.Audit[T] { return func(_, _ T) *schemas.Event { return e } }

// storedEvents returns the ids of every stored event, oldest first.
func storedEvents(t *testing.T, s storage.Store) []string {
	t.Helper()
	p, err := s.ListEvents(t.Context(), storage.EventQuery{Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	ids := make([]string, len(p.Items))
	for i, e := range p.Items {
		ids[len(ids)-1-i] = e.ID
	}
	return ids
}

func testEventsWithChanges(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	var c auditClock
	var want []string // ids of the events that must be stored, in order
	ok := func(what string, e *schemas.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		want = append(want, e.ID)
	}
	refused := func(what string, err, target error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Fatalf("%s: got %v, want %v", what, err, target)
		}
	}

	u1, u2 := NewUser(1), NewUser(2)
	e := c.event("createUser", u1.ID, map[string]schemas.Change{"userName": {Current: u1.UserName}})
	_, err := s.CreateUser(ctx, u1, e)
	ok("CreateUser", e, err)
	e = c.event("createUser", u2.ID, nil)
	_, err = s.CreateUser(ctx, u2, e)
	ok("CreateUser", e, err)

	// The event of an update is built from the committed versions.
	var sawPrev, sawCur string
	e = c.event("adminUpdateUser", u1.ID, nil)
	got, err := s.UpdateUser(ctx, u1.ID, 1, func(u *schemas.User) error { u.Title = "Director"; return nil },
		func(prev, cur *schemas.User) *schemas.Event {
			sawPrev, sawCur = prev.Title, cur.Title
			if cur.Version != prev.Version+1 || cur.ID != u1.ID {
				t.Errorf("Audit called with versions %d → %d of %s, want %d → %d of %s", prev.Version, cur.Version, cur.ID, 1, 2, u1.ID)
			}
			x := *e
			x.Changes = map[string]schemas.Change{"title": {Prev: prev.Title, Current: cur.Title}}
			return &x
		})
	ok("UpdateUser", e, err)
	if sawPrev != u1.Title || sawCur != "Director" || got.Title != "Director" {
		t.Errorf("Audit saw title %q → %q, want %q → %q", sawPrev, sawCur, u1.Title, "Director")
	}
	p, err := s.ListEvents(ctx, storage.EventQuery{TargetID: u1.ID, Action: "adminUpdateUser", Limit: storage.Unlimited})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("ListEvents(update of %s) = %v, %v; want the update's event", u1.ID, p.Items, err)
	}
	assertEqual(t, "stored update event", map[string]schemas.Change{"title": {Prev: u1.Title, Current: "Director"}}, p.Items[0].Changes)

	// Refusals store no event.
	_, err = s.CreateUser(ctx, withVersion(u1, 0), c.event("createUser", u1.ID, nil))
	refused("CreateUser with a taken id", err, storage.ErrConflict)
	dup := NewUser(3)
	dup.UserName = u1.UserName
	_, err = s.CreateUser(ctx, dup, c.event("createUser", dup.ID, nil))
	refused("CreateUser with a taken userName", err, storage.ErrConflict)
	_, err = s.UpdateUser(ctx, u1.ID, 1, func(*schemas.User) error { return nil }, fixed[*schemas.User](c.event("adminUpdateUser", u1.ID, nil)))
	refused("UpdateUser with a stale version", err, storage.ErrVersionMismatch)
	errNo := errors.New("updater says no")
	_, err = s.UpdateUser(ctx, u1.ID, 0, func(*schemas.User) error { return errNo }, fixed[*schemas.User](c.event("adminUpdateUser", u1.ID, nil)))
	refused("UpdateUser whose updater fails", err, errNo)
	_, err = s.UpdateUser(ctx, u1.ID, 0, func(u *schemas.User) error { u.UserName = u2.UserName; return nil },
		fixed[*schemas.User](c.event("adminUpdateUser", u1.ID, nil)))
	refused("UpdateUser to a taken userName", err, storage.ErrConflict)
	_, err = s.UpdateUser(ctx, "nobody", 0, func(*schemas.User) error { return nil }, fixed[*schemas.User](c.event("adminUpdateUser", "nobody", nil)))
	refused("UpdateUser of a missing user", err, storage.ErrNotFound)
	refused("DeleteUser of a missing user", s.DeleteUser(ctx, "nobody", c.event("deleteUser", "nobody", nil)), storage.ErrNotFound)

	// Groups and membership.
	g := newGroup("g1", "Engineering")
	e = c.event("createGroup", g.ID, nil)
	_, err = s.CreateGroup(ctx, g, e)
	ok("CreateGroup", e, err)
	_, err = s.CreateGroup(ctx, newGroup("g2", "ENGINEERING"), c.event("createGroup", "g2", nil))
	refused("CreateGroup with a taken name", err, storage.ErrConflict)
	e = c.event("updateGroup", g.ID, nil)
	_, err = s.UpdateGroup(ctx, g.ID, 0, func(g *schemas.Group) error { g.Description = "x"; return nil }, fixed[*schemas.Group](e))
	ok("UpdateGroup", e, err)
	_, err = s.UpdateGroup(ctx, g.ID, 1, func(g *schemas.Group) error { return nil }, fixed[*schemas.Group](c.event("updateGroup", g.ID, nil)))
	refused("UpdateGroup with a stale version", err, storage.ErrVersionMismatch)
	e = c.event("addGroupMembers", g.ID, nil)
	ok("AddMembers", e, AddMembers(ctx, s, g.ID, []string{u1.ID, u2.ID}, e))
	if err := AddMembers(ctx, s, g.ID, []string{u1.ID}, c.event("addGroupMembers", g.ID, nil)); err != nil {
		t.Fatalf("AddMembers (already members): %v", err) // changes nothing, so records nothing
	}
	// A PATCH changing attributes and members commits every event of it,
	// built from what it changed.
	e1, e2 := c.event("updateGroup", g.ID, nil), c.event("removeGroupMembers", g.ID, nil)
	var saw []string
	_, err = s.PatchGroup(ctx, g.ID, storage.GroupChange{
		Apply:   func(g *schemas.Group) (bool, error) { g.Description = "y"; return true, nil },
		Members: []storage.MemberOp{{Op: "remove", IDs: []string{u1.ID, "nobody"}}, {Op: "add", IDs: []string{u1.ID}}, {Op: "remove", IDs: []string{u1.ID}}},
	}, func(prev, cur *schemas.Group, added, removed []string) []*schemas.Event {
		saw = append(append(append(saw[:0], prev.Description, cur.Description), added...), removed...)
		return []*schemas.Event{e1, nil, e2}
	})
	ok("PatchGroup", e1, err)
	want = append(want, e2.ID)
	if !slices.Equal(saw, []string{"x", "y", u1.ID}) {
		t.Errorf("GroupAudit saw %q, want description x → y, nothing added, %s removed", saw, u1.ID)
	}
	e = c.event("addGroupMembers", g.ID, nil)
	ok("AddMembers (again)", e, AddMembers(ctx, s, g.ID, []string{u1.ID}, e))
	refused("AddMembers of a missing user", AddMembers(ctx, s, g.ID, []string{u1.ID, "nobody"}, c.event("addGroupMembers", g.ID, nil)), storage.ErrNotFound)
	refused("AddMembers to a missing group", AddMembers(ctx, s, "nogroup", []string{u1.ID}, c.event("addGroupMembers", "nogroup", nil)), storage.ErrNotFound)
	e = c.event("removeGroupMembers", g.ID, nil)
	ok("RemoveMembers", e, RemoveMembers(ctx, s, g.ID, []string{u2.ID}, e))
	refused("RemoveMembers from a missing group", RemoveMembers(ctx, s, "nogroup", []string{u1.ID}, c.event("removeGroupMembers", "nogroup", nil)), storage.ErrNotFound)
	refused("DeleteGroup of a missing group", s.DeleteGroup(ctx, "nogroup", c.event("deleteGroup", "nogroup", nil)), storage.ErrNotFound)

	// Applications and API tokens.
	a := newApp("a1", schemas.AppRegular, "client-a1")
	e = c.event("createApp", a.ID, nil)
	_, err = s.CreateApp(ctx, a, e)
	ok("CreateApp", e, err)
	_, err = s.CreateApp(ctx, newApp("a2", schemas.AppRegular, "client-a1"), c.event("createApp", "a2", nil))
	refused("CreateApp with a taken client id", err, storage.ErrConflict)
	e = c.event("updateApp", a.ID, nil)
	_, err = s.UpdateApp(ctx, a.ID, func(a *schemas.App) error { a.Name = "Renamed"; return nil }, fixed[*schemas.App](e))
	ok("UpdateApp", e, err)
	_, err = s.UpdateApp(ctx, "noapp", func(a *schemas.App) error { return nil }, fixed[*schemas.App](c.event("updateApp", "noapp", nil)))
	refused("UpdateApp of a missing app", err, storage.ErrNotFound)
	tok := &schemas.APIToken{ID: "t1", Hash: "hash-1", Created: ms(2025, time.May, 1, 0, 0, 0, 0)}
	e = c.event("createApiToken", tok.ID, nil)
	ok("CreateAPIToken", e, s.CreateAPIToken(ctx, tok, e))
	refused("CreateAPIToken with a taken hash", s.CreateAPIToken(ctx, &schemas.APIToken{ID: "t2", Hash: "hash-1"}, c.event("createApiToken", "t2", nil)), storage.ErrConflict)
	e = c.event("deleteApiToken", tok.ID, nil)
	ok("DeleteAPIToken", e, s.DeleteAPIToken(ctx, tok.ID, e))
	refused("DeleteAPIToken of a missing token", s.DeleteAPIToken(ctx, tok.ID, c.event("deleteApiToken", tok.ID, nil)), storage.ErrNotFound)
	e = c.event("deleteApp", a.ID, nil)
	ok("DeleteApp", e, s.DeleteApp(ctx, a.ID, e))
	refused("DeleteApp of a missing app", s.DeleteApp(ctx, a.ID, c.event("deleteApp", a.ID, nil)), storage.ErrNotFound)

	e = c.event("deleteGroup", g.ID, nil)
	ok("DeleteGroup", e, s.DeleteGroup(ctx, g.ID, e))
	e = c.event("deleteUser", u2.ID, nil)
	ok("DeleteUser", e, s.DeleteUser(ctx, u2.ID, e))

	// Every change has its event, no refusal left one.
	if got := storedEvents(t, s); !slices.Equal(got, want) {
		t.Errorf("stored events %v\nwant exactly the events of the changes made %v", got, want)
	}
}

// unstorable returns an event whose change value no backend can store.
func unstorable(c *auditClock, action, target string) *schemas.Event {
	return c.event(action, target, map[string]schemas.Change{"bad": {Current: make(chan int)}})
}

func testEventWriteFailureStopsChange(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	var c auditClock
	u1, u2 := NewUser(1), NewUser(2)
	mustCreateUser(t, s, u1)
	g := mustCreateGroup(t, s, newGroup("g1", "Engineering"))
	mustCreateApp(t, s, newApp("a1", schemas.AppRegular, "client-a1"))
	before := storedEvents(t, s)
	fails := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s with an event that cannot be stored succeeded", what)
		}
	}

	_, err := s.CreateUser(ctx, u2, unstorable(&c, "createUser", u2.ID))
	fails("CreateUser", err)
	_, err = s.GetUser(ctx, u2.ID)
	assertErr(t, "GetUser after the failed create", err, storage.ErrNotFound)

	_, err = s.UpdateUser(ctx, u1.ID, 0, func(u *schemas.User) error { u.Title = "changed"; return nil },
		fixed[*schemas.User](unstorable(&c, "adminUpdateUser", u1.ID)))
	fails("UpdateUser", err)
	assertUser(t, "user after the failed update", withVersion(u1, 1), mustGetUser(t, s, u1.ID))

	fails("AddMembers", AddMembers(ctx, s, g.ID, []string{u1.ID}, unstorable(&c, "addGroupMembers", g.ID)))
	assertMembers(t, s, g.ID)
	_, err = s.UpdateGroup(ctx, g.ID, 0, func(g *schemas.Group) error { g.Description = "changed"; return nil },
		fixed[*schemas.Group](unstorable(&c, "updateGroup", g.ID)))
	fails("UpdateGroup", err)
	assertEqual(t, "group after the failed update", g, mustGetGroup(t, s, g.ID))
	fails("DeleteGroup", s.DeleteGroup(ctx, g.ID, unstorable(&c, "deleteGroup", g.ID)))
	mustGetGroup(t, s, g.ID)

	fails("DeleteUser", s.DeleteUser(ctx, u1.ID, unstorable(&c, "deleteUser", u1.ID)))
	assertUser(t, "user after the failed delete", withVersion(u1, 1), mustGetUser(t, s, u1.ID))
	fails("DeleteApp", s.DeleteApp(ctx, "a1", unstorable(&c, "deleteApp", "a1")))
	if _, err := s.GetApp(ctx, "a1"); err != nil {
		t.Errorf("GetApp after the failed delete: %v", err)
	}
	fails("CreateAPIToken", s.CreateAPIToken(ctx, &schemas.APIToken{ID: "t1", Hash: "h1"}, unstorable(&c, "createApiToken", "t1")))
	if _, err := s.FindAPIToken(ctx, "h1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("FindAPIToken after the failed create: %v, want ErrNotFound", err)
	}

	if got := storedEvents(t, s); !slices.Equal(got, before) {
		t.Errorf("events after the failed writes %v, want those before %v", got, before)
	}
}

// testConcurrentAuditedUpdates races updates of one user, each recording the
// counter it moved: the stored events must be exactly one per committed
// version, each built from the versions actually committed (a chain 0→1→…→n
// with no gap and no repeat), however often a backend retried.
func testConcurrentAuditedUpdates(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const workers, each = 10, 10
	u := NewUser(1)
	mustCreateUser(t, s, u)
	var c auditClock
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				base := c.event("adminUpdateUser", u.ID, nil)
				_, err := s.UpdateUser(ctx, u.ID, 0, increment("counter"), func(prev, cur *schemas.User) *schemas.Event {
					p, _ := counterOf(prev.CustomData, "counter")
					n, _ := counterOf(cur.CustomData, "counter")
					e := *base
					e.Changes = map[string]schemas.Change{"counter": {Prev: strconv.FormatInt(p, 10), Current: strconv.FormatInt(n, 10)}}
					return &e
				})
				if err != nil {
					t.Errorf("UpdateUser: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	p, err := s.ListEvents(ctx, storage.EventQuery{TargetID: u.ID, Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if p.Total != workers*each {
		t.Errorf("%d audited updates stored %d events", workers*each, p.Total)
	}
	next := map[string]string{}
	for _, e := range p.Items {
		ch := e.Changes["counter"]
		prev, _ := ch.Prev.(string)
		cur, _ := ch.Current.(string)
		if _, dup := next[prev]; dup {
			t.Errorf("two events record the update from counter %s", prev)
		}
		next[prev] = cur
	}
	for i := range workers * each {
		from, to := strconv.Itoa(i), strconv.Itoa(i+1)
		if next[from] != to {
			t.Errorf("the event of the update from counter %s records %q, want %s", from, next[from], to)
		}
	}
}

// testDamagedEvent stores one record the backend cannot decode among good
// ones: listing (filtered or not, paged or not) still answers, returns the
// damaged record with its head and Damaged set, and the others in full.
func testDamagedEvent(t *testing.T, h *harness) {
	if h.b.StoreDamagedEvent == nil {
		t.Fatal("Backend.StoreDamagedEvent is nil: the backend must provide it")
	}
	s, ctx := h.s, t.Context()
	var c auditClock
	e1 := c.event("adminUpdateUser", "u1", map[string]schemas.Change{"title": {Prev: "a", Current: "b"}})
	bad := c.event("adminUpdateUser", "u2", map[string]schemas.Change{"custom_data": {Current: "x"}})
	e3 := c.event("deleteUser", "u2", nil)
	if err := s.AppendEvent(ctx, e1); err != nil {
		t.Fatal(err)
	}
	h.b.StoreDamagedEvent(t, s, bad)
	if err := s.AppendEvent(ctx, e3); err != nil {
		t.Fatal(err)
	}
	check := func(name string, q storage.EventQuery, want ...*schemas.Event) {
		t.Helper()
		p, err := s.ListEvents(ctx, q)
		if err != nil {
			t.Fatalf("ListEvents(%s) with a damaged record: %v", name, err)
		}
		if len(p.Items) != len(want) {
			t.Fatalf("ListEvents(%s): %d events, want %d", name, len(p.Items), len(want))
		}
		for i, w := range want {
			got := p.Items[i]
			if w != bad {
				assertEqual(t, "ListEvents("+name+") good event", w, got)
				continue
			}
			if got.Damaged == "" {
				t.Errorf("ListEvents(%s): the damaged record came back without Damaged: %+v", name, got)
			}
			if got.ID != bad.ID || !got.Time.Equal(bad.Time) {
				t.Errorf("ListEvents(%s): damaged record has id %q time %v, want %q %v", name, got.ID, got.Time, bad.ID, bad.Time)
			}
			if got.Action != bad.Action || got.TargetID != bad.TargetID || got.ActorID != bad.ActorID {
				t.Errorf("ListEvents(%s): damaged record lost its head: %+v", name, got)
			}
		}
	}
	check("all", storage.EventQuery{Limit: storage.Unlimited}, e3, bad, e1)
	check("page over it", storage.EventQuery{Offset: 1, Limit: 1}, bad)
	check("target", storage.EventQuery{TargetID: "u2", Limit: storage.Unlimited}, e3, bad)
	check("action", storage.EventQuery{Action: "adminUpdateUser", Limit: storage.Unlimited}, bad, e1)
	check("time range", storage.EventQuery{Since: bad.Time, Until: e3.Time, Limit: storage.Unlimited}, bad)
}

// testPruneEvents: PruneEvents deletes only events older than the cut-off,
// oldest first, at most limit at a time, and reports how many.
func testPruneEvents(t *testing.T, h *harness) {
	ctx := t.Context()
	var c auditClock
	var all []*schemas.Event
	for range 5 {
		e := c.event("failedLogin", "u1", nil)
		all = append(all, e)
		if err := h.s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	cut := all[3].Time // events 0, 1 and 2 are older
	if n, err := h.s.PruneEvents(ctx, cut, 0); err != nil || n != 0 {
		t.Fatalf("PruneEvents limit 0 = %d, %v; want 0", n, err)
	}
	if n, err := h.s.PruneEvents(ctx, cut, 2); err != nil || n != 2 {
		t.Fatalf("PruneEvents limit 2 = %d, %v; want 2", n, err)
	}
	if got, want := storedEvents(t, h.s), []string{all[2].ID, all[3].ID, all[4].ID}; !slices.Equal(got, want) {
		t.Fatalf("after the first batch: %v, want %v (the oldest go first)", got, want)
	}
	if n, err := h.s.PruneEvents(ctx, cut, 100); err != nil || n != 1 {
		t.Fatalf("PruneEvents second batch = %d, %v; want 1", n, err)
	}
	if n, err := h.s.PruneEvents(ctx, cut, 100); err != nil || n != 0 {
		t.Fatalf("PruneEvents with nothing old left = %d, %v; want 0", n, err)
	}
	if got, want := storedEvents(t, h.s), []string{all[3].ID, all[4].ID}; !slices.Equal(got, want) {
		t.Fatalf("after pruning: %v, want %v (the event at the cut-off stays)", got, want)
	}
}

// testEventsByTargetAndActor: listing events by target, by actor, by both, or
// with an action too — with time bounds and pages — answers exactly what the
// unfiltered listing filtered by hand does, after appends out of time order,
// events sharing an instant, ids that prefix one another, after pruning and
// after a reopen (a backend may answer these queries from indexes).
func testEventsByTargetAndActor(t *testing.T, h *harness) {
	ctx := t.Context()
	base := ms(2025, time.June, 1, 0, 0, 0, 0)
	// UUIDs in the canonical form and another (a backend may store them apart).
	const uuid, upper = "01907c4e-8b2a-7c3d-9e4f-a1b2c3d4e5f6", "01907C4E-8B2A-7C3D-9E4F-A1B2C3D4E5F6"
	targets := []string{"t1", "t10", uuid, "", "t1", upper}
	actors := []string{"a1", uuid, "", "a2"}
	actions := []string{"createUser", "updateUser", "deleteUser"}
	const n = 90
	var all []*schemas.Event
	for i := range n {
		all = append(all, &schemas.Event{
			ID: fmt.Sprintf("%08x-0000-7000-8000-%012x", (i*37)%n, i%2), // UUIDs not in time order

			// Every third event shares its instant with the one before.
			Time:     base.Add(time.Duration(i-i/3) * time.Second),
			ActorID:  actors[i%len(actors)],
			Action:   actions[(i/2)%len(actions)],
			TargetID: targets[(i*7)%len(targets)], TargetType: "user", ActorType: "app",
		})
	}
	for _, i := range rotate(n) {
		if err := h.s.AppendEvent(ctx, cloneEvent(all[i])); err != nil {
			t.Fatalf("AppendEvent(%s): %v", all[i].ID, err)
		}
	}
	bounds := []struct{ since, until time.Time }{
		{},
		{since: all[30].Time},
		{until: all[61].Time},
		{since: all[19].Time, until: all[70].Time},
		{since: all[89].Time.Add(time.Second)},
	}
	pages := [][2]int{{0, storage.Unlimited}, {0, 4}, {3, 5}, {2, 0}}
	compare := func(stage string) {
		t.Helper()
		full, err := h.s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
		if err != nil {
			t.Fatalf("%s: ListEvents(all): %v", stage, err)
		}
		var queries []storage.EventQuery
		for _, tg := range []string{"t1", "t10", uuid, upper, "nobody"} {
			queries = append(queries, storage.EventQuery{TargetID: tg}, storage.EventQuery{TargetID: tg, ActorID: "a1"}, storage.EventQuery{TargetID: tg, ActorID: uuid},
				storage.EventQuery{TargetID: tg, Action: "updateUser"})
		}
		for _, a := range []string{"a1", uuid, "a2", "nobody"} {
			queries = append(queries, storage.EventQuery{ActorID: a}, storage.EventQuery{ActorID: a, Action: "deleteUser"})
		}
		for _, base := range queries {
			for _, b := range bounds {
				for _, p := range pages {
					q := base
					q.Since, q.Until, q.Offset, q.Limit = b.since, b.until, p[0], p[1]
					var want []string
					for _, e := range full.Items {
						if (q.TargetID == "" || e.TargetID == q.TargetID) && (q.ActorID == "" || e.ActorID == q.ActorID) &&
							(q.Action == "" || e.Action == q.Action) && (q.Since.IsZero() || !e.Time.Before(q.Since)) &&
							(q.Until.IsZero() || e.Time.Before(q.Until)) {
							want = append(want, e.ID)
						}
					}
					total := len(want)
					want = want[min(q.Offset, len(want)):]
					if q.Limit != storage.Unlimited && q.Limit < len(want) {
						want = want[:q.Limit]
					}
					got, err := h.s.ListEvents(ctx, q)
					if err != nil {
						t.Fatalf("%s: ListEvents(%+v): %v", stage, q, err)
					}
					var ids []string
					for _, e := range got.Items {
						ids = append(ids, e.ID)
					}
					if got.Total != total || !slices.Equal(ids, want) {
						t.Fatalf("%s: ListEvents(%+v) = %v (total %d), the unfiltered listing gives %v (total %d)", stage, q, ids, got.Total, want, total)
					}
				}
			}
		}
	}
	compare("after appending")
	cut := all[40].Time
	for {
		m, err := h.s.PruneEvents(ctx, cut, 7)
		if err != nil {
			t.Fatalf("PruneEvents: %v", err)
		}
		if m < 7 {
			break
		}
	}
	kept := 0
	for _, e := range all {
		if !e.Time.Before(cut) {
			kept++
		}
	}
	if got := len(storedEvents(t, h.s)); got != kept {
		t.Fatalf("after pruning: %d events, want %d", got, kept)
	}
	compare("after pruning")
	if h.b.Reopen != nil {
		h.reopen(t)
		compare("after reopening")
	}
}

// rotate returns 0..n-1 in an order that is not time order: odd positions
// first, backwards, then even ones.
func rotate(n int) []int {
	var out []int
	for i := n - 1; i >= 0; i-- {
		if i%2 == 1 {
			out = append(out, i)
		}
	}
	for i := 0; i < n; i += 2 {
		out = append(out, i)
	}
	return out
}
