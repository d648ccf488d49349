package mongo

import (
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/internal/plan"
)

// Filter push-down. A schemas.Filter is translated to a MongoDB filter only
// where the translation is exact — it selects precisely the documents that
// schemas.MatchUser (or MatchGroup) accepts — using nothing but the portable
// subset: equality, $ne, $exists, $gt/$gte/$lt/$lte on dates, anchored
// $regex with every metacharacter escaped, $in-free array equality, $and, $or
// and $nor. Case-insensitive attributes are compared on their schemas.Fold'ed
// copy under norm.*, never with a collation.
//
// Substring searches. sw, co and ew on a scalar field (userName, primary
// email and phone, externalId, status, and the folded copies of
// name.givenName, name.familyName and displayName) or on the array of every
// email or phone number value (norm.emails, norm.phones: a regex matches
// when one element does) become anchored or unanchored regexes on it: sw
// ("\A<prefix>", case-sensitive on the folded copy where the attribute is
// case-insensitive) is a prefix that MongoDB answers with index bounds where
// the field has an index (the unique ones: norm.userName, norm.email,
// norm.phone, externalId); on the others, and for co and ew, which a B-tree
// index cannot bound, the server scans the collection — but decides the
// filter itself, so only the page travels, and an Or of them (the portal's
// search box) is one query. The embedded backend answers all of these
// through its postings.
//
// The translation returns (filter, exact). When exact is false the filter is a
// superset pre-filter (possibly empty) and the caller evaluates the whole
// filter in Go. The And/Or/Not structure is planned by storage/internal/plan,
// as on the embedded backend; an Or of two supersets is pushed as a superset.

// pushField describes how one canonical attribute is stored.
type pushField struct {
	key    string // document field
	folded bool   // the stored value is schemas.Fold'ed
	kind   schemas.ValueKind
	// scalar: the field holds at most one value and is omitted when empty, so
	// `pr` is $exists and sw/co/ew are regexes on it.
	scalar bool
	// all: the field is an array of every value of a multi-valued
	// attribute, so that eq and sw/co/ew (a regex) match when one element
	// does, as the evaluator's comparison on a multi-valued attribute.
	all bool
}

var userFields = map[string]pushField{
	"id":                 {key: "_id", kind: schemas.KindString, scalar: true},
	"userName":           {key: "norm.userName", folded: true, kind: schemas.KindString, scalar: true},
	"primaryEmail":       {key: "norm.email", folded: true, kind: schemas.KindString, scalar: true},
	"primaryPhone":       {key: "norm.phone", kind: schemas.KindString, scalar: true},
	"externalId":         {key: "externalId", kind: schemas.KindString, scalar: true},
	"status":             {key: "norm.status", folded: true, kind: schemas.KindString, scalar: true},
	"groups":             {key: "norm.groups", folded: true, kind: schemas.KindString},
	"groups.value":       {key: "norm.groups", folded: true, kind: schemas.KindString},
	"name.givenName":     {key: "norm.givenName", folded: true, kind: schemas.KindString, scalar: true},
	"name.familyName":    {key: "norm.familyName", folded: true, kind: schemas.KindString, scalar: true},
	"displayName":        {key: "norm.displayName", folded: true, kind: schemas.KindString, scalar: true},
	"emails.value":       {key: "norm.emails", folded: true, kind: schemas.KindString, all: true},
	"phoneNumbers.value": {key: "norm.phones", folded: true, kind: schemas.KindString, all: true},
	"created":            {key: "created", kind: schemas.KindTime, scalar: true},
	"updated":            {key: "updated", kind: schemas.KindTime, scalar: true},
}

var groupFields = map[string]pushField{
	"id":          {key: "_id", kind: schemas.KindString, scalar: true},
	"displayName": {key: "norm.displayName", folded: true, kind: schemas.KindString, scalar: true},
	"externalId":  {key: "externalId", kind: schemas.KindString, scalar: true},
	"created":     {key: "created", kind: schemas.KindTime, scalar: true},
	"updated":     {key: "updated", kind: schemas.KindTime, scalar: true},
}

// userFilter translates a user filter.
func userFilter(f schemas.Filter) (bson.D, bool) { return translate(f, userFields, true) }

// groupFilter translates a group filter.
func groupFilter(f schemas.Filter) (bson.D, bool) { return translate(f, groupFields, false) }

// translate plans the filter with the shared planner (storage/internal/plan)
// over the MongoDB translation of its comparisons: the filter of what the
// server answers, and whether it is exactly f.
func translate(f schemas.Filter, fields map[string]pushField, users bool) (bson.D, bool) {
	if f == nil {
		return bson.D{}, true
	}
	d, k := plan.Plan[bson.D](f, mongoIndex{fields, users})
	if k == plan.None {
		return bson.D{}, false
	}
	return d, k == plan.Exact
}

// mongoIndex is what the server answers (plan.Index): a comparison the
// fields translate, and $and, $or and $nor of those.
type mongoIndex struct {
	fields map[string]pushField
	users  bool
}

func (ix mongoIndex) Leaf(c *schemas.Compare) (bson.D, plan.Kind) {
	d, exact := compare(*c, ix.fields, ix.users)
	switch {
	case exact:
		return d, plan.Exact
	case len(d) == 0:
		return nil, plan.None
	}
	return d, plan.Superset
}

// And is $and of both sides (an empty side matches everything).
func (mongoIndex) And(l, r bson.D) bson.D {
	switch {
	case len(l) == 0:
		return r
	case len(r) == 0:
		return l
	}
	return bson.D{{Key: "$and", Value: bson.A{l, r}}}
}

// Or is $or of both sides (an empty side matches everything).
func (mongoIndex) Or(l, r bson.D) bson.D {
	if len(l) == 0 || len(r) == 0 {
		return bson.D{}
	}
	return bson.D{{Key: "$or", Value: bson.A{l, r}}}
}

func (mongoIndex) Not(x bson.D) (bson.D, bool) {
	return bson.D{{Key: "$nor", Value: bson.A{x}}}, true
}

func (mongoIndex) Loose(p bson.D) bson.D { return p }

// compare translates one comparison.
func compare(c schemas.Compare, fields map[string]pushField, users bool) (bson.D, bool) {
	p := c.Path
	if p.Attr == nil || len(p.Keys) > 0 {
		return bson.D{}, false
	}
	// Canonical paths are unique in the catalog (meta.created is "created",
	// groups.value is "groups.value"), so the parent needs no look.
	canon := p.Attr.Canonical
	if users && canon == "apps" && p.AppID != "" && c.Op == schemas.OpPr {
		return bson.D{{Key: "apps.appId", Value: p.AppID}}, true
	}
	if users && canon == "active" && c.Op == schemas.OpEq && c.Value.Kind == schemas.KindBool {
		// active is derived: status ≠ Disabled.
		if c.Value.Bool {
			return bson.D{{Key: "norm.status", Value: bson.D{{Key: "$ne", Value: schemas.Fold(schemas.StatusDisabled)}}}}, true
		}
		return bson.D{{Key: "norm.status", Value: schemas.Fold(schemas.StatusDisabled)}}, true
	}
	if p.AppID != "" {
		return bson.D{}, false
	}
	pf, ok := fields[canon]
	if !ok {
		return bson.D{}, false
	}
	if c.Op == schemas.OpPr {
		if pf.key == "_id" {
			return bson.D{}, true
		}
		if pf.scalar {
			return bson.D{{Key: pf.key, Value: bson.D{{Key: "$exists", Value: true}}}}, true
		}
		return bson.D{}, false
	}
	if c.Value.Kind != pf.kind {
		return bson.D{}, false
	}
	switch pf.kind {
	case schemas.KindTime:
		return compareTime(pf.key, c.Op, c.Value.Time)
	case schemas.KindString:
		return compareString(pf, caseExact(p.Attr), c.Op, c.Value.Str)
	}
	return bson.D{}, false
}

// caseExact tells whether comparisons on the attribute are case-exact: for a
// complex attribute (groups), that of its value sub-attribute, as in the
// evaluator.
func caseExact(a *schemas.Attribute) bool {
	if a.Type == schemas.TypeComplex {
		for _, s := range a.SubAttributes {
			if s.Name == "value" {
				return s.CaseExact
			}
		}
	}
	return a.CaseExact
}

// compareString translates a string comparison. A folded field answers a
// case-insensitive comparison exactly and a case-exact one as a superset; a
// field stored as is answers only a case-exact comparison.
func compareString(pf pushField, caseExact bool, op schemas.Op, v string) (bson.D, bool) {
	if v == "" { // empty values are never stored; leave the edge cases to Go
		return bson.D{}, false
	}
	exact := true
	if pf.folded {
		v = schemas.Fold(v)
		exact = !caseExact
	} else if !caseExact {
		return bson.D{}, false
	}
	var cond any
	switch op {
	case schemas.OpEq:
		cond = v
	case schemas.OpNe:
		if !exact {
			return bson.D{}, false // the negation of a superset is not a superset
		}
		cond = bson.D{{Key: "$ne", Value: v}}
	case schemas.OpSw, schemas.OpCo, schemas.OpEw:
		if !pf.scalar && !pf.all {
			return bson.D{}, false
		}
		re := regexp.QuoteMeta(v)
		switch op {
		case schemas.OpSw:
			re = `\A` + re
		case schemas.OpEw:
			re = re + `\z`
		}
		// \A and \z (not ^ and $) so that newlines in values change nothing.
		cond = bson.D{{Key: "$regex", Value: re}}
	default:
		return bson.D{}, false
	}
	return bson.D{{Key: pf.key, Value: cond}}, exact
}

// compareTime translates a date comparison. Dates are stored with millisecond
// precision, so a comparison value with a finer part is rounded so that the
// result does not change: created ≥ 10.0005 ⇔ created > 10.000.
func compareTime(key string, op schemas.Op, t time.Time) (bson.D, bool) {
	t = t.UTC()
	ms := t.Truncate(time.Millisecond)
	fine := !ms.Equal(t)
	var cond bson.D
	switch op {
	case schemas.OpEq:
		if fine {
			return bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}}, true // matches nothing
		}
		cond = bson.D{{Key: "$eq", Value: ms}}
	case schemas.OpNe:
		if fine {
			return bson.D{}, true
		}
		cond = bson.D{{Key: "$ne", Value: ms}}
	case schemas.OpGt:
		cond = bson.D{{Key: "$gt", Value: ms}}
	case schemas.OpGe:
		if fine {
			cond = bson.D{{Key: "$gt", Value: ms}}
		} else {
			cond = bson.D{{Key: "$gte", Value: ms}}
		}
	case schemas.OpLt:
		if fine {
			cond = bson.D{{Key: "$lte", Value: ms}}
		} else {
			cond = bson.D{{Key: "$lt", Value: ms}}
		}
	case schemas.OpLe:
		cond = bson.D{{Key: "$lte", Value: ms}}
	default:
		return bson.D{}, false
	}
	return bson.D{{Key: key, Value: cond}}, true
}

// serverSort returns the MongoDB sort for a sort key the server can apply
// exactly: none (id order), id, created or updated, which every document
// has, and for users userName, name.familyName and emails.value through
// their norm.sort keys (sortKeyOf), each with an index in both directions.
// Other keys are sorted in Go, which alone knows the missing-values rule and
// case folding.
func serverSort(k *schemas.SortKey) (bson.D, bool) {
	if k == nil {
		return bson.D{{Key: "_id", Value: 1}}, true
	}
	if k.Path.Attr == nil || len(k.Path.Keys) > 0 || k.Path.AppID != "" {
		return nil, false
	}
	dir := 1
	if k.Descending {
		dir = -1
	}
	switch k.Path.Attr.Canonical {
	case "id":
		return bson.D{{Key: "_id", Value: dir}}, true
	case "created", "updated":
		return bson.D{{Key: k.Path.Attr.Canonical, Value: dir}, {Key: "_id", Value: 1}}, true
	}
	if field, ok := sortFieldOf(k.Path.Attr.Canonical); ok {
		return bson.D{{Key: field, Value: dir}, {Key: "_id", Value: 1}}, true
	}
	return nil, false
}
