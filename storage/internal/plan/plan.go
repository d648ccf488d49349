// Package plan is the filter push-down planner the storage backends share:
// it splits a filter into what a backend's indexes answer and what is left
// for the evaluator, the same way for every backend, which supplies only
// how its indexes answer one comparison and how their answers combine.
//
// The rules (exact conjuncts pushed, the rest evaluated):
//
//   - a comparison is whatever the backend's Leaf says: not answerable
//     (None), a superset of its matches (Superset) or exactly its matches;
//   - an And of two planned sides is their And, exact when both are; with
//     one planned side it is that side, loosened to a superset (the other
//     conjunct is checked by the evaluator); with none, None;
//   - an Or needs both sides planned (a side the indexes cannot narrow
//     makes every entity a candidate): their Or, exact when both are;
//   - a Not of an exact plan is its complement where the backend can
//     express it, exact; any other Not, and value paths, are None.
//
// A backend runs the plan and, unless it is Exact, checks every candidate
// with schemas.MatchUser (or MatchGroup): it never answers wrongly because an
// index could not express a filter.
package plan

import "github.com/scimd/scimd/schemas"

// Kind says how a plan answers a filter.
type Kind uint8

const (
	// None: the indexes cannot narrow the filter; every entity is a candidate.
	None Kind = iota
	// Superset: the plan's entities include every match; each is checked.
	Superset
	// Exact: the plan's entities are exactly the matches.
	Exact
)

// Index is what a backend's indexes answer, as plans of type P.
type Index[P any] interface {
	// Leaf plans one comparison.
	Leaf(c *schemas.Compare) (P, Kind)
	// And combines the plans of two conjuncts (both planned).
	And(l, r P) P
	// Or combines the plans of two alternatives (both planned).
	Or(l, r P) P
	// Not returns the complement of an exact plan, or ok == false when the
	// backend cannot express it.
	Not(x P) (p P, ok bool)
	// Loose marks a plan as standing for a superset of the filter's matches
	// (an And whose other conjunct is not planned): a backend that tracks
	// which entities match for sure forgets them.
	Loose(p P) P
}

// Plan plans f (not nil) for the indexes ix: the plan of what they answer,
// and how (None: scan everything).
func Plan[P any](f schemas.Filter, ix Index[P]) (P, Kind) {
	var zero P
	switch f := f.(type) {
	case *schemas.And:
		l, lk := Plan(f.Left, ix)
		r, rk := Plan(f.Right, ix)
		switch {
		case lk != None && rk != None:
			return ix.And(l, r), min(lk, rk)
		case lk != None:
			return ix.Loose(l), Superset
		case rk != None:
			return ix.Loose(r), Superset
		}
	case *schemas.Or:
		l, lk := Plan(f.Left, ix)
		if lk == None {
			return zero, None
		}
		r, rk := Plan(f.Right, ix)
		if rk == None {
			return zero, None
		}
		return ix.Or(l, r), min(lk, rk)
	case *schemas.Not:
		if x, k := Plan(f.X, ix); k == Exact {
			if p, ok := ix.Not(x); ok {
				return p, Exact
			}
		}
	case *schemas.Compare:
		return ix.Leaf(f)
	}
	return zero, None
}
