package schemas

import (
	"fmt"
	"strings"
)

// Limits that keep hostile filters cheap.
const (
	// MaxFilterLength is the longest filter expression ParseFilter accepts, in bytes.
	MaxFilterLength = 4096
	// MaxFilterDepth is how deeply parentheses, `not` and value paths may nest.
	MaxFilterDepth = 50
)

// ParseFilter parses a SCIM filter expression (RFC 7644 §3.4.2.2) and resolves
// its attribute paths through the catalog of opt.Resource, in opt.Dialect's
// names, typing every comparison value for its attribute.
//
// The whole grammar is supported: eq ne co sw ew gt ge lt le pr; and, or and
// not with RFC precedence (not > and > or) and grouping; value paths
// (`emails[type eq "work" and value co "@x"]`, whose filter may itself use and,
// or, not and parentheses), also followed by a sub-attribute comparison
// (`emails[type eq "work"].value eq "x"`, as Entra sends: an element matches
// both); sub-attributes; URN-qualified paths. Keywords and
// attribute names are case-insensitive; nested keys of free-form JSON
// attributes (`custom_data.tier.level`) are not. As extensions, whitespace
// around parentheses is optional (`(a eq 1)and(b pr)`), `attr eq null` means
// `not (attr pr)` and `attr ne null` means `attr pr`.
//
// The result is a tree of *And, *Or, *Not, *Compare and *ValuePath nodes
// (always pointers). Every error is a *FilterError.
func ParseFilter(expr string, opt ParseOptions) (f Filter, err error) {
	return parseFilter(expr, opt, false)
}

// parseFilter is ParseFilter; in patch mode (a PATCH path's value filter,
// which selects elements of one resource rather than searching), attributes
// that cannot be searched on (a group's members) may be filtered too.
func parseFilter(expr string, opt ParseOptions, patch bool) (f Filter, err error) {
	if len(expr) > MaxFilterLength {
		return nil, &FilterError{Expr: expr, Reason: fmt.Sprintf("filter is longer than %d bytes", MaxFilterLength)}
	}
	defer func() {
		// Last resort: the parser is not expected to panic (see FuzzParseFilter).
		if r := recover(); r != nil {
			f, err = nil, &FilterError{Expr: expr, Reason: fmt.Sprintf("invalid filter: %v", r)}
		}
	}()
	p := &parser{lex: lexer{in: expr}, opt: opt, cat: catalogFor(opt.Resource), patch: patch}
	if !p.advance() {
		return nil, p.error(expr)
	}
	if p.tok.kind == tEOF {
		return nil, &FilterError{Expr: expr, Reason: "empty filter"}
	}
	f = p.parseOr()
	if p.reason == "" && p.tok.kind != tEOF {
		p.fail(fmt.Sprintf("syntax error at offset %d: unexpected %s", p.tok.pos, p.tok))
	}
	if p.reason != "" {
		return nil, p.error(expr)
	}
	return f, nil
}

// ParsePath resolves one attribute path (a SCIM sortBy or a native
// sort_field) the way ParseFilter resolves the paths in a filter. Every error
// is a *FilterError.
func ParsePath(path string, opt ParseOptions) (Path, error) {
	path = strings.TrimSpace(path)
	fail := func(reason string) (Path, error) { return Path{}, &FilterError{Expr: path, Reason: reason} }
	if path == "" {
		return fail("missing attribute name")
	}
	if len(path) > MaxFilterLength {
		return fail(fmt.Sprintf("attribute path is longer than %d bytes", MaxFilterLength))
	}
	if !isWordStart(path[0]) {
		return fail(fmt.Sprintf("invalid attribute path %q", path))
	}
	for i := 0; i < len(path); i++ {
		if !isWordChar(path[i]) {
			return fail(fmt.Sprintf("invalid attribute path %q", path))
		}
	}
	cat := catalogFor(opt.Resource)
	p, reason := resolve(cat, path, opt, nil)
	if reason != "" {
		return fail(reason)
	}
	if why := p.Attr.acc.noFilter; why != "" {
		return fail(strings.Replace(why, "in a filter", "as a sort key", 1))
	}
	return p, nil
}

type parser struct {
	lex    lexer
	tok    token
	opt    ParseOptions
	cat    *catalog
	depth  int
	elem   *Path  // inside a value filter: the complex attribute
	patch  bool   // a PATCH path: noFilter attributes may be filtered
	reason string // the first error; once set, parsing unwinds
}

func (p *parser) error(expr string) error { return &FilterError{Expr: expr, Reason: p.reason} }

func (p *parser) fail(reason string) {
	if p.reason == "" {
		p.reason = reason
	}
}

// advance reads the next token; it returns false on a lexical error.
func (p *parser) advance() bool {
	t, reason := p.lex.next()
	if reason != "" {
		p.fail(reason)
		p.tok = token{kind: tEOF, pos: len(p.lex.in)}
		return false
	}
	p.tok = t
	return true
}

func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.text, kw)
}

func (p *parser) enter() bool {
	p.depth++
	if p.depth > MaxFilterDepth {
		p.fail(fmt.Sprintf("filter is nested more than %d levels deep", MaxFilterDepth))
		return false
	}
	return true
}

func (p *parser) parseOr() Filter {
	left := p.parseAnd()
	for p.reason == "" && p.isKeyword("or") {
		p.advance()
		right := p.parseAnd()
		left = &Or{Left: left, Right: right}
	}
	return left
}

func (p *parser) parseAnd() Filter {
	left := p.parseUnary()
	for p.reason == "" && p.isKeyword("and") {
		p.advance()
		right := p.parseUnary()
		left = &And{Left: left, Right: right}
	}
	return left
}

func (p *parser) parseUnary() Filter {
	if p.reason != "" {
		return nil
	}
	switch {
	case p.tok.kind == tLParen:
		return p.parseGroup()
	case p.isKeyword("not"):
		pos := p.tok.pos
		if !p.advance() {
			return nil
		}
		if p.tok.kind != tLParen {
			p.fail(fmt.Sprintf("syntax error at offset %d: expected \"(\" after not", pos))
			return nil
		}
		x := p.parseGroup()
		if p.reason != "" {
			return nil
		}
		return &Not{X: x}
	case p.tok.kind == tWord && !p.isKeyword("and") && !p.isKeyword("or"):
		return p.parseAttrExp()
	}
	p.fail(fmt.Sprintf("syntax error at offset %d: expected an attribute, \"(\" or not, found %s", p.tok.pos, p.tok))
	return nil
}

// parseGroup parses "(" filter ")".
func (p *parser) parseGroup() Filter {
	if !p.enter() || !p.advance() {
		return nil
	}
	f := p.parseOr()
	if p.reason != "" {
		return nil
	}
	if p.tok.kind != tRParen {
		p.fail(fmt.Sprintf("syntax error at offset %d: expected \")\", found %s", p.tok.pos, p.tok))
		return nil
	}
	p.depth--
	p.advance()
	return f
}

func (p *parser) parseAttrExp() Filter {
	name := p.tok
	if !p.advance() {
		return nil
	}
	if p.tok.kind == tLBrack {
		return p.parseValuePath(name)
	}
	path, reason := resolve(p.cat, name.text, p.opt, p.elem)
	if reason != "" {
		p.fail(reason)
		return nil
	}
	if p.tok.kind != tWord {
		p.fail(fmt.Sprintf("syntax error at offset %d: expected an operator after %s, found %s", p.tok.pos, name.text, p.tok))
		return nil
	}
	op, ok := parseOp(p.tok.text)
	if !ok {
		p.fail(fmt.Sprintf("syntax error at offset %d: unknown operator %q", p.tok.pos, p.tok.text))
		return nil
	}
	if !p.advance() {
		return nil
	}
	if why := path.Attr.acc.noFilter; why != "" && !p.patch {
		p.fail(why)
		return nil
	}
	if op == OpPr {
		return &Compare{Path: path, Op: OpPr}
	}
	lit := p.tok
	switch lit.kind {
	case tString, tNumber:
	case tWord:
		if !isLiteralWord(lit.text) {
			p.fail(fmt.Sprintf("syntax error at offset %d: expected a value after %s %s, found %s (strings must be quoted)", lit.pos, name.text, op, lit))
			return nil
		}
	default:
		p.fail(fmt.Sprintf("syntax error at offset %d: expected a value after %s %s, found %s", lit.pos, name.text, op, lit))
		return nil
	}
	p.advance()
	if lit.kind == tWord && strings.EqualFold(lit.text, "null") {
		switch op {
		case OpEq:
			return &Not{X: &Compare{Path: path, Op: OpPr}}
		case OpNe:
			return &Compare{Path: path, Op: OpPr}
		}
		p.fail(fmt.Sprintf("operator %s cannot compare with null", op))
		return nil
	}
	v, reason := typeValue(&path, name.text, op, lit, p.opt)
	if reason != "" {
		p.fail(reason)
		return nil
	}
	return &Compare{Path: path, Op: op, Value: v}
}

func isLiteralWord(s string) bool {
	return strings.EqualFold(s, "true") || strings.EqualFold(s, "false") || strings.EqualFold(s, "null")
}

func parseOp(s string) (Op, bool) {
	if len(s) != 2 {
		return "", false
	}
	switch op := Op(strings.ToLower(s)); op {
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe, OpPr:
		return op, true
	}
	return "", false
}

// parseValuePath parses name "[" valFilter "]" with p.tok at "[".
func (p *parser) parseValuePath(name token) Filter {
	if p.elem != nil {
		p.fail(fmt.Sprintf("syntax error at offset %d: value paths cannot be nested", name.pos))
		return nil
	}
	path, reason := resolve(p.cat, name.text, p.opt, nil)
	if reason != "" {
		p.fail(reason)
		return nil
	}
	a := path.Attr
	// A group's members have no elements in the document (membership is
	// stored on the users): their value filter is answered by the directory
	// (directory.ListGroups), though members cannot be compared as a whole.
	groupMembers := p.cat == groupCatalog && a.Canonical == "members"
	if why := a.acc.noFilter; why != "" && !p.patch && !groupMembers {
		p.fail(why)
		return nil
	}
	if a.Type != TypeComplex || (a.acc.elems == eNone && !p.patch && !groupMembers) {
		p.fail(fmt.Sprintf("%s is not a complex attribute: it has no value filter", name.text))
		return nil
	}
	if !p.enter() || !p.advance() {
		return nil
	}
	p.elem = &path
	f := p.parseOr()
	p.elem = nil
	if p.reason != "" {
		return nil
	}
	if p.tok.kind != tRBrack {
		p.fail(fmt.Sprintf("syntax error at offset %d: expected \"]\", found %s", p.tok.pos, p.tok))
		return nil
	}
	p.depth--
	if !p.patch && p.lex.pos < len(p.lex.in) && p.lex.in[p.lex.pos] == '.' {
		// attr[filter].sub op value (Entra: emails[type eq "work"].value eq
		// "x"): an element matches the filter and the comparison.
		p.lex.pos++
		if !p.advance() {
			return nil
		}
		if p.tok.kind != tWord || !isWordStart(p.tok.text[0]) {
			p.fail(fmt.Sprintf("syntax error at offset %d: expected a sub-attribute of %s after \"].\", found %s", p.tok.pos, name.text, p.tok))
			return nil
		}
		p.elem = &path
		c := p.parseAttrExp()
		p.elem = nil
		if p.reason != "" {
			return nil
		}
		return &ValuePath{Path: path, Filter: &And{Left: f, Right: c}}
	}
	p.advance()
	return &ValuePath{Path: path, Filter: f}
}
