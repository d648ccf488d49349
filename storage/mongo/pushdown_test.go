package mongo

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scimd/scimd/schemas"
)

func TestPushdown(t *testing.T) {
	opt := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	for _, tc := range []struct {
		expr  string
		exact bool
		want  string // extended JSON of the filter, "" to skip
	}{
		{`id eq "u1"`, true, `{"_id": "u1"}`},
		{`userName eq "Ada.Lovelace"`, true, `{"norm.userName": "ada.lovelace"}`},
		{`userName sw "A.("`, true, `{"norm.userName": {"$regex": "\\Aa\\.\\("}}`},
		{`externalId eq "X"`, true, `{"externalId": "X"}`},
		{`groups eq "G1"`, true, `{"norm.groups": "g1"}`},
		{`active eq false`, true, `{"norm.status": "disabled"}`},
		{`meta.created ge "2024-01-01T00:00:00Z"`, true, ""},
		{`userName pr and not (externalId eq "x")`, true, ""},
		{`userName eq "a" or title eq "b"`, false, `{}`},
		{`userName eq "a" and title eq "b"`, false, `{"norm.userName": "a"}`},
		{`emails[type eq "work"]`, false, `{}`},
		{`title eq "x"`, false, `{}`},
	} {
		f, err := schemas.ParseFilter(tc.expr, opt)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tc.expr, err)
		}
		got, exact := userFilter(f)
		if exact != tc.exact {
			t.Errorf("%s: exact = %v, want %v (%v)", tc.expr, exact, tc.exact, got)
		}
		if tc.want != "" {
			var want bson.D
			if err := bson.UnmarshalExtJSON([]byte(tc.want), false, &want); err != nil {
				t.Fatal(err)
			}
			gj, _ := bson.MarshalExtJSON(got, false, false)
			wj, _ := bson.MarshalExtJSON(want, false, false)
			if string(gj) != string(wj) {
				t.Errorf("%s: filter %s, want %s", tc.expr, gj, wj)
			}
		}
	}
}
