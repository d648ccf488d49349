package schemas

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fold returns the case-folded form of s used for every case-insensitive
// comparison, index and uniqueness rule: Fold(a) == Fold(b) exactly when
// strings.EqualFold(a, b). Each rune is mapped to the lower-case form of the
// smallest rune of its Unicode simple-folding orbit (lower-cased when that rune is
// an ASCII letter), so all members of an orbit (k, K and the Kelvin sign; σ, ς and Σ)
// fold to one rune and different orbits never meet.
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return foldSlow(s, i)
		}
	}
	return s
}

// AppendFold appends Fold(s) to dst, for callers that fold many values
// into one reused buffer.
func AppendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			dst = append(dst, s[:i]...)
			for _, r := range s[i:] {
				dst = utf8.AppendRune(dst, foldRune(r))
			}
			return dst
		}
	}
	return append(dst, s...)
}

func foldSlow(s string, from int) string {
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:from])
	for _, r := range s[from:] {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	if 'A' <= min && min <= 'Z' {
		return min + 'a' - 'A' // the orbit holds an ASCII letter: use its lower case, as the fast path does
	}
	return min
}
