package scim

import (
	"strings"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/internal/wire"
)

// attributeReturned returns the returned characteristic (RFC 7643 §7) of
// the SCIM attribute a name designates ("userName", "name.givenName",
// "urn:…:enterprise:2.0:User:department"), and false for an unknown name.
// "schemas" is returned always.
func attributeReturned(rt schemas.ResourceType, name string) (schemas.Returned, bool) {
	if strings.EqualFold(name, "schemas") {
		return schemas.ReturnedAlways, true
	}
	t, ok := projectionTarget(rt, name)
	if !ok || t.attr == nil {
		return "", ok && t.attr == nil // a whole extension: default
	}
	a := t.attr
	if t.sub != nil {
		a = t.sub
	}
	return a.Returned, true
}

// projTarget is what an attributes / excludedAttributes name designates: an
// extension container (urn set, attr nil), a top-level attribute of the
// core schema (urn "") or of an extension, or a sub-attribute of one.
type projTarget struct {
	urn  string // "" for the core schema and the common attributes
	attr *schemas.Attribute
	sub  *schemas.Attribute
}

func projectionTarget(rt schemas.ResourceType, name string) (projTarget, bool) {
	urns := schemas.SchemaURNs(rt)
	urn, rest := "", name
	if wire.IsURN(name) {
		urn, rest = schemas.SplitSchemaURN(rt, name)
		if urn == "" {
			return projTarget{}, false
		}
		if schemas.SchemaAttributes(urn) == nil || rest == "" {
			if rest != "" {
				return projTarget{}, false
			}
			return projTarget{urn: urn}, true
		}
	}
	head, subName, dotted := strings.Cut(rest, ".")
	var a *schemas.Attribute
	switch {
	case urn != "":
		a = schemas.FindAttribute(schemas.SchemaAttributes(urn), head)
		if a == nil && urn == urns[0] {
			a = schemas.FindAttribute(schemas.CommonAttributes(rt), head)
		}
	default:
		if a = schemas.FindAttribute(schemas.CommonAttributes(rt), head); a == nil {
			for _, u := range urns {
				if a = schemas.FindAttribute(schemas.SchemaAttributes(u), head); a != nil {
					urn = u
					break
				}
			}
		}
	}
	if a == nil || a.Internal() {
		return projTarget{}, false
	}
	if urn == urns[0] {
		urn = ""
	}
	t := projTarget{urn: urn, attr: a}
	if dotted {
		if t.sub = schemas.FindAttribute(a.SubAttributes, subName); t.sub == nil || t.sub.Internal() {
			return projTarget{}, false
		}
	}
	return t, true
}

// projectSCIM applies the attributes and excludedAttributes parameters
// (RFC 7644 §3.4.2.5, §3.9) to a resource rendered by wire.SCIMUser or SCIMGroup
// and returns the projected copy (resource is not modified):
//
//   - attributes non-empty: only the named attributes are kept, plus those
//     returned:always (id, schemas); a sub-attribute name ("name.givenName",
//     "emails.value") keeps only that part of its parent; an extension URN
//     keeps the whole extension, a URN-qualified name
//     ("urn:…:enterprise:2.0:User:department") that attribute of it;
//   - excludedAttributes removes the named attributes and sub-attributes,
//     except returned:always ones;
//   - returned:request attributes appear only when named in attributes.
//
// Names are case-insensitive; unknown names are ignored. "schemas" is
// recomputed to list only the extensions left in the result.
func projectSCIM(resource map[string]any, rt schemas.ResourceType, attributes, excluded []string) map[string]any {
	urns := schemas.SchemaURNs(rt)
	out := make(map[string]any, len(resource))
	for k, v := range resource {
		out[k] = v
	}
	var targets []projTarget
	for _, n := range attributes {
		if t, ok := projectionTarget(rt, n); ok {
			targets = append(targets, t)
		}
	}
	// returned:request attributes only when asked for
	for _, a := range requestOnly[rt] {
		if !named(targets, "", a) {
			deleteFold(out, a.Name)
		}
	}
	if len(attributes) > 0 {
		keep := map[string]any{}
		for k, v := range out {
			if strings.EqualFold(k, "schemas") {
				keep[k] = v
				continue
			}
			if wire.IsURN(k) {
				urn, _ := schemas.SplitSchemaURN(rt, k)
				if urn == "" {
					continue
				}
				if ext := projectContainer(rt, urn, v, targets); ext != nil {
					keep[k] = ext
				}
				continue
			}
			if v, ok := projectAttr(rt, "", k, v, targets); ok {
				keep[k] = v
			}
		}
		out = keep
	}
	for _, n := range excluded {
		t, ok := projectionTarget(rt, n)
		if !ok {
			continue
		}
		holder := out
		if t.urn != "" {
			key := keyFold(out, t.urn)
			if key == "" {
				continue
			}
			if t.attr == nil {
				delete(out, key)
				continue
			}
			ext, ok := out[key].(map[string]any)
			if !ok {
				continue
			}
			ext = copyMap(ext)
			out[key] = ext
			holder = ext
		}
		if t.attr == nil || t.attr.Returned == schemas.ReturnedAlways {
			continue
		}
		key := keyFold(holder, t.attr.Name)
		if key == "" {
			continue
		}
		if t.sub == nil {
			delete(holder, key)
			continue
		}
		if t.sub.Returned == schemas.ReturnedAlways {
			continue
		}
		if v := dropSub(holder[key], t.sub.Name); v == nil {
			delete(holder, key)
		} else {
			holder[key] = v
		}
	}
	fixSchemas(urns, out)
	return out
}

// named reports whether the targets name attribute a (of schema urn).
func named(targets []projTarget, urn string, a *schemas.Attribute) bool {
	for _, t := range targets {
		if t.urn == urn && t.attr == a {
			return true
		}
	}
	return false
}

// projectAttr projects the attribute key (of schema urn; "" core) of a
// resource or extension: kept whole when named or returned:always, reduced
// to the named sub-attributes when only those are named.
func projectAttr(rt schemas.ResourceType, urn, key string, v any, targets []projTarget) (any, bool) {
	var a *schemas.Attribute
	if urn == "" {
		if a = schemas.FindAttribute(schemas.CommonAttributes(rt), key); a == nil {
			a = schemas.FindAttribute(schemas.SchemaAttributes(schemas.SchemaURNs(rt)[0]), key)
		}
	} else {
		a = schemas.FindAttribute(schemas.SchemaAttributes(urn), key)
	}
	if a == nil {
		return nil, false
	}
	if a.Returned == schemas.ReturnedAlways {
		return v, true
	}
	var subs []string
	for _, t := range targets {
		if t.urn != urn || t.attr != a {
			continue
		}
		if t.sub == nil {
			return v, true
		}
		subs = append(subs, t.sub.Name)
	}
	if subs == nil {
		return nil, false
	}
	r := keepSubs(v, subs)
	return r, r != nil
}

// projectContainer projects an extension container.
func projectContainer(rt schemas.ResourceType, urn string, v any, targets []projTarget) any {
	for _, t := range targets {
		if t.urn == urn && t.attr == nil {
			return v
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for k, x := range m {
		if p, ok := projectAttr(rt, urn, k, x, targets); ok {
			out[k] = p
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// keepSubs keeps only the named sub-attributes of a complex value (an
// object or an array of objects); nil when nothing is left.
func keepSubs(v any, subs []string) any {
	filter := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, x := range m {
			for _, s := range subs {
				if strings.EqualFold(k, s) {
					out[k] = x
				}
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return mapComplex(v, filter)
}

// dropSub removes one sub-attribute from a complex value; nil when nothing is left.
func dropSub(v any, sub string) any {
	return mapComplex(v, func(m map[string]any) map[string]any {
		out := copyMap(m)
		if k := keyFold(out, sub); k != "" {
			delete(out, k)
		}
		if len(out) == 0 {
			return nil
		}
		return out
	})
}

func mapComplex(v any, f func(map[string]any) map[string]any) any {
	switch t := v.(type) {
	case map[string]any:
		if r := f(t); r != nil {
			return r
		}
		return nil
	case []any:
		var out []any
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				if r := f(m); r != nil {
					out = append(out, r)
				}
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func keyFold(m map[string]any, name string) string {
	if _, ok := m[name]; ok {
		return name
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return ""
}

func deleteFold(m map[string]any, name string) {
	if k := keyFold(m, name); k != "" {
		delete(m, k)
	}
}

// fixSchemas makes "schemas" list the core schema and the extensions present
// (all is the resource type's schemas.SchemaURNs).
func fixSchemas(all []string, m map[string]any) {
	key := keyFold(m, "schemas")
	if key == "" {
		return
	}
	urns := []string{all[0]}
	for _, u := range all[1:] {
		if keyFold(m, u) != "" {
			urns = append(urns, u)
		}
	}
	m[key] = urns
}
