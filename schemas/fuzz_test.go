package schemas_test

import (
	"errors"
	"testing"

	. "github.com/scimd/scimd/schemas"
)

func FuzzParseFilter(f *testing.F) {
	seeds := []string{
		`userName eq "bjensen"`,
		`name.familyName co "O'Malley"`,
		`userName sw "J"`,
		`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`,
		`title pr`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`meta.lastModified ge "2011-05-13T04:42:34Z"`,
		`title pr and userType eq "Employee"`,
		`title pr or userType eq "Intern"`,
		`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`userType eq "Employee" and (emails.type eq "work")`,
		`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`emails[not (type eq "work") and (primary eq true or value ew "x")]`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "u"]`,
		`urn:scimd:schemas:extension:CustomData:2.0:User:nested.deep.x eq "y"`,
		`active eq "True"`,
		`(address.country eq "USA")and(email sw "sales")`,
		`custom_data.tags eq 7 or custom_data.score lt -1.5e3`,
		`created_at ge 1709287200000 and last_auth lt "2022-08-22"`,
		`((((userName pr))))`,
		`userName eq "\u00e9\"\\"`,
		`emails[type eq "work"`,
		`not (`,
		`a eq "`,
		`userName eq null`,
	}
	for _, s := range seeds {
		f.Add(s, uint8(0))
	}
	f.Add(`custom_app_data.branch eq "NY"`, uint8(1))
	f.Add(`name eq "Engineering"`, uint8(3))
	u := sampleUser(f)
	g := sampleGroup(f)
	opts := []ParseOptions{scim, nativeA1, scimApp, natGrp, scimGrp, native}
	f.Fuzz(func(t *testing.T, expr string, which uint8) {
		opt := opts[int(which)%len(opts)]
		flt, err := ParseFilter(expr, opt)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Reason == "" {
				t.Fatalf("ParseFilter(%q) error %v (%T) is not a *FilterError with a reason", expr, err, err)
			}
			return
		}
		if flt == nil {
			t.Fatalf("ParseFilter(%q) returned a nil filter without error", expr)
		}
		if opt.Resource == GroupResource {
			MatchGroup(flt, g)
			return
		}
		MatchUser(flt, u)
		MatchUser(flt, &User{})
	})
}
