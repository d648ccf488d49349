package wire

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

// MaxPatchWork bounds the element comparisons one PATCH may make: each
// operation on a multi-valued complex attribute costs one unit per element it
// visits per value-filter term, plus one per element per value it adds or
// removes. A client's PATCH (a few operations on attributes of at most
// directory.MaxValues elements) costs a few thousand units; the bound keeps a body
// full of long value filters, each tested against every element, well under
// a second, and a PATCH that passes it is refused (directory.KindTooMany).
const MaxPatchWork = 1_000_000

// PatchOp is one operation of a SCIM PATCH request (RFC 7644 §3.5.2).
type PatchOp struct {
	Op       string // "add", "remove" or "replace"
	Path     string // "" when the operation has none
	Value    any    // decoded JSON (numbers may be json.Number)
	HasValue bool   // distinguishes an absent value from a JSON null
}

// patchErr is an operation of a PATCH that the resource cannot take, as
// the directory classifies it: k is KindInvalidPath (the path is malformed
// or names nothing known), KindNoTarget (its value filter selects nothing),
// KindMutability (it would change a read-only or required attribute) or
// KindTooMany (the PATCH would do more work than MaxPatchWork). Bad values
// are *schemas.ValueError and bad value filters *schemas.FilterError instead.
func patchErr(k directory.Kind, format string, args ...any) *directory.Error {
	return directory.Errorf(k, format, args...)
}

// patchTarget is a PATCH path resolved through the catalog.
type patchTarget struct {
	name   string             // the path as written, for messages
	ext    string             // a whole extension (attr is nil)
	attr   *schemas.Attribute // the top-level attribute
	filter schemas.Filter     // the value filter, on attr's elements
	sub    *schemas.Attribute // the sub-attribute, or nil
	keys   []string           // keys below a free-form JSON attribute
}

// resolvePatchPath resolves a PATCH path (RFC 7644 §3.5.2 PATH: attrPath or
// valuePath [ "." subAttr ], with optional schema URN) on catalog c.
// Resolutions are kept (patchPaths): an IdP sends the same few paths over
// and over (Entra's `emails[type eq "work"].value`), and a resolved path
// depends on nothing but its arguments (the catalog is fixed; the value
// filter reads no clock); a patchTarget is never changed once resolved.
func resolvePatchPath(rt schemas.ResourceType, path, appID string) (patchTarget, error) {
	key := patchPathKey{rt: rt, appID: appID, path: path}
	patchPaths.mu.RLock()
	t, ok := patchPaths.m[key]
	patchPaths.mu.RUnlock()
	if ok {
		return t, nil
	}
	t, err := resolvePatchPathOnce(rt, path, appID)
	if err != nil || len(path) > maxCachedPatchPath {
		return t, err
	}
	patchPaths.mu.Lock()
	if len(patchPaths.m) >= maxCachedPatchPaths {
		clear(patchPaths.m) // the paths in use come back at their next PATCH
	}
	patchPaths.m[key] = t
	patchPaths.mu.Unlock()
	return t, nil
}

// Bounds of the resolved-path cache: entries, and the length of a path kept.
const (
	maxCachedPatchPaths = 1024
	maxCachedPatchPath  = 256
)

type patchPathKey struct {
	rt          schemas.ResourceType
	appID, path string
}

// patchPaths holds the PATCH paths resolved so far (resolvePatchPath).
var patchPaths = struct {
	mu sync.RWMutex
	m  map[patchPathKey]patchTarget
}{m: map[patchPathKey]patchTarget{}}

// resolvePatchPathOnce is resolvePatchPath without the cache.
func resolvePatchPathOnce(rt schemas.ResourceType, path, appID string) (patchTarget, error) {
	t := patchTarget{name: path}
	opt := schemas.ParseOptions{Resource: rt, Dialect: schemas.SCIMDialect, AppID: appID}
	if i := strings.IndexByte(path, '['); i >= 0 {
		end := closingBracket(path, i)
		if end < 0 {
			return t, patchErr(directory.KindInvalidPath, "unbalanced [ in path %q", path)
		}
		subName, hasSub := "", false
		if rest := path[end+1:]; rest != "" {
			if rest[0] != '.' || len(rest) == 1 || strings.ContainsAny(rest[1:], ".[]") {
				return t, patchErr(directory.KindInvalidPath, "invalid path %q", path)
			}
			subName, hasSub = rest[1:], true
		}
		f, err := schemas.ParsePatchFilter(path[:end+1], opt)
		if err != nil {
			return t, err
		}
		vp, ok := f.(*schemas.ValuePath)
		if !ok {
			return t, patchErr(directory.KindInvalidPath, "invalid value filter in path %q", path)
		}
		t.attr, t.filter = vp.Path.Attr, vp.Filter
		if !t.attr.MultiValued {
			return t, patchErr(directory.KindInvalidPath, "%s is not multi-valued: it cannot have a value filter", t.attr.Name)
		}
		if hasSub {
			if t.sub = scimSub(t.attr, subName); t.sub == nil {
				return t, patchErr(directory.KindInvalidPath, "unknown sub-attribute %q of %s", subName, t.attr.Name)
			}
		}
		return t, nil
	}
	if IsURN(path) {
		for i, urn := range schemas.SchemaURNs(rt) {
			if strings.EqualFold(path, urn) && schemas.JSONExtension(rt, urn) == nil {
				if i == 0 {
					return t, patchErr(directory.KindInvalidPath, "path %q names no attribute", path)
				}
				t.ext = urn
				return t, nil
			}
		}
	}
	p, err := schemas.ResolveName(path, opt)
	if err != nil {
		return t, patchErr(directory.KindInvalidPath, "%s in path %q", err.(*schemas.FilterError).Reason, path)
	}
	switch {
	case p.Attr.Type == schemas.TypeJSON:
		t.attr, t.keys = p.Attr, p.Keys
	case p.Parent != nil:
		t.attr, t.sub = p.Parent, p.Attr
	default:
		t.attr = p.Attr
	}
	if t.attr.Internal() && t.attr.Type != schemas.TypeJSON || t.sub != nil && t.sub.Internal() {
		return t, patchErr(directory.KindInvalidPath, "unknown attribute in path %q", path)
	}
	return t, nil
}

// scimSub finds a SCIM sub-attribute by name, case-insensitively.
func scimSub(a *schemas.Attribute, name string) *schemas.Attribute {
	s := schemas.FindAttribute(a.SubAttributes, name)
	if s == nil || s.Internal() {
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
			return schemas.ValueErrorf(path, "expected a string, not %s", schemas.JSONTypeName(v))
		}
		pw = &s
		return nil
	}
	isPassword := func(p string) bool {
		return strings.EqualFold(p, "password") || strings.EqualFold(p, schemas.UserSchemaURN+":password")
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
		var keys [24]string
		for _, k := range sortedKeys(m, keys[:0]) {
			switch {
			case isPassword(k):
				if err := take(m[k], k); err != nil {
					return nil, err
				}
			case strings.EqualFold(k, schemas.UserSchemaURN):
				inner, _ := m[k].(map[string]any)
				var keys [24]string
				for _, k2 := range sortedKeys(inner, keys[:0]) {
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

// patcher applies PATCH operations to one document (a *schemas.User or *schemas.Group).
type patcher struct {
	rt   schemas.ResourceType
	doc  any
	u    *schemas.User // doc, when it is a user
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
		return patchErr(directory.KindTooMany, "the PATCH compares more values than the server will (its value filters and value lists are too large for the attributes' elements)")
	}
	return nil
}

// filterTerms counts the comparisons of a filter (0 for nil).
func filterTerms(f schemas.Filter) int {
	switch n := f.(type) {
	case *schemas.And:
		return filterTerms(n.Left) + filterTerms(n.Right)
	case *schemas.Or:
		return filterTerms(n.Left) + filterTerms(n.Right)
	case *schemas.Not:
		return filterTerms(n.X)
	case *schemas.Compare, *schemas.ValuePath:
		return 1
	}
	return 0
}

// PatchSCIMUser applies PATCH operations to u, in order, with the semantics of RFC 7644 §3.5.2 and the
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
// directory.MaxValues elements ends the PATCH with a *schemas.ValueError before its values are
// converted. ctx is checked between operations.
//
// Errors are *directory.Error (see patchErr), *schemas.ValueError or *schemas.FilterError (or ctx's error).
// On error u may hold the operations applied before the failing one: the
// PATCH is all or nothing because the caller discards u then (it is the copy
// that directory.UserChange.Apply is given, and a failed Apply writes
// nothing), not because the engine works on a second copy.
func PatchSCIMUser(ctx context.Context, u *schemas.User, ops []PatchOp, o SCIMOptions) error {
	pt := &patcher{rt: schemas.UserResource, doc: u, u: u, o: o, now: o.Now}
	if err := pt.run(ctx, ops); err != nil {
		return err
	}
	if e := u.Enterprise; e != nil {
		if e.Manager != nil && *e.Manager == (schemas.Manager{}) {
			e.Manager = nil
		}
		if *e == (schemas.EnterpriseUser{}) {
			u.Enterprise = nil
		}
	}
	return nil
}

// SplitSCIMGroupPatch separates the membership operations of a group PATCH
// (membership is stored on the users) from those on the group's own
// attributes, keeping each list's order: path "members" (a remove with a
// value list removes those members, without one all of them),
// `members[value eq "id" or …]` (remove only), and a members key in a
// path-less value (or in its core schema container). It reads nothing but
// the operations, so that a caller can check every member before writing.
func SplitSCIMGroupPatch(ops []PatchOp) (attrs []PatchOp, members []directory.MemberOp, err error) {
	for _, op := range ops {
		if op.Path != "" {
			t, err := resolvePatchPath(schemas.GroupResource, op.Path, "")
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
			return nil, nil, schemas.ValueErrorf("", "%s without a path needs an object value", op.Op)
		}
		rest, mv, found := splitMembersKey(value)
		if found {
			ids, err := MemberIDs(mv)
			if err != nil {
				return nil, nil, err
			}
			members = append(members, directory.MemberOp{Op: op.Op, IDs: ids})
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
		case strings.EqualFold(k, "members") || strings.EqualFold(k, schemas.GroupSchemaURN+":members"):
			members, found = v, true
		case strings.EqualFold(k, schemas.GroupSchemaURN):
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
// SplitSCIMGroupPatch for membership) as PatchSCIMUser does for users; on
// error g may be partly changed, and the caller discards it
// (directory.GroupPatch.Apply is given a copy).
func PatchSCIMGroup(ctx context.Context, g *schemas.Group, ops []PatchOp) error {
	pt := &patcher{rt: schemas.GroupResource, doc: g} // groups stamp nothing
	return pt.run(ctx, ops)
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
	case *directory.Error:
		return &directory.Error{Kind: e.Kind, Field: e.Field, Msg: fmt.Sprintf("operation %d: %s", n, e.Msg), Err: e.Err}
	case *schemas.ValueError:
		return &schemas.ValueError{Path: e.Path, Reason: fmt.Sprintf("%s (operation %d)", e.Reason, n)}
	}
	return err
}

func (pt *patcher) apply(op PatchOp) error {
	if op.Path == "" {
		m, ok := op.Value.(map[string]any)
		if !ok {
			return schemas.ValueErrorf("", "%s without a path needs an object value", op.Op)
		}
		return pt.pathless(op.Op, m, "")
	}
	t, err := resolvePatchPath(pt.rt, op.Path, pt.o.AppID)
	if err != nil {
		return err
	}
	return pt.target(op.Op, t, op.Value, op.HasValue)
}

// pathless applies a path-less add or replace: each key of the value is a
// path; "schemas" and "meta" are ignored.
func (pt *patcher) pathless(op string, value map[string]any, prefix string) error {
	var keys [24]string
	for _, k := range sortedKeys(value, keys[:0]) {
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
				return schemas.ValueErrorf(k, "expected an object, not %s", schemas.JSONTypeName(v))
			}
			sub := urn
			if urn == schemas.SchemaURNs(pt.rt)[0] {
				sub = ""
			}
			if err := pt.pathless(op, inner, sub); err != nil {
				return err
			}
			continue
		}
		t, err := resolvePatchPath(pt.rt, path, pt.o.AppID)
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
	for _, urn := range schemas.SchemaURNs(pt.rt) {
		if strings.EqualFold(path, urn) && schemas.JSONExtension(pt.rt, urn) == nil {
			return urn
		}
	}
	return ""
}

func readOnly(t patchTarget) bool {
	return t.attr.Mutability == schemas.ReadOnly || t.sub != nil && t.sub.Mutability == schemas.ReadOnly
}

// equalsCurrent reports whether v is what the document shows at t.
func (pt *patcher) equalsCurrent(t patchTarget, v any) bool {
	r := &scimRender{o: pt.o}
	var cur any
	var ok bool
	if t.sub != nil {
		var e any
		schemas.EachElem(pt.doc, t.attr, pt.o.AppID, func(x any) bool { e = x; return false })
		if e != nil {
			cur, ok = r.value(e, t.sub)
		}
	} else {
		cur, ok = r.value(pt.doc, t.attr)
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
			if t.ext == schemas.EnterpriseUserURN && pt.u != nil {
				pt.u.Enterprise = nil
				return nil
			}
			return patchErr(directory.KindMutability, "%s is read-only", t.ext)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return schemas.ValueErrorf(t.name, "expected an object, not %s", schemas.JSONTypeName(v))
		}
		return pt.pathless(op, m, t.ext)
	}
	a := t.attr
	if pt.u == nil && a.Canonical == "members" {
		return patchErr(directory.KindInvalidPath, "members are changed apart (SplitSCIMGroupPatch)")
	}
	if a.Type == schemas.TypeJSON {
		return pt.json(op, t, v)
	}
	if readOnly(t) {
		return patchErr(directory.KindMutability, "%s is read-only", t.name)
	}
	if a.Mutability == schemas.WriteOnly { // password: taken by SCIMPatchPassword
		if op == "remove" {
			return patchErr(directory.KindMutability, "%s cannot be removed", t.name)
		}
		return nil
	}
	if a.Required && t.sub == nil {
		if op == "remove" {
			return patchErr(directory.KindMutability, "%s is required and cannot be removed", a.Name)
		}
		if isEmptyJSON(v) {
			return schemas.ValueErrorf(t.name, "%s is required: it cannot be empty or null", a.Name)
		}
	}
	if a.Type == schemas.TypeComplex && a.MultiValued {
		if err := pt.charge(t, v); err != nil {
			return err
		}
	}
	switch {
	case a.Canonical == "active":
		if op == "remove" {
			v = nil
		}
		return applyActive(pt.u, v, op != "remove", t.name)
	case t.filter != nil:
		return pt.filtered(op, t, v)
	case t.sub != nil:
		return pt.sub(op, t, v)
	case a.Type == schemas.TypeComplex && a.MultiValued:
		return pt.multi(op, t, v, hasValue)
	case a.Type == schemas.TypeComplex:
		return pt.single(op, t, v)
	}
	if op == "remove" {
		schemas.Set(pt.doc, a, nil)
		return nil
	}
	x, err := scimScalar(a, v, t.name)
	if err != nil {
		return err
	}
	if x != nil || schemas.Get(pt.doc, a) != nil {
		schemas.Set(pt.doc, a, x)
	}
	return nil
}

// items returns the elements a value for a multi-valued attribute lists (a
// single element stands for a list of one), refusing more than directory.MaxValues
// before anything is converted.
func items(t patchTarget, v any) ([]any, error) {
	list, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		list = []any{v}
	}
	if len(list) > directory.MaxValues {
		return nil, schemas.ValueErrorf(t.name, "%d values given; a user holds at most %d", len(list), directory.MaxValues)
	}
	return list, nil
}

// count returns how many elements the complex attribute a holds.
func (pt *patcher) count(a *schemas.Attribute) int {
	n := 0
	schemas.EachElem(pt.doc, a, "", func(any) bool { n++; return true })
	return n
}

// appendElem adds a copy of fresh to a, refusing to pass directory.MaxValues.
func (pt *patcher) appendElem(t patchTarget, fresh any) (any, error) {
	if pt.count(t.attr) >= directory.MaxValues {
		return nil, schemas.ValueErrorf(t.name, "at most %d values are allowed", directory.MaxValues)
	}
	dst := schemas.AppendElem(pt.u, t.attr)
	schemas.CopyElem(dst, fresh)
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
			schemas.ClearElems(pt.u, a, "")
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
			for _, e := range schemas.Elems(pt.u, a, "") {
				if sameElem(a, e, fresh, owned) {
					schemas.RemoveElem(pt.u, a, e)
					break
				}
			}
		}
		return nil
	}
	if op == "replace" {
		w := &scimWriter{u: pt.u, old: pt.u.Clone(), now: pt.now}
		schemas.ClearElems(pt.u, a, "")
		if err := w.complex(a, list, t.name); err != nil {
			return err
		}
		keepPrimary(a, schemas.Elems(pt.u, a, ""), -1)
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
		if err := pt.addElem(t, fresh); err != nil {
			return err
		}
	}
	return nil
}

// addElem adds fresh, a new element, to t.attr: a new address is stamped
// now, and a new primary element takes the flag from the others.
func (pt *patcher) addElem(t patchTarget, fresh any) error {
	stampAddress(fresh, pt.now)
	dst, err := pt.appendElem(t, fresh)
	if err != nil {
		return err
	}
	pt.primaryMoved(t.attr, dst)
	return nil
}

// contains reports whether a already holds an element like fresh.
func (pt *patcher) contains(a *schemas.Attribute, fresh any, owned []*schemas.Attribute) bool {
	found := false
	schemas.EachElem(pt.doc, a, "", func(e any) bool {
		found = sameElem(a, e, fresh, owned)
		return !found
	})
	return found
}

// sameElem reports whether x and y are the same element: the same value
// (compared as the attribute's caseExact says) and type (when both have one),
// or, for elements without a value, equal on every owned field.
func sameElem(a *schemas.Attribute, x, y any, owned []*schemas.Attribute) bool {
	vs := a.ValueSub()
	if vs == nil {
		return schemas.SameOwned(x, y, owned)
	}
	xv, _ := schemas.Get(x, vs).(*string)
	yv, _ := schemas.Get(y, vs).(*string)
	if xv == nil || yv == nil || *xv == "" && *yv == "" {
		return schemas.SameOwned(x, y, owned)
	}
	if *xv != *yv && (vs.CaseExact || !strings.EqualFold(*xv, *yv)) {
		return false
	}
	ta := schemas.FindAttribute(a.SubAttributes, "type")
	xt, _ := schemas.Get(x, ta).(*string)
	yt, _ := schemas.Get(y, ta).(*string)
	return xt == nil || yt == nil || *xt == "" || *yt == "" || strings.EqualFold(*xt, *yt)
}

// primaryMoved keeps e the only primary element of a when it is primary.
func (pt *patcher) primaryMoved(a *schemas.Attribute, e any) {
	prim := primarySub(a)
	if p, ok := schemas.Get(e, prim).(*bool); !ok || !*p {
		return
	}
	schemas.EachElem(pt.u, a, "", func(x any) bool {
		if x != e {
			if p, ok := schemas.Get(x, prim).(*bool); ok {
				*p = false
			}
		}
		return true
	})
}

// primarySub is the "primary" sub-attribute of a (nil when it has none).
func primarySub(a *schemas.Attribute) *schemas.Attribute {
	return schemas.FindAttribute(a.SubAttributes, "primary")
}

// keepPrimary leaves at most one primary element of a in list: the one at
// keep, or the last primary when keep < 0.
func keepPrimary(a *schemas.Attribute, list []any, keep int) {
	prim := primarySub(a)
	if keep < 0 {
		for i, e := range list {
			if p, ok := schemas.Get(e, prim).(*bool); ok && *p {
				keep = i
			}
		}
	}
	if keep < 0 {
		return
	}
	for i, e := range list {
		if p, ok := schemas.Get(e, prim).(*bool); ok && i != keep {
			*p = false
		}
	}
}

func stampAddress(e any, now time.Time) {
	if ad, ok := e.(*schemas.Address); ok {
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
		schemas.ClearElems(pt.u, a, "")
		return nil
	}
	var obj map[string]any
	switch x := v.(type) {
	case map[string]any:
		obj = x
	case string:
		if a.ValueSub() == nil {
			return schemas.ValueErrorf(t.name, "expected an object, not a string")
		}
		obj = map[string]any{a.ValueSub().Name: x}
	default:
		return schemas.ValueErrorf(t.name, "expected an object, not %s", schemas.JSONTypeName(v))
	}
	e := schemas.SingleElem(pt.u, a, "", true)
	var keys [24]string
	for _, k := range sortedKeys(obj, keys[:0]) {
		s := scimSub(a, k)
		if s == nil || s.Mutability == schemas.ReadOnly || !s.Stored() {
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
func (pt *patcher) dropEmptyManager(a *schemas.Attribute) {
	if a.Canonical == "enterprise.manager" && pt.u.Enterprise != nil && pt.u.Enterprise.Manager != nil && pt.u.Enterprise.Manager.Value == "" {
		pt.u.Enterprise.Manager = nil
	}
}

// setSub writes one sub-attribute of an element (null clears it). A
// contact whose value changes loses its verification; an address that
// changes gets a new updated time.
func (pt *patcher) setSub(e any, s *schemas.Attribute, v any, path string) error {
	x, err := scimScalar(s, v, path)
	if err != nil {
		return err
	}
	before, _ := schemas.Get(e, s).(*string)
	var old string
	if before != nil {
		old = *before
	}
	schemas.Set(e, s, x)
	switch el := e.(type) {
	case *schemas.Email:
		if s.Name == "value" && !strings.EqualFold(old, el.Value) {
			el.Verified, el.VerifiedAt = false, time.Time{}
		}
	case *schemas.PhoneNumber:
		if s.Name == "value" && old != el.Value {
			el.Verified, el.VerifiedAt = false, time.Time{}
		}
	case *schemas.Address:
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
		e := schemas.SingleElem(pt.u, a, "", v != nil)
		if e == nil {
			return nil
		}
		if err := pt.setSub(e, s, v, t.name); err != nil {
			return err
		}
		pt.dropEmptyManager(a)
		return nil
	}
	list := schemas.Elems(pt.u, a, "")
	if len(list) == 0 {
		if v == nil {
			return nil
		}
		fresh := schemas.NewElem(a)
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
	if s.Name == "primary" {
		keepPrimary(a, list, -1)
	}
	return nil
}

// filtered applies an operation to attr[filter] or attr[filter].sub.
func (pt *patcher) filtered(op string, t patchTarget, v any) error {
	a := t.attr
	var buf [4]any // the usual filter selects one element: no allocation
	hits := buf[:0]
	schemas.EachElem(pt.u, a, "", func(e any) bool {
		if schemas.MatchElem(t.filter, e) {
			hits = append(hits, e)
		}
		return true
	})
	if op == "remove" {
		if len(hits) == 0 {
			return patchErr(directory.KindNoTarget, "no value of %s matches the filter", a.Name)
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
			schemas.RemoveElem(pt.u, a, hits[i])
		}
		return nil
	}
	var obj map[string]any
	if t.sub == nil {
		m, ok := v.(map[string]any)
		if !ok {
			return schemas.ValueErrorf(t.name, "expected an object, not %s", schemas.JSONTypeName(v))
		}
		obj = m
	}
	if len(hits) == 0 {
		fresh, ok := eqElem(a, t.filter)
		if !ok || (op == "replace" && !pinsType(t.filter)) {
			return patchErr(directory.KindNoTarget, "no value of %s matches the filter", a.Name)
		}
		if err := pt.write(fresh, t, v, obj); err != nil {
			return err
		}
		return pt.addElem(t, fresh)
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
				fresh = schemas.NewElem(a)
			}
			if sameElem(a, e, fresh, owned) {
				schemas.Carry(fresh, e, owned)
			} else {
				stampAddress(fresh, pt.now)
			}
			schemas.CopyElem(e, fresh)
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
	var keys [24]string
	for _, k := range sortedKeys(obj, keys[:0]) {
		s := scimSub(t.attr, k)
		if s == nil || s.Mutability == schemas.ReadOnly || !s.Stored() {
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
func eqElem(a *schemas.Attribute, f schemas.Filter) (any, bool) {
	e := schemas.NewElem(a)
	if e == nil {
		return nil, false
	}
	var walk func(schemas.Filter) bool
	walk = func(f schemas.Filter) bool {
		switch n := f.(type) {
		case *schemas.And:
			return walk(n.Left) && walk(n.Right)
		case *schemas.Compare:
			if n.Op != schemas.OpEq || n.Path.Attr == nil {
				return false
			}
			var v any
			switch n.Value.Kind {
			case schemas.KindString:
				v = n.Value.Str
			case schemas.KindBool:
				v = n.Value.Bool
			case schemas.KindTime:
				v = n.Value.Time
			default:
				return false
			}
			return schemas.Set(e, n.Path.Attr, v)
		}
		return false
	}
	return e, walk(f)
}

// pinsType reports whether the filter has a `type eq` term (and-joined).
func pinsType(f schemas.Filter) bool {
	switch n := f.(type) {
	case *schemas.And:
		return pinsType(n.Left) || pinsType(n.Right)
	case *schemas.Compare:
		return n.Op == schemas.OpEq && n.Path.Attr != nil && n.Path.Attr.Name == "type"
	}
	return false
}

// json applies an operation to a free-form JSON attribute or a key below it.
func (pt *patcher) json(op string, t patchTarget, v any) error {
	a := t.attr
	var holder any = pt.doc
	if par := a.Parent(); par != nil {
		holder = schemas.SingleElem(pt.u, par, pt.o.AppID, op != "remove")
		if holder == nil {
			return nil
		}
	}
	s, _ := schemas.Get(holder, a).(*map[string]any)
	if s == nil {
		return patchErr(directory.KindInvalidPath, "%s cannot be written", t.name)
	}
	if len(t.keys) == 0 {
		if op == "remove" {
			*s = nil
			return nil
		}
		n, err := schemas.FreeFormObject(v, t.name)
		if err != nil {
			return err
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
	n, err := schemas.NormalizeJSONValue(v, last, len(t.keys)+1) // the value sits len(t.keys) levels below the object
	if err != nil {
		return schemas.ValueErrorf(t.name, "%v", err)
	}
	m[last] = n
	return nil
}

// memberOp reads the membership operation of a members path.
func memberOp(op string, t patchTarget, v any, hasValue bool) (directory.MemberOp, error) {
	if t.sub != nil {
		return directory.MemberOp{}, patchErr(directory.KindInvalidPath, "the sub-attributes of members cannot be changed")
	}
	if t.filter != nil {
		if op != "remove" {
			return directory.MemberOp{}, patchErr(directory.KindInvalidPath, "a members value filter is only supported by remove")
		}
		ids, ok := memberFilterIDs(t.filter, nil)
		if !ok {
			return directory.MemberOp{}, &schemas.FilterError{Expr: t.name, Reason: `a members filter must be value eq "<id>" (joined by or)`}
		}
		return directory.MemberOp{Op: "remove", IDs: ids}, nil
	}
	ids, err := MemberIDs(v)
	if err != nil {
		return directory.MemberOp{}, err
	}
	if op == "remove" && (!hasValue || v == nil) {
		return directory.MemberOp{Op: "clear"}, nil
	}
	return directory.MemberOp{Op: op, IDs: ids}, nil
}

// memberFilterIDs reads the ids of a filter made of `value eq "id"` terms
// joined by or.
func memberFilterIDs(f schemas.Filter, ids []string) ([]string, bool) {
	switch n := f.(type) {
	case *schemas.Or:
		ids, ok := memberFilterIDs(n.Left, ids)
		if !ok {
			return nil, false
		}
		return memberFilterIDs(n.Right, ids)
	case *schemas.Compare:
		if n.Op == schemas.OpEq && n.Path.Attr != nil && n.Path.Attr.Name == "value" && n.Value.Kind == schemas.KindString {
			return append(ids, n.Value.Str), true
		}
	}
	return nil, false
}

// MemberIDs reads a group's members value: a list of {"value": id, …}
// objects (display, $ref and type are ignored, but a type of schemas.Group is
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
				return nil, schemas.ValueErrorf(fmt.Sprintf("members[%d]", i), "groups cannot be members of groups")
			}
			s, _ := id.(string)
			if s == "" {
				return nil, schemas.ValueErrorf(fmt.Sprintf("members[%d]", i), "a member needs a value (the user's id)")
			}
			ids = append(ids, s)
		default:
			return nil, schemas.ValueErrorf(fmt.Sprintf("members[%d]", i), "expected an object with a value, not %s", schemas.JSONTypeName(e))
		}
	}
	return slices.Clip(ids), nil
}
