package embedded

import (
	"context"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// CreateGroup stores a new group with Version 1 and returns the stored copy.
func (s *Store) CreateGroup(ctx context.Context, g *schemas.Group, e *schemas.Event) (*schemas.Group, error) {
	return create(ctx, s, groupRecords, g, e)
}

// GetGroup returns the group with the given id, or storage.ErrNotFound.
func (s *Store) GetGroup(ctx context.Context, id string) (*schemas.Group, error) {
	if err := s.rlock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	g, ok := s.groups[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return g.Clone(), nil
}

// UpdateGroup applies fn to a copy of the group under compare-and-swap, as UpdateUser.
func (s *Store) UpdateGroup(ctx context.Context, id string, ifVersion int64, fn func(*schemas.Group) error, audit storage.Audit[*schemas.Group]) (*schemas.Group, error) {
	return update(ctx, s, groupRecords, id, ifVersion, fn, audit)
}

// groupRecords describes groups to [update].
var groupRecords = recordKind[*schemas.Group]{
	noun:    "group",
	id:      func(g *schemas.Group) string { return g.ID },
	get:     (*Store).GetGroup,
	lookup:  (*batch).group,
	clone:   (*schemas.Group).Clone,
	version: func(g *schemas.Group) int64 { return g.Version },
	stamp:   func(g *schemas.Group, id string, version int64) { g.ID, g.Version = id, version },
	encode:  encodeGroup,
	stage: func(b *batch, g *schemas.Group, enc []byte) error {
		if err := b.claim(kGroupName, g.ID, keyOfGroup(g)); err != nil {
			return err
		}
		return b.putGroup(g, enc)
	},
}

// DeleteGroup removes the group and every membership in it (each member gets
// a new Version), in one transaction.
func (s *Store) DeleteGroup(ctx context.Context, id string, e *schemas.Event) error {
	return s.audited(ctx, e, func(b *batch) error {
		if _, ok := b.group(id); !ok {
			return storage.ErrNotFound
		}
		for _, u := range seconds(b.u.members, id) {
			if err := b.setMembership(id, u, false); err != nil {
				return err
			}
		}
		return b.deleteGroup(id)
	})
}
