package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// stdlib is what encoding/json writes for v (Encoder without the newline).
func stdlib(v any, escapeHTML bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

func check(t *testing.T, v any) {
	t.Helper()
	for _, html := range []bool{true, false} {
		want, werr := stdlib(v, html)
		got, gerr := Append([]byte("prefix"), v, html)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%#v (html %v): error %v, encoding/json's %v", v, html, gerr, werr)
		}
		if werr == nil && string(got) != "prefix"+string(want) {
			t.Fatalf("%#v (html %v):\n got %s\nwant %s", v, html, got[len("prefix"):], want)
		}
	}
}

var strs = []string{
	"", "a", "ada@example.org", `quote " backslash \ slash /`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "é ü 日本 🎉", "\u2028 and \u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80", strings.Repeat("x", 300),
}

// TestAppendLikeEncodingJSON: every kind of value is written byte for byte
// as encoding/json writes it, with and without HTML escaping, and a value
// encoding/json refuses is refused.
func TestAppendLikeEncodingJSON(t *testing.T) {
	vals := []any{
		nil, true, false, 0, -7, int64(math.MaxInt64), int64(math.MinInt64),
		0.0, math.Copysign(0, -1), 1.0, -1.5, 123.456, 1e20, 1e21, 1e-6, 1e-7, 5e-324, math.MaxFloat64, 1.0 / 3,
		json.Number("0"), json.Number("-12.5e+3"), json.Number(""), json.Number("1e5"),
		json.Number("01"), json.Number("1."), json.Number("abc"), json.Number("-"), json.Number("1e"), // invalid
		math.NaN(), math.Inf(1),
		map[string]any(nil), map[string]any{}, []any(nil), []any{}, []string(nil), []string{}, []map[string]any(nil), []map[string]any{},
		map[string]any{"b": 1.0, "a": "x", "A": nil, "": true, "é": []any{}, "<k>": "v"},
		[]any{"x", 1.5, nil, map[string]any{"z": []string{"a", "<"}}, []any{[]any{}}},
		[]map[string]any{{"value": "u1", "$ref": "https://h/Users/u1"}, nil},
		time.Date(2024, 3, 1, 10, 0, 0, 5e6, time.UTC), json.RawMessage(`{"raw":true}`), map[string]int{"k": 1}, float32(1.5),
		map[string]any{"bad": math.NaN()}, []any{json.Number("x")},
	}
	for _, s := range strs {
		vals = append(vals, s, map[string]any{s: s}, []string{s})
	}
	for _, v := range vals {
		check(t, v)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		check(t, randomValue(rnd, 4))
	}
}

func randomValue(r *rand.Rand, depth int) any {
	k := r.IntN(9)
	if depth == 0 {
		k = r.IntN(5)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return strs[r.IntN(len(strs))]
	case 3:
		return math.Float64frombits(r.Uint64()) // NaN and infinities included
	case 4:
		return json.Number([]string{"1", "-0.5", "3e10", "12345678901234567890", "1E-7"}[r.IntN(5)])
	case 5, 6:
		m := map[string]any{}
		for range r.IntN(20) {
			m[strs[r.IntN(len(strs))]+string(rune('a'+r.IntN(26)))] = randomValue(r, depth-1)
		}
		return m
	case 7:
		a := make([]any, r.IntN(5))
		for i := range a {
			a[i] = randomValue(r, depth-1)
		}
		return a
	default:
		return []string{strs[r.IntN(len(strs))], "x"}
	}
}

// TestAppendAllocations: an object of strings and lists is written without
// an allocation per entry (encoding/json makes two).
func TestAppendAllocations(t *testing.T) {
	v := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "id": "u1", "userName": "ada",
		"name": map[string]any{"givenName": "Ada", "familyName": "Lovelace"}, "active": true,
		"emails": []any{map[string]any{"value": "ada@example.org", "primary": true, "type": "work"}},
		"meta":   map[string]any{"resourceType": "User", "version": `W/"3"`, "location": "https://h/scim/v2/Users/u1"}}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { _, _ = Append(buf[:0], v, false) }); n > 0 {
		t.Fatalf("%v allocations to write a user", n)
	}
}

// BenchmarkAppendString writes the strings of a SCIM user: mostly ASCII
// without anything to escape.
func BenchmarkAppendString(b *testing.B) {
	strs := []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "ken.lovelace.7@example.com",
		"2024-01-01T00:00:07.000Z", "http://127.0.0.1:8080/scim/v2/Users/01a22ae4-a731-7000-b498-0406307ff38c", "Ken", "107 Main St\nPortland"}
	var dst []byte
	for b.Loop() {
		dst = dst[:0]
		for _, s := range strs {
			dst = appendString(dst, s, false)
		}
	}
}

// Every byte at every position of an 8-byte word is escaped as encoding/json
// escapes it, with and without escapeHTML (the word-at-a-time test of
// appendString).
func TestAppendStringEveryByte(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			for _, n := range []int{8, 9, 16} {
				b := bytes.Repeat([]byte("a"), n)
				b[pos] = byte(c)
				s := string(b)
				for _, html := range []bool{false, true} {
					var buf bytes.Buffer
					enc := json.NewEncoder(&buf)
					enc.SetEscapeHTML(html)
					if err := enc.Encode(s); err != nil {
						t.Fatal(err)
					}
					want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
					if got := appendString(nil, s, html); !bytes.Equal(got, want) {
						t.Fatalf("byte %#x at %d of %d, html %v: %q, want %q", c, pos, n, html, got, want)
					}
				}
			}
		}
	}
}
