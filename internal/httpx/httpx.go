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
	"github.com/scimd/scimd/schemas"
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
	body, err := ReadJSONBody(nil, r, limit)
	if err != nil {
		return err
	}
	if p, ok := v.(*any); ok {
		d, err := DecodeJSONValue(body)
		if err != nil {
			return err
		}
		*p = d
		return nil
	}
	if err := schemas.DecodeJSON(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &SyntaxError{Reason: fmt.Sprintf("%s must be %s, not %s", fieldName(te.Field), te.Type, te.Value)}
		}
		return &SyntaxError{Reason: err.Error()}
	}
	return nil
}

// ReadJSONBody is DecodeJSON's reading of the body, for a caller that
// decodes it itself: appended to dst (see AppendBody), at most limit bytes
// (DefaultMaxBody when limit <= 0), and an empty body is a *SyntaxError.
func ReadJSONBody(dst []byte, r *http.Request, limit int64) ([]byte, error) {
	body, err := AppendBody(dst, r, limit)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &SyntaxError{Reason: "the request body is empty"}
	}
	return body, nil
}

// DecodeJSONValue is DecodeJSON's decoding of an untyped body (into an
// *any, as the SCIM face's are): as encoding/json with UseNumber would,
// without its scanner's and reflection's allocations (jsonw.Decode); a bad
// text is a *SyntaxError.
func DecodeJSONValue(body []byte) (any, error) {
	d, err := jsonw.Decode(body)
	if err != nil {
		return nil, &SyntaxError{Reason: err.Error()}
	}
	return d, nil
}

func fieldName(f string) string {
	if f == "" {
		return "the body"
	}
	return fmt.Sprintf("%q", f)
}

// commonJSONTypes are the Content-Type headers clients send most, which
// IsJSONMediaType accepts without parsing.
var commonJSONTypes = [...]string{"application/scim+json", "application/json",
	"application/scim+json; charset=utf-8", "application/json; charset=utf-8"}

// IsJSONMediaType reports whether a Content-Type header names JSON:
// application/json or any application/*+json (such as application/scim+json),
// with any parameters. An empty header is accepted as JSON.
func IsJSONMediaType(contentType string) bool {
	if contentType == "" {
		return true
	}
	for _, common := range commonJSONTypes { // without ParseMediaType's allocations
		if strings.EqualFold(contentType, common) {
			return true
		}
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
