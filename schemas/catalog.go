package schemas

import (
	"slices"
	"strings"
)

// A catalog is the attribute catalog of one resource type: the entries, the
// SCIM schemas they belong to and the native names that reach them.
type catalog struct {
	resource ResourceType
	// top lists the top-level canonical attributes in declaration order.
	top []*Attribute
	// byCanonical indexes every entry, sub-attributes included.
	byCanonical map[string]*Attribute
	// schemas lists, per SCIM schema URN, its top-level attributes in RFC order
	// (common attributes id, externalId and meta excluded).
	schemas map[string][]*Attribute
	// common are the RFC 7643 §3.1 common attributes (id, externalId, meta).
	common []*Attribute
	// order is the schema search order for names without a URN prefix.
	order []string
	// jsonURN maps an extension URN whose attributes are free-form to the JSON
	// attribute holding them.
	jsonURN map[string]*Attribute
	// native maps a lower-cased native field name to its entry.
	native map[string]*Attribute
	// nativeJSON maps a lower-cased native prefix (custom_data) to a JSON entry
	// addressed with nested keys.
	nativeJSON map[string]*Attribute
	// apps is the app-scoped complex attribute (users only).
	apps *Attribute
}

// ---- builders ----

// attr returns a simple readWrite, default-returned, non-unique attribute.
func attr(name, canonical string, t Type, f field) *Attribute {
	return &Attribute{
		Name: name, Canonical: canonical, Type: t,
		Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: UniqueNone,
		acc: accessor{field: f},
	}
}

// complexAttr returns a complex attribute whose elements are enumerated by e.
// Sub-attribute canonical paths are given relative to it and prefixed here.
func complexAttr(name, canonical string, e elems, subs ...*Attribute) *Attribute {
	a := attr(name, canonical, TypeComplex, fNone)
	a.acc.elems = e
	a.SubAttributes = subs
	for _, s := range subs {
		s.Canonical = canonical + "." + s.Canonical
		s.acc.parent = a
		if strings.EqualFold(s.Name, "value") {
			a.acc.valueSub = s
		}
	}
	return a
}

func (a *Attribute) exact() *Attribute              { a.CaseExact = true; return a }
func (a *Attribute) required() *Attribute           { a.Required = true; return a }
func (a *Attribute) multi() *Attribute              { a.MultiValued = true; return a }
func (a *Attribute) mut(m Mutability) *Attribute    { a.Mutability = m; return a }
func (a *Attribute) ret(r Returned) *Attribute      { a.Returned = r; return a }
func (a *Attribute) unique(u Uniqueness) *Attribute { a.Uniqueness = u; return a }
func (a *Attribute) values(v ...string) *Attribute  { a.CanonicalValues = v; return a }
func (a *Attribute) refs(r ...string) *Attribute    { a.ReferenceTypes = r; return a }
func (a *Attribute) desc(d string) *Attribute       { a.Description = d; return a }
func (a *Attribute) keyed() *Attribute              { a.acc.keyed = true; return a }
func (a *Attribute) internal() *Attribute           { a.acc.internal = true; return a }

// Internal reports whether a is scimd-internal: part of the canonical model
// but of no SCIM schema (the native-only attributes, emails.verified…). The
// SCIM face neither renders it nor lets a client name it.
func (a *Attribute) Internal() bool     { return a.acc.internal }
func (a *Attribute) millis() *Attribute { a.acc.millis = true; return a }
func (a *Attribute) noFilter(why string) *Attribute {
	a.acc.noFilter = why
	return a
}

// readOnlyTree marks a and its sub-attributes readOnly.
func (a *Attribute) readOnlyTree() *Attribute {
	a.Mutability = ReadOnly
	for _, s := range a.SubAttributes {
		s.readOnlyTree()
	}
	return a
}

// newCatalog indexes the entries. schemaAttrs lists each SCIM schema's
// top-level attributes; common the common attributes (which belong to the
// first schema); nativeOnly the top-level attributes without SCIM form.
func newCatalog(rt ResourceType, order []string, schemaAttrs map[string][]*Attribute, common, nativeOnly []*Attribute) *catalog {
	c := &catalog{
		resource:    rt,
		byCanonical: map[string]*Attribute{},
		schemas:     schemaAttrs,
		common:      common,
		order:       order,
		jsonURN:     map[string]*Attribute{},
		native:      map[string]*Attribute{},
		nativeJSON:  map[string]*Attribute{},
	}
	var index func(a *Attribute, urn string)
	index = func(a *Attribute, urn string) {
		if urn != "" && a.SchemaURN == "" && !a.acc.internal {
			a.SchemaURN = urn
		}
		if _, dup := c.byCanonical[a.Canonical]; !dup {
			c.byCanonical[a.Canonical] = a
		}
		for _, s := range a.SubAttributes {
			index(s, a.SchemaURN)
		}
	}
	add := func(a *Attribute, urn string) {
		index(a, urn)
		if a.acc.parent == nil && !containsAttr(c.top, a) {
			c.top = append(c.top, a)
		}
	}
	for _, a := range common {
		add(a, order[0])
	}
	for _, urn := range order {
		for _, a := range schemaAttrs[urn] {
			add(a, urn)
		}
	}
	for _, a := range nativeOnly {
		add(a, "")
	}
	return c
}

func containsAttr(list []*Attribute, a *Attribute) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// alias registers native names for an entry.
func (c *catalog) alias(a *Attribute, names ...string) {
	for _, n := range names {
		c.native[strings.ToLower(n)] = a
	}
}

// ---- exported lookups ----

// UserAttributeByCanonical returns the User catalog entry with the canonical
// path (e.g. "userName", "emails.value", "primaryAddress.locality",
// "customData", "apps.customAppData"), or nil.
func UserAttributeByCanonical(canonical string) *Attribute {
	return userCatalog.byCanonical[canonical]
}

// GroupAttributeByCanonical returns the Group catalog entry with the canonical
// path (e.g. "displayName", "customData"), or nil.
func GroupAttributeByCanonical(canonical string) *Attribute {
	return groupCatalog.byCanonical[canonical]
}

// UserAttributes returns the top-level entries of the User catalog: the SCIM
// common attributes, every attribute of the User schemas and the native-only
// (derived and app-scoped) attributes. The slice is shared: do not modify it.
func UserAttributes() []*Attribute { return userCatalog.top }

// SchemaAttributes returns the attributes a SCIM schema declares, in RFC
// order, as served at /Schemas/<urn>: the core User and Group schemas (without
// the common attributes id, externalId and meta, as in RFC 7643 §8.7.1), the
// enterprise and UserExtended extensions. The free-form extensions
// (CustomAppData, CustomData) declare no attributes. Sub-attributes whose
// SchemaURN is empty are scimd-internal (e.g. emails.verified) and are not part
// of the SCIM schema. It returns nil for an unknown URN.
func SchemaAttributes(urn string) []*Attribute {
	if a, ok := userCatalog.schemas[urn]; ok {
		return a
	}
	return groupCatalog.schemas[urn]
}

// CommonAttributes returns the RFC 7643 §3.1 common attributes (id,
// externalId, meta) of the resource type.
func CommonAttributes(rt ResourceType) []*Attribute {
	return catalogFor(rt).common
}

// SchemaURNs returns the schema URNs of a resource type, derived from the
// catalog: the core schema first, then the extensions with attributes in
// catalog order, then the free-form (JSON) extensions in URN order — the
// order in which a SCIM resource lists the ones it carries. The list is
// made once (the catalog is fixed) and shared: callers must not change it
// (appending copies it).
func SchemaURNs(rt ResourceType) []string {
	if rt == GroupResource {
		return groupSchemaURNs
	}
	return userSchemaURNs
}

var (
	userSchemaURNs  = schemaURNsOf(userCatalog)
	groupSchemaURNs = schemaURNsOf(groupCatalog)
)

func schemaURNsOf(c *catalog) []string {
	urns := append(slices.Clone(c.order), jsonURNs(c)...)
	return urns[:len(urns):len(urns)]
}

// SplitSchemaURN splits a URN-qualified SCIM name of resource type rt
// ("urn:…:enterprise:2.0:User:department") into the schema URN as the
// catalog spells it and the rest ("department"); a bare schema URN (an
// extension container's key) gives rest "". urn is "" when the name starts
// with no schema URN of rt.
func SplitSchemaURN(rt ResourceType, name string) (urn, rest string) {
	return schemaURN(catalogFor(rt), name)
}

// schemaURN is splitURN that also accepts a bare schema URN (an extension
// container key): rest is then "".
func schemaURN(c *catalog, name string) (urn, rest string) {
	for u := range c.schemas {
		if strings.EqualFold(u, name) {
			return u, ""
		}
	}
	for u := range c.jsonURN {
		if strings.EqualFold(u, name) {
			return u, ""
		}
	}
	return splitURN(c, name)
}

// jsonURNs lists the free-form extensions of a catalog in a stable order.
func jsonURNs(c *catalog) []string {
	urns := make([]string, 0, len(c.jsonURN))
	for urn := range c.jsonURN {
		urns = append(urns, urn)
	}
	slices.Sort(urns)
	return urns
}

func catalogFor(rt ResourceType) *catalog {
	if rt == GroupResource {
		return groupCatalog
	}
	return userCatalog
}
