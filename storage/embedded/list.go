package embedded

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

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
// filter reads only what search records hold (coveredFilter), else on the
// decoded user — so the answer is the evaluator's, except where the index
// answer is exact (rowSet.exact): then the rows are the matches and only the
// page is read. Without a filter and a sort, only the page is decoded.
func (s *Store) ListUsers(ctx context.Context, q storage.Query) (storage.Page[*schemas.User], error) {
	if err := ctx.Err(); err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	var page storage.Page[*schemas.User]
	err := s.userView(func(tx *bolt.Tx, r *users) error {
		if q.Filter == nil && q.Sort == nil {
			return listAll(tx, r, q, &page)
		}
		var rs rowSet
		planned := false
		if q.Filter != nil {
			rs, planned = s.planRows(r, q.Filter)
		}
		switch {
		case q.Sort == nil && planned && rs.exact():
			return pageOfRows(tx, r, rs.rows, q, &page)
		case q.Sort == nil && coveredFilter(q.Filter):
			rows, err := matchCovered(ctx, r, q.Filter, rs, planned)
			if err != nil {
				return err
			}
			return pageOfRows(tx, r, rows, q, &page)
		}
		if ix, ok := sortIndexFor(q.Sort); ok {
			switch {
			case q.Filter == nil:
				return pageSorted(tx, r, ix, q.Sort.Descending, true, nil, q, &page)
			case planned && rs.exact():
				return pageSorted(tx, r, ix, q.Sort.Descending, false, rs.rows, q, &page)
			case coveredFilter(q.Filter):
				rows, err := matchCovered(ctx, r, q.Filter, rs, planned)
				if err != nil {
					return err
				}
				return pageSorted(tx, r, ix, q.Sort.Descending, false, rows, q, &page)
			}
		}
		var matches []*schemas.User
		if planned {
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
		from, to := pageBounds(len(matches), q.Offset, q.Limit)
		page = storage.Page[*schemas.User]{Items: matches[from:to:to], Total: len(matches)}
		return nil
	})
	if err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	if page.Items == nil {
		page.Items = []*schemas.User{}
	}
	return page, nil
}

// matchCovered evaluates a filter that reads only attributes of the search
// records (coveredFilter) on the search records of the candidate rows (rs
// when planned, else every row; the rows rs is sure of need no check), read
// in row order without copying, and returns the rows that match, sorted.
func matchCovered(ctx context.Context, r *users, f schemas.Filter, rs rowSet, planned bool) (rows []uint32, err error) {
	var scratch schemas.User
	check := func(k, v []byte) error {
		if err := viewSearchRecord(v, &scratch); err != nil {
			return err
		}
		if schemas.MatchUser(f, &scratch) {
			rows = append(rows, decodeRow(k))
		}
		return nil
	}
	c := r.search.recs().Cursor()
	if planned {
		sure := rs.sure
		for _, row := range rs.rows {
			for len(sure) > 0 && sure[0] < row {
				sure = sure[1:]
			}
			if len(sure) > 0 && sure[0] == row {
				rows = append(rows, row)
				continue
			}
			key := encodeRow(row)
			k, v := c.Seek(key)
			if k == nil || !bytes.Equal(k, key) {
				continue // a row without a record: no user
			}
			if err := check(k, v); err != nil {
				return nil, err
			}
		}
	} else {
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := check(k, v); err != nil {
				return nil, err
			}
		}
	}
	return rows, ctx.Err()
}

// pageOfRows sets page to the users of the search rows (sorted): the total,
// and the page in id order. The page is found the cheaper way: by walking the ids in order
// (userRows) until it is full, when the rows are a large part of the users
// or the page is near the start; else by reading the id of every row and
// sorting them.
func pageOfRows(tx *bolt.Tx, r *users, rows []uint32, q storage.Query, page *storage.Page[*schemas.User]) error {
	page.Total = len(rows)
	from, to := pageBounds(len(rows), q.Offset, q.Limit)
	page.Items = make([]*schemas.User, 0, to-from)
	if from == to {
		return nil
	}
	var pageIDs []string
	// Walking visits about to·users/rows ids (cheap: a cursor step each);
	// reading the rows costs a lookup per row (about ten steps).
	if int64(to)*int64(countUsers(tx)) < 10*int64(len(rows))*int64(len(rows)) {
		c := r.search.rows().Cursor()
		i := 0
		for k, v := c.First(); k != nil && i < to; k, v = c.Next() {
			if _, in := slices.BinarySearch(rows, decodeRow(v)); in {
				if i >= from {
					pageIDs = append(pageIDs, string(k))
				}
				i++
			}
		}
	} else {
		ids := r.rowIDs(rows)
		slices.Sort(ids)
		pageIDs = ids[from:to]
	}
	for _, id := range pageIDs {
		u, err := r.get(id)
		if err != nil {
			return err
		}
		if u == nil {
			return fmt.Errorf("embedded: user %s has a search record but no record", id)
		}
		page.Items = append(page.Items, u)
	}
	return nil
}

// rowIDs returns the ids of the users of the search rows (skipping rows no
// user has), in row order.
func (r *users) rowIDs(rows []uint32) []string {
	ids := make([]string, 0, len(rows))
	c := r.search.recs().Cursor()
	for _, row := range rows {
		key := encodeRow(row)
		if k, v := c.Seek(key); k != nil && bytes.Equal(k, key) {
			ids = append(ids, strings.Clone(searchRecordID(v)))
		}
	}
	return ids
}

// listAll is the page of every user in id order: a cursor walk to the offset,
// and only the page decoded.
func listAll(tx *bolt.Tx, r *users, q storage.Query, page *storage.Page[*schemas.User]) error {
	page.Total = countUsers(tx)
	from, to := pageBounds(page.Total, q.Offset, q.Limit)
	page.Items = make([]*schemas.User, 0, to-from)
	if from == to {
		return nil
	}
	// The versions are keyed like the records, a few bytes each instead of
	// a whole user: skip to the offset on them, then read the page.
	vc := r.versions().Cursor()
	first, _ := vc.First()
	for i := 0; i < from && first != nil; i++ {
		first, _ = vc.Next()
	}
	if first == nil {
		return nil
	}
	c := r.recs().Cursor()
	k, v := c.Seek(first)
	for i := from; i < to && k != nil; i++ {
		u, err := r.decode(string(k), v)
		if err != nil {
			return err
		}
		page.Items = append(page.Items, u)
		k, v = c.Next()
	}
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
			it.u.GroupIDs, changes = r.groupsOf(it.id)
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
		return ctx.Err()
	}
	// The versions are keyed like the records: a second cursor walks them
	// in step instead of a lookup per user.
	c, vc := r.recs().Cursor(), r.versions().Cursor()
	vk, vv := vc.First()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		for vk != nil && bytes.Compare(vk, k) < 0 {
			vk, vv = vc.Next()
		}
		version := int64(0)
		if bytes.Equal(vk, k) {
			version = decodeVersion(vv)
		}
		items = append(items, item{id: string(k), v: v, version: version})
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
type rowPlan struct {
	set    rowSet
	groups []*searchGroup
}

// searchGroup is the substring terms that read the same posting keys: the
// bits of their attributes, and of those where the keys are exact.
type searchGroup struct {
	keys       []string
	mask, sure uint8
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
	return &rowPlan{groups: []*searchGroup{g}}, plan.Superset
}

func (ix rowIndex) And(l, r *rowPlan) *rowPlan {
	a, b := ix.resolve(l), ix.resolve(r)
	return &rowPlan{set: rowSet{rows: intersectRows(a.rows, b.rows), sure: intersectRows(a.sure, b.sure)}}
}

func (ix rowIndex) Or(l, r *rowPlan) *rowPlan {
	out := &rowPlan{set: rowSet{rows: unionRows(l.set.rows, r.set.rows), sure: unionRows(l.set.sure, r.set.sure)}}
	out.groups = append(out.groups, l.groups...)
	for _, g := range r.groups {
		i := slices.IndexFunc(out.groups, func(o *searchGroup) bool { return slices.Equal(o.keys, g.keys) })
		if i < 0 {
			out.groups = append(out.groups, g)
			continue
		}
		merged := *out.groups[i]
		merged.mask, merged.sure = merged.mask|g.mask, merged.sure|g.sure
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
	out := p.set
	for _, g := range p.groups {
		var rs rowSet
		if len(g.keys) == 1 {
			rs.rows, rs.sure = ix.r.search.keyRows(g.keys[0], g.mask, g.sure)
		} else {
			rs.rows = ix.r.search.candidates(g.keys, g.mask)
		}
		out = rowSet{rows: unionRows(out.rows, rs.rows), sure: unionRows(out.sure, rs.sure)}
	}
	return out
}

// planUsers is planRows as user ids (unsorted).
func (s *Store) planUsers(r *users, f schemas.Filter) (ids []string, ok bool) {
	rs, ok := s.planRows(r, f)
	if !ok {
		return nil, false
	}
	return r.rowIDs(rs.rows), true
}

// planRowCompare plans one comparison through the exact indexes and the
// status postings (see planRows; the substring terms are rowIndex.Leaf's).
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
	a := c.Path.Attr
	if a != nil && a.Canonical == "status" && c.Op == schemas.OpEq && c.Value.Kind == schemas.KindString &&
		c.Path.AppID == "" && len(c.Path.Keys) == 0 {
		_, known := statusCodes[schemas.Fold(c.Value.Str)]
		return leafSet(r.search.factRows(statusKey(c.Value.Str)), known && !a.CaseExact), true
	}
	return rowSet{}, false
}

// planUserExact plans the comparisons the exact indexes answer (see planUsers).
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

// planGroups is planUsers for groups (the shared planner over groupIndex):
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
