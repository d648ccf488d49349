// Package httpx holds the small HTTP helpers both API faces share: reading the
// bearer credential, the caller's address, and bounded JSON request bodies.
// It knows nothing of either face's error format.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/scimd/scimd/internal/jsonw"
)

// DefaultMaxBody is the default cap on request bodies: a user may carry 500 KB
// of custom_data plus 500 KB of custom_app_data, so 2 MiB leaves room for the rest.
const DefaultMaxBody = 2 << 20

// BearerToken returns the credential of an "Authorization: Bearer …" header
// (the scheme is case-insensitive), or "" when there is none.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// ErrBodyTooLarge is returned by DecodeJSON when the body exceeds its limit.
var ErrBodyTooLarge = errors.New("request body too large")

// SyntaxError is returned by DecodeJSON for a body that is not one valid JSON value.
type SyntaxError struct{ Reason string }

func (e *SyntaxError) Error() string { return "invalid JSON: " + e.Reason }

// DecodeJSON reads at most limit bytes of r's body and decodes one JSON value
// into v, keeping numbers as json.Number so that they round-trip exactly.
// Trailing data after the value is an error. It returns ErrBodyTooLarge or a
// *SyntaxError for bad input, and the errors of ReadBody for a body that does
// not arrive.
func DecodeJSON(r *http.Request, v any, limit int64) error {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := ReadBody(r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &SyntaxError{Reason: "the request body is empty"}
	}
	if p, ok := v.(*any); ok {
		// An untyped body (the SCIM face's): decoded as encoding/json would,
		// without its scanner's and reflection's allocations.
		d, err := jsonw.Decode(body)
		if err != nil {
			return &SyntaxError{Reason: err.Error()}
		}
		*p = d
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &SyntaxError{Reason: fmt.Sprintf("%s must be %s, not %s", fieldName(te.Field), te.Type, te.Value)}
		}
		return &SyntaxError{Reason: err.Error()}
	}
	if dec.More() {
		return &SyntaxError{Reason: "unexpected data after the JSON value"}
	}
	return nil
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return fmt.Sprintf("%q", f)
}

// IsJSONMediaType reports whether a Content-Type header names JSON:
// application/json or any application/*+json (such as application/scim+json),
// with any parameters. An empty header is accepted as JSON.
func IsJSONMediaType(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
