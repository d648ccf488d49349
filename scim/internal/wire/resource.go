package wire

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

// SCIMOptions is the context a SCIM resource is rendered or written in.
type SCIMOptions struct {
	// AppID is the calling application: its custom_app_data is the
	// CustomAppData extension. "" (an admin token): the extension is absent
	// from renders, and a body carrying it is rejected.
	AppID string
	// BaseURL is the absolute base of the SCIM endpoint, e.g.
	// "https://h/cis/scim"; meta.location is BaseURL+"/Users/"+id and
	// groups.$ref BaseURL+"/Groups/"+id. "": no location, no $ref.
	BaseURL string
	// GroupsURL, when set, replaces BaseURL in groups.$ref (a base that
	// serves users only points to the groups of another).
	GroupsURL string
	// Now stamps the updated_at of an address a write creates or changes,
	// and is the time passwordInformation.expired is rendered at. The
	// caller passes the directory's clock (directory.Service.Now): schemas
	// reads no clock of its own.
	Now time.Time
	// GroupDisplay, when set, names a group for a user's groups.display
	// (the group's displayName; "" leaves display out).
	GroupDisplay GroupNamer
}

// GroupNamer names a group for a user's groups.display: its displayName, or
// "" to leave display out. An interface rather than a func so that a
// request's own state (a pointer) serves without a closure allocated per
// request.
type GroupNamer interface {
	GroupDisplay(groupID string) string
}

// SCIMMember is one member of a group as SCIMGroup renders it. Membership is
// stored on the users, so the caller resolves it.
type SCIMMember struct {
	Value   string // the member's id
	Display string // optional, e.g. the member's userName
	Type    string // "User"
}

// ---- writing ----

// scimSet is one attribute a body assigns, with the key as the client wrote it.
type scimSet struct {
	value any
	path  string
}

// scimBody is a SCIM body resolved against a catalog: the attributes it
// assigns, ignoring unknown names, unknown schema URNs and "schemas".
type scimBody struct {
	rt   schemas.ResourceType
	sets map[*schemas.Attribute]scimSet
	// nulled lists the extension schemas whose container the body sets to
	// null (a merge clears their attributes; a replace clears them anyway).
	nulled []string
}

// IsURN reports whether a SCIM name starts with a schema URN ("urn:",
// any case): a URN-qualified attribute name or an extension's key.
func IsURN(s string) bool { return len(s) > 4 && strings.EqualFold(s[:4], "urn:") }

func resolveSCIMBody(rt schemas.ResourceType, body map[string]any) (*scimBody, error) {
	// Sized for the body's keys (an extension container's count as one):
	// the map is not grown as a create's dozen attributes are added.
	b := &scimBody{rt: rt, sets: make(map[*schemas.Attribute]scimSet, len(body))}
	core := schemas.SchemaURNs(rt)[0]
	var keys [24]string
	for _, key := range sortedKeys(body, keys[:0]) {
		v := body[key]
		if strings.EqualFold(key, "schemas") {
			continue
		}
		if !IsURN(key) {
			if err := b.add(core, key, v, key); err != nil {
				return nil, err
			}
			continue
		}
		urn, rest := schemas.SplitSchemaURN(rt, key)
		ja := schemas.JSONExtension(rt, urn)
		switch {
		case urn == "":
			// an unknown schema (Entra's ADSCIM group URN): ignored
		case ja != nil:
			if rest == "" {
				if err := b.set(ja, v, key); err != nil {
					return nil, err
				}
			}
		case rest != "":
			if err := b.add(urn, rest, v, key); err != nil {
				return nil, err
			}
		default: // an extension container
			if v == nil {
				if urn != core {
					b.nulled = append(b.nulled, urn)
				}
				continue
			}
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, schemas.ValueErrorf(key, "expected an object, not %s", schemas.JSONTypeName(v))
			}
			var keys [24]string
			for _, k := range sortedKeys(obj, keys[:0]) {
				if err := b.add(urn, k, obj[k], key+":"+k); err != nil {
					return nil, err
				}
			}
		}
	}
	return b, nil
}

// inNulled reports whether a is an attribute of an extension whose
// container the body sets to null.
func (b *scimBody) inNulled(a *schemas.Attribute) bool {
	for _, urn := range b.nulled {
		if slices.Contains(schemas.SchemaAttributes(urn), a) {
			return true
		}
	}
	return false
}

// add records name (an attribute of the schema urn, or a common attribute
// for the core schema) as assigned; unknown names are ignored.
func (b *scimBody) add(urn, name string, v any, path string) error {
	a := schemas.FindAttribute(schemas.SchemaAttributes(urn), name)
	if a == nil && urn == schemas.SchemaURNs(b.rt)[0] {
		a = schemas.FindAttribute(schemas.CommonAttributes(b.rt), name)
	}
	if a == nil {
		return nil
	}
	return b.set(a, v, path)
}

func (b *scimBody) set(a *schemas.Attribute, v any, path string) error {
	if prev, dup := b.sets[a]; dup {
		return schemas.ValueErrorf(path, "attribute is given twice (also as %q)", prev.path)
	}
	b.sets[a] = scimSet{value: v, path: path}
	return nil
}

// scimScalar converts a JSON value to the Go value of a simple attribute:
// a string, a bool (accepting "true"/"false" in any case) or a time.Time.
// null is the zero value.
func scimScalar(a *schemas.Attribute, v any, path string) (any, error) {
	return scimScalarAt(a, v, path, "")
}

// scimScalarAt is scimScalar of the value at path.sub (at path when sub is
// ""): the path is joined only for an error. A string (or bool) value is
// returned as given, not boxed again.
func scimScalarAt(a *schemas.Attribute, v any, path, sub string) (any, error) {
	at := func() string {
		if sub == "" {
			return path
		}
		return path + "." + sub
	}
	if v == nil {
		return nil, nil
	}
	switch a.Type {
	case schemas.TypeBoolean:
		switch t := v.(type) {
		case bool:
			return v, nil
		case string:
			if strings.EqualFold(t, "true") {
				return true, nil
			}
			if strings.EqualFold(t, "false") {
				return false, nil
			}
		}
		return nil, schemas.ValueErrorf(at(), "expected a boolean, not %s", schemas.JSONTypeName(v))
	case schemas.TypeDateTime:
		if s, ok := v.(string); ok {
			if t, ok := schemas.ParseTime(s); ok {
				return t, nil
			}
		}
		return nil, schemas.ValueErrorf(at(), "expected a date-time such as \"2024-05-01T12:00:00Z\"")
	case schemas.TypeComplex, schemas.TypeJSON:
		return nil, schemas.ValueErrorf(at(), "expected an object, not %s", schemas.JSONTypeName(v))
	}
	if _, ok := v.(string); !ok {
		return nil, schemas.ValueErrorf(at(), "expected a string, not %s", schemas.JSONTypeName(v))
	}
	return v, nil
}

// scimOwned lists the fields of a complex attribute's elements a SCIM
// client writes: its SCIM, writable sub-attributes. The list is made once
// per attribute (the catalog is fixed) and shared: callers must not change
// it.
func scimOwned(a *schemas.Attribute) []*schemas.Attribute {
	if owned, ok := ownedSubs.Load(a); ok {
		return owned.([]*schemas.Attribute)
	}
	owned := scimOwnedOf(a)
	ownedSubs.Store(a, owned)
	return owned
}

// ownedSubs holds scimOwned's lists by attribute.
var ownedSubs sync.Map

func scimOwnedOf(a *schemas.Attribute) []*schemas.Attribute {
	var owned []*schemas.Attribute
	for _, s := range a.SubAttributes {
		if !s.Internal() && s.Mutability != schemas.ReadOnly && s.Stored() {
			owned = append(owned, s)
		}
	}
	return owned
}

// scimWriter applies resolved SCIM attributes to a user.
type scimWriter struct {
	u   *schemas.User
	old *schemas.User // the user before the write, for carry-over: a copy apart from u, never written
	now time.Time
}

// complex writes the value of a complex attribute (see scimElems) to w.u,
// whose elements of a the caller has cleared.
func (w *scimWriter) complex(a *schemas.Attribute, v any, path string) error {
	owned := scimOwned(a)
	elems, err := scimElems(a, v, path, owned)
	if err != nil {
		return err
	}
	w.writeElems(a, elems, owned, false)
	return nil
}

// scimElems reads the value of a complex attribute: an array of objects
// (multi-valued; a bare string is {"value": s}) or an object (single-valued;
// a bare string is {"value": s}, as Entra sends the manager). It returns the
// fresh elements (see scimElem); empty elements are dropped.
func scimElems(a *schemas.Attribute, v any, path string, owned []*schemas.Attribute) ([]any, error) {
	var items []any
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []any:
		if !a.MultiValued {
			return nil, schemas.ValueErrorf(path, "expected an object, not an array")
		}
		items = t
	case map[string]any:
		if a.MultiValued {
			return nil, schemas.ValueErrorf(path, "expected an array, not an object")
		}
		items = []any{t}
	case string:
		if a.ValueSub() == nil {
			return nil, schemas.ValueErrorf(path, "expected an object, not a string")
		}
		if a.MultiValued {
			return nil, schemas.ValueErrorf(path, "expected an array, not a string")
		}
		items = []any{t}
	default:
		want := "an object"
		if a.MultiValued {
			want = "an array"
		}
		return nil, schemas.ValueErrorf(path, "expected %s, not %s", want, schemas.JSONTypeName(v))
	}
	elems := make([]any, 0, len(items))
	for i, item := range items {
		ipath := path
		if a.MultiValued {
			ipath = path + "[" + strconv.Itoa(i) + "]"
		}
		fresh, err := scimElem(a, item, ipath, owned)
		if err != nil {
			return nil, err
		}
		if fresh != nil {
			elems = append(elems, fresh)
		}
	}
	return elems, nil
}

// writeElems appends fresh elements of a (scimElems'; they are not
// modified) to w.u. Each is matched to the previous elements (w.old's) to
// keep what SCIM cannot see (verification, address updated_at, the
// manager's displayName); an address without a previous one is stamped
// w.now. With keepSecondary (Transmit's merge of emails and phoneNumbers),
// the previous non-primary elements are appended after them, as a client
// would have sent them (the directory drops duplicates).
func (w *scimWriter) writeElems(a *schemas.Attribute, elems []any, owned []*schemas.Attribute, keepSecondary bool) {
	var buf [4]any
	old := schemas.AppendElems(buf[:0], w.old, a, "") // read only: w.old is not w.u
	used := make([]bool, len(old))
	write := func(fresh any) {
		o := schemas.FindPrevious(a, fresh, old, used, owned)
		var dst any
		if a.MultiValued {
			dst = schemas.AppendElem(w.u, a)
		} else {
			dst = schemas.SingleElem(w.u, a, "", true)
		}
		schemas.CopyElem(dst, fresh)
		if o != nil {
			schemas.Carry(dst, o, owned)
		} else if ad, isAddr := dst.(*schemas.Address); isAddr {
			ad.Updated = w.now
		}
	}
	for _, fresh := range elems {
		write(fresh)
	}
	if !keepSecondary {
		return
	}
	for _, o := range schemas.CloneElems(schemas.Elems(w.old, a, "")) {
		if isPrimary(o) {
			continue
		}
		// what the client would send of it: its owned sub-attributes
		schemas.Carry(o, schemas.NewElem(a), owned)
		if !schemas.ElemEmpty(o, owned) {
			write(o)
		}
	}
}

// isPrimary reports whether an element of emails or phoneNumbers is the
// primary one.
func isPrimary(e any) bool {
	switch t := e.(type) {
	case *schemas.Email:
		return t.Primary
	case *schemas.PhoneNumber:
		return t.Primary
	}
	return false
}

// scimElem converts one SCIM element of the complex attribute a (an object,
// or a bare string for {"value": s}) to a fresh element holding its owned
// sub-attributes; unknown, scimd-internal and read-only sub-attributes are
// ignored. It returns nil for null and for an element with no owned value.
func scimElem(a *schemas.Attribute, item any, ipath string, owned []*schemas.Attribute) (any, error) {
	var obj map[string]any
	switch t := item.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		obj = t
	case string:
		if a.ValueSub() == nil {
			return nil, schemas.ValueErrorf(ipath, "expected an object, not a string")
		}
		obj = map[string]any{a.ValueSub().Name: t}
	default:
		return nil, schemas.ValueErrorf(ipath, "expected an object, not %s", schemas.JSONTypeName(item))
	}
	fresh := schemas.NewElem(a)
	if fresh == nil {
		return nil, schemas.ValueErrorf(ipath, "cannot be written")
	}
	seen := map[*schemas.Attribute]string{}
	var keys [24]string
	for _, k := range sortedKeys(obj, keys[:0]) {
		s := schemas.FindAttribute(a.SubAttributes, k)
		if s == nil || s.Internal() || s.Mutability == schemas.ReadOnly || !s.Stored() {
			continue // unknown, scimd-internal or read-only: ignored
		}
		if prev, dup := seen[s]; dup {
			return nil, schemas.ValueErrorf(ipath+"."+k, "sub-attribute is given twice (also as %q)", prev)
		}
		seen[s] = k
		x, err := scimScalarAt(s, obj[k], ipath, s.Name)
		if err != nil {
			return nil, err
		}
		schemas.Set(fresh, s, x)
	}
	if schemas.ElemEmpty(fresh, owned) {
		return nil, nil
	}
	return fresh, nil
}

// ReplaceSCIMUser applies a SCIM schemas.User resource (a decoded JSON body; numbers
// may be json.Number or float64) to u with the replace semantics of RFC 7644
// §3.5.1 for the attributes SCIM owns:
//
//   - every writable attribute of the core and enterprise schemas (and
//     externalId) takes the body's value, and those absent or null are
//     cleared; readOnly ones (id, meta, groups, manager.displayName, the
//     UserExtended extension, schemas) are ignored whatever their value;
//   - active: absent, null or true re-enables a Disabled user (Active when it
//     has authenticated before, else Pending) and leaves Pending and Active
//     as they are; false disables (Okta's rule: a PUT without active means
//     active). A user without a status becomes Pending (or Disabled);
//   - the CustomData and CustomAppData extension blocks replace their data
//     when present (null clears it) and leave it untouched when absent;
//     CustomAppData needs o.AppID;
//   - password (writeOnly) is returned, not stored: the caller hashes it;
//   - what SCIM cannot see stays: birthday, other applications' data, the
//     password hash, device keys, group membership, an email's
//     verification state when its value is unchanged, an address's
//     updated_at when it is unchanged.
//
// schemas.Attribute names are case-insensitive (RFC 7643 §2.1); URN-qualified names
// ("urn:…:enterprise:2.0:User:department") and extension containers are
// accepted; unknown attributes, sub-attributes and schema URNs are ignored;
// booleans accept "True"/"False"; a bare string stands for {"value": s} in
// a complex attribute (Entra's manager, Transmit's photos). Values are stored
// exactly as sent. Every error is a *schemas.ValueError, and on error u is unchanged.
func ReplaceSCIMUser(u *schemas.User, body map[string]any, o SCIMOptions) (password *string, err error) {
	in, err := ReadSCIMUser(body, o, false)
	if err != nil {
		return nil, err
	}
	in.Replace(u)
	return in.Password(), nil
}

// NewSCIMUser reads the body of a SCIM create (POST /Users, a Bulk POST):
// ReadSCIMUser with userName required, then Replace of an empty user. It
// returns the user and the password given (nil: none).
func NewSCIMUser(body map[string]any, o SCIMOptions) (*schemas.User, *string, error) {
	in, err := ReadSCIMUser(body, o, true)
	if err != nil {
		return nil, nil, err
	}
	u := &schemas.User{}
	in.Replace(u)
	return u, in.Password(), nil
}

// SCIMUserBody is a SCIM User body read once: resolved against the catalog
// and every value converted and checked, so that writing it to a user (as
// often as a compare-and-swap retries) cannot fail. It is not modified by
// Replace or Merge.
type SCIMUserBody struct {
	o         SCIMOptions
	vals      []scimValue // per writable attribute, in writableSCIM order
	active    bool        // absent or null: true
	activeSet bool        // active is given (null included)
	password  *string
	json      []scimValue // the JSON extensions given
}

// scimValue is the converted value of one attribute of a SCIMUserBody.
type scimValue struct {
	a     *schemas.Attribute
	given bool  // given, or in an extension container given as null
	x     any   // a simple attribute's value; nil clears it
	elems []any // a complex attribute's fresh elements
	owned []*schemas.Attribute
	data  map[string]any // a JSON extension's data (normalized; nil clears)
}

// ReadSCIMUser reads a SCIM User body (a decoded JSON body) for a create or
// a PUT under ReplaceSCIMUser's rules. With required (a create, RFC 7644's
// PUT) it checks first that userName is given (checkSCIMRequired's rule).
// Every error is a *schemas.ValueError, the first in the order the
// attributes are written.
func ReadSCIMUser(body map[string]any, o SCIMOptions, required bool) (*SCIMUserBody, error) {
	b, err := resolveSCIMBody(schemas.UserResource, body)
	if err != nil {
		return nil, err
	}
	if required {
		if err := checkSCIMRequired(b); err != nil {
			return nil, err
		}
	}
	rt := schemas.UserResource
	in := &SCIMUserBody{o: o}
	var active any
	attrs := writableSCIM(rt)
	in.vals = make([]scimValue, 0, len(attrs))
	for _, a := range attrs {
		s, given := b.sets[a]
		switch {
		case a.Canonical == "active":
			active, in.activeSet = s.value, given
			continue
		case a.Mutability == schemas.WriteOnly: // password
			if given && s.value != nil {
				pw, ok := s.value.(string)
				if !ok {
					return nil, schemas.ValueErrorf(s.path, "expected a string, not %s", schemas.JSONTypeName(s.value))
				}
				in.password = &pw
			}
			continue
		}
		v := scimValue{a: a, given: given || b.inNulled(a)}
		if a.Type == schemas.TypeComplex {
			if given {
				v.owned = scimOwned(a)
				if v.elems, err = scimElems(a, s.value, s.path, v.owned); err != nil {
					return nil, err
				}
			}
		} else if given {
			if v.x, err = scimScalar(a, s.value, s.path); err != nil {
				return nil, err
			}
		}
		in.vals = append(in.vals, v)
	}
	if in.active, err = scimActive(active, in.activeSet, "active"); err != nil {
		return nil, err
	}
	for _, urn := range schemas.SchemaURNs(rt) {
		a := schemas.JSONExtension(rt, urn)
		s, given := b.sets[a]
		if a == nil || !given {
			continue
		}
		v := scimValue{a: a, given: true}
		if s.value != nil {
			if v.data, err = schemas.FreeFormObject(s.value, s.path); err != nil {
				return nil, err
			}
		}
		if a.Parent() != nil && o.AppID == "" {
			return nil, schemas.ValueErrorf(s.path, "requires an application token")
		}
		in.json = append(in.json, v)
	}
	return in, nil
}

// Password is the password the body gives (writeOnly, not stored: the
// caller hashes it), nil when none.
func (in *SCIMUserBody) Password() *string { return in.password }

// Replace writes the body to u with ReplaceSCIMUser's semantics (RFC 7644
// §3.5.1: what SCIM owns and the body does not give is cleared).
func (in *SCIMUserBody) Replace(u *schemas.User) { in.write(u, false) }

// Merge writes the body to u with Transmit's PUT semantics (/cis/scim): the
// body merged into the user as it is. Each top-level attribute the body
// gives replaces the current one whole (sending only name.familyName clears
// name.givenName); those it does not give stay, and so does active; an
// extension is merged attribute by attribute (a null extension container
// clears its attributes) and the data of a JSON extension key by key;
// emails and phoneNumbers given replace the primary value, and the current
// non-primary values stay.
func (in *SCIMUserBody) Merge(u *schemas.User) { in.write(u, true) }

func (in *SCIMUserBody) write(u *schemas.User, merge bool) {
	w := &scimWriter{u: u.Clone(), old: u, now: in.o.Now}
	for i := range in.vals {
		v := &in.vals[i]
		if merge && !v.given {
			continue
		}
		if v.a.Type == schemas.TypeComplex {
			schemas.ClearElems(w.u, v.a, "")
			keep := merge && (strings.EqualFold(v.a.Name, "emails") || strings.EqualFold(v.a.Name, "phoneNumbers"))
			if len(v.elems) > 0 || keep {
				w.writeElems(v.a, v.elems, v.owned, keep)
			}
			continue
		}
		if v.x != nil || schemas.Get(w.u, v.a) != nil {
			schemas.Set(w.u, v.a, v.x)
		}
	}
	if e := w.u.Enterprise; e != nil && *e == (schemas.EnterpriseUser{}) {
		w.u.Enterprise = nil
	}
	if !merge || in.activeSet {
		directory.SetActive(w.u, in.active)
	}
	for _, v := range in.json {
		data := schemas.CloneJSONObject(v.data)
		var doc any = w.u
		if par := v.a.Parent(); par != nil {
			doc = schemas.SingleElem(w.u, par, in.o.AppID, false)
		}
		if merge && v.data != nil && doc != nil {
			if cur, _ := schemas.Get(doc, v.a).(*map[string]any); cur != nil && len(*cur) > 0 {
				merged := schemas.CloneJSONObject(*cur)
				for k, x := range data {
					merged[k] = x
				}
				data = merged
			}
		}
		if len(data) == 0 {
			data = nil
		}
		if v.a.Parent() != nil {
			if data == nil && doc == nil {
				continue
			}
			doc = schemas.SingleElem(w.u, v.a.Parent(), in.o.AppID, true)
		}
		schemas.Set(doc, v.a, data)
	}
	*u = *w.u
}

// checkSCIMRequired checks that a SCIM schemas.User body for a create or a
// replace (RFC 7644 §3.3, §3.5.1) gives every required, writable attribute
// of the catalog (userName) a non-empty value: absent, null, "" or only white
// space is a *ValueError. PATCH applies the same rule per operation.
func checkSCIMRequired(b *scimBody) error {
	for _, a := range writableSCIM(schemas.UserResource) {
		if !a.Required {
			continue
		}
		s, _ := b.sets[a].value.(string)
		if strings.TrimSpace(s) == "" {
			return schemas.ValueErrorf(a.Name, "%s is required: it cannot be absent, empty or null", a.Name)
		}
	}
	return nil
}

// writableSCIM lists the top-level attributes a SCIM replace owns: the
// writable common, core and enterprise attributes.
func writableSCIM(rt schemas.ResourceType) []*schemas.Attribute {
	if rt == schemas.GroupResource {
		return writableGroupSCIM
	}
	return writableUserSCIM
}

// The lists writableSCIM answers, made once (the catalog is fixed) and
// shared: callers must not change them.
var (
	writableUserSCIM  = writableSCIMOf(schemas.UserResource)
	writableGroupSCIM = writableSCIMOf(schemas.GroupResource)
)

func writableSCIMOf(rt schemas.ResourceType) []*schemas.Attribute {
	var out []*schemas.Attribute
	add := func(list []*schemas.Attribute) {
		for _, a := range list {
			if a.Mutability != schemas.ReadOnly && !a.Internal() {
				out = append(out, a)
			}
		}
	}
	add(schemas.CommonAttributes(rt))
	for _, urn := range schemas.SchemaURNs(rt) {
		add(schemas.SchemaAttributes(urn))
	}
	return out
}

// applyActive reads SCIM `active` (scimActive) and applies it with the
// directory's status lifecycle (directory.SetActive).
func applyActive(u *schemas.User, v any, given bool, path string) error {
	active, err := scimActive(v, given, path)
	if err != nil {
		return err
	}
	directory.SetActive(u, active)
	return nil
}

// scimActive reads SCIM `active`: absent or null is true (Okta's "a PUT
// without active means active").
func scimActive(v any, given bool, path string) (bool, error) {
	if !given || v == nil {
		return true, nil
	}
	x, err := scimScalar(schemas.UserAttributeByCanonical("active"), v, path)
	if err != nil {
		return false, err
	}
	return x.(bool), nil
}

// ReplaceSCIMGroup applies a SCIM schemas.Group resource to g with replace
// semantics: displayName and externalId take the body's values (absent or
// null clears them); id, meta and schemas are ignored, and so are members,
// which the SCIM face applies to the users. Names are case-insensitive and
// unknown attributes and schema URNs are ignored. Every error is a
// *schemas.ValueError, and on error g is unchanged.
func ReplaceSCIMGroup(g *schemas.Group, body map[string]any) error {
	rt := schemas.GroupResource
	b, err := resolveSCIMBody(rt, body)
	if err != nil {
		return err
	}
	ng := g.Clone()
	for _, a := range writableSCIM(rt) {
		if a.Type == schemas.TypeComplex { // members
			continue
		}
		var x any
		if s, given := b.sets[a]; given {
			if x, err = scimScalar(a, s.value, s.path); err != nil {
				return err
			}
		}
		schemas.Set(ng, a, x)
	}
	*g = *ng
	return nil
}

// sortedKeys appends m's keys to buf in ascending order and returns them: a
// body is read in key order, and its objects are small enough for a buffer
// on the caller's stack (slices.Sorted allocated a slice per object).
func sortedKeys(m map[string]any, buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}
