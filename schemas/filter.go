package schemas

import "time"

// Filter is a parsed SCIM filter whose attribute paths are resolved to canonical
// paths through the attribute catalog. It is a small tree of [And], [Or], [Not],
// [Compare] and [ValuePath] nodes; storage backends walk it to push down what they
// can express exactly, and [MatchUser] / [MatchGroup] evaluate it in Go.
//
// The nodes are always pointers (*And, *Or, *Not, *Compare, *ValuePath):
// only the pointer types implement Filter, so a walker has one form to
// handle, whether [ParseFilter] built the tree or a caller did.
//
// A nil Filter matches everything.
type Filter interface {
	isFilter()
}

// And matches when both sides match.
type And struct{ Left, Right Filter }

// Or matches when either side matches.
type Or struct{ Left, Right Filter }

// Not matches when X does not match.
type Not struct{ X Filter }

// Compare is `path op value`, or `path pr` (Op == OpPr, Value is zero).
// On a multi-valued attribute it matches when any value matches.
type Compare struct {
	Path  Path
	Op    Op
	Value Value
}

// ValuePath is `attr[filter]`: it matches when one element of the multi-valued
// complex attribute Path matches Filter, whose paths are relative to the element
// (their Attr is a sub-attribute of Path.Attr).
type ValuePath struct {
	Path   Path
	Filter Filter
}

func (*And) isFilter()       {}
func (*Or) isFilter()        {}
func (*Not) isFilter()       {}
func (*Compare) isFilter()   {}
func (*ValuePath) isFilter() {}

// Op is a SCIM comparison operator.
type Op string

// The comparison operators of RFC 7644 §3.4.2.2.
const (
	OpEq Op = "eq"
	OpNe Op = "ne"
	OpCo Op = "co"
	OpSw Op = "sw"
	OpEw Op = "ew"
	OpGt Op = "gt"
	OpGe Op = "ge"
	OpLt Op = "lt"
	OpLe Op = "le"
	OpPr Op = "pr"
)

// Path is a resolved attribute path.
type Path struct {
	// Attr is the catalog attribute: a top-level attribute, or a sub-attribute
	// (then Parent is its complex parent).
	Attr *Attribute
	// Parent is the complex attribute Attr belongs to, or nil for a top-level attribute.
	Parent *Attribute
	// AppID is the application whose data an app-scoped attribute
	// (custom_app_data, external_account_id) refers to.
	AppID string
	// Keys are the nested object keys below a free-form JSON attribute
	// (custom_data.tier.level → ["tier", "level"]).
	Keys []string
	// Now is, for an attribute whose value depends on the time it is read
	// at (passwordInformation.expired: the expiry has passed at Now), that
	// time: ParseOptions.Now for a parsed path, zero for any other
	// attribute. A zero Now is the zero time, at which no expiry has passed.
	Now time.Time
}

// ValueKind tells which field of a [Value] is set.
type ValueKind uint8

// Value kinds.
const (
	KindNull ValueKind = iota
	KindString
	KindNumber
	KindBool
	KindTime
)

// Value is a typed comparison value or attribute value. It is passed by value so
// that evaluating a filter allocates nothing.
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
	Time time.Time
}

// SortKey orders a list by one attribute. Ties are broken by id, ascending.
type SortKey struct {
	Path       Path
	Descending bool
}
