package wire

import (
	"reflect"
	"testing"

	"github.com/scimd/scimd/internal/schematest"
	. "github.com/scimd/scimd/schemas"
)

func FuzzReplaceSCIMUser(f *testing.F) {
	for _, s := range []string{oktaCreate, entraCreate, `{}`, `{"emails":"x"}`, `{"active":"False","name":null}`,
		`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":""}}`,
		`{"urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User":{"a":[1,{"b":null}]}}`,
		`{"addresses":[{"type":"work"},{}],"photos":["x",null],"USERNAME":"a","emails":[{"value":"a","primary":"TRUE"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		body, ok := schematest.DecodeBody(data)
		if !ok {
			return
		}
		for _, opt := range []SCIMOptions{scimOpt, {Now: schematest.Created}} {
			u := schematest.SampleUser(t)
			before := u.Clone()
			pw, err := ReplaceSCIMUser(u, body, opt)
			if err != nil {
				schematest.CheckRejected(t, err, u, before)
				continue
			}
			_ = pw
			// what was written renders, and replacing it with its own render is stable
			r1 := schematest.Canon(t, SCIMUser(u, opt)).(map[string]any)
			v := u.Clone()
			if _, err := ReplaceSCIMUser(v, r1, opt); err != nil {
				t.Fatalf("replacing with the render of an accepted body: %v", err)
			}
			if r2 := schematest.Canon(t, SCIMUser(v, opt)); !reflect.DeepEqual(r1, r2) {
				t.Fatalf("render not stable:\n%v\n%v", r1, r2)
			}
			NativeUser(u, NativeOptions{AppID: opt.AppID})
		}
	})
}
