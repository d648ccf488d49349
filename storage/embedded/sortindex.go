package embedded

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"slices"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/scimd/scimd/schemas"
)

// Sorted listings (sortBy, the native sort_field, the portal's columns) walk
// an index in sort order instead of decoding and sorting every match. The
// sortKeys bucket holds, for each sorted attribute and user, the key
//
//	index id (1 byte) · 1 (a value) or 2 (none) · escaped value · 00 00 · user id
//
// whose value is the user's search row. The value is the one SortUsers
// orders by (schemas.UserSortValue), folded unless caseExact, and escaped
// so that byte order is SortUsers' order (0x00 → 00 ff, then the 00 00
// terminator): ascending key order is the ascending listing — values, then
// the users without one, ties by id. A descending listing walks the runs of
// equal values backwards, each run forwards (ties stay in id order), the
// users without a value first. The keys are changed with the search record
// (stageSearch), in the same transaction as the user.

var bucketSortKeys = []byte("sortKeys")

// sortIndex is one sorted attribute.
type sortIndex struct {
	id   byte
	path schemas.Path
}

// sortPaths are the sorted attributes; an index's id is its position + 1.
var sortPaths = [...]string{"userName", "name.familyName", "emails.value", "meta.created", "meta.lastModified"}

// sortKeys are the keys (without the id) of one user in every sort index,
// in the order of sortPaths.
type sortKeys [len(sortPaths)][]byte

// sortIndexes are the sorted attributes, in the order of sortPaths, and
// sortIndexByCanonical the same by canonical path.
var sortIndexes, sortIndexByCanonical = func() ([]*sortIndex, map[string]*sortIndex) {
	opt := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	var list []*sortIndex
	m := map[string]*sortIndex{}
	for i, name := range sortPaths {
		p, err := schemas.ParsePath(name, opt)
		if err != nil {
			panic(err)
		}
		ix := &sortIndex{id: byte(i + 1), path: p}
		list = append(list, ix)
		m[p.Attr.Canonical] = ix
	}
	return list, m
}()

// sortKeysOf returns the sort keys of u, sharing one array (each key is
// capped: appending to one copies it).
func sortKeysOf(u *schemas.User) (k sortKeys) {
	k, _ = appendSortKeys(make([]byte, 0, 128), u)
	return k
}

// appendSortKeys is sortKeysOf appending the keys to buf (which it returns
// grown).
func appendSortKeys(buf []byte, u *schemas.User) (k sortKeys, _ []byte) {
	from := len(buf)
	var ends [len(sortPaths)]int
	for i, ix := range sortIndexes {
		buf = ix.appendKey(buf, u)
		ends[i] = len(buf)
	}
	for i, to := range ends {
		k[i] = buf[from:to:to]
		from = to
	}
	return k, buf
}

// sortIndexFor returns the index that orders a listing by k, if any.
func sortIndexFor(k *schemas.SortKey) (*sortIndex, bool) {
	if k == nil || k.Path.Attr == nil || k.Path.AppID != "" || len(k.Path.Keys) > 0 {
		return nil, false
	}
	ix, ok := sortIndexByCanonical[k.Path.Attr.Canonical] // canonical paths are unique
	return ix, ok
}

// key returns the key of u in the index without its id (the run of every
// user with the same value).
func (ix *sortIndex) key(u *schemas.User) []byte { return ix.appendKey(make([]byte, 0, 32), u) }

// appendKey appends the key of u in the index to k.
func (ix *sortIndex) appendKey(k []byte, u *schemas.User) []byte {
	k = append(k, ix.id, 2)
	v, ok := schemas.UserSortValue(u, &ix.path)
	if ok {
		k[len(k)-1] = 1
		switch v.Kind {
		case schemas.KindString:
			if schemas.SortCaseExact(&ix.path) {
				k = escapeSortBytes(k, v.Str)
			} else {
				var buf [64]byte // folded here, not into a new string
				k = escapeSortBytes(k, schemas.AppendFold(buf[:0], v.Str))
			}
		case schemas.KindTime:
			var b [12]byte
			binary.BigEndian.PutUint64(b[:], uint64(v.Time.Unix())^(1<<63))
			binary.BigEndian.PutUint32(b[8:], uint32(v.Time.Nanosecond()))
			k = escapeSortBytes(k, b[:])
		}
	}
	return append(k, 0, 0)
}

// escapeSortBytes appends s with every 0x00 written as 00 ff.
func escapeSortBytes[S string | []byte](k []byte, s S) []byte {
	k = slices.Grow(k, len(s)+2) // + the terminator
	for i := 0; i < len(s); i++ {
		k = append(k, s[i])
		if s[i] == 0 {
			k = append(k, 0xff)
		}
	}
	return k
}

// sortRun returns the run part of an index key (everything before the id).
func sortRun(k []byte) []byte {
	if i := bytes.Index(k[2:], []byte{0, 0}); i >= 0 {
		return k[:2+i+2]
	}
	return k
}

// sortWrites collects changes of the sort index and writes them in key
// order (flush): a user's keys land at random places of the index, and
// bbolt's search for each key costs less when the one before it was its
// neighbour (the pages on the way are the ones just searched). A batch of
// creates put five keys a user one after the other, a quarter of the
// writer's time in an import.
type sortWrites struct {
	keys []byte // every key, one after the other
	ops  []sortOp
}

// sortOp puts keys[start:end] with the value row, or deletes it.
type sortOp struct {
	start, end, row uint32
	del             bool
}

// stage records the move of the index keys of user id (at row) from old to
// nu (either nil). A key bbolt would refuse is refused here, before
// anything of the write is staged.
func (w *sortWrites) stage(id string, row uint32, old, nu *sortKeys) error {
	for i := range sortIndexes {
		var ok, nk []byte
		if old != nil {
			ok = old[i]
		}
		if nu != nil {
			nk = nu[i]
		}
		if bytes.Equal(ok, nk) {
			continue
		}
		if nk != nil && len(nk)+len(id) > bolt.MaxKeySize {
			return berrors.ErrKeyTooLarge
		}
		if ok != nil {
			w.add(ok, id, row, true)
		}
		if nk != nil {
			w.add(nk, id, row, false)
		}
	}
	return nil
}

func (w *sortWrites) add(run []byte, id string, row uint32, del bool) {
	start := uint32(len(w.keys))
	w.keys = append(append(w.keys, run...), id...)
	w.ops = append(w.ops, sortOp{start, uint32(len(w.keys)), row, del})
}

// flush writes the staged changes to the sort index bk in key order (the
// changes of one key in the order staged) and forgets them, keeping its
// buffers for the next changes (the writer keeps them from batch to batch:
// Store.sortBuf).
func (w *sortWrites) flush(bk *kvBucket) error {
	key := func(op sortOp) []byte { return w.keys[op.start:op.end] }
	slices.SortFunc(w.ops, func(a, b sortOp) int { // stable: keys are stored in the order staged
		if c := bytes.Compare(key(a), key(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	for _, op := range w.ops {
		var err error
		if op.del { // a key of the image replaced: the bucket holds it
			err = bk.DeletePresent(key(op))
		} else {
			err = bk.Put(key(op), scratchRow(bk, op.row))
		}
		if err != nil {
			return err
		}
	}
	w.keys, w.ops = w.keys[:0], w.ops[:0] // bbolt copied the keys it keeps
	return nil
}

// pageSorted sets the page and the total of the users of m (every user
// when nil) in the order of l.ix. It walks the index until the page is
// full when that visits fewer keys than reading and sorting the
// candidates' search records costs — a walk stopped at that budget (the
// candidates sort late) sorts them after all — else it sorts them. A walk
// (or no page) counts the matches first, up to q.CountLimit; a sort reads
// each candidate's search record once, to check it and to take its sort
// key, so that its count is exact for the same reads.
func pageSorted(ctx context.Context, l *lister, m *rowMatch) error {
	from, to, any := l.bounds()
	stored := countUsers(&l.r.txBuckets)
	n, budget := stored, -1
	if m != nil {
		n = max(m.size(stored), 1)
		// Sorting reads a search record per candidate, about ten key visits.
		budget = 10*n + min(to, stored)
	}
	// Walking visits about to·users/n keys.
	walk := m == nil || int64(min(to, stored))*int64(stored)/int64(n) < int64(budget)
	switch {
	case m == nil:
		l.page.Total = stored
	case walk || !any || m.all || m.f == nil:
		if err := m.count(ctx, l.q.CountLimit); err != nil {
			return err
		}
		l.page.Total, l.page.Capped = m.total(l.q.CountLimit)
	}
	if !any {
		return nil
	}
	if walk {
		var in func(row uint32) bool
		if m != nil {
			in = m.member()
		}
		ids, more, done := walkSorted(l.r.sortKeys(), l.ix, l.desc, in, l.after, from, to, budget)
		if m != nil && m.err != nil {
			return m.err
		}
		if done {
			if err := l.readPage(ids); err != nil {
				return err
			}
			l.setNext(more)
			return ctx.Err()
		}
	}
	if m.f != nil && m.all {
		// A count stopped at the limit over every user: finish it, leaving
		// the matches as rows.
		if err := m.count(ctx, 0); err != nil {
			return err
		}
		l.page.Total, l.page.Capped = m.total(0)
	}
	checks := m.f != nil
	ids, more, matches, err := sortRows(l, m, from, to)
	if err != nil {
		return err
	}
	if checks {
		l.page.Total, l.page.Capped = matches, false
	}
	if err := l.readPage(ids); err != nil {
		return err
	}
	l.setNext(more)
	return ctx.Err()
}

// sortShortRun is the longest run of equal values a descending walk reads
// backwards (a variable for the tests).
var sortShortRun = 64

// walkSorted returns the ids of the users in (every user when nil) at
// positions [from, to) of the index order after the key after (nil: from
// the start), and whether another follows. It gives up (done == false)
// after visiting budget keys (no limit when negative). A descending walk
// reads the index backwards, a run of equal values at a time, and lists
// each run forwards (ties stay in id order).
func walkSorted(bk *kvBucket, ix *sortIndex, desc bool, in func(row uint32) bool, after []byte, from, to, budget int) (ids []string, more, done bool) {
	i, visited := 0, 0
	// visit takes one key; false ends the walk.
	visit := func(k, v []byte) bool {
		if i == to {
			more = true
			return false
		}
		if i >= from {
			ids = append(ids, string(k[len(sortRun(k)):]))
		}
		i++
		return true
	}
	c := bk.Cursor()
	if !desc {
		start := []byte{ix.id}
		if after != nil {
			start = after
		}
		k, v := c.Seek(start)
		if after != nil && k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
		for ; k != nil && k[0] == ix.id; k, v = c.Next() {
			if visited++; visited == budget {
				return ids, true, i == to // a full page: another may follow
			}
			if in != nil && !in(decodeRow(v)) {
				continue
			}
			if !visit(k, v) {
				break
			}
		}
		return ids, more, true
	}
	// The end of the walk's first run: the index's end, or the cursor's run.
	var k, v []byte
	var run []byte
	if after != nil {
		run = sortRun(after)
		end := append(slices.Clone(run[:len(run)-1]), 1) // every key of the run sorts before it
		k, v = c.Seek(end)
	} else {
		k, v = c.Seek([]byte{ix.id + 1})
	}
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	// skip reports a key of the cursor's run up to the cursor.
	skip := func(k []byte) bool {
		return after != nil && bytes.HasPrefix(k, run) && bytes.Compare(k, after) <= 0
	}
	// The members of a run are gathered backwards into buf and visited
	// from its end when the walk leaves the run; once a run has
	// sortShortRun of them (many users share a family name) it is walked
	// forwards from its start instead, so that only the page's part of it
	// is read. Keys that are not members cost a step and a bit test.
	type kv struct{ k, v []byte }
	var buf []kv
	var cur []byte // the run of buf
	flush := func() bool {
		for j := len(buf) - 1; j >= 0; j-- {
			if !skip(buf[j].k) && !visit(buf[j].k, buf[j].v) {
				return false
			}
		}
		buf = buf[:0]
		return true
	}
	for ; k != nil && k[0] == ix.id; k, v = c.Prev() {
		if visited++; visited == budget {
			return ids, true, i == to // a full page: another may follow
		}
		if in != nil && !in(decodeRow(v)) {
			continue
		}
		if len(buf) > 0 && !bytes.HasPrefix(k, cur) {
			if !flush() {
				return ids, more, true
			}
		}
		if len(buf) == 0 {
			cur = sortRun(k)
		}
		if len(buf) < sortShortRun {
			buf = append(buf, kv{k, v})
			continue
		}
		// A long run: forwards from its start (or the cursor).
		buf = buf[:0]
		cur = slices.Clone(cur)
		start := cur
		if after != nil && bytes.HasPrefix(after, cur) {
			start = after
		}
		for rk, rv := c.Seek(start); rk != nil && bytes.HasPrefix(rk, cur); rk, rv = c.Next() {
			if visited++; visited == budget {
				return ids, true, i == to // a full page: another may follow
			}
			if in != nil && !in(decodeRow(rv)) || skip(rk) {
				continue
			}
			if !visit(rk, rv) {
				return ids, more, true
			}
		}
		c.Seek(cur) // the run's first key: the walk goes on before it
	}
	flush()
	return ids, more, true
}

// sortRows returns the ids of the users of m's rows at positions [from,
// to) of the index order after the cursor, from their search records, and
// whether another follows. Candidates m has not checked (m.f set) are
// checked on the record read for their sort key; matches is the number of
// matches (before the cursor too).
func sortRows(l *lister, m *rowMatch, from, to int) (ids []string, more bool, matches int, err error) {
	// Only the first to+1 are needed: keep them sorted, each new key
	// inserted in place, unless the page is deep (then sort them all). The
	// keys (index key and id, see lister.keyOf) are unique.
	keep := to + 1
	bounded := keep <= 4096
	var items [][]byte
	var scratch schemas.User
	rc := rowCursor{c: l.r.search.recs().Cursor()}
	sure := m.sure
	for _, row := range m.rows {
		v := rc.seek(row)
		if v == nil {
			continue
		}
		if err := viewSearchRecord(v, &scratch); err != nil {
			return nil, false, 0, err
		}
		if m.f != nil {
			for len(sure) > 0 && sure[0] < row {
				sure = sure[1:]
			}
			if (len(sure) == 0 || sure[0] != row) && !schemas.MatchUser(m.f, &scratch) {
				continue
			}
		}
		matches++
		k := append(l.ix.key(&scratch), scratch.ID...)
		if !l.follows(k) {
			continue
		}
		if !bounded {
			items = append(items, k)
			continue
		}
		if len(items) == keep && l.compare(k, items[keep-1]) >= 0 {
			continue
		}
		at, _ := slices.BinarySearchFunc(items, k, l.compare)
		items = slices.Insert(items, at, k)
		if len(items) > keep {
			items = items[:keep]
		}
	}
	if !bounded {
		slices.SortFunc(items, l.compare)
	}
	f, t := pageBounds(len(items), from, to-from)
	ids = make([]string, 0, t-f)
	for _, k := range items[f:t] {
		ids = append(ids, string(k[len(sortRun(k)):]))
	}
	return ids, t < len(items), matches, nil
}
