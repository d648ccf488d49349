// Package jsonw appends JSON values built of maps, slices and scalars — what
// encoding/json decodes into an any, and what the SCIM renderer builds — as
// JSON text, byte for byte as encoding/json encodes them, without
// reflection: encoding a map through encoding/json costs two allocations per
// entry (its reflection copies each key and value), which made encoding a
// SCIM response as costly as building it.
//
// The types written directly are nil, string, bool, float64, int, int64,
// json.Number, map[string]any, []any, []string and []map[string]any; a
// value of any other type (including a json.Marshaler) is encoded by
// encoding/json and appended, so the output never differs.
package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendString appends s as a JSON string, as Append does.
func AppendString(dst []byte, s string, escapeHTML bool) []byte {
	return appendString(dst, s, escapeHTML)
}

// Append appends the JSON encoding of v to dst. escapeHTML escapes <, > and &
// as json.Marshal does (json.Encoder.SetEscapeHTML(false) leaves them). The
// errors are encoding/json's: NaN or infinite numbers, an invalid
// json.Number, or whatever encoding a value of another type fails with.
func Append(dst []byte, v any, escapeHTML bool) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, x, escapeHTML), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case float64:
		return appendFloat(dst, x)
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case json.Number:
		if x == "" {
			return append(dst, '0'), nil
		}
		if !isValidNumber(string(x)) {
			return dst, &json.UnsupportedValueError{Str: "invalid number literal " + strconv.Quote(string(x))}
		}
		return append(dst, x...), nil
	case map[string]any:
		return appendObject(dst, x, escapeHTML)
	case []any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		return appendArray(dst, x, escapeHTML)
	case []string:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s, escapeHTML)
		}
		return append(dst, ']'), nil
	case []map[string]any:
		if x == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, m := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendObject(dst, m, escapeHTML); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	}
	return appendOther(dst, v, escapeHTML)
}

func appendArray(dst []byte, a []any, escapeHTML bool) ([]byte, error) {
	dst = append(dst, '[')
	for i, e := range a {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = Append(dst, e, escapeHTML); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

// appendObject writes m with its keys sorted, as encoding/json does.
func appendObject(dst []byte, m map[string]any, escapeHTML bool) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k, escapeHTML)
		dst = append(dst, ':')
		var err error
		if dst, err = Append(dst, m[k], escapeHTML); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendOther encodes v with encoding/json.
func appendOther(dst []byte, v any, escapeHTML bool) ([]byte, error) {
	if escapeHTML {
		b, err := json.Marshal(v)
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...), nil
}

// appendFloat formats f as encoding/json's float64 encoder does.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, &json.UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string with encoding/json's escapes:
// quotes, backslashes and control characters (\b \f \n \r \t by name),
// invalid UTF-8 as \ufffd, U+2028 and U+2029, and with escapeHTML <, > and &.
func appendString(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(s[i:i+8], escapeHTML) {
			i += 8
			continue
		}
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && (!escapeHTML || b != '<' && b != '>' && b != '&') {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// The word-at-a-time test of plain8: lo has 1 in every byte, hi has 0x80.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// plain8 reports whether the 8 bytes of s are ASCII that a JSON string holds
// as they are (what appendString copies without a look at each byte).
func plain8(s string, escapeHTML bool) bool {
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	// (v - lo) &^ v & hi is not 0 when a byte of v is 0 (and v is ASCII).
	zero := func(v uint64) uint64 { return (v - lo) &^ v & hi }
	bad := x&hi | (x-0x20*lo)&^x&hi | zero(x^'"'*lo) | zero(x^'\\'*lo)
	if escapeHTML {
		bad |= zero(x^'<'*lo) | zero(x^'>'*lo) | zero(x^'&'*lo)
	}
	return bad == 0
}

// isValidNumber reports whether s is a JSON number literal (encoding/json's test).
func isValidNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}
