package schemas_test

import (
	"errors"
	"strings"
	"testing"

	. "github.com/scimd/scimd/schemas"
)

type matchCase struct {
	expr string
	opt  ParseOptions
	want bool
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		f, err := ParseFilter(c.expr, c.opt)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", c.expr, err)
			continue
		}
		if got := MatchUser(f, sampleUser(t)); got != c.want {
			t.Errorf("MatchUser(%q) = %v, want %v", c.expr, got, c.want)
		}
	}
}

func TestMatchStrings(t *testing.T) {
	runMatchCases(t, []matchCase{
		// case-insensitive string (userName, caseExact false)
		{`userName eq "ada.lovelace@example.org"`, scim, true},
		{`userName eq "ADA.LOVELACE@EXAMPLE.ORG"`, scim, true},
		{`userName eq "ada"`, scim, false},
		{`userName ne "ada"`, scim, true},
		{`userName ne "ADA.lovelace@example.org"`, scim, false},
		{`userName co "LOVELACE@"`, scim, true},
		{`userName co "babbage"`, scim, false},
		{`userName sw "ada."`, scim, true},
		{`userName sw "lovelace"`, scim, false},
		{`userName ew "EXAMPLE.ORG"`, scim, true},
		{`userName ew "example"`, scim, false},
		{`userName gt "ADA"`, scim, true},
		{`userName gt "b"`, scim, false},
		{`userName ge "ada.lovelace@example.org"`, scim, true},
		{`userName lt "b"`, scim, true},
		{`userName le "ADA.LOVELACE@EXAMPLE.ORG"`, scim, true},
		{`userName lt "ada"`, scim, false},
		{`userName pr`, scim, true},
		{`userName co ""`, scim, true},
		// case-exact string (externalId, id)
		{`externalId eq "EXT-42"`, scim, true},
		{`externalId eq "ext-42"`, scim, false},
		{`externalId ne "ext-42"`, scim, true},
		{`externalId co "XT"`, scim, true},
		{`externalId co "xt"`, scim, false},
		{`externalId sw "EXT"`, scim, true},
		{`externalId sw "ext"`, scim, false},
		{`externalId ew "-42"`, scim, true},
		{`externalId gt "EXT-41"`, scim, true},
		{`externalId gt "ext"`, scim, false}, // 'E' < 'e' case-exactly
		{`id eq "u-0001"`, scim, true},
		{`id eq "U-0001"`, scim, false},
		// unassigned attributes
		{`nickName pr`, scim, true},
		{`profileUrl eq "https://example.org/Ada"`, scim, true},
		{`profileUrl eq "https://example.org/ada"`, scim, false},
		{`name.honorificSuffix pr`, scim, false},
		{`name.honorificSuffix eq "x"`, scim, false},
		{`name.honorificSuffix ne "x"`, scim, true},
		{`name.givenName eq "ADA"`, scim, true},
		{`name.familyName co "love"`, scim, true},
		{`NAME.FAMILYNAME co "LOVE"`, scim, true},
		{`name pr`, scim, true},
		{`title eq "analyst"`, scim, true},
		{`userType eq "employee"`, scim, true},
		{`preferredLanguage eq "EN-gb"`, scim, true},
		{`locale eq "en_gb"`, scim, true},
		{`timezone sw "Europe/"`, scim, true},
		{`displayName eq "ada lovelace"`, scim, true},
		// string escapes
		{`displayName eq "Ada\u0020Lovelace"`, scim, true},
		{`displayName eq "Ada\"Lovelace"`, scim, false},
	})
}

func TestMatchUnicodeFold(t *testing.T) {
	u := &User{ID: "x", UserName: "STRASSE-Σοφία-\u212aelvin"}
	cases := []struct {
		expr string
		want bool
	}{
		{`userName eq "strasse-σοφίας-kelvin"`, false},
		{`userName eq "strasse-σοφία-kelvin"`, true},
		{`userName co "ΣΟΦΊΑ"`, true},
		{`userName ew "KELVIN"`, true},
		{`userName sw "strasse-ς"`, true}, // final sigma folds with Σ
		{`userName co "straße"`, false},   // no full case folding, as strings.EqualFold
	}
	for _, c := range cases {
		f, err := ParseFilter(c.expr, scim)
		if err != nil {
			t.Fatal(err)
		}
		if got := MatchUser(f, u); got != c.want {
			t.Errorf("%s: got %v want %v", c.expr, got, c.want)
		}
	}
}

func TestMatchBooleanAndDerived(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`active eq true`, scim, true},
		{`active eq false`, scim, false},
		{`active ne false`, scim, true},
		{`active eq "True"`, scim, true}, // Entra sends strings
		{`active eq "FALSE"`, scim, false},
		{`active eq TRUE`, scim, true},
		{`active pr`, scim, true},
		{`emails.primary eq true`, scim, true},
		{`emails[primary eq true and value eq "ada@work.example"]`, scim, true},
		{`emails[primary eq true and value eq "ada@home.example"]`, scim, false},
		{`addresses[primary eq "true" and locality eq "Paris"]`, scim, true},
	})
	// derived native attributes
	runMatchCases(t, []matchCase{
		{`email eq "ADA@work.example"`, native, true},
		{`email eq "ada@home.example"`, native, false},
		{`secondary_emails eq "ada@home.example"`, native, true},
		{`secondary_emails eq "ada@work.example"`, native, false},
		{`phone_number eq "+441234567"`, native, true}, // the only phone is primary
		{`secondary_phone_numbers pr`, native, false},
		{`picture eq "https://img.example/a.png"`, native, true}, // first photo
		{`address.city eq "paris"`, native, true},                // the primary address
		{`address.city eq "London"`, native, false},
		{`address.postal_code eq "75001"`, native, true},
		{`address.country eq "FR" and address.type eq "WORK"`, native, true},
		{`address[city eq "Paris" and country eq "FR"]`, native, true},
		{`status eq "active"`, native, true},
		{`status eq "Disabled"`, native, false},
		{`username eq "ada.lovelace@example.org"`, native, true},
		{`user_id eq "u-0001"`, native, true},
		{`external_user_id eq "EXT-42"`, native, true},
		{`language eq "en-gb"`, native, true},
		{`birthday eq "1815-12-10"`, native, true},
		{`birthday lt "1900-01-01"`, native, true},
		{`name.first_name eq "ada"`, native, true},
		{`name.last_name sw "Love"`, native, true},
		{`name.middle_name eq "King"`, native, true},
		{`name.title eq "countess"`, native, true},
		{`name[first_name eq "Ada" and last_name eq "Lovelace"]`, native, true},
		{`group_ids eq "g2"`, native, true},
		{`group_ids eq "g3"`, native, false},
		{`password_information.temporary eq true`, native, true},
		{`password_information.expired eq false`, native, true},
		{`password_information.updated_at eq "2024-03-01T10:00:00Z"`, native, true},
		{`(status eq "Active") and (name.first_name sw "A") and (created_at le "2024-03-02")`, native, true},
		{`(address.country eq "FR")and(email sw "ada")`, native, true},
	})
}

func TestMatchDisabledUser(t *testing.T) {
	u := sampleUser(t)
	u.Status = StatusDisabled
	for expr, want := range map[string]bool{
		`active eq false`:      true,
		`active eq true`:       false,
		`status eq "disabled"`: true,
	} {
		opt := scim
		f, err := ParseFilter(expr, opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := MatchUser(f, u); got != want {
			t.Errorf("%s: got %v", expr, got)
		}
	}
	// pending users are active
	u.Status = StatusPending
	f, _ := ParseFilter(`active eq true`, scim)
	if !MatchUser(f, u) {
		t.Error("a pending user is active")
	}
}

func TestMatchDateTime(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`meta.created eq "2024-03-01T10:00:00Z"`, scim, true},
		{`meta.created eq "2024-03-01T11:00:00+01:00"`, scim, true}, // same instant
		{`meta.created eq "2024-03-01T10:00:00.000Z"`, scim, true},
		{`meta.created gt "2024-03-01T09:59:59.999Z"`, scim, true},
		{`meta.created gt "2024-03-01T10:00:00Z"`, scim, false},
		{`meta.created ge "2024-03-01T10:00:00Z"`, scim, true},
		{`meta.created lt "2024-03-02"`, scim, true}, // bare date: midnight UTC
		{`meta.created lt "2024-03-01"`, scim, false},
		{`meta.created le "2024-03-01T10:00:00Z"`, scim, true},
		{`meta.created ne "2024-03-01T10:00:00Z"`, scim, false},
		{`meta.lastModified ge "2024-03-03T10:00:00Z"`, scim, true},
		{`meta.lastModified gt "2024-03-03T10:00:00Z"`, scim, false},
		{`meta.created pr`, scim, true},
		{`urn:ietf:params:scim:schemas:extension:UserExtended:2.0:User:lastAuth gt "2024-03-04"`, scim, true},
		{`lastAuth lt "2024-03-04"`, scim, false},
		// native: epoch milliseconds or ISO strings
		{`created_at eq 1709287200000`, native, true},
		{`created_at gt 1709287199999`, native, true},
		{`created_at lt 1709287200000`, native, false},
		{`created_at ge "2024-03-01T10:00:00.000+00:00"`, native, true},
		{`updated_at gt "2024-03-02"`, native, true},
		{`last_auth ge "2024-03-04T10:00:00Z"`, native, true},
		{`last_auth lt "2022-08-22"`, native, false},
		{`status_changed_at pr`, native, false},
	})
}

func TestMatchMultiValued(t *testing.T) {
	runMatchCases(t, []matchCase{
		// complex multi-valued without a sub-attribute compares value
		{`emails eq "ada@home.example"`, scim, true},
		{`emails co "@work.EXAMPLE"`, scim, true},
		{`emails co "@nowhere"`, scim, false},
		{`emails ne "ada@home.example"`, scim, false}, // ne = not (any eq)
		{`emails pr`, scim, true},
		{`emails.value ew ".example"`, scim, true},
		{`emails.type eq "home"`, scim, true},
		{`emails.type eq "other"`, scim, false},
		{`emails.display pr`, scim, false},
		{`phoneNumbers eq "+441234567"`, scim, true},
		{`phoneNumbers.type eq "mobile"`, scim, true},
		{`ims.value eq "ADA-IM"`, scim, true},
		{`photos.type eq "thumbnail"`, scim, true},
		{`photos.value eq "https://img.example/A.png"`, scim, false}, // reference: caseExact
		{`addresses.locality eq "london"`, scim, true},
		{`addresses.country eq "de"`, scim, false},
		{`addresses pr`, scim, true},
		{`roles eq "ADMIN"`, scim, true},
		{`roles.primary eq true`, scim, true},
		{`entitlements eq "printing"`, scim, true},
		{`x509Certificates eq "MIIBase64Cert"`, scim, true},
		{`x509Certificates eq "miibase64cert"`, scim, false}, // binary: caseExact
		{`groups eq "g1"`, scim, true},
		{`groups.value eq "g2"`, scim, true},
		{`groups eq "g9"`, scim, false},
		{`groups[value eq "g2"]`, scim, true},
		{`groups pr`, scim, true},
		{`entitlements.type pr`, scim, false},
	})
}

func TestMatchValuePaths(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`emails[type eq "work"]`, scim, true},
		{`emails[type eq "work" and value co "@work"]`, scim, true},
		{`emails[type eq "work"].value co "@work"`, scim, true}, // Entra's form: one element matches both
		{`emails[type eq "work"].value co "@home"`, scim, false},
		{`emails[type eq "home"].value co "@work"`, scim, false},
		{`emails[type eq "work"].value co "@work" and name.givenName eq "Ada"`, scim, true},
		{`emails[type eq "home" and value co "@work"]`, scim, false}, // same element required
		{`emails[type eq "home" or value co "@work"]`, scim, true},
		{`emails[type eq "other" or value co "@nowhere"]`, scim, false},
		{`emails[not (type eq "work")]`, scim, true}, // the home email
		{`emails[not (type eq "work") and primary eq true]`, scim, false},
		{`emails[(type eq "home" or type eq "work") and primary eq true]`, scim, true},
		{`emails[type eq "work" and value co "@work" and primary eq true]`, scim, true},
		{`emails[type eq "work" and (value co "@home" or primary eq false)]`, scim, false},
		{`emails[type pr]`, scim, true},
		{`emails[display pr]`, scim, false},
		{`EMAILS[TYPE EQ "WORK"]`, scim, true},
		{`emails[ type eq "work" ]`, scim, true},
		{`not (emails[type eq "other"])`, scim, true},
		{`emails[type eq "work"] and name.givenName eq "Ada"`, scim, true},
		{`addresses[type eq "work" and locality eq "Paris"]`, scim, true},
		{`addresses[type eq "home" and locality eq "Paris"]`, scim, false},
		{`name[givenName eq "Ada" and familyName eq "Lovelace"]`, scim, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "u-0002"]`, scim, true},
		{`manager[displayName co "babbage"]`, scim, true},
		{`phoneNumbers[type eq "work"]`, scim, false},
	})
}

func TestMatchURNAndExtensions(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ada.lovelace@example.org"`, scim, true},
		{`URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME eq "ada.lovelace@example.org"`, scim, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Ada"`, scim, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, scim, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "u-0002"`, scim, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName eq "charles babbage"`, scim, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engineering"`, scim, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division pr`, scim, false},
		{`employeeNumber eq "701984"`, scim, true}, // unqualified extension attribute
		{`costCenter eq "4130"`, scim, true},
		{`manager.value eq "u-0002"`, scim, true},
		{`manager pr`, scim, true},
		{`manager eq "u-0002"`, scim, true}, // complex: compares its value sub-attribute
		{`urn:ietf:params:scim:schemas:extension:UserExtended:2.0:User:status eq "Active"`, scim, true},
		{`status eq "ACTIVE"`, scim, true},
		{`passwordInformation.temporary eq true`, scim, true},
		{`passwordInformation pr`, scim, true},
		{`urn:scimd:schemas:extension:CustomData:2.0:User:tier eq "gold"`, scim, true},
		{`urn:scimd:schemas:extension:CustomData:2.0:User:nested.k eq "V"`, scim, true},
		{`urn:scimd:schemas:extension:CustomData:2.0:User pr`, scim, true},
		{`urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User:branch eq "ny"`, scimApp, true},
		{`urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User:seats gt 4`, scimApp, true},
		{`urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User pr`, scimApp, true},
	})
}

func TestMatchJSON(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`custom_data.tier eq "GOLD"`, native, true},
		{`custom_data.tier ne "gold"`, native, false},
		{`custom_data.tier co "ol"`, native, true},
		{`custom_data.tier sw "g"`, native, true},
		{`custom_data.tier ew "LD"`, native, true},
		{`custom_data.tier gt "a"`, native, true},
		{`custom_data.tier eq 3`, native, false}, // kinds differ
		{`custom_data.level eq 3`, native, true},
		{`custom_data.level eq 3.0`, native, true},
		{`custom_data.level eq "3"`, native, false},
		{`custom_data.level gt 2.5`, native, true},
		{`custom_data.level ge 3`, native, true},
		{`custom_data.level lt 3`, native, false},
		{`custom_data.level le 3e0`, native, true},
		{`custom_data.level ne 4`, native, true},
		{`custom_data.score gt 4`, native, true},
		{`custom_data.score lt -1`, native, false},
		{`custom_data.vip eq true`, native, true},
		{`custom_data.vip eq false`, native, false},
		{`custom_data.vip ne false`, native, true},
		{`custom_data.tags eq "b"`, native, true}, // arrays: any element
		{`custom_data.tags eq 7`, native, true},
		{`custom_data.tags eq "c"`, native, false},
		{`custom_data.tags co "a"`, native, true},
		{`custom_data.nested.k eq "v"`, native, true},
		{`custom_data.nested.n ge 10`, native, true},
		{`custom_data.nested.deep.x eq "y"`, native, true},
		{`custom_data.nested.Deep.x eq "y"`, native, false}, // keys are exact
		{`custom_data.nested pr`, native, true},
		{`custom_data.nested eq "v"`, native, false}, // objects have no scalar value
		{`custom_data.empty pr`, native, false},
		{`custom_data.nul pr`, native, false},
		{`custom_data.obj pr`, native, false},
		{`custom_data.list pr`, native, false},
		{`custom_data.missing pr`, native, false},
		{`custom_data.missing ne "x"`, native, true},
		{`custom_data.tier.x pr`, native, false},
		{`custom_data eq null`, native, false},
		{`custom_data.missing eq null`, native, true},
		{`custom_data.tier ne null`, native, true},
		{`CUSTOM_DATA.tier eq "gold"`, native, true},
		// app-scoped
		{`custom_app_data.branch eq "NY"`, nativeA1, true},
		{`custom_app_data.seats eq 5`, nativeA1, true},
		{`custom_app_data pr`, nativeA1, true},
		{`custom_app_data.branch eq "NY"`, nativeA2, false},
		{`custom_app_data pr`, nativeA2, false},
		{`external_account_id eq "acct-9"`, nativeA1, true},
		{`external_account_id eq "ACCT-9"`, nativeA1, false}, // case-exact
		{`external_account_id pr`, nativeA2, false},
		{`external_account_id pr`, nativeA3, false},
		{`email sw "ada" and custom_app_data.seats lt 10`, nativeA1, true},
	})
}

func TestMatchLogic(t *testing.T) {
	runMatchCases(t, []matchCase{
		// precedence: and binds tighter than or
		{`userName eq "x" or userName pr and nickName eq "y"`, scim, false},
		{`userName pr or userName eq "x" and nickName eq "y"`, scim, true},
		{`(userName pr or userName eq "x") and nickName eq "y"`, scim, false},
		{`nickName eq "y" and userName eq "x" or title eq "analyst"`, scim, true},
		{`nickName eq "y" and (userName eq "x" or title eq "analyst")`, scim, false},
		{`not (userName eq "x")`, scim, true},
		{`not (userName pr)`, scim, false},
		{`not(userName pr or nickName pr)`, scim, false},
		{`not (not (userName pr))`, scim, true},
		{`userName pr AND NOT (title eq "x")`, scim, true},
		{`((((userName pr))))`, scim, true},
		{`title eq "x" or title eq "y" or title eq "analyst"`, scim, true},
		{`title pr and nickName pr and userName pr and displayName pr`, scim, true},
		{`title pr and nickName pr and name.honorificSuffix pr`, scim, false},
		{"userName\teq\n\"ada.lovelace@example.org\"", scim, true},
		{`userName eq "x" or not (userName eq "x")`, scim, true},
	})
}

func TestParsedTreeShape(t *testing.T) {
	f, err := ParseFilter(`a1 eq "x" or a2 pr and not (a3 pr)`, ParseOptions{Dialect: NativeDialect})
	if err == nil {
		t.Fatalf("unknown attributes should fail, got %v", f)
	}
	f, err = ParseFilter(`title eq "x" or nickName pr and not (userType pr)`, scim)
	if err != nil {
		t.Fatal(err)
	}
	or, ok := f.(*Or)
	if !ok {
		t.Fatalf("root is %T, want *Or", f)
	}
	if c, ok := or.Left.(*Compare); !ok || c.Path.String() != "title" || c.Op != OpEq || c.Value.Str != "x" {
		t.Fatalf("left = %#v", or.Left)
	}
	and, ok := or.Right.(*And)
	if !ok {
		t.Fatalf("right is %T, want *And", or.Right)
	}
	if _, ok := and.Right.(*Not); !ok {
		t.Fatalf("and.Right is %T, want *Not", and.Right)
	}
	vp, err := ParseFilter(`emails[type eq "work"]`, scim)
	if err != nil {
		t.Fatal(err)
	}
	v := vp.(*ValuePath)
	inner := v.Filter.(*Compare)
	if v.Path.String() != "emails" || inner.Path.String() != "emails.type" || inner.Path.Parent != v.Path.Attr {
		t.Fatalf("value path resolved to %v / %v", v.Path, inner.Path)
	}
	// eq null rewrites to not pr
	n, _ := ParseFilter(`title eq null`, scim)
	if not, ok := n.(*Not); !ok || not.X.(*Compare).Op != OpPr {
		t.Fatalf("eq null parsed as %#v", n)
	}
}

// TestMatchHandBuiltNodes checks a tree built by hand (as the directory and
// the portal build theirs) against the evaluator: the nodes are pointers,
// as ParseFilter's (value nodes do not implement Filter).
func TestMatchHandBuiltNodes(t *testing.T) {
	u := sampleUser(t)
	p, err := ParsePath("userName", scim)
	if err != nil {
		t.Fatal(err)
	}
	f := &And{Left: &Compare{Path: p, Op: OpPr}, Right: &Not{X: &Or{Left: &Compare{Path: p, Op: OpEq, Value: Value{Kind: KindString, Str: "x"}}, Right: &Compare{Path: p, Op: OpSw, Value: Value{Kind: KindString, Str: "b"}}}}}
	if !MatchUser(f, u) {
		t.Fatal("a hand-built tree should evaluate like a parsed one")
	}
	if !MatchUser(nil, u) || !MatchGroup(nil, sampleGroup(t)) {
		t.Fatal("a nil filter matches everything")
	}
	if MatchUser(f, nil) {
		t.Fatal("a nil user matches nothing")
	}
}

func TestMatchGroup(t *testing.T) {
	g := sampleGroup(t)
	cases := []matchCase{
		{`displayName eq "engineering emea"`, scimGrp, true},
		{`displayName co "EMEA"`, scimGrp, true},
		{`displayName eq "Sales"`, scimGrp, false},
		{`externalId eq "grp-EXT"`, scimGrp, true},
		{`externalId eq "GRP-EXT"`, scimGrp, false},
		{`id eq "g1"`, scimGrp, true},
		{`meta.created eq "2024-03-01T10:00:00Z"`, scimGrp, true},
		{`meta.lastModified gt "2024-03-01T10:00:00Z"`, scimGrp, true},
		{`meta.resourceType eq "Group"`, scimGrp, true},
		{`meta.version eq "W/\"2\""`, scimGrp, true},
		{`urn:ietf:params:scim:schemas:core:2.0:Group:displayName sw "eng"`, scimGrp, true},
		{`name eq "Engineering EMEA"`, natGrp, true},
		{`group_id eq "g1"`, natGrp, true},
		{`description co "engineers"`, natGrp, true},
		{`custom_data.region eq "emea"`, natGrp, true},
		{`custom_data.size gt 10`, natGrp, true},
		{`created_at eq 1709287200000`, natGrp, true},
		{`updated_at le "2024-03-01T11:00:00Z"`, natGrp, true},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.expr, c.opt)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := MatchGroup(f, g); got != c.want {
			t.Errorf("MatchGroup(%s) = %v, want %v", c.expr, got, c.want)
		}
	}
}

func TestMetaAttributes(t *testing.T) {
	runMatchCases(t, []matchCase{
		{`meta.resourceType eq "User"`, scim, true},
		{`meta.resourceType eq "user"`, scim, false}, // caseExact
		{`meta.version eq "W/\"3\""`, scim, true},
		{`meta.version eq "W/\"4\""`, scim, false},
	})
}

func TestInvalidFilters(t *testing.T) {
	cases := []struct {
		expr   string
		opt    ParseOptions
		reason string // substring of the error
	}{
		{``, scim, "empty filter"},
		{`   `, scim, "empty filter"},
		{`foo eq "x"`, scim, `unknown attribute "foo"`},
		{`name.nothing eq "x"`, scim, "unknown attribute"},
		{`name.givenName.x eq "x"`, scim, "unknown attribute"},
		{`emails.verified eq true`, scim, "unknown attribute"}, // scimd-internal, not SCIM
		{`email eq "x"`, scim, "unknown attribute"},            // native name in SCIM
		{`displayName eq "x"`, native, "unknown attribute"},    // SCIM name in native
		{`urn:example:foo:bar eq "x"`, scim, "unknown attribute"},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x"`, scim, "unknown attribute"},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "x"`, scim, "unknown attribute"},
		{`active gt true`, scim, "operator gt is not defined for boolean attribute active"},
		{`active le false`, scim, "operator le is not defined for boolean attribute active"},
		{`active co "t"`, scim, "operator co is not defined for boolean attribute active"},
		{`active eq "yes"`, scim, "true or false"},
		{`active eq 1`, scim, "true or false"},
		{`emails.primary sw "t"`, scim, "operator sw"},
		{`meta.created co "2024"`, scim, "operator co is not defined for dateTime"},
		{`meta.created eq "yesterday"`, scim, "date-time"},
		{`meta.created eq 1709287200000`, scim, "date-time"}, // epoch ms only in native
		{`created_at sw "2024"`, native, "operator sw"},
		{`created_at eq 1.5`, native, "epoch milliseconds"},
		{`x509Certificates gt "a"`, scim, "operator gt is not defined for binary"},
		{`userName eq 12`, scim, "a string"},
		{`userName eq true`, scim, "a string"},
		{`userName eq bare`, scim, "strings must be quoted"},
		{`custom_data.vip gt true`, native, "operator gt"},
		{`custom_data.level co 3`, native, "operator co needs a string"},
		{`name eq "Ada"`, scim, "complex attribute"},
		{`addresses eq "x"`, scim, "complex attribute"},
		{`password eq "secret"`, scim, "password cannot be used in a filter"},
		{`meta.location eq "x"`, scim, "cannot be used"},
		{`groups.display eq "x"`, scim, "cannot be used"},
		{`userName gt null`, scim, "null"},
		{`userName eq`, scim, "expected a value"},
		{`userName`, scim, "expected an operator"},
		{`userName xx "a"`, scim, `unknown operator "xx"`},
		{`userName eq "a" and`, scim, "syntax error"},
		{`userName eq "a" or or title pr`, scim, "syntax error"},
		{`userName eq "a" title pr`, scim, "syntax error"},
		{`(userName pr`, scim, `expected ")"`},
		{`userName pr)`, scim, "syntax error"},
		{`not userName pr`, scim, `expected "(" after not`},
		{`userName eq "unterminated`, scim, "unterminated string"},
		{`userName eq "bad \q escape"`, scim, "invalid string literal"},
		{`userName eq 01`, scim, "invalid number"},
		{`userName eq -`, scim, "invalid number"},
		{`userName eq "a" & title pr`, scim, "unexpected character"},
		{`emails[type eq "work"`, scim, `expected "]"`},
		{`emails[type eq "work"].nope eq "x"`, scim, `unknown sub-attribute "nope" of emails`},
		{`emails[type eq "work"].("x")`, scim, "expected a sub-attribute"},
		{`emails[type eq "work"].value`, scim, "expected an operator"},
		{`emails[type eq "work"].value[type pr]`, scim, "cannot be nested"},
		{`emails[foo eq "x"]`, scim, `unknown sub-attribute "foo" of emails`},
		{`emails[verified eq true]`, scim, "unknown sub-attribute"},
		{`emails[emails[type pr]]`, scim, "cannot be nested"},
		{`userName[value eq "x"]`, scim, "not a complex attribute"},
		{`emails[]`, scim, "syntax error"},
		// members[value eq "u1"] and members.value eq "u1" parse: the
		// directory answers them (directory.ListGroups); nothing else does.
		{`members eq "u1"`, scimGrp, "groups can be filtered by members only with"},
		{`members.display eq "u1"`, scimGrp, "groups can be filtered by members only with"},
		{`members[display eq "u1"]`, scimGrp, "groups can be filtered by members only with"},
		{`custom_app_data.tier eq "x"`, native, "application context"},
		{`external_account_id eq "x"`, native, "application context"},
		{`urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User:tier eq "x"`, scim, "application context"},
		{`custom_data..a eq "x"`, native, "invalid key path"},
		{`custom_data. eq "x"`, native, "invalid key path"},
		{`description eq "x"`, scimGrp, "unknown attribute"},
		{strings.Repeat("(", 51) + "userName pr" + strings.Repeat(")", 51), scim, "nested more than 50"},
		{strings.Repeat("not (", 60) + "userName pr" + strings.Repeat(")", 60), scim, "nested more than 50"},
		{`userName eq "` + strings.Repeat("a", 5000) + `"`, scim, "longer than 4096"},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.expr, c.opt)
		if err == nil {
			t.Errorf("ParseFilter(%.80q) = %#v, want an error", c.expr, f)
			continue
		}
		var fe *FilterError
		if !errors.As(err, &fe) {
			t.Errorf("ParseFilter(%.80q): error %T is not a *FilterError", c.expr, err)
			continue
		}
		if fe.Expr != c.expr && !strings.Contains(c.reason, "longer") {
			t.Errorf("FilterError.Expr = %q", fe.Expr)
		}
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParseFilter(%.80q) error %q does not mention %q", c.expr, err, c.reason)
		}
	}
	// the depth limit is inclusive of 50
	ok := strings.Repeat("(", 50) + "userName pr" + strings.Repeat(")", 50)
	if _, err := ParseFilter(ok, scim); err != nil {
		t.Errorf("50 levels should parse: %v", err)
	}
}

func TestMatchUnnormalizedJSONAndPrimaries(t *testing.T) {
	u := &User{ID: "x",
		CustomData:   map[string]any{"i": 5, "u": uint16(7), "f": float32(2.5), "d": 1.25, "s": []any{int64(3)}},
		Photos:       []MultiValue{{Value: "a"}, {Value: "b", Primary: true}},
		PhoneNumbers: []PhoneNumber{{Value: "+1"}, {Value: "+2"}}, // two, none primary: no native primary
		Addresses:    []Address{{Locality: "X"}},
	}
	for expr, want := range map[string]bool{
		`custom_data.i eq 5`:                    true,
		`custom_data.u gt 6`:                    true,
		`custom_data.f eq 2.5`:                  true,
		`custom_data.d lt 1.3`:                  true,
		`custom_data.s eq 3`:                    true,
		`picture eq "b"`:                        true,
		`phone_number pr`:                       false,
		`secondary_phone_numbers eq "+1"`:       true,
		`address.city eq "x"`:                   true, // the only address
		`custom_data.i eq 5 and not (email pr)`: true,
	} {
		f, err := ParseFilter(expr, native)
		if err != nil {
			t.Fatal(err)
		}
		if got := MatchUser(f, u); got != want {
			t.Errorf("%s: got %v, want %v", expr, got, want)
		}
	}
	p, _ := ParsePath("phoneNumbers.value", scim)
	us := []*User{u, {ID: "a", PhoneNumbers: []PhoneNumber{{Value: "+3"}, {Value: "+0", Primary: true}}}}
	SortUsers(us, &SortKey{Path: p})
	if us[0].ID != "a" { // +0 (primary) < +1 (first)
		t.Errorf("sort by phoneNumbers.value: %s first", us[0].ID)
	}
}
