package directory

import (
	"context"

	"github.com/scimd/scimd/schemas"
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
// (every member is removed).
type MemberOp struct {
	Op  string
	IDs []string
}

// PatchGroup applies a group PATCH (or PUT) as one operation. Everything that
// can be refused is checked before anything is written: the number of
// members the operations name together (MaxMembersPerRequest), and that
// every user it adds exists and is visible to p (an application may add only its own users). Then the attributes
// change under compare-and-swap with Check (one read of the version, no
// pre-read), then the membership operations run in order. It returns the
// group as it is afterwards.
//
// The membership writes are each atomic but not atomic with the attribute
// write: once the checks have passed, only a store failure or a concurrent
// deletion of a user or the group can stop them part way.
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
	for _, m := range ch.Members {
		if m.Op != "add" && m.Op != "replace" {
			continue
		}
		if err := s.checkMembers(ctx, p, m.IDs); err != nil {
			return nil, err
		}
	}
	cur, err := s.GetGroup(ctx, p, id)
	if err != nil {
		return nil, err
	}
	switch {
	case ch.Apply != nil:
		if _, err := s.UpdateGroup(ctx, p, id, 0, func(g *schemas.Group) error {
			if ch.Check != nil {
				if err := ch.Check(g.Version); err != nil {
					return err
				}
			}
			return ch.Apply(g)
		}); err != nil {
			return nil, err
		}
	case ch.Check != nil:
		if err := ch.Check(cur.Version); err != nil {
			return nil, err
		}
	}
	for _, m := range ch.Members {
		var err error
		switch m.Op {
		case "add":
			err = s.AddMembers(ctx, p, id, m.IDs)
		case "remove":
			err = s.RemoveMembers(ctx, p, id, m.IDs)
		case "replace":
			err = s.ReplaceMembers(ctx, p, id, m.IDs)
		case "clear":
			err = s.ReplaceMembers(ctx, p, id, nil)
		default:
			err = Errorf(KindInvalid, "unknown membership operation %q", m.Op)
		}
		if err != nil {
			return nil, err
		}
	}
	return s.GetGroup(ctx, p, id)
}
