package schemas

import (
	"testing"
	"time"
)

var (
	tCreated = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	scim     = ParseOptions{Resource: UserResource, Dialect: SCIMDialect}
	scimApp  = ParseOptions{Resource: UserResource, Dialect: SCIMDialect, AppID: "app1"}
	native   = ParseOptions{Resource: UserResource, Dialect: NativeDialect}
	nativeA1 = ParseOptions{Resource: UserResource, Dialect: NativeDialect, AppID: "app1"}
	nativeA2 = ParseOptions{Resource: UserResource, Dialect: NativeDialect, AppID: "app2"}
	nativeA3 = ParseOptions{Resource: UserResource, Dialect: NativeDialect, AppID: "app3"}
	scimGrp  = ParseOptions{Resource: GroupResource, Dialect: SCIMDialect}
	natGrp   = ParseOptions{Resource: GroupResource, Dialect: NativeDialect}
)

func mustJSON(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	n, err := NormalizeJSONObject(m)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sampleUser is a realistic, fully populated user.
func sampleUser(t testing.TB) *User {
	return &User{
		ID: "u-0001", Version: 3, UserName: "Ada.Lovelace@Example.org", ExternalID: "EXT-42",
		Name: Name{Formatted: "Ada King Lovelace", GivenName: "Ada", FamilyName: "Lovelace",
			MiddleName: "King", HonorificPrefix: "Countess"},
		DisplayName: "Ada Lovelace", NickName: "ada", Title: "Analyst", UserType: "Employee",
		PreferredLanguage: "en-GB", Locale: "en_GB", Timezone: "Europe/London", Birthday: "1815-12-10",
		ProfileURL: "https://example.org/Ada",
		Emails: []Email{
			{Value: "ada@home.example", Type: "home"},
			{Value: "Ada@Work.example", Type: "work", Primary: true, Verified: true, VerifiedAt: tCreated},
		},
		PhoneNumbers:     []PhoneNumber{{Value: "+441234567", Type: "mobile"}},
		Photos:           []MultiValue{{Value: "https://img.example/a.png", Type: "photo"}, {Value: "https://img.example/t.png", Type: "thumbnail"}},
		Addresses:        []Address{{Locality: "London", Country: "GB", Type: "home"}, {Locality: "Paris", Country: "FR", Type: "work", Primary: true, PostalCode: "75001"}},
		Roles:            []MultiValue{{Value: "admin"}, {Value: "dev", Primary: true}},
		Entitlements:     []MultiValue{{Value: "printing"}},
		IMs:              []MultiValue{{Value: "ada-im", Type: "xmpp"}},
		X509Certificates: []MultiValue{{Value: "MIIBase64Cert"}},
		Enterprise: &EnterpriseUser{EmployeeNumber: "701984", CostCenter: "4130", Department: "Engineering",
			Manager: &Manager{Value: "u-0002", DisplayName: "Charles Babbage"}},
		Status: StatusActive,
		CustomData: mustJSON(t, map[string]any{
			"tier": "Gold", "level": 3, "score": 4.5, "vip": true, "tags": []any{"a", "B", 7},
			"nested": map[string]any{"k": "v", "n": 10, "deep": map[string]any{"x": "y"}},
			"empty":  "", "nul": nil, "obj": map[string]any{}, "list": []any{},
		}),
		Apps: map[string]*AppLink{
			"app1": {ExternalAccountID: "acct-9", CustomAppData: mustJSON(t, map[string]any{"branch": "NY", "seats": 5})},
			"app2": {},
		},
		GroupIDs: []string{"g1", "g2"},
		Password: &PasswordCredential{Hash: "x", Temporary: true, Updated: tCreated},
		Created:  tCreated, Updated: tCreated.Add(48 * time.Hour), LastAuth: tCreated.Add(72 * time.Hour),
	}
}

func sampleGroup(t testing.TB) *Group {
	return &Group{ID: "g1", Version: 2, DisplayName: "Engineering EMEA", ExternalID: "grp-EXT",
		Description: "All engineers", CustomData: mustJSON(t, map[string]any{"region": "EMEA", "size": 12}),
		Created: tCreated, Updated: tCreated.Add(time.Hour)}
}
