package scim

import (
	"strings"

	"github.com/scimd/scimd/schemas"
)

// target is a resolved PATCH path.
type target struct {
	urn  string // the schema the attribute belongs to
	ext  bool   // the attribute lives in doc[urn] (an extension)
	attr *schemas.Attribute
	// filter is the value filter of attr[filter] (paths relative to attr), or nil.
	filter schemas.Filter
	sub    *schemas.Attribute // the sub-attribute, or nil
	// freeform paths name a free-form extension (doc[urn]) and nested keys in it.
	freeform bool
	keys     []string
}

// resolvePath resolves a PATCH path (RFC 7644 §3.5.2 PATH grammar) through
// the catalog: [urn:…:]attr[.sub], attr[filter][.sub], a free-form
// extension URN with optional nested keys, or an extension URN alone.
func resolvePath(rs resourceSchemas, path string, appID string) (target, error) {
	t := target{urn: rs.core}
	rest := path
	if len(path) > 4 && strings.EqualFold(path[:4], "urn:") {
		urn, r := rs.splitURN(path)
		if urn == "" {
			return t, invalidPath("unknown schema in path %q", path)
		}
		t.urn, rest = urn, r
		if rs.isFreeform(urn) {
			t.freeform = true
			if rest != "" {
				for _, k := range strings.Split(rest, ".") {
					if k == "" {
						return t, invalidPath("invalid key path in %q", path)
					}
					t.keys = append(t.keys, k)
				}
			}
			return t, nil
		}
		if rest == "" {
			if urn == rs.core {
				return t, invalidPath("path %q names no attribute", path)
			}
			t.ext = true
			return t, nil
		}
	}
	name, filterExpr, subName, err := splitPath(rest)
	if err != nil {
		return t, err
	}
	if t.urn == rs.core {
		t.attr = findAttr(schemas.CommonAttributes(rs.rt), name)
		if t.attr == nil {
			t.attr = findAttr(schemas.SchemaAttributes(rs.core), name)
		}
		if t.attr == nil && !strings.HasPrefix(strings.ToLower(path), "urn:") {
			for _, u := range rs.ext {
				if t.attr = findAttr(schemas.SchemaAttributes(u), name); t.attr != nil {
					t.urn = u
					break
				}
			}
		}
	} else {
		t.attr = findAttr(schemas.SchemaAttributes(t.urn), name)
	}
	if t.attr == nil {
		return t, invalidPath("unknown attribute %q in path %q", name, path)
	}
	t.ext = t.urn != rs.core
	if subName != "" {
		t.sub = findAttr(t.attr.SubAttributes, subName)
		if t.sub == nil {
			return t, invalidPath("unknown sub-attribute %q of %s", subName, t.attr.Name)
		}
	}
	if filterExpr != "" {
		if !t.attr.MultiValued || t.attr.Type != schemas.TypeComplex {
			return t, invalidPath("%s is not a multi-valued complex attribute: it cannot have a value filter", t.attr.Name)
		}
		expr := t.attr.Name + "[" + filterExpr + "]"
		if t.ext {
			expr = t.urn + ":" + expr
		}
		f, err := schemas.ParseFilter(expr, schemas.ParseOptions{Resource: rs.rt, Dialect: schemas.SCIMDialect, AppID: appID})
		if err != nil {
			return t, err
		}
		vp, ok := f.(*schemas.ValuePath)
		if !ok {
			return t, invalidPath("invalid value filter in path %q", path)
		}
		t.filter = vp.Filter
	}
	return t, nil
}

// splitPath splits attr[filter].sub or attr.sub.
func splitPath(p string) (name, filter, sub string, err error) {
	i := strings.IndexAny(p, "[.")
	if i < 0 {
		return p, "", "", checkName(p)
	}
	name = p[:i]
	if p[i] == '.' {
		sub = p[i+1:]
		if strings.ContainsAny(sub, ".[]") || sub == "" {
			return "", "", "", invalidPath("invalid path %q", p)
		}
		return name, "", sub, checkName(name)
	}
	end := closingBracket(p, i)
	if end < 0 {
		return "", "", "", invalidPath("unbalanced [ in path %q", p)
	}
	filter = strings.TrimSpace(p[i+1 : end])
	if filter == "" {
		return "", "", "", invalidPath("empty value filter in path %q", p)
	}
	after := p[end+1:]
	switch {
	case after == "":
	case strings.HasPrefix(after, ".") && len(after) > 1 && !strings.ContainsAny(after[1:], ".[]"):
		sub = after[1:]
	default:
		return "", "", "", invalidPath("invalid path %q", p)
	}
	return name, filter, sub, checkName(name)
}

// closingBracket finds the ] that closes the [ at open, skipping quoted strings.
func closingBracket(s string, open int) int {
	inStr := false
	for i := open + 1; i < len(s); i++ {
		switch {
		case inStr && s[i] == '\\':
			i++
		case s[i] == '"':
			inStr = !inStr
		case !inStr && s[i] == ']':
			return i
		}
	}
	return -1
}

func checkName(n string) error {
	if n == "" {
		return invalidPath("missing attribute name")
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '_' || c == '-' || c == '$' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return invalidPath("invalid attribute name %q", n)
		}
	}
	return nil
}

// findAttr finds a SCIM attribute by name, case-insensitively, ignoring
// scimd-internal sub-attributes.
func findAttr(list []*schemas.Attribute, name string) *schemas.Attribute {
	for _, a := range list {
		if strings.EqualFold(a.Name, name) && a.SchemaURN != "" {
			return a
		}
	}
	return nil
}
