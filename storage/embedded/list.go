package embedded

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/internal/plan"
)

// ListUsers returns one page of the users matching q.Filter and the total,
// from one read transaction of the file.
//
// When the filter pins the answer to some users through an index (see
// planRows), only those are evaluated; otherwise every user is. Each
// candidate is checked with schemas.MatchUser — on its search record when the
// filter reads only what search records hold (filterFields), else on the
// decoded user — so the answer is the evaluator's, except where the index
// answer is exact (rowSet.exact): then the rows are the matches and only the
// page is read. Without a sort, or with one a sort index answers, the page is
// found by walking the users' ids or the index (listIndexed), and a cursor
// (Query.After) is the last user's key in that order, so that every page
// costs about the same; with q.CountLimit the candidates are checked only
// until the count passes it, and the page's candidates when the walk meets
// them. Any other listing is evaluated in memory (listEvaluated).
func (s *Store) ListUsers(ctx context.Context, q storage.Query) (storage.Page[*schemas.User], error) {
	if err := ctx.Err(); err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	ix, indexed := sortIndexFor(q.Sort)
	l := &lister{q: q, ix: ix, sorted: q.Sort != nil, desc: q.Sort != nil && q.Sort.Descending}
	if err := l.parseCursor(indexed); err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	err := s.userView(func(r *users) error {
		l.r, l.page = r, storage.Page[*schemas.User]{}
		if q.Sort == nil || indexed {
			if ok, err := s.listIndexed(ctx, l); ok || err != nil {
				return err
			}
		}
		return s.listEvaluated(ctx, l)
	})
	if err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	if l.page.Items == nil {
		l.page.Items = []*schemas.User{}
	}
	return l.page, nil
}

// lister is one ListUsers call: the query, its order, its cursor, and the page.
type lister struct {
	q      storage.Query
	ix     *sortIndex // the sort index of q.Sort, if any
	sorted bool       // q.Sort is set
	desc   bool
	// after is the cursor's position: the key of the last user of the
	// previous page in the listing's order (its id, or its sort index
	// key), nil at the start; offset is a cursor's offset instead, for
	// listings evaluated in memory.
	after  []byte
	offset int

	r    *users
	page storage.Page[*schemas.User]
}

// The kinds of cursors (the first byte of a decoded Query.After): a
// listing in id order, one in the order of a sort index, and one evaluated
// in memory (an offset).
const (
	cursorID     = 'i'
	cursorSorted = 's'
	cursorOffset = 'o'
)

// encodeCursor is a Query.After of kind for the listing sorted by k (nil:
// id order): the cursor's head (see cursorHead), then the payload (a
// position or an offset).
func encodeCursor(kind byte, k *schemas.SortKey, payload []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(cursorHead(kind, k), payload...))
}

// decodeCursor reads a cursor encodeCursor made for a listing sorted by k:
// its kind and payload (never empty). A cursor made for another sort
// attribute or direction, or none encodeCursor made, is ErrBadCursor.
func decodeCursor(after string, k *schemas.SortKey) (kind byte, payload []byte, err error) {
	b, err := base64.RawURLEncoding.DecodeString(after)
	if err != nil || len(b) == 0 {
		return 0, nil, storage.ErrBadCursor
	}
	head := cursorHead(b[0], k)
	if len(b) <= len(head) || !bytes.HasPrefix(b, head) {
		return 0, nil, storage.ErrBadCursor
	}
	return b[0], b[len(head):], nil
}

// cursorHead is what a cursor starts with: its kind and the sort it
// belongs to — the length of the sort's canonical path (zero for id
// order), the path and the direction ('a' or 'd'). The length makes the
// heads of two sorts differ, so that a prefix match is the same sort.
func cursorHead(kind byte, k *schemas.SortKey) []byte {
	b := []byte{kind}
	if k == nil {
		return binary.AppendUvarint(b, 0)
	}
	name := k.Path.String()
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	if k.Descending {
		return append(b, 'd')
	}
	return append(b, 'a')
}

// parseCursor reads q.After for the listing's order: a position for id
// order and the sort indexes, an offset for the other sorts.
func (l *lister) parseCursor(indexed bool) error {
	if l.q.After == "" {
		return nil
	}
	kind, rest, err := decodeCursor(l.q.After, l.q.Sort)
	if err != nil {
		return err
	}
	switch {
	case !l.sorted && kind == cursorID:
		l.after = rest
	case indexed && kind == cursorSorted && rest[0] == l.ix.id:
		l.after = rest
	case l.sorted && !indexed && kind == cursorOffset:
		n, size := binary.Uvarint(rest)
		if size <= 0 || size != len(rest) || n > math.MaxInt32 {
			return storage.ErrBadCursor
		}
		l.offset = int(n)
	default:
		return storage.ErrBadCursor
	}
	return nil
}

// keyOf is u's key in the listing's order (its id, or its sort index key):
// what a cursor after u holds.
func (l *lister) keyOf(u *schemas.User) []byte {
	if l.ix == nil {
		return []byte(u.ID)
	}
	return append(l.ix.key(u), u.ID...)
}

// follows reports whether the key k (see keyOf) comes after the cursor.
func (l *lister) follows(k []byte) bool {
	return l.after == nil || l.compare(k, l.after) > 0
}

// compare orders two keys (see keyOf) as the listing does: ascending, or
// for a descending sort its runs of equal values descending, each run in
// id order.
func (l *lister) compare(a, b []byte) int {
	if l.ix != nil && l.desc {
		if c := bytes.Compare(sortRun(a), sortRun(b)); c != 0 {
			return -c
		}
	}
	return bytes.Compare(a, b)
}

// setNext sets the page's Next cursor when more matches follow the page.
func (l *lister) setNext(more bool) {
	items := l.page.Items
	if !more || len(items) == 0 {
		return
	}
	kind := byte(cursorID)
	if l.ix != nil {
		kind = cursorSorted
	}
	l.page.Next = encodeCursor(kind, l.q.Sort, l.keyOf(items[len(items)-1]))
}

// bounds returns the positions [from, to) of the page, counted from the
// cursor, and whether it has any.
func (l *lister) bounds() (from, to int, any bool) {
	from = max(l.q.Offset, 0)
	switch {
	case l.q.Limit == 0:
		return from, from, false
	case l.q.Limit < 0:
		return from, math.MaxInt32, true // no overflow in to+1
	}
	return from, from + l.q.Limit, true
}

// readPage decodes the users of ids into the page.
func (l *lister) readPage(ids []string) error {
	l.page.Items = make([]*schemas.User, 0, len(ids))
	// One cursor for the page: a Get makes a cursor (and grows its stack)
	// for each user.
	c := l.r.recs().Cursor()
	var kb keyBuf
	for _, id := range ids {
		key := getKey(&kb, id)
		k, v := c.Seek(key)
		if k == nil || !bytes.Equal(k, key) {
			return fmt.Errorf("embedded: user %s is indexed but has no record", id)
		}
		u, err := l.r.decode(k, v)
		if err != nil {
			return err
		}
		l.page.Items = append(l.page.Items, u)
	}
	return nil
}

// listIndexed answers a listing in id order or in the order of a sort
// index whose filter (if any) the indexes answer exactly or the search
// records cover; ok == false leaves it to listEvaluated.
func (s *Store) listIndexed(ctx context.Context, l *lister) (ok bool, err error) {
	var m *rowMatch // nil: every user
	if f := l.q.Filter; f != nil {
		rs, planned := s.planRows(l.r, f)
		fields, covered := filterFields(f)
		switch {
		case planned && rs.exact():
			m = &rowMatch{rows: rs.rows}
		case covered:
			m = &rowMatch{f: f, fields: fields, all: !planned, rows: rs.rows, sure: rs.sure}
		default:
			return false, nil
		}
		m.r = l.r
		defer m.release()
	}
	if l.ix != nil {
		return true, pageSorted(ctx, l, m) // counts as it pages
	}
	if m == nil {
		l.page.Total = countUsers(&l.r.txBuckets)
		return true, listAll(l)
	}
	if _, to, any := l.bounds(); any {
		users := countUsers(&l.r.txBuckets)
		m.keepIDs = func(n int) bool { return sortsIDs(to, users, n) }
	}
	if err := m.count(ctx, l.q.CountLimit); err != nil {
		return true, err
	}
	l.page.Total, l.page.Capped = m.total(l.q.CountLimit)
	return true, pageOfRows(ctx, l, m)
}

// listEvaluated answers any listing in memory: the candidates (planned, or
// every user) decoded and checked, sorted, and the page cut from them.
func (s *Store) listEvaluated(ctx context.Context, l *lister) error {
	q, r := l.q, l.r
	var matches []*schemas.User
	if rs, planned := s.planRows(r, q.Filter); planned {
		for _, id := range r.rowIDs(rs.rows) {
			u, err := r.get(id)
			if err != nil {
				return err
			}
			if u != nil && schemas.MatchUser(q.Filter, u) {
				matches = append(matches, u)
			}
		}
		slices.SortFunc(matches, func(a, b *schemas.User) int { return strings.Compare(a.ID, b.ID) })
	} else {
		var err error
		if matches, err = s.scanUsers(ctx, r, q.Filter); err != nil {
			return err
		}
	}
	if q.Sort != nil {
		schemas.SortUsers(matches, q.Sort)
	}
	l.page.Total = len(matches)
	start := min(l.offset, len(matches))
	if l.after != nil {
		start = len(matches)
		for i, u := range matches {
			if l.follows(l.keyOf(u)) {
				start = i
				break
			}
		}
	}
	rest := matches[start:]
	from, to := pageBounds(len(rest), q.Offset, q.Limit)
	l.page.Items = rest[from:to:to]
	more := to < len(rest) && q.Limit > 0
	if l.sorted && l.ix == nil {
		if more && len(l.page.Items) > 0 {
			l.page.Next = encodeCursor(cursorOffset, q.Sort, binary.AppendUvarint(nil, uint64(start+to)))
		}
		return nil
	}
	l.setNext(more)
	return nil
}

// rowMatch is the users of a filter listIndexed answers, as search rows:
// the candidates (every row, or rows), those known to match (sure), and
// the filter that checks the others on their search records (f; nil when
// every candidate matches).
type rowMatch struct {
	r          *users
	f          schemas.Filter
	fields     recordFields // the parts of a search record f reads
	all        bool
	rows, sure []uint32
	// capped: count stopped at the count limit, leaving candidates
	// unchecked.
	capped bool
	// keepIDs, when set, tells whether a page would be cut from the ids of
	// n matches (see sortsIDs): count then keeps the ids of the matches it
	// checks (ids, unsorted; views of the transaction's memory map) while
	// there are few enough, so that the page needs no second read of their
	// search records, and reads the sure ones' at the end.
	keepIDs func(n int) bool
	ids     []string
	// in and known are the rows and sure as bit sets, made for a walk.
	in, known bitset
	recs      *kvCursor
	scratch   schemas.User
	err       error
}

// count checks the candidates in row order until more than limit match
// (limit > 0) or every one is checked; then rows are the matches, sure
// too, f is nil and capped is clear (a count stopped before is exact now).
// Stopped early, rows stay the candidates, sure gains the matches found,
// and capped is set.
func (m *rowMatch) count(ctx context.Context, limit int) error {
	if m.f == nil {
		return nil
	}
	if limit > 0 && len(m.sure) > limit {
		m.capped = true
		return nil
	}
	var out []uint32
	full := func() bool { return limit > 0 && len(out) > limit }
	// ids are the checked matches' ids, unread the sure ones' (read at the
	// end, and only when the page will be cut from the ids).
	var ids []string
	var unread []uint32
	keep := m.keepIDs != nil
	match := func(row uint32, v []byte) {
		out = append(out, row)
		if keep = keep && m.keepIDs(len(out)); !keep {
			ids, unread = nil, nil
		} else if v != nil {
			ids = append(ids, searchRecordID(v))
		} else {
			unread = append(unread, row)
		}
	}
	if m.all {
		c := m.r.search.recs().Cursor()
		for k, v := c.First(); k != nil && !full(); k, v = c.Next() {
			ok, err := m.check(v)
			if err != nil {
				return err
			}
			if ok {
				match(decodeRow(k), v)
			}
		}
	} else {
		rc := rowCursor{c: m.r.search.recs().Cursor()}
		sure := m.sure
		for _, row := range m.rows {
			if full() {
				break
			}
			for len(sure) > 0 && sure[0] < row {
				sure = sure[1:]
			}
			if len(sure) > 0 && sure[0] == row {
				match(row, nil)
				continue
			}
			v := rc.seek(row)
			if v == nil {
				continue // a row without a record: no user
			}
			ok, err := m.check(v)
			if err != nil {
				return err
			}
			if ok {
				match(row, v)
			}
		}
	}
	if full() {
		m.capped = true
		m.sure = unionRows(m.sure, out)
		return ctx.Err()
	}
	m.rows, m.sure, m.f, m.all, m.capped = out, out, nil, false, false
	if keep {
		m.ids = append(ids, m.r.rowIDs(unread)...)
	}
	return ctx.Err()
}

// total is the count of the matches, or limit when count stopped there.
func (m *rowMatch) total(limit int) (int, bool) {
	if m.capped {
		return limit, true
	}
	return len(m.rows), false
}

// check evaluates the filter on a search record, reading the fields it
// needs.
func (m *rowMatch) check(v []byte) (bool, error) {
	if err := viewSearchFields(v, &m.scratch, m.fields); err != nil {
		return false, err
	}
	return schemas.MatchUser(m.f, &m.scratch), nil
}

// member returns the test of a row's membership for a walk: a candidate
// that is sure, or checked on its search record there and then. An error of
// a check stops the walk (the test returns false) and is left in m.err.
func (m *rowMatch) member() func(row uint32) bool {
	if !m.all && m.in == nil {
		m.in = newBitset(m.rows)
	}
	if m.f == nil {
		return m.in.has
	}
	if m.known == nil {
		m.known = newBitset(m.sure)
		m.recs = m.r.search.recs().Cursor()
	}
	return func(row uint32) bool {
		if m.err != nil || (!m.all && !m.in.has(row)) {
			return false
		}
		if m.known.has(row) {
			return true
		}
		key := rowKey(row)
		k, v := m.recs.Seek(key[:])
		if k == nil || !bytes.Equal(k, key[:]) {
			return false
		}
		ok, err := m.check(v)
		if err != nil {
			m.err = err
			return false
		}
		return ok
	}
}

// release gives back the bit sets of a walk (see member); m must not be
// walked after.
func (m *rowMatch) release() {
	m.in.release()
	m.known.release()
	m.in, m.known = nil, nil
}

// size is the number of candidates (of every user when all).
func (m *rowMatch) size(users int) int {
	if m.all {
		return users
	}
	return len(m.rows)
}

// bitset is a set of rows.
type bitset []uint64

// bitsets keeps released bit sets (*bitset, cleared) for the next walk: at
// a million users one is 125 KB, which made and dropped by every search
// was a tenth of a common search's CPU, its clearing and the collector's
// share.
var bitsets sync.Pool

// newBitset returns the set of rows (sorted); release gives it back.
func newBitset(rows []uint32) bitset {
	if len(rows) == 0 {
		return bitset{}
	}
	n := int(rows[len(rows)-1]/64 + 1)
	var b bitset
	if p, _ := bitsets.Get().(*bitset); p != nil && cap(*p) >= n {
		b = (*p)[:n]
	} else {
		b = make(bitset, n)
	}
	for _, r := range rows {
		b[r/64] |= 1 << (r % 64)
	}
	return b
}

// release clears b and keeps it for another newBitset; b must not be used
// after.
func (b bitset) release() {
	if cap(b) == 0 {
		return
	}
	clear(b)
	bitsets.Put(&b)
}

func (b bitset) has(row uint32) bool {
	i := row / 64
	return int(i) < len(b) && b[i]&(1<<(row%64)) != 0
}

// rowCursor reads search records of ascending rows: a row close ahead is
// reached by stepping the cursor, cheaper than a seek from the root.
type rowCursor struct {
	c   *kvCursor
	k   []byte
	v   []byte
	row uint32
}

// seek returns the search record of row, or nil when it has none.
func (rc *rowCursor) seek(row uint32) []byte {
	if rc.k != nil && row >= rc.row && row-rc.row <= 16 {
		for rc.k != nil && rc.row < row {
			rc.k, rc.v = rc.c.Next()
			rc.row = decodeRow(rc.k)
		}
	} else {
		key := rowKey(row)
		rc.k, rc.v = rc.c.Seek(key[:])
		rc.row = decodeRow(rc.k)
	}
	if rc.k == nil || rc.row != row {
		return nil
	}
	return rc.v
}

// pageOfRows sets the page of the users of m in id order. It walks the ids
// in order (userRows) until the page is full when m has unchecked
// candidates, or when the rows are a large part of the users or the page
// is near the start (see sortsIDs); else it sorts the ids of the rows when
// the count kept them, else it reads the ids of the blocks of rows the page
// takes in the order of the blocks' id bounds (pageByBounds) — or, when
// every match is on the page or before it (their ids are all read then
// anyway), or in a file whose rows are not all bounded, reads the ids of
// every row and sorts them. The bounds are also read, instead of the walk, when they
// cost fewer reads (see boundsPay).
func pageOfRows(ctx context.Context, l *lister, m *rowMatch) error {
	from, to, any := l.bounds()
	if !any {
		return nil
	}
	r := l.r
	users := countUsers(&l.r.txBuckets)
	var pageIDs []string
	more := false
	walk := m.f != nil || !sortsIDs(to, users, m.size(users))
	if m.f == nil && len(m.ids) != len(m.rows) && len(m.rows) > to && (!walk || boundsPay(to, users, len(m.rows))) {
		ir := idReader{c: r.search.recs().Cursor()}
		page, nxt, ok, err := pageByBounds(r, &ir, m.rows, l.after, from, to)
		if err != nil {
			return err
		}
		if ok {
			pageIDs = make([]string, len(page))
			for i, p := range page {
				pageIDs[i] = p.id
			}
			if err := l.readPage(pageIDs); err != nil {
				return err
			}
			l.setNext(nxt)
			return ctx.Err()
		}
	}
	if walk {
		in := m.member()
		c := r.search.rows().Cursor()
		k, v := c.First()
		if l.after != nil {
			if k, v = c.Seek(l.after); k != nil && bytes.Equal(k, l.after) {
				k, v = c.Next()
			}
		}
		i := 0
		for ; k != nil; k, v = c.Next() {
			if !in(decodeRow(v)) {
				continue
			}
			if i == to {
				more = true
				break
			}
			if i >= from {
				pageIDs = append(pageIDs, view(k))
			}
			i++
		}
		if m.err != nil {
			return m.err
		}
	} else {
		ids := m.ids // the count's, views of the memory map
		if len(ids) != len(m.rows) {
			ids = r.rowIDs(m.rows)
		}
		slices.Sort(ids)
		if l.after != nil {
			ids = ids[sort.SearchStrings(ids, string(l.after)+"\x00"):]
		}
		f, t := pageBounds(len(ids), from, to-from)
		pageIDs, more = ids[f:t], t < len(ids)
	}
	if err := l.readPage(pageIDs); err != nil {
		return err
	}
	l.setNext(more)
	return ctx.Err()
}

// boundsPay reports whether pageByBounds costs fewer reads than walking the
// ids in order for the page [·, to) of n matches among users: it reads
// about the page's ids and a block's matches more, where the walk visits
// about to·users/n ids (a tenth of a read each; see sortsIDs).
func boundsPay(to, users, n int) bool {
	blocks := max(1, (users+blockRows-1)/blockRows)
	bounds := int64(min(to, n)) + 2*int64(n)/int64(blocks)
	walk := int64(min(to, math.MaxInt32)) * int64(users) / (10 * max(int64(n), 1))
	return bounds < walk
}

// sortsIDs reports whether pageOfRows cuts the page [·, to) of n matches
// among users from their ids, read and sorted, rather than walking every
// id in order until the page is full. Walking visits about to·users/n ids
// (cheap: a cursor step each); reading the matches' ids costs a lookup per
// match (about ten steps).
func sortsIDs(to, users, n int) bool {
	return int64(min(to, math.MaxInt32))*int64(users) >= 10*int64(n)*int64(n)
}

// rowIDs returns the ids of the users of the search rows (skipping rows no
// user has), in row order: views of the transaction's memory map (see
// view).
func (r *users) rowIDs(rows []uint32) []string {
	ids := make([]string, 0, len(rows))
	c := r.search.recs().Cursor()
	for _, row := range rows {
		key := rowKey(row)
		if k, v := c.Seek(key[:]); k != nil && bytes.Equal(k, key[:]) {
			ids = append(ids, searchRecordID(v))
		}
	}
	return ids
}

// view is k as a string without a copy: a key or value of bbolt's memory
// map, valid while the transaction is open, so it is never kept beyond it
// (the page's users are decoded into strings of their own).
func view(k []byte) string { return unsafe.String(unsafe.SliceData(k), len(k)) }

// listAll is the page of every user in id order: a cursor walk to the
// cursor's id and the offset, and only the page decoded.
func listAll(l *lister) error {
	from, to, any := l.bounds()
	if !any {
		return nil
	}
	// The search rows are keyed like the records, a few bytes each instead
	// of a whole user: skip to the offset on them, then read the page.
	vc := l.r.search.rows().Cursor()
	first, _ := vc.First()
	if l.after != nil {
		if first, _ = vc.Seek(l.after); first != nil && bytes.Equal(first, l.after) {
			first, _ = vc.Next()
		}
	}
	for i := 0; i < from && first != nil; i++ {
		first, _ = vc.Next()
	}
	if first == nil {
		return nil
	}
	c := l.r.recs().Cursor()
	k, v := c.Seek(first)
	for i := from; i < to && k != nil; i++ {
		u, err := l.r.decode(k, v)
		if err != nil {
			return err
		}
		l.page.Items = append(l.page.Items, u)
		k, v = c.Next()
	}
	l.setNext(k != nil)
	return nil
}

// scanUsers decodes every user and evaluates f (nil: all) on it, in id order.
// Decoding, the bulk of the work, runs on all CPUs: each record is first
// decoded without copying its strings (decodeUserView) and evaluated, and
// only the matches are decoded again for keeps. The cursors and the group
// lookups stay in this goroutine.
func (s *Store) scanUsers(ctx context.Context, r *users, f schemas.Filter) ([]*schemas.User, error) {
	const chunk = 512
	type item struct {
		id      string
		v       []byte
		version int64
		u       *schemas.User
		keep    bool
		err     error
	}
	workers := runtime.GOMAXPROCS(0)
	var out []*schemas.User
	items := make([]item, 0, chunk)
	parallel := func(work func(it *item)) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(items); i += workers {
					work(&items[i])
				}
			})
		}
		wg.Wait()
	}
	flush := func() error {
		parallel(func(it *item) {
			if it.u, it.err = decodeUserView(it.v); it.err != nil {
				it.err = fmt.Errorf("embedded: user %s: %w", it.id, it.err)
			}
		})
		for i := range items {
			it := &items[i]
			if it.err != nil {
				return it.err
			}
			var changes int64
			if it.u.GroupIDs, changes, it.err = r.groupsOf(it.id); it.err != nil {
				return it.err
			}
			it.u.Version = it.version + changes
		}
		parallel(func(it *item) {
			if it.keep = f == nil || schemas.MatchUser(f, it.u); !it.keep {
				return
			}
			u, err := decodeUserRecord(it.v)
			if err != nil {
				it.err = fmt.Errorf("embedded: user %s: %w", it.id, err)
				return
			}
			u.Version, u.GroupIDs = it.u.Version, it.u.GroupIDs
			it.u = u
		})
		for i := range items {
			if it := &items[i]; it.keep {
				if it.err != nil {
					return it.err
				}
				out = append(out, it.u)
			}
		}
		clear(items) // no view may outlive the chunk
		items = items[:0]
		s.checkMap() // a scan maps the file at ~2 GB a second
		return ctx.Err()
	}
	c := r.recs().Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		items = append(items, item{id: string(k), v: v, version: recordVersion(v)})
		if len(items) == chunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// pageBounds returns the slice bounds of the page [offset, offset+limit) of n items.
func pageBounds(n, offset, limit int) (from, to int) {
	from = min(max(offset, 0), n)
	if limit == storage.Unlimited || limit < 0 {
		return from, n
	}
	return from, min(from+limit, n)
}

// rowSet is a set of search rows, sorted, each once: a superset of the
// rows of the users a filter matches (rows), and those of them known to
// match without a check (sure, a subset).
type rowSet struct {
	rows, sure []uint32
}

// exact reports that the rows are exactly the matches.
func (rs rowSet) exact() bool { return len(rs.sure) == len(rs.rows) }

// leafSet is the rowSet of one comparison's rows.
func leafSet(rows []uint32, exact bool) rowSet {
	if exact {
		return rowSet{rows: rows, sure: rows}
	}
	return rowSet{rows: rows}
}

// planRows returns the search rows of a superset of the users f matches,
// found through the indexes of r, or ok == false when f needs a full scan.
//
// It is exact in the one direction that matters: every user f matches is in
// the result. Indexed are, on an And chain or both sides of an Or (an And
// intersects its planned sides, an Or unites them):
//
//	userName eq "x"        folded userName index
//	primaryEmail eq "x"    folded primary email index
//	primaryPhone eq "x"    primary phone index (caseExact)
//	emails.value eq "x"    index of every email value (folded)
//	externalId eq "x"      externalId index (caseExact)
//	id eq "x"              the users bucket (caseExact)
//	groups eq "g"          membership index (every group whose id matches)
//	app-scoped attributes  application assignment index (apps pr, and any
//	                       comparison but ne or null on the app's data)
//	status eq "x"          the status postings (search.go)
//	co, sw, ew, eq on userName, emails, phone numbers, name.givenName,
//	name.familyName, displayName, externalId (3 bytes or more folded)
//	                       trigram postings of the attribute (search.go)
//
// The set is exact (needs no check) for a co of three folded bytes on a
// case-insensitive attribute with a posting bit of its own, for status eq
// one of the lifecycle statuses, and for an And or Or of exact sets.
func (s *Store) planRows(r *users, f schemas.Filter) (rowSet, bool) {
	if f == nil {
		return rowSet{}, false
	}
	ix := rowIndex{s, r}
	p, k := plan.Plan[*rowPlan](f, ix)
	if k == plan.None {
		return rowSet{}, false
	}
	return ix.resolve(p), true
}

// rowPlan is a plan of the embedded store (plan.Index): a row set, and the
// substring terms of an Or not read yet — those that read the same posting
// keys (the portal's search box: one text over several attributes) are
// read once, with the bits of all their attributes, and a single-key read
// also tells which rows an exact term matches for sure.
//
// A plan of a status alone is its fact key, not read yet (fact): an And
// with another plan keeps the other side's rows that the fact's postings
// hold, reading only their blocks' entries, instead of listing every row
// of a common status (seven users in ten are Active).
type rowPlan struct {
	set       rowSet
	groups    []*searchGroup
	fact      string
	factExact bool
}

// searchGroup is the substring terms that read the same posting keys: the
// bits of their attributes, and of those where the keys are exact.
type searchGroup struct {
	keys       []string
	mask, sure uint8
	// every: the rows must hold every key (search.candidates), which makes
	// those of several keys exact when sure is all of mask — one bit, that
	// of a single-valued attribute (see vocabulary.implyingKeys).
	every bool
}

// merges reports whether the Or of g and o may read their keys once, with
// both masks: when they have the same keys and the rows keep their
// meaning. A single key's rows are sure by their entries' bits (keyRows);
// the rows holding several keys, each with a bit of the mask, may hold
// them in different attributes ("ad " in the given name, "d l" in the
// display name), so their sure rows are those of one mask alone.
func (o *searchGroup) merges(g *searchGroup) bool {
	return slices.Equal(o.keys, g.keys) && (len(g.keys) == 1 || o.mask == g.mask || o.sure|g.sure == 0)
}

// rowIndex answers plan.Index for the users of one transaction.
type rowIndex struct {
	s *Store
	r *users
}

func (ix rowIndex) Leaf(c *schemas.Compare) (*rowPlan, plan.Kind) {
	if c == nil {
		return nil, plan.None
	}
	if key, exact, ok := statusFact(*c); ok {
		if exact {
			return &rowPlan{fact: key, factExact: true}, plan.Exact
		}
		return &rowPlan{fact: key}, plan.Superset
	}
	if rs, ok := ix.s.planRowCompare(ix.r, *c); ok {
		if rs.exact() {
			return &rowPlan{set: rs}, plan.Exact
		}
		return &rowPlan{set: rs}, plan.Superset
	}
	if !searchable(*c) {
		return nil, plan.None
	}
	keys, exact := searchKeys(c.Op, c.Value.Str)
	if keys == nil {
		return nil, plan.None
	}
	a := c.Path.Attr
	g := &searchGroup{keys: keys, mask: attrBit[a.Canonical]}
	if exact && !a.CaseExact && exactBit[a.Canonical] {
		g.sure = g.mask
		return &rowPlan{groups: []*searchGroup{g}}, plan.Exact
	}
	if exactBit[a.Canonical] {
		if ks, ok := ix.s.vocab.implyingKeys(c, g.mask, keys, ix.r.ov.high); ok && ks == nil {
			return &rowPlan{}, plan.Exact // no user: no posting to read
		} else if ok {
			g.keys, g.sure, g.every = ks, g.mask, true
			return &rowPlan{groups: []*searchGroup{g}}, plan.Exact
		}
	}
	return &rowPlan{groups: []*searchGroup{g}}, plan.Superset
}

func (ix rowIndex) And(l, r *rowPlan) *rowPlan {
	if l.fact != "" && r.fact == "" {
		l, r = r, l
	}
	if r.fact != "" && l.fact == "" {
		a := ix.resolve(l)
		rows := ix.r.search.filterFact(a.rows, r.fact)
		var sure []uint32
		if r.factExact {
			sure = intersectRows(nil, a.sure, rows)
		}
		return &rowPlan{set: rowSet{rows: rows, sure: sure}}
	}
	a, b := ix.resolve(l), ix.resolve(r)
	return &rowPlan{set: rowSet{rows: intersectRows(nil, a.rows, b.rows), sure: intersectRows(nil, a.sure, b.sure)}}
}

func (ix rowIndex) Or(l, r *rowPlan) *rowPlan {
	if l.fact != "" {
		l = &rowPlan{set: ix.resolve(l)}
	}
	if r.fact != "" {
		r = &rowPlan{set: ix.resolve(r)}
	}
	out := &rowPlan{set: rowSet{rows: unionRows(l.set.rows, r.set.rows), sure: unionRows(l.set.sure, r.set.sure)}}
	out.groups = append(out.groups, l.groups...)
	for _, g := range r.groups {
		i := slices.IndexFunc(out.groups, func(o *searchGroup) bool { return o.merges(g) })
		if i < 0 {
			out.groups = append(out.groups, g)
			continue
		}
		merged := *out.groups[i]
		merged.mask, merged.sure, merged.every = merged.mask|g.mask, merged.sure|g.sure, merged.every || g.every
		out.groups[i] = &merged
	}
	return out
}

func (rowIndex) Not(*rowPlan) (*rowPlan, bool) { return nil, false }

func (ix rowIndex) Loose(p *rowPlan) *rowPlan {
	rs := ix.resolve(p)
	return &rowPlan{set: rowSet{rows: rs.rows}}
}

// resolve reads the pending substring terms of p and returns its row set.
func (ix rowIndex) resolve(p *rowPlan) rowSet {
	if p.fact != "" {
		return leafSet(ix.r.search.factRows(p.fact), p.factExact)
	}
	out := p.set
	for _, g := range p.groups {
		var rs rowSet
		if len(g.keys) == 1 {
			rs.rows, rs.sure = ix.r.search.keyRows(g.keys[0], g.mask, g.sure)
		} else if rs.rows = ix.r.search.candidates(g.keys, g.mask, g.every); g.every && g.sure == g.mask {
			rs.sure = rs.rows
		}
		out = rowSet{rows: unionRows(out.rows, rs.rows), sure: unionRows(out.sure, rs.sure)}
	}
	return out
}

// statusFact returns the posting key of a `status eq` comparison, and
// whether its postings are exactly its matches (a lifecycle status,
// compared case-insensitively).
func statusFact(c schemas.Compare) (key string, exact, ok bool) {
	a := c.Path.Attr
	if a == nil || a.Canonical != "status" || c.Op != schemas.OpEq || c.Value.Kind != schemas.KindString ||
		c.Path.AppID != "" || len(c.Path.Keys) > 0 {
		return "", false, false
	}
	_, known := statusCodes[schemas.Fold(c.Value.Str)]
	return statusKey(c.Value.Str), known && !a.CaseExact, true
}

// planRowCompare plans one comparison through the exact indexes (see
// planRows; the status postings are statusFact's, the substring terms
// rowIndex.Leaf's).
func (s *Store) planRowCompare(r *users, c schemas.Compare) (rowSet, bool) {
	if ids, ok := s.planUserExact(r, c); ok {
		rows := make([]uint32, 0, len(ids))
		for _, id := range ids {
			if v := r.search.rows().Get([]byte(id)); v != nil {
				rows = append(rows, decodeRow(v))
			}
		}
		slices.Sort(rows)
		return leafSet(slices.Compact(rows), false), true
	}
	return rowSet{}, false
}

// planUserExact plans the comparisons the exact indexes answer (see planRows).
func (s *Store) planUserExact(r *users, c schemas.Compare) ([]string, bool) {
	a := c.Path.Attr
	if a == nil {
		return nil, false
	}
	// App-scoped data exists only on users assigned to the app: any comparison
	// that needs a value there (not ne, not against null) needs the assignment.
	if c.Path.AppID != "" && (a.Canonical == "apps" || (c.Path.Parent != nil && c.Path.Parent.Canonical == "apps")) &&
		(c.Op == schemas.OpPr || (c.Op != schemas.OpNe && c.Value.Kind != schemas.KindNull)) {
		return seconds(r.apps(), c.Path.AppID), true
	}
	if c.Op != schemas.OpEq || c.Value.Kind != schemas.KindString || len(c.Path.Keys) > 0 {
		return nil, false
	}
	v := c.Value.Str
	if a.Canonical == "groups" || (c.Path.Parent != nil && c.Path.Parent.Canonical == "groups" && a.Name == "value") {
		// Group ids compare as the catalog says (case-insensitively unless
		// caseExact): take every group whose id matches.
		ids := seconds(r.members(), v)
		if a.CaseExact {
			return ids, true
		}
		// Every group whose id folds to v's: memberships exist only for
		// stored groups (DeleteGroup removes them).
		fv := schemas.Fold(v)
		s.mu.RLock()
		var others []string
		for g := range s.groups {
			if g != v && schemas.Fold(g) == fv {
				others = append(others, g)
			}
		}
		s.mu.RUnlock()
		for _, g := range others {
			ids = append(ids, seconds(r.members(), g)...)
		}
		return ids, true
	}
	if c.Path.Parent != nil {
		if c.Path.Parent.Canonical == "emails" && a.Name == "value" {
			// Every email of every user, folded: a superset for a
			// case-exact comparison too.
			return seconds(r.emails(), schemas.Fold(v)), true
		}
		return nil, false
	}
	one := func(id string, found bool) ([]string, bool) {
		if !found {
			return nil, true
		}
		return []string{id}, true
	}
	switch a.Canonical {
	case "userName":
		id := r.owner(kUserName, schemas.Fold(v))
		return one(id, id != "")
	case "primaryEmail":
		id := r.owner(kEmail, schemas.Fold(v))
		return one(id, id != "")
	}
	if !a.CaseExact {
		return nil, false // the exact indexes below cannot answer a folded comparison
	}
	switch a.Canonical {
	case "primaryPhone":
		id := r.owner(kPhone, v)
		return one(id, id != "")
	case "externalId":
		id := r.owner(kExtID, v)
		return one(id, id != "")
	case "id":
		return one(v, r.exists(v))
	}
	return nil, false
}

// ListGroups returns one page of the groups matching q.Filter and the total.
// displayName eq and id eq are answered through the indexes; any other filter
// scans every group. Candidates are checked with schemas.MatchGroup.
func (s *Store) ListGroups(ctx context.Context, q storage.Query) (storage.Page[*schemas.Group], error) {
	if err := ctx.Err(); err != nil {
		return storage.Page[*schemas.Group]{}, err
	}
	if err := s.rlock(); err != nil {
		return storage.Page[*schemas.Group]{}, err
	}
	defer s.mu.RUnlock()
	var matches []*schemas.Group
	switch ids, ok := s.planGroups(q.Filter); {
	case q.Filter == nil:
		matches = slices.Clone(s.groupOrder)
	case ok:
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for _, id := range ids {
			if g := s.groups[id]; g != nil && schemas.MatchGroup(q.Filter, g) {
				matches = append(matches, g)
			}
		}
	default:
		for _, g := range s.groupOrder {
			if schemas.MatchGroup(q.Filter, g) {
				matches = append(matches, g)
			}
		}
	}
	if q.Sort != nil {
		schemas.SortGroups(matches, q.Sort)
	}
	from, to := pageBounds(len(matches), q.Offset, q.Limit)
	items := make([]*schemas.Group, 0, to-from)
	for _, g := range matches[from:to] {
		items = append(items, g.Clone())
	}
	return storage.Page[*schemas.Group]{Items: items, Total: len(matches)}, nil
}

// planGroups is planRows for groups (the shared planner over groupIndex):
// the ids of a superset of the groups f matches, unsorted and possibly
// repeated, or ok == false when f needs a scan.
func (s *Store) planGroups(f schemas.Filter) (ids []string, ok bool) {
	if f == nil {
		return nil, false
	}
	ids, k := plan.Plan[[]string](f, groupIndex{s})
	return ids, k != plan.None
}

// groupIndex answers plan.Index for the groups in memory: displayName and id
// equality through the indexes; an And keeps its smaller side, an Or both.
type groupIndex struct{ s *Store }

func (ix groupIndex) Leaf(c *schemas.Compare) ([]string, plan.Kind) {
	a := c.Path.Attr
	if a == nil || c.Path.Parent != nil || len(c.Path.Keys) > 0 || c.Op != schemas.OpEq || c.Value.Kind != schemas.KindString {
		return nil, plan.None
	}
	switch {
	case a.Canonical == "displayName":
		if id, found := ix.s.idx[kGroupName][schemas.Fold(c.Value.Str)]; found {
			return []string{id}, plan.Superset
		}
		return nil, plan.Superset
	case a.Canonical == "id" && a.CaseExact:
		if _, found := ix.s.groups[c.Value.Str]; found {
			return []string{c.Value.Str}, plan.Superset
		}
		return nil, plan.Superset
	}
	return nil, plan.None
}

func (groupIndex) And(l, r []string) []string {
	if len(r) < len(l) {
		return r
	}
	return l
}

func (groupIndex) Or(l, r []string) []string     { return append(slices.Clip(l), r...) }
func (groupIndex) Not([]string) ([]string, bool) { return nil, false }
func (groupIndex) Loose(p []string) []string     { return p }
