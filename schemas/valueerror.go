package schemas

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ValueError is a request body value the projections cannot accept: a wrong
// JSON type, a malformed value, an unknown or read-only native field. Path is
// the field as the client named it ("emails", "name.first_name",
// "secondary_emails[1]"). The SCIM face answers it with 400 invalidValue, the
// native face with 400.
type ValueError struct {
	Path   string
	Reason string
}

// Error renders `invalid value for "<path>": <reason>`.
func (e *ValueError) Error() string {
	if e.Path == "" {
		return "invalid value: " + e.Reason
	}
	return fmt.Sprintf("invalid value for %q: %s", e.Path, e.Reason)
}

func valueErr(path, format string, args ...any) *ValueError {
	return &ValueError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// jsonTypeName names the JSON type of a decoded value, for messages.
func jsonTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	if _, ok := jsonScalar(v); ok {
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}

// ---- input formats both faces and the directory share ----

// CheckEmail returns why s is not an acceptable email address, or "" when it
// is: local@domain with no white space, control characters, quotes or angle
// brackets, one @, a local part of at most 64 bytes and a domain with no empty
// label; at most 254 bytes. It is the one email syntax rule, for both faces.
func CheckEmail(s string) string {
	const bad = "expected an email address"
	if len(s) > 254 {
		return bad + " of at most 254 bytes"
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || at > 64 {
		return bad
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' || r == ',' || r == '"' {
			return bad
		}
	}
	domain := s[at+1:]
	if strings.ContainsRune(domain, '@') {
		return bad
	}
	if domain[0] == '.' || domain[len(domain)-1] == '.' || strings.Contains(domain, "..") {
		return bad // an empty label
	}
	return ""
}

// CheckBirthday returns why s is not a birthday, or "" when it is: a
// calendar date YYYY-MM-DD (2024-02-30 is not one). It is the one birthday
// rule, for both faces and the directory.
func CheckBirthday(s string) string { return checkBirthday(s) }

func checkBirthday(s string) string {
	if len(s) != 10 {
		return "expected a date in the form YYYY-MM-DD"
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "expected a date in the form YYYY-MM-DD"
	}
	return ""
}
