package mongo

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scimd/scimd/schemas"
)

// Free-form JSON (custom data, custom app data, device-key custom data, audit
// changes) is stored as native BSON so that it stays readable in the database:
// objects become documents, arrays arrays, strings, booleans and null
// themselves. Two things need care:
//
//   - Keys. JSON allows any key, but the portable subset does not: MongoDB before
//     5.0, DocumentDB, Cosmos and FerretDB v1 reject keys that contain '.' or start
//     with '$', and BSON keys cannot contain NUL. Keys are therefore escaped:
//     '%' → "%25", '.' → "%2E", '$' → "%24", NUL → "%00", and the empty key → "%".
//     The escaping is a bijection, and "%" followed by anything else never comes
//     out of it, which leaves room for the markers below.
//   - Nested arrays. FerretDB v1 rejects an array directly inside an array, so
//     such an inner array is stored as the document {"%a": [...]}.
//   - Numbers. A json.Number whose text is the canonical form of an int64
//     (strconv.FormatInt) is stored as int64, one whose text is the canonical
//     form of a float64 (strconv.FormatFloat(f, 'g', -1, 64)) as a double, and
//     any other number text — which schemas.NormalizeJSONObject never produces,
//     but which must not be corrupted either — as the document {"%n": "<text>"}.
//     Reading converts back to json.Number with the same canonical text, so every
//     number round-trips exactly.

// arrayKey wraps an array that is an element of another array: FerretDB v1
// rejects nested arrays, so [[1]] is stored as [{"%a": [1]}].
const arrayKey = "%a"

// numberKey marks a document that holds the text of a number that is neither a
// canonical int64 nor a canonical float64.
const numberKey = "%n"

// escapeKey escapes a JSON object key for use as a BSON field name.
func escapeKey(k string) string {
	if k == "" {
		return "%"
	}
	if !strings.ContainsAny(k, "%.$\x00") {
		return k
	}
	var b strings.Builder
	b.Grow(len(k) + 6)
	for i := 0; i < len(k); i++ {
		switch c := k[i]; c {
		case '%':
			b.WriteString("%25")
		case '.':
			b.WriteString("%2E")
		case '$':
			b.WriteString("%24")
		case 0:
			b.WriteString("%00")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeKey reverses escapeKey.
func unescapeKey(k string) (string, error) {
	if k == "%" {
		return "", nil
	}
	if !strings.Contains(k, "%") {
		return k, nil
	}
	var b strings.Builder
	b.Grow(len(k))
	for i := 0; i < len(k); i++ {
		if k[i] != '%' {
			b.WriteByte(k[i])
			continue
		}
		if i+3 > len(k) {
			return "", fmt.Errorf("mongo: bad escaped key %q", k)
		}
		switch k[i+1 : i+3] {
		case "25":
			b.WriteByte('%')
		case "2E":
			b.WriteByte('.')
		case "24":
			b.WriteByte('$')
		case "00":
			b.WriteByte(0)
		default:
			return "", fmt.Errorf("mongo: bad escaped key %q", k)
		}
		i += 2
	}
	return b.String(), nil
}

// jsonObjectToBSON converts a free-form JSON object to a BSON document
// (nil or empty → nil, so that the field is omitted).
func jsonObjectToBSON(m map[string]any) (bson.D, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return jsonObjectToDoc(m)
}

// jsonObjectToDoc converts a JSON object to a document, keeping an empty object empty.
func jsonObjectToDoc(m map[string]any) (bson.D, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	d := make(bson.D, 0, len(m))
	for _, k := range keys {
		v, err := jsonToBSON(m[k])
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		d = append(d, bson.E{Key: escapeKey(k), Value: v})
	}
	return d, nil
}

// jsonToBSON converts one free-form JSON value.
func jsonToBSON(v any) (any, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string, bool:
		return t, nil
	case json.Number:
		return numberToBSON(string(t)), nil
	case float64:
		return numberToBSON(strconv.FormatFloat(t, 'g', -1, 64)), nil
	case float32:
		return numberToBSON(strconv.FormatFloat(float64(t), 'g', -1, 32)), nil
	case int:
		return int64(t), nil
	case int32:
		return int64(t), nil
	case int64:
		return t, nil
	case map[string]any:
		return jsonObjectToDoc(t)
	case []any:
		a := make(bson.A, len(t))
		for i, e := range t {
			c, err := jsonToBSON(e)
			if err != nil {
				return nil, fmt.Errorf("index %d: %w", i, err)
			}
			if inner, ok := c.(bson.A); ok {
				c = bson.D{{Key: arrayKey, Value: inner}}
			}
			a[i] = c
		}
		return a, nil
	case json.RawMessage:
		var x any
		if err := schemas.DecodeJSON(t, &x); err != nil {
			return nil, fmt.Errorf("raw JSON: %w", err)
		}
		return jsonToBSON(x)
	default:
		// Anything else (a typed slice or struct in an audit change) goes through
		// encoding/json, so that it is stored the way it would be served.
		raw, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("unsupported JSON value of type %T: %w", v, err)
		}
		return jsonToBSON(json.RawMessage(raw))
	}
}

// numberToBSON stores number text as int64, double, or a marked string,
// whichever reproduces the text exactly.
func numberToBSON(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(i, 10) == s {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) &&
		strconv.FormatFloat(f, 'g', -1, 64) == s {
		return f
	}
	return bson.D{{Key: numberKey, Value: s}}
}

// bsonToJSONObject converts a stored document back to a free-form JSON object
// (nil → nil).
func bsonToJSONObject(d bson.D) (map[string]any, error) {
	if d == nil {
		return nil, nil
	}
	v, err := bsonToJSON(d)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("mongo: stored JSON object is a number")
	}
	return m, nil
}

// bsonToJSON converts one stored value back to free-form JSON.
func bsonToJSON(v any) (any, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string, bool:
		return t, nil
	case int32:
		return json.Number(strconv.FormatInt(int64(t), 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(t, 10)), nil
	case float64:
		return json.Number(strconv.FormatFloat(t, 'g', -1, 64)), nil
	case bson.D:
		if len(t) == 1 && t[0].Key == numberKey {
			if s, ok := t[0].Value.(string); ok {
				return json.Number(s), nil
			}
		}
		if len(t) == 1 && t[0].Key == arrayKey {
			if a, ok := t[0].Value.(bson.A); ok {
				return bsonToJSON(a)
			}
		}
		m := make(map[string]any, len(t))
		for _, e := range t {
			k, err := unescapeKey(e.Key)
			if err != nil {
				return nil, err
			}
			c, err := bsonToJSON(e.Value)
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	case bson.A:
		a := make([]any, len(t))
		for i, e := range t {
			c, err := bsonToJSON(e)
			if err != nil {
				return nil, err
			}
			a[i] = c
		}
		return a, nil
	case bson.DateTime:
		return t.Time().UTC().Format(time.RFC3339Nano), nil
	default:
		return nil, fmt.Errorf("mongo: unexpected %T in stored JSON", v)
	}
}

// utc returns t in UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
