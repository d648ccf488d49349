package directory

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/testclock"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
)

// fixture is a service on a real embedded store with an admin, two apps and their principals.
type fixture struct {
	svc        *Service
	store      storage.Store
	clock      *testclock.Clock
	admin      Principal
	appA, appB *schemas.App
	pA, pB     Principal
	secretA    string
	mgmt       *schemas.App
	mgmtSecret string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := testclock.At(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	f := &fixture{store: st, clock: c}
	f.svc = New(st, Options{Now: c.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Issuer: "https://scimd.test"})
	ctx := t.Context()
	if err := f.svc.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	f.admin = System
	f.mgmt, f.mgmtSecret, err = f.svc.CreateApp(ctx, f.admin, schemas.AppManagement, &schemas.App{Name: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	f.appA, f.secretA, err = f.svc.CreateApp(ctx, f.admin, schemas.AppRegular, &schemas.App{Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	f.appB, _, err = f.svc.CreateApp(ctx, f.admin, schemas.AppRegular, &schemas.App{Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	f.pA = Principal{AppID: f.appA.ID, Scopes: []Scope{ScopeAdmin}, ActorType: ActorApp, ActorID: f.appA.ClientID}
	f.pB = Principal{AppID: f.appB.ID, Scopes: []Scope{ScopeAdmin}, ActorType: ActorApp, ActorID: f.appB.ClientID}
	return f
}

func wantKind(t *testing.T, err error, k Kind) {
	t.Helper()
	if KindOf(err) != k {
		t.Fatalf("error %v has kind %v, want %v", err, KindOf(err), k)
	}
}

func user(name string) *schemas.User {
	return &schemas.User{UserName: name, Emails: []schemas.Email{{Value: name + "@example.org", Type: "work", Primary: true}},
		Name: schemas.Name{GivenName: "Ada", FamilyName: name}}
}

func TestCreateUserAssignsIDStatusAndApp(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	u, err := f.svc.CreateUser(ctx, f.pA, user("ada"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == "" || u.Version != 1 || u.Status != schemas.StatusPending || !u.Created.Equal(f.clock.Now()) {
		t.Fatalf("created user %+v", u)
	}
	if _, ok := u.Apps[f.appA.ID]; !ok || len(u.Apps) != 1 {
		t.Fatalf("user not assigned to the calling app only: %v", u.Apps)
	}
	// Conflicts name the field, across case variants.
	_, err = f.svc.CreateUser(ctx, f.admin, user("ADA"), nil)
	wantKind(t, err, KindConflict)
	if FieldOf(err) != storage.FieldUserName {
		t.Fatalf("conflict field %q", FieldOf(err))
	}
	// An admin cannot assign a user to an application that does not exist.
	bad := user("bob")
	bad.Apps = map[string]*schemas.AppLink{"no-such-app": {}}
	_, err = f.svc.CreateUser(ctx, f.admin, bad, nil)
	wantKind(t, err, KindInvalid)
	// End users cannot create users.
	_, err = f.svc.CreateUser(ctx, Principal{UserID: u.ID, AppID: f.appA.ID}, user("eve"), nil)
	wantKind(t, err, KindForbidden)
}

func TestAppCallersSeeOnlyTheirUsers(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, err := f.svc.CreateUser(ctx, f.pA, user("ada"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateUser(ctx, f.pB, user("bob"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.GetUser(ctx, f.pB, a.ID)
	wantKind(t, err, KindNotFound)
	_, err = f.svc.FindUser(ctx, f.pB, storage.FieldUserName, "ada")
	wantKind(t, err, KindNotFound)
	_, err = f.svc.UpdateUser(ctx, f.pB, a.ID, 0, UserChange{Apply: func(u *schemas.User) error { u.Title = "x"; return nil }})
	wantKind(t, err, KindNotFound)
	page, err := f.svc.ListUsers(ctx, f.pB, storage.Query{Limit: storage.Unlimited})
	if err != nil || page.Total != 1 || page.Items[0].UserName != "bob" {
		t.Fatalf("app B lists %+v, %v", page, err)
	}
	all, err := f.svc.ListUsers(ctx, f.admin, storage.Query{Limit: 0})
	if err != nil || all.Total != 2 {
		t.Fatalf("admin counts %d, %v", all.Total, err)
	}
	// B cannot touch A's app-level data through an update of its own user either.
	if err := f.svc.RemoveUserFromApp(ctx, f.pA, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.GetUser(ctx, f.pA, a.ID)
	wantKind(t, err, KindNotFound)
	if got, err := f.svc.GetUser(ctx, f.admin, a.ID); err != nil || len(got.Apps) != 0 {
		t.Fatalf("after removal from app: %+v, %v", got, err)
	}
}

func TestUpdateUserKeepsInvariants(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	u, _ := f.svc.CreateUser(ctx, f.pA, user("ada"), nil)
	f.clock.Add(time.Minute)
	// An application cannot assign the user to another application: 403, nothing changes.
	_, err := f.svc.UpdateUser(ctx, f.pA, u.ID, u.Version, UserChange{Apply: func(x *schemas.User) error {
		x.Title = "sneaky"
		x.Apps = map[string]*schemas.AppLink{f.appB.ID: {ExternalAccountID: "sneaky"}}
		return nil
	}})
	wantKind(t, err, KindForbidden)
	got, err := f.svc.UpdateUser(ctx, f.pA, u.ID, u.Version, UserChange{Apply: func(x *schemas.User) error {
		x.ID, x.Created, x.Title, x.Status = "hijack", time.Time{}, "Countess", schemas.StatusDisabled
		x.GroupIDs = []string{"g"}
		x.Apps = nil // dropping its own app's link does not detach the user
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || !got.Created.Equal(u.Created) || got.Title != "Countess" || got.Version != 2 ||
		len(got.GroupIDs) != 0 || got.Apps[f.appB.ID] != nil || got.Apps[f.appA.ID] == nil {
		t.Fatalf("invariants broken: %+v", got)
	}
	if got.Status != schemas.StatusDisabled || !got.StatusChangedAt.Equal(f.clock.Now()) || !got.Updated.Equal(f.clock.Now()) {
		t.Fatalf("status bookkeeping: %+v", got)
	}
	// A stale If-Match fails and changes nothing.
	_, err = f.svc.UpdateUser(ctx, f.pA, u.ID, u.Version, UserChange{Apply: func(x *schemas.User) error { x.Title = "late"; return nil }})
	wantKind(t, err, KindPrecondition)
	// Oversized custom data is refused whole.
	big := strings.Repeat("x", MaxCustomDataBytes)
	_, err = f.svc.UpdateUser(ctx, f.admin, u.ID, 0, UserChange{Apply: func(x *schemas.User) error {
		x.Title = "changed"
		x.CustomData = map[string]any{"blob": big}
		return nil
	}})
	wantKind(t, err, KindTooLarge)
	if now, _ := f.svc.GetUser(ctx, f.admin, u.ID); now.Title != "Countess" || now.Version != 2 {
		t.Fatalf("a refused update changed the user: %+v", now)
	}
	// Invalid emails and two primaries are refused.
	for _, emails := range [][]schemas.Email{{{Value: "not an email"}}, {{Value: "a@x.org", Primary: true}, {Value: "b@x.org", Primary: true}}} {
		_, err = f.svc.UpdateUser(ctx, f.admin, u.ID, 0, UserChange{Apply: func(x *schemas.User) error { x.Emails = emails; return nil }})
		wantKind(t, err, KindInvalid)
	}
}

func TestDeleteUserNeedsAdminAndEventsOutliveTheUser(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	u, _ := f.svc.CreateUser(ctx, f.pA, user("ada"), &PasswordInput{Password: "s3cret-password"})
	wantKind(t, f.svc.DeleteUser(ctx, f.pA, u.ID), KindForbidden)
	if err := f.svc.DeleteUser(ctx, f.admin, u.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.svc.DeleteUser(ctx, f.admin, u.ID), KindNotFound)
	events, err := f.svc.ListEvents(ctx, f.admin, storage.EventQuery{TargetID: u.ID, Limit: storage.Unlimited})
	if err != nil || events.Total != 2 {
		t.Fatalf("events %+v, %v", events, err)
	}
	if events.Items[0].Action != ActionDeleteUser || events.Items[1].Action != ActionCreateUser {
		t.Fatalf("actions %s, %s", events.Items[0].Action, events.Items[1].Action)
	}
	b, _ := json.Marshal(events.Items[1].Changes)
	if strings.Contains(string(b), "argon2") || !strings.Contains(string(b), redacted) {
		t.Fatalf("password not redacted in audit changes: %s", b)
	}
	_, err = f.svc.ListEvents(ctx, f.pA, storage.EventQuery{})
	wantKind(t, err, KindForbidden)
}

func TestGroupMembership(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, _ := f.svc.CreateUser(ctx, f.pA, user("ada"), nil)
	b, _ := f.svc.CreateUser(ctx, f.pB, user("bob"), nil)
	// Apps cannot create groups; a bad member creates nothing.
	_, err := f.svc.CreateGroup(ctx, f.pA, &schemas.Group{DisplayName: "Eng"}, []string{a.ID})
	wantKind(t, err, KindForbidden)
	_, err = f.svc.CreateGroup(ctx, f.admin, &schemas.Group{DisplayName: "Eng"}, []string{a.ID, "nope"})
	wantKind(t, err, KindNotFound)
	if page, _ := f.svc.ListGroups(ctx, f.admin, storage.Query{}); page.Total != 0 {
		t.Fatalf("a refused creation left %d groups", page.Total)
	}
	g, err := f.svc.CreateGroup(ctx, f.admin, &schemas.Group{DisplayName: "Eng"}, []string{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CreateGroup(ctx, f.admin, &schemas.Group{DisplayName: "ENG"}, nil)
	wantKind(t, err, KindConflict)
	// App A may not rename or delete the group, nor make B's user a member.
	_, err = f.svc.UpdateGroup(ctx, f.pA, g.ID, 0, func(g *schemas.Group) error { g.DisplayName = "Mine"; return nil })
	wantKind(t, err, KindForbidden)
	wantKind(t, f.svc.DeleteGroup(ctx, f.pA, g.ID), KindForbidden)
	wantKind(t, f.svc.AddMembers(ctx, f.pA, g.ID, []string{b.ID}), KindNotFound)
	cur, _ := f.svc.GetGroup(ctx, f.admin, g.ID)
	if same, err := f.svc.UpdateGroup(ctx, f.pA, g.ID, 0, func(*schemas.Group) error { return nil }); err != nil || same.Version != cur.Version || same.DisplayName != "Eng" {
		t.Fatalf("an app's no-op update: %+v, %v", same, err)
	}
	ids, _ := f.svc.GroupMemberIDs(ctx, f.admin, g.ID)
	mine, _ := f.svc.GroupMemberIDs(ctx, f.pA, g.ID)
	if len(ids) != 2 || len(mine) != 1 || mine[0] != a.ID {
		t.Fatalf("members: admin %v, app A %v", ids, mine)
	}
	// App A replacing the members leaves B's user alone.
	if err := f.svc.ReplaceMembers(ctx, f.pA, g.ID, nil); err != nil {
		t.Fatal(err)
	}
	if ids, _ := f.svc.GroupMemberIDs(ctx, f.admin, g.ID); len(ids) != 1 || ids[0] != b.ID {
		t.Fatalf("after app A's replace: %v", ids)
	}
	before, _ := f.svc.GetGroup(ctx, f.admin, g.ID)
	if err := f.svc.AddMembers(ctx, f.admin, g.ID, []string{a.ID}); err != nil {
		t.Fatal(err)
	}
	after, _ := f.svc.GetGroup(ctx, f.admin, g.ID)
	if after.Version <= before.Version {
		t.Fatalf("group version did not change with its members: %d → %d", before.Version, after.Version)
	}
	groups, err := f.svc.UserGroups(ctx, f.pA, a.ID)
	if err != nil || len(groups) != 1 || groups[0].ID != g.ID {
		t.Fatalf("user groups %v, %v", groups, err)
	}
	wantKind(t, f.svc.AddMembers(ctx, f.admin, "no-such-group", []string{a.ID}), KindNotFound)
	if err := f.svc.DeleteGroup(ctx, f.admin, g.ID); err != nil {
		t.Fatal(err)
	}
	if u, _ := f.svc.GetUser(ctx, f.admin, a.ID); len(u.GroupIDs) != 0 {
		t.Fatalf("deleting the group left membership %v", u.GroupIDs)
	}
}

func TestClientCredentialsAndTokens(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tok, err := f.svc.IssueClientToken(ctx, f.mgmt.ClientID, f.mgmtSecret, "", "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(ctx, tok.Token)
	if err != nil || !p.Admin || p.AppID != "" || p.ActorID != f.mgmt.ClientID {
		t.Fatalf("admin principal %+v, %v", p, err)
	}
	tokA, _ := f.svc.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	p, err = f.svc.Authenticate(ctx, tokA.Token)
	if err != nil || p.Admin || p.AppID != f.appA.ID {
		t.Fatalf("app principal %+v, %v", p, err)
	}
	_, err = f.svc.IssueClientToken(ctx, f.appA.ClientID, "wrong", "", "")
	wantKind(t, err, KindUnauthenticated)

	// Tampering, alg none, garbage: all 401.
	parts := strings.Split(tokA.Token, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(claims), f.appA.ID, f.appB.ID, 1)
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	for name, bad := range map[string]string{
		"tampered": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2],
		"alg none": none + "." + parts[1] + ".",
		"garbage":  "abc.def.ghi",
		"empty":    "",
	} {
		if _, err := f.svc.Authenticate(ctx, bad); KindOf(err) != KindUnauthenticated {
			t.Errorf("%s token: %v", name, err)
		}
	}

	// A second replica on the same store verifies the first one's tokens, and
	// rotation keeps live tokens valid.
	replica := New(f.store, Options{Now: f.clock.Now, Logger: f.svc.log, Issuer: "https://scimd.test"})
	if err := replica.RotateSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := replica.Authenticate(ctx, tok.Token); err != nil {
		t.Fatalf("token signed before rotation rejected by another replica: %v", err)
	}
	newTok, _ := replica.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	if _, err := f.svc.Authenticate(ctx, newTok.Token); err != nil {
		t.Fatalf("token signed with the rotated key rejected by the first replica: %v", err)
	}
	// Expiry.
	f.clock.Add(AccessTokenTTL + time.Minute)
	_, err = f.svc.Authenticate(ctx, tok.Token)
	wantKind(t, err, KindUnauthenticated)

	// Secret rotation: the old secret stops working; deleting the app kills its tokens.
	_, newSecret, err := f.svc.RotateSecret(ctx, f.admin, schemas.AppRegular, f.appA.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	wantKind(t, err, KindUnauthenticated)
	fresh, err := f.svc.IssueClientToken(ctx, f.appA.ClientID, newSecret, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteApp(ctx, f.admin, schemas.AppRegular, f.appA.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Authenticate(ctx, fresh.Token)
	wantKind(t, err, KindUnauthenticated)
	wantKind(t, f.svc.DeleteApp(ctx, f.admin, schemas.AppManagement, f.mgmt.ID), KindInvalid)
}

func TestAPITokens(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, _, err := f.svc.CreateAPIToken(ctx, f.pA, "okta", "", nil, time.Time{})
	wantKind(t, err, KindForbidden)
	rec, token, err := f.svc.CreateAPIToken(ctx, f.admin, "okta", f.appA.ID, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rec.Hash, token) || !strings.HasPrefix(token, apiTokenPrefix) {
		t.Fatalf("token %q stored as %q", token, rec.Hash)
	}
	p, err := f.svc.Authenticate(ctx, token)
	if err != nil || p.Admin || p.AppID != f.appA.ID || p.ActorType != ActorAPIToken {
		t.Fatalf("api token principal %+v, %v", p, err)
	}
	list, _ := f.svc.ListAPITokens(ctx, f.admin)
	if len(list) != 1 || list[0].LastUsedAt.IsZero() {
		t.Fatalf("last use not recorded: %+v", list)
	}
	if err := f.svc.DeleteAPIToken(ctx, f.admin, rec.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Authenticate(ctx, token)
	wantKind(t, err, KindUnauthenticated)
	// Expiring tokens.
	_, tok2, _ := f.svc.CreateAPIToken(ctx, f.admin, "entra", "", nil, f.clock.Now().Add(time.Hour))
	if p, err := f.svc.Authenticate(ctx, tok2); err != nil || !p.Admin {
		t.Fatalf("unbound token: %+v, %v", p, err)
	}
	f.clock.Add(2 * time.Hour)
	_, err = f.svc.Authenticate(ctx, tok2)
	wantKind(t, err, KindUnauthenticated)
}

// TestAPITokenScopes checks what each scope allows, the default scope, and
// what tokens stored before scopes existed act with.
func TestAPITokenScopes(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	principal := func(token string) Principal {
		t.Helper()
		p, err := f.svc.Authenticate(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	mint := func(appID string, scopes ...Scope) Principal {
		t.Helper()
		rec, token, err := f.svc.CreateAPIToken(ctx, f.admin, "t", appID, scopes, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		p := principal(token)
		if !slices.Equal(p.Scopes, rec.Scopes) {
			t.Fatalf("principal scopes %v, record %v", p.Scopes, rec.Scopes)
		}
		return p
	}
	legacy := func(appID string) Principal {
		t.Helper()
		token := apiTokenPrefix + NewSecret()
		if err := f.store.CreateAPIToken(ctx, &schemas.APIToken{ID: NewID(), Hash: hashAPIToken(token), AppID: appID, Created: f.clock.Now()}, nil); err != nil {
			t.Fatal(err)
		}
		return principal(token)
	}

	def := mint("")
	if !slices.Equal(def.Scopes, []Scope{ScopeSCIM}) {
		t.Fatalf("default scopes %v, want [scim]", def.Scopes)
	}
	if _, _, err := f.svc.CreateAPIToken(ctx, f.admin, "t", "", []Scope{"root"}, time.Time{}); KindOf(err) != KindInvalid {
		t.Fatalf("unknown scope: %v", err)
	}
	if p := mint("", ScopeAdmin, ScopeRead, ScopeAdmin); !slices.Equal(p.Scopes, []Scope{ScopeRead, ScopeAdmin}) {
		t.Fatalf("scopes not deduplicated and ordered: %v", p.Scopes)
	}
	read, admin, boundSCIM := mint("", ScopeRead), mint("", ScopeAdmin), mint(f.appA.ID)
	oldUnbound, oldBound := legacy(""), legacy(f.appA.ID)
	if !slices.Equal(oldUnbound.Scopes, []Scope{ScopeSCIM}) || !slices.Equal(oldBound.Scopes, []Scope{ScopeAdmin}) {
		t.Fatalf("legacy tokens act as %v (unbound) and %v (bound), want [scim] and [admin]", oldUnbound.Scopes, oldBound.Scopes)
	}

	type rights struct{ read, write, deleteUser, mintToken, createApp, updateOwnApp bool }
	for name, c := range map[string]struct {
		p    Principal
		want rights
	}{
		"default (scim)":      {def, rights{true, true, true, false, false, false}},
		"legacy unbound":      {oldUnbound, rights{true, true, true, false, false, false}},
		"read":                {read, rights{true, false, false, false, false, false}},
		"admin":               {admin, rights{true, true, true, true, true, true}},
		"bound to A, scim":    {boundSCIM, rights{true, true, false, false, false, false}},
		"legacy bound to A":   {oldBound, rights{true, true, false, false, false, true}},
		"management app (fx)": {f.admin, rights{true, true, true, true, true, true}},
	} {
		t.Run(name, func(t *testing.T) {
			ok := func(err error) bool {
				if err != nil && KindOf(err) != KindForbidden {
					t.Fatalf("unexpected error %v", err)
				}
				return err == nil
			}
			// Every check runs on a fresh user of app A, visible to each principal.
			victim, err := f.svc.CreateUser(ctx, f.pA, user("u"+NewID()), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got rights
			_, err = f.svc.ListUsers(ctx, c.p, storage.Query{})
			got.read = ok(err)
			_, err = f.svc.CreateUser(ctx, c.p, user("u"+NewID()), nil)
			got.write = ok(err)
			got.deleteUser = ok(f.svc.DeleteUser(ctx, c.p, victim.ID))
			_, _, err = f.svc.CreateAPIToken(ctx, c.p, "escalate", "", []Scope{ScopeAdmin}, time.Time{})
			got.mintToken = ok(err)
			_, _, err = f.svc.CreateApp(ctx, c.p, schemas.AppManagement, &schemas.App{Name: "escalate"})
			got.createApp = ok(err)
			_, err = f.svc.UpdateApp(ctx, c.p, schemas.AppRegular, f.appA.ID, func(a *schemas.App) error { return nil })
			got.updateOwnApp = ok(err)
			if got != c.want {
				t.Fatalf("rights %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestPasswordLogin(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	u, err := f.svc.CreateUser(ctx, f.pA, user("ada"), &PasswordInput{Password: "temporary-1", Temporary: true})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "temporary-1")
	if KindOf(err) != KindForbidden || FieldOf(err) != FieldTemporaryPassword {
		t.Fatalf("temporary password login: %v", err)
	}
	tok, got, err := f.svc.ReplaceTemporaryPassword(ctx, Client{}, f.appA.ClientID, Email("ADA@example.org"), "temporary-1", "permanent-22")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != schemas.StatusActive || !got.LastAuth.Equal(f.clock.Now()) || !got.Apps[f.appA.ID].LastLogin.Equal(f.clock.Now()) {
		t.Fatalf("after first login: %+v", got)
	}
	p, err := f.svc.Authenticate(ctx, tok.Token)
	if err != nil || p.UserID != u.ID || p.AppID != f.appA.ID {
		t.Fatalf("user principal %+v, %v", p, err)
	}
	// A user token cannot manage users, and reaches only itself.
	_, err = f.svc.ListUsers(ctx, p, storage.Query{})
	wantKind(t, err, KindForbidden)
	// Not assigned to app B: refused.
	_, _, err = f.svc.PasswordLogin(ctx, Client{}, f.appB.ClientID, Username("ada"), "permanent-22")
	wantKind(t, err, KindForbidden)
	// Disabled users cannot log in and their tokens stop working.
	if _, err := f.svc.UpdateUser(ctx, f.admin, u.ID, 0, UserChange{Apply: func(x *schemas.User) error { x.Status = schemas.StatusDisabled; return nil }}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "permanent-22")
	wantKind(t, err, KindForbidden)
	_, err = f.svc.Authenticate(ctx, tok.Token)
	wantKind(t, err, KindUnauthenticated)
	// Lock-out after repeated failures, even with the right password afterwards.
	if _, err := f.svc.UpdateUser(ctx, f.admin, u.ID, 0, UserChange{Apply: func(x *schemas.User) error { x.Status = schemas.StatusActive; return nil }}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxUserLoginFailures; i++ {
		_, _, err = f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "wrong-password")
		wantKind(t, err, KindUnauthenticated)
	}
	_, _, err = f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "permanent-22")
	wantKind(t, err, KindRateLimited)
	f.clock.Add(LoginFailureWindow)
	if _, _, err := f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "permanent-22"); err != nil {
		t.Fatalf("login after the lock-out window: %v", err)
	}
	// Unknown users and clients.
	_, _, err = f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("nobody"), "whatever-1")
	wantKind(t, err, KindUnauthenticated)
	_, _, err = f.svc.PasswordLogin(ctx, Client{}, "no-client", Username("ada"), "permanent-22")
	wantKind(t, err, KindUnauthenticated)
}

func TestSetPassword(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	u, _ := f.svc.CreateUser(ctx, f.pA, user("ada"), nil)
	if err := f.svc.SetPassword(ctx, f.pA, u.ID, PasswordInput{Password: "first-password"}, true); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.svc.SetPassword(ctx, f.pA, u.ID, PasswordInput{Password: "second-password"}, true), KindConflict)
	wantKind(t, f.svc.SetPassword(ctx, f.pA, u.ID, PasswordInput{Password: "short"}, false), KindInvalid)
	if err := f.svc.SetPassword(ctx, f.pA, u.ID, PasswordInput{Password: "second-password"}, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "second-password"); err != nil {
		t.Fatalf("login with the replaced password: %v", err)
	}
	wantKind(t, f.svc.SetPassword(ctx, f.pB, u.ID, PasswordInput{Password: "third-password"}, false), KindNotFound)
}

func TestBootstrap(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// The fixture already has apps: no generated bootstrap.
	if _, _, created, err := f.svc.BootstrapIfEmpty(ctx); err != nil || created {
		t.Fatalf("bootstrap on a non-empty store: %v %v", created, err)
	}
	created, err := f.svc.EnsureManagementApp(ctx, "ops-id", "ops-secret")
	if err != nil || !created {
		t.Fatalf("EnsureManagementApp: %v %v", created, err)
	}
	if again, err := f.svc.EnsureManagementApp(ctx, "ops-id", "ops-secret"); err != nil || again {
		t.Fatalf("second EnsureManagementApp: %v %v", again, err)
	}
	if _, err := f.svc.IssueClientToken(ctx, "ops-id", "ops-secret", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EnsureManagementApp(ctx, f.appA.ClientID, "x"); err == nil {
		t.Fatal("a regular app's client id was turned into a management app")
	}
	empty, _ := embedded.Open(t.TempDir())
	defer empty.Close()
	svc := New(empty, Options{Logger: f.svc.log})
	id, secret, created, err := svc.BootstrapIfEmpty(ctx)
	if err != nil || !created || id == "" || secret == "" {
		t.Fatalf("bootstrap on an empty store: %q %q %v %v", id, secret, created, err)
	}
	if _, err := svc.IssueClientToken(ctx, id, secret, "", ""); err != nil {
		t.Fatal(err)
	}
}

func TestAssignUserToApp(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// A user created with an admin token belongs to no application: it cannot log in.
	u, err := f.svc.CreateUser(ctx, f.admin, user("ada"), &PasswordInput{Password: "password-123"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "password-123")
	wantKind(t, err, KindForbidden)
	_, err = f.svc.GetUser(ctx, f.pA, u.ID)
	wantKind(t, err, KindNotFound)

	// Only admins assign; an app cannot pull tenant users into its scope.
	wantKind(t, f.svc.AssignUserToApp(ctx, f.pA, u.ID, f.appA.ID), KindForbidden)
	wantKind(t, f.svc.AssignUserToApp(ctx, f.admin, u.ID, "no-such-app"), KindNotFound)
	wantKind(t, f.svc.AssignUserToApp(ctx, f.admin, u.ID, f.mgmt.ID), KindNotFound)
	wantKind(t, f.svc.AssignUserToApp(ctx, f.admin, "no-such-user", f.appA.ID), KindNotFound)

	if err := f.svc.AssignUserToApp(ctx, f.admin, u.ID, f.appA.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.GetUser(ctx, f.pA, u.ID)
	if err != nil || !got.Apps[f.appA.ID].AssignedAt.Equal(f.clock.Now()) {
		t.Fatalf("after assignment app A sees %+v, %v", got, err)
	}
	// Idempotent: a second assignment changes nothing, not even the version.
	f.clock.Add(time.Hour)
	if err := f.svc.AssignUserToApp(ctx, f.admin, u.ID, f.appA.ID); err != nil {
		t.Fatal(err)
	}
	again, _ := f.svc.GetUser(ctx, f.admin, u.ID)
	if again.Version != got.Version {
		t.Fatalf("re-assignment bumped the version %d → %d", got.Version, again.Version)
	}
	if _, _, err := f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "password-123"); err != nil {
		t.Fatalf("login after assignment: %v", err)
	}
	events, _ := f.svc.ListEvents(ctx, f.admin, storage.EventQuery{TargetID: u.ID, Action: ActionAssignUserToApp, Limit: storage.Unlimited})
	if events.Total != 1 {
		t.Fatalf("%d assignment events, want 1", events.Total)
	}
}

// Nothing an end user does with their own token assigns them to an application
// (a /Me write used to re-assign a user the application had removed).
func TestEndUserWriteAssignsNothing(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	u, err := f.svc.CreateUser(ctx, f.pA, user("ada"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RemoveUserFromApp(ctx, f.pA, u.ID); err != nil {
		t.Fatal(err)
	}
	me := Principal{UserID: u.ID, AppID: f.pA.AppID, ActorType: ActorUser, ActorID: u.ID}
	got, err := f.svc.UpdateUser(ctx, me, u.ID, 0, UserChange{Apply: func(x *schemas.User) error { x.NickName = "Ada"; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, assigned := got.Apps[f.pA.AppID]; assigned || got.NickName != "Ada" {
		t.Fatalf("an end user's write re-assigned them to the app: %+v", got.Apps)
	}
}
