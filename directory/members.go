package directory

import (
	"context"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// ListGroupMembers returns one page of the members of group groupID that p may
// see (an application sees only its own users), in the order of q.Sort
// (creation order by default), with the total. q.Filter, when set, narrows
// the members further. An unknown group is a KindNotFound.
func (s *Service) ListGroupMembers(ctx context.Context, p Principal, groupID string, q storage.Query) (storage.Page[*schemas.User], error) {
	if _, err := s.GetGroup(ctx, p, groupID); err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	var member schemas.Filter = &schemas.Compare{Path: schemas.Path{Attr: schemas.UserAttributeByCanonical("groups")},
		Op: schemas.OpEq, Value: schemas.Value{Kind: schemas.KindString, Str: groupID}}
	if q.Filter != nil {
		member = &schemas.And{Left: member, Right: q.Filter}
	}
	q.Filter = member
	return s.ListUsers(ctx, p, q)
}
