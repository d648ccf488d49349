package schemas

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// The filter lexer. Tokens: attribute paths and keywords (words), JSON string
// and number literals, and the brackets ( ) [ ]. Whitespace separates tokens
// but is not otherwise significant, so `(a eq "x")and(b pr)` is accepted as the
// native API documents.

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tString
	tNumber
	tLParen
	tRParen
	tLBrack
	tRBrack
)

type token struct {
	kind tokKind
	text string // a word or number as written; a string's decoded value
	pos  int    // byte offset in the input
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return fmt.Sprintf("string %q", t.text)
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	case tLBrack:
		return `"["`
	case tRBrack:
		return `"]"`
	}
	return fmt.Sprintf("%q", t.text)
}

func isWordStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '$' || c == '_'
}

func isWordChar(c byte) bool {
	return isWordStart(c) || '0' <= c && c <= '9' || c == '.' || c == ':' || c == '-'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

type lexer struct {
	in  string
	pos int
}

// next returns the next token, or a syntax error reason.
func (l *lexer) next() (token, string) {
	for l.pos < len(l.in) && isSpace(l.in[l.pos]) {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.in) {
		return token{kind: tEOF, pos: start}, ""
	}
	c := l.in[l.pos]
	switch {
	case c == '(':
		l.pos++
		return token{kind: tLParen, pos: start}, ""
	case c == ')':
		l.pos++
		return token{kind: tRParen, pos: start}, ""
	case c == '[':
		l.pos++
		return token{kind: tLBrack, pos: start}, ""
	case c == ']':
		l.pos++
		return token{kind: tRBrack, pos: start}, ""
	case c == '"':
		return l.lexString()
	case c == '-' || '0' <= c && c <= '9':
		for l.pos < len(l.in) && isNumberChar(l.in[l.pos]) {
			l.pos++
		}
		text := l.in[start:l.pos]
		if !isJSONNumber(text) {
			return token{}, fmt.Sprintf("syntax error at offset %d: invalid number %q", start, text)
		}
		return token{kind: tNumber, text: text, pos: start}, ""
	case isWordStart(c):
		for l.pos < len(l.in) && isWordChar(l.in[l.pos]) {
			l.pos++
		}
		return token{kind: tWord, text: l.in[start:l.pos], pos: start}, ""
	}
	r, _ := utf8.DecodeRuneInString(l.in[l.pos:])
	return token{}, fmt.Sprintf("syntax error at offset %d: unexpected character %q", start, r)
}

func isNumberChar(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (l *lexer) lexString() (token, string) {
	start := l.pos
	i := l.pos + 1
	for i < len(l.in) {
		switch l.in[i] {
		case '\\':
			i += 2
			continue
		case '"':
			raw := l.in[start : i+1]
			l.pos = i + 1
			if plain := raw[1 : len(raw)-1]; isPlainString(plain) {
				return token{kind: tString, text: plain, pos: start}, ""
			}
			var s string
			if err := json.Unmarshal([]byte(raw), &s); err != nil {
				return token{}, fmt.Sprintf("syntax error at offset %d: invalid string literal %s", start, raw)
			}
			return token{kind: tString, text: s, pos: start}, ""
		}
		i++
	}
	return token{}, fmt.Sprintf("syntax error at offset %d: unterminated string", start)
}

// isJSONNumber reports whether s is a number in JSON syntax (RFC 8259 §6).
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

// isPlainString reports whether a string literal's body needs no decoding:
// valid UTF-8 without escapes or control characters.
func isPlainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == '\\' {
			return false
		}
	}
	return utf8.ValidString(s)
}
