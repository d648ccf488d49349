package schemas

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// AuditDiff compares what two versions of a user or group store, as audit
// change records name it. The audit view of a document is the values of the
// catalog's top-level attributes keyed by canonical path ("userName", "name",
// "emails", "enterprise.department", "customData", "apps", …), complex values
// as objects keyed by the last segment of their sub-attributes' canonical
// paths ("givenName", "value", "primary", "externalAccountId",
// "customAppData"), times in RFC 3339 UTC with milliseconds; a user's "apps"
// is an object keyed by application id. Only real values appear: empty
// strings, false, zero times, empty lists and objects are left out, and so
// are attributes that are views of others (primaryEmail, secondaryEmails,
// active, picture, passwordInformation, …), bookkeeping (id, meta,
// statusChangedAt, lastAuth), membership (groups, members: recorded by their
// own events) and the password (secret).
//
// AuditDiff yields, for each attribute of that view whose value may differ
// between prev and cur (two users or two groups; nil or a nil pointer: an
// empty view), its canonical path and its values in the two views (nil: no
// value). Attributes whose stored values are equal are not rendered at
// all, so an update that changes one attribute renders that one only; a
// yielded pair may still be equal (the caller compares it).
func AuditDiff(prev, cur any, yield func(key string, prev, cur any)) {
	var c *catalog
	var pNil, cNil bool
	doc := cur
	if doc == nil {
		doc = prev
	}
	switch doc.(type) {
	case *User:
		p, _ := prev.(*User)
		d, _ := cur.(*User)
		c, pNil, cNil = userCatalog, p == nil, d == nil
	case *Group:
		p, _ := prev.(*Group)
		d, _ := cur.(*Group)
		c, pNil, cNil = groupCatalog, p == nil, d == nil
	default:
		return
	}
	for _, a := range c.top {
		if a.notAudited() || !pNil && !cNil && auditSame(prev, cur, a) {
			continue
		}
		var pv, cv any
		if !pNil {
			pv = auditValue(prev, a)
		}
		if !cNil {
			cv = auditValue(cur, a)
		}
		if pv != nil || cv != nil {
			yield(a.Canonical, pv, cv)
		}
	}
}

// auditSame reports whether the top-level attribute a stores equal values on
// prev and cur (non-nil documents of one type), without rendering them; false
// means "not known to be equal".
func auditSame(prev, cur any, a *Attribute) bool {
	if a.acc.elems == eNone {
		return sameSlot(slot(prev, a.acc.field, false), slot(cur, a.acc.field, false))
	}
	p, ok1 := prev.(*User)
	c, ok2 := cur.(*User)
	if !ok1 || !ok2 {
		return false
	}
	if f := elemsField(p, a.acc.elems); f != nil {
		return sameElems(f, elemsField(c, a.acc.elems))
	}
	switch a.acc.elems {
	case eManager:
		return managerOf(p) == managerOf(c)
	case eApp:
		if len(p.Apps) != len(c.Apps) {
			return false
		}
		for id, pl := range p.Apps {
			cl, ok := c.Apps[id]
			if !ok || (pl == nil) != (cl == nil) {
				return false
			}
			if pl != nil && (pl.ExternalAccountID != cl.ExternalAccountID || !sameJSON(pl.CustomAppData, cl.CustomAppData)) {
				return false
			}
		}
		return true
	}
	return false
}

// sameElems reports whether two fields of one kind, as elemsField returns
// them, hold equal elements.
func sameElems(p, c any) bool {
	switch x := p.(type) {
	case *Name:
		return *x == *c.(*Name)
	case *[]Email:
		return slices.Equal(*x, *c.(*[]Email))
	case *[]PhoneNumber:
		return slices.Equal(*x, *c.(*[]PhoneNumber))
	case *[]Address:
		return slices.Equal(*x, *c.(*[]Address))
	case *[]MultiValue:
		return slices.Equal(*x, *c.(*[]MultiValue))
	}
	return false
}

func managerOf(u *User) Manager {
	if u.Enterprise == nil || u.Enterprise.Manager == nil {
		return Manager{}
	}
	return *u.Enterprise.Manager
}

// sameSlot reports whether two slots (see slot; nil: the document does not
// hold the field) store equal values: slotEqual, and JSON objects compared
// by sameJSON.
func sameSlot(p, c any) bool {
	if x, ok := p.(*map[string]any); ok {
		y, ok := c.(*map[string]any)
		return ok && sameJSON(*x, *y)
	}
	return slotEqual(p, c)
}

// sameJSON reports whether two decoded JSON values are equal in type and
// value (a sufficient test: json.Number "1" and float64 1 are not "same").
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) || (x == nil) != (y == nil) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, sameJSON)
	}
	return reflect.DeepEqual(a, b)
}

// notAudited reports whether a top-level attribute is a view of others,
// bookkeeping, membership or secret (see AuditDiff).
func (a *Attribute) notAudited() bool {
	switch a.acc.elems {
	case eMeta, eGroups, ePrimaryAddress, eSecondaryEmails, eSecondaryPhones, ePassword:
		return true
	}
	switch a.acc.field {
	case fID, fActive, fStatusChangedAt, fLastAuth, fPicture, fPrimaryEmail, fPrimaryEmailVerified,
		fPrimaryEmailVerifiedAt, fPrimaryPhone, fPrimaryPhoneVerified, fPrimaryPhoneVerifiedAt:
		return true
	}
	// password (write-only, no accessor) and group members (no stored elements here)
	return a.acc.field == fNone && a.acc.elems == eNone && !a.acc.keyed
}

// auditValue is the JSON value of the top-level attribute a on doc, or nil.
func auditValue(doc any, a *Attribute) any {
	p := &Path{Attr: a}
	switch {
	case a.acc.keyed:
		var m map[string]any
		eachJSONRoot(doc, p, func(r map[string]any) bool { m = r; return false })
		if len(m) == 0 {
			return nil
		}
		return CloneJSONObject(m)
	case a.acc.elems == eApp:
		u := doc.(*User)
		apps := map[string]any{}
		for id := range u.Apps {
			ap := &Path{Attr: a, AppID: id}
			readElems(doc, a, ap, func(e any) bool {
				o := auditObject(e, a, ap)
				if o == nil {
					o = map[string]any{} // assigned, without app-level data
				}
				apps[id] = o
				return false
			})
		}
		if len(apps) == 0 {
			return nil
		}
		return apps
	case len(a.SubAttributes) > 0:
		var elems []any
		readElems(doc, a, p, func(e any) bool {
			if o := auditObject(e, a, p); o != nil {
				elems = append(elems, o)
			}
			return true
		})
		switch {
		case len(elems) == 0:
			return nil
		case a.MultiValued:
			return elems
		default:
			return elems[0]
		}
	default:
		return auditScalars(doc, a, p, a.MultiValued)
	}
}

// auditObject renders one element of the complex attribute a, or nil when it
// holds no value.
func auditObject(e any, a *Attribute, p *Path) map[string]any {
	o := map[string]any{}
	for _, s := range a.SubAttributes {
		if s.acc.field == fLocation || s.acc.field == fGroupRef {
			continue // computed when rendering, not stored
		}
		key := s.Canonical[strings.LastIndexByte(s.Canonical, '.')+1:]
		if l, ok := e.(*AppLink); ok && s.acc.field == fCustomAppData {
			if len(l.CustomAppData) > 0 {
				o[key] = CloneJSONObject(l.CustomAppData)
			}
			continue
		}
		if v := auditScalars(e, s, p, s.MultiValued); v != nil {
			o[key] = v
		}
	}
	if len(o) == 0 {
		return nil
	}
	return o
}

// auditScalars is the value (multi: the list of values) of the scalar
// attribute a read from doc (a root document or an element), or nil.
func auditScalars(doc any, a *Attribute, p *Path, multi bool) any {
	if !multi { // the first real value, without a list to hold it
		var first any
		readValues(doc, a, p, func(v Value) bool {
			first = auditScalar(v)
			return first == nil
		})
		return first
	}
	var vals []any
	readValues(doc, a, p, func(v Value) bool {
		if j := auditScalar(v); j != nil {
			vals = append(vals, j)
		}
		return true
	})
	if len(vals) == 0 {
		return nil
	}
	return vals
}

// auditScalar is the JSON form of a real value, or nil for a non-value
// (null, "", false, the zero time).
func auditScalar(v Value) any {
	switch v.Kind {
	case KindString:
		if b, ok := boxedCanonical[v.Str]; ok {
			return b
		}
		if v.Str != "" {
			return v.Str
		}
	case KindNumber:
		return v.Num
	case KindBool:
		if v.Bool {
			return true
		}
	case KindTime:
		if !v.Time.IsZero() {
			return v.Time.UTC().Format(auditTimeLayout)
		}
	}
	return nil
}

// auditTimeLayout is RFC 3339 in UTC with milliseconds, as stored.
const auditTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// boxedCanonical holds the catalogs' canonical values ("work", "home", …)
// boxed once: auditScalar answers them without boxing each again.
var boxedCanonical = func() map[string]any {
	m := map[string]any{}
	for _, c := range []*catalog{userCatalog, groupCatalog} {
		for _, a := range c.byCanonical {
			for _, v := range a.CanonicalValues {
				if v != "" {
					m[v] = v
				}
			}
		}
	}
	return m
}()
