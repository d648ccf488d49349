// Package jsontest holds the JSON helpers that the HTTP tests of the SCIM face
// (scim/ and the test module's end-to-end scenarios) share: encoding request
// bodies, decoding responses with json.Number, and walking decoded values.
package jsontest

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// Body is a request body for v: none for nil, a string as is, anything else
// as JSON.
func Body(v any) io.Reader {
	switch b := v.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		return bytes.NewReader(j)
	}
}

// Decode decodes a JSON object, with numbers as json.Number; it returns nil
// for an empty body and what it could decode of a malformed one.
func Decode(raw []byte) map[string]any {
	var m map[string]any
	if len(raw) > 0 {
		_ = schemas.DecodeJSON(raw, &m)
	}
	return m
}

// At walks a decoded value: At(body, "name", "givenName"),
// At(body, "emails", 0, "value"). It returns nil where the path leads nowhere.
func At(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// HasString reports whether v is an array holding the string s.
func HasString(v any, s string) bool {
	l, _ := v.([]any)
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// Int is the value of a json.Number integer; 0 for anything else.
func Int(v any) int {
	n, _ := v.(json.Number)
	i, _ := strconv.Atoi(string(n))
	return i
}
