package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// snapshot is everything a store holds, read through the Store interface.
type snapshot struct {
	users   []*schemas.User
	groups  []*schemas.Group
	members map[string][]string
	apps    []*schemas.App
	tokens  []*schemas.APIToken
	events  []*schemas.Event
	keys    []*schemas.SigningKey
}

func takeSnapshot(t *testing.T, s storage.Store) snapshot {
	t.Helper()
	ctx := t.Context()
	var sn snapshot
	sn.users = allUsers(t, s)
	gp, err := s.ListGroups(ctx, storage.Query{Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	sn.groups = gp.Items
	sn.members = map[string][]string{}
	for _, g := range sn.groups {
		sn.members[g.ID] = mustMembers(t, s, g.ID)
	}
	if sn.apps, err = s.ListApps(ctx, ""); err != nil {
		t.Fatalf("ListApps: %v", err)
	}
	if sn.tokens, err = s.ListAPITokens(ctx); err != nil {
		t.Fatalf("ListAPITokens: %v", err)
	}
	ep, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	sn.events = ep.Items
	if sn.keys, err = s.SigningKeys(ctx); err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	return sn
}

func assertSnapshot(t *testing.T, what string, want, got snapshot) {
	t.Helper()
	assertIDs(t, what+": user ids", userIDs(want.users), userIDs(got.users))
	if len(want.users) == len(got.users) {
		for i := range want.users {
			assertUser(t, what+": user "+want.users[i].ID, want.users[i], got.users[i])
		}
	}
	assertEqual(t, what+": groups", want.groups, got.groups)
	for g, m := range want.members {
		assertIDs(t, what+": members of "+g, m, got.members[g])
	}
	assertEqual(t, what+": apps", want.apps, got.apps)
	assertEqual(t, what+": API tokens", want.tokens, got.tokens)
	assertEqual(t, what+": events", want.events, got.events)
	assertEqual(t, what+": signing keys", want.keys, got.keys)
}

// populate fills a store with one of everything, with versions above 1,
// memberships, app links and deletions, and returns the expected users.
func populate(t *testing.T, s storage.Store) {
	t.Helper()
	ctx := t.Context()
	full := fullUser("u00000100")
	full.Apps = map[string]*schemas.AppLink{
		"a1": {ExternalAccountID: "acct-100", CustomAppData: edgeJSON(), AssignedAt: ms(2024, time.May, 1, 0, 0, 0, 1)},
	}
	full.CustomData = edgeJSON()
	mustCreateUser(t, s, full)
	for i := 1; i <= 20; i++ {
		mustCreateUser(t, s, NewUser(i))
	}
	for i := 1; i <= 5; i++ {
		mustUpdateUser(t, s, uid(i), func(u *schemas.User) error {
			u.NickName = "v" + itoa(int64(u.Version+1))
			u.LastAuth = ms(2025, time.February, i, 1, 2, 3, 4)
			return nil
		})
	}
	mustCreateGroup(t, s, newGroup("g1", "Engineering"))
	mustCreateGroup(t, s, newGroup("g2", "Sales"))
	mustCreateGroup(t, s, newGroup("g3", "Doomed"))
	if err := AddMembers(ctx, s, "g1", []string{uid(1), uid(2), uid(3), "u00000100"}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	if err := AddMembers(ctx, s, "g2", []string{uid(3), uid(4)}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	if err := AddMembers(ctx, s, "g3", []string{uid(5)}, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	if err := RemoveMembers(ctx, s, "g1", []string{uid(2)}, nil); err != nil {
		t.Fatalf("RemoveMembers: %v", err)
	}
	if _, err := s.UpdateGroup(ctx, "g2", 0, func(g *schemas.Group) error { g.Description = "updated"; return nil }, nil); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if err := s.DeleteGroup(ctx, "g3", nil); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	if err := s.DeleteUser(ctx, uid(20), nil); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}

	mustCreateApp(t, s, newApp("a1", schemas.AppRegular, "client-1"))
	mustCreateApp(t, s, newApp("a2", schemas.AppManagement, "client-2"))
	mustCreateApp(t, s, newApp("a3", schemas.AppRegular, "client-3"))
	if _, err := s.UpdateApp(ctx, "a2", func(a *schemas.App) error { a.Name = "Renamed"; return nil }, nil); err != nil {
		t.Fatalf("UpdateApp: %v", err)
	}
	mustUpdateUser(t, s, uid(6), func(u *schemas.User) error {
		u.Apps = map[string]*schemas.AppLink{"a3": {ExternalAccountID: "gone"}, "a1": {ExternalAccountID: "stays"}}
		return nil
	})
	if err := s.DeleteApp(ctx, "a3", nil); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}

	for _, tok := range []*schemas.APIToken{newToken("t1", "hash-1"), newToken("t2", "hash-2"), newToken("t3", "hash-3")} {
		if err := s.CreateAPIToken(ctx, tok, nil); err != nil {
			t.Fatalf("CreateAPIToken: %v", err)
		}
	}
	if err := s.TouchAPIToken(ctx, "t1", ms(2025, time.March, 3, 3, 3, 3, 3)); err != nil {
		t.Fatalf("TouchAPIToken: %v", err)
	}
	if err := s.DeleteAPIToken(ctx, "t3", nil); err != nil {
		t.Fatalf("DeleteAPIToken: %v", err)
	}
	for i := range 5 {
		e := &schemas.Event{ID: "e" + itoa(int64(i)), Time: ms(2025, time.April, 1, 0, i, 0, i), ActorID: "system", ActorType: "system", Action: "updateUser", TargetID: uid(i + 1), TargetType: "user",
			Changes: map[string]schemas.Change{"nickName": {Prev: "a", Current: "b"}, "active": {Prev: nil, Current: true}}}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatalf("AppendEvent: %v", err)
		}
	}
	err := s.UpdateSigningKeys(ctx, func([]*schemas.SigningKey) ([]*schemas.SigningKey, error) {
		k1 := newKey("k1", ms(2024, time.August, 1, 0, 0, 0, 0))
		k1.NotAfter = ms(2024, time.September, 1, 0, 0, 0, 0)
		return []*schemas.SigningKey{k1, newKey("k2", ms(2024, time.August, 2, 0, 0, 0, 0))}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSigningKeys: %v", err)
	}
}

func testReopen(t *testing.T, h *harness) {
	if h.b.Reopen == nil {
		t.Skip("the backend does not persist (Backend.Reopen is nil)")
	}
	populate(t, h.s)
	before := takeSnapshot(t, h.s)
	// Sanity: the snapshot holds what populate wrote.
	if len(before.users) != 20 || len(before.groups) != 2 || len(before.apps) != 2 || len(before.tokens) != 2 || len(before.events) != 5 || len(before.keys) != 2 {
		t.Fatalf("before reopen: %d users, %d groups, %d apps, %d tokens, %d events, %d keys; want 20, 2, 2, 2, 5, 2",
			len(before.users), len(before.groups), len(before.apps), len(before.tokens), len(before.events), len(before.keys))
	}
	h.reopen(t)
	after := takeSnapshot(t, h.s)
	assertSnapshot(t, "after reopen", before, after)

	// Spot checks with hand-written expectations, independent of the snapshot.
	s := h.s
	assertMembers(t, s, "g1", uid(1), uid(3), "u00000100")
	assertMembers(t, s, "g2", uid(3), uid(4))
	assertGroupIDs(t, s, uid(3), "g1", "g2")
	assertGroupIDs(t, s, uid(5))
	assertVersion(t, s, uid(1), 3) // create, update, AddMembers
	assertVersion(t, s, uid(2), 4) // create, update, AddMembers, RemoveMembers
	assertVersion(t, s, uid(5), 4) // create, update, AddMembers(g3), DeleteGroup(g3)
	assertVersion(t, s, uid(6), 3) // create, update, DeleteApp(a3)
	if u := mustGetUser(t, s, uid(6)); len(u.Apps) != 1 || u.Apps["a1"] == nil || u.Apps["a1"].ExternalAccountID != "stays" {
		t.Errorf("user %s Apps after reopen: %v, want only a1", uid(6), u.Apps)
	}
	full := fullUser("u00000100")
	full.Apps = map[string]*schemas.AppLink{"a1": {ExternalAccountID: "acct-100", CustomAppData: edgeJSON(), AssignedAt: ms(2024, time.May, 1, 0, 0, 0, 1)}}
	full.CustomData = edgeJSON()
	full.Version = 2
	full.GroupIDs = []string{"g1"}
	assertUser(t, "full user after reopen", full, mustGetUser(t, s, full.ID))
	_, err := s.GetUser(t.Context(), uid(20))
	assertErr(t, "deleted user after reopen", err, storage.ErrNotFound)
	_, err = s.GetGroup(t.Context(), "g3")
	assertErr(t, "deleted group after reopen", err, storage.ErrNotFound)
	_, err = s.GetApp(t.Context(), "a3")
	assertErr(t, "deleted app after reopen", err, storage.ErrNotFound)
	_, err = s.FindAPIToken(t.Context(), "hash-3")
	assertErr(t, "deleted token after reopen", err, storage.ErrNotFound)
	checkListUsers(t, s, `groups eq "g1"`, scimOpts(), nil, []string{uid(1), uid(3), "u00000100"})
	checkListUsers(t, s, `custom_app_data.missing pr or external_account_id eq "stays"`, nativeOpts("a1"), nil, []string{uid(6)})

	// Writes continue from the stored versions, and a second reopen keeps them.
	got := mustUpdateUser(t, s, uid(1), func(u *schemas.User) error { u.NickName = "after reopen"; return nil })
	if got.Version != 4 {
		t.Errorf("first update after reopen: Version %d, want 4", got.Version)
	}
	if err := AddMembers(t.Context(), s, "g2", []string{uid(1)}, nil); err != nil {
		t.Fatalf("AddMembers after reopen: %v", err)
	}
	before = takeSnapshot(t, s)
	h.reopen(t)
	assertSnapshot(t, "after a second reopen", before, takeSnapshot(t, h.s))
	assertVersion(t, h.s, uid(1), 5)
	assertGroupIDs(t, h.s, uid(1), "g1", "g2")

	// An empty store reopens empty.
	empty := newHarness(t, h.b)
	empty.reopen(t)
	if n := len(allUsers(t, empty.s)); n != 0 {
		t.Errorf("empty store after reopen has %d users", n)
	}
}

func testReopenIndexes(t *testing.T, h *harness) {
	if h.b.Reopen == nil {
		t.Skip("the backend does not persist (Backend.Reopen is nil)")
	}
	populate(t, h.s)
	h.reopen(t)
	s, ctx := h.s, t.Context()

	// Lookups.
	for _, i := range []int{1, 7, 19} {
		u := NewUser(i)
		for _, f := range []struct{ field, value string }{
			{storage.FieldUserName, upper(u.UserName)},
			{storage.FieldEmail, upper(u.Emails[0].Value)},
			{storage.FieldPhoneNumber, u.PhoneNumbers[0].Value},
			{storage.FieldExternalID, u.ExternalID},
		} {
			got, err := s.FindUser(ctx, f.field, f.value)
			if err != nil || got.ID != u.ID {
				t.Errorf("after reopen: FindUser(%s, %q) = %s, %v; want %s", f.field, f.value, idOf(got), err, u.ID)
			}
		}
	}
	if a, err := s.FindAppByClientID(ctx, "client-2"); err != nil || a.ID != "a2" {
		t.Errorf("after reopen: FindAppByClientID(client-2): %v", err)
	}
	if tok, err := s.FindAPIToken(ctx, "hash-1"); err != nil || tok.ID != "t1" {
		t.Errorf("after reopen: FindAPIToken(hash-1): %v", err)
	}

	// Uniqueness.
	clash := NewUser(50)
	clash.UserName = upper(NewUser(3).UserName)
	assertCreateConflict(t, s, clash, storage.FieldUserName)
	clash = NewUser(51)
	clash.Emails[0].Value = upper(NewUser(3).Emails[0].Value)
	assertCreateConflict(t, s, clash, storage.FieldEmail)
	clash = NewUser(52)
	clash.PhoneNumbers[0].Value = NewUser(3).PhoneNumbers[0].Value
	assertCreateConflict(t, s, clash, storage.FieldPhoneNumber)
	clash = NewUser(53)
	clash.ExternalID = NewUser(3).ExternalID
	assertCreateConflict(t, s, clash, storage.FieldExternalID)
	_, err := s.CreateUser(ctx, NewUser(4), nil)
	assertConflict(t, "after reopen: CreateUser with a taken id", err, storage.FieldID)
	_, err = s.UpdateUser(ctx, uid(8), 0, func(u *schemas.User) error { u.UserName = NewUser(9).UserName; return nil }, nil)
	assertConflict(t, "after reopen: UpdateUser renaming into a taken userName", err, storage.FieldUserName)
	_, err = s.CreateGroup(ctx, newGroup("g9", "SALES"), nil)
	assertConflict(t, "after reopen: CreateGroup with a taken displayName", err, storage.FieldDisplayName)
	_, err = s.CreateApp(ctx, newApp("a9", schemas.AppRegular, "client-1"), nil)
	assertConflict(t, "after reopen: CreateApp with a taken clientId", err, storage.FieldClientID)
	assertConflict(t, "after reopen: CreateAPIToken with a taken hash", s.CreateAPIToken(ctx, newToken("t9", "hash-2"), nil), storage.FieldTokenHash)

	// Values freed before the reopen are free after it.
	if _, err := s.CreateUser(ctx, NewUser(20), nil); err != nil {
		t.Errorf("after reopen: re-creating a user deleted before it: %v", err)
	}
	if _, err := s.CreateGroup(ctx, newGroup("g3", "Doomed"), nil); err != nil {
		t.Errorf("after reopen: re-creating a group deleted before it: %v", err)
	}
	assertMembers(t, s, "g3")
	if _, err := s.CreateApp(ctx, newApp("a3", schemas.AppRegular, "client-3"), nil); err != nil {
		t.Errorf("after reopen: re-creating an app deleted before it: %v", err)
	}
	if err := s.CreateAPIToken(ctx, newToken("t3", "hash-3"), nil); err != nil {
		t.Errorf("after reopen: re-creating a token deleted before it: %v", err)
	}
	// A value freed by an update before the reopen.
	mustUpdateUser(t, s, uid(10), func(u *schemas.User) error { u.UserName = "renamed-after-reopen"; return nil })
	h.reopen(t)
	s = h.s
	if _, err := s.FindUser(ctx, storage.FieldUserName, NewUser(10).UserName); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after a second reopen: the old userName still finds a user (%v)", err)
	}
	if got, err := s.FindUser(ctx, storage.FieldUserName, "RENAMED-after-reopen"); err != nil || got.ID != uid(10) {
		t.Errorf("after a second reopen: FindUser(new userName): %s, %v", idOf(got), err)
	}
	u := NewUser(60)
	u.UserName = NewUser(10).UserName
	if _, err := s.CreateUser(ctx, u, nil); err != nil {
		t.Errorf("after a second reopen: taking a userName freed before it: %v", err)
	}
	apps, _ := s.ListApps(ctx, schemas.AppRegular)
	var appIDs []string
	for _, a := range apps {
		appIDs = append(appIDs, a.ID)
	}
	if !slices.Equal(appIDs, []string{"a1", "a3"}) {
		t.Errorf("after a second reopen: ListApps(regular) = %v, want [a1 a3]", appIDs)
	}
}
