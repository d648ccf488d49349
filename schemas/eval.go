package schemas

// MatchUser reports whether the user matches the filter; a nil filter matches
// every user. It is the reference semantics every storage backend agrees with
// (see docs/architecture.md) and allocates nothing in the common cases.
func MatchUser(f Filter, u *User) bool {
	if f == nil {
		return true
	}
	if u == nil {
		return false
	}
	return match(f, u, false)
}

// MatchGroup reports whether the group matches the filter; a nil filter
// matches every group.
func MatchGroup(f Filter, g *Group) bool {
	if f == nil {
		return true
	}
	if g == nil {
		return false
	}
	return match(f, g, false)
}

// match evaluates f on doc: a root document, or (inElem) one element of the
// complex attribute of an enclosing value path.
func match(f Filter, doc any, inElem bool) bool {
	switch n := f.(type) {
	case *And:
		return match(n.Left, doc, inElem) && match(n.Right, doc, inElem)
	case *Or:
		return match(n.Left, doc, inElem) || match(n.Right, doc, inElem)
	case *Not:
		return !match(n.X, doc, inElem)
	case *Compare:
		return matchCompare(n, doc, inElem)
	case *ValuePath:
		return !inElem && matchValuePath(n, doc)
	}
	return false
}

func matchValuePath(vp *ValuePath, doc any) bool {
	if vp.Path.Attr == nil {
		return false
	}
	found := false
	readElems(doc, vp.Path.Attr, &vp.Path, func(e any) bool {
		found = match(vp.Filter, e, true)
		return !found
	})
	return found
}

func matchCompare(c *Compare, doc any, inElem bool) bool {
	a := c.Path.Attr
	if a == nil {
		return false
	}
	if c.Op == OpPr {
		if !inElem {
			return present(doc, &c.Path)
		}
		found := false
		readValues(doc, a, &c.Path, func(v Value) bool {
			found = v.Kind != KindString || v.Str != ""
			return !found
		})
		return found
	}
	op, negate := c.Op, false
	if op == OpNe {
		op, negate = OpEq, true
	}
	_, exact := valueType(a)
	found := false
	yield := func(v Value) bool {
		found = compareOne(v, op, &c.Value, exact)
		return !found
	}
	if inElem {
		readValues(doc, a, &c.Path, yield)
	} else {
		eachValue(doc, &c.Path, yield)
	}
	return found != negate
}
