package schemas_test

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/scimd/scimd/schemas"
)

func ids[T any](docs []T, id func(T) string) string {
	var s []string
	for _, d := range docs {
		s = append(s, id(d))
	}
	return strings.Join(s, ",")
}

func userIDs(us []*User) string { return ids(us, func(u *User) string { return u.ID }) }

func sortKey(t *testing.T, path string, desc bool, opt ParseOptions) *SortKey {
	t.Helper()
	p, err := ParsePath(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return &SortKey{Path: p, Descending: desc}
}

func TestSortUsers(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	users := func() []*User {
		return []*User{
			{ID: "u5", UserName: "bob", Created: day(3), Emails: []Email{{Value: "z@x"}, {Value: "b@x", Primary: true}},
				CustomData: map[string]any{"n": json.Number("10")}},
			{ID: "u2", UserName: "Alice", Created: day(1), Emails: []Email{{Value: "c@x"}, {Value: "a@x"}},
				CustomData: map[string]any{"n": json.Number("9")}},
			{ID: "u4", UserName: "alice2", Created: day(2)}, // no emails, no custom data
			{ID: "u1", UserName: "ALICE", Created: day(2), ExternalID: "B", CustomData: map[string]any{"n": json.Number("-1.5")}},
			{ID: "u3", UserName: "carol", Created: day(1), ExternalID: "a", Emails: []Email{{Value: "A@x"}}},
		}
	}
	cases := []struct {
		path string
		desc bool
		opt  ParseOptions
		want string
	}{
		// case-insensitive with ties broken by id ascending (in both directions)
		{"userName", false, scim, "u1,u2,u4,u5,u3"},
		{"userName", true, scim, "u3,u5,u4,u1,u2"},
		// case-exact: "B" < "a"; missing sort last ascending, first descending
		{"externalId", false, scim, "u1,u3,u2,u4,u5"},
		{"externalId", true, scim, "u2,u4,u5,u3,u1"},
		// dates, ties by id
		{"meta.created", false, scim, "u2,u3,u1,u4,u5"},
		{"created_at", true, native, "u5,u1,u4,u2,u3"},
		// multi-valued: the primary element, else the first
		{"emails", false, scim, "u3,u5,u2,u1,u4"},      // a@x(u3, only), b@x(u5 primary), c@x(u2 first)
		{"emails.value", true, scim, "u1,u4,u2,u5,u3"}, // missing first descending
		{"email", false, native, "u3,u5,u1,u2,u4"},     // native email is only the primary (or only) one
		// numbers in custom data
		{"custom_data.n", false, native, "u1,u2,u5,u3,u4"},
		{"custom_data.n", true, native, "u3,u4,u5,u2,u1"},
	}
	for _, c := range cases {
		us := users()
		SortUsers(us, sortKey(t, c.path, c.desc, c.opt))
		if got := userIDs(us); got != c.want {
			t.Errorf("sort by %s desc=%v: got %s, want %s", c.path, c.desc, got, c.want)
		}
	}
	us := users()
	SortUsers(us, nil)
	if got := userIDs(us); got != "u1,u2,u3,u4,u5" {
		t.Errorf("nil key: %s", got)
	}
}

func TestSortGroups(t *testing.T) {
	gs := []*Group{{ID: "g3", DisplayName: "beta"}, {ID: "g1", DisplayName: "Beta"}, {ID: "g2", DisplayName: "ALPHA"}, {ID: "g0"}}
	SortGroups(gs, sortKey(t, "displayName", false, scimGrp))
	if got := ids(gs, func(g *Group) string { return g.ID }); got != "g2,g1,g3,g0" {
		t.Errorf("got %s", got)
	}
	SortGroups(gs, sortKey(t, "name", true, natGrp))
	if got := ids(gs, func(g *Group) string { return g.ID }); got != "g0,g1,g3,g2" {
		t.Errorf("desc got %s", got)
	}
	SortGroups(gs, nil)
	if got := ids(gs, func(g *Group) string { return g.ID }); got != "g0,g1,g2,g3" {
		t.Errorf("nil key got %s", got)
	}
}

func TestCompareValues(t *testing.T) {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := func(x string) Value { return Value{Kind: KindString, Str: x} }
	cases := []struct {
		a, b  Value
		exact bool
		want  int
	}{
		{s("abc"), s("ABC"), false, 0},
		{s("abc"), s("ABC"), true, 1},
		{s("abc"), s("abd"), false, -1},
		{s("Zeta"), s("alpha"), false, 1},
		{s("Zeta"), s("alpha"), true, -1},
		{s("ab"), s("abc"), false, -1},
		{Value{Kind: KindNumber, Num: 2}, Value{Kind: KindNumber, Num: 10}, false, -1},
		{Value{Kind: KindBool}, Value{Kind: KindBool, Bool: true}, false, -1},
		{Value{Kind: KindBool, Bool: true}, Value{Kind: KindBool, Bool: true}, false, 0},
		{Value{Kind: KindTime, Time: ts}, Value{Kind: KindTime, Time: ts.Add(time.Second)}, false, -1},
		{s("x"), Value{Kind: KindNumber, Num: 1}, false, -1}, // kinds order: string < number
		{Value{}, s(""), false, -1},
	}
	for _, c := range cases {
		if got := CompareValues(c.a, c.b, c.exact); got != c.want {
			t.Errorf("CompareValues(%v, %v, %v) = %d, want %d", c.a, c.b, c.exact, got, c.want)
		}
		if got := CompareValues(c.b, c.a, c.exact); got != -c.want {
			t.Errorf("CompareValues is not antisymmetric on %v, %v", c.a, c.b)
		}
	}
}

func TestPathStringAndValues(t *testing.T) {
	u := sampleUser(t)
	cases := []struct {
		path      string
		opt       ParseOptions
		canonical string
		values    []string
	}{
		{"userName", scim, "userName", []string{"Ada.Lovelace@Example.org"}},
		{"USERNAME", scim, "userName", []string{"Ada.Lovelace@Example.org"}},
		{"emails.value", scim, "emails.value", []string{"ada@home.example", "Ada@Work.example"}},
		{"emails", scim, "emails", []string{"ada@home.example", "Ada@Work.example"}},
		{"email", native, "primaryEmail", []string{"Ada@Work.example"}},
		{"secondary_emails", native, "secondaryEmails", []string{"ada@home.example"}},
		{"name.first_name", native, "name.givenName", []string{"Ada"}},
		{"address.city", native, "primaryAddress.locality", []string{"Paris"}},
		{"addresses.locality", scim, "addresses.locality", []string{"London", "Paris"}},
		{"custom_data.tags", native, "customData.tags", []string{"a", "B", "7"}},
		{"custom_data.nested.n", native, "customData.nested.n", []string{"10"}},
		{"urn:scimd:schemas:extension:CustomData:2.0:User:tier", scim, "customData.tier", []string{"Gold"}},
		{"custom_app_data.branch", nativeA1, "apps.app1.customAppData.branch", []string{"NY"}},
		{"urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User:seats", scimApp, "apps.app1.customAppData.seats", []string{"5"}},
		{"external_account_id", nativeA1, "apps.app1.externalAccountId", []string{"acct-9"}},
		{"created_at", native, "created", []string{"2024-03-01T10:00:00Z"}},
		{"meta.lastModified", scim, "updated", []string{"2024-03-03T10:00:00Z"}},
		{"user_id", native, "id", []string{"u-0001"}},
		{"group_ids", native, "groups", []string{"g1", "g2"}},
		{"groups.value", scim, "groups", []string{"g1", "g2"}},
		{"active", scim, "active", []string{"true"}},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", scim, "enterprise.manager.value", []string{"u-0002"}},
		{"employeeNumber", scim, "enterprise.employeeNumber", []string{"701984"}},
		{"phone_number", native, "primaryPhone", []string{"+441234567"}},
		{"status", scim, "status", []string{"Active"}},
		{"name", scim, "name", nil},
	}
	for _, c := range cases {
		p, err := ParsePath(c.path, c.opt)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", c.path, err)
			continue
		}
		if got := p.String(); got != c.canonical {
			t.Errorf("ParsePath(%q).String() = %q, want %q", c.path, got, c.canonical)
		}
		var got []string
		p.UserValues(u, func(v Value) bool {
			got = append(got, showValue(v))
			return true
		})
		if !slices.Equal(got, c.values) {
			t.Errorf("%s values = %q, want %q", c.path, got, c.values)
		}
	}
	// early stop
	p, _ := ParsePath("emails", scim)
	n := 0
	p.UserValues(u, func(Value) bool { n++; return false })
	if n != 1 {
		t.Errorf("UserValues did not stop: %d", n)
	}
	gp, _ := ParsePath("custom_data.region", natGrp)
	var gv []string
	gp.GroupValues(sampleGroup(t), func(v Value) bool { gv = append(gv, showValue(v)); return true })
	if !slices.Equal(gv, []string{"EMEA"}) || gp.String() != "customData.region" {
		t.Errorf("group values %q (%s)", gv, gp)
	}
}

func showValue(v Value) string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindNumber:
		return strings.TrimSuffix(strings.TrimSuffix(json.Number(formatFloat(v.Num)).String(), ".0"), "")
	case KindBool:
		if v.Bool {
			return "true"
		}
		return "false"
	case KindTime:
		return v.Time.Format(time.RFC3339)
	}
	return "null"
}

func formatFloat(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestParsePathErrors(t *testing.T) {
	for _, c := range []struct {
		path string
		opt  ParseOptions
	}{
		{"", scim}, {"foo", scim}, {"emails[type eq \"x\"]", scim}, {"password", scim},
		{"members", scimGrp}, {"custom_app_data.x", native}, {"1abc", scim}, {"user name", scim},
		{"email", scim}, {"meta.location", scim},
	} {
		_, err := ParsePath(c.path, c.opt)
		if _, ok := err.(*FilterError); !ok {
			t.Errorf("ParsePath(%q) = %v, want a *FilterError", c.path, err)
		}
	}
}

func TestNormalizeJSONObject(t *testing.T) {
	in := map[string]any{
		"i": 42, "i8": int8(-3), "u64": uint64(7), "bigu": uint64(math.MaxUint64),
		"f": 4.5, "fi": 42.0, "f32": float32(0.5), "big": 1e20, "neg0": math.Copysign(0, -1),
		"n": json.Number("3.0"), "n2": json.Number("12345678901234567890"), "n3": json.Number("9007199254740993"),
		"n4": json.Number("1e2"), "n5": json.Number("-0.125"),
		"s": "x", "b": true, "nil": nil,
		"arr":  []any{1, "a", []any{2.5}, map[string]any{"k": int64(5)}},
		"obj":  map[string]any{"deep": map[string]any{"x": uint8(1)}},
		"raw":  json.RawMessage(`{"a":[1,2.50,{"b":1e400}]}`),
		"raw2": json.RawMessage(`[1.0, "x"]`),
	}
	in["raw"] = json.RawMessage(`{"a":[1,2.50,{"b":1e3}]}`)
	got, err := NormalizeJSONObject(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i": json.Number("42"), "i8": json.Number("-3"), "u64": json.Number("7"), "bigu": json.Number("1.8446744073709552e+19"),
		"f": json.Number("4.5"), "fi": json.Number("42"), "f32": json.Number("0.5"), "big": json.Number("1e+20"), "neg0": json.Number("0"),
		"n": json.Number("3"), "n2": json.Number("1.2345678901234567e+19"), "n3": json.Number("9007199254740993"),
		"n4": json.Number("100"), "n5": json.Number("-0.125"),
		"s": "x", "b": true, "nil": nil,
		"arr":  []any{json.Number("1"), "a", []any{json.Number("2.5")}, map[string]any{"k": json.Number("5")}},
		"obj":  map[string]any{"deep": map[string]any{"x": json.Number("1")}},
		"raw":  map[string]any{"a": []any{json.Number("1"), json.Number("2.5"), map[string]any{"b": json.Number("1000")}}},
		"raw2": []any{json.Number("1"), "x"},
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%s: got %#v, want %#v", k, got[k], want[k])
			}
		}
	}
	// idempotent, and the input is not modified
	again, err := NormalizeJSONObject(got)
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Errorf("not idempotent: %v %v", again, err)
	}
	if in["i"] != 42 {
		t.Error("input modified")
	}
	// round trip through encoding/json with UseNumber gives the same form
	b, _ := json.Marshal(got)
	var back map[string]any
	if err := DecodeJSON(b, &back); err != nil || !reflect.DeepEqual(back, got) {
		t.Errorf("JSON round trip changed the value: %v", err)
	}
	if n, err := NormalizeJSONObject(nil); n != nil || err != nil {
		t.Errorf("nil: %v %v", n, err)
	}
	for name, bad := range map[string]any{
		"nan": math.NaN(), "inf": math.Inf(1), "ninf": float32(math.Inf(-1)),
		"badnum": json.Number("1.2.3"), "hexnum": json.Number("0x10"), "struct": struct{}{},
		"strslice": []string{"a"}, "time": time.Now(), "deepbad": map[string]any{"a": []any{complex(1, 2)}},
		"rawbad": json.RawMessage(`{`), "rawhuge": json.RawMessage(`1e400`), "ch": make(chan int),
	} {
		if _, err := NormalizeJSONObject(map[string]any{"k": bad}); err == nil {
			t.Errorf("%s: accepted %#v", name, bad)
		}
	}
}

func TestCatalog(t *testing.T) {
	for canonical, check := range map[string]func(a *Attribute) bool{
		"id": func(a *Attribute) bool {
			return a.CaseExact && a.Mutability == ReadOnly && a.Returned == ReturnedAlways
		},
		"userName": func(a *Attribute) bool {
			return a.Required && !a.CaseExact && a.Uniqueness == UniqueServer && a.SchemaURN == UserSchemaURN
		},
		"password": func(a *Attribute) bool { return a.Mutability == WriteOnly && a.Returned == ReturnedNever },
		"groups":   func(a *Attribute) bool { return a.Mutability == ReadOnly && a.MultiValued && len(a.SubAttributes) == 4 },
		"groups.$ref": func(a *Attribute) bool {
			return a.Type == TypeReference && slices.Equal(a.ReferenceTypes, []string{"Group"})
		},
		"emails":                 func(a *Attribute) bool { return a.Type == TypeComplex && a.MultiValued },
		"emails.type":            func(a *Attribute) bool { return slices.Equal(a.CanonicalValues, []string{"work", "home", "other"}) },
		"emails.verified":        func(a *Attribute) bool { return a.SchemaURN == "" },
		"photos.value":           func(a *Attribute) bool { return a.Type == TypeReference && a.CaseExact },
		"x509Certificates.value": func(a *Attribute) bool { return a.Type == TypeBinary },
		"created": func(a *Attribute) bool {
			return a.Name == "created" && a.Type == TypeDateTime && a.Mutability == ReadOnly
		},
		"updated":                        func(a *Attribute) bool { return a.Name == "lastModified" },
		"enterprise.manager.displayName": func(a *Attribute) bool { return a.Mutability == ReadOnly && a.SchemaURN == EnterpriseUserURN },
		"status":                         func(a *Attribute) bool { return a.SchemaURN == UserExtendedURN && a.Mutability == ReadOnly },
		"passwordInformation.temporary":  func(a *Attribute) bool { return a.Mutability == ReadOnly },
		"customData":                     func(a *Attribute) bool { return a.Type == TypeJSON && a.SchemaURN == CustomDataURN },
		"apps.customAppData":             func(a *Attribute) bool { return a.Type == TypeJSON && a.SchemaURN == CustomAppDataURN },
		"primaryEmail":                   func(a *Attribute) bool { return a.Name == "email" && a.SchemaURN == "" && a.Uniqueness == UniqueServer },
		"primaryPhone":                   func(a *Attribute) bool { return a.CaseExact },
		"primaryAddress.locality":        func(a *Attribute) bool { return a.Name == "city" },
	} {
		a := UserAttributeByCanonical(canonical)
		if a == nil {
			t.Errorf("no user attribute %q", canonical)
			continue
		}
		if a.Canonical != canonical || !check(a) {
			t.Errorf("user attribute %q has unexpected characteristics: %+v", canonical, *a)
		}
	}
	if a := GroupAttributeByCanonical("displayName"); a == nil || !a.Required || a.SchemaURN != GroupSchemaURN {
		t.Errorf("group displayName: %+v", a)
	}
	if a := GroupAttributeByCanonical("members.value"); a == nil || a.Mutability != Immutable {
		t.Errorf("members.value: %+v", a)
	}
	if UserAttributeByCanonical("nope") != nil {
		t.Error("unknown canonical found")
	}
	var names []string
	for _, a := range SchemaAttributes(UserSchemaURN) {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "userName,name,displayName,nickName,profileUrl,title,userType,preferredLanguage,locale,timezone,active,password,emails,phoneNumbers,ims,photos,addresses,groups,entitlements,roles,x509Certificates" {
		t.Errorf("core User schema attributes: %s", got)
	}
	if n := len(SchemaAttributes(EnterpriseUserURN)); n != 6 {
		t.Errorf("enterprise has %d attributes", n)
	}
	if n := len(SchemaAttributes(GroupSchemaURN)); n != 2 {
		t.Errorf("group schema has %d attributes", n)
	}
	if len(CommonAttributes(UserResource)) != 3 || SchemaAttributes("urn:x") != nil {
		t.Error("common attributes / unknown schema")
	}
	// every top-level user attribute is reachable by its canonical path, and
	// every sub-attribute's canonical path extends its parent's (meta aside)
	for _, a := range UserAttributes() {
		if UserAttributeByCanonical(a.Canonical) != a {
			t.Errorf("%s not indexed", a.Canonical)
		}
		for _, s := range a.SubAttributes {
			if a.Canonical != "meta" && !strings.HasPrefix(s.Canonical, a.Canonical+".") {
				t.Errorf("sub-attribute %s of %s", s.Canonical, a.Canonical)
			}
		}
	}
}
