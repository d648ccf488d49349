package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

func newGroup(id, name string) *schemas.Group {
	t0 := ms(2024, time.February, 1, 9, 0, 0, 0)
	return &schemas.Group{
		ID:          id,
		DisplayName: name,
		ExternalID:  "ext-" + id,
		Description: "The " + name + " group",
		CustomData:  mustNormalizeJSON(map[string]any{"costCenter": json.Number("4130"), "tags": []any{"a", "b"}, "owner": map[string]any{"id": "u1"}}),
		Created:     t0,
		Updated:     t0.Add(time.Minute),
	}
}

func testGroupCRUD(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	in := newGroup("g1", "Engineering")
	arg := in.Clone()
	created, err := s.CreateGroup(ctx, arg, nil)
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	want := in.Clone()
	want.Version = 1
	assertEqual(t, "CreateGroup result", want, created)
	arg.CustomData["owner"] = "mutated"
	arg.DisplayName = "mutated"
	created.CustomData["tags"] = "mutated"
	got := mustGetGroup(t, s, "g1")
	assertEqual(t, "GetGroup", want, got)
	got.CustomData["costCenter"] = "mutated"
	assertEqual(t, "GetGroup after mutating returned values", want, mustGetGroup(t, s, "g1"))

	// Minimal group.
	mustCreateGroup(t, s, &schemas.Group{ID: "g2"})
	assertEqual(t, "GetGroup (only id)", &schemas.Group{ID: "g2", Version: 1}, mustGetGroup(t, s, "g2"))

	updated, err := s.UpdateGroup(ctx, "g1", 1, func(g *schemas.Group) error {
		g.DisplayName = "Platform Engineering"
		g.Description = ""
		g.CustomData["tags"] = []any{"c"}
		g.Updated = g.Updated.Add(time.Hour)
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	want.Version = 2
	want.DisplayName = "Platform Engineering"
	want.Description = ""
	want.CustomData["tags"] = []any{"c"}
	want.Updated = want.Updated.Add(time.Hour)
	assertEqual(t, "UpdateGroup result", want, updated)
	assertEqual(t, "GetGroup after update", want, mustGetGroup(t, s, "g1"))

	if err := s.DeleteGroup(ctx, "g1", nil); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	_, err = s.GetGroup(ctx, "g1")
	assertErr(t, "GetGroup after delete", err, storage.ErrNotFound)
	assertErr(t, "DeleteGroup twice", s.DeleteGroup(ctx, "g1", nil), storage.ErrNotFound)
	_, err = s.UpdateGroup(ctx, "g1", 0, func(*schemas.Group) error { return nil }, nil)
	assertErr(t, "UpdateGroup after delete", err, storage.ErrNotFound)
	_, err = s.GroupMemberIDs(ctx, "g1")
	assertErr(t, "GroupMemberIDs after delete", err, storage.ErrNotFound)
	p, err := s.ListGroups(ctx, storage.Query{Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	if p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != "g2" {
		t.Errorf("ListGroups after delete: total %d, ids %v; want [g2]", p.Total, groupIDsOf(p.Items))
	}
	// The name is free again.
	mustCreateGroup(t, s, newGroup("g3", "platform engineering"))
}

func testGroupVersion(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	mustCreateGroup(t, s, newGroup("g1", "One"))
	for v := int64(1); v <= 3; v++ {
		g, err := s.UpdateGroup(ctx, "g1", v, func(g *schemas.Group) error { g.Description = "d" + itoa(v); return nil }, nil)
		if err != nil {
			t.Fatalf("UpdateGroup(ifVersion=%d): %v", v, err)
		}
		if g.Version != v+1 {
			t.Errorf("UpdateGroup(ifVersion=%d): Version %d, want %d", v, g.Version, v+1)
		}
	}
	called := false
	_, err := s.UpdateGroup(ctx, "g1", 2, func(g *schemas.Group) error { called = true; g.Description = "stale"; return nil }, nil)
	assertErr(t, "UpdateGroup with a stale ifVersion", err, storage.ErrVersionMismatch)
	if called {
		t.Error("UpdateGroup with a stale ifVersion called the updater")
	}
	if g := mustGetGroup(t, s, "g1"); g.Version != 4 || g.Description != "d3" {
		t.Errorf("group after a stale update: v%d %q, want v4 d3", g.Version, g.Description)
	}
}

func testUniqueGroup(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	mustCreateGroup(t, s, newGroup("g1", "Engineering"))
	for i, name := range []string{"Engineering", "ENGINEERING", "engineering", "eNgInEeRiNg"} {
		_, err := s.CreateGroup(ctx, newGroup("gx"+itoa(int64(i)), name), nil)
		assertConflict(t, "CreateGroup("+name+")", err, storage.FieldDisplayName)
	}
	mustCreateGroup(t, s, newGroup("g2", "Sales"))
	mustCreateGroup(t, s, newGroup("g3", "Engineering Managers"))

	// Renaming into a taken name conflicts and changes nothing.
	_, err := s.UpdateGroup(ctx, "g2", 0, func(g *schemas.Group) error { g.DisplayName = "ENGINEERING"; return nil }, nil)
	assertConflict(t, "UpdateGroup renaming into a taken displayName", err, storage.FieldDisplayName)
	if g := mustGetGroup(t, s, "g2"); g.DisplayName != "Sales" || g.Version != 1 {
		t.Errorf("group after a conflicting rename: %q v%d, want Sales v1", g.DisplayName, g.Version)
	}
	// Re-casing its own name is fine; renaming frees the old name.
	if _, err := s.UpdateGroup(ctx, "g1", 0, func(g *schemas.Group) error { g.DisplayName = "ENGINEERING"; return nil }, nil); err != nil {
		t.Errorf("UpdateGroup re-casing its own displayName: %v", err)
	}
	if _, err := s.UpdateGroup(ctx, "g1", 0, func(g *schemas.Group) error { g.DisplayName = "R&D"; return nil }, nil); err != nil {
		t.Errorf("UpdateGroup renaming: %v", err)
	}
	mustCreateGroup(t, s, newGroup("g4", "engineering"))
	// Deleting frees the name.
	if err := s.DeleteGroup(ctx, "g2", nil); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	mustCreateGroup(t, s, newGroup("g5", "SALES"))
	// Groups without a displayName can be many, and externalId is not unique for groups.
	a, b := newGroup("g6", ""), newGroup("g7", "")
	b.ExternalID = a.ExternalID
	mustCreateGroup(t, s, a)
	mustCreateGroup(t, s, b)
}

// ---- membership ----

func setupMembership(t *testing.T, s storage.Store, users, groups int) {
	t.Helper()
	for i := 1; i <= users; i++ {
		mustCreateUser(t, s, NewUser(i))
	}
	for i := 1; i <= groups; i++ {
		mustCreateGroup(t, s, newGroup("g"+itoa(int64(i)), "Group "+itoa(int64(i))))
	}
}

func uid(i int) string { return NewUser(i).ID }

func testMembership(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	setupMembership(t, s, 6, 2)
	assertMembers(t, s, "g1")

	// Add in unsorted order; members come back sorted.
	if err := AddMembers(ctx, s, "g1", []string{uid(3), uid(1), uid(5)}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	assertMembers(t, s, "g1", uid(1), uid(3), uid(5))
	assertGroupIDs(t, s, uid(1), "g1")
	assertGroupIDs(t, s, uid(2))
	for _, i := range []int{1, 3, 5} {
		assertVersion(t, s, uid(i), 2)
	}
	for _, i := range []int{2, 4, 6} {
		assertVersion(t, s, uid(i), 1)
	}
	// The rest of a member's document is unchanged.
	want := withVersion(NewUser(3), 2)
	want.GroupIDs = []string{"g1"}
	assertUser(t, "member after AddMembers", want, mustGetUser(t, s, uid(3)))

	// Idempotent: re-adding members changes nothing (no new versions), the new one is added.
	if err := AddMembers(ctx, s, "g1", []string{uid(1), uid(3), uid(2), uid(2)}, nil); err != nil {
		t.Fatalf("AddMembers (again): %v", err)
	}
	assertMembers(t, s, "g1", uid(1), uid(2), uid(3), uid(5))
	assertVersion(t, s, uid(1), 2)
	assertVersion(t, s, uid(3), 2)
	assertVersion(t, s, uid(2), 2)
	assertGroupIDs(t, s, uid(2), "g1")
	if err := AddMembers(ctx, s, "g1", nil, nil); err != nil {
		t.Errorf("AddMembers(no users): %v", err)
	}

	// A second group.
	if err := AddMembers(ctx, s, "g2", []string{uid(1), uid(6)}, nil); err != nil {
		t.Fatalf("AddMembers(g2): %v", err)
	}
	assertMembers(t, s, "g2", uid(1), uid(6))
	assertGroupIDs(t, s, uid(1), "g1", "g2")
	assertVersion(t, s, uid(1), 3)

	// GroupMembers: the members with their names, in id order.
	ms, err := s.GroupMembers(ctx, "g1")
	if err != nil {
		t.Fatalf("GroupMembers: %v", err)
	}
	var wantMs []storage.Member
	for _, i := range []int{1, 2, 3, 5} {
		u := NewUser(i)
		wantMs = append(wantMs, storage.Member{ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName})
	}
	assertEqual(t, "GroupMembers", wantMs, ms)
	if ms, err := s.GroupMembers(ctx, "g2"); err != nil || len(ms) != 2 || ms[0].ID != uid(1) || ms[1].ID != uid(6) {
		t.Errorf("GroupMembers(g2) = %v, %v; want %s and %s", ms, err, uid(1), uid(6))
	}
	_, err = s.GroupMembers(ctx, "nope")
	assertErr(t, "GroupMembers of an unknown group", err, storage.ErrNotFound)

	// ListUsers by group, through both filter spellings.
	for _, expr := range []string{`groups eq "g1"`, `groups.value eq "g1"`} {
		f := mustFilter(t, expr, scimOpts())
		p, err := s.ListUsers(ctx, storage.Query{Filter: f, Limit: storage.Unlimited})
		if err != nil {
			t.Fatalf("ListUsers(%s): %v", expr, err)
		}
		assertIDs(t, "ListUsers("+expr+")", []string{uid(1), uid(2), uid(3), uid(5)}, userIDs(p.Items))
		if p.Total != 4 {
			t.Errorf("ListUsers(%s): Total %d, want 4", expr, p.Total)
		}
	}
	checkListUsers(t, s, `groups eq "g2"`, scimOpts(), nil, []string{uid(1), uid(6)})
	checkListUsers(t, s, `groups eq "g1" and groups eq "g2"`, scimOpts(), nil, []string{uid(1)})
	checkListUsers(t, s, `not (groups pr)`, scimOpts(), nil, []string{uid(4)})

	// RemoveMembers ignores non-members and unknown users.
	if err := RemoveMembers(ctx, s, "g1", []string{uid(3), uid(4), "u99999999"}, nil); err != nil {
		t.Fatalf("RemoveMembers: %v", err)
	}
	assertMembers(t, s, "g1", uid(1), uid(2), uid(5))
	assertGroupIDs(t, s, uid(3))
	assertVersion(t, s, uid(3), 3)
	assertVersion(t, s, uid(4), 1) // not a member: untouched
	assertGroupIDs(t, s, uid(1), "g1", "g2")
	if err := RemoveMembers(ctx, s, "g1", []string{uid(3)}, nil); err != nil {
		t.Errorf("RemoveMembers of a non-member: %v", err)
	}
	assertVersion(t, s, uid(3), 3)
	checkListUsers(t, s, `groups eq "g1"`, scimOpts(), nil, []string{uid(1), uid(2), uid(5)})

	// Removing from one group leaves the other.
	if err := RemoveMembers(ctx, s, "g2", []string{uid(1)}, nil); err != nil {
		t.Fatalf("RemoveMembers(g2): %v", err)
	}
	assertGroupIDs(t, s, uid(1), "g1")
	assertMembers(t, s, "g2", uid(6))

	// Updating a user's other fields keeps its memberships.
	mustUpdateUser(t, s, uid(1), func(u *schemas.User) error { u.NickName = "x"; return nil })
	assertGroupIDs(t, s, uid(1), "g1")
	assertMembers(t, s, "g1", uid(1), uid(2), uid(5))

	// Renaming a group keeps its members.
	if _, err := s.UpdateGroup(ctx, "g1", 0, func(g *schemas.Group) error { g.DisplayName = "Renamed"; return nil }, nil); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	assertMembers(t, s, "g1", uid(1), uid(2), uid(5))
}

func testMembershipUnknown(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	setupMembership(t, s, 3, 1)

	// An unknown user: ErrNotFound and nothing added, not even the known users.
	err := AddMembers(ctx, s, "g1", []string{uid(1), "u99999999", uid(2)}, nil)
	assertErr(t, "AddMembers with an unknown user", err, storage.ErrNotFound)
	assertMembers(t, s, "g1")
	for i := 1; i <= 3; i++ {
		assertGroupIDs(t, s, uid(i))
		assertVersion(t, s, uid(i), 1)
	}
	// An unknown group.
	assertErr(t, "AddMembers to an unknown group", AddMembers(ctx, s, "nope", []string{uid(1)}, nil), storage.ErrNotFound)
	assertGroupIDs(t, s, uid(1))
	assertVersion(t, s, uid(1), 1)
	assertErr(t, "RemoveMembers from an unknown group", RemoveMembers(ctx, s, "nope", []string{uid(1)}, nil), storage.ErrNotFound)
	_, err = s.GroupMemberIDs(ctx, "nope")
	assertErr(t, "GroupMemberIDs of an unknown group", err, storage.ErrNotFound)

	// Partially-existing membership plus an unknown user: still nothing changes.
	if err := AddMembers(ctx, s, "g1", []string{uid(1)}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	err = AddMembers(ctx, s, "g1", []string{uid(1), uid(3), "u99999999"}, nil)
	assertErr(t, "AddMembers with an unknown user (second time)", err, storage.ErrNotFound)
	assertMembers(t, s, "g1", uid(1))
	assertVersion(t, s, uid(1), 2)
	assertVersion(t, s, uid(3), 1)
	assertGroupIDs(t, s, uid(3))
}

func testMembershipDeleteUser(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	setupMembership(t, s, 3, 2)
	for _, g := range []string{"g1", "g2"} {
		if err := AddMembers(ctx, s, g, []string{uid(1), uid(2), uid(3)}, nil); err != nil {
			t.Fatalf("AddMembers(%s): %v", g, err)
		}
	}
	if err := s.DeleteUser(ctx, uid(2), nil); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	assertMembers(t, s, "g1", uid(1), uid(3))
	assertMembers(t, s, "g2", uid(1), uid(3))
	checkListUsers(t, s, `groups eq "g1"`, scimOpts(), nil, []string{uid(1), uid(3)})
	// Re-creating the id does not resurrect the membership.
	mustCreateUser(t, s, NewUser(2))
	assertMembers(t, s, "g1", uid(1), uid(3))
	assertGroupIDs(t, s, uid(2))
	// Removing the (new, non-member) user is a no-op.
	if err := RemoveMembers(ctx, s, "g1", []string{uid(2)}, nil); err != nil {
		t.Errorf("RemoveMembers: %v", err)
	}
	assertVersion(t, s, uid(2), 1)
}

func testMembershipDeleteGroup(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	setupMembership(t, s, 4, 2)
	if err := AddMembers(ctx, s, "g1", []string{uid(1), uid(2), uid(3)}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	if err := AddMembers(ctx, s, "g2", []string{uid(1)}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	// Versions now: u1 3, u2 2, u3 2, u4 1.
	if err := s.DeleteGroup(ctx, "g1", nil); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	assertGroupIDs(t, s, uid(1), "g2")
	assertGroupIDs(t, s, uid(2))
	assertGroupIDs(t, s, uid(3))
	// Every member's document changed, so each has a new version; others keep theirs.
	assertVersion(t, s, uid(1), 4)
	assertVersion(t, s, uid(2), 3)
	assertVersion(t, s, uid(3), 3)
	assertVersion(t, s, uid(4), 1)
	assertMembers(t, s, "g2", uid(1))
	_, err := s.GroupMemberIDs(ctx, "g1")
	assertErr(t, "GroupMemberIDs of a deleted group", err, storage.ErrNotFound)
	checkListUsers(t, s, `groups eq "g1"`, scimOpts(), nil, []string{})
	// A new group with the same id starts empty.
	mustCreateGroup(t, s, newGroup("g1", "Group 1"))
	assertMembers(t, s, "g1")
	if err := AddMembers(ctx, s, "g1", []string{uid(4)}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	assertMembers(t, s, "g1", uid(4))
	// The deleted group's users are whole.
	want := withVersion(NewUser(2), 3)
	assertUser(t, "former member", want, mustGetUser(t, s, uid(2)))
}

// AddMembers makes the users members of the group with one PatchGroup "add"
// operation, committing e (when not nil) if the membership changes.
func AddMembers(ctx context.Context, s storage.Store, group string, ids []string, e *schemas.Event) error {
	return patchMembers(ctx, s, group, "add", ids, e)
}

// RemoveMembers removes the users from the group with one PatchGroup
// "remove" operation, committing e (when not nil) if the membership changes.
func RemoveMembers(ctx context.Context, s storage.Store, group string, ids []string, e *schemas.Event) error {
	return patchMembers(ctx, s, group, "remove", ids, e)
}

func patchMembers(ctx context.Context, s storage.Store, group, op string, ids []string, e *schemas.Event) error {
	_, err := s.PatchGroup(ctx, group, storage.GroupChange{Members: []storage.MemberOp{{Op: op, IDs: ids}}, At: e0},
		fixedEvents(e))
	return err
}

// e0 is the time of the membership changes of AddMembers and RemoveMembers:
// before every group's Updated, so that those changes leave it alone.
var e0 = ms(2000, time.January, 1, 0, 0, 0, 0)

// fixedEvents is the GroupAudit committing e (none when nil).
func fixedEvents(e *schemas.Event) storage.GroupAudit {
	return func(_, _ *schemas.Group, _, _ []string) []*schemas.Event {
		if e == nil {
			return nil
		}
		return []*schemas.Event{e}
	}
}

func testGroupPatch(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	setupMembership(t, s, 5, 2)
	g1 := mustGetGroup(t, s, "g1")
	at := g1.Updated.Add(time.Hour)
	rename := func(name string) func(*schemas.Group) (bool, error) {
		return func(g *schemas.Group) (bool, error) { g.DisplayName = name; return true, nil }
	}
	var checked []int64
	check := func(v int64) error { checked = append(checked, v); return nil }

	// Attributes and members together: one new version of the group, a new
	// version for each user whose membership changed.
	got, err := s.PatchGroup(ctx, "g1", storage.GroupChange{
		Check:   check,
		Apply:   rename("Renamed"),
		Members: []storage.MemberOp{{Op: "add", IDs: []string{uid(3), uid(1), uid(2)}}, {Op: "remove", IDs: []string{uid(2), uid(5), "u99999999"}}},
		At:      at,
	}, nil)
	if err != nil {
		t.Fatalf("PatchGroup: %v", err)
	}
	want := g1.Clone()
	want.Version, want.DisplayName, want.Updated = 2, "Renamed", at
	assertEqual(t, "PatchGroup result", want, got)
	assertEqual(t, "group after PatchGroup", want, mustGetGroup(t, s, "g1"))
	if !slices.Equal(checked, []int64{1}) {
		t.Errorf("Check called with %v, want [1]", checked)
	}
	assertMembers(t, s, "g1", uid(1), uid(3))
	for i, v := range []int64{2, 1, 2, 1, 1} {
		assertVersion(t, s, uid(i+1), v)
	}

	// Members alone: the group gets a new version, and Updated when At is later.
	later := at.Add(time.Minute)
	if _, err := s.PatchGroup(ctx, "g1", storage.GroupChange{Members: []storage.MemberOp{{Op: "add", IDs: []string{uid(4)}}}, At: later}, nil); err != nil {
		t.Fatalf("PatchGroup (add): %v", err)
	}
	want.Version, want.Updated = 3, later
	assertEqual(t, "group after adding a member", want, mustGetGroup(t, s, "g1"))
	if _, err := s.PatchGroup(ctx, "g1", storage.GroupChange{Members: []storage.MemberOp{{Op: "remove", IDs: []string{uid(4)}}}, At: at}, nil); err != nil {
		t.Fatalf("PatchGroup (remove): %v", err)
	}
	want.Version = 4 // Updated stays: At is earlier
	assertEqual(t, "group after removing a member", want, mustGetGroup(t, s, "g1"))
	assertVersion(t, s, uid(4), 3)

	// Nothing changes: no new version, no event.
	audited := false
	got, err = s.PatchGroup(ctx, "g1", storage.GroupChange{
		Apply:   func(*schemas.Group) (bool, error) { return false, nil },
		Members: []storage.MemberOp{{Op: "add", IDs: []string{uid(1)}}, {Op: "remove", IDs: []string{uid(5)}}},
		At:      later.Add(time.Hour),
	}, func(_, _ *schemas.Group, _, _ []string) []*schemas.Event { audited = true; return nil })
	if err != nil {
		t.Fatalf("PatchGroup (no-op): %v", err)
	}
	assertEqual(t, "no-op PatchGroup result", want, got)
	assertEqual(t, "group after a no-op PatchGroup", want, mustGetGroup(t, s, "g1"))
	if audited {
		t.Error("a PatchGroup that changes nothing asked for its events")
	}

	// replace and clear, in order with the others.
	if _, err := s.PatchGroup(ctx, "g1", storage.GroupChange{Members: []storage.MemberOp{
		{Op: "replace", IDs: []string{uid(2), uid(3)}}, {Op: "add", IDs: []string{uid(5)}},
	}}, nil); err != nil {
		t.Fatalf("PatchGroup (replace): %v", err)
	}
	assertMembers(t, s, "g1", uid(2), uid(3), uid(5))
	assertVersion(t, s, uid(1), 3) // removed
	assertVersion(t, s, uid(3), 2) // kept: untouched
	if _, err := s.PatchGroup(ctx, "g1", storage.GroupChange{Members: []storage.MemberOp{
		{Op: "clear"}, {Op: "add", IDs: []string{uid(1)}},
	}}, nil); err != nil {
		t.Fatalf("PatchGroup (clear): %v", err)
	}
	assertMembers(t, s, "g1", uid(1))
	assertGroupIDs(t, s, uid(3))
	assertMembers(t, s, "g2")

	// A rename into a taken name conflicts and changes nothing.
	before := mustGetGroup(t, s, "g1")
	_, err = s.PatchGroup(ctx, "g1", storage.GroupChange{Apply: rename("GROUP 2"), Members: []storage.MemberOp{{Op: "add", IDs: []string{uid(2)}}}}, nil)
	assertConflict(t, "PatchGroup renaming into a taken displayName", err, storage.FieldDisplayName)
	assertEqual(t, "group after a conflicting PatchGroup", before, mustGetGroup(t, s, "g1"))
	assertMembers(t, s, "g1", uid(1))

	_, err = s.PatchGroup(ctx, "nope", storage.GroupChange{Members: []storage.MemberOp{{Op: "remove", IDs: []string{uid(1)}}}}, nil)
	assertErr(t, "PatchGroup of an unknown group", err, storage.ErrNotFound)
}

// testGroupPatchRefused: a PatchGroup that is refused — an unknown member
// to add, a failed If-Match, the updater's error, an unknown operation —
// changes neither the group's attributes nor its members nor any user.
func testGroupPatchRefused(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	setupMembership(t, s, 3, 1)
	if err := AddMembers(ctx, s, "g1", []string{uid(1)}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	before := mustGetGroup(t, s, "g1")
	errStale := errors.New("precondition failed")
	errNo := errors.New("updater says no")
	applied := false
	rename := func(g *schemas.Group) (bool, error) { applied = true; g.DisplayName = "Renamed"; return true, nil }
	members := []storage.MemberOp{{Op: "remove", IDs: []string{uid(1)}}, {Op: "add", IDs: []string{uid(2)}}}
	for _, c := range []struct {
		what   string
		ch     storage.GroupChange
		target error
	}{
		{"an unknown member to add", storage.GroupChange{Apply: rename, Members: append(members, storage.MemberOp{Op: "add", IDs: []string{uid(3), "u99999999"}})}, storage.ErrNotFound},
		{"an unknown member to set", storage.GroupChange{Apply: rename, Members: append(members, storage.MemberOp{Op: "replace", IDs: []string{"u99999999"}})}, storage.ErrNotFound},
		{"a failed If-Match", storage.GroupChange{Check: func(v int64) error {
			if v != before.Version+1 {
				return errStale
			}
			return nil
		}, Apply: rename, Members: members}, errStale},
		{"an updater's error", storage.GroupChange{Apply: func(g *schemas.Group) (bool, error) { g.DisplayName = "x"; return true, errNo }, Members: members}, errNo},
	} {
		applied = false
		c.ch.At = before.Updated.Add(time.Hour)
		_, err := s.PatchGroup(ctx, "g1", c.ch, fixedEvents(&schemas.Event{ID: "e-" + c.what, Time: c.ch.At, Action: "updateGroup", TargetID: "g1"}))
		assertErr(t, "PatchGroup with "+c.what, err, c.target)
		assertEqual(t, "group after a PatchGroup with "+c.what, before, mustGetGroup(t, s, "g1"))
		assertMembers(t, s, "g1", uid(1))
		for i := 1; i <= 3; i++ {
			assertVersion(t, s, uid(i), map[bool]int64{true: 2, false: 1}[i == 1])
		}
		if c.target == errStale && applied {
			t.Error("PatchGroup with a failed If-Match called Apply")
		}
	}
	_, err := s.PatchGroup(ctx, "g1", storage.GroupChange{Members: []storage.MemberOp{{Op: "remove", IDs: []string{uid(1)}}, {Op: "drop", IDs: []string{uid(2)}}}}, nil)
	if err == nil {
		t.Error("PatchGroup with an unknown membership operation succeeded")
	}
	assertMembers(t, s, "g1", uid(1))
	if p, err := s.ListEvents(ctx, storage.EventQuery{TargetID: "g1", Limit: storage.Unlimited}); err != nil || len(p.Items) != 0 {
		t.Errorf("events after refused PatchGroups: %d, %v; want none", len(p.Items), err)
	}
}
