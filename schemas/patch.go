package schemas

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
)

// MaxValues caps the elements of one multi-valued attribute of a stored
// user. The PATCH engine stops at it as soon as an operation would pass it
// (before converting the values), so that no body costs more than a pass
// over its values.
const MaxValues = 100

// MaxPatchWork bounds the element comparisons one PATCH may make: each
// operation on a multi-valued complex attribute costs one unit per element it
// visits per value-filter term, plus one per element per value it adds or
// removes. A client's PATCH (a few operations on attributes of at most
// MaxValues elements) costs a few thousand units; the bound keeps a body
// full of long value filters, each tested against every element, well under
// a second, and a PATCH that passes it is refused (PatchTooComplex).
const MaxPatchWork = 1_000_000

// PatchOp is one operation of a SCIM PATCH request (RFC 7644 §3.5.2).
type PatchOp struct {
	Op       string // "add", "remove" or "replace"
	Path     string // "" when the operation has none
	Value    any    // decoded JSON (numbers may be json.Number)
	HasValue bool   // distinguishes an absent value from a JSON null
}

// PatchErrorKind says why a PATCH operation cannot apply (the SCIM scimType).
type PatchErrorKind uint8

// PATCH error kinds.
const (
	PatchInvalidPath PatchErrorKind = iota + 1 // the path is malformed or names nothing known
	PatchNoTarget                              // the path's value filter selects nothing
	PatchMutability                            // the operation would change a read-only or required attribute
	PatchTooComplex                            // the PATCH would do more work than MaxPatchWork
)

// PatchError is an operation of a PATCH that the resource cannot take. Bad
// values are *ValueError and bad value filters *FilterError instead.
type PatchError struct {
	Kind   PatchErrorKind
	Reason string
}

func (e *PatchError) Error() string { return e.Reason }

func patchErr(k PatchErrorKind, format string, args ...any) *PatchError {
	return &PatchError{Kind: k, Reason: fmt.Sprintf(format, args...)}
}

// patchTarget is a PATCH path resolved through the catalog.
type patchTarget struct {
	name   string     // the path as written, for messages
	ext    string     // a whole extension (attr is nil)
	attr   *Attribute // the top-level attribute
	filter Filter     // the value filter, on attr's elements
	sub    *Attribute // the sub-attribute, or nil
	keys   []string   // keys below a free-form JSON attribute
}

// resolvePatchPath resolves a PATCH path (RFC 7644 §3.5.2 PATH: attrPath or
// valuePath [ "." subAttr ], with optional schema URN) on catalog c.
func resolvePatchPath(c *catalog, path, appID string) (patchTarget, error) {
	t := patchTarget{name: path}
	opt := ParseOptions{Resource: c.resource, Dialect: SCIMDialect, AppID: appID}
	if i := strings.IndexByte(path, '['); i >= 0 {
		end := closingBracket(path, i)
		if end < 0 {
			return t, patchErr(PatchInvalidPath, "unbalanced [ in path %q", path)
		}
		subName, hasSub := "", false
		if rest := path[end+1:]; rest != "" {
			if rest[0] != '.' || len(rest) == 1 || strings.ContainsAny(rest[1:], ".[]") {
				return t, patchErr(PatchInvalidPath, "invalid path %q", path)
			}
			subName, hasSub = rest[1:], true
		}
		f, err := parseFilter(path[:end+1], opt, true)
		if err != nil {
			return t, err
		}
		vp, ok := f.(*ValuePath)
		if !ok {
			return t, patchErr(PatchInvalidPath, "invalid value filter in path %q", path)
		}
		t.attr, t.filter = vp.Path.Attr, vp.Filter
		if !t.attr.MultiValued {
			return t, patchErr(PatchInvalidPath, "%s is not multi-valued: it cannot have a value filter", t.attr.Name)
		}
		if hasSub {
			if t.sub = scimSub(t.attr, subName); t.sub == nil {
				return t, patchErr(PatchInvalidPath, "unknown sub-attribute %q of %s", subName, t.attr.Name)
			}
		}
		return t, nil
	}
	if IsURN(path) {
		for _, urn := range c.order {
			if strings.EqualFold(path, urn) {
				if urn == c.order[0] {
					return t, patchErr(PatchInvalidPath, "path %q names no attribute", path)
				}
				t.ext = urn
				return t, nil
			}
		}
	}
	p, reason := resolveName(c, path, opt, false)
	if reason != "" {
		return t, patchErr(PatchInvalidPath, "%s in path %q", reason, path)
	}
	switch {
	case p.Attr.Type == TypeJSON:
		t.attr, t.keys = p.Attr, p.Keys
	case p.Parent != nil:
		t.attr, t.sub = p.Parent, p.Attr
	default:
		t.attr = p.Attr
	}
	if t.attr.acc.internal && t.attr.Type != TypeJSON || t.sub != nil && t.sub.acc.internal {
		return t, patchErr(PatchInvalidPath, "unknown attribute in path %q", path)
	}
	return t, nil
}

// scimSub finds a SCIM sub-attribute by name, case-insensitively.
func scimSub(a *Attribute, name string) *Attribute {
	s := FindAttribute(a.SubAttributes, name)
	if s == nil || s.acc.internal {
		return nil
	}
	return s
}

// closingBracket finds the ] that closes the [ at open, skipping quoted strings.
func closingBracket(s string, open int) int {
	inStr := false
	for i := open + 1; i < len(s); i++ {
		switch {
		case inStr && s[i] == '\\':
			i++
		case s[i] == '"':
			inStr = !inStr
		case !inStr && s[i] == ']':
			return i
		}
	}
	return -1
}

// SCIMPatchPassword returns the password a PATCH sets (the last one given),
// found without a document so that it can be hashed before the update runs:
// an add or replace of "password" (or its URN form), or a "password" key in a
// path-less value or in its core schema container. A null password sets none.
func SCIMPatchPassword(ops []PatchOp) (*string, error) {
	var pw *string
	take := func(v any, path string) error {
		if v == nil {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return valueErr(path, "expected a string, not %s", jsonTypeName(v))
		}
		pw = &s
		return nil
	}
	isPassword := func(p string) bool {
		return strings.EqualFold(p, "password") || strings.EqualFold(p, UserSchemaURN+":password")
	}
	for _, op := range ops {
		if op.Op == "remove" {
			continue
		}
		if op.Path != "" {
			if isPassword(op.Path) {
				if err := take(op.Value, op.Path); err != nil {
					return nil, err
				}
			}
			continue
		}
		m, _ := op.Value.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			switch {
			case isPassword(k):
				if err := take(m[k], k); err != nil {
					return nil, err
				}
			case strings.EqualFold(k, UserSchemaURN):
				inner, _ := m[k].(map[string]any)
				for _, k2 := range slices.Sorted(maps.Keys(inner)) {
					if strings.EqualFold(k2, "password") {
						if err := take(inner[k2], k+":"+k2); err != nil {
							return nil, err
						}
					}
				}
			}
		}
	}
	return pw, nil
}

// patcher applies PATCH operations to one document (a *User or *Group).
type patcher struct {
	c    *catalog
	doc  any
	u    *User // doc, when it is a user
	o    SCIMOptions
	now  time.Time
	work int // units spent, see MaxPatchWork
}

// charge spends the work an operation on the multi-valued complex
// attribute a will do, before it does it.
func (pt *patcher) charge(t patchTarget, v any) error {
	n := pt.count(t.attr) + 1
	cost := n * (1 + filterTerms(t.filter))
	if list, ok := v.([]any); ok {
		cost += len(list) * n
	}
	if pt.work += cost; pt.work > MaxPatchWork {
		return patchErr(PatchTooComplex, "the PATCH compares more values than the server will (its value filters and value lists are too large for the attributes' elements)")
	}
	return nil
}

// filterTerms counts the comparisons of a filter (0 for nil).
func filterTerms(f Filter) int {
	switch n := f.(type) {
	case *And:
		return filterTerms(n.Left) + filterTerms(n.Right)
	case *Or:
		return filterTerms(n.Left) + filterTerms(n.Right)
	case *Not:
		return filterTerms(n.X)
	case *Compare, *ValuePath:
		return 1
	}
	return 0
}

// PatchSCIMUser applies PATCH operations to u, in order and all or nothing
// (on error u is unchanged), with the semantics of RFC 7644 §3.5.2 and the
// dialects of the identity providers (docs/scim.md): attribute names are
// case-insensitive; a path-less value holds paths as keys (simple, dotted,
// URN-qualified, or a schema URN holding an object); read-only attributes
// are refused unless a path-less value repeats their current value; a value
// filter selects elements with the filter evaluator (MatchUser's), and an add
// (or a replace whose filter pins a type) that selects nothing creates the
// element the filter's eq terms describe; adding elements already present
// changes nothing; at most one element stays primary; active follows
// ReplaceSCIMUser's rule; the password is skipped (see SCIMPatchPassword).
// userName cannot be removed or set empty.
//
// No operation does more than a pass over its own value and the
// attribute's current elements: a multi-valued attribute holding more than
// MaxValues elements ends the PATCH with a *ValueError before its values are
// converted. ctx is checked between operations.
//
// Errors are *PatchError, *ValueError or *FilterError (or ctx's error).
func PatchSCIMUser(ctx context.Context, u *User, ops []PatchOp, o SCIMOptions) error {
	w := u.Clone()
	pt := &patcher{c: userCatalog, doc: w, u: w, o: o, now: o.Now}
	if err := pt.run(ctx, ops); err != nil {
		return err
	}
	if e := w.Enterprise; e != nil {
		if e.Manager != nil && *e.Manager == (Manager{}) {
			e.Manager = nil
		}
		if *e == (EnterpriseUser{}) {
			w.Enterprise = nil
		}
	}
	*u = *w
	return nil
}

// MemberOp is one membership change of a group PATCH: "add" or "remove"
// of the listed user ids, "replace" (the members become IDs) or "clear"
// (every member is removed).
type MemberOp struct {
	Op  string
	IDs []string
}

// SplitSCIMGroupPatch separates the membership operations of a group PATCH
// (membership is stored on the users) from those on the group's own
// attributes, keeping each list's order: path "members" (a remove with a
// value list removes those members, without one all of them),
// `members[value eq "id" or …]` (remove only), and a members key in a
// path-less value (or in its core schema container). It reads nothing but
// the operations, so that a caller can check every member before writing.
func SplitSCIMGroupPatch(ops []PatchOp) (attrs []PatchOp, members []MemberOp, err error) {
	for _, op := range ops {
		if op.Path != "" {
			t, err := resolvePatchPath(groupCatalog, op.Path, "")
			if err != nil {
				return nil, nil, err
			}
			if t.attr == nil || t.attr.Canonical != "members" {
				attrs = append(attrs, op)
				continue
			}
			m, err := memberOp(op.Op, t, op.Value, op.HasValue)
			if err != nil {
				return nil, nil, err
			}
			members = append(members, m)
			continue
		}
		value, ok := op.Value.(map[string]any)
		if !ok {
			return nil, nil, valueErr("", "%s without a path needs an object value", op.Op)
		}
		rest, mv, found := splitMembersKey(value)
		if found {
			ids, err := MemberIDs(mv)
			if err != nil {
				return nil, nil, err
			}
			members = append(members, MemberOp{Op: op.Op, IDs: ids})
		}
		if len(rest) > 0 || !found {
			attrs = append(attrs, PatchOp{Op: op.Op, Value: rest, HasValue: true})
		}
	}
	return attrs, members, nil
}

// splitMembersKey takes the members key out of a path-less group value.
func splitMembersKey(value map[string]any) (rest map[string]any, members any, found bool) {
	rest = make(map[string]any, len(value))
	for k, v := range value {
		switch {
		case strings.EqualFold(k, "members") || strings.EqualFold(k, GroupSchemaURN+":members"):
			members, found = v, true
		case strings.EqualFold(k, GroupSchemaURN):
			if inner, ok := v.(map[string]any); ok {
				r, m, f := splitMembersKey(inner)
				if f {
					members, found = m, true
				}
				if len(r) > 0 {
					rest[k] = r
				}
				continue
			}
			rest[k] = v
		default:
			rest[k] = v
		}
	}
	return rest, members, found
}

// PatchSCIMGroup applies PATCH operations on g's own attributes (see
// SplitSCIMGroupPatch for membership) as PatchSCIMUser does for users.
func PatchSCIMGroup(ctx context.Context, g *Group, ops []PatchOp) error {
	w := g.Clone()
	pt := &patcher{c: groupCatalog, doc: w} // groups stamp nothing
	if err := pt.run(ctx, ops); err != nil {
		return err
	}
	*g = *w
	return nil
}

func (pt *patcher) run(ctx context.Context, ops []PatchOp) error {
	for i, op := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := pt.apply(op); err != nil {
			if len(ops) > 1 {
				return wrapOp(err, i+1)
			}
			return err
		}
	}
	return nil
}

// wrapOp prefixes an error's reason with the operation's number.
func wrapOp(err error, n int) error {
	switch e := err.(type) {
	case *PatchError:
		return &PatchError{Kind: e.Kind, Reason: fmt.Sprintf("operation %d: %s", n, e.Reason)}
	case *ValueError:
		return &ValueError{Path: e.Path, Reason: fmt.Sprintf("%s (operation %d)", e.Reason, n)}
	}
	return err
}

func (pt *patcher) apply(op PatchOp) error {
	if op.Path == "" {
		m, ok := op.Value.(map[string]any)
		if !ok {
			return valueErr("", "%s without a path needs an object value", op.Op)
		}
		return pt.pathless(op.Op, m, "")
	}
	t, err := resolvePatchPath(pt.c, op.Path, pt.o.AppID)
	if err != nil {
		return err
	}
	return pt.target(op.Op, t, op.Value, op.HasValue)
}

// pathless applies a path-less add or replace: each key of the value is a
// path; "schemas" and "meta" are ignored.
func (pt *patcher) pathless(op string, value map[string]any, prefix string) error {
	for _, k := range slices.Sorted(maps.Keys(value)) {
		v := value[k]
		if prefix == "" && (strings.EqualFold(k, "schemas") || strings.EqualFold(k, "meta")) {
			continue
		}
		path := k
		if prefix != "" {
			path = prefix + ":" + k
		}
		if urn := pt.schemaURN(path); urn != "" {
			inner, ok := v.(map[string]any)
			if !ok {
				return valueErr(k, "expected an object, not %s", jsonTypeName(v))
			}
			sub := urn
			if urn == pt.c.order[0] {
				sub = ""
			}
			if err := pt.pathless(op, inner, sub); err != nil {
				return err
			}
			continue
		}
		t, err := resolvePatchPath(pt.c, path, pt.o.AppID)
		if err != nil {
			return err
		}
		if t.attr != nil && t.filter == nil && readOnly(t) && pt.equalsCurrent(t, v) {
			continue // an echo of the current value (Okta re-sends the id)
		}
		if err := pt.target(op, t, v, true); err != nil {
			return err
		}
	}
	return nil
}

// schemaURN returns the schema URN path names exactly (one with declared
// attributes), or "".
func (pt *patcher) schemaURN(path string) string {
	if !IsURN(path) {
		return ""
	}
	for _, urn := range pt.c.order {
		if strings.EqualFold(path, urn) {
			return urn
		}
	}
	return ""
}

func readOnly(t patchTarget) bool {
	return t.attr.Mutability == ReadOnly || t.sub != nil && t.sub.Mutability == ReadOnly
}

// equalsCurrent reports whether v is what the document shows at t.
func (pt *patcher) equalsCurrent(t patchTarget, v any) bool {
	r := &scimRender{o: pt.o}
	var cur any
	var ok bool
	if t.sub != nil {
		var e any
		readElems(pt.doc, t.attr, &Path{Attr: t.attr, AppID: pt.o.AppID}, func(x any) bool { e = x; return false })
		if e != nil {
			cur, ok = r.attr(e, t.sub)
		}
	} else {
		cur, ok = r.attr(pt.doc, t.attr)
	}
	if !ok || isEmptyJSON(cur) {
		return isEmptyJSON(v)
	}
	switch c := cur.(type) {
	case string:
		s, _ := v.(string)
		return s == c
	case bool:
		b, _ := v.(bool)
		return b == c
	}
	return reflect.DeepEqual(cur, v) // a complex value echoed as rendered (groups)
}

func isEmptyJSON(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// target applies one operation to a resolved path.
func (pt *patcher) target(op string, t patchTarget, v any, hasValue bool) error {
	if t.ext != "" {
		if op == "remove" {
			if t.ext == EnterpriseUserURN && pt.u != nil {
				pt.u.Enterprise = nil
				return nil
			}
			return patchErr(PatchMutability, "%s is read-only", t.ext)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return valueErr(t.name, "expected an object, not %s", jsonTypeName(v))
		}
		return pt.pathless(op, m, t.ext)
	}
	a := t.attr
	if pt.u == nil && a.Canonical == "members" {
		return patchErr(PatchInvalidPath, "members are changed apart (SplitSCIMGroupPatch)")
	}
	if a.Type == TypeJSON {
		return pt.json(op, t, v)
	}
	if readOnly(t) {
		return patchErr(PatchMutability, "%s is read-only", t.name)
	}
	if a.Mutability == WriteOnly { // password: taken by SCIMPatchPassword
		if op == "remove" {
			return patchErr(PatchMutability, "%s cannot be removed", t.name)
		}
		return nil
	}
	if a.Required && t.sub == nil {
		if op == "remove" {
			return patchErr(PatchMutability, "%s is required and cannot be removed", a.Name)
		}
		if isEmptyJSON(v) {
			return valueErr(t.name, "%s is required: it cannot be empty or null", a.Name)
		}
	}
	if a.Type == TypeComplex && a.MultiValued {
		if err := pt.charge(t, v); err != nil {
			return err
		}
	}
	switch {
	case a.acc.field == fActive:
		if op == "remove" {
			v = nil
		}
		return applyActive(pt.u, v, op != "remove", t.name)
	case t.filter != nil:
		return pt.filtered(op, t, v)
	case t.sub != nil:
		return pt.sub(op, t, v)
	case a.Type == TypeComplex && a.MultiValued:
		return pt.multi(op, t, v, hasValue)
	case a.Type == TypeComplex:
		return pt.single(op, t, v)
	}
	if op == "remove" {
		store(pt.doc, a.acc.field, nil)
		return nil
	}
	x, err := scimScalar(a, v, t.name)
	if err != nil {
		return err
	}
	if x != nil || slot(pt.doc, a.acc.field, false) != nil {
		store(pt.doc, a.acc.field, x)
	}
	return nil
}

// items returns the elements a value for a multi-valued attribute lists (a
// single element stands for a list of one), refusing more than MaxValues
// before anything is converted.
func items(t patchTarget, v any) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		list = []any{v}
	}
	if len(list) > MaxValues {
		return nil, valueErr(t.name, "%d values given; a user holds at most %d", len(list), MaxValues)
	}
	return list, nil
}

// count returns how many elements the complex attribute a holds.
func (pt *patcher) count(a *Attribute) int {
	n := 0
	readElems(pt.doc, a, &Path{Attr: a}, func(any) bool { n++; return true })
	return n
}

// appendElem adds a copy of fresh to a, refusing to pass MaxValues.
func (pt *patcher) appendElem(t patchTarget, fresh any) (any, error) {
	if pt.count(t.attr) >= MaxValues {
		return nil, valueErr(t.name, "at most %d values are allowed", MaxValues)
	}
	dst := appendElem(pt.u, t.attr)
	for _, f := range elemFields(dst) {
		copyField(dst, fresh, f)
	}
	return dst, nil
}

// multi applies an operation to a whole multi-valued complex attribute.
func (pt *patcher) multi(op string, t patchTarget, v any, hasValue bool) error {
	a := t.attr
	list, err := items(t, v)
	if err != nil {
		return err
	}
	if op == "remove" {
		if !hasValue || len(list) == 0 {
			clearElems(pt.u, a, "")
			return nil
		}
		// Entra: a remove with a value list removes only those values.
		owned := scimOwned(a)
		for i, item := range list {
			fresh, err := scimElem(a, item, fmt.Sprintf("%s[%d]", t.name, i), owned)
			if err != nil || fresh == nil {
				if err != nil {
					return err
				}
				continue
			}
			for _, e := range elemsOf(pt.u, a, "") {
				if sameElem(a, e, fresh, owned) {
					removeElem(pt.u, a, e)
					break
				}
			}
		}
		return nil
	}
	if op == "replace" {
		w := &scimWriter{u: pt.u, old: pt.u.Clone(), now: pt.now}
		clearElems(pt.u, a, "")
		if err := w.complex(a, list, t.name); err != nil {
			return err
		}
		keepPrimary(elemsOf(pt.u, a, ""), -1)
		return nil
	}
	owned := scimOwned(a)
	for i, item := range list {
		fresh, err := scimElem(a, item, fmt.Sprintf("%s[%d]", t.name, i), owned)
		if err != nil {
			return err
		}
		if fresh == nil || pt.contains(a, fresh, owned) {
			continue
		}
		stampAddress(fresh, pt.now)
		dst, err := pt.appendElem(t, fresh)
		if err != nil {
			return err
		}
		pt.primaryMoved(a, dst)
	}
	return nil
}

// contains reports whether a already holds an element like fresh.
func (pt *patcher) contains(a *Attribute, fresh any, owned map[field]bool) bool {
	found := false
	readElems(pt.doc, a, &Path{Attr: a}, func(e any) bool {
		found = sameElem(a, e, fresh, owned)
		return !found
	})
	return found
}

// sameElem reports whether x and y are the same element: the same value
// (compared as the attribute's caseExact says) and type (when both have one),
// or, for elements without a value, equal on every owned field.
func sameElem(a *Attribute, x, y any, owned map[field]bool) bool {
	vs := a.acc.valueSub
	if vs == nil {
		return sameOwned(x, y, owned)
	}
	xv, _ := slot(x, fValue, false).(*string)
	yv, _ := slot(y, fValue, false).(*string)
	if xv == nil || yv == nil || *xv == "" && *yv == "" {
		return sameOwned(x, y, owned)
	}
	if *xv != *yv && (vs.CaseExact || !strings.EqualFold(*xv, *yv)) {
		return false
	}
	xt, _ := slot(x, fType, false).(*string)
	yt, _ := slot(y, fType, false).(*string)
	return xt == nil || yt == nil || *xt == "" || *yt == "" || strings.EqualFold(*xt, *yt)
}

// primaryMoved keeps e the only primary element of a when it is primary.
func (pt *patcher) primaryMoved(a *Attribute, e any) {
	if p, ok := slot(e, fPrimary, false).(*bool); !ok || !*p {
		return
	}
	for _, x := range elemsOf(pt.u, a, "") {
		if x != e {
			if p, ok := slot(x, fPrimary, false).(*bool); ok {
				*p = false
			}
		}
	}
}

// keepPrimary leaves at most one primary element: the one at keep, or the
// last primary when keep < 0.
func keepPrimary(list []any, keep int) {
	if keep < 0 {
		for i, e := range list {
			if p, ok := slot(e, fPrimary, false).(*bool); ok && *p {
				keep = i
			}
		}
	}
	if keep < 0 {
		return
	}
	for i, e := range list {
		if p, ok := slot(e, fPrimary, false).(*bool); ok && i != keep {
			*p = false
		}
	}
}

func stampAddress(e any, now time.Time) {
	if ad, ok := e.(*Address); ok {
		ad.Updated = now
	}
}

// single applies an operation to a whole single-valued complex attribute
// (name, manager): an add or replace merges the given sub-attributes (null
// clears one); a manager without a value is removed (Entra's way to remove
// it).
func (pt *patcher) single(op string, t patchTarget, v any) error {
	a := t.attr
	if op == "remove" || v == nil {
		clearElems(pt.u, a, "")
		return nil
	}
	var obj map[string]any
	switch x := v.(type) {
	case map[string]any:
		obj = x
	case string:
		if a.acc.valueSub == nil {
			return valueErr(t.name, "expected an object, not a string")
		}
		obj = map[string]any{a.acc.valueSub.Name: x}
	default:
		return valueErr(t.name, "expected an object, not %s", jsonTypeName(v))
	}
	e := singleElem(pt.u, a, "", true)
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		s := scimSub(a, k)
		if s == nil || s.Mutability == ReadOnly || s.acc.field == fNone {
			continue // unknown or read-only sub-attributes are ignored, as in a PUT
		}
		if err := pt.setSub(e, s, obj[k], t.name+"."+s.Name); err != nil {
			return err
		}
	}
	pt.dropEmptyManager(a)
	return nil
}

// dropEmptyManager removes a manager left without a value.
func (pt *patcher) dropEmptyManager(a *Attribute) {
	if a.acc.elems == eManager && pt.u.Enterprise != nil && pt.u.Enterprise.Manager != nil && pt.u.Enterprise.Manager.Value == "" {
		pt.u.Enterprise.Manager = nil
	}
}

// setSub writes one sub-attribute of an element (null clears it). A
// contact whose value changes loses its verification; an address that
// changes gets a new updated time.
func (pt *patcher) setSub(e any, s *Attribute, v any, path string) error {
	x, err := scimScalar(s, v, path)
	if err != nil {
		return err
	}
	before, _ := slot(e, s.acc.field, false).(*string)
	var old string
	if before != nil {
		old = *before
	}
	store(e, s.acc.field, x)
	switch el := e.(type) {
	case *Email:
		if s.acc.field == fValue && !strings.EqualFold(old, el.Value) {
			el.Verified, el.VerifiedAt = false, time.Time{}
		}
	case *PhoneNumber:
		if s.acc.field == fValue && old != el.Value {
			el.Verified, el.VerifiedAt = false, time.Time{}
		}
	case *Address:
		el.Updated = pt.now
	}
	return nil
}

// sub applies an operation to attr.sub without a value filter: on a
// single-valued attribute, its one element; on a multi-valued one, every
// element (an add or replace on an empty attribute creates one).
func (pt *patcher) sub(op string, t patchTarget, v any) error {
	a, s := t.attr, t.sub
	if op == "remove" {
		v = nil
	}
	if !a.MultiValued {
		e := singleElem(pt.u, a, "", v != nil)
		if e == nil {
			return nil
		}
		if err := pt.setSub(e, s, v, t.name); err != nil {
			return err
		}
		pt.dropEmptyManager(a)
		return nil
	}
	list := elemsOf(pt.u, a, "")
	if len(list) == 0 {
		if v == nil {
			return nil
		}
		fresh := newElem(a)
		if err := pt.setSub(fresh, s, v, t.name); err != nil {
			return err
		}
		_, err := pt.appendElem(t, fresh)
		return err
	}
	for _, e := range list {
		if err := pt.setSub(e, s, v, t.name); err != nil {
			return err
		}
	}
	if s.acc.field == fPrimary {
		keepPrimary(list, -1)
	}
	return nil
}

// filtered applies an operation to attr[filter] or attr[filter].sub.
func (pt *patcher) filtered(op string, t patchTarget, v any) error {
	a := t.attr
	var hits []any
	for _, e := range elemsOf(pt.u, a, "") {
		if match(t.filter, e, true) {
			hits = append(hits, e)
		}
	}
	if op == "remove" {
		if len(hits) == 0 {
			return patchErr(PatchNoTarget, "no value of %s matches the filter", a.Name)
		}
		if t.sub != nil {
			for _, e := range hits {
				if err := pt.setSub(e, t.sub, nil, t.name); err != nil {
					return err
				}
			}
			return nil
		}
		// Remove from the last so that the earlier pointers stay valid.
		for i := len(hits) - 1; i >= 0; i-- {
			removeElem(pt.u, a, hits[i])
		}
		return nil
	}
	var obj map[string]any
	if t.sub == nil {
		m, ok := v.(map[string]any)
		if !ok {
			return valueErr(t.name, "expected an object, not %s", jsonTypeName(v))
		}
		obj = m
	}
	if len(hits) == 0 {
		fresh, ok := eqElem(a, t.filter)
		if !ok || (op == "replace" && !pinsType(t.filter)) {
			return patchErr(PatchNoTarget, "no value of %s matches the filter", a.Name)
		}
		if err := pt.write(fresh, t, v, obj); err != nil {
			return err
		}
		stampAddress(fresh, pt.now)
		dst, err := pt.appendElem(t, fresh)
		if err != nil {
			return err
		}
		pt.primaryMoved(a, dst)
		return nil
	}
	for _, e := range hits {
		if op == "replace" && t.sub == nil {
			// The element becomes the value; what the client cannot see
			// stays when its value does.
			owned := scimOwned(a)
			fresh, err := scimElem(a, obj, t.name, owned)
			if err != nil {
				return err
			}
			if fresh == nil {
				fresh = newElem(a)
			}
			if sameElem(a, e, fresh, owned) {
				carry(fresh, e, owned)
			} else {
				stampAddress(fresh, pt.now)
			}
			for _, f := range elemFields(e) {
				copyField(e, fresh, f)
			}
		} else if err := pt.write(e, t, v, obj); err != nil {
			return err
		}
		pt.primaryMoved(a, e)
	}
	return nil
}

// write sets v at t.sub of e, or merges obj's sub-attributes into e.
func (pt *patcher) write(e any, t patchTarget, v any, obj map[string]any) error {
	if t.sub != nil {
		return pt.setSub(e, t.sub, v, t.name)
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		s := scimSub(t.attr, k)
		if s == nil || s.Mutability == ReadOnly || s.acc.field == fNone {
			continue
		}
		if err := pt.setSub(e, s, obj[k], t.name+"."+s.Name); err != nil {
			return err
		}
	}
	return nil
}

// eqElem returns the element a filter made only of `sub eq value` terms
// joined by and describes; ok is false for any other filter.
func eqElem(a *Attribute, f Filter) (any, bool) {
	e := newElem(a)
	if e == nil {
		return nil, false
	}
	var walk func(Filter) bool
	walk = func(f Filter) bool {
		switch n := f.(type) {
		case *And:
			return walk(n.Left) && walk(n.Right)
		case *Compare:
			if n.Op != OpEq || n.Path.Attr == nil {
				return false
			}
			var v any
			switch n.Value.Kind {
			case KindString:
				v = n.Value.Str
			case KindBool:
				v = n.Value.Bool
			case KindTime:
				v = n.Value.Time
			default:
				return false
			}
			return store(e, n.Path.Attr.acc.field, v)
		}
		return false
	}
	return e, walk(f)
}

// pinsType reports whether the filter has a `type eq` term (and-joined).
func pinsType(f Filter) bool {
	switch n := f.(type) {
	case *And:
		return pinsType(n.Left) || pinsType(n.Right)
	case *Compare:
		return n.Op == OpEq && n.Path.Attr != nil && n.Path.Attr.acc.field == fType
	}
	return false
}

// json applies an operation to a free-form JSON attribute or a key below it.
func (pt *patcher) json(op string, t patchTarget, v any) error {
	a := t.attr
	var holder any = pt.doc
	if par := a.acc.parent; par != nil {
		holder = singleElem(pt.u, par, pt.o.AppID, op != "remove")
		if holder == nil {
			return nil
		}
	}
	s, _ := slot(holder, a.acc.field, true).(*map[string]any)
	if s == nil {
		return patchErr(PatchInvalidPath, "%s cannot be written", t.name)
	}
	if len(t.keys) == 0 {
		if op == "remove" {
			*s = nil
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return valueErr(t.name, "expected an object, not %s", jsonTypeName(v))
		}
		n, err := NormalizeJSONObject(m)
		if err != nil {
			return valueErr(t.name, "%v", err)
		}
		if op == "replace" || *s == nil {
			*s = n
			return nil
		}
		for k, x := range n {
			(*s)[k] = x
		}
		return nil
	}
	if *s == nil {
		if op == "remove" || v == nil {
			return nil
		}
		*s = map[string]any{}
	}
	m := *s
	for _, k := range t.keys[:len(t.keys)-1] {
		next, _ := m[k].(map[string]any)
		if next == nil {
			if op == "remove" || v == nil {
				return nil
			}
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	last := t.keys[len(t.keys)-1]
	if op == "remove" || v == nil {
		delete(m, last)
		return nil
	}
	n, err := normalizeJSON(v, last, len(t.keys)+1) // the value sits len(t.keys) levels below the object
	if err != nil {
		return valueErr(t.name, "%v", err)
	}
	m[last] = n
	return nil
}

// memberOp reads the membership operation of a members path.
func memberOp(op string, t patchTarget, v any, hasValue bool) (MemberOp, error) {
	if t.sub != nil {
		return MemberOp{}, patchErr(PatchInvalidPath, "the sub-attributes of members cannot be changed")
	}
	if t.filter != nil {
		if op != "remove" {
			return MemberOp{}, patchErr(PatchInvalidPath, "a members value filter is only supported by remove")
		}
		ids, ok := memberFilterIDs(t.filter, nil)
		if !ok {
			return MemberOp{}, &FilterError{Expr: t.name, Reason: `a members filter must be value eq "<id>" (joined by or)`}
		}
		return MemberOp{Op: "remove", IDs: ids}, nil
	}
	ids, err := MemberIDs(v)
	if err != nil {
		return MemberOp{}, err
	}
	if op == "remove" && (!hasValue || v == nil) {
		return MemberOp{Op: "clear"}, nil
	}
	return MemberOp{Op: op, IDs: ids}, nil
}

// memberFilterIDs reads the ids of a filter made of `value eq "id"` terms
// joined by or.
func memberFilterIDs(f Filter, ids []string) ([]string, bool) {
	switch n := f.(type) {
	case *Or:
		ids, ok := memberFilterIDs(n.Left, ids)
		if !ok {
			return nil, false
		}
		return memberFilterIDs(n.Right, ids)
	case *Compare:
		if n.Op == OpEq && n.Path.Attr != nil && n.Path.Attr.Name == "value" && n.Value.Kind == KindString {
			return append(ids, n.Value.Str), true
		}
	}
	return nil, false
}

// MemberIDs reads a group's members value: a list of {"value": id, …}
// objects (display, $ref and type are ignored, but a type of Group is
// refused: groups cannot be members) or of plain ids; a single member may
// stand for a list of one.
func MemberIDs(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	ids := make([]string, 0, len(list))
	for i, e := range list {
		switch t := e.(type) {
		case string:
			ids = append(ids, t)
		case map[string]any:
			var id, typ any
			for k, x := range t {
				switch {
				case strings.EqualFold(k, "value"):
					id = x
				case strings.EqualFold(k, "type"):
					typ = x
				}
			}
			if s, _ := typ.(string); strings.EqualFold(s, "Group") {
				return nil, valueErr(fmt.Sprintf("members[%d]", i), "groups cannot be members of groups")
			}
			s, _ := id.(string)
			if s == "" {
				return nil, valueErr(fmt.Sprintf("members[%d]", i), "a member needs a value (the user's id)")
			}
			ids = append(ids, s)
		default:
			return nil, valueErr(fmt.Sprintf("members[%d]", i), "expected an object with a value, not %s", jsonTypeName(e))
		}
	}
	return slices.Clip(ids), nil
}
