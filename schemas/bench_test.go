package schemas_test

import (
	"testing"

	. "github.com/scimd/scimd/schemas"
)

var benchFilters = []struct{ name, expr string }{
	{"userNameEq", `userName eq "ada.lovelace@example.org"`},
	{"familyNameCo", `name.familyName co "lace"`},
	{"valuePath", `emails[type eq "work" and value co "@work.example"]`},
	{"orNotDate", `meta.created gt "2024-01-01" and not (active eq false or title eq "Intern")`},
	{"customData", `urn:scimd:schemas:extension:CustomData:2.0:User:nested.n ge 10`},
}

func BenchmarkMatchUser(b *testing.B) {
	u := sampleUser(b)
	for _, bf := range benchFilters {
		f, err := ParseFilter(bf.expr, scim)
		if err != nil {
			b.Fatal(err)
		}
		if !MatchUser(f, u) {
			b.Fatalf("%s does not match the sample user", bf.expr)
		}
		b.Run(bf.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MatchUser(f, u)
			}
		})
	}
}

func BenchmarkParseFilter(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFilter(`emails[type eq "work" and value co "@x"] or (userName sw "ada" and not (active eq false))`, scim); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMatchUserDoesNotAllocate(t *testing.T) {
	u := sampleUser(t)
	exprs := []string{
		`userName eq "ADA.lovelace@example.org"`, `name.familyName co "LACE"`, `emails co "work"`,
		`emails[type eq "work" and value co "@work.example"]`, `addresses[type eq "work"] and not (roles eq "x")`,
		`meta.created gt "2024-01-01"`, `urn:scimd:schemas:extension:CustomData:2.0:User:tags eq "b"`,
		`urn:scimd:schemas:extension:CustomData:2.0:User:nested pr`, `groups eq "g2"`, `manager.value pr`,
	}
	for _, e := range exprs {
		f, err := ParseFilter(e, scim)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { MatchUser(f, u) }); n != 0 {
			t.Errorf("MatchUser(%s) allocates %v times", e, n)
		}
	}
	f, _ := ParseFilter(`custom_app_data.seats gt 1 and email ew "example"`, nativeA1)
	if n := testing.AllocsPerRun(100, func() { MatchUser(f, u) }); n != 0 {
		t.Errorf("app-scoped MatchUser allocates %v times", n)
	}
}
