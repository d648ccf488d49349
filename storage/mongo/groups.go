package mongo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// groupDoc is the stored form of a schemas.Group. Members are not stored here:
// each member's user document carries the group id in groupIds.
type groupDoc struct {
	ID          string    `bson:"_id"`
	Version     int64     `bson:"version"`
	Norm        groupNorm `bson:"norm"`
	DisplayName string    `bson:"displayName,omitempty"`
	ExternalID  string    `bson:"externalId,omitempty"`
	Description string    `bson:"description,omitempty"`
	CustomData  bson.D    `bson:"customData,omitempty"`
	Created     time.Time `bson:"created,omitempty"`
	Updated     time.Time `bson:"updated,omitempty"`
}

type groupNorm struct {
	DisplayName string `bson:"displayName,omitempty"` // schemas.Fold(DisplayName)
	// ID is schemas.Fold(ID): membership changes look up the groups whose ids
	// fold alike, because users' norm.groups hold folded ids.
	ID string `bson:"id,omitempty"`
}

func groupToDoc(g *schemas.Group) (*groupDoc, error) {
	d := &groupDoc{
		ID:          g.ID,
		Version:     g.Version,
		Norm:        groupNorm{DisplayName: schemas.Fold(g.DisplayName), ID: schemas.Fold(g.ID)},
		DisplayName: g.DisplayName,
		ExternalID:  g.ExternalID,
		Description: g.Description,
		Created:     utc(g.Created),
		Updated:     utc(g.Updated),
	}
	var err error
	if d.CustomData, err = jsonObjectToBSON(g.CustomData); err != nil {
		return nil, fmt.Errorf("mongo: group %s customData: %w", g.ID, err)
	}
	return d, nil
}

func (d *groupDoc) group() (*schemas.Group, error) {
	g := &schemas.Group{
		ID:          d.ID,
		Version:     d.Version,
		DisplayName: d.DisplayName,
		ExternalID:  d.ExternalID,
		Description: d.Description,
		Created:     utc(d.Created),
		Updated:     utc(d.Updated),
	}
	var err error
	if g.CustomData, err = bsonToJSONObject(d.CustomData); err != nil {
		return nil, fmt.Errorf("mongo: group %s customData: %w", d.ID, err)
	}
	return g, nil
}

func groupConflictChecks(d *groupDoc, withID bool) []conflictCheck {
	var cs []conflictCheck
	if withID {
		cs = append(cs, conflictCheck{storage.FieldID, "_id", d.ID})
	}
	return append(cs, conflictCheck{storage.FieldDisplayName, "norm.displayName", d.Norm.DisplayName})
}

// CreateGroup stores a new group with Version 1 (one round trip).
func (s *Store) CreateGroup(ctx context.Context, g *schemas.Group, e *schemas.Event) (*schemas.Group, error) {
	if g == nil || g.ID == "" {
		return nil, errors.New("mongo: create group: no id")
	}
	c := g.Clone()
	c.Version = 1
	d, err := groupToDoc(c)
	if err != nil {
		return nil, err
	}
	if err := s.audited(ctx, e, func() error { return s.insert(ctx, s.groups, d, "group "+g.ID, groupConflictChecks(d, true)) }); err != nil {
		return nil, err
	}
	return c, nil
}

// insert inserts a document, turning a duplicate-key error into a
// *storage.ConflictError naming the field (found by querying the checks).
func (s *Store) insert(ctx context.Context, c *mdb.Collection, doc any, what string, checks []conflictCheck) error {
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return wrap(err, "create %s", what)
		}
		_, err := c.InsertOne(ctx, doc)
		if err == nil {
			return nil
		}
		if !isDuplicateKey(err) {
			return wrap(err, "create %s", what)
		}
		if err := conflictOf(ctx, c, "", checks); err != nil {
			return err
		}
	}
	return wrap(errTooManyAttempts, "create %s", what)
}

// GetGroup returns the group with the given id (one round trip).
func (s *Store) GetGroup(ctx context.Context, id string) (*schemas.Group, error) {
	var d groupDoc
	if err := s.groups.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, notFound(err, "get group %s", id)
	}
	return d.group()
}

// UpdateGroup applies fn under compare-and-swap, as UpdateUser.
func (s *Store) UpdateGroup(ctx context.Context, id string, ifVersion int64, fn func(*schemas.Group) error, audit storage.Audit[*schemas.Group]) (*schemas.Group, error) {
	return cas(ctx, s, s.groups, groupDocs, id, ifVersion, nil, func(g *schemas.Group) (bool, error) { return true, fn(g) }, audit)
}

// groupDocs describes the groups collection to [cas].
var groupDocs = docKind[groupDoc, *schemas.Group]{
	noun:    "group",
	version: func(d *groupDoc) int64 { return d.Version },
	decode:  (*groupDoc).group,
	stamp:   func(g *schemas.Group, id string, version int64) { g.ID, g.Version = id, version },
	encode:  groupToDoc,
	checks:  groupConflictChecks,
}

// DeleteGroup removes the group, then its memberships with one UpdateMany
// ($pull of the plain id, which the portable subset supports).
func (s *Store) DeleteGroup(ctx context.Context, id string, e *schemas.Event) error {
	return s.audited(ctx, e, func() error { return s.deleteGroup(ctx, id) })
}

func (s *Store) deleteGroup(ctx context.Context, id string) error {
	_, alike, err := s.readGroup(ctx, id)
	if err != nil {
		return err
	}
	if err := s.deleteOne(ctx, s.groups, id, "group"); err != nil {
		return err
	}
	if err := s.pullMembers(ctx, id, bson.D{{Key: "groupIds", Value: id}}, alike); err != nil {
		return wrap(err, "delete group %s: remove memberships", id)
	}
	return nil
}

// pullMembers removes group gid from the users the filter selects (which
// must select members of gid only), incrementing the version of each: one
// UpdateMany with $pull of plain values (a $pull with a condition is not
// portable).
//
// When another group's id folds like gid (alike), pulling Fold(gid) from
// norm.groups could remove that group's entry too, so each member is then
// rewritten by compare-and-swap, which recomputes norm.groups from groupIds.
func (s *Store) pullMembers(ctx context.Context, gid string, filter bson.D, alike bool) error {
	if !alike && !s.claims {
		_, err := s.users.UpdateMany(ctx, filter, bson.D{
			{Key: "$pull", Value: bson.D{{Key: "groupIds", Value: gid}, {Key: "norm.groups", Value: schemas.Fold(gid)}}},
			{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}},
		})
		return err
	}
	return s.casEach(ctx, filter, func(u *schemas.User) bool {
		n := len(u.GroupIDs)
		u.GroupIDs = slices.DeleteFunc(u.GroupIDs, func(g string) bool { return g == gid })
		return len(u.GroupIDs) != n
	})
}

// casEach applies fn by compare-and-swap to every user the filter selects
// (one find, then one swap per user whose document fn changes). Users deleted
// meanwhile are skipped.
func (s *Store) casEach(ctx context.Context, filter bson.D, fn func(*schemas.User) bool) error {
	docs, err := findAll[userDoc](ctx, s.users, filter, options.Find())
	if err != nil {
		return err
	}
	for i := range docs {
		_, err := s.casUser(ctx, docs[i].ID, 0, &docs[i], func(u *schemas.User) (bool, error) { return fn(u), nil })
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

// ListGroups returns one page of the matching groups, as ListUsers.
func (s *Store) ListGroups(ctx context.Context, q storage.Query) (storage.Page[*schemas.Group], error) {
	filter, exact := groupFilter(q.Filter)
	return list(ctx, s.groups, "groups", q, filter, exact, (*groupDoc).group, schemas.MatchGroup, schemas.SortGroups)
}

// PatchGroup changes the group's attributes and its membership. Without
// multi-document transactions (the portable subset) it cannot be one atomic
// write; it is ordered so that every refusal the caller can cause comes
// before anything is written, and compensated after that:
//
//  1. Read: the group (with Check and Apply on a copy) and the users the
//     operations name — whether they exist and are members (one find; one
//     more for "replace" and "clear", the current members). An unknown
//     group or user, a failed Check, Apply's error: nothing was written.
//  2. Write the events (as every audited write: event first).
//  3. Change the users' memberships: adds, then removes, each user getting a
//     new version (one UpdateMany each; with claims, a compare-and-swap per
//     user).
//  4. Give the group its new version after its members changed, so that a
//     reader never caches the new version with the old members: with an
//     attribute change, a compare-and-swap of the group document (on a lost
//     race it reads the group again, runs Check and Apply again and swaps
//     again); a membership change alone is an atomic $inc of the group's
//     version with a $max of its updated time (conditional on the version
//     read when Check is set) — no read-modify-write, so concurrent
//     membership changes do not queue on the group. With claims (FerretDB
//     v1, whose $inc is not atomic) the bump is a compare-and-swap too.
//
// If step 4 is refused (Check no longer holds because the group changed
// meanwhile, a displayName taken meanwhile), step 3 is undone (the users
// get yet another version) and the events are deleted. A crash or a lost
// connection between steps 2 and 4 can leave the events, part of the
// membership change, and the group's old version: the change is then not
// atomic, which is what the embedded store's one transaction guarantees and
// this backend does not.
func (s *Store) PatchGroup(ctx context.Context, id string, ch storage.GroupChange, audit storage.GroupAudit) (_ *schemas.Group, err error) {
	for _, m := range ch.Members {
		if !storage.KnownMemberOp(m.Op) {
			return nil, fmt.Errorf("mongo: patch group %s: unknown membership operation %q", id, m.Op)
		}
	}
	if batchable(ch) {
		return s.patchMembers(ctx, id, ch, audit)
	}
	d, alike, err := s.readGroup(ctx, id)
	if err != nil {
		return nil, err
	}
	prev, err := d.group()
	if err != nil {
		return nil, err
	}
	cur, changed, err := applyGroup(ch, prev)
	if err != nil {
		return nil, err
	}
	if changed && schemas.Fold(cur.DisplayName) != d.Norm.DisplayName {
		// A name another group holds: refused before anything is written
		// (the unique index still decides a race, at step 4).
		nd, err := groupToDoc(cur)
		if err != nil {
			return nil, err
		}
		if err := conflictOf(ctx, s.groups, id, groupConflictChecks(nd, false)); err != nil {
			return nil, err
		}
	}
	added, removed, err := s.planMembers(ctx, id, ch.Members)
	if err != nil {
		return nil, err
	}
	members := len(added)+len(removed) > 0
	if !changed && !members {
		return prev, nil
	}
	stamp := func(prev, cur *schemas.Group) {
		cur.Version = prev.Version + 1
		if members && ch.At.After(cur.Updated) {
			cur.Updated = ch.At
		}
	}
	stamp(prev, cur)
	events, err := groupEvents(audit, prev, cur, added, removed)
	if err != nil {
		return nil, err
	}
	return s.commitPatch(ctx, id, alike, events, added, removed, prev, cur, func() (*schemas.Group, error) {
		if !changed {
			return s.bumpGroup(ctx, id, ch, prev, cur)
		}
		return s.swapGroup(ctx, id, ch, prev, cur, func(prev, cur *schemas.Group) error {
			stamp(prev, cur)
			events, err := groupEvents(audit, prev, cur, added, removed)
			if err != nil {
				return err
			}
			return s.writeEvents(ctx, events...)
		})
	})
}

// groupEvents encodes the audit events of a change of the group from prev
// to cur (none without audit), so that one that cannot be stored is found
// before anything is written.
func groupEvents(audit storage.GroupAudit, prev, cur *schemas.Group, added, removed []string) ([]*eventDoc, error) {
	if audit == nil {
		return nil, nil
	}
	var out []*eventDoc
	for _, e := range audit(prev, cur, added, removed) {
		if e == nil {
			continue
		}
		d, err := eventToDoc(e)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// commitPatch is steps 2–4 of PatchGroup (and of a batch of them, see
// memberBatch) once the change is planned: write the events, change the
// users' memberships (added, removed), then write the group (step4). When
// step 3 fails, the group's version moves on all the same (best effort: a
// reader must not keep the old version with members that changed) and the
// events stay (the change may be part made). When step 4 fails, step 3 is
// undone and the events are deleted, unless the write may have been made.
func (s *Store) commitPatch(ctx context.Context, id string, alike bool, events []*eventDoc, added, removed []string,
	prev, cur *schemas.Group, step4 func() (*schemas.Group, error)) (*schemas.Group, error) {
	dropEvents := func() {
		for _, e := range events {
			s.dropEvent(ctx, e.Head.ID)
		}
	}
	if err := s.writeEvents(ctx, events...); err != nil {
		dropEvents()
		return nil, err
	}
	bumpAnyway := func() {
		_, _ = s.bumpGroup(context.WithoutCancel(ctx), id, storage.GroupChange{}, prev, cur)
	}
	err := s.addUsers(ctx, id, added)
	if err == nil {
		err = s.removeUsers(ctx, id, removed, alike)
	}
	if err != nil {
		bumpAnyway()
		return nil, wrap(err, "change the members of group %s", id)
	}
	out, err := step4()
	if err != nil {
		if len(added)+len(removed) > 0 {
			ctx := context.WithoutCancel(ctx)
			_ = s.removeUsers(ctx, id, added, alike)
			_ = s.addUsers(ctx, id, removed)
			bumpAnyway()
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			dropEvents()
		}
		return nil, err
	}
	return out, nil
}

// readGroup reads the group document, or fails with storage.ErrNotFound, and
// reports (in the same round trip) whether another group's id folds like its
// own (see pullMembers).
func (s *Store) readGroup(ctx context.Context, id string) (*groupDoc, bool, error) {
	docs, err := findAll[groupDoc](ctx, s.groups, bson.D{{Key: "norm.id", Value: schemas.Fold(id)}}, options.Find())
	if err != nil {
		return nil, false, wrap(err, "get group %s", id)
	}
	var d *groupDoc
	alike := false
	for i := range docs {
		if docs[i].ID == id {
			d = &docs[i]
		} else {
			alike = true
		}
	}
	if d == nil {
		return nil, false, storage.ErrNotFound
	}
	return d, alike, nil
}

// applyGroup runs ch's Check on prev's version and its Apply on a copy of
// prev, which it returns (prev itself when Apply changes nothing).
func applyGroup(ch storage.GroupChange, prev *schemas.Group) (cur *schemas.Group, changed bool, err error) {
	if ch.Check != nil {
		if err := ch.Check(prev.Version); err != nil {
			return nil, false, err
		}
	}
	if ch.Apply == nil {
		return prev.Clone(), false, nil
	}
	cur = prev.Clone()
	if changed, err = ch.Apply(cur); err != nil {
		return nil, false, err
	}
	if !changed {
		return prev.Clone(), false, nil
	}
	cur.ID, cur.Version = prev.ID, prev.Version
	return cur, true, nil
}

// planMembers runs the membership operations on the stored membership,
// reading only (storage.PlanMembers).
func (s *Store) planMembers(ctx context.Context, gid string, ops []storage.MemberOp) (added, removed []string, err error) {
	exists, stored, err := s.memberState(ctx, gid, ops)
	if err != nil {
		return nil, nil, err
	}
	return storage.PlanMembers(ops, func(u string) bool { return exists[u] }, func(u string) bool { return stored[u] },
		func() []string { return slices.Collect(maps.Keys(stored)) })
}

// memberState reads which of the users the operations name exist and which
// of them are members of the group (all members when an operation is
// "replace" or "clear"): one find.
func (s *Store) memberState(ctx context.Context, gid string, ops []storage.MemberOp) (exists, stored map[string]bool, err error) {
	type memberDoc struct {
		ID       string   `bson:"_id"`
		GroupIDs []string `bson:"groupIds"`
	}
	var named []string
	whole := false // a replace or clear: the current members are needed
	for _, m := range ops {
		named = append(named, m.IDs...)
		whole = whole || m.Op == "replace" || m.Op == "clear"
	}
	proj := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "groupIds", Value: 1}})
	var filter bson.D
	byID := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: uniq(named)}}}}
	members := bson.D{{Key: "groupIds", Value: gid}}
	switch {
	case whole && len(named) > 0:
		filter = bson.D{{Key: "$or", Value: bson.A{byID, members}}}
	case whole:
		filter = members
	case len(named) > 0:
		filter = byID
	default:
		return map[string]bool{}, map[string]bool{}, nil
	}
	docs, err := findAll[memberDoc](ctx, s.users, filter, proj)
	if err != nil {
		return nil, nil, wrap(err, "members of group %s", gid)
	}
	exists = make(map[string]bool, len(docs))
	stored = make(map[string]bool)
	for _, d := range docs {
		exists[d.ID] = true
		if slices.Contains(d.GroupIDs, gid) {
			stored[d.ID] = true
		}
	}
	return exists, stored, nil
}

// addUsers adds the group to the groupIds of the users (which exist) that
// are not members yet, incrementing each one's version: one UpdateMany
// ($addToSet, $inc), or with claims a compare-and-swap per user. Users
// deleted meanwhile are skipped.
func (s *Store) addUsers(ctx context.Context, gid string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	notYet := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "groupIds", Value: bson.D{{Key: "$ne", Value: gid}}}}
	if s.claims {
		return s.casEach(ctx, notYet, func(u *schemas.User) bool {
			if u.InGroup(gid) {
				return false
			}
			u.GroupIDs = append(u.GroupIDs, gid)
			return true
		})
	}
	_, err := s.users.UpdateMany(ctx, notYet, bson.D{
		{Key: "$addToSet", Value: bson.D{{Key: "groupIds", Value: gid}, {Key: "norm.groups", Value: schemas.Fold(gid)}}},
		{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}},
	})
	return err
}

// removeUsers removes the group from those of the users ids that are its
// members (none when ids is empty; see pullMembers).
func (s *Store) removeUsers(ctx context.Context, gid string, ids []string, alike bool) error {
	if len(ids) == 0 {
		return nil
	}
	return s.pullMembers(ctx, gid, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "groupIds", Value: gid}}, alike)
}

// swapGroup is step 4 of PatchGroup with an attribute change: by [cas],
// the group cur (prev's successor, its events written) replaces version
// prev.Version. On a lost race the group is read again, Check and Apply run
// again on it (their errors are returned as they are; whether Apply changes
// anything now, the membership changed, so the group gets a new version),
// and retried stamps that attempt's successor and writes its events.
func (s *Store) swapGroup(ctx context.Context, id string, ch storage.GroupChange, prev, cur *schemas.Group,
	retried func(prev, cur *schemas.Group) error) (*schemas.Group, error) {
	first, err := groupToDoc(prev)
	if err != nil {
		return nil, err
	}
	prepared := cur // the first attempt's successor, from the read PatchGroup made
	return cas(ctx, s, s.groups, groupDocs, id, 0, first, func(g *schemas.Group) (bool, error) {
		if prepared != nil {
			*g, prepared = *prepared, nil
			return true, nil
		}
		next, _, err := applyGroup(ch, g)
		if err != nil {
			return false, err
		}
		if err := retried(g, next); err != nil {
			return false, err
		}
		*g = *next
		return true, nil
	}, nil)
}

// bumpGroup is step 4 of PatchGroup for a membership change alone: the
// group's version +1 and its updated time at least cur.Updated, by an atomic
// $inc and $max (when Check is set, only if the version is still
// prev.Version: otherwise ErrVersionMismatch). With claims (FerretDB v1,
// whose $inc is not atomic) it is a compare-and-swap of the group instead
// (swapGroup, with the same check).
func (s *Store) bumpGroup(ctx context.Context, id string, ch storage.GroupChange, prev, cur *schemas.Group) (*schemas.Group, error) {
	if s.claims {
		var still storage.GroupChange
		if ch.Check != nil {
			still.Check = func(v int64) error {
				if v != prev.Version {
					return storage.ErrVersionMismatch
				}
				return nil
			}
		}
		bump := func(prev, next *schemas.Group) error {
			next.Version = prev.Version + 1
			if cur.Updated.After(next.Updated) {
				next.Updated = cur.Updated
			}
			return nil
		}
		next := prev.Clone() // not cur: its attribute change, if any, is not this write's
		_ = bump(prev, next)
		return s.swapGroup(ctx, id, still, prev, next, bump)
	}
	filter := bson.D{{Key: "_id", Value: id}}
	if ch.Check != nil {
		filter = append(filter, bson.E{Key: "version", Value: prev.Version})
	}
	var d groupDoc
	err := s.groups.FindOneAndUpdate(ctx, filter, bson.D{
		{Key: "$max", Value: bson.D{{Key: "updated", Value: utc(cur.Updated)}}},
		{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		if ch.Check != nil {
			return nil, storage.ErrVersionMismatch
		}
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, wrap(err, "update group %s", id)
	}
	return d.group()
}

// GroupMemberIDs returns the ids of the users whose groupIds hold the group,
// ascending (see groupMembers; the find projects _id only).
func (s *Store) GroupMemberIDs(ctx context.Context, groupID string) ([]string, error) {
	type idDoc struct {
		ID string `bson:"_id"`
	}
	return groupMembers(ctx, s, groupID, func(d *idDoc) string { return d.ID }, "_id")
}

// GroupMembers returns the group's members with their names, ascending by
// id (see groupMembers; the find projects the names).
func (s *Store) GroupMembers(ctx context.Context, groupID string) ([]storage.Member, error) {
	type memberDoc struct {
		ID       string `bson:"_id"`
		UserName string `bson:"userName"`
		Display  string `bson:"displayName"`
	}
	return groupMembers(ctx, s, groupID, func(d *memberDoc) storage.Member {
		return storage.Member{ID: d.ID, UserName: d.UserName, DisplayName: d.Display}
	}, "_id", "userName", "displayName")
}

// groupMembers reads the members of group groupID, ascending by id, each as
// conv makes it of the fields of its user document D that fields name: the
// group lookup (storage.ErrNotFound without the group), then one find
// projected to fields.
func groupMembers[D, T any](ctx context.Context, s *Store, groupID string, conv func(*D) T, fields ...string) ([]T, error) {
	if _, _, err := s.readGroup(ctx, groupID); err != nil {
		return nil, err
	}
	return listByID(ctx, s.users, bson.D{{Key: "groupIds", Value: groupID}}, "members of group "+groupID, conv, fields...)
}

// uniq returns the distinct values of ids, sorted.
func uniq(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
