package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// ErrTrailingData is DecodeJSON's error when something other than white
// space follows the JSON value.
var ErrTrailingData = errors.New("unexpected data after the JSON value")

// DecodeJSON decodes the one JSON value b holds into v as encoding/json does,
// with UseNumber: numbers in free-form values (any, map[string]any) become
// json.Number, exactly as written. White space may surround the value;
// anything else after it is ErrTrailingData. The one decoder of JSON with
// numbers kept as written, for every package that reads such JSON.
func DecodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return ErrTrailingData
	}
	return nil
}

// NormalizeJSONObject returns the canonical form of a free-form JSON object
// (custom_data, custom_app_data): a deep copy in which every number is a
// json.Number in canonical text — integers that fit int64 as integer text
// ("42", including integral floats such as 42.0), every other number as
// strconv.FormatFloat(f, 'g', -1, 64). Objects are map[string]any, arrays
// []any. It accepts float64, float32, every int and uint kind, json.Number and
// json.RawMessage, and rejects NaN, ±Inf and non-JSON Go types. It also
// rejects objects and arrays nested more than MaxJSONDepth levels (the object
// itself is level 1). Storage round-trips this form exactly. A nil map stays nil.
//
// Every free-form value a client sends passes through it (both faces when they
// parse, the directory before every write), so this is the one place the
// nesting limit is enforced.
func NormalizeJSONObject(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	v, err := normalizeJSON(m, "", 1)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// FreeFormObject converts the value a request body gives a free-form
// attribute (custom_data, custom_app_data) at path, as the client named it:
// it must be a JSON object, and is returned in the canonical form of
// NormalizeJSONObject. Anything else (null included), or an object nested
// too deeply, is a *ValueError.
func FreeFormObject(v any, path string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, valueErr(path, "expected an object, not %s", jsonTypeName(v))
	}
	n, err := NormalizeJSONObject(m)
	if err != nil {
		return nil, valueErr(path, "%v", err)
	}
	return n, nil
}

// MaxJSONDepth is how deeply objects and arrays may nest in a free-form value
// (custom_data, custom_app_data, device custom data). Deeper data could not be
// stored on every backend (BSON nests at most 100 levels) and costs every
// reader of the record — the audit log included — recursion it cannot afford.
const MaxJSONDepth = 32

func normalizeJSON(v any, at string, depth int) (any, error) {
	switch v.(type) {
	case map[string]any, []any, json.RawMessage:
		if depth > MaxJSONDepth {
			return nil, fmt.Errorf("nested more than %d levels deep at %s", MaxJSONDepth, where(at))
		}
	}
	switch t := v.(type) {
	case nil, string, bool:
		return t, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			n, err := normalizeJSON(e, joinKey(at, k), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			n, err := normalizeJSON(e, joinKey(at, strconv.Itoa(i)), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case json.Number:
		return normalizeNumberText(string(t), at)
	case json.RawMessage:
		var x any
		if err := DecodeJSON(t, &x); err != nil {
			return nil, fmt.Errorf("invalid JSON at %s: %v", where(at), err)
		}
		return normalizeJSON(x, at, depth)
	case int:
		return json.Number(strconv.FormatInt(int64(t), 10)), nil
	case int8:
		return json.Number(strconv.FormatInt(int64(t), 10)), nil
	case int16:
		return json.Number(strconv.FormatInt(int64(t), 10)), nil
	case int32:
		return json.Number(strconv.FormatInt(int64(t), 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(t, 10)), nil
	case uint, uint8, uint16, uint32, uint64:
		u := uintOf(t)
		if u <= math.MaxInt64 {
			return json.Number(strconv.FormatUint(u, 10)), nil
		}
		return normalizeFloat(float64(u), at)
	case float32:
		return normalizeFloat(float64(t), at)
	case float64:
		return normalizeFloat(t, at)
	}
	return nil, fmt.Errorf("unsupported value of type %T at %s: free-form data must be JSON", v, where(at))
}

func uintOf(v any) uint64 {
	switch t := v.(type) {
	case uint:
		return uint64(t)
	case uint8:
		return uint64(t)
	case uint16:
		return uint64(t)
	case uint32:
		return uint64(t)
	case uint64:
		return t
	}
	return 0
}

func normalizeNumberText(s, at string) (any, error) {
	if !isJSONNumber(s) {
		return nil, fmt.Errorf("invalid number %q at %s", s, where(at))
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return json.Number(strconv.FormatInt(i, 10)), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s at %s is out of range", s, where(at))
	}
	return normalizeFloat(f, at)
}

func normalizeFloat(f float64, at string) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %v at %s is not valid JSON", f, where(at))
	}
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return json.Number(strconv.FormatInt(int64(f), 10)), nil
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

func joinKey(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func where(at string) string {
	if at == "" {
		return "the top level"
	}
	return strconv.Quote(at)
}
