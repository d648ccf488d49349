package jsonw

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecode: Decode accepts exactly the texts encoding/json accepts and
// decodes them to the same values; whatever it decodes, Append writes back as
// encoding/json would.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`null`, `{"a":[1,2.5e3,"x\u00e9",true,null,{}]}`, `"\ud83c\udf89"`, `[[[]]]`, `-0.0e-0`,
		` {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"u"}]}]} `,
		`{"a":1,"a":2}`, "\"\xff\"", `[1,]`, `1 2`,
		`["Replace","Replac","Replace\u0020","True","work\"","urn:ietf:params:scim:api:messages:2.0:PatchOp"]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := stdDecode(b)
		got, gerr := Decode(b)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%q: error %v, encoding/json's %v", b, gerr, werr)
		}
		if werr != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", b, got, want)
		}
		out, err := Append(nil, got, true)
		if err != nil {
			t.Fatalf("Append(%#v): %v", got, err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		if err := enc.Encode(want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if std := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(out, std) {
			t.Fatalf("Append(%q) = %q, encoding/json %q", b, out, std)
		}
	})
}
