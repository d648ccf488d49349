package embedded

import (
	"bytes"
	"context"
	"fmt"

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
		members := seconds(b.u.members(), id)
		direct, err := b.lagRoom(id, len(members))
		if err != nil {
			return err
		}
		for _, u := range members {
			var prev int64
			if v := b.u.lagBucket().Get(pairKey(id, u)); v != nil {
				if _, prev, err = decodeLagValue(v); err != nil {
					return err
				}
			}
			if err := b.changeMembership(id, u, false, prev, direct); err != nil {
				return err
			}
		}
		return b.deleteGroup(id)
	})
}

// PatchGroup changes the group's attributes and its membership in one
// transaction, with the events audit builds. Apply first runs in the
// caller's goroutine on a copy of the committed group; if another write
// changed the group before the writer takes this one, it runs again inside
// the writer on the newest version (as UpdateGroup's updater). The
// membership operations are planned inside the writer, on the state the
// transaction sees: per membership that changes, two small keys are written,
// both keyed group first (groupMembers and a lag entry, memberlag.go), never
// the user's record nor a page of userGroups.
func (s *Store) PatchGroup(ctx context.Context, id string, ch storage.GroupChange, audit storage.GroupAudit) (*schemas.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, m := range ch.Members {
		if !storage.KnownMemberOp(m.Op) {
			return nil, fmt.Errorf("embedded: patch group %s: unknown membership operation %q", id, m.Op)
		}
	}
	cur, err := s.GetGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	// The attribute change, computed outside the writer when nothing races it.
	read := cur.Version
	applied, changed, err := applyGroup(ch, cur)
	if err != nil {
		return nil, err
	}
	var out *schemas.Group
	err = s.submit(func(b *batch) error {
		old, ok := b.group(id)
		if !ok {
			return storage.ErrNotFound
		}
		g, changed := applied, changed
		if old.Version != read {
			var err error
			if g, changed, err = applyGroup(ch, old.Clone()); err != nil {
				return err
			}
		}
		added, removed, changes, err := b.planMembers(id, ch.Members)
		if err != nil {
			return err
		}
		if !changed && len(added) == 0 && len(removed) == 0 {
			out = old.Clone()
			return nil // nothing to write: no version, no event
		}
		if !changed {
			c := *old // shallow: only Version and Updated change, and encoding copies
			g = &c
		}
		g.ID, g.Version = id, old.Version+1
		if len(added)+len(removed) > 0 && ch.At.After(g.Updated) {
			g.Updated = ch.At
		}
		enc, stored, err := encodeGroup(g)
		if err != nil {
			return fmt.Errorf("embedded: patch group %s: encode: %w", id, err)
		}
		var events []*stagedEvent
		if audit != nil {
			for _, e := range audit(old, stored, added, removed) {
				ev, err := newStagedEvent(e)
				if err != nil {
					return err
				}
				events = append(events, ev)
			}
		}
		if err := b.claim(kGroupName, id, keyOfGroup(stored)); err != nil {
			return err
		}
		// Staging from here on: an error aborts the batch.
		direct, err := b.lagRoom(id, len(added)+len(removed))
		if err != nil {
			return err
		}
		for _, u := range removed {
			if err := b.changeMembership(id, u, false, changes[u], direct); err != nil {
				return err
			}
		}
		for _, u := range added {
			if err := b.changeMembership(id, u, true, changes[u], direct); err != nil {
				return err
			}
		}
		if err := b.putGroup(stored, enc); err != nil {
			return err
		}
		for _, ev := range events {
			if err := b.putEvent(ev); err != nil {
				return err
			}
		}
		out = stored.Clone()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyGroup runs ch's Check and Apply on g (a copy the caller owns) and
// returns it with whether Apply changed it.
func applyGroup(ch storage.GroupChange, g *schemas.Group) (*schemas.Group, bool, error) {
	if ch.Check != nil {
		if err := ch.Check(g.Version); err != nil {
			return nil, false, err
		}
	}
	if ch.Apply == nil {
		return g, false, nil
	}
	id, version := g.ID, g.Version
	changed, err := ch.Apply(g)
	if err != nil {
		return nil, false, err
	}
	g.ID, g.Version = id, version
	return g, changed, nil
}

// planMembers runs the membership operations on the state the batch sees,
// without staging anything (storage.PlanMembers). It asks about the users in
// ascending order, so one walker per bucket steps from one to the next where
// they are neighbours: the group's members and its lag entries are
// neighbours in groupMembers and memberLag whoever the users are. It returns
// with the changes the lag entries of the users it looked at hold (0: none),
// for changeMembership.
func (b *batch) planMembers(group string, ops []storage.MemberOp) (added, removed []string, changes map[string]int64, err error) {
	changes = make(map[string]int64)
	// A user exists when it has a search row: userRows (id → row) is a
	// small fraction of the records' size, so the lookups of members spread
	// over the store touch fewer pages.
	users, members, lag := walk(b.u.search.rows()), walk(b.u.members()), walk(b.u.lagBucket())
	var lagErr error // the first damaged lag entry met
	added, removed, err = storage.PlanMembers(ops,
		func(u string) bool { return u != "" && users.has([]byte(u)) },
		func(u string) bool {
			k := pairKey(group, u)
			if lk, v := lag.seek(k); bytes.Equal(lk, k) {
				var err error
				if _, changes[u], err = decodeLagValue(v); err != nil && lagErr == nil {
					lagErr = err
				}
			}
			return members.has(k)
		},
		func() []string { return seconds(b.u.members(), group) })
	if err == nil {
		err = lagErr
	}
	return added, removed, changes, err
}
