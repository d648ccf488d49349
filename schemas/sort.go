package schemas

import (
	"slices"
	"strings"
)

// SortUsers sorts users by key, the rule every storage backend follows: by
// the first value of the key's attribute (the primary element's, else the
// first element's, for multi-valued complex attributes), strings case-folded
// unless caseExact; users without a value come after all others in ascending
// order and before them in descending order; ties are broken by id ascending.
// A nil key sorts by id (creation order).
func SortUsers(us []*User, key *SortKey) {
	sortDocs(us, key, func(u *User) string { return u.ID })
}

// SortGroups sorts groups by key, as SortUsers.
func SortGroups(gs []*Group, key *SortKey) {
	sortDocs(gs, key, func(g *Group) string { return g.ID })
}

func sortDocs[T any](docs []T, key *SortKey, id func(T) string) {
	if key == nil || key.Path.Attr == nil {
		slices.SortStableFunc(docs, func(a, b T) int { return strings.Compare(id(a), id(b)) })
		return
	}
	type item struct {
		doc T
		v   Value
		ok  bool
	}
	items := make([]item, len(docs))
	for i, d := range docs {
		items[i].doc = d
		items[i].v, items[i].ok = sortValue(any(d), &key.Path)
	}
	_, exact := valueType(key.Path.Attr)
	slices.SortStableFunc(items, func(a, b item) int {
		c := 0
		switch {
		case a.ok && b.ok:
			c = CompareValues(a.v, b.v, exact)
		case a.ok:
			c = -1 // missing sorts last ascending…
		case b.ok:
			c = 1
		}
		if key.Descending {
			c = -c // …and first descending
		}
		if c != 0 {
			return c
		}
		return strings.Compare(id(a.doc), id(b.doc))
	})
	for i := range items {
		docs[i] = items[i].doc
	}
}

// UserSortValue returns the value SortUsers orders u by for the path p (the
// first value, the primary element's for multi-valued attributes), or ok ==
// false when u has none (it then sorts after every value, ascending). A
// storage backend that keeps a sorted index computes its keys with it, so
// that the index orders users as SortUsers does.
func UserSortValue(u *User, p *Path) (v Value, ok bool) {
	if u == nil {
		return Value{}, false
	}
	return sortValue(u, p)
}

// SortCaseExact reports whether SortUsers compares the string values of p
// case-exactly (else under Fold).
func SortCaseExact(p *Path) bool {
	if p.Attr == nil {
		return false
	}
	_, exact := valueType(p.Attr)
	return exact
}
