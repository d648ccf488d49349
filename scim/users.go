package scim

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

// userResource renders a user as the caller sees it, projected.
func (c *call) userResource(u *schemas.User, pr projection) map[string]any {
	return schemas.ProjectSCIM(schemas.SCIMUser(u, c.opts()), schemas.UserResource, pr.attributes, pr.excluded)
}

// location is the absolute URL of a resource (meta.location and Location).
func (c *call) location(rt schemas.ResourceType, id string) string {
	return c.baseURL() + endpointOf(rt) + "/" + url.PathEscape(id)
}

// writeUser answers a user with its ETag.
func (c *call) writeUser(status int, u *schemas.User) {
	c.w.Header().Set("ETag", etagOf(u.Version))
	if status == http.StatusCreated {
		c.w.Header().Set("Location", c.location(schemas.UserResource, u.ID))
	}
	c.writeJSON(status, c.userResource(u, c.queryProjection()))
}

func passwordInput(pw *string) *directory.PasswordInput {
	if pw == nil {
		return nil
	}
	return &directory.PasswordInput{Password: *pw}
}

// create serves POST /Users and POST /Groups.
func (c *call) create(rt schemas.ResourceType) {
	body, err := c.decodeBody(0)
	if err != nil {
		c.fail(err)
		return
	}
	if rt == schemas.GroupResource {
		c.createGroup(body)
		return
	}
	if err := schemas.CheckSCIMRequired(body); err != nil {
		c.fail(err)
		return
	}
	u := &schemas.User{}
	pw, err := schemas.ReplaceSCIMUser(u, body, c.opts())
	if err != nil {
		c.fail(err)
		return
	}
	created, err := c.h.svc.ProvisionUser(c.r.Context(), c.p, u, passwordInput(pw))
	if err != nil {
		c.fail(err)
		return
	}
	c.writeUser(http.StatusCreated, created)
}

// get serves GET /Users/{id} and /Groups/{id}, honouring If-None-Match.
func (c *call) get(rt schemas.ResourceType, id string) {
	ctx := c.r.Context()
	if rt == schemas.GroupResource {
		g, err := c.h.svc.GetGroup(ctx, c.p, id)
		if err != nil {
			c.fail(err)
			return
		}
		if !c.notModified(g.Version) {
			c.writeGroup(http.StatusOK, g)
		}
		return
	}
	u, err := c.h.svc.GetUser(ctx, c.p, id)
	if err != nil {
		c.fail(err)
		return
	}
	if !c.notModified(u.Version) {
		c.writeUser(http.StatusOK, u)
	}
}

// replace serves PUT /Users/{id} and /Groups/{id}: an RFC 7644 §3.5.1
// replacement of the SCIM-owned attributes (read-only ones are ignored; data
// outside SCIM is kept), under If-Match.
func (c *call) replace(rt schemas.ResourceType, id string) {
	body, err := c.decodeBody(0)
	if err != nil {
		c.fail(err)
		return
	}
	if rt == schemas.GroupResource {
		c.replaceGroup(id, body)
		return
	}
	if err := schemas.CheckSCIMRequired(body); err != nil {
		c.fail(err)
		return
	}
	opts := c.opts()
	pw, err := schemas.ReplaceSCIMUser(&schemas.User{}, body, opts) // validates; the password does not depend on the user
	if err != nil {
		c.fail(err)
		return
	}
	c.updateUser(id, pw, func(u *schemas.User) error {
		_, err := schemas.ReplaceSCIMUser(u, body, opts)
		return err
	})
}

// userForUpdate reads the user a delete is about and checks If-Match
// against it; ifv is the version the delete must still find (0: any).
func (c *call) userForUpdate(id string) (cur *schemas.User, ifv int64, err error) {
	if cur, err = c.h.svc.GetUser(c.r.Context(), c.p, id); err != nil {
		return nil, 0, err
	}
	ifv, err = c.ifVersion(cur.Version)
	return cur, ifv, err
}

// updateUser stores apply's change of the user under compare-and-swap, with
// If-Match checked on the version the update finds, and answers 200 with the
// result; pw is the password the request sets, which the directory hashes
// before the update.
func (c *call) updateUser(id string, pw *string, apply func(*schemas.User) error) {
	cond := c.ifMatch()
	updated, err := c.h.svc.UpdateUser(c.r.Context(), c.p, id, 0, directory.UserChange{
		Password: passwordInput(pw),
		Apply: func(u *schemas.User) error {
			if err := cond.check(u.Version); err != nil {
				return err
			}
			return apply(u)
		},
	})
	if err != nil {
		c.fail(err)
		return
	}
	c.writeUser(http.StatusOK, updated)
}

// deleteResource deletes a user or group for the library's DELETE handler.
// An admin deletes a user from the tenant; an application (or an API token
// bound to one) removes the user from that application only.
func (c *call) deleteResource(rt schemas.ResourceType, id string) error {
	ctx := c.r.Context()
	if rt == schemas.GroupResource {
		if c.hasIfMatch() {
			if _, _, err := c.groupForUpdate(id); err != nil {
				return err
			}
		}
		return c.h.svc.DeleteGroup(ctx, c.p, id)
	}
	if c.hasIfMatch() {
		if _, _, err := c.userForUpdate(id); err != nil {
			return err
		}
	}
	if !c.p.Admin && c.p.AppID != "" && c.p.UserID == "" {
		return c.h.svc.RemoveUserFromApp(ctx, c.p, id)
	}
	return c.h.svc.DeleteUser(ctx, c.p, id)
}

// lookupFold returns the value of a key matched case-insensitively (RFC 7643 §2.1).
func lookupFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// hasKeyFold reports whether m has key, matched case-insensitively.
func hasKeyFold(m map[string]any, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}
