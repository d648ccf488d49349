package schemas

import "time"

// The accessor API: what the faces' projections (the SCIM resource format in
// scim/internal/wire, the native format in internal/nativewire) read and
// write of a document, addressed by catalog attribute. The field and element
// enums of accessor.go stay private; an attribute is the one handle a
// projection holds. Element writers (Elems, AppendElem, SingleElem, …) are in
// write.go.

// Parent returns the complex attribute whose elements hold a (emails for
// emails.value), or nil for a top-level attribute.
func (a *Attribute) Parent() *Attribute { return a.acc.parent }

// ValueSub returns the "value" sub-attribute of a complex attribute (the one
// compared when the attribute is compared as a whole), or nil.
func (a *Attribute) ValueSub() *Attribute { return a.acc.valueSub }

// Millis reports whether a dateTime attribute is written on the wire as epoch
// milliseconds on every face (passwordInformation.updated_at), rather than
// RFC 3339.
func (a *Attribute) Millis() bool { return a.acc.millis }

// Stored reports whether a's value is a field of the document (or of an
// element) that Get and Set reach. It is false for complex attributes, for
// the write-only password and for what exists only when rendered (a group
// member's display, a user's groups.display and groups.type).
func (a *Attribute) Stored() bool { return a.acc.field != fNone }

// Get returns where the stored value of a lives in doc, a root document
// (*User, *Group) for a top-level attribute or an element (*Email, *Name,
// *Address, *Manager, *AppLink, …; a group id is a *string) for a
// sub-attribute: a *string, *bool, *time.Time or *map[string]any pointing
// into doc. It returns nil when doc does not hold a (a nil a, a derived or
// computed attribute, the enterprise extension of a user without one). Get
// never modifies doc.
func Get(doc any, a *Attribute) any {
	if a == nil {
		return nil
	}
	return slot(doc, a.acc.field, false)
}

// Set writes v (a string, bool, time.Time or map[string]any as the
// attribute's type says; nil or a value of another type writes the zero
// value) into the stored value of a in doc, as Get locates it, and reports
// whether doc holds a. Setting an enterprise attribute of a user without
// the extension creates it. Derived attributes are written with SetDerived.
func Set(doc any, a *Attribute, v any) bool {
	if a == nil {
		return false
	}
	return store(doc, a.acc.field, v)
}

// EachElem yields the elements of the complex attribute a on doc, in stored
// order: pointers into doc (*Email, *PhoneNumber, *MultiValue, *Address,
// *Name, *Manager, *PasswordCredential, *AppLink; a group id as *string;
// for meta, doc itself). appID selects the application of the app-scoped
// attribute (none without it). Empty single-valued elements (a zero name or
// manager) are not yielded. It stops when yield returns false.
func EachElem(doc any, a *Attribute, appID string, yield func(elem any) bool) {
	readElems(doc, a, &Path{Attr: a, AppID: appID}, yield)
}

// Values yields the values of attribute a read from doc, a root document for
// a top-level attribute or an element EachElem yielded for a sub-attribute:
// non-empty strings, any boolean, non-zero times; a JSON attribute yields
// nothing (see JSONData). Derived attributes (active, primaryEmail, picture,
// meta.version, passwordInformation.expired at now) are computed. It stops
// when yield returns false.
func Values(doc any, a *Attribute, now time.Time, yield func(Value) bool) {
	readValues(doc, a, &Path{Attr: a, Now: now}, yield)
}

// Stored is the value of attribute a on doc (as Values reads it) when it is
// a stored string, boolean or time rather than a derived or free-form one:
// a *string, *bool or *time.Time pointing into doc, nil otherwise (and when
// doc does not hold a). Where it is not nil, Values yields exactly its
// value, unless that is an empty string or a zero time (then nothing): a
// renderer reads it without Values' callback, and falls back to Values
// where it is nil.
func Stored(doc any, a *Attribute) any {
	switch s := slot(doc, a.acc.field, false).(type) {
	case *string, *bool, *time.Time:
		return s
	}
	return nil
}

// JSONData returns the free-form object the JSON attribute a holds on doc
// (custom data; for an app-scoped attribute, that of appID), nil when it has
// none. The map is doc's own: copy it before changing it.
func JSONData(doc any, a *Attribute, appID string) map[string]any {
	return jsonData(doc, a, appID)
}

// ValueErrorf returns a *ValueError for the field at path (as the client
// named it) with a formatted reason.
func ValueErrorf(path, format string, args ...any) *ValueError {
	return valueErr(path, format, args...)
}

// JSONTypeName names the JSON type of a decoded value for messages: "null",
// "a string", "a boolean", "an object", "an array", "a number".
func JSONTypeName(v any) string { return jsonTypeName(v) }

// ParseTime parses a dateTime as filters and writes accept it: RFC 3339 with
// or without fractional seconds (without a zone it is UTC) or a bare date
// (midnight UTC). The result is in UTC.
func ParseTime(s string) (time.Time, bool) { return parseTime(s) }

// NormalizeJSONValue is NormalizeJSONObject for a value (of any JSON type)
// that will sit depth levels below the root of a free-form object (depth 1
// is the object itself); at names where it sits, for messages.
func NormalizeJSONValue(v any, at string, depth int) (any, error) {
	return normalizeJSON(v, at, depth)
}

// ResolveName resolves an attribute name of opt.Resource in opt.Dialect's
// names (simple, dotted, URN-qualified, or nested keys below a JSON
// attribute) without the checks ParsePath makes for sort keys: attributes
// that cannot be filtered on (password, members) resolve too. Its error is
// a *FilterError whose Reason says why the name is unknown.
func ResolveName(name string, opt ParseOptions) (Path, error) {
	p, reason := resolveName(catalogFor(opt.Resource), name, opt, false)
	if reason != "" {
		return Path{}, &FilterError{Expr: name, Reason: reason}
	}
	return p, nil
}

// ParsePatchFilter parses the value selection of a SCIM PATCH path
// ("emails[type eq \"work\"]") as ParseFilter parses a filter, except that
// attributes that cannot be searched on (a group's members) may be filtered
// on: the filter selects elements of one resource. Every error is a
// *FilterError.
func ParsePatchFilter(expr string, opt ParseOptions) (Filter, error) {
	return parseFilter(expr, opt, true)
}

// MatchElem reports whether one element of a complex attribute (a pointer
// EachElem yielded) matches f, a filter on that attribute's sub-attributes
// (the Filter of a *ValuePath).
func MatchElem(f Filter, elem any) bool { return match(f, elem, true) }

// JSONExtension returns the JSON attribute holding the free-form extension
// urn of resource type rt (customData for CustomDataURN, apps.customAppData
// for CustomAppDataURN), or nil when urn is not a free-form extension of rt.
func JSONExtension(rt ResourceType, urn string) *Attribute {
	return catalogFor(rt).jsonURN[urn]
}
