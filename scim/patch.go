package scim

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// patch serves PATCH /Users/{id} and /Groups/{id} and answers 200 with the
// resource (RFC 7644 §3.5.2; never an empty 200).
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
	c.patchUser(id, ops)
}

// patchUser applies the operations to the user's SCIM document and stores it
// back through schemas.ReplaceSCIMUser, atomically (compare-and-swap).
func (c *call) patchUser(id string, ops []patchOp) {
	cur, ifv, err := c.userForUpdate(id)
	if err != nil {
		c.fail(err)
		return
	}
	opts := c.opts()
	run := func(u *schemas.User) (*string, error) {
		doc, err := toDoc(schemas.SCIMUser(u, opts))
		if err != nil {
			return nil, err
		}
		pt := &patcher{rs: userSchemas, appID: opts.AppID, doc: doc}
		for _, o := range ops {
			if err := pt.apply(o); err != nil {
				return nil, err
			}
		}
		return schemas.ReplaceSCIMUser(u, pt.doc, opts)
	}
	// A dry run on the copy read above reports bad operations before any
	// write and yields the password, which the directory hashes up front.
	pw, err := run(cur.Clone())
	if err != nil {
		c.fail(err)
		return
	}
	c.updateUser(id, ifv, pw, run)
}

// memberOp is a membership change of a group PATCH, applied through the
// directory's membership operations (never by materialising the member list).
type memberOp struct {
	kind string // add, remove, replace, clear
	ids  []string
}

// patchGroup applies a group PATCH: attribute operations on the group's small
// document (through schemas.ReplaceSCIMGroup, under compare-and-swap), then
// membership operations in order through AddMembers / RemoveMembers /
// ReplaceMembers.
func (c *call) patchGroup(id string, ops []patchOp) {
	ctx := c.r.Context()
	cur, ifv, err := c.groupForUpdate(id)
	if err != nil {
		c.fail(err)
		return
	}
	var attrOps []patchOp
	var members []memberOp
	for _, o := range ops {
		ao, mo, err := splitMemberOp(o)
		if err != nil {
			c.fail(err)
			return
		}
		if mo != nil {
			members = append(members, *mo)
		}
		if ao != nil {
			attrOps = append(attrOps, *ao)
		}
	}
	opts := c.opts()
	run := func(g *schemas.Group) error {
		doc, err := toDoc(schemas.SCIMGroup(g, nil, opts))
		if err != nil {
			return err
		}
		pt := &patcher{rs: groupSchemas, appID: opts.AppID, doc: doc}
		for _, o := range attrOps {
			if err := pt.apply(o); err != nil {
				return err
			}
		}
		return schemas.ReplaceSCIMGroup(g, pt.doc)
	}
	if len(attrOps) > 0 {
		if err := run(cur.Clone()); err != nil {
			c.fail(err)
			return
		}
		if _, err := c.h.svc.UpdateGroup(ctx, c.p, id, ifv, run); err != nil {
			c.fail(err)
			return
		}
	}
	for _, m := range members {
		var err error
		switch m.kind {
		case "add":
			err = c.h.svc.AddMembers(ctx, c.p, id, m.ids)
		case "remove":
			err = c.h.svc.RemoveMembers(ctx, c.p, id, m.ids)
		case "replace":
			err = c.h.svc.ReplaceMembers(ctx, c.p, id, m.ids)
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

// splitMemberOp separates the membership part of a group operation from the
// rest: path "members" (with a value list: Entra's remove of only those
// members; without: RFC remove of all), "members[value eq …]" filters, and
// a members key inside a path-less value (Okta).
func splitMemberOp(o patchOp) (attrs *patchOp, members *memberOp, err error) {
	if o.path == "" {
		value := o.value.(map[string]any)
		rest := map[string]any{}
		var mv any
		found := false
		for k, v := range value {
			name := strings.TrimPrefix(strings.ToLower(k), strings.ToLower(schemas.GroupSchemaURN)+":")
			if name == "members" {
				mv, found = v, true
				continue
			}
			rest[k] = v
		}
		if found {
			ids, err := memberIDs(mv)
			if err != nil {
				return nil, nil, err
			}
			members = &memberOp{kind: o.op, ids: ids}
		}
		if len(rest) > 0 || !found {
			attrs = &patchOp{op: o.op, value: rest, hasValue: true}
		}
		return attrs, members, nil
	}
	path := o.path
	if len(path) > len(schemas.GroupSchemaURN) && strings.EqualFold(path[:len(schemas.GroupSchemaURN)+1], schemas.GroupSchemaURN+":") {
		path = path[len(schemas.GroupSchemaURN)+1:]
	}
	if len(path) < 7 || !strings.EqualFold(path[:7], "members") {
		return &o, nil, nil
	}
	tail := path[7:]
	switch {
	case tail == "":
		ids, err := memberIDs(o.value)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case o.op != "remove":
			return nil, &memberOp{kind: o.op, ids: ids}, nil
		case o.value == nil:
			return nil, &memberOp{kind: "clear"}, nil
		}
		return nil, &memberOp{kind: "remove", ids: ids}, nil
	case strings.HasPrefix(tail, "[") && strings.HasSuffix(tail, "]"):
		ids, err := memberFilterIDs(tail[1 : len(tail)-1])
		if err != nil {
			return nil, nil, err
		}
		if o.op != "remove" {
			return nil, nil, invalidPath("a members value filter is only supported by remove")
		}
		return nil, &memberOp{kind: "remove", ids: ids}, nil
	}
	return nil, nil, invalidPath("unsupported members path %q", o.path)
}

var (
	memberTerm = regexp.MustCompile(`(?i)value\s+eq\s+("(?:[^"\\]|\\.)*")`)
	memberGlue = regexp.MustCompile(`(?i)^[\s()]*(or[\s()]+)?$`)
)

// memberFilterIDs reads the member ids of a members value filter: value eq
// "id" terms joined by or.
func memberFilterIDs(f string) ([]string, error) {
	locs := memberTerm.FindAllStringSubmatchIndex(f, -1)
	if len(locs) == 0 {
		return nil, invalidFilter("a members filter must be value eq \"<id>\" (joined by or)")
	}
	var ids []string
	prev := 0
	for i, l := range locs {
		glue := f[prev:l[0]]
		if i == 0 && strings.Trim(glue, " ()") != "" || i > 0 && !memberGlue.MatchString(glue) {
			return nil, invalidFilter("a members filter must be value eq \"<id>\" (joined by or)")
		}
		id, err := strconv.Unquote(f[l[2]:l[3]])
		if err != nil {
			return nil, invalidFilter("invalid string in members filter")
		}
		ids = append(ids, id)
		prev = l[1]
	}
	if strings.Trim(f[prev:], " ()") != "" {
		return nil, invalidFilter("a members filter must be value eq \"<id>\" (joined by or)")
	}
	return ids, nil
}
