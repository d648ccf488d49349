package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/internal/testfs"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// orderTestUsers returns n generated users whose ids are out of their
// creation order the ways a store meets: shuffled in windows of 64 (and
// created by concurrent writers, createAll), the last 400 below every
// id before (an import of another system's ids, then the server's own),
// and one in 997 far above the others.
func orderTestUsers(n int) []*schemas.User {
	rnd := rand.New(rand.NewPCG(12, 1))
	keys := make([]int, n)
	for i := range keys {
		keys[i] = i
	}
	for w := 0; w < n; w += 64 {
		win := keys[w:min(w+64, n)]
		rnd.Shuffle(len(win), func(i, j int) { win[i], win[j] = win[j], win[i] })
	}
	users := make([]*schemas.User, n)
	for i := range n {
		u := storagetest.NewUser(i)
		switch {
		case i >= n-400:
			u.ID = fmt.Sprintf("a%06d", keys[i])
		case i%997 == 5:
			u.ID = fmt.Sprintf("z%06d", keys[i])
		default:
			u.ID = fmt.Sprintf("m%06d", keys[i])
		}
		users[i] = u
	}
	return users
}

// TestPagesInIDOrder: pages of searches with many matches over three
// blocks of rows whose ids are out of row order (orderTestUsers), some
// users deleted, are the pages of the matches sorted by id — by offset,
// by cursor, and the total — for exact searches (the pages pageByBounds
// cuts) and checked ones.
func TestPagesInIDOrder(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	created := orderTestUsers(2*blockRows + 500)
	createAll(t, s, created)
	var live []*schemas.User
	for i, u := range created {
		if i%13 == 4 {
			if err := s.DeleteUser(ctx, u.ID, nil); err != nil {
				t.Fatal(err)
			}
			continue
		}
		live = append(live, u)
	}
	for _, expr := range []string{`name.familyName co "opp"`, `displayName sw "Ada Lovelace"`, `name.givenName sw "Ada"`,
		`userName sw "a"`, `emails.value co "example"`, `displayName co "ace Hop"`, `userName co "zz"`} {
		f := mustParse(t, expr)
		var want []string
		for _, u := range live {
			if schemas.MatchUser(f, u) {
				want = append(want, u.ID)
			}
		}
		slices.Sort(want)
		n := len(want)
		for _, q := range [][2]int{{0, 1}, {0, 10}, {7, 10}, {150, 100}, {n - 3, 10}, {0, storage.Unlimited}} {
			offset, limit := max(q[0], 0), q[1]
			p, err := s.ListUsers(ctx, storage.Query{Filter: f, Offset: offset, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			from, to := pageBounds(n, offset, limit)
			if got := userIDs(p.Items); p.Total != n || !slices.Equal(got, want[from:to]) {
				t.Errorf("%s offset %d limit %d: total %d, %v; want %d, %v", expr, offset, limit, p.Total, got, n, want[from:to])
			}
		}
		var got []string
		q := storage.Query{Filter: f, Limit: 50}
		for pages := 0; pages <= n/50+1; pages++ {
			p, err := s.ListUsers(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, userIDs(p.Items)...)
			if q.After = p.Next; q.After == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s by cursor: %d users, want %d (%v…, want %v…)", expr, len(got), n, got[:min(5, len(got))], want[:min(5, n)])
		}
		// pageByBounds itself, which ListUsers takes for few matches only.
		err := s.userView(func(r *users) error {
			var rows []uint32
			for _, id := range want {
				rows = append(rows, decodeRow(r.search.rows().Get([]byte(id))))
			}
			slices.Sort(rows)
			for _, c := range []struct {
				after    int // the cursor's index in want (-1: none)
				from, to int
			}{{-1, 0, 1}, {-1, 0, 100}, {-1, 30, 60}, {n / 2, 0, 10}, {n / 2, 5, n}, {n - 2, 0, 10}} {
				if c.after >= n {
					continue
				}
				var after []byte
				w := want
				if c.after >= 0 {
					after, w = []byte(want[c.after]), want[c.after+1:]
				}
				ir := idReader{c: r.search.recs().Cursor()}
				page, more, ok, err := pageByBounds(r, &ir, rows, after, c.from, c.to)
				if err != nil || !ok {
					t.Fatalf("%s: pageByBounds: ok %v, %v", expr, ok, err)
				}
				got := make([]string, len(page))
				for i, p := range page {
					got[i] = p.id
				}
				from, to := pageBounds(len(w), c.from, c.to-c.from)
				if !slices.Equal(got, w[from:to]) || more != (to < len(w)) {
					t.Errorf("%s: pageByBounds after %q [%d, %d): %v (more %v), want %v (more %v)", expr, after, c.from, c.to, got, more, w[from:to], to < len(w))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPageByBoundsReads: the page of a few thousand matches over three
// blocks, in id order, reads the ids of one block's matches and not every
// match's, from the start and after a cursor; and is the matches' ids
// sorted.
func TestPageByBoundsReads(t *testing.T) {
	s := openTemp(t)
	var created []*schemas.User
	for i := range 3 * blockRows {
		created = append(created, &schemas.User{ID: fmt.Sprintf("r%06d", i), UserName: fmt.Sprintf("reader.%06d", i)})
	}
	createAll(t, s, created) // concurrently: rows a little out of id order
	err := s.userView(func(r *users) error {
		var rows []uint32
		for row := uint32(0); row < 3*blockRows; row += 5 {
			rows = append(rows, row)
		}
		all := r.rowIDs(rows)
		slices.Sort(all)
		perBlock := len(rows) / 3
		for _, c := range []struct {
			after    string
			from, to int
		}{{"", 0, 10}, {"", 20, 120}, {all[len(all)*3/4], 0, 10}, {all[len(all)-2], 0, 10}} {
			ir := idReader{c: r.search.recs().Cursor()}
			var after []byte
			want := all
			if c.after != "" {
				after = []byte(c.after)
				want = all[slices.Index(all, c.after)+1:]
			}
			page, more, ok, err := pageByBounds(r, &ir, rows, after, c.from, c.to)
			if err != nil || !ok {
				t.Fatalf("pageByBounds after %q: ok %v, %v", c.after, ok, err)
			}
			got := make([]string, len(page))
			for i, p := range page {
				got[i] = p.id
			}
			from, to := pageBounds(len(want), c.from, c.to-c.from)
			if !slices.Equal(got, want[from:to]) || more != (to < len(want)) {
				t.Errorf("after %q [%d, %d): %v (more %v), want %v (more %v)", c.after, c.from, c.to, got, more, want[from:to], to < len(want))
			}
			if ir.reads > 3*perBlock/2 {
				t.Errorf("after %q [%d, %d): read %d ids; a block has %d matches, all blocks %d", c.after, c.from, c.to, ir.reads, perBlock, len(rows))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fileIDBounds returns the idBounds of the store's file (block → lowest
// and highest id) and meta idBoundsTo.
func fileIDBounds(t *testing.T, s *Store) (map[uint32][2]string, uint32) {
	t.Helper()
	got := make(map[uint32][2]string)
	var to uint32
	err := s.fileView(func(tx *bolt.Tx) error {
		to = decodeRow(tx.Bucket(bucketMeta).Get(keyIDBoundsTo))
		return tx.Bucket(bucketIDBounds).ForEach(func(k, v []byte) error {
			lo, hi, err := decodeBounds(v)
			got[decodeRow(k)] = [2]string{strings.Clone(lo), strings.Clone(hi)}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, to
}

// TestIDBounds: the writer keeps each block's lowest and highest id as it
// gives rows (deletes leave them); Open bounds the rows a binary from
// before the bounds gave — every row, or those after the rows the file
// bounds already — to the same bounds; and searches after it page in id
// order.
func TestIDBounds(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	users := orderTestUsers(blockRows + 700)
	createAll(t, s, users)
	// The bounds of the rows as given: the writer gave them in commit order.
	want := make(map[uint32][2]string)
	rowOf := make(map[string]uint32)
	err = s.fileView(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSearchRecords).ForEach(func(k, v []byte) error {
			row, id := decodeRow(k), strings.Clone(searchRecordID(v))
			rowOf[id] = row
			b, ok := want[row/blockRows]
			if !ok {
				b = [2]string{id, id}
			}
			want[row/blockRows] = [2]string{min(b[0], id), max(b[1], id)}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(users); i += 7 {
		if err := s.DeleteUser(context.Background(), users[i].ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		got, to := fileIDBounds(t, s)
		if to != uint32(len(users)) || len(got) != len(want) {
			t.Fatalf("%s: idBoundsTo %d, %d blocks; want %d, %d", when, to, len(got), len(users), len(want))
		}
		for b, w := range want {
			if got[b] != w {
				t.Errorf("%s: block %d bounds %q, want %q", when, b, got[b], w)
			}
		}
	}
	check("written by the writer, then deletes")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Block 1's rows from 100 on given by an older binary; then every row.
	var part [2]string
	for _, u := range users {
		if row := rowOf[u.ID]; row >= blockRows && row < blockRows+100 {
			if part[0] == "" || u.ID < part[0] {
				part[0] = u.ID
			}
			part[1] = max(part[1], u.ID)
		}
	}
	for _, older := range []func(tx *bolt.Tx) error{
		func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketIDBounds).Put(encodeRow(1), encodeBounds(nil, part[0], part[1])); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Put(keyIDBoundsTo, encodeRow(blockRows+100))
		},
		func(tx *bolt.Tx) error {
			if err := tx.DeleteBucket(bucketIDBounds); err != nil {
				return err
			}
			return tx.Bucket(bucketMeta).Delete(keyIDBoundsTo)
		},
	} {
		updateFile(t, dir, older)
		if s, err = Open(dir); err != nil {
			t.Fatal(err)
		}
		check("bounded at open")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	late := &schemas.User{ID: "0-late", UserName: "late.user"}
	if _, err := s.CreateUser(context.Background(), late, nil); err != nil {
		t.Fatal(err)
	}
	got, to := fileIDBounds(t, s)
	if last := uint32(len(users)) / blockRows; to != uint32(len(users))+1 || got[last][0] != late.ID || got[last][1] != want[last][1] {
		t.Errorf("after a create: idBoundsTo %d, last block %q; want %d, [%q %q]", to, got[last], len(users)+1, late.ID, want[last][1])
	}
}

// TestOpenReplaysLogOfUnboundedFile: a binary from before the id bounds
// crashed, its log holding acknowledged creates; the file has no idBounds
// bucket and rows without bounds. The same file format: Open must replay
// the log (not refuse it as another file's), then bound every row.
func TestOpenReplaysLogOfUnboundedFile(t *testing.T) {
	src, s := openDir(t, Options{})
	ctx := t.Context()
	before := storagetest.NewUser(1)
	if _, err := s.CreateUser(ctx, before, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // the file holds the first user, the log nothing
		t.Fatal(err)
	}
	dir := t.TempDir()
	testfs.CopyDir(t, src, dir) // the file (the log is a directory)
	s = openAt(t, src, Options{})
	after := storagetest.NewUser(2)
	if _, err := s.CreateUser(ctx, after, nil); err != nil {
		t.Fatal(err)
	}
	testfs.CopyDir(t, filepath.Join(src, LogDirName), filepath.Join(dir, LogDirName)) // (synced: the create was acknowledged)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	updateFile(t, dir, func(tx *bolt.Tx) error { // as the older binary left it
		if err := tx.DeleteBucket(bucketIDBounds); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyIDBoundsTo)
	})
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open of a file of the current format without id bounds, its log unapplied: %v", err)
	}
	defer s.Close()
	for _, u := range []*schemas.User{before, after} {
		if _, err := s.GetUser(ctx, u.ID); err != nil {
			t.Errorf("user %s after the replay: %v", u.ID, err)
		}
	}
	got, to := fileIDBounds(t, s)
	lo, hi := min(before.ID, after.ID), max(before.ID, after.ID)
	if to != 2 || got[0] != [2]string{lo, hi} {
		t.Errorf("after the open: idBoundsTo %d, block 0 %q; want 2, [%q %q]", to, got[0], lo, hi)
	}
}
