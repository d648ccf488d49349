package directory

import (
	"context"
	"errors"
	"reflect"
	"slices"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// GroupPatch is one change of a group and of its membership (a SCIM PATCH).
type GroupPatch struct {
	// Check, when set, is a predicate on the version the change finds
	// (If-Match); its error is returned as is (a KindPrecondition).
	Check func(version int64) error
	// Apply changes the group's own attributes (nil: none). It may run more
	// than once, on a fresh copy each time, and must have no side effects.
	Apply func(g *schemas.Group) error
	// Members are the membership operations, applied in order after Apply.
	Members []MemberOp
}

// MemberOp is one membership change of a group PATCH: "add" or "remove"
// of the listed user ids, "replace" (the members become IDs) or "clear"
// (every member is removed). It is the store's operation, passed down as is.
type MemberOp = storage.MemberOp

// PatchGroup applies a group PATCH (or PUT) as one operation, atomically on
// the embedded store (one transaction; see storage.Store.PatchGroup for
// MongoDB): Check (If-Match) on the version the change finds, the attribute
// change, the membership operations in order, and their audit events. It
// changes nothing when any of it is refused: more members named than
// MaxMembersPerRequest, an unknown operation, a user to add that does not
// exist or that p may not see (an application may add only its own users), a
// group's id as a member, a failed Check, an invalid attribute change. It
// returns the group as it is afterwards; a change that changes nothing writes
// nothing (version and lastModified stay).
//
// An application (a principal without tenant reach) may change the
// membership of its own users only, and no attribute: its "remove" ignores
// users it cannot see, and its "replace" and "clear" leave other
// applications' members alone — the directory reads the current members it
// sees to turn them into adds and removes, so for an application they are
// atomic with respect to the users it names, not to concurrent changes of
// other members.
func (s *Service) PatchGroup(ctx context.Context, p Principal, id string, ch GroupPatch) (*schemas.Group, error) {
	if !p.manages() {
		return nil, forbiddenToManage
	}
	named := 0
	for _, m := range ch.Members {
		named += len(m.IDs)
	}
	if err := CheckMemberCount(named); err != nil {
		return nil, err
	}
	ops, err := s.memberOps(ctx, p, id, ch.Members)
	if err != nil {
		return nil, err
	}
	var apply func(*schemas.Group) (bool, error)
	if ch.Apply != nil {
		apply = s.groupApply(p, ch.Apply)
	}
	g, err := s.store.PatchGroup(ctx, id, storage.GroupChange{Check: ch.Check, Apply: apply, Members: ops, At: s.clock()},
		s.auditGroupPatch(p, id))
	if err != nil {
		return nil, s.patchGroupError(ctx, id, ops, err)
	}
	return g, nil
}

// groupApply wraps an attribute change of a group with the rules every one
// obeys: ID, version and timestamps are the directory's, the result must be
// a valid group, only a tenant-wide principal may change anything (for an
// application a change that changes nothing passes, so that a SCIM PUT
// carrying the group as it is can manage members), and a change that changes
// nothing keeps the version and lastModified.
func (s *Service) groupApply(p Principal, apply func(*schemas.Group) error) func(*schemas.Group) (bool, error) {
	return func(g *schemas.Group) (bool, error) {
		prev := g.Clone()
		if err := apply(g); err != nil {
			return false, err
		}
		g.ID, g.Version, g.Created, g.Updated = prev.ID, prev.Version, prev.Created, prev.Updated
		if err := normalizeGroup(g); err != nil {
			return false, err
		}
		if groupChanges(prev, g) != nil && !p.managesTenant() {
			return false, errGroupAdminOnly
		}
		if reflect.DeepEqual(g, prev) {
			return false, nil
		}
		g.Updated = s.clock()
		return true, nil
	}
}

// memberOps checks the membership operations and returns those to pass to
// the store. For a tenant-wide principal they are the operations as they
// are: the store checks, in the transaction, that every user to add exists.
// For an application every user it adds or sets must be one of its own
// (KindNotFound otherwise, read before anything is written), the users it
// removes are only those it sees, and "replace" and "clear" become a
// "remove" of the current members it sees that are not named and an "add"
// of those named.
func (s *Service) memberOps(ctx context.Context, p Principal, groupID string, ops []MemberOp) ([]MemberOp, error) {
	for _, m := range ops {
		if !storage.KnownMemberOp(m.Op) {
			return nil, Errorf(KindInvalid, "unknown membership operation %q", m.Op)
		}
	}
	if p.Admin || len(ops) == 0 {
		return ops, nil
	}
	out := make([]MemberOp, 0, len(ops))
	for _, m := range ops {
		if m.Op == "add" || m.Op == "replace" {
			if err := s.checkMembers(ctx, p, m.IDs); err != nil {
				return nil, err
			}
		}
		switch m.Op {
		case "add":
			out = append(out, m)
		case "remove":
			out = append(out, MemberOp{Op: "remove", IDs: s.visibleIDs(ctx, p, m.IDs)})
		case "replace", "clear":
			current, err := s.GroupMemberIDs(ctx, p, groupID)
			if err != nil {
				return nil, err
			}
			current = slices.DeleteFunc(current, func(id string) bool { return slices.Contains(m.IDs, id) })
			out = append(out, MemberOp{Op: "remove", IDs: current}, MemberOp{Op: "add", IDs: m.IDs})
		}
	}
	return out, nil
}

// visibleIDs returns the ids of the users among ids that p may see, in the
// order of ids.
func (s *Service) visibleIDs(ctx context.Context, p Principal, ids []string) []string {
	var out []string
	for _, id := range ids {
		if s.sees(ctx, p, id) {
			out = append(out, id)
		}
	}
	return out
}

// sees reports whether p may see the user id (GetUser finds it for p).
func (s *Service) sees(ctx context.Context, p Principal, id string) bool {
	_, err := s.GetUser(ctx, p, id)
	return err == nil
}

// patchGroupError classifies a refused PatchGroup: a missing group, or a
// missing member user (which id, and whether it is a group's), or the
// store's error.
func (s *Service) patchGroupError(ctx context.Context, groupID string, ops []MemberOp, err error) error {
	if !errors.Is(err, storage.ErrNotFound) {
		return translate(err, "group")
	}
	if _, gerr := s.store.GetGroup(ctx, groupID); gerr != nil {
		return translate(gerr, "group")
	}
	for _, m := range ops {
		if m.Op != "add" && m.Op != "replace" {
			continue
		}
		if merr := s.checkMembers(ctx, System, m.IDs); merr != nil {
			return merr
		}
	}
	return translate(err, "member user")
}

// auditGroupPatch returns the events of a PatchGroup: the change of the
// group's attributes (ActionUpdateGroup), the members added
// (ActionAddMembers) and removed (ActionRemoveMembers), each only when there
// is one. Every call returns the same ids and times.
func (s *Service) auditGroupPatch(p Principal, id string) storage.GroupAudit {
	upd := s.event(p, ActionUpdateGroup, TargetGroup, id, nil)
	add := s.event(p, ActionAddMembers, TargetGroup, id, nil)
	rem := s.event(p, ActionRemoveMembers, TargetGroup, id, nil)
	with := func(base *schemas.Event, changes map[string]schemas.Change) *schemas.Event {
		e := *base
		e.Changes = boundChanges(changes)
		return &e
	}
	return func(prev, cur *schemas.Group, added, removed []string) []*schemas.Event {
		var out []*schemas.Event
		if ch := groupChanges(prev, cur); ch != nil {
			out = append(out, with(upd, ch))
		}
		if len(added) > 0 {
			out = append(out, with(add, memberChange(nil, added)))
		}
		if len(removed) > 0 {
			out = append(out, with(rem, memberChange(removed, nil)))
		}
		return out
	}
}
