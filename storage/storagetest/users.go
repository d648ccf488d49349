package storagetest

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

func testUserCRUD(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	in := NewUser(1)
	inCopy := in.Clone()

	created, err := s.CreateUser(ctx, in, nil)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if created.Version != 1 {
		t.Errorf("CreateUser: Version = %d, want 1", created.Version)
	}
	assertUser(t, "CreateUser result", withVersion(inCopy, 1), created)
	assertUser(t, "CreateUser must not change its argument (apart from Version)", withVersion(inCopy, in.Version), in)

	got := mustGetUser(t, s, in.ID)
	assertUser(t, "GetUser after create", withVersion(inCopy, 1), got)

	// FindUser by each unique field.
	for _, f := range []struct{ field, value string }{
		{storage.FieldUserName, inCopy.UserName},
		{storage.FieldEmail, inCopy.Emails[0].Value},
		{storage.FieldPhoneNumber, inCopy.PhoneNumbers[0].Value},
		{storage.FieldExternalID, inCopy.ExternalID},
	} {
		u, err := s.FindUser(ctx, f.field, f.value)
		if err != nil {
			t.Errorf("FindUser(%s, %q): %v", f.field, f.value, err)
			continue
		}
		assertUser(t, "FindUser("+f.field+")", withVersion(inCopy, 1), u)
	}

	// Update.
	changedAt := inCopy.Updated.Add(time.Hour)
	updated, err := s.UpdateUser(ctx, in.ID, 1, func(u *schemas.User) error {
		u.DisplayName = "Renamed"
		u.Name.MiddleName = "M."
		u.Emails = append(u.Emails, schemas.Email{Value: "extra@example.org", Type: "other"})
		u.CustomData["tier"] = "enterprise"
		u.Updated = changedAt
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want := withVersion(inCopy, 2)
	want.DisplayName = "Renamed"
	want.Name.MiddleName = "M."
	want.Emails = append(want.Emails, schemas.Email{Value: "extra@example.org", Type: "other"})
	want.CustomData["tier"] = "enterprise"
	want.Updated = changedAt
	assertUser(t, "UpdateUser result", want, updated)
	assertUser(t, "GetUser after update", want, mustGetUser(t, s, in.ID))

	// Delete.
	if err := s.DeleteUser(ctx, in.ID, nil); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err = s.GetUser(ctx, in.ID)
	assertErr(t, "GetUser after delete", err, storage.ErrNotFound)
	assertErr(t, "DeleteUser twice", s.DeleteUser(ctx, in.ID, nil), storage.ErrNotFound)
	_, err = s.FindUser(ctx, storage.FieldUserName, inCopy.UserName)
	assertErr(t, "FindUser(userName) after delete", err, storage.ErrNotFound)
	_, err = s.UpdateUser(ctx, in.ID, 0, func(*schemas.User) error { return nil }, nil)
	assertErr(t, "UpdateUser after delete", err, storage.ErrNotFound)
	if p, err := s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited}); err != nil {
		t.Errorf("ListUsers: %v", err)
	} else if p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("ListUsers after delete: total %d, %d items, want none", p.Total, len(p.Items))
	}

	// The same id can be created again after delete.
	again := mustCreateUser(t, s, NewUser(1))
	if again.Version != 1 {
		t.Errorf("re-created user: Version = %d, want 1", again.Version)
	}
}

func testUserFullDocument(t *testing.T, h *harness) {
	s := h.s
	in := fullUser("u00000042")
	created := mustCreateUser(t, s, in.Clone())
	assertUser(t, "CreateUser (every field set)", withVersion(in, 1), created)
	assertUser(t, "GetUser (every field set)", withVersion(in, 1), mustGetUser(t, s, in.ID))

	// A minimal user: only an id.
	minimal := &schemas.User{ID: "u00000043"}
	assertUser(t, "CreateUser (only id)", withVersion(minimal, 1), mustCreateUser(t, s, minimal.Clone()))
	assertUser(t, "GetUser (only id)", withVersion(minimal, 1), mustGetUser(t, s, minimal.ID))

	// Clearing fields through an update.
	cleared := mustUpdateUser(t, s, in.ID, func(u *schemas.User) error {
		u.Enterprise = nil
		u.Password = nil
		u.Apps = nil
		u.CustomData = nil
		u.Photos = nil
		u.LastAuth = time.Time{}
		return nil
	})
	want := withVersion(in, 2)
	want.Enterprise, want.Password, want.Apps, want.CustomData, want.Photos, want.LastAuth = nil, nil, nil, nil, nil, time.Time{}
	assertUser(t, "UpdateUser clearing fields", want, cleared)
	assertUser(t, "GetUser after clearing fields", want, mustGetUser(t, s, in.ID))

	// A time given in another location comes back as the same instant.
	loc := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := ms(2025, time.June, 1, 12, 0, 0, 250)
	got := mustUpdateUser(t, s, minimal.ID, func(u *schemas.User) error {
		u.LastAuth = at.In(loc)
		return nil
	})
	for what, u := range map[string]*schemas.User{"UpdateUser result": got, "GetUser": mustGetUser(t, s, minimal.ID)} {
		if !u.LastAuth.Equal(at) {
			t.Errorf("%s: LastAuth given as %v is %v, want the same instant %v", what, at.In(loc), u.LastAuth, at)
		}
	}
}

func testUserReturnsCopies(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	in := fullUser("u00000001")
	want := withVersion(in, 1)

	// Mutating the argument after CreateUser does not change the store.
	arg := in.Clone()
	created := mustCreateUser(t, s, arg)
	mutate(arg)
	assertUser(t, "after mutating the CreateUser argument", want, mustGetUser(t, s, in.ID))

	// Mutating every kind of returned value does not change the store.
	mutate(created)
	assertUser(t, "after mutating the CreateUser result", want, mustGetUser(t, s, in.ID))
	mutate(mustGetUser(t, s, in.ID))
	assertUser(t, "after mutating a GetUser result", want, mustGetUser(t, s, in.ID))
	found, err := s.FindUser(ctx, storage.FieldUserName, in.UserName)
	if err != nil {
		t.Fatalf("FindUser: %v", err)
	}
	mutate(found)
	assertUser(t, "after mutating a FindUser result", want, mustGetUser(t, s, in.ID))
	p, err := s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("ListUsers: %v, %d items", err, len(p.Items))
	}
	mutate(p.Items[0])
	assertUser(t, "after mutating a ListUsers result", want, mustGetUser(t, s, in.ID))

	// The updater's copy and the update result are copies too.
	var kept *schemas.User
	updated := mustUpdateUser(t, s, in.ID, func(u *schemas.User) error {
		kept = u
		u.NickName = "changed"
		return nil
	})
	want = withVersion(in, 2)
	want.NickName = "changed"
	mutate(updated)
	mutate(kept)
	assertUser(t, "after mutating the UpdateUser result and the updater's argument", want, mustGetUser(t, s, in.ID))
}

// mutate changes u deeply, including shared backing arrays and nested maps.
func mutate(u *schemas.User) {
	u.UserName = "mutated"
	u.Version = 99
	u.Name.GivenName = "mutated"
	if len(u.Emails) > 0 {
		u.Emails[0].Value = "mutated@example.com"
	}
	if len(u.PhoneNumbers) > 0 {
		u.PhoneNumbers[0].Value = "+0"
	}
	if len(u.Addresses) > 0 {
		u.Addresses[0].Locality = "mutated"
	}
	if len(u.Roles) > 0 {
		u.Roles[0].Value = "mutated"
	}
	if u.Enterprise != nil {
		u.Enterprise.Department = "mutated"
		if u.Enterprise.Manager != nil {
			u.Enterprise.Manager.Value = "mutated"
		}
	}
	if u.CustomData != nil {
		u.CustomData["tier"] = "mutated"
		if n, ok := u.CustomData["nested"].(map[string]any); ok {
			n["mutated"] = true
			if a, ok := n["a"].([]any); ok && len(a) > 0 {
				a[0] = "mutated"
			}
		}
	}
	for _, a := range u.Apps {
		a.ExternalAccountID = "mutated"
		if a.CustomAppData != nil {
			a.CustomAppData["plan"] = "mutated"
		}
	}
	if u.Apps != nil {
		u.Apps["mutated"] = &schemas.AppLink{}
	}
	if len(u.GroupIDs) > 0 {
		u.GroupIDs[0] = "mutated"
	}
	if u.Password != nil {
		u.Password.Hash = "mutated"
	}
	if len(u.DeviceKeys) > 0 {
		u.DeviceKeys[0].KeyID = "mutated"
		if u.DeviceKeys[0].CustomData != nil {
			u.DeviceKeys[0].CustomData["model"] = "mutated"
		}
		if u.DeviceKeys[0].PushConfig != nil {
			u.DeviceKeys[0].PushConfig.DeviceToken = "mutated"
		}
	}
}

func testUserVersion(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	in := NewUser(7)
	mustCreateUser(t, s, in.Clone())

	for v := int64(1); v <= 5; v++ {
		got, err := s.UpdateUser(ctx, in.ID, v, func(u *schemas.User) error {
			u.NickName = "n" + itoa(v)
			return nil
		}, nil)
		if err != nil {
			t.Fatalf("UpdateUser(ifVersion=%d): %v", v, err)
		}
		if got.Version != v+1 {
			t.Fatalf("UpdateUser(ifVersion=%d): Version = %d, want %d", v, got.Version, v+1)
		}
	}
	before := mustGetUser(t, s, in.ID)
	if before.Version != 6 {
		t.Fatalf("Version after 5 updates = %d, want 6", before.Version)
	}

	// Stale and future versions: ErrVersionMismatch, fn not called, nothing changes.
	for _, stale := range []int64{1, 5, 7, 100} {
		called := false
		_, err := s.UpdateUser(ctx, in.ID, stale, func(u *schemas.User) error {
			called = true
			u.NickName = "stale write"
			return nil
		}, nil)
		assertErr(t, "UpdateUser with ifVersion "+itoa(stale)+" (stored 6)", err, storage.ErrVersionMismatch)
		if called {
			t.Errorf("UpdateUser with ifVersion %d: updater was called", stale)
		}
	}
	assertUser(t, "after rejected updates", before, mustGetUser(t, s, in.ID))

	// ifVersion 0 skips the check.
	got := mustUpdateUser(t, s, in.ID, func(u *schemas.User) error { u.NickName = "any"; return nil })
	if got.Version != 7 {
		t.Errorf("UpdateUser(ifVersion=0): Version = %d, want 7", got.Version)
	}
	// An updater that changes nothing still writes (Version +1): the contract
	// counts writes, not differences.
	got = mustUpdateUser(t, s, in.ID, func(u *schemas.User) error { return nil })
	if got.Version != 8 {
		t.Errorf("UpdateUser with a no-op updater: Version = %d, want 8", got.Version)
	}
	// The updater sees the stored document.
	_ = mustUpdateUser(t, s, in.ID, func(u *schemas.User) error {
		if u.NickName != "any" || u.Version != 8 || u.UserName != in.UserName {
			t.Errorf("updater got NickName %q Version %d UserName %q, want the stored user (any, 8, %q)", u.NickName, u.Version, u.UserName, in.UserName)
		}
		return nil
	})
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func testUserUpdaterError(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	in := NewUser(3)
	mustCreateUser(t, s, in.Clone())
	errBoom := errors.New("boom from the updater")
	_, err := s.UpdateUser(ctx, in.ID, 1, func(u *schemas.User) error {
		u.UserName = "should-not-stick"
		u.CustomData["x"] = "y"
		return errBoom
	}, nil)
	if err != errBoom {
		t.Errorf("UpdateUser: got error %v, want the updater's error returned unchanged", err)
	}
	assertUser(t, "after a failed updater", withVersion(in, 1), mustGetUser(t, s, in.ID))
	if _, err := s.FindUser(ctx, storage.FieldUserName, "should-not-stick"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("FindUser(new name of a failed update): got %v, want ErrNotFound", err)
	}

	// A wrapped error is returned as is too.
	wrapped := &wrapErr{errBoom}
	_, err = s.UpdateGroup(ctx, "missing-group", 0, func(*schemas.Group) error { return wrapped }, nil)
	assertErr(t, "UpdateGroup on a missing group", err, storage.ErrNotFound)
	mustCreateGroup(t, s, &schemas.Group{ID: "g1", DisplayName: "G1"})
	_, err = s.UpdateGroup(ctx, "g1", 0, func(g *schemas.Group) error { g.DisplayName = "X"; return wrapped }, nil)
	if err != error(wrapped) {
		t.Errorf("UpdateGroup: got error %v, want the updater's error returned unchanged", err)
	}
	if g := mustGetGroup(t, s, "g1"); g.DisplayName != "G1" || g.Version != 1 {
		t.Errorf("group after a failed updater: %q v%d, want G1 v1", g.DisplayName, g.Version)
	}
}

type wrapErr struct{ err error }

func (e *wrapErr) Error() string { return "wrapped: " + e.err.Error() }
func (e *wrapErr) Unwrap() error { return e.err }

func testUserNotFound(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	mustCreateUser(t, s, NewUser(1))
	_, err := s.GetUser(ctx, "u99999999")
	assertErr(t, "GetUser(missing)", err, storage.ErrNotFound)
	_, err = s.GetUser(ctx, "")
	assertErr(t, "GetUser(\"\")", err, storage.ErrNotFound)
	called := false
	_, err = s.UpdateUser(ctx, "u99999999", 0, func(*schemas.User) error { called = true; return nil }, nil)
	assertErr(t, "UpdateUser(missing)", err, storage.ErrNotFound)
	_, err = s.UpdateUser(ctx, "u99999999", 3, func(*schemas.User) error { called = true; return nil }, nil)
	assertErr(t, "UpdateUser(missing, ifVersion 3)", err, storage.ErrNotFound)
	if called {
		t.Error("UpdateUser(missing): updater was called")
	}
	assertErr(t, "DeleteUser(missing)", s.DeleteUser(ctx, "u99999999", nil), storage.ErrNotFound)
	for _, f := range []string{storage.FieldUserName, storage.FieldEmail, storage.FieldPhoneNumber, storage.FieldExternalID} {
		_, err = s.FindUser(ctx, f, "nobody-"+f)
		assertErr(t, "FindUser("+f+", unknown value)", err, storage.ErrNotFound)
	}
	// An id is case-exact.
	_, err = s.GetUser(ctx, "U00000001")
	assertErr(t, "GetUser(id in another case)", err, storage.ErrNotFound)
}

// ---- uniqueness ----

// bare returns a user with only an id and the given changes applied.
func bare(id string, fn func(u *schemas.User)) *schemas.User {
	u := &schemas.User{ID: id, Status: schemas.StatusActive, Created: generatedEpoch, Updated: generatedEpoch}
	if fn != nil {
		fn(u)
	}
	return u
}

func primaryEmail(v string) []schemas.Email {
	return []schemas.Email{{Value: v, Type: "work", Primary: true}}
}

func primaryPhone(v string) []schemas.PhoneNumber {
	return []schemas.PhoneNumber{{Value: v, Type: "mobile", Primary: true}}
}

// assertCreateConflict creates u, expecting a conflict on field, and checks that
// nothing was stored.
func assertCreateConflict(t *testing.T, s storage.Store, u *schemas.User, field string) {
	t.Helper()
	_, err := s.CreateUser(t.Context(), u, nil)
	assertConflict(t, "CreateUser("+u.ID+")", err, field)
	if _, err := s.GetUser(t.Context(), u.ID); !errors.Is(err, storage.ErrNotFound) && field != storage.FieldID {
		t.Errorf("CreateUser(%s) failed with a conflict but GetUser returns %v, want ErrNotFound", u.ID, err)
	}
}

func testUniqueUserName(t *testing.T, h *harness) {
	s := h.s
	mustCreateUser(t, s, bare("u1", func(u *schemas.User) { u.UserName = "Ada" }))
	for i, name := range []string{"Ada", "ADA", "ada", "aDA"} {
		assertCreateConflict(t, s, bare("u1"+string(rune('a'+i)), func(u *schemas.User) { u.UserName = name }), storage.FieldUserName)
	}
	// Unicode folding (schemas.Fold): the Kelvin sign folds with k/K.
	mustCreateUser(t, s, bare("u2", func(u *schemas.User) { u.UserName = "kelvin" }))
	assertCreateConflict(t, s, bare("u2a", func(u *schemas.User) { u.UserName = "\u212Aelvin" }), storage.FieldUserName)
	mustCreateUser(t, s, bare("u3", func(u *schemas.User) { u.UserName = "Σίσυφος" }))
	assertCreateConflict(t, s, bare("u3a", func(u *schemas.User) { u.UserName = "σίσυφοσ" }), storage.FieldUserName)
	// Different names coexist.
	mustCreateUser(t, s, bare("u4", func(u *schemas.User) { u.UserName = "Ada2" }))
	mustCreateUser(t, s, bare("u5", func(u *schemas.User) { u.UserName = "Adá" }))
	if n := len(allUsers(t, s)); n != 5 {
		t.Errorf("%d users stored, want 5", n)
	}
}

func testUniqueEmail(t *testing.T, h *harness) {
	s := h.s
	mustCreateUser(t, s, bare("u1", func(u *schemas.User) {
		u.Emails = []schemas.Email{{Value: "home1@example.net", Type: "home"}, {Value: "Ada@Example.com", Type: "work", Primary: true}}
	}))
	for i, v := range []string{"Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM"} {
		assertCreateConflict(t, s, bare("u1"+string(rune('a'+i)), func(u *schemas.User) { u.Emails = primaryEmail(v) }), storage.FieldEmail)
	}
	// The primary email is unique even when it is not the first element.
	assertCreateConflict(t, s, bare("u1x", func(u *schemas.User) {
		u.Emails = []schemas.Email{{Value: "other@example.org", Type: "home"}, {Value: "ada@EXAMPLE.com", Type: "work", Primary: true}}
	}), storage.FieldEmail)
	// A sole email without the primary flag is the primary email (User.PrimaryEmail).
	assertCreateConflict(t, s, bare("u1y", func(u *schemas.User) {
		u.Emails = []schemas.Email{{Value: "ADA@example.com", Type: "work"}}
	}), storage.FieldEmail)

	// A secondary email equal to another user's primary email is not a conflict,
	// nor is a primary email equal to another user's secondary email.
	mustCreateUser(t, s, bare("u2", func(u *schemas.User) {
		u.Emails = []schemas.Email{{Value: "u2@example.com", Type: "work", Primary: true}, {Value: "ada@example.com", Type: "home"}}
	}))
	mustCreateUser(t, s, bare("u3", func(u *schemas.User) { u.Emails = primaryEmail("HOME1@example.net") }))
	// Two emails, none primary: there is no primary email, so no conflict.
	mustCreateUser(t, s, bare("u4", func(u *schemas.User) {
		u.Emails = []schemas.Email{{Value: "ada@example.com", Type: "work"}, {Value: "u2@example.com", Type: "home"}}
	}))
	if n := len(allUsers(t, s)); n != 4 {
		t.Errorf("%d users stored, want 4", n)
	}
}

func testUniquePhone(t *testing.T, h *harness) {
	s := h.s
	mustCreateUser(t, s, bare("u1", func(u *schemas.User) {
		u.PhoneNumbers = []schemas.PhoneNumber{{Value: "+15550001111", Type: "work"}, {Value: "+15550000001", Type: "mobile", Primary: true}}
	}))
	assertCreateConflict(t, s, bare("u1a", func(u *schemas.User) { u.PhoneNumbers = primaryPhone("+15550000001") }), storage.FieldPhoneNumber)
	assertCreateConflict(t, s, bare("u1b", func(u *schemas.User) {
		u.PhoneNumbers = []schemas.PhoneNumber{{Value: "+15550000001", Type: "mobile"}} // sole number: primary
	}), storage.FieldPhoneNumber)
	// A secondary number equal to a primary one is not a conflict.
	mustCreateUser(t, s, bare("u2", func(u *schemas.User) {
		u.PhoneNumbers = []schemas.PhoneNumber{{Value: "+15550000002", Primary: true}, {Value: "+15550000001"}}
	}))
	mustCreateUser(t, s, bare("u3", func(u *schemas.User) { u.PhoneNumbers = primaryPhone("+15550001111") }))
	// Phone numbers are case-exact: values differing only in case are different.
	mustCreateUser(t, s, bare("u4", func(u *schemas.User) { u.PhoneNumbers = primaryPhone("tel:+1-555-0000-EXT") }))
	mustCreateUser(t, s, bare("u5", func(u *schemas.User) { u.PhoneNumbers = primaryPhone("tel:+1-555-0000-ext") }))
	if n := len(allUsers(t, s)); n != 5 {
		t.Errorf("%d users stored, want 5", n)
	}
}

func testUniqueExternalID(t *testing.T, h *harness) {
	s := h.s
	mustCreateUser(t, s, bare("u1", func(u *schemas.User) { u.ExternalID = "abc" }))
	assertCreateConflict(t, s, bare("u1a", func(u *schemas.User) { u.ExternalID = "abc" }), storage.FieldExternalID)
	// Case-exact: "ABC" and "Abc" coexist with "abc".
	mustCreateUser(t, s, bare("u2", func(u *schemas.User) { u.ExternalID = "ABC" }))
	mustCreateUser(t, s, bare("u3", func(u *schemas.User) { u.ExternalID = "Abc" }))
	assertCreateConflict(t, s, bare("u3a", func(u *schemas.User) { u.ExternalID = "ABC" }), storage.FieldExternalID)
	if n := len(allUsers(t, s)); n != 3 {
		t.Errorf("%d users stored, want 3", n)
	}
}

func testUniqueUserID(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	first := NewUser(1)
	mustCreateUser(t, s, first.Clone())
	dup := NewUser(2)
	dup.ID = first.ID
	_, err := s.CreateUser(ctx, dup, nil)
	assertConflict(t, "CreateUser with a taken id", err, storage.FieldID)
	assertUser(t, "user after a duplicate-id create", withVersion(first, 1), mustGetUser(t, s, first.ID))
	// The loser's unique values were not claimed.
	_, err = s.FindUser(ctx, storage.FieldUserName, dup.UserName)
	assertErr(t, "FindUser(userName of the rejected duplicate)", err, storage.ErrNotFound)
	mustCreateUser(t, s, NewUser(2))

	// Groups and apps: duplicate ids conflict on FieldID too.
	mustCreateGroup(t, s, &schemas.Group{ID: "g1", DisplayName: "One"})
	_, err = s.CreateGroup(ctx, &schemas.Group{ID: "g1", DisplayName: "Two"}, nil)
	assertConflict(t, "CreateGroup with a taken id", err, storage.FieldID)
	mustCreateApp(t, s, newApp("a1", schemas.AppRegular, "client-1"))
	_, err = s.CreateApp(ctx, newApp("a1", schemas.AppRegular, "client-2"), nil)
	assertConflict(t, "CreateApp with a taken id", err, storage.FieldID)
	if err := s.CreateAPIToken(ctx, newToken("t1", "hash-1"), nil); err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	assertConflict(t, "CreateAPIToken with a taken id", s.CreateAPIToken(ctx, newToken("t1", "hash-2"), nil), storage.FieldID)
}

func testUniqueThroughUpdate(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	a := NewUser(1)
	b := NewUser(2)
	mustCreateUser(t, s, a.Clone())
	mustCreateUser(t, s, b.Clone())
	wantB := withVersion(b, 1)

	cases := []struct {
		name  string
		field string
		fn    func(u *schemas.User)
	}{
		{"userName in another case", storage.FieldUserName, func(u *schemas.User) { u.UserName = upper(a.UserName) }},
		{"primary email in another case", storage.FieldEmail, func(u *schemas.User) { u.Emails[0].Value = upper(a.Emails[0].Value) }},
		{"primary flag moved onto a taken email", storage.FieldEmail, func(u *schemas.User) {
			u.Emails[0].Primary = false
			u.Emails = append(u.Emails, schemas.Email{Value: a.Emails[0].Value, Type: "other", Primary: true})
		}},
		{"primary phone", storage.FieldPhoneNumber, func(u *schemas.User) { u.PhoneNumbers[0].Value = a.PhoneNumbers[0].Value }},
		{"externalId", storage.FieldExternalID, func(u *schemas.User) { u.ExternalID = a.ExternalID }},
	}
	for _, c := range cases {
		_, err := s.UpdateUser(ctx, b.ID, 0, func(u *schemas.User) error { c.fn(u); u.NickName = "changed"; return nil }, nil)
		assertConflict(t, "UpdateUser renaming to a taken "+c.name, err, c.field)
		assertUser(t, "user after conflicting update ("+c.name+")", wantB, mustGetUser(t, s, b.ID))
	}
	// A is still found by its values, and B by its own.
	for _, u := range []*schemas.User{a, b} {
		got, err := s.FindUser(ctx, storage.FieldEmail, u.Emails[0].Value)
		if err != nil || got.ID != u.ID {
			t.Errorf("FindUser(email %s) = %v, %v; want %s", u.Emails[0].Value, idOf(got), err, u.ID)
		}
	}

	// A user may keep or re-case its own unique values.
	got, err := s.UpdateUser(ctx, a.ID, 0, func(u *schemas.User) error {
		u.UserName = upper(u.UserName)
		u.Emails[0].Value = upper(u.Emails[0].Value)
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("UpdateUser re-casing its own userName and email: %v", err)
	}
	if got.UserName != upper(a.UserName) {
		t.Errorf("UserName = %q, want %q", got.UserName, upper(a.UserName))
	}
	// Secondary email equal to the other user's primary: fine.
	mustUpdateUser(t, s, b.ID, func(u *schemas.User) error {
		u.Emails = append(u.Emails, schemas.Email{Value: a.Emails[0].Value, Type: "other"})
		return nil
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func idOf(u *schemas.User) string {
	if u == nil {
		return "<nil>"
	}
	return u.ID
}

func testUniqueValueFreed(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	a := NewUser(1)
	mustCreateUser(t, s, a.Clone())

	// Renaming frees the old values.
	mustUpdateUser(t, s, a.ID, func(u *schemas.User) error {
		u.UserName = "renamed"
		u.Emails[0].Value = "renamed@example.com"
		u.PhoneNumbers[0].Value = "+19999999999"
		u.ExternalID = "renamed-ext"
		return nil
	})
	b := NewUser(2)
	b.UserName, b.Emails[0].Value, b.PhoneNumbers[0].Value, b.ExternalID = upper(a.UserName), a.Emails[0].Value, a.PhoneNumbers[0].Value, a.ExternalID
	if _, err := s.CreateUser(ctx, b.Clone(), nil); err != nil {
		t.Fatalf("CreateUser with values freed by a rename: %v", err)
	}
	// The old values now find the new owner.
	got, err := s.FindUser(ctx, storage.FieldUserName, a.UserName)
	if err != nil || got.ID != b.ID {
		t.Errorf("FindUser(freed userName) = %s, %v; want %s", idOf(got), err, b.ID)
	}

	// Demoting the primary email frees it: it is a secondary email afterwards.
	mustUpdateUser(t, s, a.ID, func(u *schemas.User) error {
		u.Emails[0].Primary = false
		u.Emails = append(u.Emails, schemas.Email{Value: "new-primary@example.com", Type: "work", Primary: true})
		return nil
	})
	c := bare("u3", func(u *schemas.User) { u.Emails = primaryEmail("RENAMED@example.com") })
	if _, err := s.CreateUser(ctx, c, nil); err != nil {
		t.Errorf("CreateUser with an email freed by demotion to secondary: %v", err)
	}

	// Deleting frees every value.
	if err := s.DeleteUser(ctx, b.ID, nil); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	d := NewUser(4)
	d.UserName, d.Emails[0].Value, d.PhoneNumbers[0].Value, d.ExternalID = b.UserName, b.Emails[0].Value, b.PhoneNumbers[0].Value, b.ExternalID
	if _, err := s.CreateUser(ctx, d, nil); err != nil {
		t.Errorf("CreateUser with values freed by a delete: %v", err)
	}
	// Clearing a value frees it.
	mustUpdateUser(t, s, d.ID, func(u *schemas.User) error { u.ExternalID = ""; u.PhoneNumbers = nil; return nil })
	e := bare("u5", func(u *schemas.User) {
		u.ExternalID = b.ExternalID
		u.PhoneNumbers = primaryPhone(b.PhoneNumbers[0].Value)
	})
	if _, err := s.CreateUser(ctx, e, nil); err != nil {
		t.Errorf("CreateUser with values freed by clearing them: %v", err)
	}
}

func testUniqueSparse(t *testing.T, h *harness) {
	s := h.s
	// Many users without userName, emails, phone numbers or externalId.
	for i := range 5 {
		mustCreateUser(t, s, bare("u"+string(rune('a'+i)), nil))
	}
	// Many users with two non-primary emails (no primary email) and two
	// non-primary phone numbers (no primary phone).
	for i := range 3 {
		mustCreateUser(t, s, bare("v"+string(rune('a'+i)), func(u *schemas.User) {
			u.Emails = []schemas.Email{{Value: "shared1@example.com"}, {Value: "shared2@example.com"}}
			u.PhoneNumbers = []schemas.PhoneNumber{{Value: "+1"}, {Value: "+2"}}
		}))
	}
	if n := len(allUsers(t, s)); n != 8 {
		t.Errorf("%d users stored, want 8", n)
	}
	// Empty values are not found.
	for _, f := range []string{storage.FieldUserName, storage.FieldEmail, storage.FieldPhoneNumber, storage.FieldExternalID} {
		if u, err := s.FindUser(t.Context(), f, ""); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("FindUser(%s, \"\") = %s, %v; want ErrNotFound", f, idOf(u), err)
		}
	}
}

func testFindUser(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	a := fullUser("u00000001")
	a.UserName = "Ada.Lovelace"
	a.ExternalID = "Ext-Ada"
	b := NewUser(2)
	mustCreateUser(t, s, a.Clone())
	mustCreateUser(t, s, b.Clone())
	pe, _ := a.PrimaryEmail()
	pp, _ := a.PrimaryPhone()

	find := func(field, value, wantID string) {
		t.Helper()
		u, err := s.FindUser(ctx, field, value)
		if wantID == "" {
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("FindUser(%s, %q) = %s, %v; want ErrNotFound", field, value, idOf(u), err)
			}
			return
		}
		if err != nil {
			t.Errorf("FindUser(%s, %q): %v; want %s", field, value, err, wantID)
			return
		}
		if u.ID != wantID {
			t.Errorf("FindUser(%s, %q) = %s, want %s", field, value, u.ID, wantID)
		}
	}
	find(storage.FieldUserName, "Ada.Lovelace", a.ID)
	find(storage.FieldUserName, "ada.lovelace", a.ID)
	find(storage.FieldUserName, "ADA.LOVELACE", a.ID)
	find(storage.FieldUserName, "Ada.Lovelac", "")
	find(storage.FieldEmail, pe.Value, a.ID)
	find(storage.FieldEmail, upper(pe.Value), a.ID)
	find(storage.FieldEmail, "bjork.u00000001@example.com", a.ID)
	find(storage.FieldEmail, a.Emails[0].Value, "") // secondary email: not a unique field
	find(storage.FieldPhoneNumber, pp.Value, a.ID)
	find(storage.FieldPhoneNumber, a.PhoneNumbers[1].Value, "") // secondary phone
	find(storage.FieldExternalID, "Ext-Ada", a.ID)
	find(storage.FieldExternalID, "ext-ada", "") // case-exact
	find(storage.FieldExternalID, "EXT-ADA", "")
	find(storage.FieldUserName, b.UserName, b.ID)
	find(storage.FieldEmail, b.Emails[0].Value, b.ID)
	find(storage.FieldUserName, pe.Value, "") // fields are not mixed up
	find(storage.FieldEmail, a.UserName, "")

	// After the primary email changes the old one no longer finds the user.
	mustUpdateUser(t, s, a.ID, func(u *schemas.User) error {
		p, _ := u.PrimaryEmail()
		p.Value = "ada@new.example"
		q, _ := u.PrimaryPhone()
		q.Value = "+15557654321"
		u.UserName = "countess"
		u.ExternalID = "Ext-Ada-2"
		return nil
	})
	find(storage.FieldEmail, pe.Value, "")
	find(storage.FieldEmail, "ADA@new.example", a.ID)
	find(storage.FieldPhoneNumber, pp.Value, "")
	find(storage.FieldPhoneNumber, "+15557654321", a.ID)
	find(storage.FieldUserName, "Ada.Lovelace", "")
	find(storage.FieldUserName, "Countess", a.ID)
	find(storage.FieldExternalID, "Ext-Ada", "")
	find(storage.FieldExternalID, "Ext-Ada-2", a.ID)

	// Moving the primary flag to another element changes the primary email.
	mustUpdateUser(t, s, a.ID, func(u *schemas.User) error {
		for i := range u.Emails {
			u.Emails[i].Primary = u.Emails[i].Value == "home.u00000001@example.net"
		}
		return nil
	})
	find(storage.FieldEmail, "ada@new.example", "")
	find(storage.FieldEmail, "Home.U00000001@example.net", a.ID)

	// The found user is the whole stored document.
	got, err := s.FindUser(ctx, storage.FieldUserName, b.UserName)
	if err != nil {
		t.Fatalf("FindUser: %v", err)
	}
	assertUser(t, "FindUser result", withVersion(b, 1), got)
}

// ---- free-form JSON ----

func testCustomDataLarge(t *testing.T, h *harness) {
	s := h.s
	data := bigJSON(500 << 10)
	if b, _ := json.Marshal(data); len(b) < 500<<10 {
		t.Fatalf("test data is only %d bytes", len(b))
	}
	u := NewUser(1)
	u.CustomData = data
	mustCreateUser(t, s, u.Clone())
	got := mustGetUser(t, s, u.ID)
	if d := diff(data, got.CustomData); d != "" {
		t.Errorf("CustomData (500 KB) after create differs: %s", d)
	}
	// And through an update that changes one nested value.
	mustUpdateUser(t, s, u.ID, func(u *schemas.User) error {
		u.CustomData["rec3"].(map[string]any)["name"] = "changed ✓"
		return nil
	})
	want := schemas.CloneJSONObject(data)
	want["rec3"].(map[string]any)["name"] = "changed ✓"
	got = mustGetUser(t, s, u.ID)
	if d := diff(want, got.CustomData); d != "" {
		t.Errorf("CustomData (500 KB) after update differs: %s", d)
	}
	// The rest of the document is intact.
	u.CustomData = want
	assertUser(t, "user with 500 KB of custom data", withVersion(u, 2), got)
}

// edgeJSON is custom data with the shapes a backend is most likely to get wrong.
func edgeJSON() map[string]any {
	return mustNormalizeJSON(map[string]any{
		"null":        nil,
		"emptyObject": map[string]any{},
		"emptyArray":  []any{},
		"emptyString": "",
		"zero":        json.Number("0"),
		"negative":    json.Number("-42"),
		"int64max":    json.Number("9223372036854775807"),
		"beyond53":    json.Number("9007199254740993"),
		"decimal":     json.Number("0.1"),
		"exponent":    json.Number("1.5e-7"),
		"false":       false,
		"true":        true,
		"a.b":         "dotted key",
		"$dollar":     "dollar key",
		"":            "empty key",
		"ключ":        "unicode key",
		"mixed":       []any{json.Number("1"), "1", true, nil, []any{nil}, map[string]any{"x": nil}},
		"nested":      map[string]any{"a.b": map[string]any{"$c": []any{json.Number("2.5")}}},
		"_id":         "not the document id",
	})
}

func testCustomDataEdgeCases(t *testing.T, h *harness) {
	s := h.s
	data := edgeJSON()
	u := NewUser(1)
	u.CustomData = data
	mustCreateUser(t, s, u.Clone())
	if d := diff(data, mustGetUser(t, s, u.ID).CustomData); d != "" {
		t.Errorf("CustomData with edge cases differs: %s", d)
	}
	// An empty (non-nil) map is stored as empty or nil: either is fine for the
	// document field, but a nested empty object must stay an empty object.
	mustUpdateUser(t, s, u.ID, func(u *schemas.User) error {
		u.CustomData = map[string]any{"o": map[string]any{}}
		return nil
	})
	got := mustGetUser(t, s, u.ID)
	if o, ok := got.CustomData["o"].(map[string]any); !ok || o == nil || len(o) != 0 {
		t.Errorf("nested empty object came back as %#v", got.CustomData["o"])
	}
	// Device-key custom data and app data keep the same shapes.
	mustUpdateUser(t, s, u.ID, func(u *schemas.User) error {
		u.DeviceKeys = []schemas.DeviceKey{{KeyID: "k", CustomData: edgeJSON()}}
		u.Apps = map[string]*schemas.AppLink{"app1": {CustomAppData: edgeJSON()}}
		return nil
	})
	got = mustGetUser(t, s, u.ID)
	if len(got.DeviceKeys) != 1 {
		t.Fatalf("DeviceKeys: %d, want 1", len(got.DeviceKeys))
	}
	if d := diff(edgeJSON(), got.DeviceKeys[0].CustomData); d != "" {
		t.Errorf("DeviceKey CustomData with edge cases differs: %s", d)
	}
	if got.Apps["app1"] == nil {
		t.Fatalf("Apps[app1] missing")
	}
	if d := diff(edgeJSON(), got.Apps["app1"].CustomAppData); d != "" {
		t.Errorf("CustomAppData with edge cases differs: %s", d)
	}
}
