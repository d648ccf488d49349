package storage

import "slices"

// PlanMembers runs membership operations (in order) on a group's membership
// without changing anything, and returns the users they add and remove
// (ascending, each once): the one reading of MemberOp every backend shares.
// exists reports whether a user exists, isMember whether it is a member now,
// members lists the current members (called only for "replace" and
// "clear"). An "add" or "replace" naming a user that does not exist fails
// with ErrNotFound; "remove" ignores users that are not members.
func PlanMembers(ops []MemberOp, exists, isMember func(id string) bool, members func() []string) (added, removed []string, err error) {
	want := make(map[string]bool) // the membership the operations set, over the current one
	for _, m := range ops {
		if m.Op == "add" || m.Op == "replace" {
			for _, u := range m.IDs {
				if !exists(u) {
					return nil, nil, ErrNotFound
				}
			}
		}
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
	for u, in := range want {
		if isMember(u) != in {
			if in {
				added = append(added, u)
			} else {
				removed = append(removed, u)
			}
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
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
