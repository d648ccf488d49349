package scim

import (
	"net/http"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/internal/wire"
)

// groupResource renders a group, with its members only when the projection
// asks for them (listing a 100,000-member group is not free).
// It is rendered when the projection keeps everything,
// else the projected map.
func (c *call) groupResource(g *schemas.Group, pr projection) (any, error) {
	var members []wire.SCIMMember
	if wantsMembers(pr) {
		var err error
		if members, err = c.members(g.ID); err != nil {
			return nil, err
		}
	}
	if pr.whole(schemas.GroupResource) {
		opts := c.opts()
		return rendered(func(dst []byte) ([]byte, error) { return wire.AppendSCIMGroup(dst, g, members, opts) }), nil
	}
	m, err := wire.SCIMGroup(g, members, c.opts())
	if err != nil {
		return nil, err
	}
	return projectSCIM(m, schemas.GroupResource, pr.attributes, pr.excluded), nil
}

// wantsMembers reports whether a projection returns Group.members.
func wantsMembers(pr projection) bool {
	isMembers := func(a string) bool {
		a = strings.ToLower(a)
		a = strings.TrimPrefix(a, strings.ToLower(schemas.GroupSchemaURN)+":")
		return a == "members" || strings.HasPrefix(a, "members.")
	}
	for _, a := range pr.excluded {
		if strings.EqualFold(strings.TrimPrefix(strings.ToLower(a), strings.ToLower(schemas.GroupSchemaURN)+":"), "members") {
			return false
		}
	}
	if len(pr.attributes) == 0 {
		return true
	}
	for _, a := range pr.attributes {
		if isMembers(a) {
			return true
		}
	}
	return false
}

// members lists a group's members visible to the caller, with display names.
func (c *call) members(groupID string) ([]wire.SCIMMember, error) {
	ctx := c.r.Context()
	ms, err := c.h.svc.GroupMembers(ctx, c.p, groupID)
	if err != nil {
		return nil, err
	}
	out := make([]wire.SCIMMember, 0, len(ms))
	for _, u := range ms {
		m := wire.SCIMMember{Value: u.ID, Type: "User", Display: u.DisplayName}
		if m.Display == "" {
			m.Display = u.UserName
		}
		out = append(out, m)
	}
	return out, nil
}

// writeGroup answers a group with its ETag.
func (c *call) writeGroup(status int, g *schemas.Group) {
	res, err := c.groupResource(g, c.queryProjection())
	if err != nil {
		c.fail(err)
		return
	}
	c.setETag(g.Version)
	if status == http.StatusCreated {
		c.w.Header().Set("Location", c.location(schemas.GroupResource, g.ID))
	}
	c.writeJSON(status, res)
}

// readGroup fills g from a POST or PUT body and reads its member ids.
func readGroup(g *schemas.Group, body map[string]any) ([]string, error) {
	if err := wire.ReplaceSCIMGroup(g, body); err != nil {
		return nil, err
	}
	return wire.MemberIDs(lookupFold(body, "members"))
}

// createGroup serves POST /Groups.
func (c *call) createGroup(body map[string]any) {
	g := &schemas.Group{}
	ids, err := readGroup(g, body)
	if err != nil {
		c.fail(err)
		return
	}
	created, err := c.h.svc.CreateGroup(c.r.Context(), c.p, g, ids)
	if err != nil {
		c.fail(err)
		return
	}
	if len(ids) > 0 { // membership bumped the version
		if created, err = c.h.svc.GetGroup(c.r.Context(), c.p, created.ID); err != nil {
			c.fail(err)
			return
		}
	}
	c.writeGroup(http.StatusCreated, created)
}

// groupForUpdate reads the group a delete is about and checks If-Match
// against it; ifv is the version the update must still find (0: any).
func (c *call) groupForUpdate(id string) (cur *schemas.Group, ifv int64, err error) {
	if cur, err = c.h.svc.GetGroup(c.r.Context(), c.p, id); err != nil {
		return nil, 0, err
	}
	ifv, err = c.ifVersion(cur.Version)
	return cur, ifv, err
}

// replaceGroup serves PUT /Groups/{id} as one directory operation (like a
// PATCH: everything checked before anything is written). Members are
// replaced when the body has a members attribute and left alone when it has
// none.
func (c *call) replaceGroup(id string, body map[string]any) {
	ids, err := readGroup(&schemas.Group{}, body)
	if err != nil {
		c.fail(err)
		return
	}
	ch := directory.GroupPatch{Apply: func(g *schemas.Group) error { return wire.ReplaceSCIMGroup(g, body) }}
	if cond := c.ifMatch(); cond.present {
		ch.Check = cond.check
	}
	if hasKeyFold(body, "members") {
		ch.Members = []directory.MemberOp{{Op: "replace", IDs: ids}}
	}
	g, err := c.h.svc.PatchGroup(c.r.Context(), c.p, id, ch)
	if err != nil {
		c.fail(err)
		return
	}
	c.writeGroup(http.StatusOK, g)
}
