package scim

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/internal/wire"
)

// projectedUser is a user as the caller sees it under a projection that
// does not keep it whole (!pr.whole): the rendered resource decoded and
// projected. A whole user is rendered straight into the body instead
// (writeUser, writeList).
func (c *call) projectedUser(u *schemas.User, pr projection) (map[string]any, error) {
	m, err := wire.SCIMUser(u, c.opts())
	if err != nil {
		return nil, err
	}
	return projectSCIM(m, schemas.UserResource, pr.attributes, pr.excluded), nil
}

// location is the absolute URL of a resource (meta.location and Location).
func (c *call) location(rt schemas.ResourceType, id string) string {
	return c.baseURL() + endpointOf(rt) + "/" + url.PathEscape(id)
}

// writeUser answers a user with its ETag.
func (c *call) writeUser(status int, u *schemas.User) {
	c.setETag(u.Version)
	if status == http.StatusCreated {
		c.w.Header().Set("Location", c.location(schemas.UserResource, u.ID))
	}
	pr := c.queryProjection()
	if pr.whole(schemas.UserResource) { // rendered into the body, without a closure boxed as a value
		opts := c.opts()
		c.writeBody(status, func(dst []byte) ([]byte, error) { return wire.AppendSCIMUser(dst, u, opts) })
		return
	}
	res, err := c.projectedUser(u, pr)
	if err != nil {
		c.fail(err)
		return
	}
	c.writeJSON(status, res)
}

func passwordInput(pw *string) *directory.PasswordInput {
	if pw == nil {
		return nil
	}
	return &directory.PasswordInput{Password: *pw}
}

// createPassword is the password a create sets: password, or Transmit's
// hashed_password (on both bases) — a hash string in a format scimd verifies
// (bcrypt, argon2id, scrypt, PBKDF2-SHA256, salted SHA-256), or an object
// {password: <that hash>, algorithm, salt}; the directory checks it (an
// unsupported algorithm or hash is 400, never dropped). The salt of the
// object form must be the one inside the hash (every accepted format
// carries its salt).
func createPassword(pw *string, body map[string]any) (*directory.PasswordInput, error) {
	raw, ok := findFold(body, "hashed_password")
	if !ok || body[raw] == nil {
		return passwordInput(pw), nil
	}
	in := &directory.PasswordInput{}
	if pw != nil {
		in.Password = *pw
	}
	switch v := body[raw].(type) {
	case string:
		in.Hash = v
	case map[string]any:
		for k, x := range v {
			s, isStr := x.(string)
			if !isStr && x != nil {
				return nil, invalidValue("hashed_password.%s must be a string", k)
			}
			switch strings.ToLower(k) {
			case "password", "hash", "value":
				in.Hash = s
			case "algorithm":
				in.Algorithm = s
			case "salt":
				// carried inside the hash in every accepted format
			default:
				return nil, invalidValue("hashed_password has no attribute %q (password, algorithm, salt)", k)
			}
		}
	default:
		return nil, invalidValue("hashed_password must be a hash string or an object {password, algorithm, salt}")
	}
	if in.Hash == "" {
		return nil, invalidValue("hashed_password has no hash")
	}
	return in, nil
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
	u, in, err := c.userToCreate(body)
	if err != nil {
		c.fail(err)
		return
	}
	created, err := c.h.svc.ProvisionUser(c.r.Context(), c.p, u, in)
	if err != nil {
		c.fail(err)
		return
	}
	c.writeUser(http.StatusCreated, created)
}

// userToCreate reads the user and password of a POST /Users body.
func (c *call) userToCreate(body map[string]any) (*schemas.User, *directory.PasswordInput, error) {
	u, pw, err := wire.NewSCIMUser(body, c.opts())
	if err != nil {
		return nil, nil, err
	}
	in, err := createPassword(pw, body)
	if err != nil {
		return nil, nil, err
	}
	return u, in, nil
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
// outside SCIM is kept), under If-Match; on a base with mergePUT (/cis/scim)
// a user PUT is Transmit's merge (wire.SCIMUserBody.Merge) instead.
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
	merge := c.sem().mergePUT
	// Read and checked once, before the user is: a bad body is 400 whatever
	// the user's state; writing it to the user (per CAS attempt) cannot fail.
	in, err := wire.ReadSCIMUser(body, c.opts(), !merge)
	if err != nil {
		c.fail(err)
		return
	}
	c.updateUser(id, in.Password(), func(u *schemas.User) error {
		if merge {
			in.Merge(u)
		} else {
			in.Replace(u)
		}
		return nil
	})
}

// findFold returns the key of m equal to k ignoring case.
func findFold(m map[string]any, k string) (string, bool) {
	if _, ok := m[k]; ok {
		return k, true
	}
	for mk := range m {
		if strings.EqualFold(mk, k) {
			return mk, true
		}
	}
	return "", false
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
	ch := directory.UserChange{Password: passwordInput(pw), Apply: apply}
	if cond := c.ifMatch(); cond.present {
		ch.Apply = func(u *schemas.User) error {
			if err := cond.check(u.Version); err != nil {
				return err
			}
			return apply(u)
		}
	}
	updated, err := c.h.svc.UpdateUser(c.r.Context(), c.p, id, 0, ch)
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
