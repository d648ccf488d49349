package directory

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// TestJSONEqual: jsonEqual is equality of the canonical JSON encodings, as
// the audit compared values before it compared them without encoding.
func TestJSONEqual(t *testing.T) {
	vals := []any{
		nil, "", "a", "<&>", true, false, 1.0, 1.5, json.Number("1"), json.Number("1.0"), json.Number("1.5"),
		map[string]any(nil), map[string]any{}, map[string]any{"a": 1.0}, map[string]any{"a": json.Number("1")},
		map[string]any{"a": "1"}, map[string]any{"a": 1.0, "b": nil}, map[string]any{"b": 1.0},
		[]any(nil), []any{}, []any{"a"}, []any{"a", "b"}, []any{"b", "a"}, []any{json.Number("2")}, []any{2.0},
		[]any{map[string]any{"x": []any{true}}}, []any{map[string]any{"x": []any{false}}},
		json.RawMessage(`"a"`), json.RawMessage(`{"a":1}`), []string{"a"},
	}
	for _, a := range vals {
		for _, b := range vals {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if want := bytes.Equal(ja, jb); jsonEqual(a, b) != want {
				t.Errorf("jsonEqual(%s, %s) = %v, want %v", ja, jb, !want, want)
			}
		}
	}
}

// TestBoundChangesFastPath: changes that fitsBounds lets through unencoded
// are within the bounds by their real encoded sizes, and values near the
// bounds take the measured path.
func TestBoundChangesFastPath(t *testing.T) {
	for _, n := range []int{0, 10, 600, 682, 683, 700, 4000, 5000} {
		for _, s := range []string{strings.Repeat("a", n), strings.Repeat("\x01", n), strings.Repeat("\u2028", n/3+1)} {
			for _, v := range []any{s, []any{s}, map[string]any{"k": s, "n": json.Number("12345")}, []any{map[string]any{s: 1.25e-300}}} {
				ch := map[string]schemas.Change{"x": {Prev: v, Current: "b"}}
				if !fitsBounds(ch) {
					continue
				}
				enc, _ := json.Marshal(v)
				if bound, _ := jsonSizeBound(v, maxAuditValueBytes); len(enc) > bound || len(enc) > maxAuditValueBytes {
					t.Errorf("a value of %d bytes encoded passed as within %d", len(enc), bound)
				}
			}
		}
	}
	big := map[string]schemas.Change{"a": {Current: strings.Repeat("x", 5000)}}
	if fitsBounds(big) {
		t.Fatal("a 5000-byte value passed the fast path")
	}
	if d, ok := boundChanges(big)["a"].Current.(map[string]any); !ok || d["size"] != 5002 {
		t.Fatalf("a 5000-byte value was not recorded by size and digest: %v", boundChanges(big))
	}
	var many = map[string]schemas.Change{}
	for i := range 20 {
		many[string(rune('a'+i))] = schemas.Change{Current: strings.Repeat("x", 2000)}
	}
	if fitsBounds(many) {
		t.Fatal("40 KB of changes passed the fast path")
	}
}
