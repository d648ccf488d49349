package schemas

import (
	"strings"
	"testing"
)

func TestFoldAgreesWithEqualFold(t *testing.T) {
	words := []string{"", "a", "A", "abc", "ABC", "aBc", "k", "K", "\u212a", "σ", "ς", "Σ", "straße", "STRASSE",
		"İstanbul", "istanbul", "ǅ", "ǆ", "Ǆ", "Ωmega", "ωMEGA", "\u2126", "日本", "x\xffy", "X\xffY"}
	for _, a := range words {
		for _, b := range words {
			if got, want := Fold(a) == Fold(b), strings.EqualFold(a, b); got != want {
				t.Errorf("Fold(%q)==Fold(%q) is %v, EqualFold says %v", a, b, got, want)
			}
		}
	}
}

func TestFoldASCIIUnchangedWithoutAllocation(t *testing.T) {
	s := "already.lower@example.org"
	if got := Fold(s); got != s {
		t.Fatalf("Fold(%q) = %q", s, got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Fold(s) }); n != 0 {
		t.Fatalf("Fold of a lower-case ASCII string allocates %v times", n)
	}
	if got := Fold("Ada.LOVELACE@Example.ORG"); got != "ada.lovelace@example.org" {
		t.Fatalf("got %q", got)
	}
}

func FuzzFold(f *testing.F) {
	f.Add("Hello", "hELLO")
	f.Add("σ", "ς")
	f.Fuzz(func(t *testing.T, a, b string) {
		if (Fold(a) == Fold(b)) != strings.EqualFold(a, b) {
			t.Fatalf("Fold disagrees with EqualFold on %q, %q", a, b)
		}
		if Fold(Fold(a)) != Fold(a) {
			t.Fatalf("Fold is not idempotent on %q", a)
		}
	})
}
