package scim

import (
	"reflect"
	"testing"
)

// patchBodies are PATCH bodies of the usual shape and of every shape
// scanPatch gives up to decodePatch.
var patchBodies = []string{
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@x.org"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"title":"T","active":true}},{"op":" remove ","path":" title "}]}`,
	`{"Operations":[{"value":null,"op":"replace","path":"nickName"}],"SCHEMAS":[1,"URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],"x":{"y":[1,2]}}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"OP":"Add","Path":null,"Value":{"a":1.50}}]}`,
	// each of these goes to decodePatch: it answers them (or takes them) as
	// before (a repeated key is repeated exactly: decodePatch takes any one
	// of the keys that differ only in case)
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"a","value":"b"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","op":"add","path":"title","value":"a"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","path":"nickName","value":"a"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"a"}],"operations":[{"op":"remove","path":"title"}]}`,
	`{"schemas":["x"],"Schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"title"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Patch\u004fp"],"Operations":[{"op":"remove","path":"title"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"r\u0065move","path":"title"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"title"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":1,"path":"title"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"path":"title"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":"x"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":7}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":{"op":"remove","path":"title"}}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":["remove"]}`,
	`{"schemas":"urn:ietf:params:scim:api:messages:2.0:PatchOp","Operations":[{"op":"remove","path":"title"}]}`,
	`{"Operations":[{"op":"remove","path":"title"}]}`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"title"}]} x`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"title"}]`,
	`["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`,
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"a":}}]}`,
}

// TestScanPatchAgreesWithDecode: the operations scanPatch reads from a
// body are decodePatch's for it decoded (a body it gives up is decodePatch's
// by construction: readPatch); it reads the usual shape (else it saves
// nothing) and gives up each of the others.
func TestScanPatchAgreesWithDecode(t *testing.T) {
	for i, b := range patchBodies {
		checkScanPatch(t, []byte(b))
		if _, scanned := scanPatch([]byte(b)); scanned != (i < 4) {
			t.Errorf("scanPatch took %s: %v, want %v", b, scanned, i < 4)
		}
	}
}

// FuzzScanPatch is TestScanPatchAgreesWithDecode on any text.
func FuzzScanPatch(f *testing.F) {
	for _, b := range patchBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScanPatch(t, b) })
}

func checkScanPatch(t *testing.T, raw []byte) {
	t.Helper()
	got, scanned := scanPatch(raw)
	if !scanned {
		return
	}
	body, err := decodeObject(raw)
	if err != nil {
		t.Fatalf("%s: scanned, but decoding it fails: %v", raw, err)
	}
	want, err := decodePatch(body)
	if err != nil {
		t.Fatalf("%s: scanned, but decodePatch answers %v", raw, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: operations %#v, want %#v", raw, got, want)
	}
}
