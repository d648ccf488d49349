package embedded

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// searchUsers are the users of the search tests: the generator's, created
// concurrently (so that rows are not in id order), with odd values mixed in
// (Unicode that folds to other bytes, several emails, no names, statuses in
// other cases).
func searchUsers(n int) []*schemas.User {
	var users []*schemas.User
	for i := range n {
		u := storagetest.NewUser(i)
		u.ID = fmt.Sprintf("s%05d", (i*7919)%100000) // ids not in creation order
		switch i % 11 {
		case 3:
			u.Name.FamilyName = "STRAẞE Öpp"
		case 5:
			u.Emails = append(u.Emails, schemas.Email{Value: "Second.OPP@Mail.Test"})
		case 7:
			u.Name = schemas.Name{}
			u.DisplayName = ""
		case 9:
			u.Status = "disabled" // another case than the lifecycle's
		}
		users = append(users, u)
	}
	return users
}

// checkFilter compares ListUsers with a full scan through the evaluator for
// expr, for every page window, and returns whether the planner claimed an
// exact answer.
func checkFilter(t *testing.T, s *Store, expr string, opt schemas.ParseOptions) (exact bool) {
	t.Helper()
	f, err := schemas.ParseFilter(expr, opt)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", expr, err)
	}
	scan, _ := scanAndPlan(t, s, f)
	err = s.userView(func(r *users) error {
		rs, ok := s.planRows(r, f)
		exact = ok && rs.exact()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range [][2]int{{0, storage.Unlimited}, {0, 1}, {0, 10}, {3, 5}, {len(scan) - 2, 10}, {len(scan), 5}, {len(scan) + 3, 5}, {1, 0}} {
		page, err := s.ListUsers(context.Background(), storage.Query{Filter: f, Offset: w[0], Limit: w[1]})
		if err != nil {
			t.Fatal(err)
		}
		from, to := pageBounds(len(scan), w[0], w[1])
		got, want := userIDs(page.Items), userIDs(scan[from:to])
		if page.Total != len(scan) || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s (exact %v), offset %d limit %d: total %d %v, full scan %d %v", expr, exact, w[0], w[1], page.Total, got, len(scan), want)
		}
	}
	return exact
}

// flushingAt opens a store in a new directory whose batches flush the
// pending postings at n pending rows (flushPending, restored at the end),
// and returns it with the directory.
func flushingAt(t *testing.T, n int) (*Store, string) {
	t.Helper()
	old := flushPending
	t.Cleanup(func() { flushPending = old })
	flushPending = n
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// withoutVocabulary turns the vocabulary off (every attribute's full at its
// first value) for the stores the test opens: the exactness the tests of
// the postings expect is theirs alone.
func withoutVocabulary(t *testing.T) {
	n := vocabCap
	t.Cleanup(func() { vocabCap = n })
	vocabCap = 0
}

// TestExactSearchEqualsScan checks the searches the postings answer alone
// (no candidate checked) and their unions and intersections against a full
// scan, page by page, and that the planner does claim them exact.
func TestExactSearchEqualsScan(t *testing.T) {
	withoutVocabulary(t)
	s := openTemp(t)
	createAll(t, s, searchUsers(400))
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	native := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect}
	for _, c := range []struct {
		expr  string
		opt   schemas.ParseOptions
		exact bool
	}{
		{`name.familyName co "OPP"`, scim, true},
		{`name.familyName co "öP"`, scim, true}, // ö is two bytes
		{`name.familyName co "ẞE"`, scim, true}, // ẞ (three bytes) folds to ß (two)
		{`userName co "lov"`, scim, true},
		{`emails.value co "opp"`, scim, true},
		{`emails co "opp"`, scim, false},
		{`displayName co "ce "`, scim, true},
		{`name.givenName co "zoë"`, scim, false}, // four bytes folded
		{`name.givenName co "oë"`, scim, true},
		{`phoneNumbers.value co "555"`, scim, true},
		{`externalId co "t-1"`, scim, false}, // case-exact: the postings are folded
		{`userName sw "gra"`, scim, true},
		{`userName sw "G"`, scim, true},
		{`name.givenName sw "zo"`, scim, true},
		{`name.familyName sw "ẞ"`, scim, true},
		{`userName sw "grace."`, scim, false},
		{`externalId sw "EXT"`, scim, false},
		{`emails.value sw "s"`, scim, true},
		{`userName eq "ab"`, scim, true}, // no candidate: nothing to check
		{`name.givenName eq "ADA"`, scim, false},
		{`userName sw "ad" or emails.value sw "ad" or name.givenName sw "ad" or name.familyName sw "ad" or displayName sw "ad" or phoneNumbers.value sw "ad"`, scim, true},
		{`(userName sw "ada" or emails.value sw "ada" or externalId sw "ada") and title eq "Engineer"`, scim, false},
		{`userName ew ".17"`, scim, false},
		{`userName co "zzz"`, scim, true},
		{`userName co "lov" or name.familyName co "opp"`, scim, true},
		{`userName co "lov" and emails.value co "exa"`, scim, true},
		{`userName co "lov" and emails.value co "exam"`, scim, false},
		{`(userName co "ada" or userName co "gra") and displayName co "ace"`, scim, true},
		{`userName co "lov" or title eq "Engineer"`, scim, false},
		{`userName co "lov" or userName co "grace.h"`, scim, false}, // sure rows and checked ones
		{`userName co "lov" and title eq "Engineer"`, scim, false},
		{`not (userName co "lov")`, scim, false},
		{`status eq "Active"`, native, true},
		{`status eq "DISABLED"`, native, true},
		{`status eq "Gone"`, native, true}, // no other status is stored
		{`status eq "Gone" or status eq "Pending"`, native, true},
		{`status eq "Disabled" and name.last_name co "opp"`, native, true},
		{`status eq "Pending" or username co "lov"`, native, true},
		{`active eq false`, scim, false},
		{`meta.created gt "2020-01-01T00:00:00Z" and userName co "lov"`, scim, false},
	} {
		if got := checkFilter(t, s, c.expr, c.opt); got != c.exact {
			t.Errorf("%s: planned exact %v, want %v", c.expr, got, c.exact)
		}
	}
}

// oldSearchLayout rewrites the search buckets of a closed store's file as a
// file from before searchFormat had them: search records without status and
// dates, postings as 2-byte offsets in the trigrams bucket, no 0xff keys.
func oldSearchLayout(t *testing.T, dir string) {
	t.Helper()
	updateFile(t, dir, func(tx *bolt.Tx) error {
		recs := tx.Bucket(bucketSearchRecords)
		type kv struct{ k, v []byte }
		var all []kv
		err := recs.ForEach(func(k, v []byte) error {
			var u schemas.User
			if err := viewSearchRecord(v, &u); err != nil {
				return err
			}
			u.Status, u.Created, u.Updated = "", schemas.User{}.Created, schemas.User{}.Updated
			old := encodeSearchRecord(&u)
			all = append(all, kv{append([]byte(nil), k...), old[:len(old)-3]})
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range all {
			if err := recs.Put(e.k, e.v); err != nil {
				return err
			}
		}
		tri, err := tx.CreateBucket(bucketTrigrams)
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketPostings).ForEach(func(k, v []byte) error {
			if k[4] == 0xff {
				return nil
			}
			var offs []byte
			for i := 0; i+entrySize <= len(v); i += entrySize {
				offs = binary.BigEndian.AppendUint16(offs, binary.BigEndian.Uint16(v[i:]))
			}
			return tri.Put(append([]byte(nil), k...), offs)
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketPostings); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keySearchFormat)
	})
}

// searchLayoutV2 rewrites the postings of a closed store's file as
// searchFormat 2 had them: blocks of 1,024 rows.
func searchLayoutV2(t *testing.T, dir string) {
	t.Helper()
	const v2Rows = 1024
	updateFile(t, dir, func(tx *bolt.Tx) error {
		old := make(map[string][]byte)
		err := tx.Bucket(bucketPostings).ForEach(func(k, v []byte) error {
			block := binary.BigEndian.Uint32(k)
			for i := 0; i+entrySize <= len(v); i += entrySize {
				row := block*blockRows + uint32(binary.BigEndian.Uint16(v[i:]))
				k2 := string(binary.BigEndian.AppendUint32(nil, row/v2Rows)) + string(k[4:])
				old[k2] = append(binary.BigEndian.AppendUint16(old[k2], uint16(row%v2Rows)), v[i+2])
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketPostings); err != nil {
			return err
		}
		post, err := tx.CreateBucket(bucketPostings)
		if err != nil {
			return err
		}
		for k, v := range old {
			if err := post.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySearchFormat, []byte("2"))
	})
}

// TestRebuildSearch checks that a file with the search buckets of before —
// format 1's trigrams without masks, format 2's blocks of 1,024 rows — is
// rebuilt at Open, resuming after a crash half-way, and then answers as a
// full scan does.
func TestRebuildSearch(t *testing.T) {
	defer func(n int) { rebuildChunk = n }(rebuildChunk)
	rebuildChunk = blockRows
	for _, c := range []struct {
		name string
		old  func(*testing.T, string)
	}{{"format1", oldSearchLayout}, {"format2", searchLayoutV2}} {
		t.Run(c.name, func(t *testing.T) { testRebuildSearch(t, c.old) })
	}
}

func testRebuildSearch(t *testing.T, oldLayout func(*testing.T, string)) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	createAll(t, s, searchUsers(2*blockRows+100))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	oldLayout(t, dir)
	// One transaction of the rebuild, then a "crash".
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucketPostings); return err }); err != nil {
		t.Fatal(err)
	}
	if done, err := rebuildSearchStep(db); err != nil || done {
		t.Fatalf("first step: done %v, %v", done, err)
	}
	db.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.fileView(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if string(meta.Get(keySearchFormat)) != searchFormat || meta.Get(keySearchRebuiltTo) != nil || tx.Bucket(bucketTrigrams) != nil {
			return fmt.Errorf("after the rebuild: format %q, progress %v, old bucket kept %v",
				meta.Get(keySearchFormat), meta.Get(keySearchRebuiltTo), tx.Bucket(bucketTrigrams) != nil)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	for _, expr := range []string{`name.familyName co "opp"`, `userName sw "grace."`, `emails.value co "opp"`, `userName co "lov" or displayName co "hop"`,
		`meta.created gt "2024-01-01T00:00:30Z" and userName co "ada"`, `userName co "ace.hopper.4"`} {
		checkFilter(t, s, expr, scim)
	}
	checkFilter(t, s, `status eq "disabled"`, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect})
}

// TestSortedEqualsScan checks sorted listings through the sort index (walked
// or sorted from the search records) against a full scan sorted by
// schemas.SortUsers: every indexed key, both directions, with and without
// filters, page by page — including users without the value, ties, values
// that fold and NUL bytes, and users changed after their creation.
func TestSortedEqualsScan(t *testing.T) {
	for _, flush := range []int{1, 64, 1 << 30} { // every row posted at once, some pending, all pending
		t.Run(fmt.Sprintf("flushPending=%d", flush), func(t *testing.T) {
			defer func(n int) { flushPending = n }(flushPending)
			flushPending = flush
			testSortedEqualsScan(t)
		})
	}
}

func testSortedEqualsScan(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	users := searchUsers(300)
	users[10].Emails = nil
	users[11].Emails = []schemas.Email{{Value: "Zed@x.test"}, {Value: "aa@x.test"}} // none primary: the first sorts
	users[12].UserName = "ab\x00c"
	users[13].UserName = "AB"
	users[14].Name.FamilyName = "ab\x00"
	users[15].Name.FamilyName = "Ab"
	users[16].Created = users[17].Created // a tie
	ids := createAll(t, s, users)
	if _, err := s.UpdateUser(ctx, ids[20], 0, func(u *schemas.User) error {
		u.Name.FamilyName, u.Updated = "Aaron", u.Updated.Add(1e9*3600*24*365)
		return nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, ids[21], nil); err != nil {
		t.Fatal(err)
	}
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	filters := []string{"", `name.familyName co "opp"`, `userName sw "gr"`, `userName sw "grace.h"`, `userName co "lov" or displayName co "hop"`,
		`title eq "Engineer"`, `userName eq "ab"`,
		// Few candidates among many users, more matches than the count
		// limit: the count stops, then the sort checks every candidate.
		`userName sw "ada."`,
		`displayName co "ce"`} // no trigram: every search record checked
	for _, fe := range filters {
		var f schemas.Filter
		if fe != "" {
			var err error
			if f, err = schemas.ParseFilter(fe, scim); err != nil {
				t.Fatal(err)
			}
		}
		scan, _ := scanAndPlan(t, s, f)
		for _, sortBy := range []string{"userName", "name.familyName", "emails.value", "meta.created", "meta.lastModified", "title"} {
			p, err := schemas.ParsePath(sortBy, scim)
			if err != nil {
				t.Fatal(err)
			}
			for _, desc := range []bool{false, true} {
				key := &schemas.SortKey{Path: p, Descending: desc}
				want := slices.Clone(scan)
				schemas.SortUsers(want, key)
				for _, w := range [][2]int{{0, storage.Unlimited}, {0, 1}, {0, 10}, {5, 7}, {len(want) - 3, 10}, {len(want) + 1, 5}, {2, 0}} {
					page, err := s.ListUsers(ctx, storage.Query{Filter: f, Sort: key, Offset: w[0], Limit: w[1]})
					if err != nil {
						t.Fatal(err)
					}
					from, to := pageBounds(len(want), w[0], w[1])
					got, exp := userIDs(page.Items), userIDs(want[from:to])
					if page.Total != len(want) || strings.Join(got, ",") != strings.Join(exp, ",") {
						t.Errorf("filter %q sort %s desc %v, offset %d limit %d: total %d %v, want %d %v", fe, sortBy, desc, w[0], w[1], page.Total, got, len(want), exp)
					}
				}
				// Page by the cursors, with long runs walked forwards
				// (sortShortRun 2) and backwards, counting up to 5.
				for _, short := range []int{2, 64} {
					sortShortRun = short
					checkCursorPages(t, s, f, key, userIDs(want), fmt.Sprintf("filter %q sort %s desc %v, runs of %d read backwards", fe, sortBy, desc, short))
				}
				sortShortRun = 64
			}
		}
	}
}

// checkCursorPages lists the users f matches in the order of key (nil: by
// id) by pages of 7 and their cursors, counting up to 5, and checks each
// page's total and the ids of all pages against want.
func checkCursorPages(t *testing.T, s *Store, f schemas.Filter, key *schemas.SortKey, want []string, what string) {
	t.Helper()
	var got []string
	q := storage.Query{Filter: f, Sort: key, Limit: 7, CountLimit: 5}
	for {
		page, err := s.ListUsers(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Capped && (len(want) <= 5 || page.Total != 5) || !page.Capped && page.Total != len(want) {
			t.Errorf("%s by cursor: total %d (capped %v), want %d", what, page.Total, page.Capped, len(want))
		}
		got = append(got, userIDs(page.Items)...)
		if q.After = page.Next; q.After == "" || len(got) > len(want) {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s by cursor:\n got %v\nwant %v", what, got, want)
	}
}

// TestSortPostOps: the radix sort orders as a stable comparison sort does
// (a later change of one entry after an earlier one), on ops that share
// their high bytes and ops that differ anywhere.
func TestSortPostOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 255, 256, 5000, 100000} {
		for _, spread := range []uint64{1 << 20, 1 << 63} {
			ops := make([]postOp, n)
			for i := range ops {
				ops[i] = postOp{pos: rng.Uint64N(spread) &^ 0xff00, mask: uint8(i)} // repeats, and a byte no op has
			}
			want := slices.Clone(ops)
			slices.SortStableFunc(want, func(x, y postOp) int { return cmp.Compare(x.pos, y.pos) })
			if got, _ := sortPostOps(ops, nil); !slices.Equal(got, want) {
				t.Fatalf("n=%d spread=%#x: the radix sort differs from a stable sort", n, spread)
			}
		}
	}
}

// TestPostingsOf: postingsOf gives each key once, ascending, with the
// union of the bits of the values holding it and the status fact's own
// mask — as collecting them in a map does — for the search tests' users
// (odd values, several emails, no names) and values sharing trigrams.
func TestPostingsOf(t *testing.T) {
	users := searchUsers(300)
	users = append(users, &schemas.User{UserName: "aaaa", DisplayName: "AAAA", Emails: []schemas.Email{{Value: "aaa"}}, Status: "Active"}, &schemas.User{})
	for _, u := range users {
		set := map[postKey]uint8{}
		add := func(v string, bit uint8) {
			f := schemas.Fold(v)
			for i := 0; i+3 <= len(f); i++ {
				set[keyOf(f[i:i+3])] |= bit
			}
			for n := 1; n <= 3 && n <= len(f); n++ {
				set[keyOf(prefixKey(f[:n]))] |= bit
			}
		}
		add(u.UserName, bitUserName)
		add(u.ExternalID, bitExternalID)
		add(u.DisplayName, bitDisplayName)
		add(u.Name.GivenName, bitGivenName)
		add(u.Name.FamilyName, bitFamilyName)
		for _, e := range u.Emails {
			add(e.Value, bitEmails)
		}
		for _, p := range u.PhoneNumbers {
			add(p.Value, bitPhones)
		}
		if u.Status != "" {
			set[keyOf(statusKey(u.Status))] = bitFact
		}
		var want []uint64
		for k, m := range set {
			want = append(want, uint64(k)<<8|uint64(m))
		}
		slices.Sort(want)
		if got := postingsOf(u); !slices.Equal(got, want) {
			t.Fatalf("user %q: postings\n%x\nwant\n%x", u.UserName, got, want)
		}
	}
}

// TestPendingPostingsEqualScan checks searches while writes wait in
// pendingPosts: creates, renames and deletes leave the postings bucket alone
// until flushPending rows are pending (TestSortedEqualsScan checks sorted
// listings with pending rows), the answers (and the planner's claim
// of exactness) are the full scan's all along, after a reopen too, and the
// flush empties pendingPosts into the postings.
func TestPendingPostingsEqualScan(t *testing.T) {
	withoutVocabulary(t)
	s, dir := flushingAt(t, 1<<30)
	var err error
	defer func() { s.Close() }()
	ctx := context.Background()
	ids := createAll(t, s, searchUsers(300))
	for i, id := range ids[:60] {
		if i%2 == 0 {
			err = s.DeleteUser(ctx, id, nil)
		} else {
			_, err = s.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
				u.Name.FamilyName, u.UserName = "Zzyzx Opp", fmt.Sprintf("renamed.%d", i)
				return nil
			}, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	counts := func() (posted, pending int) {
		err := s.fileView(func(tx *bolt.Tx) error {
			posted = tx.Bucket(bucketPostings).Stats().KeyN
			pending = tx.Bucket(bucketPending).Stats().KeyN
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return posted, pending
	}
	if posted, pending := counts(); posted != 0 || pending != 270 {
		t.Fatalf("before the flush: %d posting values, %d pending rows; want 0 and 270 (300 users, 30 deleted)", posted, pending)
	}
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	native := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect}
	check := func(when string) {
		for _, c := range []struct {
			expr  string
			opt   schemas.ParseOptions
			exact bool
		}{
			{`name.familyName co "OPP"`, scim, true},
			{`name.familyName co "zyx"`, scim, true},
			{`userName sw "renamed."`, scim, false},
			{`userName co "lov"`, scim, true},
			{`emails.value co "opp"`, scim, true},
			{`userName sw "G"`, scim, true},
			{`userName co "ada" or name.familyName co "zzy"`, scim, true},
			{`status eq "Active"`, native, true},
			{`status eq "DISABLED"`, native, true},
			{`status eq "Active" and name.last_name co "opp"`, native, true},
			{`status eq "disabled" and username co "lov"`, native, true},
		} {
			if got := checkFilter(t, s, c.expr, c.opt); got != c.exact {
				t.Errorf("%s: %s: planned exact %v, want %v", when, c.expr, got, c.exact)
			}
		}
	}
	check("pending")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	check("pending, reopened")
	flushPending = 270 // a write to a pending row leaves 270 pending
	if _, err := s.UpdateUser(ctx, ids[100], 0, func(u *schemas.User) error { u.DisplayName = "Flushed Opp"; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if posted, pending := counts(); posted == 0 || pending != 0 {
		t.Fatalf("after the flush: %d posting values, %d pending rows; want some and 0", posted, pending)
	}
	check("flushed")
	for _, id := range ids[60:80] { // pending again, over posted rows
		if err := s.DeleteUser(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	check("pending after a flush")
}

// TestSortWrites: the sort-index changes of a batch, written in key order,
// leave the index as writing them in the order staged does, also when one
// key is put and deleted again (a user created, renamed and renamed back in
// one batch); a key bbolt would refuse is refused when it is staged.
func TestSortWrites(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "x.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keysOf := func(u *schemas.User) *sortKeys { k := sortKeysOf(u); return &k }
	a, b := storagetest.NewUser(1), storagetest.NewUser(1)
	b.UserName, b.Name.FamilyName = "zz-renamed", "Zz"
	want := map[string]string{}
	var w sortWrites
	stage := func(id string, row uint32, old, nu *sortKeys) {
		t.Helper()
		if err := w.stage(id, row, old, nu); err != nil {
			t.Fatal(err)
		}
		for i := range sortIndexes { // the writes one by one, in the order staged
			if old != nil && (nu == nil || !bytes.Equal(old[i], nu[i])) {
				delete(want, string(old[i])+id)
			}
			if nu != nil && (old == nil || !bytes.Equal(old[i], nu[i])) {
				want[string(nu[i])+id] = string(encodeRow(row))
			}
		}
	}
	stage("u1", 1, nil, keysOf(a))
	stage("u1", 1, keysOf(a), keysOf(b))
	stage("u1", 1, keysOf(b), keysOf(a))
	stage("u2", 2, nil, keysOf(b))
	stage("u2", 2, keysOf(b), nil)
	stage("u3", 3, nil, keysOf(b))
	got := map[string]string{}
	err = db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket(bucketSortKeys)
		if err != nil {
			return err
		}
		if err := w.flush(rawBucket(bk)); err != nil {
			return err
		}
		return bk.ForEach(func(k, v []byte) error { got[string(k)] = string(v); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the index holds\n%q\nwant\n%q", got, want)
	}
	huge := *b
	huge.UserName = strings.Repeat("x", bolt.MaxKeySize)
	if err := w.stage("u4", 4, nil, keysOf(&huge)); err == nil {
		t.Error("a sort key longer than bbolt's limit was staged")
	}
}

// TestWriterPendingRows: the writer's list of pending rows (Store.pendRows,
// which a write and a flush use instead of reading pendingPosts) is the
// bucket's, through creates, updates of searched values and of others,
// deletes, flushes at 16 pending rows, concurrent writers (batches of
// several writes, a row pending twice in one), a failed write, and a
// reopen.
func TestWriterPendingRows(t *testing.T) {
	s, dir := flushingAt(t, 16)
	var err error
	defer func() { s.Close() }()
	ctx := context.Background()
	check := func(when string) {
		t.Helper()
		var inBucket []uint32
		if err := s.userView(func(r *users) error {
			return r.search.pend().ForEach(func(k, _ []byte) error {
				inBucket = append(inBucket, decodeRow(k))
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(inBucket, s.pendRows) || len(s.pendRows) >= flushPending {
			t.Fatalf("%s: the writer lists %v pending, pendingPosts holds %v", when, s.pendRows, inBucket)
		}
	}
	ids := createAll(t, s, searchUsers(100))
	check("after the creates")
	seen := 0
	for i, id := range ids[:60] {
		switch i % 4 {
		case 0:
			err = s.DeleteUser(ctx, id, nil)
		case 1:
			_, err = s.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
				u.Name.FamilyName = fmt.Sprintf("Renamed %d", i)
				return nil
			}, nil)
		case 2: // a value no posting holds: the row stays as it was
			_, err = s.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
				u.Title = fmt.Sprintf("Title %d", i)
				return nil
			}, nil)
		case 3: // back to its posted value after a change: no longer pending
			for _, name := range []string{"Zwischen", searchUsers(100)[i].Name.FamilyName} {
				if _, err = s.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
					u.Name.FamilyName = name
					return nil
				}, nil); err != nil {
					break
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(s.pendRows) > 0 {
			seen++
		}
		check(fmt.Sprintf("after write %d", i))
	}
	if seen == 0 {
		t.Fatal("no row was ever pending")
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 60 + w; i < 100; i += 8 {
				if _, err := s.UpdateUser(ctx, ids[i], 0, func(u *schemas.User) error {
					u.UserName = fmt.Sprintf("concurrent.%d", i)
					return nil
				}, nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	check("after concurrent updates")
	if _, err := s.UpdateUser(ctx, ids[61], 0, func(u *schemas.User) error {
		u.UserName = "concurrent.62" // another user's: a conflict, nothing staged
		return nil
	}, nil); err == nil {
		t.Fatal("a clashing userName was accepted")
	}
	check("after a failed write")
	want := slices.Clone(s.pendRows)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.pendRows, want) {
		t.Fatalf("reopened: %v pending, want %v", s.pendRows, want)
	}
	check("reopened")
}

// TestIntersectRows checks intersectRows, stepping and galloping, against a
// set intersection, for lists of every ratio of lengths (the galloping one
// past gallopRatio), sparse and dense, in both argument orders.
func TestIntersectRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	list := func(n, span int) []uint32 {
		seen := map[uint32]bool{}
		var l []uint32
		for len(l) < n {
			if x := uint32(rng.IntN(span)); !seen[x] {
				seen[x] = true
				l = append(l, x)
			}
		}
		slices.Sort(l)
		return l
	}
	for _, n := range [][2]int{{0, 0}, {0, 5}, {1, 1}, {1, 1000}, {3, 100}, {5, 5000}, {50, 60}, {7, 4096}, {64, 1024}, {200, 40000}} {
		for _, span := range []int{2 * n[1], 10 * (n[1] + 1), 1 << 20} {
			a, b := list(n[0], max(span, n[0], n[1])), list(n[1], max(span, n[0], n[1]))
			in := map[uint32]bool{}
			for _, x := range b {
				in[x] = true
			}
			var want []uint32
			for _, x := range a {
				if in[x] {
					want = append(want, x)
				}
			}
			for _, args := range [][2][]uint32{{a, b}, {b, a}} {
				if got := intersectRows([]uint32{}, args[0], args[1]); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Fatalf("intersectRows of %d and %d rows (span %d) = %v, want %v", len(args[0]), len(args[1]), span, got, want)
				}
			}
		}
	}
	for x := range uint32(12) { // gallop's every position in a list of 10
		s := []uint32{1, 2, 3, 5, 6, 7, 8, 9, 10, 11}
		want, _ := slices.BinarySearch(s, x)
		if got := gallop(s, x); got != want {
			t.Errorf("gallop(%v, %d) = %d, want %d", s, x, got, want)
		}
	}
}
