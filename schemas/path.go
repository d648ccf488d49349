package schemas

import "strings"

// String renders the canonical path: "userName", "emails.value",
// "apps.<appID>.customAppData.tier", "customData.a.b". Storage backends may
// use it as a key; it is not meant for users.
func (p Path) String() string {
	if p.Attr == nil {
		return ""
	}
	var b strings.Builder
	c := p.Attr.Canonical
	if p.AppID != "" && (c == "apps" || strings.HasPrefix(c, "apps.")) {
		b.WriteString("apps.")
		b.WriteString(p.AppID)
		b.WriteString(c[len("apps"):])
	} else {
		b.WriteString(c)
	}
	for _, k := range p.Keys {
		b.WriteByte('.')
		b.WriteString(k)
	}
	return b.String()
}

// UserValues yields every value of the path on u: each value of a
// multi-valued attribute, each element's value of a sub-attribute of a
// multi-valued complex attribute, the "value" sub-attribute of each element of
// a complex attribute compared as a whole (emails), and the scalars at the
// nested keys of a JSON attribute (each element of an array). Unassigned and
// empty values yield nothing; objects yield nothing. It stops when yield
// returns false.
func (p Path) UserValues(u *User, yield func(Value) bool) {
	if u == nil {
		return
	}
	eachValue(u, &p, yield)
}

// GroupValues yields every value of the path on g, as UserValues.
func (p Path) GroupValues(g *Group, yield func(Value) bool) {
	if g == nil {
		return
	}
	eachValue(g, &p, yield)
}

// sortValue is the value a document sorts by: for a (sub-attribute of a)
// multi-valued complex attribute, the value in the primary element, else in
// the first element; otherwise the first value.
func sortValue(doc any, p *Path) (v Value, ok bool) {
	a := p.Attr
	if a == nil {
		return Value{}, false
	}
	holder, sub := a.acc.parent, a
	if holder == nil && a.acc.valueSub != nil {
		holder, sub = a, a.acc.valueSub
	}
	if holder != nil && holder.MultiValued {
		var first, prim any
		readElems(doc, holder, p, func(e any) bool {
			if first == nil {
				first = e
			}
			if isPrimary(e) {
				prim = e
				return false
			}
			return true
		})
		if prim == nil {
			prim = first
		}
		if prim == nil {
			return Value{}, false
		}
		readValues(prim, sub, p, func(x Value) bool { v, ok = x, true; return false })
		return v, ok
	}
	eachValue(doc, p, func(x Value) bool { v, ok = x, true; return false })
	return v, ok
}

func isPrimary(e any) bool {
	switch t := e.(type) {
	case *Email:
		return t.Primary
	case *PhoneNumber:
		return t.Primary
	case *MultiValue:
		return t.Primary
	case *Address:
		return t.Primary
	}
	return false
}
