package schemas

import (
	"cmp"
	"strings"
	"unicode/utf8"
)

// CompareValues is the total order used by sorting and by gt/ge/lt/le: values
// of different kinds order by kind (null, string, number, bool, time); strings
// compare as their Fold forms unless caseExact, numbers numerically, false
// before true, times chronologically.
func CompareValues(a, b Value, caseExact bool) int {
	if a.Kind != b.Kind {
		return cmp.Compare(a.Kind, b.Kind)
	}
	switch a.Kind {
	case KindString:
		if caseExact {
			return strings.Compare(a.Str, b.Str)
		}
		return compareFold(a.Str, b.Str)
	case KindNumber:
		return cmp.Compare(a.Num, b.Num)
	case KindBool:
		switch {
		case a.Bool == b.Bool:
			return 0
		case b.Bool:
			return -1
		}
		return 1
	case KindTime:
		return a.Time.Compare(b.Time)
	}
	return 0
}

// decodeFolded decodes the rune at the start of s and folds it as Fold does.
func decodeFolded(s string) (rune, int) {
	c := s[0]
	if c < utf8.RuneSelf {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return rune(c), 1
	}
	r, w := utf8.DecodeRuneInString(s)
	return foldRune(r), w
}

// compareFold is strings.Compare(Fold(a), Fold(b)) without allocating (UTF-8
// byte order is code point order).
func compareFold(a, b string) int {
	for a != "" && b != "" {
		ra, wa := decodeFolded(a)
		rb, wb := decodeFolded(b)
		if ra != rb {
			return cmp.Compare(ra, rb)
		}
		a, b = a[wa:], b[wb:]
	}
	return cmp.Compare(len(a), len(b))
}

// prefixFold reports whether Fold(s) starts with Fold(prefix) and, when
// whole is set, equals it.
func prefixFold(s, prefix string, whole bool) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		rs, ws := decodeFolded(s)
		rp, wp := decodeFolded(prefix)
		if rs != rp {
			return false
		}
		s, prefix = s[ws:], prefix[wp:]
	}
	return !whole || s == ""
}

// containsFold is strings.Contains(Fold(s), Fold(sub)) without allocating.
func containsFold(s, sub string) bool {
	for {
		if prefixFold(s, sub, false) {
			return true
		}
		if s == "" {
			return false
		}
		_, w := utf8.DecodeRuneInString(s)
		s = s[w:]
	}
}

// suffixFold is strings.HasSuffix(Fold(s), Fold(suffix)) without allocating.
func suffixFold(s, suffix string) bool {
	for {
		if prefixFold(s, suffix, true) {
			return true
		}
		if s == "" {
			return false
		}
		_, w := utf8.DecodeRuneInString(s)
		s = s[w:]
	}
}

// compareOne applies op (never OpNe or OpPr) to an attribute value v and the
// comparison value want. Values of different kinds never match.
func compareOne(v Value, op Op, want *Value, caseExact bool) bool {
	if v.Kind != want.Kind {
		return false
	}
	if v.Kind == KindString {
		switch op {
		case OpEq:
			if caseExact {
				return v.Str == want.Str
			}
			return strings.EqualFold(v.Str, want.Str)
		case OpCo:
			if caseExact {
				return strings.Contains(v.Str, want.Str)
			}
			return containsFold(v.Str, want.Str)
		case OpSw:
			if caseExact {
				return strings.HasPrefix(v.Str, want.Str)
			}
			return prefixFold(v.Str, want.Str, false)
		case OpEw:
			if caseExact {
				return strings.HasSuffix(v.Str, want.Str)
			}
			return suffixFold(v.Str, want.Str)
		}
	} else if op == OpCo || op == OpSw || op == OpEw {
		return false
	}
	c := CompareValues(v, *want, caseExact)
	switch op {
	case OpEq:
		return c == 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	}
	return false
}
