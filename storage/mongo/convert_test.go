package mongo

import (
	"encoding/json"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestEscapeKeyRoundTrip(t *testing.T) {
	for _, k := range []string{"", "a", "a.b", "$x", "%", "%25", "%2E", "a\x00b", "..", "$", "%a", "%n", "ü.€"} {
		e := escapeKey(k)
		for i := 0; i < len(e); i++ {
			if e[i] == '.' || e[i] == 0 || (i == 0 && e[i] == '$') {
				t.Errorf("escapeKey(%q) = %q still holds a forbidden character", k, e)
			}
		}
		if e == arrayKey || e == numberKey {
			t.Errorf("escapeKey(%q) = %q collides with a marker", k, e)
		}
		got, err := unescapeKey(e)
		if err != nil || got != k {
			t.Errorf("unescapeKey(escapeKey(%q)) = %q, %v", k, got, err)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	in := map[string]any{
		"int":     json.Number("42"),
		"neg":     json.Number("-9223372036854775808"),
		"float":   json.Number("0.1"),
		"big":     json.Number("1e+21"),
		"odd":     json.Number("1.0"),
		"huge":    json.Number("123456789012345678901234567890"),
		"str":     "x",
		"bool":    true,
		"null":    nil,
		"obj":     map[string]any{},
		"arr":     []any{},
		"nested":  []any{[]any{json.Number("1"), []any{}}, map[string]any{"a.b": []any{nil}}},
		"":        "empty key",
		"$dollar": "d",
		"%":       "p",
	}
	d, err := jsonObjectToBSON(in)
	if err != nil {
		t.Fatal(err)
	}
	// Through real BSON bytes, as the driver stores and reads it.
	raw, err := bson.Marshal(struct {
		D bson.D `bson:"d"`
	}{d})
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		D bson.D `bson:"d"`
	}
	if err := bson.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	out, err := bsonToJSONObject(back.D)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the object:\n in: %#v\nout: %#v", in, out)
	}
	if m, _ := jsonObjectToBSON(map[string]any{}); m != nil {
		t.Errorf("an empty object is stored as %v, want nothing", m)
	}
}

func TestFerretNeedsClaims(t *testing.T) {
	for v, want := range map[string]bool{"v1.24.0": true, "1.0.0": true, "unknown": true, "v2.1.0": false, "2.0.0": false} {
		if got := ferretNeedsClaims(v); got != want {
			t.Errorf("ferretNeedsClaims(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := redact("mongodb://user:secret@host:27017/db"); got != "mongodb://***@host:27017/db" {
		t.Errorf("redact = %q", got)
	}
	if got := redact("mongodb://host/"); got != "mongodb://host/" {
		t.Errorf("redact = %q", got)
	}
}
