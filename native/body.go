package native

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/scimd/scimd/internal/httpx"
)

// writeJSON writes v as the JSON response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// result writes the {"result": v} envelope of Transmit's API.
func result(w http.ResponseWriter, status int, v any) error {
	writeJSON(w, status, map[string]any{"result": v})
	return nil
}

// noContent writes an empty response with the given status (204, 202).
func noContent(w http.ResponseWriter, status int) error {
	w.WriteHeader(status)
	return nil
}

// errUnsupportedMedia answers bodies that are not JSON.
var errUnsupportedMedia = &httpError{status: http.StatusUnsupportedMediaType, msg: "the request body must be JSON (Content-Type: application/json)"}

// decode reads the JSON request body into v (numbers as json.Number), within
// the handler's size limit. It refuses other media types with 415.
func (h *Handler) decode(r *http.Request, v any) error {
	if !httpx.IsJSONMediaType(r.Header.Get("Content-Type")) {
		return errUnsupportedMedia
	}
	return httpx.DecodeJSON(r, v, h.maxBody)
}

// object reads a JSON object body.
func (h *Handler) object(r *http.Request) (map[string]any, error) {
	var v any
	if err := h.decode(r, &v); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("the request body must be a JSON object")
	}
	return m, nil
}

// optionalObject reads a JSON object body that may be absent (empty body: {}).
func (h *Handler) optionalObject(r *http.Request) (map[string]any, error) {
	if r.ContentLength == 0 {
		return map[string]any{}, nil
	}
	m, err := h.object(r)
	var se *httpx.SyntaxError
	if errors.As(err, &se) && se.Reason == "the request body is empty" {
		return map[string]any{}, nil
	}
	return m, err
}

// fields is a small strict reader of a decoded JSON object: unknown fields
// and wrongly typed values are 400s, as in the rest of the API.
type fields map[string]any

// only fails when m has a field not in allowed.
func (m fields) only(allowed ...string) error {
	var unknown []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badRequest("unknown field(s): %s", strings.Join(unknown, ", "))
	}
	return nil
}

// str returns a string field ("" when absent or null).
func (m fields) str(name string) (string, error) {
	switch v := m[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", badRequest("%s must be a string", name)
	}
}

// required returns a string field that must be present and not empty.
func (m fields) required(name string) (string, error) {
	s, err := m.str(name)
	if err == nil && s == "" {
		err = badRequest("%s is required", name)
	}
	return s, err
}

// boolean returns a boolean field, def when absent or null.
func (m fields) boolean(name string, def bool) (bool, error) {
	switch v := m[name].(type) {
	case nil:
		return def, nil
	case bool:
		return v, nil
	default:
		return false, badRequest("%s must be a boolean", name)
	}
}

// strings returns a field holding an array of strings (nil when absent).
func (m fields) strings(name string) ([]string, bool, error) {
	raw, ok := m[name]
	if !ok || raw == nil {
		return nil, false, nil
	}
	arr, isArr := raw.([]any)
	if !isArr {
		return nil, true, badRequest("%s must be an array of strings", name)
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, isStr := e.(string)
		if !isStr {
			return nil, true, badRequest("%s[%d] must be a string", name, i)
		}
		out = append(out, s)
	}
	return out, true, nil
}
