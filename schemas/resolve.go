package schemas

import (
	"fmt"
	"strings"
)

// resolve maps an attribute path as written (SCIM or native, per opt.Dialect)
// to a Path. It returns a user-facing reason on failure. inValue names the
// complex attribute whose value filter the path appears in (nil outside one):
// there the path is a sub-attribute name relative to that attribute.
func resolve(c *catalog, name string, opt ParseOptions, inValue *Path) (Path, string) {
	if inValue != nil {
		full := inValue.Attr.Name + "." + name
		if opt.Dialect == SCIMDialect && inValue.Attr.SchemaURN != "" && inValue.Attr.SchemaURN != c.order[0] {
			full = inValue.Attr.SchemaURN + ":" + full
		}
		if opt.Dialect == NativeDialect {
			full = nativeNameOf(c, inValue.Attr) + "." + name
		}
		p, reason := resolveName(c, full, opt, true)
		if reason != "" || p.Attr.acc.parent != inValue.Attr {
			return Path{}, fmt.Sprintf("unknown sub-attribute %q of %s", name, inValue.displayName(opt))
		}
		p.AppID = inValue.AppID
		return p, ""
	}
	return resolveName(c, name, opt, false)
}

// nativeNameOf returns the native name registered for a, or its Name.
func nativeNameOf(c *catalog, a *Attribute) string {
	best := ""
	for n, x := range c.native {
		if x == a && (best == "" || n < best) {
			best = n
		}
	}
	if best == "" {
		return a.Name
	}
	return best
}

func resolveName(c *catalog, name string, opt ParseOptions, sub bool) (Path, string) {
	if name == "" {
		return Path{}, "missing attribute name"
	}
	var p Path
	var reason string
	if opt.Dialect == NativeDialect {
		p, reason = resolveNative(c, name)
	} else {
		p, reason = resolveSCIM(c, name, sub)
	}
	if reason != "" {
		return Path{}, reason
	}
	if c.apps != nil && (p.Attr == c.apps || p.Attr.acc.parent == c.apps) {
		if opt.AppID == "" {
			return Path{}, fmt.Sprintf("%s needs an application context (an application's token)", name)
		}
		p.AppID = opt.AppID
	}
	if timeDependent(p.Attr) {
		p.Now = opt.Now
	}
	return p, ""
}

func unknown(name string) string { return fmt.Sprintf("unknown attribute %q", name) }

func resolveNative(c *catalog, name string) (Path, string) {
	head, rest, dotted := strings.Cut(name, ".")
	if ja := c.nativeJSON[strings.ToLower(head)]; ja != nil {
		var keys []string
		if dotted {
			var ok bool
			if keys, ok = splitKeys(rest); !ok {
				return Path{}, fmt.Sprintf("invalid key path in %q", name)
			}
		}
		return Path{Attr: ja, Parent: ja.acc.parent, Keys: keys}, ""
	}
	a := c.native[strings.ToLower(name)]
	if a == nil {
		return Path{}, unknown(name)
	}
	return Path{Attr: a, Parent: a.acc.parent}, ""
}

func splitKeys(s string) ([]string, bool) {
	keys := strings.Split(s, ".")
	for _, k := range keys {
		if k == "" {
			return nil, false
		}
	}
	return keys, true
}

func resolveSCIM(c *catalog, name string, sub bool) (Path, string) {
	urn, rest := "", name
	if len(name) > 4 && strings.EqualFold(name[:4], "urn:") {
		urn, rest = splitURN(c, name)
		if urn == "" {
			return Path{}, unknown(name)
		}
	}
	if ja := c.jsonURN[urn]; ja != nil {
		var keys []string
		if rest != "" {
			var ok bool
			if keys, ok = splitKeys(rest); !ok {
				return Path{}, fmt.Sprintf("invalid key path in %q", name)
			}
		}
		return Path{Attr: ja, Parent: ja.acc.parent, Keys: keys}, ""
	}
	if rest == "" {
		return Path{}, unknown(name)
	}
	seg0, seg1, dotted := strings.Cut(rest, ".")
	if strings.IndexByte(seg1, '.') >= 0 {
		return Path{}, unknown(name)
	}
	var top *Attribute
	if urn != "" {
		top = FindAttribute(c.schemas[urn], seg0)
		if top == nil && urn == c.order[0] {
			top = FindAttribute(c.common, seg0)
		}
	} else {
		top = FindAttribute(c.common, seg0)
		for _, u := range c.order {
			if top != nil {
				break
			}
			top = FindAttribute(c.schemas[u], seg0)
		}
	}
	if top == nil {
		return Path{}, unknown(name)
	}
	if !dotted {
		return Path{Attr: top}, ""
	}
	s := FindAttribute(top.SubAttributes, seg1)
	if s == nil || s.acc.internal {
		return Path{}, unknown(name)
	}
	if top.Canonical == "groups" && s == top.acc.valueSub && !sub {
		return Path{Attr: top}, "" // groups.value is the canonical groups (the ids)
	}
	return Path{Attr: s, Parent: s.acc.parent}, ""
}

// splitURN splits a URN-prefixed path into the longest known schema URN and
// the rest ("" when the name is the URN itself); urn is "" when no known URN
// prefixes the name.
func splitURN(c *catalog, name string) (urn, rest string) {
	try := func(u string) {
		if len(u) > len(urn) && len(name) >= len(u) && strings.EqualFold(name[:len(u)], u) &&
			(len(name) == len(u) || name[len(u)] == ':') {
			urn = u
		}
	}
	for u := range c.schemas {
		try(u)
	}
	for u := range c.jsonURN {
		try(u)
	}
	if urn == "" {
		return "", ""
	}
	rest = strings.TrimPrefix(name[len(urn):], ":")
	if rest == "" && c.jsonURN[urn] == nil {
		return "", ""
	}
	return urn, rest
}

// FindAttribute returns the attribute of list whose SCIM name is name,
// compared case-insensitively (RFC 7643 §2.1), or nil.
func FindAttribute(list []*Attribute, name string) *Attribute {
	for _, a := range list {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// displayName renders p for messages in the dialect the user wrote.
func (p *Path) displayName(opt ParseOptions) string {
	if p.Attr == nil {
		return ""
	}
	if opt.Dialect == NativeDialect {
		return nativeNameOf(catalogFor(opt.Resource), p.Attr)
	}
	if p.Parent != nil && p.Parent.Canonical != "meta" {
		return p.Parent.Name + "." + p.Attr.Name
	}
	if p.Attr.acc.parent != nil && p.Attr.acc.parent.Canonical == "meta" {
		return "meta." + p.Attr.Name
	}
	return p.Attr.Name
}
