package embedded

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
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
	buf := make([]byte, 0, 128)
	var ends [len(sortPaths)]int
	for i, ix := range sortIndexes {
		buf = ix.appendKey(buf, u)
		ends[i] = len(buf)
	}
	from := 0
	for i, to := range ends {
		k[i] = buf[from:to:to]
		from = to
	}
	return k
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
			s := v.Str
			if !schemas.SortCaseExact(&ix.path) {
				s = schemas.Fold(s)
			}
			k = escapeSortBytes(k, s)
		case schemas.KindTime:
			var b [12]byte
			binary.BigEndian.PutUint64(b[:], uint64(v.Time.Unix())^(1<<63))
			binary.BigEndian.PutUint32(b[8:], uint32(v.Time.Nanosecond()))
			k = escapeSortBytes(k, string(b[:]))
		}
	}
	return append(k, 0, 0)
}

// escapeSortBytes appends s with every 0x00 written as 00 ff.
func escapeSortBytes(k []byte, s string) []byte {
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

// stageSortKeys moves the index keys of user id (at row) from old to nu
// (either nil).
func stageSortKeys(bk *bolt.Bucket, id string, row uint32, old, nu *sortKeys) error {
	var buf [128]byte // one buffer for the keys: bbolt copies the keys it is given
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
		if ok != nil {
			if err := bk.Delete(append(append(buf[:0], ok...), id...)); err != nil {
				return err
			}
		}
		if nk != nil {
			if err := bk.Put(append(append(buf[:0], nk...), id...), encodeRow(row)); err != nil {
				return err
			}
		}
	}
	return nil
}

// pageSorted sets page to the users of rows (sorted search rows; all users
// when all is set) in the order of ix: the total and the page. It walks
// the index until the page is full when that visits fewer keys than
// reading and sorting the rows' search records costs, else it sorts those.
func pageSorted(tx *bolt.Tx, r *users, ix *sortIndex, desc bool, all bool, rows []uint32, q storage.Query, page *storage.Page[*schemas.User]) error {
	stored := countUsers(tx)
	n := stored
	if !all {
		n = len(rows)
	}
	page.Total = n
	from, to := pageBounds(n, q.Offset, q.Limit)
	page.Items = make([]*schemas.User, 0, to-from)
	if from == to {
		return nil
	}
	var ids []string
	// Walking visits about to·users/n keys (a descending walk two seeks per
	// run); sorting reads a search record per row (about ten key visits).
	walk := int64(to) * int64(stored) / int64(n)
	if desc {
		walk *= 4
	}
	if all || walk < 10*int64(n) {
		ids = walkSorted(r.sortKeys(), ix, desc, all, rows, from, to)
	} else {
		var err error
		if ids, err = sortRows(r, ix, desc, rows, from, to); err != nil {
			return err
		}
	}
	for _, id := range ids {
		u, err := r.get(id)
		if err != nil {
			return err
		}
		if u != nil {
			page.Items = append(page.Items, u)
		}
	}
	return nil
}

// walkSorted returns the ids of the users of rows (or all) at positions
// [from, to) of the index order.
func walkSorted(bk *bolt.Bucket, ix *sortIndex, desc, all bool, rows []uint32, from, to int) []string {
	var ids []string
	i := 0
	visit := func(k, v []byte) bool {
		if !all {
			if _, in := slices.BinarySearch(rows, decodeRow(v)); !in {
				return true
			}
		}
		if i >= from {
			ids = append(ids, string(k[len(sortRun(k)):]))
		}
		i++
		return i < to
	}
	c := bk.Cursor()
	if !desc {
		for k, v := c.Seek([]byte{ix.id}); k != nil && k[0] == ix.id; k, v = c.Next() {
			if !visit(k, v) {
				break
			}
		}
		return ids
	}
	k, _ := c.Seek([]byte{ix.id + 1})
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for k != nil && k[0] == ix.id {
		run := bytes.Clone(sortRun(k))
		for rk, rv := c.Seek(run); rk != nil && bytes.HasPrefix(rk, run); rk, rv = c.Next() {
			if !visit(rk, rv) {
				return ids
			}
		}
		c.Seek(run)
		k, _ = c.Prev()
	}
	return ids
}

// sortRows returns the ids of the users of rows at positions [from, to) of
// the index order, from their search records.
func sortRows(r *users, ix *sortIndex, desc bool, rows []uint32, from, to int) ([]string, error) {
	type item struct {
		key []byte
		id  string
	}
	items := make([]item, 0, len(rows))
	var scratch schemas.User
	c := r.search.recs().Cursor()
	for _, row := range rows {
		key := encodeRow(row)
		k, v := c.Seek(key)
		if k == nil || !bytes.Equal(k, key) {
			continue
		}
		if err := viewSearchRecord(v, &scratch); err != nil {
			return nil, err
		}
		items = append(items, item{ix.key(&scratch), strings.Clone(scratch.ID)})
	}
	slices.SortFunc(items, func(a, b item) int {
		c := bytes.Compare(a.key, b.key)
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, 0, to-from)
	for _, it := range items[from:min(to, len(items))] {
		ids = append(ids, it.id)
	}
	return ids, nil
}
