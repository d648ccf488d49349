package storagetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// checkListUsers lists the users matching expr (parsed with opt), sorted by
// sort, and checks the answer against the reference evaluator and, when want
// is not nil, against the hand-written expected ids.
func checkListUsers(t *testing.T, s storage.Store, expr string, opt schemas.ParseOptions, sort *schemas.SortKey, want []string) {
	t.Helper()
	q := storage.Query{Filter: mustFilter(t, expr, opt), Sort: sort, Limit: storage.Unlimited}
	checkQuery(t, s, expr, q, want)
}

// storedUsers is every stored user, read once for a series of checks that do not
// write (reading them all is slow on some backends, FerretDB on SQLite among them).
type storedUsers []*schemas.User

// checkQuery runs q and checks items and total against what schemas.MatchUser
// and schemas.SortUsers compute over every stored user, against want (the
// expected ids of the page, unless nil), and that every item is the whole
// stored document.
func checkQuery(t *testing.T, s storage.Store, name string, q storage.Query, want []string) {
	t.Helper()
	checkQueryAgainst(t, s, storedUsers(allUsers(t, s)), name, q, want)
}

// checkQueryAgainst is checkQuery with the stored users already read.
func checkQueryAgainst(t *testing.T, s storage.Store, all storedUsers, name string, q storage.Query, want []string) {
	t.Helper()
	byID := make(map[string]*schemas.User, len(all))
	for _, u := range all {
		byID[u.ID] = u
	}
	ref := referenceList(all, q.Filter, q.Sort)
	refTotal := len(ref)
	refPage := page(ref, q.Offset, q.Limit)

	name = describeQuery(name, q)
	got, err := s.ListUsers(t.Context(), q)
	if err != nil {
		t.Errorf("ListUsers(%s): %v", name, err)
		return
	}
	gotIDs := userIDs(got.Items)
	if !equalIDs(gotIDs, refPage) || got.Total != refTotal {
		t.Errorf("ListUsers(%s)\n  got       %v (total %d)\n  reference %v (total %d, schemas.MatchUser+SortUsers)", name, gotIDs, got.Total, refPage, refTotal)
	}
	if want != nil && !equalIDs(gotIDs, want) {
		t.Errorf("ListUsers(%s)\n  got      %v\n  expected %v (hand-written)", name, gotIDs, want)
	}
	if want != nil && !equalIDs(refPage, want) {
		t.Errorf("reference evaluator disagrees with the hand-written answer for %s\n  reference %v\n  expected  %v", name, refPage, want)
	}
	if q.Limit == 0 && len(got.Items) != 0 {
		t.Errorf("ListUsers(%s): Limit 0 returned %d items, want none", name, len(got.Items))
	}
	for _, u := range got.Items {
		if stored, ok := byID[u.ID]; ok {
			assertUser(t, "ListUsers("+name+") item "+u.ID, stored, u)
		}
	}
}

func describeQuery(name string, q storage.Query) string {
	var b strings.Builder
	b.WriteString(name)
	if q.Sort != nil {
		fmt.Fprintf(&b, " sort %s", q.Sort.Path.Attr.Canonical)
		if len(q.Sort.Path.Keys) > 0 {
			fmt.Fprintf(&b, ".%s", strings.Join(q.Sort.Path.Keys, "."))
		}
		if q.Sort.Descending {
			b.WriteString(" desc")
		}
	}
	if q.Offset != 0 || q.Limit != storage.Unlimited {
		fmt.Fprintf(&b, " offset %d limit %d", q.Offset, q.Limit)
	}
	return b.String()
}

func page[T any](items []T, offset, limit int) []T {
	offset = min(max(offset, 0), len(items))
	items = items[offset:]
	if limit != storage.Unlimited && limit < len(items) {
		items = items[:limit]
	}
	return items
}

func equalIDs(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b))
}

func assertIDs(t *testing.T, what string, want, got []string) {
	t.Helper()
	if !equalIDs(want, got) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// ---- the hand-made data set ----

var listEpoch = ms(2024, time.January, 1, 0, 0, 0, 0)

// listUsers is a small data set whose filter and sort answers are written out by
// hand in the tests below. Ids f01…f07 are in creation order.
func listUsers() []*schemas.User {
	at := func(h int) time.Time { return listEpoch.Add(time.Duration(h) * time.Hour) }
	mk := func(id string, h int, fn func(u *schemas.User)) *schemas.User {
		u := &schemas.User{ID: id, Status: schemas.StatusActive, Created: at(h), Updated: at(h)}
		fn(u)
		if u.CustomData != nil {
			u.CustomData = mustNormalizeJSON(u.CustomData)
		}
		return u
	}
	return []*schemas.User{
		mk("f01", 1, func(u *schemas.User) {
			u.UserName = "adam"
			u.ExternalID = "X-1"
			u.Name = schemas.Name{GivenName: "Adam", FamilyName: "Lovelace"}
			u.Emails = []schemas.Email{{Value: "adam@example.com", Type: "work", Primary: true}, {Value: "adam@home.test", Type: "home"}}
			u.PhoneNumbers = primaryPhone("+15550000001")
			u.Enterprise = &schemas.EnterpriseUser{Department: "Engineering"}
			u.CustomData = map[string]any{"tier": "gold", "score": json.Number("10"), "nested": map[string]any{"level": json.Number("3")}}
			u.Apps = map[string]*schemas.AppLink{"appA": {ExternalAccountID: "ext-a1", CustomAppData: map[string]any{"plan": "pro"}, AssignedAt: at(1)}}
		}),
		mk("f02", 2, func(u *schemas.User) {
			u.UserName = "Bob"
			u.Name = schemas.Name{GivenName: "Bob", FamilyName: "Babbage"}
			// The primary email is not the first element.
			u.Emails = []schemas.Email{{Value: "zz-bob@home.test", Type: "home"}, {Value: "bob@example.org", Type: "work", Primary: true}}
			u.PhoneNumbers = primaryPhone("+15550000002")
			u.Enterprise = &schemas.EnterpriseUser{Department: "Sales"}
			u.Status = schemas.StatusDisabled
			u.CustomData = map[string]any{"tier": "silver", "score": json.Number("5")}
			u.Apps = map[string]*schemas.AppLink{"appB": {CustomAppData: map[string]any{"plan": "free"}, AssignedAt: at(2)}}
		}),
		mk("f03", 3, func(u *schemas.User) {
			u.UserName = "carl"
			u.Name = schemas.Name{GivenName: "Carl", FamilyName: "lovelace"}
			u.Emails = []schemas.Email{{Value: "carl@corp.test", Type: "home", Primary: true}, {Value: "carl@example.net", Type: "work"}}
			u.Enterprise = &schemas.EnterpriseUser{Department: "Marketing"}
			u.CustomData = map[string]any{"tier": "bronze", "score": json.Number("7.5")}
		}),
		mk("f04", 4, func(u *schemas.User) {
			u.UserName = "Dora"
			u.Name = schemas.Name{GivenName: "Dora", FamilyName: "Hopper"}
			// Work element and "@example" element exist, but not in one element.
			u.Emails = []schemas.Email{{Value: "dora@example.com", Type: "home", Primary: true}, {Value: "dora@work.test", Type: "work"}}
			u.Status = schemas.StatusPending
			u.CustomData = map[string]any{"tier": "gold"}
			u.Apps = map[string]*schemas.AppLink{"appB": {ExternalAccountID: "ext-b4", AssignedAt: at(4)}}
		}),
		mk("f05", 5, func(u *schemas.User) {
			u.UserName = "eve"
			u.Enterprise = &schemas.EnterpriseUser{Department: "Engineering"}
		}),
		mk("f06", 6, func(u *schemas.User) {
			// No userName.
			u.Name = schemas.Name{FamilyName: "Zuse"}
			u.Emails = primaryEmail("zuse@example.com")
			u.CustomData = map[string]any{"score": json.Number("100"), "tier": nil}
		}),
		mk("f07", 7, func(u *schemas.User) {
			u.UserName = "Frank"
			u.Name = schemas.Name{GivenName: "Frank", FamilyName: "Allen"}
			u.Status = schemas.StatusDisabled
			u.CustomData = map[string]any{"tier": "platinum"}
		}),
	}
}

// loadListUsers stores listUsers in a shuffled order (so that id order must be
// established by the backend) and returns them as given.
func loadListUsers(t *testing.T, s storage.Store) []*schemas.User {
	t.Helper()
	us := listUsers()
	for _, i := range []int{4, 0, 6, 2, 5, 1, 3} {
		mustCreateUser(t, s, us[i].Clone())
	}
	return us
}

func ids(s ...string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func testListUsersPaging(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	us := loadListUsers(t, s)
	allIDs := []string{"f01", "f02", "f03", "f04", "f05", "f06", "f07"}

	p, err := s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	assertIDs(t, "ListUsers(no filter, unlimited) ids (id order)", allIDs, userIDs(p.Items))
	if p.Total != 7 {
		t.Errorf("Total = %d, want 7", p.Total)
	}
	for i, u := range us {
		if i < len(p.Items) {
			assertUser(t, "ListUsers item", withVersion(u, 1), p.Items[i])
		}
	}

	for _, c := range []struct {
		offset, limit int
		want          []string
	}{
		{0, 3, ids("f01", "f02", "f03")},
		{3, 3, ids("f04", "f05", "f06")},
		{6, 3, ids("f07")},
		{7, 3, ids()},
		{100, 3, ids()},
		{0, 0, ids()},
		{5, 0, ids()},
		{2, storage.Unlimited, ids("f03", "f04", "f05", "f06", "f07")},
		{0, 100, allIDs},
	} {
		checkQuery(t, s, "no filter", storage.Query{Offset: c.offset, Limit: c.limit}, c.want)
	}

	// Paging a filtered, sorted list.
	f := mustFilter(t, `emails co "@example"`, scimOpts()) // f01 f02 f03 f04 f06
	desc := mustSortKey(t, "userName", true, scimOpts())   // f06 (no userName) f04 f03 f02 f01
	checkQuery(t, s, `emails co "@example"`, storage.Query{Filter: f, Sort: desc, Offset: 1, Limit: 2}, ids("f04", "f03"))
	checkQuery(t, s, `emails co "@example"`, storage.Query{Filter: f, Sort: desc, Offset: 0, Limit: 0}, ids())
	checkQuery(t, s, `emails co "@example"`, storage.Query{Filter: f, Sort: desc, Offset: 4, Limit: 10}, ids("f01"))
	checkQuery(t, s, `emails co "@example"`, storage.Query{Filter: f, Offset: 3, Limit: storage.Unlimited}, ids("f04", "f06"))

	// Total counts every match, whatever the page.
	for _, lim := range []int{0, 1, storage.Unlimited} {
		p, err := s.ListUsers(ctx, storage.Query{Filter: f, Limit: lim, Offset: 1})
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		if p.Total != 5 {
			t.Errorf("ListUsers(emails co @example, limit %d): Total %d, want 5", lim, p.Total)
		}
	}

	// An empty store.
	for _, u := range us {
		if err := s.DeleteUser(ctx, u.ID, nil); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
	}
	p, err = s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited})
	if err != nil || p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("ListUsers on an empty store: %d items, total %d, %v", len(p.Items), p.Total, err)
	}
}

func testListUsersSort(t *testing.T, h *harness) {
	s := h.s
	loadListUsers(t, s)
	sc, nat := scimOpts(), nativeOpts("")
	for _, c := range []struct {
		path string
		opt  schemas.ParseOptions
		desc bool
		want []string
	}{
		// "adam" < "Bob" < "carl" < "Dora" < "eve" < "Frank", missing last.
		{"userName", sc, false, ids("f01", "f02", "f03", "f04", "f05", "f07", "f06")},
		// Descending: missing first.
		{"userName", sc, true, ids("f06", "f07", "f05", "f04", "f03", "f02", "f01")},
		// "Lovelace" (f01) and "lovelace" (f03) tie: id breaks the tie, ascending in both directions.
		{"name.familyName", sc, false, ids("f07", "f02", "f04", "f01", "f03", "f06", "f05")},
		{"name.familyName", sc, true, ids("f05", "f06", "f01", "f03", "f04", "f02", "f07")},
		// Multi-valued: the primary element (f02's is its second email).
		{"emails.value", sc, false, ids("f01", "f02", "f03", "f04", "f06", "f05", "f07")},
		{"emails", sc, false, ids("f01", "f02", "f03", "f04", "f06", "f05", "f07")},
		{"meta.created", sc, true, ids("f07", "f06", "f05", "f04", "f03", "f02", "f01")},
		{"meta.created", sc, false, ids("f01", "f02", "f03", "f04", "f05", "f06", "f07")},
		// Same value everywhere but two: ties by id.
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", sc, false, ids("f01", "f05", "f03", "f02", "f04", "f06", "f07")},
		// JSON numbers sort numerically (5 < 7.5 < 10 < 100), missing last.
		{"custom_data.score", nat, false, ids("f02", "f03", "f01", "f06", "f04", "f05", "f07")},
		{"custom_data.score", nat, true, ids("f04", "f05", "f07", "f06", "f01", "f03", "f02")},
		{"username", nat, false, ids("f01", "f02", "f03", "f04", "f05", "f07", "f06")},
		{"name.first_name", nat, false, ids("f01", "f02", "f03", "f04", "f07", "f05", "f06")},
	} {
		key := mustSortKey(t, c.path, c.desc, c.opt)
		checkQuery(t, s, "sort "+c.path, storage.Query{Sort: key, Limit: storage.Unlimited}, c.want)
	}
	// Sorting and paging together.
	key := mustSortKey(t, "userName", false, sc)
	checkQuery(t, s, "sort userName", storage.Query{Sort: key, Offset: 2, Limit: 3}, ids("f03", "f04", "f05"))
	checkQuery(t, s, "sort userName", storage.Query{Sort: key, Offset: 6, Limit: 3}, ids("f06"))
}

// appsPr is the app-scoped `apps pr` filter: the user is assigned to the app.
// It is built directly as the canonical AST, which is what backends push down.
func appsPr(t *testing.T, appID string) schemas.Filter {
	t.Helper()
	a := schemas.UserAttributeByCanonical("apps")
	if a == nil {
		t.Fatal(`schemas.UserAttributeByCanonical("apps") is nil`)
	}
	return &schemas.Compare{Path: schemas.Path{Attr: a, AppID: appID}, Op: schemas.OpPr}
}

func testListUsersFilter(t *testing.T, h *harness) {
	s := h.s
	loadListUsers(t, s)
	sc := scimOpts()
	nat := nativeOpts("")
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	for _, c := range []struct {
		expr string
		opt  schemas.ParseOptions
		want []string
	}{
		{`userName eq "ADAM"`, sc, ids("f01")},
		{`userName eq "bob"`, sc, ids("f02")},
		{`USERNAME eq "Bob"`, sc, ids("f02")},
		{`userName eq "bo"`, sc, ids()},
		{`name.familyName co "LOVE"`, sc, ids("f01", "f03")},
		{`userName sw "D"`, sc, ids("f04")},
		{`userName ew "L"`, sc, ids("f03")},
		{`name.familyName pr`, sc, ids("f01", "f02", "f03", "f04", "f06", "f07")},
		{`userName pr`, sc, ids("f01", "f02", "f03", "f04", "f05", "f07")},
		{`userName ne "bob"`, sc, ids("f01", "f03", "f04", "f05", "f06", "f07")},
		{`userName gt "bob"`, sc, ids("f03", "f04", "f05", "f07")},
		{`userName le "BOB"`, sc, ids("f01", "f02")},
		{`meta.created gt "2024-01-01T04:00:00Z"`, sc, ids("f05", "f06", "f07")},
		{`meta.created ge "2024-01-01T04:00:00Z"`, sc, ids("f04", "f05", "f06", "f07")},
		{`meta.created lt "2024-01-01T03:00:00Z"`, sc, ids("f01", "f02")},
		{`meta.created gt "2024-01-01T01:30:00Z" and meta.created le "2024-01-01T03:00:00Z"`, sc, ids("f02", "f03")},
		{`emails[type eq "work" and value co "@example"]`, sc, ids("f01", "f02", "f03", "f06")},
		{`emails[type eq "home" and primary eq true]`, sc, ids("f03", "f04")},
		{`emails co "@example"`, sc, ids("f01", "f02", "f03", "f04", "f06")},
		{`emails.value ew ".test"`, sc, ids("f01", "f02", "f03", "f04")},
		{`emails.type eq "work" and emails.value co "@example.com"`, sc, ids("f01", "f04", "f06")},
		{`not (emails pr)`, sc, ids("f05", "f07")},
		{`phoneNumbers.value eq "+15550000002"`, sc, ids("f02")},
		{`not (userName eq "adam")`, sc, ids("f02", "f03", "f04", "f05", "f06", "f07")},
		{`userName eq "adam" or userName eq "bob"`, sc, ids("f01", "f02")},
		{`(userName eq "adam" or userName eq "bob") and active eq true`, sc, ids("f01")},
		{`userName eq "adam" or userName eq "bob" and active eq true`, sc, ids("f01")},
		{`not (userName sw "a" or userName sw "b") and emails pr`, sc, ids("f03", "f04", "f06")},
		{`active eq false`, sc, ids("f02", "f07")},
		{`active eq true`, sc, ids("f01", "f03", "f04", "f05", "f06")},
		{`status eq "Pending"`, nat, ids("f04")},
		{`status eq "Disabled"`, nat, ids("f02", "f07")},
		{ent + `department eq "Engineering"`, sc, ids("f01", "f05")},
		{ent + `department ne "Engineering"`, sc, ids("f02", "f03", "f04", "f06", "f07")},
		{ent + `department pr`, sc, ids("f01", "f02", "f03", "f05")},
		{`custom_data.tier eq "gold"`, nat, ids("f01", "f04")},
		{`custom_data.tier pr`, nat, ids("f01", "f02", "f03", "f04", "f07")},
		{`custom_data.score gt 6`, nat, ids("f01", "f03", "f06")},
		{`custom_data.score le 7.5`, nat, ids("f02", "f03")},
		{`custom_data.nested.level eq 3`, nat, ids("f01")},
		{`custom_data.nested pr`, nat, ids("f01")},
		{`custom_data.tier sw "pl" or custom_data.score eq 100`, nat, ids("f06", "f07")},
		{schemas.CustomDataURN + `:tier eq "gold"`, sc, ids("f01", "f04")},
		{`email eq "DORA@example.com"`, nat, ids("f04")},
		{`email ew ".test"`, nat, ids("f03")},
		{`secondary_emails co "home"`, nat, ids("f01", "f02")},
		{`username eq "Frank"`, nat, ids("f07")},
		{`name.last_name eq "LOVELACE"`, nat, ids("f01", "f03")},
		{`custom_app_data.plan eq "pro"`, nativeOpts("appA"), ids("f01")},
		{`custom_app_data.plan eq "pro"`, nativeOpts("appB"), ids()},
		{`custom_app_data.plan pr`, nativeOpts("appB"), ids("f02")},
		{`external_account_id pr`, nativeOpts("appB"), ids("f04")},
		{`external_account_id eq "ext-a1"`, nativeOpts("appA"), ids("f01")},
		{`external_account_id eq "ext-a1"`, nativeOpts("appB"), ids()},
		{`id eq "f03"`, sc, ids("f03")},
		{`id eq "F03"`, sc, ids()},
		{`externalId eq "X-1"`, sc, ids("f01")},
		{`externalId eq "x-1"`, sc, ids()},
	} {
		checkListUsers(t, s, c.expr, c.opt, nil, c.want)
	}

	// App assignment: `apps pr`, scoped to an app.
	for _, c := range []struct {
		app  string
		want []string
	}{
		{"appA", ids("f01")},
		{"appB", ids("f02", "f04")},
		{"appC", ids()},
	} {
		checkQuery(t, s, "apps pr (app "+c.app+")", storage.Query{Filter: appsPr(t, c.app), Limit: storage.Unlimited}, c.want)
		checkQuery(t, s, "not (apps pr) (app "+c.app+")", storage.Query{Filter: &schemas.Not{X: appsPr(t, c.app)}, Limit: storage.Unlimited}, nil)
	}
	both := &schemas.And{Left: appsPr(t, "appB"), Right: mustFilter(t, `active eq true`, sc)}
	checkQuery(t, s, "apps pr (app appB) and active eq true", storage.Query{Filter: both, Limit: storage.Unlimited}, ids("f04"))

	// Filter + sort + page.
	f := mustFilter(t, `emails co "@example" or userName eq "eve"`, sc)
	key := mustSortKey(t, "name.familyName", false, sc)
	checkQuery(t, s, `emails co "@example" or userName eq "eve"`, storage.Query{Filter: f, Sort: key, Limit: storage.Unlimited}, ids("f02", "f04", "f01", "f03", "f06", "f05"))
	checkQuery(t, s, `emails co "@example" or userName eq "eve"`, storage.Query{Filter: f, Sort: key, Offset: 2, Limit: 2}, ids("f01", "f03"))
}

// testListUsersGenerated checks many filters over generated users against the
// reference evaluator and against predicates written in Go over NewUser's rules.
func testListUsersGenerated(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 300
	order := rand.New(rand.NewPCG(1, 2)).Perm(n)
	for _, i := range order {
		u := NewUser(i + 1)
		if (i+1)%4 == 0 {
			u.Apps = map[string]*schemas.AppLink{"appA": {ExternalAccountID: fmt.Sprintf("acct-%d", i+1), CustomAppData: mustNormalizeJSON(map[string]any{"seats": json.Number(fmt.Sprint((i + 1) % 13))}), AssignedAt: u.Created}}
		}
		mustCreateUser(t, s, u)
	}
	mustCreateGroup(t, s, newGroup("g1", "Odd"))
	var odd []string
	for i := 1; i <= n; i += 2 {
		odd = append(odd, uid(i))
	}
	if err := AddMembers(ctx, s, "g1", odd, nil); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}

	all := storedUsers(allUsers(t, s)) // nothing below writes
	expect := func(pred func(i int) bool) []string {
		out := []string{}
		for i := 1; i <= n; i++ {
			if pred(i) {
				out = append(out, uid(i))
			}
		}
		return out
	}
	sc, nat := scimOpts(), nativeOpts("")
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	for _, c := range []struct {
		expr string
		opt  schemas.ParseOptions
		want []string
	}{
		{ent + `department eq "sales"`, sc, expect(func(i int) bool { return i%7 == 1 })},
		{`custom_data.tier eq "pro"`, nat, expect(func(i int) bool { return i%3 == 1 })},
		{`userName sw "ADA."`, sc, expect(func(i int) bool { return i%25 == 0 })},
		{`status eq "Pending"`, nat, expect(func(i int) bool { return i%10 == 8 })},
		{`active eq false`, sc, expect(func(i int) bool { return i%10 == 9 })},
		{`emails.value ew "@mail.test"`, sc, expect(func(i int) bool { return i%2 == 0 })},
		{`emails[type eq "home"]`, sc, expect(func(i int) bool { return i%2 == 0 })},
		{`meta.created ge "2024-01-01T00:02:30Z"`, sc, expect(func(i int) bool { return i >= 150 })},
		{`meta.created lt "2024-01-01T00:00:10Z"`, sc, expect(func(i int) bool { return i < 10 })},
		{`custom_data.score lt 10`, nat, expect(func(i int) bool { return i%100 < 10 })},
		{`custom_data.beta eq true`, nat, expect(func(i int) bool { return i%2 == 0 })},
		{`custom_data.prefs.theme eq "dark"`, nat, expect(func(i int) bool { return i%2 == 0 })},
		{`custom_data.tags eq "team-7"`, nat, expect(func(i int) bool { return i%20 == 7 })},
		{`title eq "manager"`, sc, expect(func(i int) bool { return i%5 == 1 })},
		{`groups eq "g1"`, sc, expect(func(i int) bool { return i%2 == 1 })},
		{`group_ids eq "g1" and custom_data.tier eq "free"`, nat, expect(func(i int) bool { return i%2 == 1 && i%3 == 0 })},
		{`external_account_id pr`, nativeOpts("appA"), expect(func(i int) bool { return i%4 == 0 })},
		{`custom_app_data.seats gt 6`, nativeOpts("appA"), expect(func(i int) bool { return i%4 == 0 && i%13 > 6 })},
		{`phoneNumbers.value eq "+15550000123"`, sc, expect(func(i int) bool { return i == 123 })},
		{`externalId eq "ext-42"`, sc, expect(func(i int) bool { return i == 42 })},
		{`not (emails[type eq "home"]) and active eq true`, sc, expect(func(i int) bool { return i%2 == 1 && i%10 != 9 })},
		{`addresses.locality eq "berlin" or addresses.locality eq "paris"`, sc, expect(func(i int) bool { return i%6 == 3 || i%6 == 4 })},
		{ent + `manager.value pr`, sc, expect(func(i int) bool { return i%5 == 0 })},
		{`name.familyName eq "Lovelace"`, sc, expect(func(i int) bool { return (i/25)%25 == 0 })},
	} {
		q := storage.Query{Filter: mustFilter(t, c.expr, c.opt), Limit: storage.Unlimited}
		checkQueryAgainst(t, s, all, c.expr, q, c.want)
	}
	// Sorts and pages over the generated users, held to the reference.
	for _, c := range []struct {
		path   string
		opt    schemas.ParseOptions
		desc   bool
		offset int
		limit  int
	}{
		{"userName", sc, false, 40, 20},
		{"userName", sc, true, 0, 25},
		{"name.familyName", sc, false, 0, storage.Unlimited},
		{"name.givenName", sc, true, 290, 20},
		{"meta.created", sc, true, 10, 10},
		{"custom_data.score", nat, false, 0, storage.Unlimited},
		{"custom_data.ratio", nat, true, 100, 50},
		{"title", sc, false, 0, storage.Unlimited},
		{"emails.value", sc, false, 0, 30},
	} {
		key := mustSortKey(t, c.path, c.desc, c.opt)
		checkQueryAgainst(t, s, all, "sort "+c.path, storage.Query{Sort: key, Offset: c.offset, Limit: c.limit}, nil)
		f := mustFilter(t, `emails co "a"`, sc)
		checkQueryAgainst(t, s, all, `emails co "a"`, storage.Query{Filter: f, Sort: key, Offset: c.offset / 2, Limit: c.limit}, nil)
	}
	// Hand-checked: the newest three.
	key := mustSortKey(t, "meta.created", true, sc)
	checkQueryAgainst(t, s, all, "newest first", storage.Query{Sort: key, Limit: 3}, ids(uid(300), uid(299), uid(298)))
}

// testListUsersIndexed checks the queries a backend may answer from its
// indexes alone — the Admin Portal's search box (an Or of sw over up to seven
// attributes, And the status), co of three bytes, sorted listings with and
// without filters, paging and counts — against the reference evaluator, over
// generated users some of which were changed or deleted after their
// creation (renamed, a new status, no family name, emails without a primary
// one), before and after a reopen.
func testListUsersIndexed(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 150
	for i := 1; i <= n; i++ {
		mustCreateUser(t, s, NewUser(i))
	}
	later := NewUser(n).Updated.Add(time.Hour)
	mustChangeUser(t, s, uid(3), func(u *schemas.User) { u.UserName, u.Updated = "Adam.Renamed", later })
	mustChangeUser(t, s, uid(4), func(u *schemas.User) { u.Status, u.Updated = schemas.StatusDisabled, later.Add(time.Second) })
	mustChangeUser(t, s, uid(7), func(u *schemas.User) { u.Name.FamilyName, u.DisplayName = "", "" })
	mustChangeUser(t, s, uid(11), func(u *schemas.User) {
		u.Emails = []schemas.Email{{Value: "zz.second@x.test", Type: "home"}, {Value: "AA.first@x.test", Type: "work"}}
	})
	mustChangeUser(t, s, uid(12), func(u *schemas.User) { u.Emails = nil })
	// Every trigram and the first three bytes of "grace.h", not as a prefix.
	mustChangeUser(t, s, uid(14), func(u *schemas.User) { u.UserName = "Gravel.Grace.Hopper" })
	if err := s.DeleteUser(ctx, uid(13), nil); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	sc, nat := scimOpts(), nativeOpts("")
	all := storedUsers(allUsers(t, s))
	portal := func(text string, paths ...string) string {
		var terms []string
		for _, p := range paths {
			terms = append(terms, fmt.Sprintf("%s sw %q", p, text))
		}
		return strings.Join(terms, " or ")
	}
	every := []string{"userName", "emails.value", "phoneNumbers.value", "name.givenName", "name.familyName", "displayName", "externalId"}
	filters := []struct {
		expr string
		opt  schemas.ParseOptions
	}{
		{"", sc},
		{portal("a", every...), sc}, {portal("AD", every...), sc}, {portal("ada", every...), sc}, {portal("Grace.H", every...), sc},
		{portal("ß", every...), sc}, {portal("+1555", "phoneNumbers.value", "userName", "externalId"), sc},
		{portal("ada.lovelace.2", "emails.value", "userName", "externalId"), sc},
		{portal("gr", every...) + " | active", sc}, {portal("ada", every...) + " | Disabled", sc},
		{`status eq "Disabled"`, nat}, {`status eq "pending"`, nat}, {`status eq "Unknown"`, nat},
		{`name.familyName co "opp"`, sc}, {`userName co "LOV" or displayName co "hop"`, sc},
		{`userName co "lov" and emails.value co "exa"`, sc}, {`emails.value co "x.t"`, sc},
		{`name.familyName co "opp" and title eq "Engineer"`, sc},
	}
	sorts := []string{"", "userName", "name.familyName", "emails.value", "meta.created", "meta.lastModified"}
	// Each filter unsorted and under two of the sorts (a different pair for
	// each), each sort in both directions without a filter: every shape
	// without the product of them all (each list is a collection read on
	// a MongoDB-protocol server).
	check := func(all storedUsers, suffix string, filters []struct {
		expr string
		opt  schemas.ParseOptions
	}) {
		for i, f := range filters {
			// "text | status" is text And the native status, as the portal builds it.
			var filter schemas.Filter
			expr, status, _ := strings.Cut(f.expr, " | ")
			if expr != "" {
				filter = mustFilter(t, expr, f.opt)
			}
			if status != "" {
				filter = &schemas.And{Left: filter, Right: mustFilter(t, fmt.Sprintf("status eq %q", status), nat)}
			}
			keys := []*schemas.SortKey{nil,
				mustSortKey(t, sorts[1+i%(len(sorts)-1)], i%2 == 0, sc), mustSortKey(t, sorts[1+(i+2)%(len(sorts)-1)], i%2 == 1, sc)}
			if filter == nil {
				keys = keys[:1]
				for _, p := range sorts[1:] {
					keys = append(keys, mustSortKey(t, p, false, sc), mustSortKey(t, p, true, sc))
				}
			}
			for j, key := range keys {
				w := [][2]int{{25, 25}, {0, 10}, {0, 0}}[(i+j)%3]
				checkQueryAgainst(t, s, all, f.expr+suffix, storage.Query{Filter: filter, Sort: key, Offset: w[0], Limit: w[1]}, nil)
			}
		}
	}
	check(all, "", filters)
	if h.b.Reopen != nil {
		s = h.b.Reopen(t, s)
		check(all, " after reopen", filters[:4])
	}
}

// ---- groups ----

func groupOpts() schemas.ParseOptions {
	return schemas.ParseOptions{Resource: schemas.GroupResource, Dialect: schemas.SCIMDialect}
}

func testListGroups(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	names := map[string]string{"g1": "Engineering", "g2": "sales", "g3": "Marketing", "g4": "engineering managers", "g5": "", "g6": "Accounting"}
	for _, id := range []string{"g4", "g1", "g6", "g3", "g5", "g2"} {
		g := newGroup(id, names[id])
		g.Created = listEpoch.Add(time.Duration(id[1]-'0') * time.Hour)
		mustCreateGroup(t, s, g)
	}
	check := func(name string, q storage.Query, want []string) {
		t.Helper()
		p, err := s.ListGroups(ctx, q)
		if err != nil {
			t.Errorf("ListGroups(%s): %v", name, err)
			return
		}
		assertIDs(t, "ListGroups("+describeQuery(name, q)+")", want, groupIDsOf(p.Items))
		// The reference: schemas.MatchGroup and schemas.SortGroups over every group.
		allp, err := s.ListGroups(ctx, storage.Query{Limit: storage.Unlimited})
		if err != nil {
			t.Errorf("ListGroups(all): %v", err)
			return
		}
		var ref []*schemas.Group
		for _, g := range allp.Items {
			if q.Filter == nil || schemas.MatchGroup(q.Filter, g) {
				ref = append(ref, g)
			}
		}
		if q.Sort != nil {
			schemas.SortGroups(ref, q.Sort)
		}
		refTotal := len(ref)
		ref = page(ref, q.Offset, q.Limit)
		if !equalIDs(groupIDsOf(ref), groupIDsOf(p.Items)) || p.Total != refTotal {
			t.Errorf("ListGroups(%s)\n  got       %v (total %d)\n  reference %v (total %d, schemas.MatchGroup+SortGroups)", describeQuery(name, q), groupIDsOf(p.Items), p.Total, groupIDsOf(ref), refTotal)
		}
		if !equalIDs(groupIDsOf(ref), want) {
			t.Errorf("reference evaluator disagrees with the hand-written answer for ListGroups(%s)\n  reference %v\n  expected  %v", describeQuery(name, q), groupIDsOf(ref), want)
		}
		for _, g := range p.Items {
			if g.Version != 1 || g.DisplayName != names[g.ID] || g.Description != "The "+names[g.ID]+" group" {
				t.Errorf("ListGroups(%s): item %s is %q v%d, want the stored group", name, g.ID, g.DisplayName, g.Version)
			}
		}
	}
	total := func(name string, q storage.Query, want int) {
		t.Helper()
		p, err := s.ListGroups(ctx, q)
		if err != nil {
			t.Errorf("ListGroups(%s): %v", name, err)
			return
		}
		if p.Total != want {
			t.Errorf("ListGroups(%s): Total %d, want %d", describeQuery(name, q), p.Total, want)
		}
	}
	u := storage.Unlimited
	check("all", storage.Query{Limit: u}, ids("g1", "g2", "g3", "g4", "g5", "g6"))
	total("all", storage.Query{Limit: u}, 6)
	check("offset 4", storage.Query{Offset: 4, Limit: 10}, ids("g5", "g6"))
	check("limit 0", storage.Query{Limit: 0}, ids())
	total("limit 0", storage.Query{Limit: 0}, 6)

	gf := func(expr string) schemas.Filter { return mustFilter(t, expr, groupOpts()) }
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`displayName eq "ENGINEERING"`, ids("g1")},
		{`displayName eq "Sales"`, ids("g2")},
		{`displayName sw "eng"`, ids("g1", "g4")},
		{`displayName co "ING"`, ids("g1", "g3", "g4", "g6")},
		{`displayName pr`, ids("g1", "g2", "g3", "g4", "g6")},
		{`not (displayName pr)`, ids("g5")},
		{`displayName eq "engineering" or displayName eq "marketing"`, ids("g1", "g3")},
		{`externalId eq "ext-g3"`, ids("g3")},
		{`id eq "g2"`, ids("g2")},
		{`meta.created gt "2024-01-01T03:00:00Z"`, ids("g4", "g5", "g6")},
	} {
		f := gf(c.expr)
		check(c.expr, storage.Query{Filter: f, Limit: u}, c.want)
		total(c.expr, storage.Query{Filter: f, Limit: 0}, len(c.want))
	}
	nf, err := schemas.ParseFilter(`name eq "SALES"`, schemas.ParseOptions{Resource: schemas.GroupResource, Dialect: schemas.NativeDialect})
	if err != nil {
		t.Fatalf("ParseFilter(native group name): %v", err)
	}
	check(`name eq "SALES" (native)`, storage.Query{Filter: nf, Limit: u}, ids("g2"))

	asc := mustSortKey(t, "displayName", false, groupOpts())
	desc := mustSortKey(t, "displayName", true, groupOpts())
	check("sort displayName", storage.Query{Sort: asc, Limit: u}, ids("g6", "g1", "g4", "g3", "g2", "g5"))
	check("sort displayName desc", storage.Query{Sort: desc, Limit: u}, ids("g5", "g2", "g3", "g4", "g1", "g6"))
	check("sort displayName", storage.Query{Sort: asc, Offset: 1, Limit: 2}, ids("g1", "g4"))
	total("sort displayName", storage.Query{Sort: asc, Offset: 1, Limit: 2}, 6)
	f := gf(`displayName co "e"`) // g1 g2 g3 g4 (Accounting has no e)
	check(`displayName co "e" sorted desc`, storage.Query{Filter: f, Sort: desc, Offset: 1, Limit: 2}, ids("g3", "g4"))
	total(`displayName co "e"`, storage.Query{Filter: f, Sort: desc, Offset: 1, Limit: 2}, 4)
	created := mustSortKey(t, "meta.created", true, groupOpts())
	check("sort meta.created desc", storage.Query{Sort: created, Limit: 3}, ids("g6", "g5", "g4"))
}

// testListUsersSubstring checks co, sw and ew — and eq — on the attributes a
// backend may answer through a substring index (userName, every email and
// phone number value, name.givenName, name.familyName, displayName,
// externalId) against the reference evaluator, over generated users some of
// which were renamed, re-addressed or deleted after their creation, so that
// an index that misses a change shows. Values shorter than three bytes,
// non-ASCII case folding, case-exact externalId and combinations with
// attributes outside the index are included.
func testListUsersSubstring(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 120
	for i := 1; i <= n; i++ {
		mustCreateUser(t, s, NewUser(i))
	}
	mustChangeUser(t, s, uid(5), func(u *schemas.User) { u.UserName = "Renamed.Person.5" })
	mustChangeUser(t, s, uid(8), func(u *schemas.User) {
		u.Emails = []schemas.Email{{Value: "Moved.Elsewhere@Other.example", Type: "work", Primary: true}}
	})
	mustChangeUser(t, s, uid(9), func(u *schemas.User) {
		u.DisplayName, u.Name.FamilyName, u.PhoneNumbers = "Zoë Ångström", "Ångström", nil
	})
	mustChangeUser(t, s, uid(10), func(u *schemas.User) { u.ExternalID = "EXT-Upper-10" })
	if err := s.DeleteUser(ctx, uid(6), nil); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	all := storedUsers(allUsers(t, s))
	sc, nat := scimOpts(), nativeOpts("")
	for _, c := range []struct {
		expr string
		opt  schemas.ParseOptions
	}{
		{`userName co "LOVELACE.1"`, sc}, {`userName co "renamed"`, sc}, {`userName co "lovelace.5"`, sc},
		{`userName sw "ADA."`, sc}, {`userName sw "zoe.lovelace.2"`, sc}, {`userName ew ".12"`, sc},
		{`userName ew "7"`, sc}, {`userName co "zz"`, sc}, {`userName co "qqq"`, sc},
		{`emails.value co "0@MAIL.TEST"`, sc}, {`emails.value ew "@example.com"`, sc}, {`emails.value co "elsewhere@"`, sc},
		{`emails.value eq "ADA.LOVELACE.25@example.com"`, sc}, {`emails.value sw "grace"`, sc},
		{`phoneNumbers.value co "00001"`, sc}, {`phoneNumbers.value sw "+1555000011"`, sc}, {`phoneNumbers.value ew "99"`, sc},
		{`name.givenName co "ØR"`, sc}, {`name.givenName sw "zo"`, sc}, {`name.givenName ew "Ë"`, sc}, {`name.givenName eq "JOSÉ"`, sc},
		{`name.familyName co "üLL"`, sc}, {`name.familyName sw "ÅNG"`, sc}, {`name.familyName ew "-lee"`, sc}, {`name.familyName co "van r"`, sc},
		{`displayName co "ce ho"`, sc}, {`displayName sw "ZOË "`, sc}, {`displayName ew "STRÖM"`, sc},
		{`externalId co "t-1"`, sc}, {`externalId sw "EXT-"`, sc}, {`externalId sw "ext-"`, sc}, {`externalId ew "0"`, sc},
		{`externalId co "upper"`, sc},
		{`userName co "hopper" and active eq true`, sc}, {`displayName co "ada" or emails.value co "grace"`, sc},
		{`not (userName co "lovelace")`, sc}, {`userName co "lovelace" and groups eq "g1"`, sc},
		{`emails[type eq "work" and value co "lovelace"]`, sc},
		{`email co "LOVELACE"`, nat}, {`phone_number sw "+15550000"`, nat}, {`name.first_name co "ös"`, nat},
		{`username ew ".1"`, nat}, {`name.last_name sw "tur"`, nat},
	} {
		q := storage.Query{Filter: mustFilter(t, c.expr, c.opt), Limit: storage.Unlimited}
		checkQueryAgainst(t, s, all, c.expr, q, nil)
		q.Offset, q.Limit = 3, 5
		checkQueryAgainst(t, s, all, c.expr, q, nil)
	}
	// Sorted, and after a reopen where the backend has one.
	key := mustSortKey(t, "userName", true, sc)
	checkQueryAgainst(t, s, all, `userName co "lovelace" sorted`, storage.Query{Filter: mustFilter(t, `userName co "lovelace"`, sc), Sort: key, Limit: 10}, nil)
	if h.b.Reopen != nil {
		s = h.b.Reopen(t, s)
		for _, expr := range []string{`userName co "renamed"`, `emails.value co "elsewhere"`, `displayName ew "ström"`, `name.familyName co "lovelace"`} {
			checkQueryAgainst(t, s, all, expr+" after reopen", storage.Query{Filter: mustFilter(t, expr, sc), Limit: storage.Unlimited}, nil)
		}
	}
}
