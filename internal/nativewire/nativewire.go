// Package nativewire is the native (Transmit-style) face's wire format of
// users and groups: the renderer of a schemas.User or schemas.Group as the
// native JSON object, and the merger of a native request body into one. The
// native face and the Admin Portal share it; the SCIM face has its own
// (scim/internal/wire). It reads no clock and no store.
package nativewire

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/schemas"
)

// NativeOptions is the context a native (Transmit-style) user is rendered or
// written in.
type NativeOptions struct {
	// AppID is the calling application; "" (an admin token) hides and
	// refuses the app-level fields (external_account_id, custom_app_data,
	// app_name).
	AppID string
	// AppName is the calling application's name, rendered as app_name.
	AppName string
	// Now stamps address.updated_at when a write changes the address, and
	// is the time password_information.expired is rendered at. The caller
	// passes the directory's clock (directory.Service.Now): schemas reads no
	// clock of its own.
	Now time.Time
}

// ---- rendering ----

type nativeRender struct{ o NativeOptions }

func (r *nativeRender) object(root, ctx any, fields []*schemas.NativeField) map[string]any {
	m := map[string]any{}
	for _, f := range fields {
		if v, ok := r.field(root, ctx, f); ok {
			m[f.Name] = v
		}
	}
	return m
}

func (r *nativeRender) field(root, ctx any, f *schemas.NativeField) (any, bool) {
	switch f.Kind {
	case schemas.NativeAppName:
		return r.o.AppName, r.o.AppID != "" && r.o.AppName != ""
	case schemas.NativeIdentities:
		return []any{}, true
	case schemas.NativeAppIDs:
		u, _ := root.(*schemas.User)
		if r.o.AppID != "" || u == nil {
			return nil, false
		}
		ids := make([]any, 0, len(u.Apps))
		for _, id := range slices.Sorted(maps.Keys(u.Apps)) {
			ids = append(ids, id)
		}
		return ids, true
	case schemas.NativeJSON:
		data := schemas.JSONData(root, f.Attr, r.o.AppID)
		return schemas.CloneJSONObject(data), len(data) > 0
	case schemas.NativeObject:
		sub := ctx
		if f.Attr != nil {
			sub = nil
			schemas.EachElem(ctx, f.Attr, r.o.AppID, func(e any) bool { sub = e; return false })
			if sub == nil {
				return nil, false
			}
		}
		m := r.object(root, sub, f.Subs)
		if f.Input != nil && m[f.Input.Name] == nil {
			return nil, false
		}
		return m, len(m) > 0
	case schemas.NativeArray:
		var list []any
		schemas.EachElem(ctx, f.Attr, r.o.AppID, func(e any) bool {
			if m := r.object(root, e, f.Subs); len(m) > 0 {
				list = append(list, m)
			}
			return true
		})
		return list, len(list) > 0
	}
	var list []any
	enum := limitOf(root, f).enum
	yield := func(v schemas.Value) bool {
		x := schemas.RenderValue(v, f.Millis)
		if s, ok := x.(string); ok {
			x = nativeSpelling(enum, s)
		}
		list = append(list, x)
		return f.Attr.MultiValued
	}
	if ctx == root {
		if appScoped(f.Attr) && r.o.AppID == "" {
			return nil, false
		}
		p := schemas.Path{Attr: f.Attr, AppID: r.o.AppID, Now: r.o.Now}
		switch d := root.(type) {
		case *schemas.User:
			p.UserValues(d, yield)
		case *schemas.Group:
			p.GroupValues(d, yield)
		}
	} else {
		schemas.Values(ctx, f.Attr, r.o.Now, yield)
	}
	switch {
	case len(list) == 0:
		return nil, false
	case f.Attr.MultiValued:
		return list, true
	}
	return list[0], true
}

// appScoped reports whether a is an attribute of the calling application's
// link (external_account_id, custom_app_data).
func appScoped(a *schemas.Attribute) bool {
	return a.Parent() != nil && a.Parent().Canonical == "apps"
}

// nativeSpelling maps a stored enumerated value to its native spelling in
// enum ("home" → "Home"); other values are shown as stored.
func nativeSpelling(enum []string, s string) string {
	for _, e := range enum {
		if strings.EqualFold(e, s) {
			return e
		}
	}
	return s
}

// NativeUser renders u as the native user object of transmit-api.md §3,
// walking the native table: user_id, username, email {value,
// email_verified, verified_at}, secondary_emails [same], phone_number
// {value, phone_number_verified, verified_at}, secondary_phone_numbers, name
// {title, first_name, last_name, middle_name}, address {country, state,
// city, street_address, postal_code, formatted, type, updated_at}, birthday,
// picture, language, status, status_changed_at, created_at, updated_at,
// last_auth, external_user_id, custom_data, groupIds, password_information
// {expired, temporary, updated_at, expires_in} when the user has a password,
// identities (always []), and with o.AppID: external_account_id,
// custom_app_data and app_name (o.AppName). created_at, updated_at and the
// updated_at of address and password_information are epoch milliseconds;
// other times are ISO 8601 (RFC 3339, UTC, milliseconds). Absent optional
// fields are omitted. The free-form data is a deep copy.
func NativeUser(u *schemas.User, o NativeOptions) map[string]any {
	r := &nativeRender{o: o}
	return r.object(u, u, schemas.NativeFields(schemas.UserResource))
}

// NativeGroup renders g as the native group object of transmit-api.md §5:
// group_id, name, description, custom_data, created_at and updated_at
// (epoch ms).
func NativeGroup(g *schemas.Group) map[string]any {
	r := &nativeRender{}
	return r.object(g, g, schemas.NativeFields(schemas.GroupResource))
}

// ---- merging ----

type nativeMerge struct {
	u      *schemas.User // the copy being written (nil for groups)
	g      *schemas.Group
	o      NativeOptions
	create bool
	now    time.Time
}

// root is the document being written.
func (m *nativeMerge) root() any {
	if m.g != nil {
		return m.g
	}
	return m.u
}

// allowed checks that a body may set f.
func (m *nativeMerge) allowed(f *schemas.NativeField, path string) error {
	switch {
	case f.Kind == schemas.NativeAppIDs && !m.create:
		return schemas.ValueErrorf(path, "field %q can be set only on create; use PUT or DELETE /cis/v1/users/{user_id}/apps/{app_id}", path)
	case f.Kind == schemas.NativeAppIDs:
		return nil
	case f.Write == schemas.NativeReadOnly || f.Kind == schemas.NativeAppName || f.Kind == schemas.NativeIdentities:
		return schemas.ValueErrorf(path, "field %q is read-only", path)
	case f.Write == schemas.NativeUpdateOnly && m.create:
		return schemas.ValueErrorf(path, "field %q cannot be set on create", path)
	case f.Attr != nil && appScoped(f.Attr) && m.o.AppID == "":
		return schemas.ValueErrorf(path, "field %q requires an application token", path)
	}
	return nil
}

// scalar converts a native scalar input: a string (null is ""), capped,
// format-checked and, for enumerations, mapped to the stored spelling.
func (m *nativeMerge) scalar(f *schemas.NativeField, v any, path string) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", schemas.ValueErrorf(path, "expected a string, not %s", schemas.JSONTypeName(v))
	}
	if !utf8.ValidString(s) {
		return "", schemas.ValueErrorf(path, "not valid UTF-8")
	}
	lim := limitOf(m.root(), f)
	if lim.max > 0 && utf8.RuneCountInString(s) > lim.max {
		return "", schemas.ValueErrorf(path, "at most %d characters are allowed", lim.max)
	}
	if s == "" {
		return "", nil
	}
	if lim.check != nil {
		if reason := lim.check(s); reason != "" {
			return "", schemas.ValueErrorf(path, "%s", reason)
		}
	}
	if lim.enum != nil {
		for _, e := range lim.enum {
			if strings.EqualFold(e, s) {
				return storedSpelling(f.Attr, e), nil
			}
		}
		return "", schemas.ValueErrorf(path, "expected one of %s", strings.Join(lim.enum, ", "))
	}
	return s, nil
}

// storedSpelling is the canonical value of a matching a native enumerated
// value (address type "Home" is stored as SCIM's "home").
func storedSpelling(a *schemas.Attribute, e string) string {
	for _, c := range a.CanonicalValues {
		if strings.EqualFold(c, e) {
			return c
		}
	}
	return e
}

// members checks an object input against the members of f and returns it;
// a scalar stands for {input: scalar} (then sugar is set, and errors about
// the input member name the field itself, as the client wrote it).
func (m *nativeMerge) members(f *schemas.NativeField, v any, path string) (obj map[string]any, sugar bool, err error) {
	obj, ok := v.(map[string]any)
	if !ok {
		if _, isStr := v.(string); isStr && f.Input != nil {
			return map[string]any{f.Input.Name: v}, true, nil
		}
		want := "an object"
		if f.Input != nil {
			want = "a string or an object"
		}
		return nil, false, schemas.ValueErrorf(path, "expected %s, not %s", want, schemas.JSONTypeName(v))
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		s := findNative(f.Subs, k)
		if s == nil {
			return nil, false, schemas.ValueErrorf(path+"."+k, "unknown field %q", path+"."+k)
		}
		if err := m.allowed(s, path+"."+k); err != nil {
			return nil, false, err
		}
	}
	return obj, false, nil
}

// memberPath is the path of member s of f as the client wrote it.
func memberPath(f, s *schemas.NativeField, path string, sugar bool) string {
	if sugar && s == f.Input {
		return path
	}
	return path + "." + s.Name
}

func findNative(fields []*schemas.NativeField, name string) *schemas.NativeField {
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// field applies the body value v of f in ctx (the root document or an element).
func (m *nativeMerge) field(ctx any, f *schemas.NativeField, v any, path string) error {
	switch f.Kind {
	case schemas.NativeJSON:
		return m.json(f, v, path)
	case schemas.NativeObject:
		return m.object(ctx, f, v, path)
	case schemas.NativeArray:
		return m.array(f, v, path)
	case schemas.NativeAppIDs:
		return m.appIDs(v, path)
	}
	s, err := m.scalar(f, v, path)
	if err != nil {
		return err
	}
	if ctx != m.root() {
		schemas.Set(ctx, f.Attr, s)
		return nil
	}
	if par := f.Attr.Parent(); par != nil { // app-scoped: external_account_id
		if l := schemas.SingleElem(m.u, par, m.o.AppID, s != ""); l != nil {
			schemas.Set(l, f.Attr, s)
		}
		return nil
	}
	if m.u != nil && schemas.SetDerived(m.u, f.Attr, s) {
		return nil
	}
	schemas.Set(ctx, f.Attr, s)
	return nil
}

// object applies an object field, replaced whole: its writable members take
// the body's values and those absent are cleared; what the native view does
// not show of the element (a SCIM name's formatted, an address's primary
// flag) stays. null clears every writable member. An element left empty is
// removed; a changed address gets updated_at = now.
func (m *nativeMerge) object(ctx any, f *schemas.NativeField, v any, path string) error {
	obj := map[string]any{}
	sugar := false
	if v != nil {
		var err error
		if obj, sugar, err = m.members(f, v, path); err != nil {
			return err
		}
	}
	target := ctx
	var before any
	if f.Attr != nil {
		target = schemas.SingleElem(m.u, f.Attr, m.o.AppID, true)
		before = schemas.CloneElems([]any{target})[0]
	}
	for _, s := range f.Subs {
		if s.Write == schemas.NativeReadOnly {
			continue
		}
		if err := m.field(target, s, obj[s.Name], memberPath(f, s, path, sugar)); err != nil {
			return err
		}
	}
	if f.Attr == nil {
		return nil
	}
	if schemas.ElemEmpty(target, content(f.Attr)) {
		schemas.RemoveElem(m.u, f.Attr, target)
		return nil
	}
	if ad, isAddr := target.(*schemas.Address); isAddr && !schemas.SameOwned(target, before, content(f.Attr)) {
		ad.Updated = m.now
	}
	return nil
}

// content lists the sub-attributes of a single-valued complex attribute
// that hold data: not a primary flag, a verification or a timestamp.
func content(a *schemas.Attribute) []*schemas.Attribute {
	var out []*schemas.Attribute
	for _, s := range a.SubAttributes {
		if s.Type != schemas.TypeBoolean && s.Type != schemas.TypeDateTime {
			out = append(out, s)
		}
	}
	return out
}

// array applies an array field, replaced whole (null or [] empties it). An
// item is an object of the writable members or a scalar standing for its
// input member; items need a value and must be distinct. An item whose value
// was already present keeps what the native view does not write (its
// verification, its SCIM type).
func (m *nativeMerge) array(f *schemas.NativeField, v any, path string) error {
	var items []any
	if v != nil {
		var ok bool
		if items, ok = v.([]any); !ok {
			return schemas.ValueErrorf(path, "expected an array, not %s", schemas.JSONTypeName(v))
		}
	}
	var owned []*schemas.Attribute
	for _, s := range f.Subs {
		if s.Write != schemas.NativeReadOnly {
			owned = append(owned, s.Attr)
		}
	}
	old := schemas.CloneElems(schemas.Elems(m.u, f.Attr, m.o.AppID))
	used := make([]bool, len(old))
	var fresh []any
	for i, item := range items {
		ipath := path + "[" + strconv.Itoa(i) + "]"
		obj, sugar, err := m.members(f, item, ipath)
		if err != nil {
			return err
		}
		e := schemas.NewElem(f.Attr)
		for _, s := range f.Subs {
			if s.Write == schemas.NativeReadOnly {
				continue
			}
			if err := m.field(e, s, obj[s.Name], memberPath(f, s, ipath, sugar)); err != nil {
				return err
			}
		}
		if f.Input != nil && schemas.ElemEmpty(e, []*schemas.Attribute{f.Input.Attr}) {
			return schemas.ValueErrorf(ipath, "a value is required")
		}
		for _, p := range fresh {
			if schemas.FindPrevious(f.Attr, e, []any{p}, []bool{false}, owned) != nil {
				return schemas.ValueErrorf(ipath, "listed twice")
			}
		}
		if o := schemas.FindPrevious(f.Attr, e, old, used, owned); o != nil {
			schemas.Carry(e, o, owned)
		}
		fresh = append(fresh, e)
	}
	schemas.ClearElems(m.u, f.Attr, m.o.AppID)
	for _, e := range fresh {
		dst := schemas.AppendElem(m.u, f.Attr)
		schemas.CopyElem(dst, e)
	}
	return nil
}

// json applies a free-form field: shallow-merged (top-level keys of the body
// replace those keys, a key set to null deletes it; null clears it all), or
// replaced whole for the group's custom_data (transmit-api.md §5).
func (m *nativeMerge) json(f *schemas.NativeField, v any, path string) error {
	var patch map[string]any
	if v != nil {
		n, err := schemas.FreeFormObject(v, path)
		if err != nil {
			return err
		}
		patch = n
	}
	var holder any = m.root()
	if par := f.Attr.Parent(); par != nil {
		holder = schemas.SingleElem(m.u, par, m.o.AppID, v != nil)
		if holder == nil {
			return nil
		}
	}
	s := schemas.Get(holder, f.Attr).(*map[string]any)
	if v == nil || m.g != nil {
		*s = nil
		if m.g != nil { // groups: replaced whole
			for k, x := range patch {
				if x != nil {
					if *s == nil {
						*s = map[string]any{}
					}
					(*s)[k] = x
				}
			}
		}
		return nil
	}
	merged := schemas.CloneJSONObject(*s)
	if merged == nil {
		merged = map[string]any{}
	}
	for k, x := range patch {
		if x == nil {
			delete(merged, k)
		} else {
			merged[k] = x
		}
	}
	if len(merged) == 0 {
		merged = nil
	}
	*s = merged
	return nil
}

// appIDs assigns the user to each application listed (create only); whether
// the caller may, and whether the applications exist, is the directory's.
func (m *nativeMerge) appIDs(v any, path string) error {
	arr, ok := v.([]any)
	if v != nil && !ok {
		return schemas.ValueErrorf(path, "%s must be an array of application ids", path)
	}
	for i, e := range arr {
		id, ok := e.(string)
		if !ok || id == "" {
			return schemas.ValueErrorf(path, "%s[%d] must be an application id", path, i)
		}
		if m.u.Apps == nil {
			m.u.Apps = map[string]*schemas.AppLink{}
		}
		if m.u.Apps[id] == nil {
			m.u.Apps[id] = &schemas.AppLink{}
		}
	}
	return nil
}

// apply checks every key of body against the table, then applies the
// fields in table order (so email is applied before secondary_emails).
func (m *nativeMerge) apply(rt schemas.ResourceType, body map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(body)) {
		f := schemas.FindNativeField(rt, k)
		if f == nil {
			return schemas.ValueErrorf(k, "unknown field %q", k)
		}
		if err := m.allowed(f, k); err != nil {
			return err
		}
	}
	for _, f := range schemas.NativeFields(rt) {
		if v, given := body[f.Name]; given {
			if err := m.field(m.root(), f, v, f.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// MergeNativeUser applies a native create (create=true) or update body to u
// with Transmit's merge rules (transmit-api.md §2.2, §2.4):
//
//   - only the fields present change; null clears a field;
//   - objects and arrays (name, address, secondary_emails, …) are replaced
//     whole; the parts of the canonical document the native view does not
//     show (a SCIM email's type, the name's formatted) stay;
//   - custom_data and custom_app_data (the caller's application) are
//     shallow-merged: the body's top-level keys replace those keys, a key set
//     to null deletes it, and custom_data: null clears it all;
//   - email sets the value of the primary email, keeping the secondaries: a
//     different address starts unverified, a case change keeps the
//     verification, an address that was a secondary is promoted with its
//     verification; secondary_emails replaces the non-primary emails
//     (an address already present keeps its verification). The same holds
//     for phone_number and secondary_phone_numbers;
//   - status (Active, Disabled or Pending, any case) only on update;
//   - external_account_id and custom_app_data need o.AppID;
//   - input formats: email syntax, E.164 phone numbers, birthday
//     YYYY-MM-DD, name parts and address parts ≤ 30 characters,
//     street_address ≤ 150, address.type Home/Work/Other (stored as SCIM's
//     home/work/other), picture an http(s) URL, caps on the other strings.
//
// Read-only fields (user_id, created_at, groupIds, password_information, …)
// and unknown fields are rejected. The create body's `credentials` (and
// `delegated_access`) are not handled here: the caller removes them from the
// body first, else they are unknown fields. Every error is a *schemas.ValueError
// whose schemas.Path names the field as the client wrote it, and on error u is
// unchanged. Requirements on the whole user (uniqueness, who may assign
// applications) are the directory's; the native face requires an email or
// a phone number on create.
func MergeNativeUser(u *schemas.User, body map[string]any, o NativeOptions, create bool) error {
	m := &nativeMerge{u: u.Clone(), o: o, create: create, now: o.Now}
	if err := m.apply(schemas.UserResource, body); err != nil {
		return err
	}
	if err := distinctContacts(m.u); err != nil {
		return err
	}
	*u = *m.u
	return nil
}

// distinctContacts rejects a primary email (phone) that is also a secondary.
func distinctContacts(u *schemas.User) error {
	for i := range u.Emails {
		for j := i + 1; j < len(u.Emails); j++ {
			if strings.EqualFold(u.Emails[i].Value, u.Emails[j].Value) {
				return schemas.ValueErrorf("secondary_emails", "%q is listed twice (also as the primary email?)", u.Emails[j].Value)
			}
		}
	}
	for i := range u.PhoneNumbers {
		for j := i + 1; j < len(u.PhoneNumbers); j++ {
			if u.PhoneNumbers[i].Value == u.PhoneNumbers[j].Value {
				return schemas.ValueErrorf("secondary_phone_numbers", "%q is listed twice (also as the primary phone number?)", u.PhoneNumbers[j].Value)
			}
		}
	}
	return nil
}

// MergeNativeGroup applies a native group create or update body
// (transmit-api.md §5) to g: name, description and custom_data (replaced
// whole) change when present; null clears them. group_id, created_at and
// updated_at are read-only, other fields unknown. Every error is a
// *schemas.ValueError, and on error g is unchanged.
func MergeNativeGroup(g *schemas.Group, body map[string]any) error {
	m := &nativeMerge{g: g.Clone()}
	if err := m.apply(schemas.GroupResource, body); err != nil {
		return err
	}
	*g = *m.g
	return nil
}
