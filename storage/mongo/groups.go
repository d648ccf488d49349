package mongo

import (
	"context"
	"errors"
	"fmt"
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
		field, ferr := whichConflict(ctx, c, "", checks)
		if ferr != nil {
			return ferr
		}
		if field != "" {
			return storage.Conflict(field)
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
	_, alike, err := s.lookupGroup(ctx, id)
	if err != nil {
		return err
	}
	if err := s.deleteOne(ctx, s.groups, id, "group"); err != nil {
		return err
	}
	if err := s.pullMembers(ctx, id, nil, alike); err != nil {
		return wrap(err, "delete group %s: remove memberships", id)
	}
	return nil
}

// pullMembers removes group gid from the users (all members when ids is nil),
// incrementing the version of each user that was a member: one UpdateMany
// with $pull of plain values (a $pull with a condition is not portable).
//
// When another group's id folds like gid (alike), pulling Fold(gid) from
// norm.groups could remove that group's entry too, so each member is then
// rewritten by compare-and-swap, which recomputes norm.groups from groupIds.
func (s *Store) pullMembers(ctx context.Context, gid string, ids []string, alike bool) error {
	filter := bson.D{{Key: "groupIds", Value: gid}}
	if ids != nil {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "groupIds", Value: gid}}
	}
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
	return list(ctx, s.groups, "groups", q, groupFilter, (*groupDoc).group, schemas.MatchGroup, schemas.SortGroups)
}

// lookupGroup fails with storage.ErrNotFound unless the group exists, and
// reports (in the same round trip) whether another group's id folds like its
// own (see pullMembers).
func (s *Store) lookupGroup(ctx context.Context, id string) (exists, alike bool, err error) {
	type idDoc struct {
		ID string `bson:"_id"`
	}
	docs, err := findAll[idDoc](ctx, s.groups, bson.D{{Key: "norm.id", Value: schemas.Fold(id)}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return false, false, wrap(err, "get group %s", id)
	}
	for _, d := range docs {
		if d.ID == id {
			exists = true
		} else {
			alike = true
		}
	}
	if !exists {
		return false, false, storage.ErrNotFound
	}
	return true, alike, nil
}

// AddMembers adds the group to each user's groupIds. It checks that the group
// and every user exist first (one lookup each), then updates every user that is
// not yet a member with one UpdateMany ($addToSet, $inc version).
func (s *Store) AddMembers(ctx context.Context, groupID string, userIDs []string, e *schemas.Event) error {
	return s.audited(ctx, e, func() error { return s.addMembers(ctx, groupID, userIDs) })
}

func (s *Store) addMembers(ctx context.Context, groupID string, userIDs []string) error {
	if _, _, err := s.lookupGroup(ctx, groupID); err != nil {
		return err
	}
	ids := uniq(userIDs)
	if len(ids) == 0 {
		return nil
	}
	inIDs := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	if s.claims {
		// One find both checks that every user exists and fetches the
		// documents for the per-user compare-and-swap.
		docs, err := findAll[userDoc](ctx, s.users, inIDs, options.Find())
		if err != nil {
			return wrap(err, "add members to group %s", groupID)
		}
		if len(docs) != len(ids) {
			return storage.ErrNotFound
		}
		for i := range docs {
			if slices.Contains(docs[i].GroupIDs, groupID) {
				continue
			}
			_, err := s.casUser(ctx, docs[i].ID, 0, &docs[i], func(u *schemas.User) (bool, error) {
				if u.InGroup(groupID) {
					return false, nil
				}
				u.GroupIDs = append(u.GroupIDs, groupID)
				return true, nil
			})
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return wrap(err, "add members to group %s", groupID)
			}
		}
		return nil
	}
	n, err := s.users.CountDocuments(ctx, inIDs)
	if err != nil {
		return wrap(err, "add members to group %s", groupID)
	}
	if int(n) != len(ids) {
		return storage.ErrNotFound
	}
	notYet := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "groupIds", Value: bson.D{{Key: "$ne", Value: groupID}}}}
	_, err = s.users.UpdateMany(ctx, notYet,
		bson.D{
			{Key: "$addToSet", Value: bson.D{{Key: "groupIds", Value: groupID}, {Key: "norm.groups", Value: schemas.Fold(groupID)}}},
			{Key: "$inc", Value: bson.D{{Key: "version", Value: int64(1)}}},
		})
	if err != nil {
		return wrap(err, "add members to group %s", groupID)
	}
	return nil
}

// RemoveMembers removes the group from each user's groupIds with one
// UpdateMany; users that are not members (or do not exist) are not touched.
func (s *Store) RemoveMembers(ctx context.Context, groupID string, userIDs []string, e *schemas.Event) error {
	return s.audited(ctx, e, func() error { return s.removeMembers(ctx, groupID, userIDs) })
}

func (s *Store) removeMembers(ctx context.Context, groupID string, userIDs []string) error {
	_, alike, err := s.lookupGroup(ctx, groupID)
	if err != nil {
		return err
	}
	ids := uniq(userIDs)
	if len(ids) == 0 {
		return nil
	}
	if err := s.pullMembers(ctx, groupID, ids, alike); err != nil {
		return wrap(err, "remove members from group %s", groupID)
	}
	return nil
}

// GroupMemberIDs returns the ids of the users whose groupIds hold the group,
// ascending (the group lookup plus one find with an _id projection).
func (s *Store) GroupMemberIDs(ctx context.Context, groupID string) ([]string, error) {
	if _, _, err := s.lookupGroup(ctx, groupID); err != nil {
		return nil, err
	}
	type idDoc struct {
		ID string `bson:"_id"`
	}
	docs, err := findAll[idDoc](ctx, s.users, bson.D{{Key: "groupIds", Value: groupID}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, wrap(err, "members of group %s", groupID)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids, nil
}

// uniq returns the distinct values of ids, sorted.
func uniq(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
