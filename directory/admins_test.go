package directory

import (
	"testing"
	"time"

	"github.com/scimd/scimd/storage"
)

const adminPW = "correct horse battery"

func TestAdminSignInAndSessions(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	created, err := f.svc.EnsureAdmin(ctx, "Ops@Example.com", adminPW)
	if err != nil || !created {
		t.Fatalf("EnsureAdmin: %v, %v", created, err)
	}
	if created, err := f.svc.EnsureAdmin(ctx, "ops@example.com", "another password entirely"); err != nil || created {
		t.Fatalf("EnsureAdmin again: created %v, %v; want an idempotent no-op", created, err)
	}
	_, err = f.svc.SignIn(ctx, "ops@example.com", "another password entirely", "192.0.2.1", "ua")
	wantKind(t, err, KindUnauthenticated) // the second Ensure did not change the password
	_, err = f.svc.SignIn(ctx, "nobody@example.com", adminPW, "192.0.2.1", "ua")
	wantKind(t, err, KindUnauthenticated)

	tok, err := f.svc.SignIn(ctx, "OPS@example.com", adminPW, "192.0.2.1", "ua")
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	p, err := f.svc.Session(ctx, tok, "192.0.2.9", "ua2")
	if err != nil || p.ActorType != ActorAdmin || p.ActorID != "ops@example.com" || !p.administers() || p.IP != "192.0.2.9" {
		t.Fatalf("Session: %+v, %v", p, err)
	}
	_, err = f.svc.Session(ctx, tok+"x", "", "")
	wantKind(t, err, KindUnauthenticated)

	// Idle expiry: activity keeps the session alive, silence ends it.
	for range 5 {
		f.clock.Add(SessionIdle - time.Minute)
		if _, err := f.svc.Session(ctx, tok, "", ""); err != nil {
			t.Fatalf("an active session ended: %v", err)
		}
	}
	f.clock.Add(SessionIdle)
	_, err = f.svc.Session(ctx, tok, "", "")
	wantKind(t, err, KindUnauthenticated)
	if _, err := f.store.GetSession(ctx, sessionID(tok)); err == nil {
		t.Fatal("an idle-expired session is still stored")
	}

	// Absolute expiry, however active.
	tok, _ = f.svc.SignIn(ctx, "ops@example.com", adminPW, "192.0.2.1", "ua")
	for elapsed := time.Duration(0); elapsed < SessionLifetime-SessionIdle; elapsed += SessionIdle / 2 {
		f.clock.Add(SessionIdle / 2)
		if _, err := f.svc.Session(ctx, tok, "", ""); err != nil {
			t.Fatalf("session ended after %v: %v", elapsed, err)
		}
	}
	f.clock.Add(SessionIdle)
	_, err = f.svc.Session(ctx, tok, "", "")
	wantKind(t, err, KindUnauthenticated)

	// Sign-out ends the session.
	tok, _ = f.svc.SignIn(ctx, "ops@example.com", adminPW, "192.0.2.1", "ua")
	p, _ = f.svc.Session(ctx, tok, "", "")
	if err := f.svc.SignOut(ctx, p, tok); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Session(ctx, tok, "", "")
	wantKind(t, err, KindUnauthenticated)

	page, err := f.svc.ListEvents(ctx, System, storage.EventQuery{ActorID: "ops@example.com", Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range page.Items {
		count[e.Action]++
	}
	if count[ActionAdminSignIn] != 3 || count[ActionAdminSignOut] != 1 || count[ActionAdminFailedSignIn] != 1 {
		t.Fatalf("audit of ops@example.com: %v", count)
	}
}

func TestAdminSignInLimits(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.svc.CreateAdmin(ctx, System, "a@example.com", adminPW); err != nil {
		t.Fatal(err)
	}
	for range MaxUserLoginFailures {
		_, err := f.svc.SignIn(ctx, "a@example.com", "wrong password!", "192.0.2.1", "")
		wantKind(t, err, KindUnauthenticated)
	}
	_, err := f.svc.SignIn(ctx, "a@example.com", adminPW, "192.0.2.2", "")
	wantKind(t, err, KindRateLimited) // the account is locked, even with the right password
	f.clock.Add(LoginFailureWindow)
	if _, err := f.svc.SignIn(ctx, "a@example.com", adminPW, "192.0.2.2", ""); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	for range MaxSignInsPerIP {
		f.svc.SignIn(ctx, "nobody@example.com", "x", "192.0.2.3", "")
	}
	_, err = f.svc.SignIn(ctx, "a@example.com", adminPW, "192.0.2.3", "")
	wantKind(t, err, KindRateLimited)
}

func TestAdminAccounts(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, err := f.svc.CreateAdmin(ctx, System, "a@example.com", "short")
	wantKind(t, err, KindInvalid)
	_, err = f.svc.CreateAdmin(ctx, System, "not an email", adminPW)
	wantKind(t, err, KindInvalid)
	_, err = f.svc.CreateAdmin(ctx, f.pA, "a@example.com", adminPW)
	wantKind(t, err, KindForbidden)
	if _, err := f.svc.CreateAdmin(ctx, System, "a@example.com", adminPW); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CreateAdmin(ctx, System, "A@EXAMPLE.COM", adminPW)
	wantKind(t, err, KindConflict)
	err = f.svc.DeleteAdmin(ctx, System, "a@example.com")
	wantKind(t, err, KindConflict) // the last one

	tok1, _ := f.svc.SignIn(ctx, "a@example.com", adminPW, "192.0.2.1", "")
	tok2, _ := f.svc.SignIn(ctx, "a@example.com", adminPW, "192.0.2.1", "")
	p, _ := f.svc.Session(ctx, tok1, "", "")
	err = f.svc.ChangeAdminPassword(ctx, p, "wrong current pw", "a brand new password", tok1)
	wantKind(t, err, KindInvalid)
	if err := f.svc.ChangeAdminPassword(ctx, p, adminPW, "a brand new password", tok1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Session(ctx, tok1, "", ""); err != nil {
		t.Fatalf("the session that changed the password ended: %v", err)
	}
	_, err = f.svc.Session(ctx, tok2, "", "")
	wantKind(t, err, KindUnauthenticated) // every other session ended

	if _, err := f.svc.CreateAdmin(ctx, p, "b@example.com", adminPW); err != nil {
		t.Fatal(err)
	}
	tokB, _ := f.svc.SignIn(ctx, "b@example.com", adminPW, "192.0.2.1", "")
	if err := f.svc.DeleteAdmin(ctx, p, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Session(ctx, tokB, "", "")
	wantKind(t, err, KindUnauthenticated) // removal ends the removed admin's sessions
	list, err := f.svc.ListAdmins(ctx, p)
	if err != nil || len(list) != 1 || list[0].PasswordHash != "" {
		t.Fatalf("ListAdmins: %+v, %v", list, err)
	}
}
