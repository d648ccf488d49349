package embedded

import (
	"context"
	"slices"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// ListUsers returns one page of the users matching q.Filter and the total.
//
// When the filter pins the answer to a few users through an index (see
// planUsers), only those are evaluated; otherwise every user is. Either way each
// candidate is checked with schemas.MatchUser, so the answer is the evaluator's.
func (s *Store) ListUsers(ctx context.Context, q storage.Query) (storage.Page[*schemas.User], error) {
	if err := ctx.Err(); err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	if err := s.rlock(); err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	defer s.mu.RUnlock()
	var matches []*schemas.User
	switch ids, ok := s.planUsers(q.Filter); {
	case q.Filter == nil:
		matches = s.order // not changed below: sorting works on a copy
	case ok:
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for _, id := range ids {
			if u := s.users[id]; u != nil && schemas.MatchUser(q.Filter, u) {
				matches = append(matches, u)
			}
		}
	default:
		matches = s.scanUsers(q.Filter)
	}
	if q.Sort != nil {
		if q.Filter == nil {
			matches = slices.Clone(matches)
		}
		schemas.SortUsers(matches, q.Sort)
	}
	from, to := pageBounds(len(matches), q.Offset, q.Limit)
	items := make([]*schemas.User, 0, to-from)
	for _, u := range matches[from:to] {
		items = append(items, u.Clone())
	}
	return storage.Page[*schemas.User]{Items: items, Total: len(matches)}, nil
}

// scanUsers evaluates f on every user, in id order.
func (s *Store) scanUsers(f schemas.Filter) []*schemas.User {
	var out []*schemas.User
	for _, u := range s.order {
		if schemas.MatchUser(f, u) {
			out = append(out, u)
		}
	}
	return out
}

// pageBounds returns the slice bounds of the page [offset, offset+limit) of n items.
func pageBounds(n, offset, limit int) (from, to int) {
	from = min(max(offset, 0), n)
	if limit == storage.Unlimited || limit < 0 {
		return from, n
	}
	return from, min(from+limit, n)
}

// planUsers returns the ids of a superset of the users f matches, found
// through the indexes, or ok == false when f needs a full scan. The ids may be
// unsorted and repeated. The caller holds mu.
//
// It is exact in the one direction that matters: every user f matches is in
// the result. Indexed are, on an And chain or both sides of an Or:
//
//	userName eq "x"        folded userName index
//	primaryEmail eq "x"    folded primary email index
//	primaryPhone eq "x"    primary phone index (caseExact)
//	externalId eq "x"      externalId index (caseExact)
//	id eq "x"              the users map (caseExact)
//	groups eq "g"          membership index (every group whose id matches)
//	app-scoped attributes  application assignment index (apps pr, and any
//	                       comparison but ne or null on the app's data)
func (s *Store) planUsers(f schemas.Filter) (ids []string, ok bool) {
	return plan(f, s.planUserCompare)
}

// plan walks the And/Or structure of f, the same for every resource type, and
// asks leaf for the candidates of each comparison. It returns a superset of the
// ids f matches, or ok == false when f needs a full scan: an And needs one
// planned side (the smaller wins), an Or needs both. Parsed filters hold
// pointer nodes, hand-built ones value nodes; both are planned.
func plan(f schemas.Filter, leaf func(schemas.Compare) ([]string, bool)) (ids []string, ok bool) {
	switch f := f.(type) {
	case *schemas.And:
		if f != nil {
			return plan(*f, leaf)
		}
	case *schemas.Or:
		if f != nil {
			return plan(*f, leaf)
		}
	case *schemas.Compare:
		if f != nil {
			return leaf(*f)
		}
	case schemas.And:
		l, lok := plan(f.Left, leaf)
		r, rok := plan(f.Right, leaf)
		switch {
		case lok && rok:
			if len(r) < len(l) {
				return r, true
			}
			return l, true
		case lok:
			return l, true
		case rok:
			return r, true
		}
	case schemas.Or:
		l, lok := plan(f.Left, leaf)
		if !lok {
			return nil, false
		}
		r, rok := plan(f.Right, leaf)
		if !rok {
			return nil, false
		}
		return append(l, r...), true
	case schemas.Compare:
		return leaf(f)
	}
	return nil, false
}

func (s *Store) planUserCompare(c schemas.Compare) ([]string, bool) {
	a := c.Path.Attr
	if a == nil {
		return nil, false
	}
	// App-scoped data exists only on users assigned to the app: any comparison
	// that needs a value there (not ne, not against null) needs the assignment.
	if c.Path.AppID != "" && (a.Canonical == "apps" || (c.Path.Parent != nil && c.Path.Parent.Canonical == "apps")) &&
		(c.Op == schemas.OpPr || (c.Op != schemas.OpNe && c.Value.Kind != schemas.KindNull)) {
		return setIDs(s.assigned[c.Path.AppID]), true
	}
	if c.Op != schemas.OpEq || c.Value.Kind != schemas.KindString || len(c.Path.Keys) > 0 {
		return nil, false
	}
	v := c.Value.Str
	if a.Canonical == "groups" || (c.Path.Parent != nil && c.Path.Parent.Canonical == "groups" && a.Name == "value") {
		// Group ids compare as the catalog says (case-insensitively unless
		// caseExact): take every group whose id matches.
		if a.CaseExact {
			return setIDs(s.members[v]), true
		}
		var ids []string
		fv := schemas.Fold(v)
		for g, set := range s.members {
			if g == v || schemas.Fold(g) == fv {
				for id := range set {
					ids = append(ids, id)
				}
			}
		}
		return ids, true
	}
	if c.Path.Parent != nil {
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
		id, found := s.idx[kUserName][schemas.Fold(v)]
		return one(id, found)
	case "primaryEmail":
		id, found := s.idx[kEmail][schemas.Fold(v)]
		return one(id, found)
	}
	if !a.CaseExact {
		return nil, false // the exact indexes below cannot answer a folded comparison
	}
	switch a.Canonical {
	case "primaryPhone":
		id, found := s.idx[kPhone][v]
		return one(id, found)
	case "externalId":
		id, found := s.idx[kExtID][v]
		return one(id, found)
	case "id":
		_, found := s.users[v]
		return one(v, found)
	}
	return nil, false
}

func setIDs(set map[string]struct{}) []string {
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	return ids
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

// planGroups is planUsers for groups: displayName and id equality use the indexes.
func (s *Store) planGroups(f schemas.Filter) (ids []string, ok bool) {
	return plan(f, s.planGroupCompare)
}

func (s *Store) planGroupCompare(c schemas.Compare) ([]string, bool) {
	a := c.Path.Attr
	if a == nil || c.Path.Parent != nil || len(c.Path.Keys) > 0 || c.Op != schemas.OpEq || c.Value.Kind != schemas.KindString {
		return nil, false
	}
	switch {
	case a.Canonical == "displayName":
		id, found := s.idx[kGroupName][schemas.Fold(c.Value.Str)]
		if !found {
			return nil, true
		}
		return []string{id}, true
	case a.Canonical == "id" && a.CaseExact:
		if _, found := s.groups[c.Value.Str]; !found {
			return nil, true
		}
		return []string{c.Value.Str}, true
	}
	return nil, false
}
