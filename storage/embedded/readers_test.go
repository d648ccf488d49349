package embedded

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// stressRun is a run of writer and reader goroutines: the readers read
// until the writers are done, and each goroutine sends its error, if any,
// to errc.
type stressRun struct {
	writers, readers sync.WaitGroup
	done             atomic.Bool // the writers are done
	errc             chan error
}

func newStressRun(writers, readers int) *stressRun {
	return &stressRun{errc: make(chan error, writers+readers)}
}

// finish waits for the writers, then stops the readers and waits for
// them, and fails t with every error sent.
func (r *stressRun) finish(t *testing.T) {
	t.Helper()
	r.writers.Wait()
	r.done.Store(true)
	r.readers.Wait()
	close(r.errc)
	for err := range r.errc {
		t.Error(err)
	}
}

// TestReadersWhileApplying runs readers — user count against records, a
// `co` filter on userName (the search index, its pending postings
// included), GetUser, group members, a user's events — against writers
// that create, rename, add to a group and delete users, with an overlay so
// small that the writer freezes and the applier applies a table every few
// writes. No reader may see a torn state (a count that disagrees with the
// records, a user matched by a name it does not have) nor miss a write
// acknowledged before its read began (a write disappearing and coming back).
// Run it with -race too.
func TestReadersWhileApplying(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{OverlayBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	const writers, readers, users = 3, 3, 60 // users per writer
	if _, err := s.CreateGroup(ctx, &schemas.Group{ID: "g", DisplayName: "g"}, nil); err != nil {
		t.Fatal(err)
	}
	// acked: every acknowledged write, in order, as the state it leaves
	// (name: the user's userName, "" once deleted; member: in g; events: its
	// audit events). A reader takes the state before it reads, and must see
	// at least it (the writes after may or may not be seen).
	type state struct {
		name   string
		member bool
		events int
		kept   bool // never deleted (else a write after the read's state may delete it)
	}
	var mu sync.Mutex
	acked := map[string]state{}
	ack := func(id string, st state) { mu.Lock(); acked[id] = st; mu.Unlock() }
	before := func() map[string]state { mu.Lock(); defer mu.Unlock(); return maps.Clone(acked) }

	run := newStressRun(writers, readers)
	for w := range writers {
		run.writers.Add(1)
		go func() {
			defer run.writers.Done()
			for j := range users {
				id := fmt.Sprintf("w%d-%03d", w, j)
				ev := func(n int) *schemas.Event {
					return &schemas.Event{ID: fmt.Sprintf("%s-e%d", id, n), Time: time.Now().UTC(), Action: "a", TargetID: id}
				}
				name, kept := "stress-"+id, j%3 != 0
				if _, err := s.CreateUser(ctx, &schemas.User{ID: id, UserName: name}, ev(0)); err != nil {
					run.errc <- err
					return
				}
				ack(id, state{name: name, events: 1, kept: kept})
				name = "stress-renamed-" + id
				if _, err := s.UpdateUser(ctx, id, 0, func(u *schemas.User) error { u.UserName = name; return nil },
					func(_, _ *schemas.User) *schemas.Event { return ev(1) }); err != nil {
					run.errc <- err
					return
				}
				ack(id, state{name: name, events: 2, kept: kept})
				e := ev(2)
				if _, err := s.PatchGroup(ctx, "g", storage.GroupChange{Members: []storage.MemberOp{{Op: "add", IDs: []string{id}}}, At: e.Time},
					func(_, _ *schemas.Group, _, _ []string) []*schemas.Event { return []*schemas.Event{e} }); err != nil {
					run.errc <- err
					return
				}
				ack(id, state{name: name, member: true, events: 3, kept: kept})
				if j%3 == 0 {
					if err := s.DeleteUser(ctx, id, ev(3)); err != nil {
						run.errc <- err
						return
					}
					ack(id, state{events: 4})
				}
			}
		}()
	}
	co := mustParse(t, `userName co "stress-"`)
	for r := range readers {
		run.readers.Add(1)
		go func() {
			defer run.readers.Done()
			check := func() error {
				want := before()
				if err := s.readView(consistentView); err != nil {
					return err
				}
				page, err := s.ListUsers(ctx, storage.Query{Filter: co, Limit: storage.Unlimited})
				if err != nil {
					return err
				}
				seen := map[string]bool{}
				for _, u := range page.Items {
					if !strings.Contains(u.UserName, "stress-") {
						return fmt.Errorf("user %s matched `co \"stress-\"` with userName %q", u.ID, u.UserName)
					}
					seen[u.ID] = true
				}
				if page.Total != len(page.Items) {
					return fmt.Errorf("the filter's total is %d, its users %d", page.Total, len(page.Items))
				}
				members, err := s.GroupMemberIDs(ctx, "g")
				if err != nil {
					return err
				}
				for id, st := range want {
					if !st.kept {
						if st.name == "" && seen[id] {
							return fmt.Errorf("user %s, acknowledged deleted before the read, is matched by the filter", id)
						}
						if st.name == "" && slices.Contains(members, id) {
							return fmt.Errorf("user %s, acknowledged deleted before the read, is a member", id)
						}
						continue
					}
					if !seen[id] {
						return fmt.Errorf("user %s, acknowledged before the read, is not matched by the filter", id)
					}
					if st.member && !slices.Contains(members, id) {
						return fmt.Errorf("user %s, acknowledged a member before the read, is not one", id)
					}
				}
				// One user in detail: the reader's own slice of them.
				for id, st := range want {
					if len(id) == 0 || int(id[len(id)-1])%readers != r {
						continue
					}
					u, err := s.GetUser(ctx, id)
					switch {
					case st.name == "" && !errors.Is(err, storage.ErrNotFound):
						return fmt.Errorf("user %s, acknowledged deleted, reads %v", id, err)
					case !st.kept && st.name != "":
						// (it may be deleted since)
					case st.name != "" && err != nil:
						return fmt.Errorf("user %s: %v", id, err)
					case st.name != "" && u.UserName != st.name && u.UserName != "stress-renamed-"+id:
						return fmt.Errorf("user %s reads userName %q, acknowledged %q", id, u.UserName, st.name)
					}
					evs, err := s.ListEvents(ctx, storage.EventQuery{TargetID: id, Limit: storage.Unlimited})
					if err != nil {
						return err
					}
					if len(evs.Items) < st.events {
						return fmt.Errorf("user %s has %d events, %d acknowledged", id, len(evs.Items), st.events)
					}
				}
				return nil
			}
			for n := 0; !run.done.Load() || n < 3; n++ {
				if err := check(); err != nil {
					run.errc <- fmt.Errorf("reader %d, read %d: %w", r, n, err)
					return
				}
			}
		}()
	}
	run.finish(t)
	if err := s.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := consistent(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}
