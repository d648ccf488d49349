package wire

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/scimd/scimd/internal/jsonw"
	"github.com/scimd/scimd/schemas"
)

// The SCIM renderer writes a resource's JSON text straight from the
// document, walking the catalog, without building a map of it first: a GET
// answers with these bytes, a list appends them in turn, and only the
// requests that need a value to work on (projection by attributes or
// excludedAttributes, Transmit's merging PUT) decode them (SCIMUser,
// SCIMGroup). The text is byte for byte what jsonw (and encoding/json) write
// for the decoded value: members in the byte order of their keys, compact,
// HTML characters not escaped.

// scimRender renders catalog attributes of one document.
type scimRender struct {
	o SCIMOptions
	// meta.location of the document is o.BaseURL + endpoint + "/" + id,
	// written in pieces (no string made per resource); none when endpoint
	// is "".
	endpoint, id string
}

// field is an attribute and its member's key as written (`"name":`), with
// what rendering it needs from the attribute worked out once, when the
// renderer's lists are made: rendering reads the fields of a list in turn
// rather than each attribute's catalog entry and a map of sorted lists.
type field struct {
	attr *schemas.Attribute
	key  string
	how  fieldRender
	subs []field // a complex attribute's sub-attributes, by name
	// primary: the attribute is "primary", omitted when false in an
	// element of a multi-valued attribute.
	primary bool
}

// fieldRender is how an attribute's value is rendered.
type fieldRender uint8

const (
	renderValue        fieldRender = iota // its first value (schemas.Values)
	renderHidden                          // never: scimd-internal, or returned:never
	renderComplex                         // its elements' sub-attributes
	renderGroupDisplay                    // groups.display: the group's displayName
	renderLocation                        // meta.location: the resource's URL
	renderGroupRef                        // groups.$ref: the group's URL
	renderVersion                         // meta.version: the ETag
)

func newField(a *schemas.Attribute) field {
	f := field{attr: a, key: quotedKey(a.Name), primary: a.Name == "primary"}
	switch {
	case a.Internal() || a.Returned == schemas.ReturnedNever:
		f.how = renderHidden
	case a.Type == schemas.TypeComplex:
		f.how, f.subs = renderComplex, sortFields(a.SubAttributes)
	case a.Canonical == "groups.display":
		f.how = renderGroupDisplay
	case a.Canonical == "meta.location":
		f.how = renderLocation
	case a.Canonical == "groups.$ref":
		f.how = renderGroupRef
	case a.Canonical == "meta.version":
		f.how = renderVersion
	}
	return f
}

// quotedKey is name written as a member's key: `"name":`.
func quotedKey(name string) string { return string(append(jsonw.AppendString(nil, name, false), ':')) }

// member appends the member key: <value of f's attribute on doc> to the
// object being written in dst, which has n members so far, and returns the
// new count. Nothing is appended when the attribute has no value to show.
func (r *scimRender) member(dst []byte, n int, doc any, f *field, omitFalse bool) ([]byte, int, error) {
	if f.how == renderHidden {
		return dst, n, nil
	}
	mark := len(dst)
	dst = appendKey(dst, n, f.key)
	at := len(dst)
	dst, ok, err := r.field(dst, doc, f)
	if err != nil || !ok || omitFalse && string(dst[at:]) == "false" {
		return dst[:mark], n, err
	}
	return dst, n + 1, nil
}

// field appends the JSON value of f's attribute of doc (a root document, or
// an element for a sub-attribute); ok is false, and dst unchanged, when it
// has no value to show.
func (r *scimRender) field(dst []byte, doc any, f *field) ([]byte, bool, error) {
	a := f.attr
	switch f.how {
	case renderHidden:
		return dst, false, nil
	case renderComplex:
		return r.complex(dst, doc, f)
	case renderGroupDisplay:
		if id, ok := doc.(*string); ok && r.o.GroupDisplay != nil {
			if d := r.o.GroupDisplay.GroupDisplay(*id); d != "" {
				return jsonw.AppendString(dst, d, false), true, nil
			}
		}
		return dst, false, nil
	case renderLocation:
		if r.endpoint == "" {
			return dst, false, nil
		}
		return appendURL(dst, r.o.BaseURL, r.endpoint, r.id), true, nil
	case renderGroupRef:
		if id, ok := doc.(*string); ok && r.o.BaseURL != "" {
			base := r.o.BaseURL
			if r.o.GroupsURL != "" {
				base = r.o.GroupsURL
			}
			return appendURL(dst, base, "/Groups/", *id), true, nil
		}
		return dst, false, nil
	case renderVersion:
		// The ETag W/"<version>" (none for version 0), written without
		// making its string.
		if v, ok := version(doc); ok {
			if v == 0 {
				return dst, false, nil
			}
			return append(strconv.AppendInt(append(dst, `"W/\"`...), v, 10), `\""`...), true, nil
		}
	}
	// A stored value is read where it is; a derived one through Values.
	var v schemas.Value
	switch s := schemas.Stored(doc, a).(type) {
	case *string:
		if *s == "" {
			return dst, false, nil
		}
		return jsonw.AppendString(dst, *s, false), true, nil
	case *bool:
		return strconv.AppendBool(dst, *s), true, nil
	case *time.Time:
		if s.IsZero() {
			return dst, false, nil
		}
		v = schemas.Value{Kind: schemas.KindTime, Time: *s}
	default:
		found := false
		schemas.Values(doc, a, r.o.Now, func(x schemas.Value) bool {
			v, found = x, true
			return false
		})
		if !found {
			return dst, false, nil
		}
	}
	switch v.Kind {
	case schemas.KindString:
		return jsonw.AppendString(dst, v.Str, false), true, nil
	case schemas.KindBool:
		return strconv.AppendBool(dst, v.Bool), true, nil
	case schemas.KindTime:
		if !a.Millis() {
			return append(schemas.AppendWireTime(append(dst, '"'), v.Time), '"'), true, nil
		}
	}
	dst, err := jsonw.Append(dst, schemas.RenderValue(v, a.Millis()), false)
	return dst, err == nil, err
}

// appendURL appends the JSON string base+endpoint+id without making it.
func appendURL(dst []byte, base, endpoint, id string) []byte {
	dst = jsonw.AppendString(dst, base, false)
	dst = append(dst[:len(dst)-1], endpoint...) // endpoint is plain ASCII
	at := len(dst)
	dst = jsonw.AppendString(dst, id, false)
	copy(dst[at:], dst[at+1:]) // drop id's opening quote
	return dst[:len(dst)-1]
}

// version is the version of a root document (a user or a group).
func version(doc any) (int64, bool) {
	switch d := doc.(type) {
	case *schemas.User:
		return d.Version, true
	case *schemas.Group:
		return d.Version, true
	}
	return 0, false
}

// value is attr's value decoded (a string, a bool, a json.Number, a
// map[string]any or a []any); ok is false when a has no value to show.
func (r *scimRender) value(doc any, a *schemas.Attribute) (any, bool) {
	b, ok, err := r.field(nil, doc, fieldOf(a))
	if err != nil || !ok {
		return nil, false
	}
	v, err := jsonw.Decode(b)
	return v, err == nil
}

// complex appends the elements of f's complex attribute that have something
// to show: an array when it is multi-valued, else the first one.
func (r *scimRender) complex(dst []byte, doc any, f *field) ([]byte, bool, error) {
	a := f.attr
	mark := len(dst)
	if a.MultiValued {
		dst = append(dst, '[')
	}
	n := 0
	var err error
	subs := f.subs
	schemas.EachElem(doc, a, r.o.AppID, func(e any) bool {
		at := len(dst)
		if n > 0 {
			dst = append(dst, ',')
		}
		var m int
		if dst, m, err = r.object(append(dst, '{'), 0, e, subs, a.MultiValued); err != nil {
			return false
		}
		if m == 0 {
			dst = dst[:at]
			return true
		}
		dst = append(dst, '}')
		n++
		return a.MultiValued
	})
	if err != nil || n == 0 {
		return dst[:mark], false, err
	}
	if a.MultiValued {
		dst = append(dst, ']')
	}
	return dst, true, nil
}

// object appends the members of fields (sorted by name) of doc to an
// object that has n members so far. In the elements of a multi-valued
// attribute a false "primary" is the default and is omitted.
func (r *scimRender) object(dst []byte, n int, doc any, fields []field, elemOfMulti bool) ([]byte, int, error) {
	var err error
	for i := range fields {
		f := &fields[i]
		if dst, n, err = r.member(dst, n, doc, f, elemOfMulti && f.primary); err != nil {
			return dst, n, err
		}
	}
	return dst, n, nil
}

// catalogFields is the field of every attribute of the catalog
// (sub-attributes included), for value: made once at start, then only read.
var catalogFields = func() map[*schemas.Attribute]*field {
	m := map[*schemas.Attribute]*field{}
	var add func(fields []field)
	add = func(fields []field) {
		for i := range fields {
			if f := &fields[i]; m[f.attr] == nil {
				m[f.attr] = f
				add(f.subs)
			}
		}
	}
	for _, rt := range []schemas.ResourceType{schemas.UserResource, schemas.GroupResource} {
		add(sortFields(schemas.CommonAttributes(rt)))
		for _, urn := range schemas.SchemaURNs(rt) {
			add(sortFields(schemas.SchemaAttributes(urn)))
		}
	}
	return m
}()

// fieldOf is the field of attribute a.
func fieldOf(a *schemas.Attribute) *field {
	if f, ok := catalogFields[a]; ok {
		return f
	}
	f := newField(a) // not a catalog attribute
	return &f
}

// sortFields returns the fields of attrs sorted by name in byte order, the
// order their members take in a JSON object.
func sortFields(attrs []*schemas.Attribute) []field {
	s := make([]field, len(attrs))
	for i, a := range attrs {
		s[i] = newField(a)
	}
	slices.SortStableFunc(s, func(x, y field) int { return cmp.Compare(x.attr.Name, y.attr.Name) })
	return s
}

// topKey is one member of a resource's top level, in key order: a
// top-level attribute, "schemas", or an extension's container.
type topKey struct {
	name  string
	field     // key: the quoted name; attr: a core or common attribute, or nil
	ext   int // 1 + the index of the extension in the resource type's SchemaURNs[1:]; 0: none
}

// topKeys lists the top-level members a resource of type rt can have, in
// key order.
func topKeys(rt schemas.ResourceType) []topKey {
	urns := schemas.SchemaURNs(rt)
	var keys []topKey
	for _, list := range [][]*schemas.Attribute{schemas.CommonAttributes(rt), schemas.SchemaAttributes(urns[0])} {
		for _, a := range list {
			keys = append(keys, topKey{name: a.Name, field: newField(a)})
		}
	}
	keys = append(keys, topKey{name: "schemas", field: field{key: quotedKey("schemas")}})
	for i, urn := range urns[1:] {
		keys = append(keys, topKey{name: urn, field: field{key: quotedKey(urn)}, ext: i + 1})
	}
	slices.SortStableFunc(keys, func(x, y topKey) int { return cmp.Compare(x.name, y.name) })
	return keys
}

// userExt is an extension of the User resource type as AppendSCIMUser
// renders it: free-form JSON data (ja), or catalog attributes (fields, by
// name).
type userExt struct {
	urn    string
	ja     *schemas.Attribute
	fields []field
}

var (
	userKeys = topKeys(schemas.UserResource)
	userURNs = schemas.SchemaURNs(schemas.UserResource)
	userExts = func() []userExt {
		var exts []userExt
		for _, urn := range userURNs[1:] {
			exts = append(exts, userExt{urn: urn, ja: schemas.JSONExtension(schemas.UserResource, urn), fields: sortFields(schemas.SchemaAttributes(urn))})
		}
		return exts
	}()
	groupKeys  = topKeys(schemas.GroupResource)
	groupURNs  = schemas.SchemaURNs(schemas.GroupResource)
	extBuffers = sync.Pool{New: func() any { return new([]byte) }}
)

// AppendSCIMUser appends u rendered as a SCIM User resource (RFC 7643 §4.1)
// derived from the catalog: "schemas" (core, then each extension present:
// enterprise when set, UserExtended always, CustomAppData when o.AppID is
// set and the user has data for it, CustomData when the user has tenant
// custom data), id, externalId, meta (resourceType, created, lastModified,
// location, version), and every attribute that has a value; empty values,
// nulls and empty arrays are omitted, returned:never attributes (password)
// never appear, and scimd-internal sub-attributes (email verification) are
// not shown. groups is rendered from GroupIDs as [{value, $ref}]. Times are
// RFC 3339 in UTC with milliseconds, except UserExtended
// passwordInformation.updated_at (epoch ms, as Transmit). The only error is
// a free-form value JSON cannot hold (a NaN), on which dst is returned as
// it was.
func AppendSCIMUser(dst []byte, u *schemas.User, o SCIMOptions) ([]byte, error) {
	r := &scimRender{o: o}
	if o.BaseURL != "" && u.ID != "" {
		r.endpoint, r.id = "/Users/", u.ID
	}
	// The extensions first, aside: "schemas" lists those present, and
	// comes before them.
	bp := extBuffers.Get().(*[]byte)
	defer extBuffers.Put(bp)
	ext := (*bp)[:0]
	var spans [8][2]int
	if len(userURNs) > len(spans) {
		panic("wire: more user extensions than AppendSCIMUser holds")
	}
	mark := len(dst)
	for i, x := range userExts {
		start := len(ext)
		if x.ja != nil {
			if data := schemas.JSONData(u, x.ja, o.AppID); len(data) > 0 {
				var err error
				if ext, err = jsonw.Append(ext, data, false); err != nil {
					*bp = ext[:0]
					return dst[:mark], err
				}
			}
		} else {
			var n int
			var err error
			if ext, n, err = r.object(append(ext, '{'), 0, u, x.fields, false); err != nil {
				*bp = ext[:0]
				return dst[:mark], err
			}
			if n > 0 || x.urn == schemas.UserExtendedURN {
				ext = append(ext, '}')
			} else {
				ext = ext[:start]
			}
		}
		spans[i] = [2]int{start, len(ext)}
	}
	*bp = ext[:0]
	dst = append(dst, '{')
	n := 0
	for i := range userKeys {
		k := &userKeys[i]
		switch {
		case k.attr != nil:
			var err error
			if dst, n, err = r.member(dst, n, u, &k.field, false); err != nil {
				return dst[:mark], err
			}
			continue
		case k.ext > 0:
			sp := spans[k.ext-1]
			if sp[0] == sp[1] {
				continue
			}
			dst = appendKey(dst, n, k.key)
			dst = append(dst, ext[sp[0]:sp[1]]...)
		default: // schemas
			dst = appendKey(dst, n, k.key)
			dst = append(dst, '[')
			dst = jsonw.AppendString(dst, userURNs[0], false)
			for i, urn := range userURNs[1:] {
				if spans[i][0] != spans[i][1] {
					dst = jsonw.AppendString(append(dst, ','), urn, false)
				}
			}
			dst = append(dst, ']')
		}
		n++
	}
	return append(dst, '}'), nil
}

// appendKey appends the quoted key (`"name":`) of an object's next member
// (which has n so far).
func appendKey(dst []byte, n int, key string) []byte {
	if n > 0 {
		dst = append(dst, ',')
	}
	return append(dst, key...)
}

// AppendSCIMGroup appends g rendered as a SCIM Group resource (RFC 7643
// §4.2): schemas, id, externalId, displayName, meta (location
// BaseURL+"/Groups/"+id), the read-only schemas.GroupExtendedURN extension
// with the native description and custom_data (when the group has any), and
// members as given (membership lives on the users, so the caller resolves
// it): each {value, display?, type?, $ref?} with $ref BaseURL+"/Users/"+value
// for members of type "User" (or without a type). Nil or empty members: no
// "members" attribute. The only error is a free-form value JSON cannot hold
// (a NaN), on which dst is returned as it was.
func AppendSCIMGroup(dst []byte, g *schemas.Group, members []SCIMMember, o SCIMOptions) ([]byte, error) {
	r := &scimRender{o: o}
	if o.BaseURL != "" && g.ID != "" {
		r.endpoint, r.id = "/Groups/", g.ID
	}
	mark := len(dst)
	withExt := g.Description != "" || len(g.CustomData) > 0
	dst = append(dst, '{')
	n := 0
	for i := range groupKeys {
		k := &groupKeys[i]
		switch {
		case k.attr != nil && k.attr.Name == "members" && len(members) > 0:
			dst = appendKey(dst, n, k.key)
			dst = appendMembers(dst, members, o.BaseURL)
		case k.attr != nil:
			var err error
			if dst, n, err = r.member(dst, n, g, &k.field, false); err != nil {
				return dst[:mark], err
			}
			continue
		case k.ext > 0:
			if !withExt || groupURNs[k.ext] != schemas.GroupExtendedURN {
				continue
			}
			// The native-only data, read-only here (written on the native face).
			dst = append(appendKey(dst, n, k.key), '{')
			if len(g.CustomData) > 0 {
				var err error
				dst = append(dst, `"customData":`...)
				if dst, err = jsonw.Append(dst, g.CustomData, false); err != nil {
					return dst[:mark], err
				}
			}
			if g.Description != "" {
				if len(g.CustomData) > 0 {
					dst = append(dst, ',')
				}
				dst = jsonw.AppendString(append(dst, `"description":`...), g.Description, false)
			}
			dst = append(dst, '}')
		default: // schemas: every schema of the type when the extension is there
			dst = append(appendKey(dst, n, k.key), '[')
			for i, urn := range groupURNs {
				if i > 0 && !withExt {
					break
				}
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = jsonw.AppendString(dst, urn, false)
			}
			dst = append(dst, ']')
		}
		n++
	}
	return append(dst, '}'), nil
}

// appendMembers appends a group's members as an array of {$ref?, display?,
// type?, value}.
func appendMembers(dst []byte, members []SCIMMember, baseURL string) []byte {
	dst = append(dst, '[')
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		if baseURL != "" && (m.Type == "" || m.Type == "User") {
			dst = append(appendURL(append(dst, `"$ref":`...), baseURL, "/Users/", m.Value), ',')
		}
		if m.Display != "" {
			dst = append(jsonw.AppendString(append(dst, `"display":`...), m.Display, false), ',')
		}
		if m.Type != "" {
			dst = append(jsonw.AppendString(append(dst, `"type":`...), m.Type, false), ',')
		}
		dst = jsonw.AppendString(append(dst, `"value":`...), m.Value, false)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// SCIMUser is AppendSCIMUser's resource decoded, for the requests that work
// on its value (projection, Transmit's merging PUT): objects are
// map[string]any, arrays []any.
func SCIMUser(u *schemas.User, o SCIMOptions) (map[string]any, error) {
	b, err := AppendSCIMUser(nil, u, o)
	if err != nil {
		return nil, err
	}
	return decodeObject(b)
}

// SCIMGroup is AppendSCIMGroup's resource decoded, as SCIMUser.
func SCIMGroup(g *schemas.Group, members []SCIMMember, o SCIMOptions) (map[string]any, error) {
	b, err := AppendSCIMGroup(nil, g, members, o)
	if err != nil {
		return nil, err
	}
	return decodeObject(b)
}

func decodeObject(b []byte) (map[string]any, error) {
	v, err := jsonw.Decode(b)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}
