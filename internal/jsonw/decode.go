package jsonw

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/scimd/scimd/schemas"
)

// ErrTrailingData is Decode's error when something other than white space
// follows the value: schemas.DecodeJSON's.
var ErrTrailingData = schemas.ErrTrailingData

// maxDepth is encoding/json's limit on nesting.
const maxDepth = 10000

// Decode decodes the one JSON value b holds as encoding/json decodes it into
// an any with UseNumber: objects as map[string]any (a repeated key keeps its
// last value), arrays as []any, numbers as json.Number, strings with invalid
// UTF-8 and unpaired surrogates as U+FFFD, true, false and null. White space
// may surround the value; anything else after it is ErrTrailingData. It
// accepts and refuses the same texts as encoding/json (its error messages
// differ); it allocates only the values (the keys of SCIM's common
// attributes, and its most common string values, are not even copied).
func Decode(b []byte) (any, error) {
	d := decoder{b: b}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i < len(d.b) {
		return nil, ErrTrailingData
	}
	return v, nil
}

type decoder struct {
	b     []byte
	i     int
	depth int
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

var errEOF = errors.New("unexpected EOF")

func (d *decoder) fail(what string) error {
	if d.i >= len(d.b) {
		return errEOF
	}
	return fmt.Errorf("invalid character %q %s (offset %d)", d.b[d.i], what, d.i)
}

func (d *decoder) value() (any, error) {
	d.space()
	if d.i >= len(d.b) {
		return nil, errEOF
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		if v, ok := d.commonValue(); ok {
			return v, nil
		}
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	}
	return nil, d.fail("looking for beginning of value")
}

func (d *decoder) literal(lit string) error {
	for j := 0; j < len(lit); j++ {
		if d.i >= len(d.b) {
			return errEOF
		}
		if d.b[d.i] != lit[j] {
			return d.fail("in literal " + lit)
		}
		d.i++
	}
	return nil
}

func (d *decoder) enter() error {
	if d.depth++; d.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	return nil
}

func (d *decoder) object() (any, error) {
	m := map[string]any{}
	err := d.members(func(key []byte) error {
		v, err := d.value()
		if err != nil {
			return err
		}
		k, ok := commonKeys[string(key)]
		if !ok {
			k = string(key)
		}
		m[k] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (d *decoder) array() (any, error) {
	a := []any{}
	err := d.elems(func() error {
		v, err := d.value()
		if err != nil {
			return err
		}
		a = append(a, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// members reads the object at d.i (its '{'), calling member for each member
// with its key (a view valid until member returns; see key) once past the
// colon; member must read the member's value. Decode and Scanner.Object
// share it.
func (d *decoder) members(member func(key []byte) error) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.i++ // {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		return nil
	}
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return d.fail("looking for beginning of object key string")
		}
		k, err := d.key()
		if err != nil {
			return err
		}
		d.space()
		if d.i >= len(d.b) {
			return errEOF
		}
		if d.b[d.i] != ':' {
			return d.fail("after object key")
		}
		d.i++
		if err := member(k); err != nil {
			return err
		}
		if end, err := d.next('}', "after object key:value pair"); end || err != nil {
			return err
		}
	}
}

// key reads an object key: a view of the input when it holds no escape or
// invalid UTF-8, else its decoded copy.
func (d *decoder) key() ([]byte, error) {
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return d.b[start:j], nil
		case c == '\\' || c < 0x20 || c >= 0x80:
			k, err := d.str()
			return []byte(k), err
		}
	}
	d.i = len(d.b)
	return nil, errEOF
}

// elems reads the array at d.i (its '['), calling elem for each element;
// elem must read it. Decode and Scanner.Array share it.
func (d *decoder) elems(elem func() error) error {
	if err := d.enter(); err != nil {
		return err
	}
	d.i++ // [
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if end, err := d.next(']', "after array element"); end || err != nil {
			return err
		}
	}
}

// next steps over what follows an object's member or an array's element: a
// comma (end false), or close, which ends the container (end true); anything
// else is the error encoding/json gives, saying what it came after.
func (d *decoder) next(close byte, after string) (end bool, err error) {
	d.space()
	if d.i >= len(d.b) {
		return false, errEOF
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return false, nil
	case close:
		d.i++
		d.depth--
		return true, nil
	}
	return false, d.fail(after)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number scans a number literal (RFC 8259 §6).
func (d *decoder) number() (any, error) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	digits := func(what string) error {
		if d.i >= len(d.b) {
			return errEOF
		}
		if !isDigit(d.b[d.i]) {
			return d.fail(what)
		}
		for d.i < len(d.b) && isDigit(d.b[d.i]) {
			d.i++
		}
		return nil
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if err := digits("in numeric literal"); err != nil {
		return nil, err
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if err := digits("after decimal point in numeric literal"); err != nil {
			return nil, err
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if err := digits("in exponent of numeric literal"); err != nil {
			return nil, err
		}
	}
	return json.Number(d.b[start:d.i]), nil
}

// str scans a string literal.
func (d *decoder) str() (string, error) {
	d.i++ // "
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			raw := d.b[start:d.i]
			d.i++
			return string(raw), nil
		case c == '\\':
			return d.unquote(start)
		case c < 0x20:
			return "", d.fail("in string literal")
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				return d.unquote(start)
			}
			d.i += size
		}
	}
	return "", errEOF
}

// unquote decodes a string literal with escapes or invalid UTF-8 from start
// (just after its opening quote).
func (d *decoder) unquote(start int) (string, error) {
	out := make([]byte, 0, d.i-start+16)
	d.i = start
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return string(out), nil
		case c < 0x20:
			return "", d.fail("in string literal")
		case c == '\\':
			d.i++
			if d.i >= len(d.b) {
				return "", errEOF
			}
			switch e := d.b[d.i]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, n := d.hex4(d.i + 1)
				if n < 4 {
					if d.i += 1 + n; d.i >= len(d.b) {
						return "", errEOF
					}
					return "", d.fail("in \\u hexadecimal character escape")
				}
				d.i += 4
				if utf16.IsSurrogate(r) {
					if d.i+2 < len(d.b) && d.b[d.i+1] == '\\' && d.b[d.i+2] == 'u' {
						if r2, n := d.hex4(d.i + 3); n == 4 {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								d.i += 7
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", d.fail("in string escape code")
			}
			d.i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, d.b[d.i:d.i+size]...)
			}
			d.i += size
		}
	}
	return "", errEOF
}

// hex4 reads the four hex digits of a \u escape at j; n < 4 is the number
// of hex digits found before something else or the end.
func (d *decoder) hex4(j int) (r rune, n int) {
	for ; n < 4; n++ {
		if j+n >= len(d.b) {
			return 0, n
		}
		c := d.b[j+n]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, n
		}
		r = r*16 + rune(c)
	}
	return r, n
}

// commonValue reads the string at d.i (its opening quote) when it is one of
// commonValues, written without escapes, and returns it boxed once for all.
func (d *decoder) commonValue() (any, bool) {
	start := d.i + 1
	for j := start; j < len(d.b) && j-start <= maxCommonValue; j++ {
		switch c := d.b[j]; {
		case c == '"':
			v, ok := commonValues[string(d.b[start:j])]
			if ok {
				d.i = j + 1
			}
			return v, ok
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

// commonValues are string values SCIM clients send in most requests (the
// PatchOp and core schema URNs, Entra's capitalised op names and "True",
// element types), each boxed once: decoding them allocates nothing.
var commonValues, maxCommonValue = func() (map[string]any, int) {
	m, longest := map[string]any{}, 0
	for _, v := range []string{
		"urn:ietf:params:scim:api:messages:2.0:PatchOp", "urn:ietf:params:scim:api:messages:2.0:BulkRequest",
		"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
		"urn:ietf:params:scim:schemas:core:2.0:Group",
		"add", "remove", "replace", "Add", "Remove", "Replace", "True", "False", "true", "false",
		"work", "home", "other", "mobile", "fax", "pager", "User", "Group", "POST", "PUT", "PATCH", "DELETE",
	} {
		m[v], longest = v, max(longest, len(v))
	}
	return m, longest
}()

// commonKeys are the object keys of SCIM requests, kept as constants so that
// decoding them copies nothing.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"schemas", "Operations", "op", "path", "value", "id", "externalId", "userName", "name", "givenName", "familyName",
		"middleName", "formatted", "honorificPrefix", "honorificSuffix", "displayName", "nickName", "title", "userType",
		"preferredLanguage", "locale", "timezone", "active", "password", "emails", "phoneNumbers", "addresses", "photos",
		"ims", "roles", "entitlements", "x509Certificates", "type", "primary", "display", "streetAddress", "locality",
		"region", "postalCode", "country", "members", "groups", "meta", "$ref", "manager", "employeeNumber", "costCenter",
		"organization", "division", "department", "filter", "startIndex", "count", "sortBy", "sortOrder", "attributes",
		"excludedAttributes", "method", "bulkId", "data", "version", "location", "failOnErrors",
		"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
		"urn:ietf:params:scim:schemas:core:2.0:Group",
	} {
		m[k] = k
	}
	return m
}()
