package schemas

import (
	"reflect"
	"testing"
)

// ClearElems empties the field of every complex attribute held in a field
// of its own (elemsField), of each kind, leaving the others alone.
func TestClearElemsFields(t *testing.T) {
	full := func() *User {
		mv := []MultiValue{{Value: "v"}}
		return &User{UserName: "u", Name: Name{GivenName: "g"}, Emails: []Email{{Value: "e@x"}},
			PhoneNumbers: []PhoneNumber{{Value: "+1"}}, Addresses: []Address{{Locality: "l"}},
			IMs: mv, Photos: mv, Entitlements: mv, Roles: mv, X509Certificates: mv}
	}
	attrs := UserAttributes()
	for _, urn := range SchemaURNs(UserResource) {
		attrs = append(attrs, SchemaAttributes(urn)...)
	}
	seen := map[elems]bool{}
	for _, a := range attrs {
		u := full()
		f := elemsField(u, a.acc.elems)
		if f == nil {
			continue
		}
		ClearElems(u, a, "")
		if v := reflect.ValueOf(f).Elem(); !v.IsZero() {
			t.Errorf("ClearElems(%s) left %v", a.Name, v.Interface())
		}
		want := full()
		reflect.ValueOf(elemsField(want, a.acc.elems)).Elem().SetZero()
		if !reflect.DeepEqual(u, want) {
			t.Errorf("ClearElems(%s) changed other fields: %+v", a.Name, u)
		}
		seen[a.acc.elems] = true
	}
	if len(seen) != 9 {
		t.Errorf("%d kinds of elements held in a field of their own, want 9 (name, emails, phones, addresses, ims, photos, entitlements, roles, x509)", len(seen))
	}
}
