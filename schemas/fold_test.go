package schemas

import (
	"strings"
	"testing"
)

func TestFoldAgreesWithEqualFold(t *testing.T) {
	words := []string{"", "a", "A", "abc", "ABC", "aBc", "k", "K", "\u212a", "σ", "ς", "Σ", "straße", "STRASSE",
		"İstanbul", "istanbul", "ǅ", "ǆ", "Ǆ", "Ωmega", "ωMEGA", "\u2126", "日本", "x\xffy", "X\xffY"}
	for _, a := range words {
		if got := string(AppendFold([]byte("pre:"), a)); got != "pre:"+Fold(a) {
			t.Errorf("AppendFold(%q) = %q, want pre:%q", a, got, Fold(a))
		}
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
		if got := string(AppendFold([]byte("pre:"), a)); got != "pre:"+Fold(a) {
			t.Fatalf("AppendFold(%q) = %q, want pre:%q", a, got, Fold(a))
		}
		if Fold(Fold(a)) != Fold(a) {
			t.Fatalf("Fold is not idempotent on %q", a)
		}
	})
}

func FuzzFoldOps(f *testing.F) {
	f.Add("Hello", "ell")
	f.Add("σοφία", "ΦΊ")
	f.Add("x\xffy", "\xff")
	f.Fuzz(func(t *testing.T, s, sub string) {
		fs, fsub := Fold(s), Fold(sub)
		if got, want := containsFold(s, sub), contains(fs, fsub); got != want {
			t.Fatalf("containsFold(%q, %q) = %v, want %v", s, sub, got, want)
		}
		if got, want := prefixFold(s, sub, false), len(fs) >= len(fsub) && fs[:len(fsub)] == fsub; got != want {
			t.Fatalf("prefixFold(%q, %q) = %v, want %v", s, sub, got, want)
		}
		if got, want := suffixFold(s, sub), len(fs) >= len(fsub) && fs[len(fs)-len(fsub):] == fsub; got != want {
			t.Fatalf("suffixFold(%q, %q) = %v, want %v", s, sub, got, want)
		}
		if got, want := sign(compareFold(s, sub)), sign(compareStr(fs, fsub)); got != want {
			t.Fatalf("compareFold(%q, %q) = %v, want %v", s, sub, got, want)
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
