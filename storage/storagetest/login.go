package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// testUniqueLoginIDs checks that userName, primary email and primary phone
// share one key space across users: a value one user logs in with cannot be
// another user's login identifier in any of the three fields.
func testUniqueLoginIDs(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	// A user's own fields may share a value.
	mustCreateUser(t, s, bare("a", func(u *schemas.User) {
		u.UserName, u.Emails, u.PhoneNumbers = "ann@example.com", primaryEmail("Ann@Example.com"), primaryPhone("+15550000001")
	}))
	mustCreateUser(t, s, bare("b", func(u *schemas.User) { u.UserName = "bob" }))

	// Creates: another user's email as userName (any case), userName as email, phone as userName.
	assertCreateConflict(t, s, bare("c1", func(u *schemas.User) { u.UserName = "ANN@example.COM" }), storage.FieldUserName)
	assertCreateConflict(t, s, bare("c2", func(u *schemas.User) { u.UserName = "+15550000001" }), storage.FieldUserName)
	assertCreateConflict(t, s, bare("c3", func(u *schemas.User) { u.Emails = primaryEmail("BOB") }), storage.FieldEmail)
	assertCreateConflict(t, s, bare("c4", func(u *schemas.User) { u.PhoneNumbers = primaryPhone("bob") }), storage.FieldPhoneNumber)
	assertCreateConflict(t, s, bare("c5", func(u *schemas.User) {
		u.UserName, u.Emails = "carol", primaryEmail("bob")
	}), storage.FieldEmail)
	// Secondary emails and phones are not login identifiers.
	mustCreateUser(t, s, bare("d", func(u *schemas.User) {
		u.UserName = "dan"
		u.Emails = []schemas.Email{{Value: "dan@example.com", Primary: true}, {Value: "bob"}}
	}))

	// Updates: taking another user's identifier through another field fails and changes nothing.
	before := mustGetUser(t, s, "b")
	for _, c := range []struct {
		field string
		fn    func(u *schemas.User)
	}{
		{storage.FieldUserName, func(u *schemas.User) { u.UserName = "ann@EXAMPLE.com" }},
		{storage.FieldEmail, func(u *schemas.User) { u.Emails = primaryEmail("DAN") }},
		{storage.FieldPhoneNumber, func(u *schemas.User) { u.PhoneNumbers = primaryPhone("dan@example.com") }},
		{storage.FieldEmail, func(u *schemas.User) { // promoting a secondary email onto a taken identifier
			u.Emails = []schemas.Email{{Value: "b2@example.com"}, {Value: "ann@example.com", Primary: true}}
		}},
	} {
		_, err := s.UpdateUser(ctx, "b", 0, func(u *schemas.User) error { c.fn(u); u.NickName = "x"; return nil }, nil)
		assertConflict(t, "UpdateUser to another user's login identifier", err, c.field)
		assertUser(t, "user after a refused update", before, mustGetUser(t, s, "b"))
	}
	// The login lookups still find the right users.
	for _, c := range []struct{ field, value, id string }{
		{storage.FieldEmail, "ann@example.com", "a"}, {storage.FieldUserName, "BOB", "b"}, {storage.FieldUserName, "ann@example.com", "a"},
	} {
		if got, err := s.FindUser(ctx, c.field, c.value); err != nil || got.ID != c.id {
			t.Errorf("FindUser(%s, %s) = %s, %v; want %s", c.field, c.value, idOf(got), err, c.id)
		}
	}
	// A user keeps its identifiers through unrelated updates, and may move one between its own fields.
	mustUpdateUser(t, s, "a", func(u *schemas.User) error { u.NickName = "Ann"; return nil })
	mustUpdateUser(t, s, "a", func(u *schemas.User) error { u.UserName = "ann"; return nil })
	// The key is still held through a's email; renaming that frees it for
	// others, in any field.
	assertCreateConflict(t, s, bare("e1", func(u *schemas.User) { u.UserName = "ann@example.com" }), storage.FieldUserName)
	mustUpdateUser(t, s, "a", func(u *schemas.User) error { u.Emails = primaryEmail("ann2@example.com"); return nil })
	mustUpdateUser(t, s, "b", func(u *schemas.User) error { u.UserName = "Ann@Example.com"; return nil })
	assertCreateConflict(t, s, bare("e2", func(u *schemas.User) { u.Emails = primaryEmail("ann@example.com") }), storage.FieldEmail)
	mustUpdateUser(t, s, "b", func(u *schemas.User) error { u.UserName = "bob"; return nil })
	mustCreateUser(t, s, bare("e3", func(u *schemas.User) { u.PhoneNumbers = primaryPhone("ann@example.com") }))
	// Deleting frees every identifier.
	if err := s.DeleteUser(ctx, "d", nil); err != nil {
		t.Fatal(err)
	}
	mustCreateUser(t, s, bare("f", func(u *schemas.User) { u.Emails = primaryEmail("DAN") }))
	mustCreateUser(t, s, bare("g", func(u *schemas.User) { u.UserName = "dan@example.com" }))

	// The key space survives a restart.
	if h.b.Reopen != nil {
		h.reopen(t)
		assertCreateConflict(t, h.s, bare("h", func(u *schemas.User) { u.UserName = "dan" }), storage.FieldUserName)
		assertCreateConflict(t, h.s, bare("i", func(u *schemas.User) { u.Emails = primaryEmail("Dan@Example.com") }), storage.FieldEmail)
	}
}

// testConcurrentLoginIDs races writers that put one value into different
// login fields of different users: exactly one may win.
func testConcurrentLoginIDs(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 30
	raceFields(t, n, "one login identifier through different fields", func(i int) (string, string, error) {
		var field string
		u := bare(fmt.Sprintf("w%03d", i), func(u *schemas.User) {
			switch i % 3 {
			case 0:
				field, u.UserName = storage.FieldUserName, "Shared@Example.com"
			case 1:
				field, u.UserName, u.Emails = storage.FieldEmail, fmt.Sprintf("user%d", i), primaryEmail("shared@example.COM")
			default:
				field, u.UserName, u.PhoneNumbers = storage.FieldPhoneNumber, fmt.Sprintf("user%d", i), primaryPhone("shared@example.com")
			}
		})
		_, err := s.CreateUser(ctx, u, nil)
		return u.ID, field, err
	})

	// Renames of existing users into one identifier through different fields.
	for i := range n {
		mustCreateUser(t, s, bare(fmt.Sprintf("r%03d", i), func(u *schemas.User) { u.UserName = fmt.Sprintf("renamer%d", i) }))
	}
	raceFields(t, n, "renames into one login identifier", func(i int) (string, string, error) {
		id := fmt.Sprintf("r%03d", i)
		_, err := s.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
			if i%2 == 0 {
				u.UserName = "CONTESTED"
			} else {
				u.Emails = primaryEmail("contested")
			}
			return nil
		}, nil)
		return id, []string{storage.FieldUserName, storage.FieldEmail}[i%2], err
	})
}

// testLoginFailures checks the failed-login records behind the login lockout:
// counted per user within a window, forgotten when old or cleared, and durable.
func testLoginFailures(t *testing.T, h *harness) {
	ctx := t.Context()
	t0 := generatedEpoch.Add(time.Hour)
	const window = 15 * time.Minute
	add := func(user string, at time.Time, want int) {
		t.Helper()
		n, err := h.s.AddLoginFailure(ctx, user, at, window)
		if err != nil || n != want {
			t.Fatalf("AddLoginFailure(%s, %v) = %d, %v; want %d", user, at.Sub(t0), n, err, want)
		}
	}
	count := func(user string, since time.Time, want int) {
		t.Helper()
		n, err := h.s.LoginFailures(ctx, user, since)
		if err != nil || n != want {
			t.Fatalf("LoginFailures(%s, since %v) = %d, %v; want %d", user, since.Sub(t0), n, err, want)
		}
	}
	count("u1", t0.Add(-window), 0)
	for i := range 3 {
		add("u1", t0.Add(time.Duration(i)*time.Minute), i+1)
	}
	add("u2", t0, 1)
	count("u1", t0.Add(-window), 3)
	count("u1", t0.Add(time.Minute), 1) // since is exclusive
	count("u1", t0.Add(time.Minute-time.Millisecond), 2)
	count("u2", t0.Add(-window), 1)
	// Failures older than the window are forgotten by the next one.
	add("u1", t0.Add(16*time.Minute+30*time.Second), 2) // t0+2m is within 15m of t0+16m30s
	count("u1", t0, 2)
	// They outlive a restart.
	if h.b.Reopen != nil {
		h.reopen(t)
		count("u1", t0, 2)
		count("u2", t0.Add(-time.Millisecond), 1)
	}
	if err := h.s.ClearLoginFailures(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	count("u1", t0.Add(-window), 0)
	count("u2", t0.Add(-window), 1)
	if err := h.s.ClearLoginFailures(ctx, "nobody"); err != nil {
		t.Fatalf("ClearLoginFailures of a user without failures: %v", err)
	}
	// Recording failures changes no user document.
	mustCreateUser(t, h.s, bare("u3", func(u *schemas.User) { u.UserName = "locked" }))
	add("u3", t0, 1)
	if v := mustGetUser(t, h.s, "u3").Version; v != 1 {
		t.Errorf("a failed login changed the user's version to %d", v)
	}
}

// testConcurrentLoginFailures records failures of one user from many writers
// at once: none is lost.
func testConcurrentLoginFailures(t *testing.T, h *harness) {
	ctx := t.Context()
	const n = 40
	t0 := generatedEpoch.Add(time.Hour)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := h.s.AddLoginFailure(ctx, "victim", t0.Add(time.Duration(i)*time.Millisecond), time.Hour); err != nil {
				t.Errorf("AddLoginFailure: %v", err)
			}
		})
	}
	wg.Wait()
	if got, err := h.s.LoginFailures(ctx, "victim", t0.Add(-time.Millisecond)); err != nil || got != n {
		t.Errorf("after %d concurrent failures LoginFailures = %d, %v", n, got, err)
	}
}
