package portal

import (
	"net/http"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

var scimGroups = schemas.ParseOptions{Resource: schemas.GroupResource, Dialect: schemas.SCIMDialect}

type groupsData struct {
	Q     string
	Pager pager
	Items []*schemas.Group
}

func strCompare(path string, opt schemas.ParseOptions, op schemas.Op, v string) (schemas.Filter, error) {
	p, err := schemas.ParsePath(path, opt)
	if err != nil {
		return nil, err
	}
	return &schemas.Compare{Path: p, Op: op, Value: schemas.Value{Kind: schemas.KindString, Str: v}}, nil
}

func (h *Handler) groups(c *call) {
	d := &groupsData{Q: strings.TrimSpace(c.r.URL.Query().Get("q"))}
	page, per := pageParams(c, 25)
	q := storage.Query{Offset: (page - 1) * per, Limit: per}
	if d.Q != "" {
		f, err := strCompare("displayName", scimGroups, schemas.OpSw, d.Q)
		if err != nil {
			h.fail(c, err)
			return
		}
		q.Filter = f
	}
	if path, err := schemas.ParsePath("displayName", scimGroups); err == nil {
		q.Sort = &schemas.SortKey{Path: path}
	}
	res, err := h.svc.ListGroups(c.r.Context(), c.p, q)
	if err != nil {
		h.fail(c, err)
		return
	}
	d.Items, d.Pager = res.Items, newPager(page, per, res.Total)
	h.render(c, http.StatusOK, "groups", &view{Title: "Groups", Nav: "groups", Data: d})
}

func (h *Handler) createGroup(c *call) {
	f := c.r.PostForm
	g := &schemas.Group{DisplayName: strings.TrimSpace(f.Get("name")), Description: strings.TrimSpace(f.Get("description"))}
	if g.DisplayName == "" {
		h.formError(c, "groups", &view{Title: "Groups", Nav: "groups", Data: &groupsData{}},
			directory.FieldError(directory.KindInvalid, "name", "a group needs a name"))
		return
	}
	created, err := h.svc.CreateGroup(c.r.Context(), c.p, g, nil)
	if err != nil {
		if directory.KindOf(err) == directory.KindConflict {
			err = directory.FieldError(directory.KindConflict, "name", "a group with this name already exists")
		}
		h.formError(c, "groups", &view{Title: "Groups", Nav: "groups", Data: &groupsData{}}, err)
		return
	}
	c.done(h, "/portal/groups/"+created.ID, "Group created.")
}

// groupByName resolves what an administrator typed to a group id: a group's
// exact name (case-insensitive), or its id.
func (h *Handler) groupByName(c *call, name string) (string, error) {
	if name == "" {
		return "", directory.FieldError(directory.KindInvalid, "group", "type the name of a group")
	}
	f, err := strCompare("displayName", scimGroups, schemas.OpEq, name)
	if err != nil {
		return "", err
	}
	res, err := h.svc.ListGroups(c.r.Context(), c.p, storage.Query{Filter: f, Limit: 1})
	if err != nil {
		return "", err
	}
	if len(res.Items) == 1 {
		return res.Items[0].ID, nil
	}
	if g, err := h.svc.GetGroup(c.r.Context(), c.p, name); err == nil {
		return g.ID, nil
	}
	return "", directory.FieldError(directory.KindNotFound, "group", "there is no group named %q", name)
}

type groupData struct {
	G       *schemas.Group
	Pager   pager
	Members []userRow
	Events  []eventRow
}

// memberQuery selects the members of a group: the membership is stored on
// the users, so a page of members is one indexed query, not a read per member.
func memberQuery(groupID string) (schemas.Filter, error) {
	return strCompare("groups.value", scimUsers, schemas.OpEq, groupID)
}

func (h *Handler) groupPage(c *call, id string) (*view, error) {
	ctx := c.r.Context()
	g, err := h.svc.GetGroup(ctx, c.p, id)
	if err != nil {
		return nil, err
	}
	d := &groupData{G: g}
	page, per := pageParams(c, 25)
	f, err := memberQuery(id)
	if err != nil {
		return nil, err
	}
	res, err := h.svc.ListUsers(ctx, c.p, storage.Query{Filter: f, Offset: (page - 1) * per, Limit: per})
	if err != nil {
		return nil, err
	}
	d.Pager = newPager(page, per, res.Total)
	for _, u := range res.Items {
		d.Members = append(d.Members, rowOf(u))
	}
	ev, err := h.svc.ListEvents(ctx, c.p, storage.EventQuery{TargetID: id, Limit: 10})
	if err != nil {
		return nil, err
	}
	d.Events = eventRows(ev.Items)
	return &view{Title: g.DisplayName + " · Group", Nav: "groups", Data: d}, nil
}

func (h *Handler) group(c *call) {
	v, err := h.groupPage(c, c.r.PathValue("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "group", v)
}

// userByIdentifier finds a user by email, username, phone number or id.
func (h *Handler) userByIdentifier(c *call, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", directory.FieldError(directory.KindInvalid, "member", "type an email address, username or phone number")
	}
	for _, field := range []string{storage.FieldEmail, storage.FieldUserName, storage.FieldPhoneNumber} {
		if u, err := h.svc.FindUser(c.r.Context(), c.p, field, s); err == nil {
			return u.ID, nil
		}
	}
	if u, err := h.svc.GetUser(c.r.Context(), c.p, s); err == nil {
		return u.ID, nil
	}
	return "", directory.FieldError(directory.KindNotFound, "member", "no user has the email address, username or phone number %q", s)
}

func (h *Handler) groupAction(c *call) {
	ctx, id, f := c.r.Context(), c.r.PathValue("id"), c.r.PostForm
	var msg string
	var err error
	switch c.r.PathValue("action") {
	case "edit":
		name, desc := strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("description"))
		if name == "" {
			err = directory.FieldError(directory.KindInvalid, "name", "a group needs a name")
			break
		}
		_, err = h.svc.UpdateGroup(ctx, c.p, id, 0, func(g *schemas.Group) error {
			g.DisplayName, g.Description = name, desc
			return nil
		})
		if directory.KindOf(err) == directory.KindConflict {
			err = directory.FieldError(directory.KindConflict, "name", "a group with this name already exists")
		}
		msg = "Group saved."
	case "add-member":
		uid, uerr := h.userByIdentifier(c, f.Get("member"))
		if uerr != nil {
			err = uerr
			break
		}
		err = h.svc.AddMembers(ctx, c.p, id, []string{uid})
		msg = "Member added."
	case "remove-member":
		err = h.svc.RemoveMembers(ctx, c.p, id, []string{f.Get("user_id")})
		msg = "Member removed."
	case "delete":
		g, gerr := h.svc.GetGroup(ctx, c.p, id)
		if gerr != nil {
			err = gerr
			break
		}
		if !strings.EqualFold(strings.TrimSpace(f.Get("confirm")), g.DisplayName) {
			err = directory.FieldError(directory.KindInvalid, "confirm", "type the group's name, %s, to confirm the deletion", g.DisplayName)
			break
		}
		if err = h.svc.DeleteGroup(ctx, c.p, id); err == nil {
			c.done(h, "/portal/groups", "Group "+g.DisplayName+" deleted.")
			return
		}
	default:
		h.errorPage(c, http.StatusNotFound, "There is no such action.")
		return
	}
	h.actionDone(c, err, "group", h.groupPage, id, "/portal/groups/"+id, msg)
}
