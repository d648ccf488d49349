package embedded

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// walkedIn opens the store of a new directory (NoSync) whose vocabulary's
// walk at each open reads chunk search records per transaction, and
// returns it with the directory.
func walkedIn(t *testing.T, chunk int) (*Store, string) {
	t.Helper()
	n := vocabChunk
	t.Cleanup(func() { vocabChunk = n })
	vocabChunk = chunk
	dir := t.TempDir()
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// reopenNoSync closes s and opens the store of dir again (NoSync).
func reopenNoSync(t *testing.T, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// vocabOf returns a ready vocabulary of the attributes of bits holding
// the values of users.
func vocabOf(tb testing.TB, bits uint8, users ...*schemas.User) *vocabulary {
	tb.Helper()
	vc := newVocabulary(bits)
	vc.ready(0)
	var scratch schemas.User
	for _, u := range users {
		if err := vc.addRecord(encodeSearchRecord(u), &scratch); err != nil {
			tb.Fatal(err)
		}
	}
	return vc
}

// comparison parses a SCIM filter of one comparison and returns it with
// its posting keys.
func comparison(tb testing.TB, expr string) (*schemas.Compare, []string) {
	tb.Helper()
	f := mustParse(tb, expr)
	c := f.(*schemas.Compare)
	keys, _ := searchKeys(c.Op, c.Value.Str)
	return c, keys
}

// waitVocabulary waits for s's walk of the file and fails the test unless
// the vocabulary is ready after it.
func waitVocabulary(t *testing.T, s *Store) {
	t.Helper()
	<-s.vocabDone
	if s.vocab.readyAt.Load() == 0 {
		t.Fatal("the vocabulary is not ready after the walk of the file")
	}
}

// vocabUsers are searchUsers with given names that hold the trigrams of
// another name apart ("Abcd Bcde" holds abc, bcd and cde, not "abcde").
func vocabUsers(n int) []*schemas.User {
	users := searchUsers(n)
	for i, u := range users {
		switch i % 13 {
		case 2:
			u.Name.GivenName = "Abcde"
		case 4:
			u.Name.GivenName = "Abcd Bcde"
		case 6:
			u.PhoneNumbers = append(u.PhoneNumbers, schemas.PhoneNumber{Value: "+1 555 0100", Type: "work"}) // an office's line
		}
	}
	return users
}

// TestVocabularySearchEqualsScan checks searches through the vocabulary
// against a full scan, page by page (checkFilter), and that the planner
// claims exact the ones whose key only matching values hold: on the file's
// users once the walk at open is done, after writes that add values which
// hold a pattern's trigrams apart, and after a reopen whose walk reads the
// file in several transactions.
func TestVocabularySearchEqualsScan(t *testing.T) {
	s, dir := walkedIn(t, 7)
	defer func() { s.Close() }()
	ctx := context.Background()
	createAll(t, s, vocabUsers(400))
	waitVocabulary(t, s)
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	type search struct {
		expr  string
		exact bool
	}
	check := func(when string, searches []search) {
		t.Helper()
		for _, c := range searches {
			if got := checkFilter(t, s, c.expr, scim); got != c.exact {
				t.Errorf("%s: %s: planned exact %v, want %v", when, c.expr, got, c.exact)
			}
		}
	}
	file := []search{
		{`name.givenName co "katherine"`, true},
		{`name.givenName sw "Katherine"`, true},
		{`name.givenName ew "ERINE"`, true},
		{`name.givenName eq "ada"`, true},
		{`name.givenName eq "Abcd"`, false},  // "Abcde" and "Abcd Bcde" start with it
		{`name.givenName co "abcde"`, false}, // "Abcd Bcde" holds every trigram
		{`name.givenName co "bcd b"`, true},
		{`displayName sw "Ada Lovelace"`, true}, // two keys: "Ada Hopper" and "Grace Lovelace" hold one each
		{`displayName co "a lovel"`, true},
		{`name.familyName co "lovelace"`, true},
		{`name.familyName ew "Öpp"`, true},
		{`displayName co "lamarr"`, true},
		{`displayName co "ada love"`, true},
		{`phoneNumbers.value co "555 0100"`, false}, // no vocabulary of phone numbers
		{`emails.value ew "@example.com"`, false},   // nor of emails
		{`externalId co "xt-1"`, false},
		{`name.givenName co "zorro"`, true}, // no value holds "zor": no match, exactly
		{`name.givenName co "katherine" or name.familyName co "lovelace"`, true},
		{`name.givenName co "katherine" and title eq "Engineer"`, false},
	}
	check("the file's users", file)

	// Values added after the walk: "Zor Orr Rro" holds every trigram of
	// "zorro" apart, and is in the vocabulary before any search sees it.
	if _, err := s.CreateUser(ctx, &schemas.User{ID: "zor-orr", UserName: "zor.orr", Name: schemas.Name{GivenName: "Zor Orr Rro"}}, nil); err != nil {
		t.Fatal(err)
	}
	check("a value holding a pattern's trigrams apart", []search{{`name.givenName co "zorro"`, false}, {`name.givenName co "zor o"`, true}})
	if _, err := s.CreateUser(ctx, &schemas.User{ID: "zorro", UserName: "zorro", Name: schemas.Name{GivenName: "Zorro"}}, nil); err != nil {
		t.Fatal(err)
	}
	check("its neighbour", []search{{`name.givenName co "zorro"`, false}, {`name.givenName eq "zorro"`, false}, {`name.givenName sw "zorr"`, false}, {`name.givenName ew "RRO"`, true}})

	s = reopenNoSync(t, s, dir)
	waitVocabulary(t, s)
	check("reopened", append(file[:len(file)-3:len(file)-3], search{`name.givenName co "zorro"`, false}))
}

// TestVocabularyFull: an attribute with more than vocabCap distinct values
// has no vocabulary, and its searches are checked (and right); the others
// keep theirs.
func TestVocabularyFull(t *testing.T) {
	defer func(n int) { vocabCap = n }(vocabCap)
	vocabCap = 50
	s := openTemp(t)
	createAll(t, s, vocabUsers(200))
	waitVocabulary(t, s)
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	for _, c := range []struct {
		expr  string
		exact bool
	}{
		{`displayName sw "Ada Lovelace"`, false}, // 200 distinct display names
		{`name.givenName co "katherine"`, true},
	} {
		if got := checkFilter(t, s, c.expr, scim); got != c.exact {
			t.Errorf("%s: planned exact %v, want %v", c.expr, got, c.exact)
		}
	}
}

// TestVocabularyReadiness: implyingKeys answers nothing before the walk is
// done, nor for a transaction older than the walk's end; vocabBudget
// bounds the values one comparison examines.
func TestVocabularyReadiness(t *testing.T) {
	var users []*schemas.User
	for _, g := range []string{"Ada", "Adam", "Grace"} {
		users = append(users, &schemas.User{ID: g, Name: schemas.Name{GivenName: g}})
	}
	vc := vocabOf(t, vocabBits, users...)
	vc.readyAt.Store(0) // the walk not done
	c, keys := comparison(t, `name.givenName sw "gra"`)
	if _, ok := vc.implyingKeys(c, bitGivenName, keys, 100); ok {
		t.Error("a key before the walk is done")
	}
	vc.ready(10)
	if _, ok := vc.implyingKeys(c, bitGivenName, keys, 9); ok {
		t.Error("a key for a transaction older than the walk's end")
	}
	if k, ok := vc.implyingKeys(c, bitGivenName, keys, 10); !ok || !slices.Equal(k, []string{prefixKey("gra")}) {
		t.Errorf("implyingKeys = %q, %v; want the prefix key of gra", k, ok)
	}
	defer func(n int) { vocabBudget = n }(vocabBudget)
	vocabBudget = 0
	if _, ok := vc.implyingKeys(c, bitGivenName, keys, 10); ok {
		t.Error("a key past the budget")
	}
}

// TestImplyingKeys: when every key of a pattern is held by a value that
// does not match, two keys together may be, on a single-valued attribute
// (given name), never on a multi-valued one (phone numbers), where a user
// may hold them in two values.
func TestImplyingKeys(t *testing.T) {
	var users []*schemas.User
	for i, v := range []string{"Ad Lo", "Ad X", "Xd Lx", "X Lo"} {
		users = append(users, &schemas.User{ID: fmt.Sprint(i), Name: schemas.Name{GivenName: v}, PhoneNumbers: []schemas.PhoneNumber{{Value: v}}})
	}
	vc := vocabOf(t, bitGivenName|bitPhones, users...) // phones: a multi-valued attribute, which the store keeps none of
	for _, c := range []struct {
		expr string
		bit  uint8
		want []string
	}{
		{`name.givenName co "ad lo"`, bitGivenName, []string{"ad ", "d l"}},
		{`name.givenName co "d lo"`, bitGivenName, []string{"d l", " lo"}},
		{`name.givenName co "x l"`, bitGivenName, []string{"x l"}},
		{`name.givenName co "ad lx"`, bitGivenName, []string{" lx", "ad "}}, // no value holds both
		{`phoneNumbers.value co "ad lo"`, bitPhones, nil},
		{`phoneNumbers.value co "x l"`, bitPhones, []string{"x l"}},
		{`emails.value co "x l"`, bitEmails, nil},               // unique values: no vocabulary
		{`name.givenName co "ad"`, bitGivenName, nil},           // two bytes: no key
		{`name.givenName co "ad lq"`, bitGivenName, []string{}}, // no value holds " lq": no match
	} {
		cmp, keys := comparison(t, c.expr)
		got, ok := vc.implyingKeys(cmp, c.bit, keys, 0)
		if ok != (c.want != nil) || !slices.Equal(got, c.want) || (len(c.want) == 0) != (got == nil) {
			t.Errorf("%s: implyingKeys = %q, %v; want %q", c.expr, got, ok, c.want)
		}
	}
}

// TestImplyingKeysCaseExact: on a case-exact attribute (externalId, which
// the store keeps no vocabulary of) the keys are folded but the evaluator
// is not: a key is only trusted when every value holding it matches with
// its case, and a value that differs in case alone is never a match.
func TestImplyingKeysCaseExact(t *testing.T) {
	var users []*schemas.User
	for i, v := range []string{"xAbCx", "xabcx", "AbCd"} {
		users = append(users, &schemas.User{ID: fmt.Sprint(i), ExternalID: v})
	}
	vc := vocabOf(t, bitExternalID, users...)
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`externalId co "AbC"`, nil},                         // "xabcx" holds "abc" and does not match
		{`externalId co "xAbC"`, nil},                        // "xabcx" holds both its keys and differs in case
		{`externalId sw "AbCd"`, []string{prefixKey("abc")}}, // only "AbCd" starts with "abc" folded, and matches
		{`externalId eq "abcd"`, nil},                        // "AbCd" holds every key and differs in case
		{`externalId ew "BCX"`, nil},                         // "xAbCx" ends with "bCx", not "BCX"
		{`externalId co "bcd"`, nil},                         // three bytes, but case-exact: "AbCd" holds "bcd" folded only
		{`externalId co "bCd"`, []string{"bcd"}},
		{`externalId co "zzz"`, []string{}}, // no value holds it: no match
	} {
		cmp, keys := comparison(t, c.expr)
		got, ok := vc.implyingKeys(cmp, bitExternalID, keys, 0)
		if ok != (c.want != nil) || !slices.Equal(got, c.want) {
			t.Errorf("%s: implyingKeys = %q, %v; want %q", c.expr, got, ok, c.want)
		}
	}
}

// TestVocabularyRandom compares random substring searches with a full scan
// on values of a tiny alphabet, where values that hold a pattern's
// trigrams apart abound, in every searched attribute (two emails and two
// phone numbers on some users), before and after renames that add values.
func TestVocabularyRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 5))
	word := func(min, max int) string {
		b := make([]byte, min+rng.IntN(max-min+1))
		for i := range b {
			b[i] = "abcAB "[rng.IntN(6)]
		}
		return string(b)
	}
	user := func(i int) *schemas.User {
		u := &schemas.User{ID: fmt.Sprintf("r%04d", i), UserName: fmt.Sprintf("u%d.%s", i, word(3, 6)), ExternalID: fmt.Sprintf("%s-%d", word(3, 7), i),
			DisplayName: word(3, 8), Name: schemas.Name{GivenName: word(3, 6), FamilyName: word(3, 6)},
			Emails: []schemas.Email{{Value: fmt.Sprintf("%s.%d", word(3, 7), i)}}} // emails are unique
		u.PhoneNumbers = []schemas.PhoneNumber{{Value: fmt.Sprintf("%s-%d", word(3, 7), i), Primary: true}} // a login identifier: unique
		if i%3 == 0 {
			u.Emails = append(u.Emails, schemas.Email{Value: fmt.Sprintf("%s.%d.2", word(3, 7), i)})
			u.PhoneNumbers = append(u.PhoneNumbers, schemas.PhoneNumber{Value: word(3, 7)})
		}
		return u
	}
	var users []*schemas.User
	for i := range 300 {
		users = append(users, user(i))
	}
	s := openTemp(t)
	ids := createAll(t, s, users)
	waitVocabulary(t, s)
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	attrs := []string{"userName", "externalId", "displayName", "name.givenName", "name.familyName", "emails.value", "phoneNumbers.value"}
	ops := []string{"co", "sw", "ew", "eq"}
	exact := 0
	searches := func() {
		for range 150 {
			expr := fmt.Sprintf("%s %s %q", attrs[rng.IntN(len(attrs))], ops[rng.IntN(len(ops))], word(3, 5))
			if checkFilter(t, s, expr, scim) {
				exact++
			}
		}
	}
	searches()
	for i, id := range ids[:100] {
		if _, err := s.UpdateUser(context.Background(), id, 0, func(u *schemas.User) error {
			nu := user(1000 + i)
			u.DisplayName, u.Name, u.Emails, u.PhoneNumbers, u.ExternalID = nu.DisplayName, nu.Name, nu.Emails, nu.PhoneNumbers, nu.ExternalID
			return nil
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	searches()
	if exact < 30 {
		t.Errorf("%d of 300 searches planned exact: the vocabulary was hardly used", exact)
	}
}

// TestVocabularyOrOfKeySets: an Or of two comparisons on different
// single-valued attributes whose vocabularies give the same keys together
// ("ad " and "d l" for co "ad lo" in both the given and the display name)
// reads those keys once with both bits — a row may then hold one key in
// the given name and the other in the display name, and match neither
// ("Ad X" and "Xd Lx"). Its rows are candidates, not matches; each side
// read on its own stays exact. Checked on pending rows and, after a flush,
// on the postings.
func TestVocabularyOrOfKeySets(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	for i, names := range [][2]string{{"Ad Lo", "Ad Lo"}, {"Ad X", "Xd Lx"}, {"Xd Lx", "Ad X"}, {"X Lo", "X Lo"}} {
		u := &schemas.User{ID: fmt.Sprintf("ks%d", i), UserName: fmt.Sprintf("ks%d", i), DisplayName: names[1], Name: schemas.Name{GivenName: names[0]}}
		if _, err := s.CreateUser(ctx, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitVocabulary(t, s)
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	check := func(when string) {
		t.Helper()
		for _, expr := range []string{
			`name.givenName co "ad lo" or displayName co "ad lo"`,
			`name.givenName co "ad lo"`,
			`displayName co "ad lo"`,
		} {
			if !checkFilter(t, s, expr, scim) {
				t.Errorf("%s: %s: not planned exact", when, expr)
			}
		}
	}
	check("pending rows")
	createAll(t, s, searchUsers(flushPending+10)) // their names hold neither key: the rows are flushed
	check("posted rows")
}

// plannedIDs returns the ids of the rows the planner gives for f in r,
// sorted, and whether it planned f at all.
func plannedIDs(s *Store, r *users, f schemas.Filter) ([]string, bool) {
	rs, planned := s.planRows(r, f)
	return slices.Sorted(slices.Values(r.rowIDs(rs.rows))), planned
}

// planAgainstScan plans f in r and evaluates it on every user of the same
// transaction: an exact plan must give exactly the matches (each row a
// user's), any plan every match. It returns what differs ("" when
// nothing does) and whether the plan was exact.
func planAgainstScan(s *Store, r *users, f schemas.Filter) (diff string, exact bool) {
	scan, err := s.scanUsers(context.Background(), r, f)
	if err != nil {
		return err.Error(), false
	}
	want := make([]string, len(scan))
	for i, u := range scan {
		want[i] = u.ID
	}
	slices.Sort(want)
	rs, planned := s.planRows(r, f)
	if !planned {
		return "", false
	}
	got := slices.Clone(r.rowIDs(rs.rows))
	slices.Sort(got)
	if rs.exact() {
		if len(got) != len(rs.rows) || !slices.Equal(got, want) {
			return fmt.Sprintf("planned exact: %d rows, users %v; the evaluator's matches %v", len(rs.rows), got, want), true
		}
		return "", true
	}
	for _, id := range want {
		if _, ok := slices.BinarySearch(got, id); !ok {
			return fmt.Sprintf("match %s not among the planned rows %v", id, got), false
		}
	}
	return "", false
}

// TestVocabularyOldReader: a transaction that began before the walk at
// open ended may see a value the walk never read (a user renamed before
// the walk reached it), so it gets no key from the vocabulary. Here the
// last row's given name "Zed Edx" holds both keys of co "zedx" without
// matching; it is renamed right after the open, before the walk of a file
// of a thousand rows, one per transaction, reaches it; another user's
// "Zedx" then alone holds "zed" in the vocabulary. A reader that began
// before the rename must still not count the renamed user among the
// matches; one after it gets the vocabulary's exact answer.
func TestVocabularyOldReader(t *testing.T) {
	s, dir := walkedIn(t, 1)
	ctx := context.Background()
	all := searchUsers(8000)
	all[0].Name.GivenName = "Zedx"
	for _, err := range s.CreateUsers(ctx, all) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateUser(ctx, &schemas.User{ID: "zz-last", UserName: "zz.last", Name: schemas.Name{GivenName: "Zed Edx"}}, nil); err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, `name.givenName co "zedx"`)
	exercised := false
	for try := 0; try < 5 && !exercised; try++ {
		s = reopenNoSync(t, s, dir)
		renamed := make(chan struct{})
		var old string
		err := s.userView(func(r *users) error {
			go func() {
				defer close(renamed)
				if _, err := s.UpdateUser(ctx, "zz-last", 0, func(u *schemas.User) error { u.Name.GivenName = "Zeb"; return nil }, nil); err != nil {
					t.Error(err)
				}
			}()
			<-renamed
			<-s.vocabDone // the walk ends while this transaction is open
			old, _ = planAgainstScan(s, r, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if old != "" {
			t.Errorf("a transaction older than the walk's end: %s", old)
		}
		s.vocab.mu.RLock()
		_, walked := s.vocab.attr(bitGivenName).index["Zed Edx"]
		s.vocab.mu.RUnlock()
		exercised = !walked
		err = s.userView(func(r *users) error {
			diff, exact := planAgainstScan(s, r, f)
			if diff != "" || (exercised && !exact) {
				t.Errorf("a transaction after the walk: exact %v, %s", exact, diff)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateUser(ctx, "zz-last", 0, func(u *schemas.User) error { u.Name.GivenName = "Zed Edx"; return nil }, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !exercised {
		t.Fatal("the walk read the last row before its rename every time: the case is not exercised")
	}
	s.Close()
}

// TestVocabularyConcurrent: writers rename, create and delete users while
// the walk at open reads the file one record per transaction, and after;
// meanwhile searches of the names — alone, one text Or'ed over several
// attributes (with userName and emails too), Or and And of two, nested,
// with a status or a Not, in both dialects — compare each plan
// with the evaluator on the same transaction (planAgainstScan). The
// values are words of a tiny alphabet with letters whose folded length
// differs (ẞ → ß, the Kelvin sign → k, ſ → s) and a long piece (values
// longer than the fold buffer), so that values holding a pattern's keys
// without matching abound; posting flushes are frequent.
//
// Run twice: with the default bounds, and with a vocabCap that the display
// names pass while the writers run (the attribute dropped between
// searches).
func TestVocabularyConcurrent(t *testing.T) {
	t.Run("default", func(t *testing.T) { vocabularyConcurrent(t) })
	t.Run("dropped", func(t *testing.T) {
		defer func(n int) { vocabCap = n }(vocabCap)
		vocabCap = 1700 // the file has ~1,600 distinct display names, the writers add ~230; given names ~1,630 in all
		s := vocabularyConcurrent(t)
		if !s.vocab.attr(bitDisplayName).full {
			t.Error("the display names did not pass vocabCap")
		}
	})
}

// vocabularyConcurrent is TestVocabularyConcurrent; it returns the store,
// closed.
func vocabularyConcurrent(t *testing.T) *Store {
	defer func(n, p int) { vocabChunk, flushPending = n, p }(vocabChunk, flushPending)
	vocabChunk, flushPending = 1, 16
	pieces := []string{"a", "b", "A", "B", " ", "ß", "ẞ", "\u212a", "k", "s", "ſ", "ab",
		"ABBA ẞẞẞ sab \u212aab sſs ba bab ab AbaB kk \u212a\u212a"} // with it values are longer than the 64-byte fold buffer
	word := func(rng *rand.Rand, min, max int) string {
		var b strings.Builder
		for range min + rng.IntN(max-min+1) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	user := func(rng *rand.Rand, id string) *schemas.User {
		u := &schemas.User{ID: id, UserName: id, DisplayName: word(rng, 2, 7),
			Name:   schemas.Name{GivenName: word(rng, 2, 5), FamilyName: word(rng, 2, 5)},
			Emails: []schemas.Email{{Value: word(rng, 1, 3) + "@" + id, Primary: true}},
			Status: []string{schemas.StatusActive, schemas.StatusDisabled, schemas.StatusPending}[rng.IntN(3)]}
		if rng.IntN(10) == 0 { // no given name, or no display name: empty values hold no key
			u.Name.GivenName = ""
		} else if rng.IntN(10) == 0 {
			u.DisplayName = ""
		}
		return u
	}
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var first []*schemas.User
	for i := range 2000 {
		first = append(first, user(rng, fmt.Sprintf("c%05d", i)))
	}
	for _, err := range s.CreateUsers(ctx, first) {
		if err != nil {
			t.Fatal(err)
		}
	}
	s = reopenNoSync(t, s, dir)
	defer s.Close()

	var wg sync.WaitGroup
	done := make(chan struct{})
	var writes sync.WaitGroup
	for w := range 2 {
		writes.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range 300 {
				id := fmt.Sprintf("c%05d", rng.IntN(2000))
				var err error
				switch rng.IntN(4) {
				case 0:
					_, err = s.CreateUser(ctx, user(rng, fmt.Sprintf("n%d-%04d", w, i)), nil)
				case 1:
					if err = s.DeleteUser(ctx, id, nil); errors.Is(err, storage.ErrNotFound) {
						err = nil
					}
				default:
					nu, which := user(rng, id), rng.IntN(3)
					_, err = s.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
						switch which {
						case 0:
							u.Name.GivenName = nu.Name.GivenName
						case 1:
							u.Name.FamilyName = nu.Name.FamilyName
						default:
							u.DisplayName = nu.DisplayName
						}
						return nil
					}, nil)
					if errors.Is(err, storage.ErrNotFound) {
						err = nil
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	scimAttrs := []string{"name.givenName", "name.familyName", "displayName"}
	nativeAttrs := []string{"name.first_name", "name.last_name", "name.first_name"} // native users have no display name
	ops := []string{"co", "sw", "ew", "eq"}
	// search returns a random search of the names, and its dialect.
	search := func(rng *rand.Rand) (string, schemas.ParseOptions) {
		opt, attrs := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}, scimAttrs
		if rng.IntN(4) == 0 {
			opt, attrs = schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect}, nativeAttrs
		}
		cmp := func(a string) string {
			return fmt.Sprintf("%s %s %q", a, ops[rng.IntN(len(ops))], word(rng, 1, 4))
		}
		var expr string
		two := func(op string) string { return cmp(attrs[rng.IntN(3)]) + " " + op + " " + cmp(attrs[rng.IntN(3)]) }
		switch rng.IntN(10) {
		case 0: // the portal's search box: one text over the names (and, in SCIM, userName and emails)
			op, w := ops[rng.IntN(len(ops))], word(rng, 2, 4)
			expr = fmt.Sprintf("%s %s %q or %s %s %q or %s %s %q", attrs[0], op, w, attrs[1], op, w, attrs[2], op, w)
			if opt.Dialect == schemas.SCIMDialect && rng.IntN(2) == 0 {
				expr += fmt.Sprintf(" or userName %s %q or emails.value %s %q", op, w, op, w)
			}
		case 1:
			expr = two("or")
		case 2:
			expr = two("and")
		case 3:
			expr = "(" + two("or") + ") and " + cmp(attrs[rng.IntN(3)])
		case 4:
			expr = cmp(attrs[rng.IntN(3)]) + " or (" + two("and") + ")"
		case 5:
			expr = fmt.Sprintf("status eq %q and (%s)", []string{"Active", "disabled", "Gone"}[rng.IntN(3)], two("or"))
		case 6:
			expr = "not (" + cmp(attrs[rng.IntN(3)]) + ") and " + cmp(attrs[rng.IntN(3)])
		default:
			expr = cmp(attrs[rng.IntN(3)])
		}
		return expr, opt
	}
	var exact, searches atomic.Int64
	for g := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for {
				select {
				case <-done:
					return
				default:
				}
				expr, opt := search(rng)
				f, err := schemas.ParseFilter(expr, opt)
				if err != nil {
					t.Errorf("%s: %v", expr, err)
					return
				}
				err = s.userView(func(r *users) error {
					diff, ex := planAgainstScan(s, r, f)
					if diff != "" {
						t.Errorf("%s: %s", expr, diff)
					}
					if ex {
						exact.Add(1)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				searches.Add(1)
			}
		})
	}
	writes.Wait()
	close(done)
	wg.Wait()
	waitVocabulary(t, s)
	t.Logf("%d searches, %d planned exact", searches.Load(), exact.Load())

	// Then, the writers done, listings in id order and sorted (through a
	// sort index, and evaluated), paged by their cursors with a count limit.
	scim := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	for range 40 {
		expr, opt := search(rng)
		f, err := schemas.ParseFilter(expr, opt)
		if err != nil {
			t.Fatal(err)
		}
		scan, _ := scanAndPlan(t, s, f)
		for _, sortBy := range []string{"", "name.familyName", "displayName"} {
			var key *schemas.SortKey // "": id order
			if sortBy != "" {
				p, err := schemas.ParsePath(sortBy, scim)
				if err != nil {
					t.Fatal(err)
				}
				key = &schemas.SortKey{Path: p, Descending: rng.IntN(2) == 0}
			}
			want := userIDs(scan)
			if len(scan) > 0 && key != nil {
				sorted := slices.Clone(scan)
				schemas.SortUsers(sorted, key)
				want = userIDs(sorted)
			}
			checkCursorPages(t, s, f, key, want, fmt.Sprintf("%s sorted by %s", expr, sortBy))
		}
	}
	if exact.Load() < searches.Load()/10 {
		t.Errorf("%d of %d searches planned exact: the vocabulary was hardly used", exact.Load(), searches.Load())
	}
	return s
}

// TestVocabularyCloseDuringWalk: Close during the walk at open stops it
// after its transaction (Close waits for it: no goroutine outlives the
// store), and leaves the vocabulary unready; the next open walks the file
// again. The walk is held mid-file by the vocabulary's lock while Close
// begins.
func TestVocabularyCloseDuringWalk(t *testing.T) {
	s, dir := walkedIn(t, 1)
	ctx := context.Background()
	for _, err := range s.CreateUsers(ctx, searchUsers(4000)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	midway := false
	for try := 0; try < 5 && !midway; try++ {
		s = reopenNoSync(t, s, dir)
		s.vocab.mu.Lock()
		select {
		case <-s.vocabDone:
			s.vocab.mu.Unlock()
			continue // the walk was done already
		default:
		}
		midway = true
		closed := make(chan error)
		go func() { closed <- s.Close() }()
		<-s.quit // Close has begun
		s.vocab.mu.Unlock()
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.vocabDone:
		default:
			t.Fatal("Close returned before the walk")
		}
		if s.vocab.readyAt.Load() != 0 {
			t.Error("the walk went on to the end of the file after Close")
		}
	}
	if !midway {
		t.Fatal("the walk was done before the test could hold it every time")
	}
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	waitVocabulary(t, s)
	s.Close()
}

// BenchmarkVocabularyAddSeen is the writer's cost of the vocabulary for a
// staged user whose names it holds already (a create with a common given
// name): the record viewed and looked up under the read lock.
func BenchmarkVocabularyAddSeen(b *testing.B) {
	vc := newVocabulary(vocabBits)
	vc.ready(0)
	rec := encodeSearchRecord(&schemas.User{ID: "u1", UserName: "ada.lovelace", DisplayName: "Ada Lovelace",
		Name: schemas.Name{GivenName: "Ada", FamilyName: "Lovelace"}, Emails: []schemas.Email{{Value: "ada@example.com", Primary: true}}})
	var scratch schemas.User
	if err := vc.addRecord(rec, &scratch); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := vc.addRecord(rec, &scratch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVocabularyAddNew is that cost for a user with a display name the
// vocabulary does not hold: the value and its keys added under the lock.
func BenchmarkVocabularyAddNew(b *testing.B) {
	vc := newVocabulary(vocabBits)
	var scratch schemas.User
	recs := make([][]byte, 1<<14)
	for i := range recs {
		recs[i] = encodeSearchRecord(&schemas.User{ID: "u1", DisplayName: fmt.Sprintf("Ada Lovelace %d", i), Name: schemas.Name{GivenName: "Ada", FamilyName: "Lovelace"}})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(recs) {
			b.StopTimer()
			vc, i = newVocabulary(vocabBits), 0
			b.StartTimer()
		}
		if err := vc.addRecord(recs[i], &scratch); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkImplyingKeysBudget is a comparison that examines nearly
// vocabBudget values (4,000 distinct given names holding "kat", all
// matching co "kathe"): the longest a search holds the vocabulary's read
// lock, which a writer adding a value waits for.
func BenchmarkImplyingKeysBudget(b *testing.B) {
	var users []*schemas.User
	for i := range 4000 {
		users = append(users, &schemas.User{ID: "u", Name: schemas.Name{GivenName: fmt.Sprintf("Katherine %d", i)}})
	}
	vc := vocabOf(b, vocabBits, users...)
	c, keys := comparison(b, `name.givenName co "kathe"`)
	for b.Loop() {
		if _, ok := vc.implyingKeys(c, bitGivenName, keys, 0); !ok {
			b.Fatal("no key")
		}
	}
}

// BenchmarkVocabularyMemory reports the heap a full vocabulary takes:
// vocabCap values in each of the three names (10 to 27 bytes), in bytes a
// value (B/value) and in all (MB).
func BenchmarkVocabularyMemory(b *testing.B) {
	recs := make([][]byte, vocabCap)
	for i := range recs {
		recs[i] = encodeSearchRecord(&schemas.User{ID: "x", DisplayName: fmt.Sprintf("Katherine Lovelace-%d", i*7919),
			Name: schemas.Name{GivenName: fmt.Sprintf("Given%d", i), FamilyName: fmt.Sprintf("Family%d", i)}})
	}
	var heap uint64
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		vc := newVocabulary(vocabBits)
		var scratch schemas.User
		for _, rec := range recs {
			if err := vc.addRecord(rec, &scratch); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		runtime.KeepAlive(vc)
		heap = m1.HeapAlloc - m0.HeapAlloc
	}
	b.ReportMetric(float64(heap)/float64(3*len(recs)), "B/value")
	b.ReportMetric(float64(heap)/(1<<20), "MB")
}
