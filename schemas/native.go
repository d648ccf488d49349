package schemas

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	// Now stamps address.updated_at when a write changes the address. The
	// caller passes the directory's clock (directory.Service.Now): schemas
	// reads no clock of its own.
	Now time.Time
}

// ---- rendering ----

type nativeRender struct{ o NativeOptions }

func (r *nativeRender) object(root, ctx any, fields []*nativeField) map[string]any {
	m := map[string]any{}
	for _, f := range fields {
		if v, ok := r.field(root, ctx, f); ok {
			m[f.name] = v
		}
	}
	return m
}

func (r *nativeRender) field(root, ctx any, f *nativeField) (any, bool) {
	switch f.kind {
	case nAppName:
		return r.o.AppName, r.o.AppID != "" && r.o.AppName != ""
	case nIdentities:
		return []any{}, true
	case nAppIDs:
		u, _ := root.(*User)
		if r.o.AppID != "" || u == nil {
			return nil, false
		}
		ids := make([]any, 0, len(u.Apps))
		for _, id := range slices.Sorted(maps.Keys(u.Apps)) {
			ids = append(ids, id)
		}
		return ids, true
	case nJSON:
		data := jsonData(root, f.attr, r.o.AppID)
		return CloneJSONObject(data), len(data) > 0
	case nObject:
		sub := ctx
		if f.attr != nil {
			sub = nil
			readElems(ctx, f.attr, &Path{Attr: f.attr, AppID: r.o.AppID}, func(e any) bool { sub = e; return false })
			if sub == nil {
				return nil, false
			}
		}
		m := r.object(root, sub, f.subs)
		if f.input != nil && m[f.input.name] == nil {
			return nil, false
		}
		return m, len(m) > 0
	case nArray:
		var list []any
		readElems(ctx, f.attr, &Path{Attr: f.attr, AppID: r.o.AppID}, func(e any) bool {
			if m := r.object(root, e, f.subs); len(m) > 0 {
				list = append(list, m)
			}
			return true
		})
		return list, len(list) > 0
	}
	var list []any
	yield := func(v Value) bool {
		x := RenderValue(v, f.millis)
		if s, ok := x.(string); ok {
			x = f.nativeSpelling(s)
		}
		list = append(list, x)
		return f.attr.MultiValued
	}
	p := &Path{Attr: f.attr, AppID: r.o.AppID}
	if ctx == root {
		if f.attr.acc.parent != nil && f.attr.acc.parent.acc.elems == eApp && r.o.AppID == "" {
			return nil, false
		}
		eachValue(root, p, yield)
	} else {
		readValues(ctx, f.attr, p, yield)
	}
	switch {
	case len(list) == 0:
		return nil, false
	case f.attr.MultiValued:
		return list, true
	}
	return list[0], true
}

// nativeSpelling maps a stored enumerated value to its native spelling
// ("home" → "Home"); other values are shown as stored.
func (f *nativeField) nativeSpelling(s string) string {
	for _, e := range f.enum {
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
func NativeUser(u *User, o NativeOptions) map[string]any {
	r := &nativeRender{o: o}
	return r.object(u, u, userNative.fields)
}

// NativeGroup renders g as the native group object of transmit-api.md §5:
// group_id, name, description, custom_data, created_at and updated_at
// (epoch ms).
func NativeGroup(g *Group) map[string]any {
	r := &nativeRender{}
	return r.object(g, g, groupNative.fields)
}

// ---- merging ----

type nativeMerge struct {
	u      *User // the copy being written (nil for groups)
	g      *Group
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
func (m *nativeMerge) allowed(f *nativeField, path string) error {
	switch {
	case f.kind == nAppIDs && !m.create:
		return valueErr(path, "field %q can be set only on create; use PUT or DELETE /cis/v1/users/{user_id}/apps/{app_id}", path)
	case f.kind == nAppIDs:
		return nil
	case f.write == wReadOnly || f.kind == nAppName || f.kind == nIdentities:
		return valueErr(path, "field %q is read-only", path)
	case f.write == wUpdateOnly && m.create:
		return valueErr(path, "field %q cannot be set on create", path)
	case f.attr != nil && f.attr.acc.parent != nil && f.attr.acc.parent.acc.elems == eApp && m.o.AppID == "":
		return valueErr(path, "field %q requires an application token", path)
	}
	return nil
}

// scalar converts a native scalar input: a string (null is ""), capped,
// format-checked and, for enumerations, mapped to the stored spelling.
func (m *nativeMerge) scalar(f *nativeField, v any, path string) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", valueErr(path, "expected a string, not %s", jsonTypeName(v))
	}
	if !utf8.ValidString(s) {
		return "", valueErr(path, "not valid UTF-8")
	}
	if f.maxLen > 0 && utf8.RuneCountInString(s) > f.maxLen {
		return "", valueErr(path, "at most %d characters are allowed", f.maxLen)
	}
	if s == "" {
		return "", nil
	}
	if f.check != nil {
		if reason := f.check(s); reason != "" {
			return "", valueErr(path, "%s", reason)
		}
	}
	if f.enum != nil {
		for _, e := range f.enum {
			if strings.EqualFold(e, s) {
				return f.storedSpelling(e), nil
			}
		}
		return "", valueErr(path, "expected one of %s", strings.Join(f.enum, ", "))
	}
	return s, nil
}

// storedSpelling is the canonical value of the attribute matching a native
// enumerated value (address type "Home" is stored as SCIM's "home").
func (f *nativeField) storedSpelling(e string) string {
	for _, c := range f.attr.CanonicalValues {
		if strings.EqualFold(c, e) {
			return c
		}
	}
	return e
}

// members checks an object input against the members of f and returns it;
// a scalar stands for {input: scalar} (then sugar is set, and errors about
// the input member name the field itself, as the client wrote it).
func (m *nativeMerge) members(f *nativeField, v any, path string) (obj map[string]any, sugar bool, err error) {
	obj, ok := v.(map[string]any)
	if !ok {
		if _, isStr := v.(string); isStr && f.input != nil {
			return map[string]any{f.input.name: v}, true, nil
		}
		want := "an object"
		if f.input != nil {
			want = "a string or an object"
		}
		return nil, false, valueErr(path, "expected %s, not %s", want, jsonTypeName(v))
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		s := findNative(f.subs, k)
		if s == nil {
			return nil, false, valueErr(path+"."+k, "unknown field %q", path+"."+k)
		}
		if err := m.allowed(s, path+"."+k); err != nil {
			return nil, false, err
		}
	}
	return obj, false, nil
}

// memberPath is the path of member s of f as the client wrote it.
func memberPath(f, s *nativeField, path string, sugar bool) string {
	if sugar && s == f.input {
		return path
	}
	return path + "." + s.name
}

func findNative(fields []*nativeField, name string) *nativeField {
	for _, f := range fields {
		if f.name == name {
			return f
		}
	}
	return nil
}

// field applies the body value v of f in ctx (the root document or an element).
func (m *nativeMerge) field(ctx any, f *nativeField, v any, path string) error {
	switch f.kind {
	case nJSON:
		return m.json(f, v, path)
	case nObject:
		return m.object(ctx, f, v, path)
	case nArray:
		return m.array(f, v, path)
	case nAppIDs:
		return m.appIDs(v, path)
	}
	s, err := m.scalar(f, v, path)
	if err != nil {
		return err
	}
	if ctx != m.root() {
		store(ctx, f.attr.acc.field, s)
		return nil
	}
	if par := f.attr.acc.parent; par != nil { // app-scoped: external_account_id
		if l := SingleElem(m.u, par, m.o.AppID, s != ""); l != nil {
			store(l, f.attr.acc.field, s)
		}
		return nil
	}
	if m.u != nil && SetDerived(m.u, f.attr, s) {
		return nil
	}
	store(ctx, f.attr.acc.field, s)
	return nil
}

// object applies an object field, replaced whole: its writable members take
// the body's values and those absent are cleared; what the native view does
// not show of the element (a SCIM name's formatted, an address's primary
// flag) stays. null clears every writable member. An element left empty is
// removed; a changed address gets updated_at = now.
func (m *nativeMerge) object(ctx any, f *nativeField, v any, path string) error {
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
	if f.attr != nil {
		target = SingleElem(m.u, f.attr, m.o.AppID, true)
		before = CloneElems([]any{target})[0]
	}
	for _, s := range f.subs {
		if s.write == wReadOnly {
			continue
		}
		if err := m.field(target, s, obj[s.name], memberPath(f, s, path, sugar)); err != nil {
			return err
		}
	}
	if f.attr == nil {
		return nil
	}
	if ElemEmpty(target, content(f.attr)) {
		RemoveElem(m.u, f.attr, target)
		return nil
	}
	if _, isAddr := target.(*Address); isAddr && !SameOwned(target, before, content(f.attr)) {
		store(target, fUpdated, m.now)
	}
	return nil
}

// content lists the sub-attributes of a single-valued complex attribute
// that hold data: not a primary flag, a verification or a timestamp.
func content(a *Attribute) []*Attribute {
	var out []*Attribute
	for _, s := range a.SubAttributes {
		if s.Type != TypeBoolean && s.Type != TypeDateTime {
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
func (m *nativeMerge) array(f *nativeField, v any, path string) error {
	var items []any
	if v != nil {
		var ok bool
		if items, ok = v.([]any); !ok {
			return valueErr(path, "expected an array, not %s", jsonTypeName(v))
		}
	}
	var owned []*Attribute
	for _, s := range f.subs {
		if s.write != wReadOnly {
			owned = append(owned, s.attr)
		}
	}
	old := CloneElems(Elems(m.u, f.attr, m.o.AppID))
	used := make([]bool, len(old))
	var fresh []any
	for i, item := range items {
		ipath := path + "[" + strconv.Itoa(i) + "]"
		obj, sugar, err := m.members(f, item, ipath)
		if err != nil {
			return err
		}
		e := NewElem(f.attr)
		for _, s := range f.subs {
			if s.write == wReadOnly {
				continue
			}
			if err := m.field(e, s, obj[s.name], memberPath(f, s, ipath, sugar)); err != nil {
				return err
			}
		}
		if f.input != nil && ElemEmpty(e, []*Attribute{f.input.attr}) {
			return valueErr(ipath, "a value is required")
		}
		for _, p := range fresh {
			if FindPrevious(f.attr, e, []any{p}, []bool{false}, owned) != nil {
				return valueErr(ipath, "listed twice")
			}
		}
		if o := FindPrevious(f.attr, e, old, used, owned); o != nil {
			Carry(e, o, owned)
		}
		fresh = append(fresh, e)
	}
	ClearElems(m.u, f.attr, m.o.AppID)
	for _, e := range fresh {
		dst := AppendElem(m.u, f.attr)
		CopyElem(dst, e)
	}
	return nil
}

// json applies a free-form field: shallow-merged (top-level keys of the body
// replace those keys, a key set to null deletes it; null clears it all), or
// replaced whole for the group's custom_data (transmit-api.md §5).
func (m *nativeMerge) json(f *nativeField, v any, path string) error {
	var patch map[string]any
	if v != nil {
		obj, ok := v.(map[string]any)
		if !ok {
			return valueErr(path, "expected an object, not %s", jsonTypeName(v))
		}
		n, err := NormalizeJSONObject(obj)
		if err != nil {
			return valueErr(path, "%v", err)
		}
		patch = n
	}
	var holder any = m.root()
	if par := f.attr.acc.parent; par != nil {
		holder = SingleElem(m.u, par, m.o.AppID, v != nil)
		if holder == nil {
			return nil
		}
	}
	s := slot(holder, f.attr.acc.field, true).(*map[string]any)
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
	merged := CloneJSONObject(*s)
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
		return valueErr(path, "%s must be an array of application ids", path)
	}
	for i, e := range arr {
		id, ok := e.(string)
		if !ok || id == "" {
			return valueErr(path, "%s[%d] must be an application id", path, i)
		}
		if m.u.Apps == nil {
			m.u.Apps = map[string]*AppLink{}
		}
		if m.u.Apps[id] == nil {
			m.u.Apps[id] = &AppLink{}
		}
	}
	return nil
}

// apply checks every key of body against the table, then applies the
// fields in table order (so email is applied before secondary_emails).
func (m *nativeMerge) apply(t *nativeTable, body map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(body)) {
		f := t.byName[k]
		if f == nil {
			return valueErr(k, "unknown field %q", k)
		}
		if err := m.allowed(f, k); err != nil {
			return err
		}
	}
	for _, f := range t.fields {
		if v, given := body[f.name]; given {
			if err := m.field(m.root(), f, v, f.name); err != nil {
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
// body first, else they are unknown fields. Every error is a *ValueError
// whose Path names the field as the client wrote it, and on error u is
// unchanged. Requirements on the whole user (uniqueness, who may assign
// applications) are the directory's; the native face requires an email or
// a phone number on create.
func MergeNativeUser(u *User, body map[string]any, o NativeOptions, create bool) error {
	m := &nativeMerge{u: u.Clone(), o: o, create: create, now: o.Now}
	if err := m.apply(userNative, body); err != nil {
		return err
	}
	if err := distinctContacts(m.u); err != nil {
		return err
	}
	*u = *m.u
	return nil
}

// distinctContacts rejects a primary email (phone) that is also a secondary.
func distinctContacts(u *User) error {
	for i := range u.Emails {
		for j := i + 1; j < len(u.Emails); j++ {
			if strings.EqualFold(u.Emails[i].Value, u.Emails[j].Value) {
				return valueErr("secondary_emails", "%q is listed twice (also as the primary email?)", u.Emails[j].Value)
			}
		}
	}
	for i := range u.PhoneNumbers {
		for j := i + 1; j < len(u.PhoneNumbers); j++ {
			if u.PhoneNumbers[i].Value == u.PhoneNumbers[j].Value {
				return valueErr("secondary_phone_numbers", "%q is listed twice (also as the primary phone number?)", u.PhoneNumbers[j].Value)
			}
		}
	}
	return nil
}

// MergeNativeGroup applies a native group create or update body
// (transmit-api.md §5) to g: name, description and custom_data (replaced
// whole) change when present; null clears them. group_id, created_at and
// updated_at are read-only, other fields unknown. Every error is a
// *ValueError, and on error g is unchanged.
func MergeNativeGroup(g *Group, body map[string]any) error {
	m := &nativeMerge{g: g.Clone()}
	if err := m.apply(groupNative, body); err != nil {
		return err
	}
	*g = *m.g
	return nil
}
