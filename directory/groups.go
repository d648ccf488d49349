package directory

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// MaxMembersPerRequest caps the members one request may name, over all its
// membership operations: the users it adds, removes, or sets as the whole
// membership (a group's POST or PUT with members, a PATCH replace). Each
// named user may cost a read and a write of that user's record, so the cap
// bounds the work of one request (10,000 take about 0.2 s on the embedded
// store) whatever the body limit admits (a 2 MiB body names ~43,000). Okta
// and Entra send membership changes in batches far below it; larger changes
// are several PATCHes of add and remove operations. Removing all of a
// group's members (PATCH remove of members without a value, a replacement
// with fewer members, deleting the group) is not capped: it undoes only what
// earlier requests, each within the cap, have added.
const MaxMembersPerRequest = 10_000

// CheckMemberCount refuses a request naming more than MaxMembersPerRequest
// members, before any of them is looked at (KindTooMany). Faces that carry
// several membership changes in one request (SCIM Bulk) count them all.
func CheckMemberCount(n int) error {
	if n > MaxMembersPerRequest {
		return Errorf(KindTooMany, "at most %d members can be added, removed or set in one request (this one names %d); send larger changes as several PATCH requests",
			MaxMembersPerRequest, n)
	}
	return nil
}

// normalizeGroup checks the invariants of a stored group.
func normalizeGroup(g *schemas.Group) error {
	if strings.TrimSpace(g.DisplayName) == "" {
		return FieldError(KindInvalid, "displayName", "a group needs a name")
	}
	for name, v := range map[string]string{"displayName": g.DisplayName, "externalId": g.ExternalID, "description": g.Description} {
		if err := checkString(name, v); err != nil {
			return err
		}
	}
	var err error
	g.CustomData, err = normalizeJSON("custom_data", g.CustomData, MaxCustomDataBytes)
	return err
}

// Groups belong to the tenant, and a group may hold users of every
// application, so creating, renaming (any change of the group's own
// attributes) and deleting a group is an admin action. An application may read
// every group and add or remove its own users (those assigned to it) as members.
var errGroupAdminOnly = Errorf(KindForbidden,
	"creating, changing and deleting groups needs a tenant-wide token (an admin token, or an unbound API token with the scim scope); an application may read groups and add or remove its own users as members")

// CreateGroup stores a new group with the given members; only admins may.
func (s *Service) CreateGroup(ctx context.Context, p Principal, g *schemas.Group, memberIDs []string) (*schemas.Group, error) {
	if !p.manages() {
		return nil, forbiddenToManage
	}
	if !p.managesTenant() {
		return nil, errGroupAdminOnly
	}
	if err := s.checkMembers(ctx, p, memberIDs); err != nil {
		return nil, err
	}
	now := s.clock()
	g = g.Clone()
	g.ID, g.Version, g.Created, g.Updated = s.newID(), 0, now, now
	if err := normalizeGroup(g); err != nil {
		return nil, err
	}
	created, err := s.store.CreateGroup(ctx, g, s.event(p, ActionCreateGroup, TargetGroup, g.ID, groupChanges(nil, g)))
	if err != nil {
		return nil, translate(err, "group")
	}
	if len(memberIDs) == 0 {
		return created, nil
	}
	g, err = s.store.PatchGroup(ctx, created.ID, storage.GroupChange{Members: []MemberOp{{Op: "add", IDs: memberIDs}}, At: now},
		s.auditGroupPatch(p, created.ID))
	if err != nil {
		// A member vanished between the check and the write: undo the creation.
		_ = s.store.DeleteGroup(context.WithoutCancel(ctx), created.ID, s.event(p, ActionDeleteGroup, TargetGroup, created.ID, nil))
		return nil, translate(err, "member user")
	}
	return g, nil
}

// checkMembers verifies that every user exists and is visible to p (an app may
// make only its own users members), so that a bad id changes nothing.
func (s *Service) checkMembers(ctx context.Context, p Principal, ids []string) error {
	if err := CheckMemberCount(len(ids)); err != nil {
		return err
	}
	_, err := s.membershipChanges(ctx, p, "", ids, true)
	return err
}

// GetGroup returns a group. Groups belong to the tenant: every caller that
// manages the directory sees all of them.
func (s *Service) GetGroup(ctx context.Context, p Principal, id string) (*schemas.Group, error) {
	if !p.reads() {
		return nil, forbiddenToRead
	}
	g, err := s.store.GetGroup(ctx, id)
	return g, translate(err, "group")
}

// ListGroups returns a page of the groups matching q. A filter that names a
// member (members[value eq "id"] or members.value eq "id", as a term of a
// conjunction: Entra's "is this user in that group") is answered from the
// member's own list of groups (membership is stored on the user), so its
// cost does not depend on the size of the groups; a member p cannot see
// matches nothing. Any other use of members in a filter or a sort is a
// KindInvalidFilter.
func (s *Service) ListGroups(ctx context.Context, p Principal, q storage.Query) (storage.Page[*schemas.Group], error) {
	if !p.reads() {
		return storage.Page[*schemas.Group]{}, forbiddenToRead
	}
	if q.Sort != nil && isMembersAttr(q.Sort.Path) {
		return storage.Page[*schemas.Group]{}, Errorf(KindInvalidFilter, "groups cannot be sorted by members")
	}
	memberIDs, rest, err := splitMemberFilter(q.Filter)
	if err != nil {
		return storage.Page[*schemas.Group]{}, err
	}
	if memberIDs == nil {
		page, err := s.store.ListGroups(ctx, q)
		return page, translate(err, "group")
	}
	return s.groupsOfMembers(ctx, p, memberIDs, rest, q)
}

// groupsOfMembers is ListGroups for the groups every user in ids is a
// member of, matching rest, paged and sorted in memory (a user's groups are
// few, however large the groups).
func (s *Service) groupsOfMembers(ctx context.Context, p Principal, ids []string, rest schemas.Filter, q storage.Query) (storage.Page[*schemas.Group], error) {
	var candidates []string
	for i, id := range ids {
		u, err := s.GetUser(ctx, p, id)
		if KindOf(err) == KindNotFound {
			return storage.Page[*schemas.Group]{Items: []*schemas.Group{}}, nil
		}
		if err != nil {
			return storage.Page[*schemas.Group]{}, err
		}
		if i == 0 {
			candidates = slices.Clone(u.GroupIDs)
		} else {
			candidates = slices.DeleteFunc(candidates, func(g string) bool { return !u.InGroup(g) })
		}
	}
	matches := make([]*schemas.Group, 0, len(candidates))
	for _, gid := range candidates {
		g, err := s.store.GetGroup(ctx, gid)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted concurrently
		}
		if err != nil {
			return storage.Page[*schemas.Group]{}, translate(err, "group")
		}
		if schemas.MatchGroup(rest, g) {
			matches = append(matches, g)
		}
	}
	schemas.SortGroups(matches, q.Sort)
	page := storage.Page[*schemas.Group]{Total: len(matches), Items: []*schemas.Group{}}
	if q.Offset < len(matches) && q.Limit != 0 {
		end := len(matches)
		if q.Limit > 0 {
			end = min(end, q.Offset+q.Limit)
		}
		page.Items = matches[q.Offset:end]
	}
	return page, nil
}

// isMembersAttr reports whether a path is a group's members or one of their
// sub-attributes.
func isMembersAttr(p schemas.Path) bool {
	return strings.HasPrefix(p.Attr.Canonical, "members") && (p.Parent != nil && p.Parent.Canonical == "members" || p.Attr.Canonical == "members")
}

// splitMemberFilter takes the member terms out of a group filter: ids are
// the members required (nil when the filter names none) and rest is what
// remains (nil: nothing). Member terms are members[value eq "id"] and
// members.value eq "id", joined to the rest by and; members anywhere else
// (under or, not, another operator or sub-attribute) is a KindInvalidFilter.
func splitMemberFilter(f schemas.Filter) (ids []string, rest schemas.Filter, err error) {
	bad := Errorf(KindInvalidFilter, `groups can be filtered by members only with members[value eq "id"] or members.value eq "id", joined to the rest of the filter by and`)
	var walk func(f schemas.Filter) (schemas.Filter, error)
	walk = func(f schemas.Filter) (schemas.Filter, error) {
		switch t := f.(type) {
		case *schemas.And:
			l, err := walk(t.Left)
			if err != nil {
				return nil, err
			}
			r, err := walk(t.Right)
			switch {
			case err != nil:
				return nil, err
			case l == nil:
				return r, nil
			case r == nil:
				return l, nil
			}
			return &schemas.And{Left: l, Right: r}, nil
		case *schemas.Compare:
			if !isMembersAttr(t.Path) {
				return t, nil
			}
			if t.Path.Attr.Canonical != "members.value" || t.Op != schemas.OpEq || t.Value.Kind != schemas.KindString {
				return nil, bad
			}
			ids = append(ids, t.Value.Str)
			return nil, nil
		case *schemas.ValuePath:
			if !isMembersAttr(t.Path) {
				return t, nil
			}
			if c, ok := t.Filter.(*schemas.Compare); ok && c.Path.Attr.Canonical == "members.value" && c.Op == schemas.OpEq && c.Value.Kind == schemas.KindString {
				ids = append(ids, c.Value.Str)
				return nil, nil
			}
			return nil, bad
		}
		if mentionsMembers(f) {
			return nil, bad
		}
		return f, nil
	}
	rest, err = walk(f)
	return ids, rest, err
}

// mentionsMembers reports whether a filter refers to a group's members.
func mentionsMembers(f schemas.Filter) bool {
	switch t := f.(type) {
	case *schemas.And:
		return mentionsMembers(t.Left) || mentionsMembers(t.Right)
	case *schemas.Or:
		return mentionsMembers(t.Left) || mentionsMembers(t.Right)
	case *schemas.Not:
		return mentionsMembers(t.X)
	case *schemas.Compare:
		return isMembersAttr(t.Path)
	case *schemas.ValuePath:
		return isMembersAttr(t.Path)
	}
	return false
}

// UpdateGroup applies apply to a group under compare-and-swap (apply may run
// more than once and must have no side effects): PatchGroup without
// membership operations, with ifVersion (0: any) as its If-Match.
func (s *Service) UpdateGroup(ctx context.Context, p Principal, id string, ifVersion int64, apply func(g *schemas.Group) error) (*schemas.Group, error) {
	ch := GroupPatch{Apply: apply}
	if ifVersion != 0 {
		ch.Check = func(v int64) error {
			if v != ifVersion {
				return translate(storage.ErrVersionMismatch, "group")
			}
			return nil
		}
	}
	return s.PatchGroup(ctx, p, id, ch)
}

// DeleteGroup deletes a group; its members stay, without the membership. Only admins may.
func (s *Service) DeleteGroup(ctx context.Context, p Principal, id string) error {
	if !p.manages() {
		return forbiddenToManage
	}
	if !p.managesTenant() {
		return errGroupAdminOnly
	}
	if err := s.store.DeleteGroup(ctx, id, s.event(p, ActionDeleteGroup, TargetGroup, id, nil)); err != nil {
		return translate(err, "group")
	}
	return nil
}

// AddMembers adds users to a group (idempotent): PatchGroup with one "add".
// Nothing changes when one of them does not exist or is not visible to p,
// and nothing is written (no new version, no event) when all of them
// already are members.
func (s *Service) AddMembers(ctx context.Context, p Principal, groupID string, userIDs []string) error {
	_, err := s.PatchGroup(ctx, p, groupID, GroupPatch{Members: []MemberOp{{Op: "add", IDs: userIDs}}})
	return err
}

// membershipChanges returns, in order and once each, the users among ids
// whose membership of the group an add (add true) or a remove would change.
// For an add every user must exist and be visible to p (KindNotFound
// otherwise; a group's id is KindInvalid, whatever type the client gave it:
// groups do not nest); a remove ignores users p cannot see.
func (s *Service) membershipChanges(ctx context.Context, p Principal, groupID string, ids []string, add bool) ([]string, error) {
	out := ids[:0:0]
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := s.GetUser(ctx, p, id)
		if err != nil {
			if add {
				if KindOf(err) == KindNotFound {
					if _, gerr := s.store.GetGroup(ctx, id); gerr == nil {
						return nil, FieldError(KindInvalid, "members", "%q is a group: groups cannot be members of groups", id)
					}
					return nil, FieldError(KindNotFound, "members", "member user %q not found", id)
				}
				return nil, err
			}
			continue
		}
		if u.InGroup(groupID) != add {
			out = append(out, id)
		}
	}
	return out, nil
}

// RemoveMembers removes users from a group (PatchGroup with one "remove");
// users that are not members are ignored. An app caller can remove only its
// own users.
func (s *Service) RemoveMembers(ctx context.Context, p Principal, groupID string, userIDs []string) error {
	_, err := s.PatchGroup(ctx, p, groupID, GroupPatch{Members: []MemberOp{{Op: "remove", IDs: userIDs}}})
	return err
}

// ReplaceMembers makes the group's members exactly userIDs (PatchGroup with
// one "replace"; for an app caller, as far as it can see: other apps' users
// stay). userIDs are at most MaxMembersPerRequest; the members it removes
// are not counted.
func (s *Service) ReplaceMembers(ctx context.Context, p Principal, groupID string, userIDs []string) error {
	_, err := s.PatchGroup(ctx, p, groupID, GroupPatch{Members: []MemberOp{{Op: "replace", IDs: userIDs}}})
	return err
}

// GroupMemberIDs returns the sorted ids of the group's members that p may see.
func (s *Service) GroupMemberIDs(ctx context.Context, p Principal, groupID string) ([]string, error) {
	if !p.reads() {
		return nil, forbiddenToRead
	}
	ids, err := s.store.GroupMemberIDs(ctx, groupID)
	if err != nil {
		return nil, translate(err, "group")
	}
	if p.Admin {
		return ids, nil
	}
	return s.visibleIDs(ctx, p, ids), nil
}

// GroupMembers returns the group's members that p may see, in id order,
// with their names (read without decoding the whole users, for a
// tenant-wide principal).
func (s *Service) GroupMembers(ctx context.Context, p Principal, groupID string) ([]storage.Member, error) {
	if !p.reads() {
		return nil, forbiddenToRead
	}
	ms, err := s.store.GroupMembers(ctx, groupID)
	if err != nil {
		return nil, translate(err, "group")
	}
	if p.Admin {
		return ms, nil
	}
	return slices.DeleteFunc(ms, func(m storage.Member) bool { return !s.sees(ctx, p, m.ID) }), nil
}

// UserGroups returns the groups a user is a direct member of.
func (s *Service) UserGroups(ctx context.Context, p Principal, userID string) ([]*schemas.Group, error) {
	u, err := s.GetUser(ctx, p, userID)
	if err != nil {
		return nil, err
	}
	groups := make([]*schemas.Group, 0, len(u.GroupIDs))
	for _, id := range u.GroupIDs {
		g, err := s.store.GetGroup(ctx, id)
		if err != nil {
			continue // deleted concurrently
		}
		groups = append(groups, g)
	}
	return groups, nil
}

func memberChange(removed, added []string) map[string]schemas.Change {
	return map[string]schemas.Change{"members": {Prev: removed, Current: added}}
}
