package scim

import (
	"github.com/scimd/scimd/schemas"
)

// patch serves PATCH /Users/{id} and /Groups/{id} and answers 200 with the
// resource (RFC 7644 §3.5.2; never an empty 200). The operations are applied
// by the schemas PATCH engine to the stored document inside the directory's
// compare-and-swap: no pre-read, no rendering, no second pass.
func (c *call) patch(rt schemas.ResourceType, id string) {
	body, err := c.decodeBody(0)
	if err != nil {
		c.fail(err)
		return
	}
	ops, err := decodePatch(body)
	if err != nil {
		c.fail(err)
		return
	}
	if rt == schemas.GroupResource {
		c.patchGroup(id, ops)
		return
	}
	// The password is found in the operations, so that the directory hashes
	// it before the update (never inside the store's writer).
	pw, err := schemas.SCIMPatchPassword(ops)
	if err != nil {
		c.fail(err)
		return
	}
	ctx, opts := c.r.Context(), c.opts()
	c.updateUser(id, pw, func(u *schemas.User) error {
		return schemas.PatchSCIMUser(ctx, u, ops, opts)
	})
}

// patchGroup applies a group PATCH: every operation is read first (the
// membership operations apart, see schemas.SplitSCIMGroupPatch), then the
// attribute operations under compare-and-swap (with If-Match), then the
// membership operations in order.
func (c *call) patchGroup(id string, ops []schemas.PatchOp) {
	ctx := c.r.Context()
	attrs, members, err := schemas.SplitSCIMGroupPatch(ops)
	if err != nil {
		c.fail(err)
		return
	}
	cond := c.ifMatch()
	if len(attrs) > 0 || cond.present {
		if _, err := c.h.svc.UpdateGroup(ctx, c.p, id, 0, func(g *schemas.Group) error {
			if err := cond.check(g.Version); err != nil {
				return err
			}
			return schemas.PatchSCIMGroup(ctx, g, attrs)
		}); err != nil {
			c.fail(err)
			return
		}
	}
	for _, m := range members {
		var err error
		switch m.Op {
		case "add":
			err = c.h.svc.AddMembers(ctx, c.p, id, m.IDs)
		case "remove":
			err = c.h.svc.RemoveMembers(ctx, c.p, id, m.IDs)
		case "replace":
			err = c.h.svc.ReplaceMembers(ctx, c.p, id, m.IDs)
		case "clear":
			err = c.h.svc.ReplaceMembers(ctx, c.p, id, nil)
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
	c.writeCurrentGroup(id)
}
