package schemas

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// valueType returns the type and case-exactness comparisons on p use: a
// complex attribute compares its "value" sub-attribute.
func valueType(a *Attribute) (Type, bool) {
	if a.Type == TypeComplex && a.acc.valueSub != nil {
		return a.acc.valueSub.Type, a.acc.valueSub.CaseExact
	}
	return a.Type, a.CaseExact
}

// typeValue checks that op applies to the attribute and converts the literal
// to the attribute's type. name is the attribute as written, for messages.
func typeValue(p *Path, name string, op Op, lit token, opt ParseOptions) (Value, string) {
	t, _ := valueType(p.Attr)
	stringOp := op == OpCo || op == OpSw || op == OpEw
	ordering := op == OpGt || op == OpGe || op == OpLt || op == OpLe
	isTrue, isFalse := lit.kind == tWord && strings.EqualFold(lit.text, "true"), lit.kind == tWord && strings.EqualFold(lit.text, "false")
	wrong := func(want string) (Value, string) {
		return Value{}, fmt.Sprintf("%s compares with %s, not %s", name, want, lit)
	}
	switch t {
	case TypeComplex:
		return Value{}, fmt.Sprintf("%s is a complex attribute: compare one of its sub-attributes, or use pr", name)
	case TypeString, TypeReference, TypeBinary:
		if t == TypeBinary && ordering {
			return Value{}, fmt.Sprintf("operator %s is not defined for binary attribute %s", op, name)
		}
		if lit.kind != tString {
			return wrong("a string")
		}
		return Value{Kind: KindString, Str: lit.text}, ""
	case TypeBoolean:
		if stringOp || ordering {
			return Value{}, fmt.Sprintf("operator %s is not defined for boolean attribute %s", op, name)
		}
		if lit.kind == tString {
			isTrue, isFalse = strings.EqualFold(lit.text, "true"), strings.EqualFold(lit.text, "false")
		}
		if !isTrue && !isFalse {
			return wrong("true or false")
		}
		return Value{Kind: KindBool, Bool: isTrue}, ""
	case TypeDateTime:
		if stringOp {
			return Value{}, fmt.Sprintf("operator %s is not defined for dateTime attribute %s", op, name)
		}
		switch lit.kind {
		case tString:
			tm, ok := parseTime(lit.text)
			if !ok {
				return Value{}, fmt.Sprintf("%s compares with a date-time such as \"2024-05-01T12:00:00Z\" or a date such as \"2024-05-01\", not %s", name, lit)
			}
			return Value{Kind: KindTime, Time: tm}, ""
		case tNumber:
			if opt.Dialect == NativeDialect {
				ms, err := strconv.ParseInt(lit.text, 10, 64)
				if err == nil && ms > -1e15 && ms < 1e15 {
					return Value{Kind: KindTime, Time: time.UnixMilli(ms).UTC()}, ""
				}
				return Value{}, fmt.Sprintf("%s compares with epoch milliseconds or a date, not %s", name, lit.text)
			}
		}
		return wrong("a date-time string")
	case TypeDecimal, TypeInteger:
		if stringOp {
			return Value{}, fmt.Sprintf("operator %s is not defined for %s attribute %s", op, t, name)
		}
		if lit.kind != tNumber {
			return wrong("a number")
		}
		f, _ := strconv.ParseFloat(lit.text, 64)
		return Value{Kind: KindNumber, Num: f}, ""
	case TypeJSON:
		switch {
		case lit.kind == tString:
			return Value{Kind: KindString, Str: lit.text}, ""
		case stringOp:
			return Value{}, fmt.Sprintf("operator %s needs a string value (%s %s %s)", op, name, op, lit)
		case lit.kind == tNumber:
			f, err := strconv.ParseFloat(lit.text, 64)
			if err != nil || math.IsInf(f, 0) {
				return Value{}, fmt.Sprintf("number %s is out of range", lit.text)
			}
			return Value{Kind: KindNumber, Num: f}, ""
		case isTrue || isFalse:
			if ordering {
				return Value{}, fmt.Sprintf("operator %s is not defined for boolean values", op)
			}
			return Value{Kind: KindBool, Bool: isTrue}, ""
		}
	}
	return Value{}, fmt.Sprintf("%s cannot be compared with %s", name, lit)
}

// parseTime parses an RFC 3339 date-time (with or without fractional seconds;
// without a zone it is UTC) or a bare date (midnight UTC).
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// wireTime is the dateTime form both faces write (SCIM dateTime, the native
// ISO 8601 times): RFC 3339, UTC, milliseconds.
const wireTime = "2006-01-02T15:04:05.000Z07:00"

// formatTime renders a time in the form an attribute uses on the wire:
// epoch milliseconds when millis, else RFC 3339 with milliseconds in UTC.
func formatTime(t time.Time, millis bool) any {
	if millis {
		return t.UnixMilli()
	}
	return t.UTC().Format(wireTime)
}

// AppendWireTime appends t as RenderValue renders a time that is not in
// milliseconds (RFC 3339 in UTC with milliseconds), without the quotes.
// Years 0–9999 are written digit by digit, the others by time.AppendFormat.
func AppendWireTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, wireTime)
	}
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	two := func(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
	dst = two(two(dst, year/100), year%100)
	dst = two(append(dst, '-'), int(month))
	dst = two(append(dst, '-'), day)
	dst = two(append(dst, 'T'), hour)
	dst = two(append(dst, ':'), min)
	dst = two(append(dst, ':'), sec)
	return append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// RenderValue converts a Value to its JSON form on the wire, the same on
// every face: a string, a boolean, a float64 number, and a time as
// formatTime says (epoch milliseconds when millis, else RFC 3339 in UTC with
// milliseconds). KindNull is nil.
func RenderValue(v Value, millis bool) any {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindBool:
		return v.Bool
	case KindTime:
		return formatTime(v.Time, millis)
	case KindNumber:
		return v.Num
	}
	return nil
}
