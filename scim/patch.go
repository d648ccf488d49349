package scim

import (
	"net/http"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/internal/wire"
)

// patch serves PATCH /Users/{id} and /Groups/{id} and answers 200 with the
// resource (RFC 7644 §3.5.2; never an empty 200). The operations are applied
// by the schemas PATCH engine to the stored document inside the directory's
// compare-and-swap: no pre-read, no rendering, no second pass.
func (c *call) patch(rt schemas.ResourceType, id string) {
	raw, err := c.readBody(0)
	if err != nil {
		c.fail(err)
		return
	}
	ops, err := readPatch(raw)
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
	pw, err := wire.SCIMPatchPassword(ops)
	if err != nil {
		c.fail(err)
		return
	}
	ctx, opts := c.r.Context(), c.opts()
	c.updateUser(id, pw, func(u *schemas.User) error {
		return wire.PatchSCIMUser(ctx, u, ops, opts)
	})
}

// patchGroup applies a group PATCH as one directory operation: every
// operation is read first (the membership operations apart, see
// wire.SplitSCIMGroupPatch) and the directory checks them all before it
// writes anything; If-Match is a predicate on the version the update finds.
func (c *call) patchGroup(id string, ops []wire.PatchOp) {
	ctx := c.r.Context()
	attrs, members, err := wire.SplitSCIMGroupPatch(ops)
	if err != nil {
		c.fail(err)
		return
	}
	ch := directory.GroupPatch{Members: members}
	if cond := c.ifMatch(); cond.present {
		ch.Check = cond.check
	}
	if len(attrs) > 0 {
		ch.Apply = func(g *schemas.Group) error { return wire.PatchSCIMGroup(ctx, g, attrs) }
	}
	g, err := c.h.svc.PatchGroup(ctx, c.p, id, ch)
	if err != nil {
		c.fail(err)
		return
	}
	c.writeGroup(http.StatusOK, g)
}
