package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

func newAdmin(id string) *schemas.Admin {
	t0 := ms(2024, time.May, 1, 9, 0, 0, 5)
	return &schemas.Admin{ID: id, Email: "Admin." + id, PasswordHash: "$argon2id$x-" + id, Created: t0, Updated: t0, CreatedBy: "scimd"}
}

func testAdmins(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	ev := &schemas.Event{ID: "ev-admin-1", Time: ms(2024, time.May, 1, 9, 0, 0, 5), ActorID: "scimd", ActorType: "system",
		Action: "createAdmin", TargetID: "b@example.com", TargetType: "admin"}
	if err := s.CreateAdmin(ctx, newAdmin("b@example.com"), ev); err != nil {
		t.Fatalf("CreateAdmin: %v", err)
	}
	if err := s.CreateAdmin(ctx, newAdmin("a@example.com"), nil); err != nil {
		t.Fatalf("CreateAdmin: %v", err)
	}
	err := s.CreateAdmin(ctx, newAdmin("a@example.com"), &schemas.Event{ID: "ev-admin-dup", Time: ev.Time, Action: "createAdmin", TargetID: "a@example.com"})
	if !errors.Is(err, storage.ErrConflict) || storage.ConflictField(err) != storage.FieldID {
		t.Fatalf("CreateAdmin with a taken id: got %v, want a conflict on %s", err, storage.FieldID)
	}
	want := newAdmin("a@example.com")
	want.Version = 1
	got, err := s.GetAdmin(ctx, "a@example.com")
	if err != nil {
		t.Fatalf("GetAdmin: %v", err)
	}
	assertEqual(t, "GetAdmin", want, got)
	_, err = s.GetAdmin(ctx, "nobody@example.com")
	assertErr(t, "GetAdmin of an unknown id", err, storage.ErrNotFound)
	list, err := s.ListAdmins(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "a@example.com" || list[1].ID != "b@example.com" {
		t.Fatalf("ListAdmins: got %v (%v), want a@ then b@", list, err)
	}

	login := ms(2024, time.May, 2, 9, 0, 0, 0)
	up, err := s.UpdateAdmin(ctx, "a@example.com", func(a *schemas.Admin) error { a.LastLogin = login; return nil }, nil)
	if err != nil || up.Version != 2 || !up.LastLogin.Equal(login) {
		t.Fatalf("UpdateAdmin: got %+v, %v; want version 2 with the last login", up, err)
	}
	refuse := errors.New("refused")
	_, err = s.UpdateAdmin(ctx, "a@example.com", func(a *schemas.Admin) error { a.Email = "x"; return refuse },
		&schemas.Event{ID: "ev-admin-refused", Time: login, Action: "updateAdmin", TargetID: "a@example.com"})
	if !errors.Is(err, refuse) {
		t.Fatalf("UpdateAdmin with a failing updater: got %v, want its error", err)
	}
	_, err = s.UpdateAdmin(ctx, "nobody", func(*schemas.Admin) error { return nil }, nil)
	assertErr(t, "UpdateAdmin of an unknown id", err, storage.ErrNotFound)
	got, _ = s.GetAdmin(ctx, "a@example.com")
	if got.Version != 2 || got.Email != "Admin.a@example.com" {
		t.Fatalf("after a refused update: got %+v, want version 2 unchanged", got)
	}

	if err := s.DeleteAdmin(ctx, "b@example.com", &schemas.Event{ID: "ev-admin-del", Time: login, Action: "deleteAdmin", TargetID: "b@example.com"}); err != nil {
		t.Fatalf("DeleteAdmin: %v", err)
	}
	assertErr(t, "DeleteAdmin twice", s.DeleteAdmin(ctx, "b@example.com", nil), storage.ErrNotFound)
	_, err = s.GetAdmin(ctx, "b@example.com")
	assertErr(t, "GetAdmin after delete", err, storage.ErrNotFound)

	// Events: those of committed changes only.
	page, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	ids := map[string]bool{}
	for _, e := range page.Items {
		ids[e.ID] = true
	}
	if !ids["ev-admin-1"] || !ids["ev-admin-del"] || ids["ev-admin-dup"] || ids["ev-admin-refused"] {
		t.Fatalf("events: got %v, want ev-admin-1 and ev-admin-del only", ids)
	}
}

func newSession(id, admin string, created time.Time) *schemas.Session {
	return &schemas.Session{ID: id, AdminID: admin, Created: created, LastSeen: created, Expires: created.Add(12 * time.Hour),
		IP: "192.0.2.1", UserAgent: "Mozilla/5.0 ✓"}
}

func testSessions(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	t0 := ms(2024, time.June, 1, 8, 0, 0, 250)
	if err := s.CreateAdmin(ctx, newAdmin("a@example.com"), nil); err != nil {
		t.Fatalf("CreateAdmin: %v", err)
	}
	if err := s.CreateAdmin(ctx, newAdmin("b@example.com"), nil); err != nil {
		t.Fatalf("CreateAdmin: %v", err)
	}
	ev := &schemas.Event{ID: "ev-signin", Time: t0, ActorID: "a@example.com", ActorType: "admin", Action: "adminSignIn", TargetID: "a@example.com", TargetType: "admin"}
	for _, ss := range []*schemas.Session{newSession("s1", "a@example.com", t0), newSession("s2", "a@example.com", t0),
		newSession("s3", "b@example.com", t0), newSession("old", "b@example.com", t0.Add(-24*time.Hour))} {
		var e *schemas.Event
		if ss.ID == "s1" {
			e = ev
		}
		if err := s.CreateSession(ctx, ss, e); err != nil {
			t.Fatalf("CreateSession %s: %v", ss.ID, err)
		}
	}
	err := s.CreateSession(ctx, newSession("s1", "b@example.com", t0), nil)
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("CreateSession with a taken id: got %v, want a conflict", err)
	}
	got, err := s.GetSession(ctx, "s1")
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	assertEqual(t, "GetSession", newSession("s1", "a@example.com", t0), got)
	_, err = s.GetSession(ctx, "nope")
	assertErr(t, "GetSession of an unknown id", err, storage.ErrNotFound)

	later := t0.Add(5 * time.Minute)
	if err := s.TouchSession(ctx, "s1", later); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	if err := s.TouchSession(ctx, "s1", t0); err != nil {
		t.Fatalf("TouchSession backwards: %v", err)
	}
	got, _ = s.GetSession(ctx, "s1")
	if !got.LastSeen.Equal(later) {
		t.Fatalf("LastSeen: got %v, want %v (it only moves forward)", got.LastSeen, later)
	}
	assertErr(t, "TouchSession of an unknown id", s.TouchSession(ctx, "nope", later), storage.ErrNotFound)

	// Every session of a but s1, and every session expired by t0.
	if err := s.DeleteSessions(ctx, "a@example.com", "s1", t0); err != nil {
		t.Fatalf("DeleteSessions: %v", err)
	}
	for id, want := range map[string]bool{"s1": true, "s2": false, "s3": true, "old": false} {
		_, err := s.GetSession(ctx, id)
		if have := err == nil; have != want {
			t.Errorf("after DeleteSessions, session %s exists: %v (err %v), want %v", id, have, err, want)
		}
	}
	if err := s.DeleteSession(ctx, "s1", &schemas.Event{ID: "ev-signout", Time: later, Action: "adminSignOut", TargetID: "a@example.com"}); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	assertErr(t, "DeleteSession twice", s.DeleteSession(ctx, "s1", nil), storage.ErrNotFound)
	// Deleting an administrator ends its sessions.
	if err := s.DeleteAdmin(ctx, "b@example.com", nil); err != nil {
		t.Fatalf("DeleteAdmin: %v", err)
	}
	_, err = s.GetSession(ctx, "s3")
	assertErr(t, "a session of a deleted admin", err, storage.ErrNotFound)
	page, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
	if err != nil || page.Total != 2 {
		t.Fatalf("events: got %d (%v), want the sign-in and sign-out", page.Total, err)
	}
}
