package plan_test

import (
	"testing"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/internal/plan"
)

// textIndex plans into text: a comparison on userName is exact, on
// displayName a superset, anything else unanswerable; Not is expressible
// only when not is set.
type textIndex struct{ not bool }

func (textIndex) Leaf(c *schemas.Compare) (string, plan.Kind) {
	switch c.Path.Attr.Canonical {
	case "userName":
		return "u", plan.Exact
	case "displayName":
		return "d", plan.Superset
	}
	return "", plan.None
}
func (textIndex) And(l, r string) string { return "(" + l + "&" + r + ")" }
func (textIndex) Or(l, r string) string  { return "(" + l + "|" + r + ")" }
func (ix textIndex) Not(x string) (string, bool) {
	return "!" + x, ix.not
}
func (textIndex) Loose(p string) string { return "~" + p }

func TestPlan(t *testing.T) {
	opt := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	for _, c := range []struct {
		expr string
		not  bool
		want string
		kind plan.Kind
	}{
		{`userName eq "a"`, false, "u", plan.Exact},
		{`title eq "a"`, false, "", plan.None},
		{`userName eq "a" and displayName co "b"`, false, "(u&d)", plan.Superset},
		{`userName eq "a" and userName eq "b"`, false, "(u&u)", plan.Exact},
		{`userName eq "a" and title eq "b"`, false, "~u", plan.Superset},
		{`title eq "b" and displayName co "b"`, false, "~d", plan.Superset},
		{`userName eq "a" or userName eq "b"`, false, "(u|u)", plan.Exact},
		{`userName eq "a" or displayName co "b"`, false, "(u|d)", plan.Superset},
		{`userName eq "a" or title eq "b"`, false, "", plan.None},
		{`title eq "b" or userName eq "a"`, false, "", plan.None},
		{`not (userName eq "a")`, true, "!u", plan.Exact},
		{`not (userName eq "a")`, false, "", plan.None},
		{`not (displayName co "a")`, true, "", plan.None},
		{`emails[value eq "a"]`, true, "", plan.None},
		{`(userName eq "a" or userName eq "b") and not (userName eq "c")`, true, "((u|u)&!u)", plan.Exact},
	} {
		f, err := schemas.ParseFilter(c.expr, opt)
		if err != nil {
			t.Fatal(err)
		}
		got, kind := plan.Plan[string](f, textIndex{c.not})
		if got != c.want || kind != c.kind {
			t.Errorf("%s (Not expressible %v): %q %v, want %q %v", c.expr, c.not, got, kind, c.want, c.kind)
		}
	}
}
