package storage

import (
	"maps"
	"slices"
)

// PlanMembers runs membership operations (in order) on a group's membership
// without changing anything, and returns the users they add and remove
// (ascending, each once): the one reading of MemberOp every backend shares.
// exists reports whether a user exists, isMember whether it is a member now,
// members lists the current members (called only for "replace" and
// "clear"). An "add" or "replace" naming a user that does not exist fails
// with ErrNotFound; "remove" ignores users that are not members. exists and
// isMember are each asked about a user once, in ascending order of ids, so
// that a backend may answer them walking its keys in order.
func PlanMembers(ops []MemberOp, exists, isMember func(id string) bool, members func() []string) (added, removed []string, err error) {
	var named []string // the users to add or set: each must exist
	for _, m := range ops {
		if m.Op == "add" || m.Op == "replace" {
			named = append(named, m.IDs...)
		}
	}
	slices.Sort(named)
	for _, u := range slices.Compact(named) {
		if !exists(u) {
			return nil, nil, ErrNotFound
		}
	}
	want := make(map[string]bool) // the membership the operations set, over the current one
	for _, m := range ops {
		switch m.Op {
		case "add":
			for _, u := range m.IDs {
				want[u] = true
			}
		case "remove":
			for _, u := range m.IDs {
				want[u] = false
			}
		case "replace", "clear":
			for _, u := range members() {
				if _, ok := want[u]; !ok {
					want[u] = true
				}
			}
			for u := range want {
				want[u] = false
			}
			for _, u := range m.IDs {
				want[u] = true
			}
		}
	}
	for _, u := range slices.Sorted(maps.Keys(want)) {
		if in := want[u]; isMember(u) != in {
			if in {
				added = append(added, u)
			} else {
				removed = append(removed, u)
			}
		}
	}
	return added, removed, nil
}

// KnownMemberOp reports whether op is a MemberOp's Op.
func KnownMemberOp(op string) bool {
	switch op {
	case "add", "remove", "replace", "clear":
		return true
	}
	return false
}
