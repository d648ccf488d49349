package schemas_test

import (
	"reflect"
	"testing"

	"github.com/scimd/scimd/internal/schematest"
	. "github.com/scimd/scimd/schemas"
)

func FuzzMergeNativeUser(f *testing.F) {
	for _, s := range []string{`{}`, `{"email":"a@b.org","secondary_emails":["c@d.org"],"phone_number":"+12125550123"}`,
		`{"name":{"first_name":"A"},"address":{"city":"X","type":"home"},"custom_data":{"a":null,"b":{"c":1}}}`,
		`{"custom_app_data":{"x":1},"external_account_id":"e","status":"active"}`, `{"email":{"value":"x@y.z"},"secondary_emails":[{"value":"ada@home.example"}]}`,
		`{"user_id":"x"}`, `{"secondary_phone_numbers":["+441234567","+441234567"]}`, `{"picture":null,"address":null,"email":null}`} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, create bool) {
		body, ok := schematest.DecodeBody(data)
		if !ok {
			return
		}
		for _, opt := range []NativeOptions{natOpt, {}} {
			u := sampleUser(t)
			// a top-level null in custom_data cannot survive a native
			// round trip (null deletes the key): start without one
			delete(u.CustomData, "nul")
			if create {
				u = &User{}
			}
			before := u.Clone()
			err := MergeNativeUser(u, body, opt, create)
			if err != nil {
				schematest.CheckRejected(t, err, u, before)
				continue
			}
			n := NativeUser(u, opt)
			// no duplicate contact values, at most one flagged primary
			if schematest.Primaries(u.Emails, func(e Email) bool { return e.Primary }) > 1 ||
				schematest.Primaries(u.PhoneNumbers, func(p PhoneNumber) bool { return p.Primary }) > 1 {
				t.Fatalf("two primaries: %+v %+v", u.Emails, u.PhoneNumbers)
			}
			// the native render is a valid merge body once the read-only fields are dropped
			w := u.Clone()
			if err := MergeNativeUser(w, WritableOnly(schematest.Canon(t, n).(map[string]any)), opt, false); err != nil {
				t.Fatalf("re-merging the render: %v", err)
			}
			if r2 := schematest.Canon(t, NativeUser(w, opt)); !reflect.DeepEqual(schematest.Canon(t, n), r2) {
				t.Fatalf("native render not stable:\n%v\n%v", schematest.Canon(t, n), r2)
			}
		}
	})
}
