package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

func newApp(id, kind, clientID string) *schemas.App {
	t0 := ms(2024, time.April, 2, 10, 0, 0, 123)
	return &schemas.App{
		ID:                id,
		Kind:              kind,
		Name:              "App " + id,
		Description:       "Application " + id + " ✓",
		LoginURI:          "https://" + id + ".example.com/login",
		RedirectURIs:      []string{"https://" + id + ".example.com/cb", "http://localhost:8080/cb"},
		AllowPublicSignup: kind == schemas.AppRegular,
		ClientID:          clientID,
		Secrets: []schemas.ClientSecret{
			{Hash: "$argon2id$old-" + id, Created: t0, Expires: t0.Add(30 * 24 * time.Hour)},
			{Hash: "$argon2id$new-" + id, Created: t0.Add(time.Hour)},
		},
		Created: t0,
		Updated: t0.Add(time.Hour),
	}
}

func testAppCRUD(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	in := newApp("a2", schemas.AppRegular, "client-a2")
	arg := in.Clone()
	created, err := s.CreateApp(ctx, arg, nil)
	if err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
	want := in.Clone()
	want.Version = 1
	assertEqual(t, "CreateApp result", want, created)
	arg.RedirectURIs[0] = "mutated"
	arg.Secrets[0].Hash = "mutated"
	created.RedirectURIs[1] = "mutated"
	got, err := s.GetApp(ctx, "a2")
	if err != nil {
		t.Fatalf("GetApp: %v", err)
	}
	assertEqual(t, "GetApp", want, got)
	got.Secrets[1].Hash = "mutated"
	got, err = s.FindAppByClientID(ctx, "client-a2")
	if err != nil {
		t.Fatalf("FindAppByClientID: %v", err)
	}
	assertEqual(t, "FindAppByClientID", want, got)
	_, err = s.FindAppByClientID(ctx, "CLIENT-A2")
	assertErr(t, "FindAppByClientID in another case (client ids are case-exact)", err, storage.ErrNotFound)
	_, err = s.FindAppByClientID(ctx, "nope")
	assertErr(t, "FindAppByClientID(unknown)", err, storage.ErrNotFound)
	_, err = s.GetApp(ctx, "nope")
	assertErr(t, "GetApp(unknown)", err, storage.ErrNotFound)

	mustCreateApp(t, s, newApp("a1", schemas.AppManagement, "client-a1"))
	mustCreateApp(t, s, newApp("a3", schemas.AppRegular, "client-a3"))
	mustCreateApp(t, s, newApp("a0", schemas.AppManagement, "client-a0"))
	for _, c := range []struct {
		kind string
		want []string
	}{
		{"", []string{"a0", "a1", "a2", "a3"}},
		{schemas.AppRegular, []string{"a2", "a3"}},
		{schemas.AppManagement, []string{"a0", "a1"}},
		{"other", nil},
	} {
		apps, err := s.ListApps(ctx, c.kind)
		if err != nil {
			t.Fatalf("ListApps(%q): %v", c.kind, err)
		}
		var appIDs []string
		for _, a := range apps {
			appIDs = append(appIDs, a.ID)
			if a.ID == "a2" {
				assertEqual(t, "ListApps item", want, a)
			}
		}
		if !slices.Equal(appIDs, c.want) {
			t.Errorf("ListApps(%q) = %v, want %v (id order)", c.kind, appIDs, c.want)
		}
	}

	// Update: version +1, the client id moves with the app.
	updated, err := s.UpdateApp(ctx, "a2", func(a *schemas.App) error {
		a.Name = "Renamed"
		a.ClientID = "client-a2-new"
		a.Secrets = a.Secrets[1:]
		a.RedirectURIs = nil
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("UpdateApp: %v", err)
	}
	want.Version = 2
	want.Name = "Renamed"
	want.ClientID = "client-a2-new"
	want.Secrets = want.Secrets[1:]
	want.RedirectURIs = nil
	assertEqual(t, "UpdateApp result", want, updated)
	got, err = s.GetApp(ctx, "a2")
	if err != nil {
		t.Fatalf("GetApp: %v", err)
	}
	assertEqual(t, "GetApp after update", want, got)
	_, err = s.FindAppByClientID(ctx, "client-a2")
	assertErr(t, "FindAppByClientID(old client id)", err, storage.ErrNotFound)
	if got, err := s.FindAppByClientID(ctx, "client-a2-new"); err != nil || got.ID != "a2" {
		t.Errorf("FindAppByClientID(new client id): %v", err)
	}
	errBoom := errors.New("boom")
	_, err = s.UpdateApp(ctx, "a2", func(a *schemas.App) error { a.Name = "no"; return errBoom }, nil)
	if err != errBoom {
		t.Errorf("UpdateApp with a failing updater: got %v, want the updater's error unchanged", err)
	}
	_, err = s.UpdateApp(ctx, "nope", func(a *schemas.App) error { return nil }, nil)
	assertErr(t, "UpdateApp(unknown)", err, storage.ErrNotFound)
	got, _ = s.GetApp(ctx, "a2")
	assertEqual(t, "GetApp after a failed update", want, got)

	// Delete.
	if err := s.DeleteApp(ctx, "a2", nil); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}
	_, err = s.GetApp(ctx, "a2")
	assertErr(t, "GetApp after delete", err, storage.ErrNotFound)
	_, err = s.FindAppByClientID(ctx, "client-a2-new")
	assertErr(t, "FindAppByClientID after delete", err, storage.ErrNotFound)
	assertErr(t, "DeleteApp twice", s.DeleteApp(ctx, "a2", nil), storage.ErrNotFound)
	apps, err := s.ListApps(ctx, "")
	if err != nil || len(apps) != 3 {
		t.Errorf("ListApps after delete: %d apps, %v; want 3", len(apps), err)
	}
	// The client id is free again.
	mustCreateApp(t, s, newApp("a4", schemas.AppRegular, "client-a2-new"))
}

func testUniqueApp(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	mustCreateApp(t, s, newApp("a1", schemas.AppRegular, "client-1"))
	mustCreateApp(t, s, newApp("a2", schemas.AppRegular, "client-2"))
	_, err := s.CreateApp(ctx, newApp("a3", schemas.AppManagement, "client-1"), nil)
	assertConflict(t, "CreateApp with a taken clientId", err, storage.FieldClientID)
	_, err = s.GetApp(ctx, "a3")
	assertErr(t, "GetApp after a conflicting create", err, storage.ErrNotFound)
	// Client ids are case-exact.
	mustCreateApp(t, s, newApp("a4", schemas.AppRegular, "CLIENT-1"))

	_, err = s.UpdateApp(ctx, "a2", func(a *schemas.App) error { a.ClientID = "client-1"; a.Name = "x"; return nil }, nil)
	assertConflict(t, "UpdateApp to a taken clientId", err, storage.FieldClientID)
	got, err := s.GetApp(ctx, "a2")
	if err != nil {
		t.Fatalf("GetApp: %v", err)
	}
	if got.ClientID != "client-2" || got.Version != 1 || got.Name != "App a2" {
		t.Errorf("app after a conflicting update: %q %q v%d", got.ClientID, got.Name, got.Version)
	}
}

func testAppCustomDataLarge(t *testing.T, h *harness) {
	s := h.s
	data := bigJSON(500 << 10)
	u := NewUser(1)
	at := ms(2024, time.May, 5, 5, 5, 5, 5)
	u.Apps = map[string]*schemas.AppLink{
		"a1": {ExternalAccountID: "acct-1", CustomAppData: data, AssignedAt: at},
		"a2": {CustomAppData: edgeJSON(), AssignedAt: at, LastLogin: at.Add(time.Hour)},
	}
	mustCreateUser(t, s, u.Clone())
	got := mustGetUser(t, s, u.ID)
	if got.Apps["a1"] == nil || got.Apps["a2"] == nil {
		t.Fatalf("Apps after create: %v", got.Apps)
	}
	if d := diff(data, got.Apps["a1"].CustomAppData); d != "" {
		t.Errorf("CustomAppData (500 KB) differs: %s", d)
	}
	assertUser(t, "user with 500 KB of app data", withVersion(u, 1), got)
}

func testDeleteAppUnlinksUsers(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	mustCreateApp(t, s, newApp("a1", schemas.AppRegular, "c1"))
	mustCreateApp(t, s, newApp("a2", schemas.AppRegular, "c2"))
	at := ms(2024, time.May, 5, 5, 5, 5, 5)
	link := func(plan string) *schemas.AppLink {
		return &schemas.AppLink{ExternalAccountID: "acct-" + plan, CustomAppData: map[string]any{"plan": plan}, AssignedAt: at}
	}
	u1, u2, u3 := NewUser(1), NewUser(2), NewUser(3)
	u1.Apps = map[string]*schemas.AppLink{"a1": link("pro"), "a2": link("free")}
	u2.Apps = map[string]*schemas.AppLink{"a1": link("basic")}
	for _, u := range []*schemas.User{u1, u2, u3} {
		mustCreateUser(t, s, u.Clone())
	}
	if err := s.DeleteApp(ctx, "a1", nil); err != nil {
		t.Fatalf("DeleteApp: %v", err)
	}
	want1 := withVersion(u1, 2)
	delete(want1.Apps, "a1")
	assertUser(t, "user assigned to the deleted app and another", want1, mustGetUser(t, s, u1.ID))
	want2 := withVersion(u2, 2)
	want2.Apps = nil
	assertUser(t, "user assigned only to the deleted app", want2, mustGetUser(t, s, u2.ID))
	assertUser(t, "user assigned to no app", withVersion(u3, 1), mustGetUser(t, s, u3.ID))
	if _, err := s.GetApp(ctx, "a2"); err != nil {
		t.Errorf("GetApp(other app): %v", err)
	}
	// App-scoped filters no longer see the deleted app's data.
	checkListUsers(t, s, `custom_app_data.plan pr`, nativeOpts("a1"), nil, []string{})
	checkListUsers(t, s, `custom_app_data.plan pr`, nativeOpts("a2"), nil, []string{u1.ID})
}

// ---- API tokens ----

func newToken(id, hash string) *schemas.APIToken {
	t0 := ms(2024, time.June, 6, 6, 6, 6, 600)
	return &schemas.APIToken{
		ID:          id,
		Description: "Okta connector " + id,
		Hash:        hash,
		AppID:       "a1",
		Scopes:      []string{"read", "scim"},
		Created:     t0,
		Expires:     t0.Add(365 * 24 * time.Hour),
		CreatedBy:   "u00000001",
	}
}

func findToken(t *testing.T, s storage.Store, hash string) *schemas.APIToken {
	t.Helper()
	tok, err := s.FindAPIToken(t.Context(), hash)
	if err != nil {
		t.Fatalf("FindAPIToken(%s): %v", hash, err)
	}
	return tok
}

func testAPITokens(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	t2 := newToken("t2", "hash-2")
	t2.AppID = ""
	t2.Scopes = nil // a record written before tokens had scopes reads back without any
	for _, tok := range []*schemas.APIToken{newToken("t3", "hash-3"), t2, newToken("t1", "hash-1")} {
		arg := *tok
		if err := s.CreateAPIToken(ctx, &arg, nil); err != nil {
			t.Fatalf("CreateAPIToken(%s): %v", tok.ID, err)
		}
		arg.Description = "mutated"
	}
	got := findToken(t, s, "hash-2")
	assertEqual(t, "FindAPIToken", t2, got)
	got.Description = "mutated"
	assertEqual(t, "FindAPIToken after mutating a result", t2, findToken(t, s, "hash-2"))
	got1 := findToken(t, s, "hash-1")
	assertEqual(t, "FindAPIToken with scopes", newToken("t1", "hash-1"), got1)
	got1.Scopes[0] = "mutated"
	assertEqual(t, "FindAPIToken after mutating a result's scopes", newToken("t1", "hash-1"), findToken(t, s, "hash-1"))
	_, err := s.FindAPIToken(ctx, "HASH-2")
	assertErr(t, "FindAPIToken with the hash in another case", err, storage.ErrNotFound)
	_, err = s.FindAPIToken(ctx, "nope")
	assertErr(t, "FindAPIToken(unknown)", err, storage.ErrNotFound)

	list, err := s.ListAPITokens(ctx)
	if err != nil {
		t.Fatalf("ListAPITokens: %v", err)
	}
	var tokIDs []string
	for _, tok := range list {
		tokIDs = append(tokIDs, tok.ID)
	}
	if !slices.Equal(tokIDs, []string{"t1", "t2", "t3"}) {
		t.Errorf("ListAPITokens ids = %v, want [t1 t2 t3] (id order)", tokIDs)
	} else {
		assertEqual(t, "ListAPITokens item", t2, list[1])
	}

	// Uniqueness of the hash.
	assertConflict(t, "CreateAPIToken with a taken hash", s.CreateAPIToken(ctx, newToken("t4", "hash-1"), nil), storage.FieldTokenHash)
	if tok := findToken(t, s, "hash-1"); tok.ID != "t1" {
		t.Errorf("FindAPIToken(hash-1) = %s after a conflicting create, want t1", tok.ID)
	}

	// TouchAPIToken only moves forward.
	at := ms(2025, time.January, 1, 12, 0, 0, 500)
	if err := s.TouchAPIToken(ctx, "t1", at); err != nil {
		t.Fatalf("TouchAPIToken: %v", err)
	}
	if got := findToken(t, s, "hash-1").LastUsedAt; !got.Equal(at) {
		t.Errorf("LastUsedAt = %v, want %v", got, at)
	}
	if err := s.TouchAPIToken(ctx, "t1", at.Add(-time.Hour)); err != nil {
		t.Fatalf("TouchAPIToken(earlier): %v", err)
	}
	if got := findToken(t, s, "hash-1").LastUsedAt; !got.Equal(at) {
		t.Errorf("LastUsedAt after touching with an earlier time = %v, want it to stay %v", got, at)
	}
	later := at.Add(90 * time.Second)
	if err := s.TouchAPIToken(ctx, "t1", later); err != nil {
		t.Fatalf("TouchAPIToken(later): %v", err)
	}
	want := newToken("t1", "hash-1")
	want.LastUsedAt = later
	assertEqual(t, "token after touches", want, findToken(t, s, "hash-1"))
	if tok := findToken(t, s, "hash-3"); !tok.LastUsedAt.IsZero() {
		t.Errorf("untouched token has LastUsedAt %v", tok.LastUsedAt)
	}

	// Delete.
	if err := s.DeleteAPIToken(ctx, "t1", nil); err != nil {
		t.Fatalf("DeleteAPIToken: %v", err)
	}
	_, err = s.FindAPIToken(ctx, "hash-1")
	assertErr(t, "FindAPIToken after delete", err, storage.ErrNotFound)
	assertErr(t, "DeleteAPIToken twice", s.DeleteAPIToken(ctx, "t1", nil), storage.ErrNotFound)
	assertErr(t, "DeleteAPIToken(unknown)", s.DeleteAPIToken(ctx, "nope", nil), storage.ErrNotFound)
	list, err = s.ListAPITokens(ctx)
	if err != nil || len(list) != 2 {
		t.Errorf("ListAPITokens after delete: %d tokens, %v; want 2", len(list), err)
	}
	// The hash and the id are free again.
	if err := s.CreateAPIToken(ctx, newToken("t1", "hash-1"), nil); err != nil {
		t.Errorf("CreateAPIToken reusing a deleted token's id and hash: %v", err)
	}
}

// ---- audit events ----

func testEvents(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	base := ms(2024, time.July, 1, 0, 0, 0, 0)
	actors := []string{"app-1", "u00000001", "system"}
	actions := []string{"createUser", "updateUser", "deleteUser", "createGroup"}
	var all []*schemas.Event
	for i := range 24 {
		e := &schemas.Event{
			ID:         "e" + itoa(int64(100+i)),
			Time:       base.Add(time.Duration(i) * time.Minute).Add(time.Duration(i) * time.Millisecond),
			ActorID:    actors[i%3],
			ActorType:  []string{"app", "user", "system"}[i%3],
			Action:     actions[i%4],
			TargetID:   "u0000000" + itoa(int64(i%5)),
			TargetType: "user",
			IP:         "192.0.2." + itoa(int64(i)),
			UserAgent:  "Okta SCIM Client 1.0",
		}
		if i%2 == 0 {
			e.Changes = map[string]schemas.Change{
				"userName": {Prev: "old" + itoa(int64(i)), Current: "new"},
				"active":   {Prev: true, Current: false},
				"password": {Prev: nil, Current: "[redacted]"},
			}
		}
		all = append(all, e)
	}
	// Append out of time order: listing orders by time.
	order := []int{5, 0, 23, 11, 1, 2, 3, 4, 22, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}
	for _, i := range order {
		arg := cloneEvent(all[i])
		if err := s.AppendEvent(ctx, arg); err != nil {
			t.Fatalf("AppendEvent(%s): %v", all[i].ID, err)
		}
		arg.ActorID = "mutated"
		if arg.Changes != nil {
			arg.Changes["mutated"] = schemas.Change{}
		}
	}
	newest := func(pred func(e *schemas.Event) bool) []*schemas.Event {
		var out []*schemas.Event
		for i := len(all) - 1; i >= 0; i-- {
			if pred(all[i]) {
				out = append(out, all[i])
			}
		}
		return out
	}
	eventIDs := func(es []*schemas.Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	check := func(name string, q storage.EventQuery, pred func(e *schemas.Event) bool) {
		t.Helper()
		want := newest(pred)
		total := len(want)
		lo := min(q.Offset, len(want))
		want = want[lo:]
		if q.Limit != storage.Unlimited && q.Limit < len(want) {
			want = want[:q.Limit]
		}
		p, err := s.ListEvents(ctx, q)
		if err != nil {
			t.Errorf("ListEvents(%s): %v", name, err)
			return
		}
		if p.Total != total {
			t.Errorf("ListEvents(%s): Total %d, want %d", name, p.Total, total)
		}
		if !slices.Equal(eventIDs(p.Items), eventIDs(want)) {
			t.Errorf("ListEvents(%s) = %v, want %v (newest first)", name, eventIDs(p.Items), eventIDs(want))
			return
		}
		for i := range want {
			assertEqual(t, "ListEvents("+name+") item "+want[i].ID, want[i], p.Items[i])
		}
		for _, e := range p.Items {
			e.ActorID = "mutated"
			if e.Changes != nil {
				e.Changes["mutated2"] = schemas.Change{}
			}
		}
	}
	everything := func(*schemas.Event) bool { return true }
	check("all", storage.EventQuery{Limit: storage.Unlimited}, everything)
	check("limit 5", storage.EventQuery{Limit: 5}, everything)
	check("offset 20 limit 10", storage.EventQuery{Offset: 20, Limit: 10}, everything)
	check("offset past the end", storage.EventQuery{Offset: 100, Limit: 10}, everything)
	check("limit 0", storage.EventQuery{Limit: 0}, func(*schemas.Event) bool { return true })
	check("target", storage.EventQuery{TargetID: "u00000003", Limit: storage.Unlimited}, func(e *schemas.Event) bool { return e.TargetID == "u00000003" })
	check("actor", storage.EventQuery{ActorID: "system", Limit: storage.Unlimited}, func(e *schemas.Event) bool { return e.ActorID == "system" })
	check("action", storage.EventQuery{Action: "deleteUser", Limit: storage.Unlimited}, func(e *schemas.Event) bool { return e.Action == "deleteUser" })
	since, until := all[6].Time, all[15].Time
	check("since (inclusive)", storage.EventQuery{Since: since, Limit: storage.Unlimited}, func(e *schemas.Event) bool { return !e.Time.Before(since) })
	check("until (exclusive)", storage.EventQuery{Until: until, Limit: storage.Unlimited}, func(e *schemas.Event) bool { return e.Time.Before(until) })
	check("time range", storage.EventQuery{Since: since, Until: until, Limit: storage.Unlimited}, func(e *schemas.Event) bool {
		return !e.Time.Before(since) && e.Time.Before(until)
	})
	check("everything combined", storage.EventQuery{ActorID: "app-1", Action: "createUser", Since: since, Until: all[23].Time.Add(time.Millisecond), Offset: 1, Limit: 1}, func(e *schemas.Event) bool {
		return e.ActorID == "app-1" && e.Action == "createUser" && !e.Time.Before(since)
	})
	check("no match", storage.EventQuery{TargetID: "nobody", Limit: storage.Unlimited}, func(*schemas.Event) bool { return false })
	// The range bounds are instants, whatever their location.
	loc := time.FixedZone("UTC-7", -7*3600)
	check("time range in another location", storage.EventQuery{Since: since.In(loc), Until: until.In(loc), Limit: storage.Unlimited}, func(e *schemas.Event) bool {
		return !e.Time.Before(since) && e.Time.Before(until)
	})
}

func cloneEvent(e *schemas.Event) *schemas.Event {
	c := *e
	if e.Changes != nil {
		c.Changes = make(map[string]schemas.Change, len(e.Changes))
		for k, v := range e.Changes {
			c.Changes[k] = v
		}
	}
	return &c
}

// ---- signing keys ----

func newKey(id string, created time.Time) *schemas.SigningKey {
	return &schemas.SigningKey{
		ID:         id,
		Algorithm:  "ES256",
		PrivateKey: []byte("private-" + id + "\x00\xff\x01"),
		PublicKey:  []byte("public-" + id + "\x00\xfe"),
		Created:    created,
	}
}

func testSigningKeys(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys on an empty store: %v", err)
	}
	if len(keys) != 0 {
		t.Fatalf("SigningKeys on an empty store: %d keys, want none", len(keys))
	}
	t0 := ms(2024, time.August, 1, 0, 0, 0, 0)
	k1 := newKey("k1", t0)
	err = s.UpdateSigningKeys(ctx, func(cur []*schemas.SigningKey) ([]*schemas.SigningKey, error) {
		if len(cur) != 0 {
			t.Errorf("first UpdateSigningKeys: fn got %d keys, want none", len(cur))
		}
		c := *k1
		return []*schemas.SigningKey{&c}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSigningKeys: %v", err)
	}
	keys, err = s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	assertEqual(t, "SigningKeys after the first update", []*schemas.SigningKey{k1}, keys)
	keys[0].PrivateKey[0] = 'X'
	keys[0].ID = "mutated"

	// Rotate: fn sees the current set; retire k1, add k2.
	k2 := newKey("k2", t0.Add(24*time.Hour))
	err = s.UpdateSigningKeys(ctx, func(cur []*schemas.SigningKey) ([]*schemas.SigningKey, error) {
		assertEqual(t, "fn's view of the current keys", []*schemas.SigningKey{k1}, cur)
		if len(cur) != 1 {
			return cur, nil
		}
		cur[0].NotAfter = t0.Add(48 * time.Hour)
		c := *k2
		return append(cur, &c), nil
	})
	if err != nil {
		t.Fatalf("UpdateSigningKeys (rotate): %v", err)
	}
	k1r := *k1
	k1r.NotAfter = t0.Add(48 * time.Hour)
	want := []*schemas.SigningKey{&k1r, k2}
	keys, err = s.SigningKeys(ctx)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	assertEqual(t, "SigningKeys after rotation (oldest first)", want, keys)

	// A failing fn changes nothing and its error comes back.
	errBoom := errors.New("boom")
	err = s.UpdateSigningKeys(ctx, func(cur []*schemas.SigningKey) ([]*schemas.SigningKey, error) { return nil, errBoom })
	if !errors.Is(err, errBoom) {
		t.Errorf("UpdateSigningKeys with a failing fn: got %v, want its error", err)
	}
	keys, _ = s.SigningKeys(ctx)
	assertEqual(t, "SigningKeys after a failed update", want, keys)

	// Dropping a key.
	if err := s.UpdateSigningKeys(ctx, func(cur []*schemas.SigningKey) ([]*schemas.SigningKey, error) { return cur[1:], nil }); err != nil {
		t.Fatalf("UpdateSigningKeys (drop): %v", err)
	}
	keys, _ = s.SigningKeys(ctx)
	assertEqual(t, "SigningKeys after dropping the oldest", []*schemas.SigningKey{k2}, keys)
}
