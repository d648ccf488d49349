package jsonw

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// stdDecode is what encoding/json decodes b into (an any, UseNumber), with
// an error for trailing data: schemas.DecodeJSON, as httpx reads bodies.
func stdDecode(b []byte) (any, error) {
	var v any
	if err := schemas.DecodeJSON(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	want, werr := stdDecode(b)
	got, gerr := Decode(b)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%q: error %v, encoding/json's %v", b, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
	}
}

// TestDecodeLikeEncodingJSON: Decode accepts and refuses what encoding/json
// does and decodes the same values: edge cases, every value Append writes,
// and those texts cut short and with bytes changed.
func TestDecodeLikeEncodingJSON(t *testing.T) {
	texts := []string{
		``, ` `, `null`, `true`, `false`, `tru`, `nul`, `falsy`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`,
		`1e`, `1e+`, `-1.5e-300`, `123456789012345678901234567890`, `+1`, `0x1`, `""`, `"a"`, `"\u00e9\ud83c\udf89"`,
		`"\ud83c"`, `"\udf89\ud83c"`, `"\ud83cx"`, `"\ud83c\u0041"`, `"\ud83c\uZZZZ"`, `"\uZZZZ"`, `"\u12"`, `"\x"`, `"\/\b\f\n\r\t\"\\"`,
		"\"\x01\"", "\"\x7f\"", "\"\xff\xfe\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", `"unterminated`, `"\`, `"\u`,
		`{}`, `[]`, `{"a":1,"a":2}`, `{"a" 1}`, `{"a":}`, `{,}`, `{"a":1,}`, `[1,]`, `[,1]`, `[1 2]`, `{"op":"x"}`, `{1:2}`,
		` {"schemas":["urn:x"], "Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@x.org"}]} `,
		`{} {}`, `{}x`, `1 2`, "{}\n", `[[[[[]]]]]`, strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001), `{"\u0041":"\u0042"}`, `{"a\u0000b":null}`,
	}
	for _, s := range texts {
		checkDecode(t, []byte(s))
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		b, err := Append(nil, randomValue(rnd, 4), rnd.IntN(2) == 0)
		if err != nil {
			continue
		}
		checkDecode(t, b)
		if len(b) > 1 {
			checkDecode(t, b[:rnd.IntN(len(b))])
			c := bytes.Clone(b)
			const junk = "{}[]\",:\\ -0eE.tfnu\x00\xff"
			c[rnd.IntN(len(c))] = junk[rnd.IntN(len(junk))]
			checkDecode(t, c)
		}
	}
}

// TestDecodeAllocations: a PATCH body costs its values only.
func TestDecodeAllocations(t *testing.T) {
	b := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w1@bench.org"}]}`)
	// 2 maps (2 each), 2 arrays (their element and the boxed slice), 2
	// strings (bytes and box; the URN and "Replace" are commonValues);
	// encoding/json makes 25 more (keys, scanner state)
	if n := testing.AllocsPerRun(100, func() { _, _ = Decode(b) }); n > 12 {
		t.Fatalf("%v allocations to decode a PATCH", n)
	}
}

// TestDecodeKeepsNoViews: nothing Decode (or a Scanner's Value and String)
// returns refers to the input, so that a caller may reuse the input's
// buffer once it is decoded (the SCIM face pools request bodies).
func TestDecodeKeepsNoViews(t *testing.T) {
	text := `{"userName":"ada","custom_key":"v\u00e9","n":12.50,"a":["x","work",{"k":"esc\"aped"}],"t":true}`
	want, err := Decode([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(text)
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScanner(b)
	var str string
	vals := map[string]any{}
	if err := s.Object(func(key []byte) error {
		var err error
		if string(key) == "userName" {
			str, err = s.String()
		} else {
			vals[string(key)], err = s.Value()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after the input was overwritten, Decode's value is %v, want %v", got, want)
	}
	vals["userName"] = str
	if !reflect.DeepEqual(any(vals), want) {
		t.Errorf("after the input was overwritten, the Scanner's values are %v, want %v", vals, want)
	}
}
