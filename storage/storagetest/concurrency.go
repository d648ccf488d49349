package storagetest

import (
	"encoding/json"
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

// counterOf reads an integer counter from custom data, whichever number type
// it was decoded as.
func counterOf(m map[string]any, key string) (int64, error) {
	switch v := m[key].(type) {
	case nil:
		return 0, nil
	case json.Number:
		return v.Int64()
	case float64:
		return int64(v), nil
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	default:
		return 0, fmt.Errorf("counter %q has type %T", key, v)
	}
}

func increment(key string) func(u *schemas.User) error {
	return func(u *schemas.User) error {
		n, err := counterOf(u.CustomData, key)
		if err != nil {
			return err
		}
		if u.CustomData == nil {
			u.CustomData = map[string]any{}
		}
		u.CustomData[key] = json.Number(strconv.FormatInt(n+1, 10))
		return nil
	}
}

func testConcurrentUpdates(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const workers, each = 50, 20
	u := NewUser(1)
	mustCreateUser(t, s, u)

	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				got, err := s.UpdateUser(ctx, u.ID, 0, increment("counter"), nil)
				if err != nil {
					t.Errorf("UpdateUser: %v", err)
					return
				}
				n, err := counterOf(got.CustomData, "counter")
				if err != nil {
					t.Errorf("UpdateUser result: %v", err)
					return
				}
				if n != got.Version-1 {
					t.Errorf("UpdateUser result: counter %d with Version %d, want counter = Version-1", n, got.Version)
				}
				mu.Lock()
				if seen[got.Version] {
					t.Errorf("two updates returned Version %d", got.Version)
				}
				seen[got.Version] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	final := mustGetUser(t, s, u.ID)
	n, err := counterOf(final.CustomData, "counter")
	if err != nil {
		t.Fatal(err)
	}
	if n != workers*each || final.Version != workers*each+1 {
		t.Errorf("after %d concurrent increments: counter %d, Version %d; want %d and %d", workers*each, n, final.Version, workers*each, workers*each+1)
	}
	// The rest of the document survived the races.
	want := withVersion(u, final.Version)
	want.CustomData = schemas.CloneJSONObject(u.CustomData)
	want.CustomData["counter"] = json.Number(strconv.Itoa(workers * each))
	assertUser(t, "user after concurrent updates", want, final)

	// Concurrent updates with ifVersion: of the writers naming the same version,
	// exactly one wins.
	var wins, mismatches atomic.Int64
	v := final.Version
	for range 20 {
		wg.Go(func() {
			_, err := s.UpdateUser(ctx, u.ID, v, increment("counter"), nil)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, storage.ErrVersionMismatch):
				mismatches.Add(1)
			default:
				t.Errorf("UpdateUser(ifVersion %d): %v", v, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || mismatches.Load() != 19 {
		t.Errorf("20 concurrent updates with ifVersion %d: %d succeeded, %d got ErrVersionMismatch; want 1 and 19", v, wins.Load(), mismatches.Load())
	}
	assertVersion(t, s, u.ID, v+1)
}

func testConcurrentCreateSameUserName(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 30
	variants := []string{"Race", "RACE", "race", "rAcE"}
	raceCreates(t, s, n, storage.FieldUserName, "one userName", func(i int) *schemas.User {
		return bare(fmt.Sprintf("r%03d", i), func(u *schemas.User) { u.UserName = variants[i%len(variants)] })
	})
	if got := len(allUsers(t, s)); got != 1 {
		t.Errorf("%d users stored, want 1", got)
	}
	if _, err := s.FindUser(ctx, storage.FieldUserName, "race"); err != nil {
		t.Errorf("FindUser(race): %v", err)
	}

	// The same id from many writers: one wins, the others conflict on id.
	raceCreates(t, s, n, storage.FieldID, "one id", func(i int) *schemas.User {
		return bare("same-id", func(u *schemas.User) { u.UserName = fmt.Sprintf("writer-%d", i) })
	})
	// Only the winner's userName is taken.
	winner := mustGetUser(t, s, "same-id")
	taken := 0
	for i := range n {
		if _, err := s.FindUser(ctx, storage.FieldUserName, fmt.Sprintf("writer-%d", i)); err == nil {
			taken++
		}
	}
	if taken != 1 {
		t.Errorf("%d writer userNames are findable, want only the winner's (%s)", taken, winner.UserName)
	}
}

func testConcurrentCreateSameEmail(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 30
	raceCreates(t, s, n, storage.FieldEmail, "one email", func(i int) *schemas.User {
		u := NewUser(i)
		u.Emails[0].Value = []string{"Same@Example.com", "same@example.com", "SAME@EXAMPLE.COM"}[i%3]
		return u
	})
	if got := len(allUsers(t, s)); got != 1 {
		t.Errorf("%d users stored, want 1", got)
	}

	// Concurrent renames of different users into one userName: one wins.
	for i := 100; i < 100+n; i++ {
		mustCreateUser(t, s, NewUser(i))
	}
	raceOne(t, n, storage.FieldUserName, "renames into one userName", func(j int) (string, error) {
		id := uid(100 + j)
		_, err := s.UpdateUser(ctx, id, 0, func(u *schemas.User) error { u.UserName = "Contested"; return nil }, nil)
		return id, err
	})
	checkListUsers(t, s, `userName eq "contested"`, scimOpts(), nil, nil)
	p, err := s.ListUsers(ctx, storage.Query{Filter: mustFilter(t, `userName eq "contested"`, scimOpts()), Limit: storage.Unlimited})
	if err != nil || p.Total != 1 {
		t.Errorf("users named Contested: %d, %v; want 1", p.Total, err)
	}
}

func testConcurrentMembership(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 100
	mustCreateGroup(t, s, newGroup("g1", "Crowd"))
	all := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		mustCreateUser(t, s, NewUser(i))
		all = append(all, uid(i))
	}
	var wg sync.WaitGroup
	// Every user added by its own call, some twice (idempotence under races).
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			ids := []string{uid(i)}
			if i%10 == 0 {
				ids = append(ids, uid(i-1))
			}
			if err := AddMembers(ctx, s, "g1", ids, nil); err != nil {
				t.Errorf("AddMembers(%v): %v", ids, err)
			}
		})
	}
	wg.Wait()
	assertMembers(t, s, "g1", all...)
	for i := 1; i <= n; i++ {
		u := mustGetUser(t, s, uid(i))
		if !slices.Equal(u.GroupIDs, []string{"g1"}) {
			t.Errorf("user %s GroupIDs = %v, want [g1]", u.ID, u.GroupIDs)
		}
		if u.Version != 2 {
			t.Errorf("user %s Version = %d after joining one group once, want 2", u.ID, u.Version)
		}
	}

	// Remove the even users while re-adding the odd ones, concurrently.
	var odd []string
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				err = RemoveMembers(ctx, s, "g1", []string{uid(i)}, nil)
			} else {
				err = AddMembers(ctx, s, "g1", []string{uid(i)}, nil)
			}
			if err != nil {
				t.Errorf("membership change of %s: %v", uid(i), err)
			}
		})
		if i%2 == 1 {
			odd = append(odd, uid(i))
		}
	}
	wg.Wait()
	assertMembers(t, s, "g1", odd...)
	checkListUsers(t, s, `groups eq "g1"`, scimOpts(), nil, odd)
	for i := 1; i <= n; i++ {
		want := []string{"g1"}
		if i%2 == 0 {
			want = nil
		}
		assertGroupIDs(t, s, uid(i), want...)
	}
}

func testConcurrentMembershipOneUser(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 30
	u := NewUser(1)
	mustCreateUser(t, s, u)
	var groups []string
	for i := range n {
		g := fmt.Sprintf("g%02d", i)
		mustCreateGroup(t, s, newGroup(g, "Group "+g))
		groups = append(groups, g)
	}
	// Every group adds the same user while other writers update the user.
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() {
			if err := AddMembers(ctx, s, g, []string{u.ID}, nil); err != nil {
				t.Errorf("AddMembers(%s): %v", g, err)
			}
		})
		wg.Go(func() {
			if _, err := s.UpdateUser(ctx, u.ID, 0, increment("counter"), nil); err != nil {
				t.Errorf("UpdateUser: %v", err)
			}
		})
	}
	wg.Wait()
	got := mustGetUser(t, s, u.ID)
	assertGroupIDs(t, s, u.ID, groups...)
	if c, _ := counterOf(got.CustomData, "counter"); c != n {
		t.Errorf("counter = %d after %d concurrent increments, want %d", c, n, n)
	}
	if got.Version != 2*n+1 {
		t.Errorf("Version = %d after %d memberships and %d updates, want %d", got.Version, n, n, 2*n+1)
	}
	for _, g := range groups {
		assertMembers(t, s, g, u.ID)
	}

	// And every group removes it, again racing updates.
	for _, g := range groups {
		wg.Go(func() {
			if err := RemoveMembers(ctx, s, g, []string{u.ID}, nil); err != nil {
				t.Errorf("RemoveMembers(%s): %v", g, err)
			}
		})
		wg.Go(func() {
			if _, err := s.UpdateUser(ctx, u.ID, 0, increment("counter"), nil); err != nil {
				t.Errorf("UpdateUser: %v", err)
			}
		})
	}
	wg.Wait()
	got = mustGetUser(t, s, u.ID)
	assertGroupIDs(t, s, u.ID)
	if c, _ := counterOf(got.CustomData, "counter"); c != 2*n {
		t.Errorf("counter = %d, want %d", c, 2*n)
	}
	if got.Version != 4*n+1 {
		t.Errorf("Version = %d, want %d", got.Version, 4*n+1)
	}
	for _, g := range groups {
		assertMembers(t, s, g)
	}
}

func testConcurrentTouchAPIToken(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	if err := s.CreateAPIToken(ctx, newToken("t1", "hash-1"), nil); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	base := ms(2025, time.January, 1, 0, 0, 0, 0)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// A scrambled order: the latest time is not the last call.
			at := base.Add(time.Duration((i*37)%n) * time.Second)
			if err := s.TouchAPIToken(ctx, "t1", at); err != nil {
				t.Errorf("TouchAPIToken: %v", err)
			}
		})
	}
	wg.Wait()
	want := base.Add((n - 1) * time.Second)
	if got := findToken(t, s, "hash-1").LastUsedAt; !got.Equal(want) {
		t.Errorf("LastUsedAt after concurrent touches = %v, want the latest, %v", got, want)
	}
}

func testConcurrentSigningKeys(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 20
	base := ms(2024, time.August, 1, 0, 0, 0, 0)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.UpdateSigningKeys(ctx, func(cur []*schemas.SigningKey) ([]*schemas.SigningKey, error) {
				return append(cur, newKey(fmt.Sprintf("k%02d", i), base.Add(time.Duration(i)*time.Hour))), nil
			})
			if err != nil {
				t.Errorf("UpdateSigningKeys: %v", err)
			}
		})
	}
	wg.Wait()
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.ID)
	}
	slices.Sort(got)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("k%02d", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("after %d concurrent key additions: keys %v, want %v", n, got, want)
	}
}

// raceOne runs write(0…n-1) concurrently — n writes that all collide on the
// unique field — and checks that exactly one succeeds and every other fails
// with a conflict naming field. write returns the id it wrote, for messages.
func raceOne(t *testing.T, n int, field, what string, write func(i int) (string, error)) {
	t.Helper()
	raceFields(t, n, what, func(i int) (string, string, error) {
		id, err := write(i)
		return id, field, err
	})
}

// raceFields is raceOne where each write names the field its conflict must
// name: writes that collide on one value through different unique fields.
func raceFields(t *testing.T, n int, what string, write func(i int) (id, field string, err error)) {
	t.Helper()
	var wins, conflicts atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, field, err := write(i)
			switch {
			case err == nil:
				wins.Add(1)
			case storage.ConflictField(err) == field:
				conflicts.Add(1)
			default:
				t.Errorf("write of %s: %v, want success or a %s conflict", id, err, field)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != int64(n-1) {
		t.Errorf("%d concurrent writes of %s: %d won, %d conflicts; want 1 and %d", n, what, wins.Load(), conflicts.Load(), n-1)
	}
}

// raceCreates is raceOne for n users created from newUser.
func raceCreates(t *testing.T, s storage.Store, n int, field, what string, newUser func(i int) *schemas.User) {
	t.Helper()
	raceOne(t, n, field, what, func(i int) (string, error) {
		u := newUser(i)
		_, err := s.CreateUser(t.Context(), u, nil)
		return u.ID, err
	})
}
