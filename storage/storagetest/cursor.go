package storagetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// referenceList is every stored user f matches (nil: all) in the order of
// sort (nil: id), by schemas.MatchUser and schemas.SortUsers.
func referenceList(all storedUsers, f schemas.Filter, sort *schemas.SortKey) []string {
	var ref []*schemas.User
	for _, u := range all {
		if f == nil || schemas.MatchUser(f, u) {
			ref = append(ref, u)
		}
	}
	if sort != nil {
		schemas.SortUsers(ref, sort)
	} else {
		slices.SortFunc(ref, func(a, b *schemas.User) int { return cmp.Compare(a.ID, b.ID) })
	}
	return userIDs(ref)
}

// followCursors lists q page by page through the Next cursors and returns
// every id seen, checking each page's Total against total and that no page
// a Next cursor leads to is empty.
func followCursors(t *testing.T, s storage.Store, name string, q storage.Query, total int) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		if pages > total+2 {
			t.Fatalf("%s: the cursors do not end after %d pages", name, pages)
		}
		p, err := s.ListUsers(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: page %d: %v", name, pages+1, err)
		}
		if p.Total != total || p.Capped {
			t.Errorf("%s: page %d: Total %d (capped %v), want %d", name, pages+1, p.Total, p.Capped, total)
		}
		if len(p.Items) > q.Limit {
			t.Fatalf("%s: page %d has %d items, limit %d", name, pages+1, len(p.Items), q.Limit)
		}
		if q.After != "" && len(p.Items) == 0 {
			t.Errorf("%s: page %d, reached through a Next cursor, is empty", name, pages+1)
		}
		got = append(got, userIDs(p.Items)...)
		if p.Next == "" {
			if len(got) < total {
				t.Errorf("%s: no Next after %d of %d users", name, len(got), total)
			}
			return got
		}
		if len(p.Items) < q.Limit {
			t.Errorf("%s: page %d is not full (%d of %d) but has a Next cursor", name, pages+1, len(p.Items), q.Limit)
		}
		q.After = p.Next
	}
}

// testListUsersCursor: paging by Query.After through Page.Next lists every
// match once, in order, with the total on every page — with and without a
// filter, under the sorts the backends index and one they do not; a
// cursor is a position (users created before it or deleted meanwhile do not
// shift the next page); a cursor of another sort attribute or direction —
// indexed or evaluated in memory — or none the backend made, fails with
// ErrBadCursor.
func testListUsersCursor(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 30
	for i := 1; i <= n; i++ {
		u := NewUser(i)
		switch i {
		case 7:
			u.Name.FamilyName = "" // no value: last ascending, first descending
		case 12:
			u.Emails = nil
		case 20:
			u.UserName = "ada.lovelace.1b" // near user 1 in userName order
		}
		mustCreateUser(t, s, u)
	}
	all := storedUsers(allUsers(t, s))
	sc, nat := scimOpts(), nativeOpts("")
	filters := []struct {
		expr string
		opt  schemas.ParseOptions
	}{
		{"", sc},
		{`status eq "Active"`, nat},
		{`emails.value co "example" or userName sw "ada"`, sc},
		{`title eq "Engineer" or title eq "Manager"`, sc}, // no index answers it
	}
	sorts := []struct {
		path string
		desc bool
	}{{"", false}, {"userName", false}, {"name.familyName", true}, {"emails.value", true}, {"meta.created", true},
		{"meta.lastModified", false}, {"displayName", false}, {"title", true}}
	for i, f := range filters {
		var filter schemas.Filter
		if f.expr != "" {
			filter = mustFilter(t, f.expr, f.opt)
		}
		for j, so := range sorts {
			if filter != nil && (i+j)%3 != 0 && so.path != "" {
				continue // every sort without a filter, a third of them with each
			}
			var key *schemas.SortKey
			if so.path != "" {
				key = mustSortKey(t, so.path, so.desc, sc)
			}
			want := referenceList(all, filter, key)
			name := describeQuery(fmt.Sprintf("%q by cursor", f.expr), storage.Query{Filter: filter, Sort: key, Limit: 7})
			got := followCursors(t, s, name, storage.Query{Filter: filter, Sort: key, Limit: 7}, len(want))
			assertIDs(t, name, want, got)
		}
	}

	// A position, not a count: users created before the cursor and the
	// cursor's own user deleted do not move the next page.
	for _, so := range []string{"", "userName", "name.familyName"} {
		var key *schemas.SortKey
		if so != "" {
			key = mustSortKey(t, so, so == "name.familyName", sc)
		}
		before := referenceList(storedUsers(allUsers(t, s)), nil, key)
		first, err := s.ListUsers(ctx, storage.Query{Sort: key, Limit: 5})
		if err != nil || first.Next == "" {
			t.Fatalf("first page by %q: %v (next %q)", so, err, first.Next)
		}
		last := first.Items[len(first.Items)-1].ID
		if err := s.DeleteUser(ctx, last, nil); err != nil {
			t.Fatal(err)
		}
		early := NewUser(900 + len(so))
		early.ID, early.UserName, early.Name.FamilyName = "a"+early.ID, "aaa."+early.UserName, "Zzz"
		mustCreateUser(t, s, early)
		next, err := s.ListUsers(ctx, storage.Query{Sort: key, Limit: 5, After: first.Next})
		if err != nil {
			t.Fatalf("the next page by %q: %v", so, err)
		}
		assertIDs(t, fmt.Sprintf("the page after a cursor by %q whose user is deleted, with a user created before it", so),
			before[5:10], userIDs(next.Items))
	}

	// Cursors of another sort attribute or direction, and cursors no
	// backend made. title and displayName are sorted in memory by both
	// backends (no sort index), userName through the index.
	nextOf := func(path string) string {
		t.Helper()
		p, err := s.ListUsers(ctx, storage.Query{Sort: mustSortKey(t, path, false, sc), Limit: 2})
		if err != nil || p.Next == "" {
			t.Fatalf("a page by %s: %v (next %q)", path, err, p.Next)
		}
		return p.Next
	}
	byName, byTitle := nextOf("userName"), nextOf("title")
	for _, q := range []storage.Query{
		{Sort: mustSortKey(t, "emails.value", false, sc), Limit: 2, After: byName},
		{Sort: mustSortKey(t, "userName", true, sc), Limit: 2, After: byName},
		{Sort: mustSortKey(t, "displayName", false, sc), Limit: 2, After: byTitle},
		{Sort: mustSortKey(t, "title", true, sc), Limit: 2, After: byTitle},
		{Sort: mustSortKey(t, "userName", false, sc), Limit: 2, After: byTitle},
		{Sort: mustSortKey(t, "title", false, sc), Limit: 2, After: byName},
		{Limit: 2, After: byName},
		{Limit: 2, After: byTitle},
		{Limit: 2, After: "not a cursor!"},
		{Sort: mustSortKey(t, "userName", false, sc), Limit: 2, After: "bm90IGEgY3Vyc29y"},
	} {
		if _, err := s.ListUsers(ctx, q); !errors.Is(err, storage.ErrBadCursor) {
			t.Errorf("%s after %q: %v, want ErrBadCursor", describeQuery("ListUsers", q), q.After, err)
		}
	}
}

// testListUsersIDOrder: a listing in id order is in id order when the
// users were not created in it — ids below those created before (an import
// of another system's ids), far above, and swapped in pairs — and some of
// them are deleted: by offset and by cursor, for searches that match many
// users, few, and one.
func testListUsersIDOrder(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 90
	for i := range n {
		u := NewUser(i)
		switch {
		case i >= n-20:
			u.ID = fmt.Sprintf("a%04d", n-i) // descending, below every id before
		case i%17 == 3:
			u.ID = fmt.Sprintf("z%04d", i)
		default:
			u.ID = fmt.Sprintf("m%04d", i^1)
		}
		mustCreateUser(t, s, u)
		if i%11 == 5 {
			if err := s.DeleteUser(ctx, u.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	all := storedUsers(allUsers(t, s))
	sc := scimOpts()
	for _, expr := range []string{`emails.value co "example"`, `name.givenName sw "a"`, `name.familyName co "opp"`,
		`displayName sw "Ada Lovelace"`, `userName co "ada.lovelace.0"`} {
		f := mustFilter(t, expr, sc)
		want := referenceList(all, f, nil)
		for _, q := range [][2]int{{0, 1}, {0, 5}, {3, 5}, {len(want) - 2, 5}, {0, storage.Unlimited}} {
			checkQueryAgainst(t, s, all, expr, storage.Query{Filter: f, Offset: max(q[0], 0), Limit: q[1]}, nil)
		}
		name := describeQuery(fmt.Sprintf("%q by cursor", expr), storage.Query{Filter: f, Limit: 4})
		assertIDs(t, name, want, followCursors(t, s, name, storage.Query{Filter: f, Limit: 4}, len(want)))
	}
}

// testListUsersCountLimit: with Query.CountLimit the total is exact, or
// CountLimit with Capped set when more match; the items are those of the
// query without it.
func testListUsersCountLimit(t *testing.T, h *harness) {
	s, ctx := h.s, t.Context()
	const n = 40
	for i := 1; i <= n; i++ {
		mustCreateUser(t, s, NewUser(i))
	}
	all := storedUsers(allUsers(t, s))
	sc, nat := scimOpts(), nativeOpts("")
	for _, c := range []struct {
		expr string
		opt  schemas.ParseOptions
		sort string
	}{
		{"", sc, ""},
		{`status eq "Active"`, nat, "userName"},
		{`emails.value co "example"`, sc, ""},
		{`emails.value co "example"`, sc, "emails.value"},
		{`userName sw "a" or emails.value co "exam"`, sc, "name.familyName"},
		{`title eq "Engineer" or title eq "Manager"`, sc, ""},
	} {
		var filter schemas.Filter
		if c.expr != "" {
			filter = mustFilter(t, c.expr, c.opt)
		}
		var key *schemas.SortKey
		if c.sort != "" {
			key = mustSortKey(t, c.sort, true, sc)
		}
		want := referenceList(all, filter, key)
		if len(want) <= 6 {
			t.Fatalf("%q matches %d users: the case needs more than the limit", c.expr, len(want))
		}
		for _, limit := range []int{5, len(want), len(want) + 1} {
			q := storage.Query{Filter: filter, Sort: key, Offset: 1, Limit: 3, CountLimit: limit}
			name := describeQuery(fmt.Sprintf("%q count limit %d", c.expr, limit), q)
			p, err := s.ListUsers(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			switch {
			case p.Capped && (limit >= len(want) || p.Total != limit):
				t.Errorf("%s: Total %d capped, with %d matches", name, p.Total, len(want))
			case !p.Capped && p.Total != len(want):
				t.Errorf("%s: Total %d, want %d", name, p.Total, len(want))
			}
			assertIDs(t, name, want[1:4], userIDs(p.Items))
		}
	}
}
