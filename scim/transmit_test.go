package scim_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/scimd/scimd/directory"
)

// TestTransmitBase: /cis/scim behaves like Transmit's SCIM API and /scim/v2
// like RFC 7644, from the same code (issue 8 §4): a partial PUT merges on
// /cis/scim (it used to wipe email, phone, externalId, address and name)
// and replaces on /scim/v2; sortBy takes Transmit's Users API names on
// /cis/scim.
func TestTransmitBase(t *testing.T) {
	f := newFixture(t)
	cis := f.srv.URL + "/cis/scim"
	full := user("merge@x.org")
	full["externalId"] = "ext-1"
	full["phoneNumbers"] = []any{map[string]any{"value": "+15550102030", "primary": true}}
	full["addresses"] = []any{map[string]any{"locality": "Paris", "country": "FR"}}
	full["emails"] = []any{map[string]any{"value": "merge@x.org", "primary": true}, map[string]any{"value": "second@x.org"}}
	id := f.do("POST", cis+"/Users", f.admin, full).want(t, 201).body["id"].(string)

	// Transmit: only the fields sent change; name is replaced whole; a
	// primary email replaces the primary one, the others stay.
	r := f.do("PUT", cis+"/Users/"+id, f.admin, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"name": map[string]any{"familyName": "Byron"}, "emails": []any{map[string]any{"value": "new@x.org", "primary": true}}}).want(t, 200)
	if r.body["userName"] != "merge@x.org" || r.body["externalId"] != "ext-1" || get(r.body, "phoneNumbers", 0, "value") != "+15550102030" ||
		get(r.body, "addresses", 0, "locality") != "Paris" || get(r.body, "name", "familyName") != "Byron" || get(r.body, "name", "givenName") != nil {
		t.Fatalf("merge PUT: %s", r.raw)
	}
	emails := map[string]bool{}
	for _, e := range r.body["emails"].([]any) {
		emails[fmt.Sprintf("%v %v", get(e, "value"), get(e, "primary"))] = true
	}
	if !emails["new@x.org true"] || !emails["second@x.org <nil>"] || len(emails) != 2 {
		t.Fatalf("merge PUT emails: %v", r.body["emails"])
	}
	// RFC: the same partial PUT on /scim/v2 needs userName and replaces.
	f.do("PUT", "/Users/"+id, f.admin, map[string]any{"name": map[string]any{"familyName": "X"}}).wantError(t, 400, "invalidValue")
	r = f.do("PUT", "/Users/"+id, f.admin, map[string]any{"userName": "merge@x.org", "name": map[string]any{"familyName": "X"}}).want(t, 200)
	if r.body["externalId"] != nil || r.body["phoneNumbers"] != nil || r.body["addresses"] != nil {
		t.Fatalf("RFC PUT kept what it did not send: %s", r.raw)
	}

	// sortBy email, created_at, phone_number, last_auth with asc/desc.
	for i, e := range []string{"b@sort.org", "c@sort.org", "a@sort.org"} {
		u := user(e)
		u["phoneNumbers"] = []any{map[string]any{"value": fmt.Sprintf("+1555000000%d", 3-i), "primary": true}}
		f.do("POST", cis+"/Users", f.admin, u).want(t, 201)
		time.Sleep(2 * time.Millisecond) // distinct created_at (milliseconds)
	}
	order := func(base, sortBy, sortOrder string) string {
		r := f.do("GET", base+"/Users?filter="+url.QueryEscape(`userName ew "@sort.org"`)+"&sortBy="+sortBy+"&sortOrder="+sortOrder, f.admin, nil).want(t, 200)
		var names string
		for _, u := range r.body["Resources"].([]any) {
			names += get(u, "userName").(string)[:1]
		}
		return names
	}
	for _, c := range []struct{ sortBy, sortOrder, want string }{
		{"email", "asc", "abc"}, {"email", "desc", "cba"}, {"created_at", "asc", "bca"}, {"created_at", "desc", "acb"},
		{"phone_number", "asc", "acb"}, {"last_auth", "asc", "bca"}, {"userName", "descending", "cba"},
	} {
		if got := order(cis, c.sortBy, c.sortOrder); got != c.want {
			t.Errorf("/cis/scim sortBy=%s sortOrder=%s: %s, want %s", c.sortBy, c.sortOrder, got, c.want)
		}
	}
	f.do("GET", "/Users?sortBy=created_at", f.admin, nil).wantError(t, 400, "invalidFilter") // not an RFC attribute
}

// TestHashedPasswordOnCreate: hashed_password on create (Transmit's field;
// on both bases) sets a password the user can log in with; an unsupported
// algorithm or a hash scimd cannot verify is 400 and creates nothing.
func TestHashedPasswordOnCreate(t *testing.T) {
	f := newFixture(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("a good password"), 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		base string
		hp   any
	}{
		{f.srv.URL + "/cis/scim", map[string]any{"password": string(hash), "algorithm": "bcrypt", "salt": ""}},
		{f.base, string(hash)},
	} {
		name := fmt.Sprintf("hashed%d@x.org", i)
		u := user(name)
		u["hashed_password"] = c.hp
		f.do("POST", c.base+"/Users", f.appToken, u).want(t, 201)
		if _, _, err := f.svc.PasswordLogin(t.Context(), directory.Client{}, f.app.ClientID, directory.Username(name), "a good password"); err != nil {
			t.Errorf("%s: no login with the hashed password: %v", c.base, err)
		}
	}
	for _, hp := range []any{
		map[string]any{"password": string(hash), "algorithm": "md5"},
		map[string]any{"password": string(hash), "algorithm": "argon2"},
		"{MD5}X03MO1qnZdYdgyfeuILPmQ==",
		map[string]any{"algorithm": "bcrypt"},
	} {
		u := user("refused@x.org")
		u["hashed_password"] = hp
		f.do("POST", "/Users", f.admin, u).wantError(t, 400, "invalidValue")
	}
	if r := f.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "refused@x.org"`), f.admin, nil).want(t, 200); num(r.body["totalResults"]) != 0 {
		t.Fatalf("a refused hashed_password created the user: %s", r.raw)
	}
}

// TestTransmitBaseServesUsersOnly: /cis/scim serves what Transmit's SCIM API
// serves — Users — and answers errors in Transmit's ScimHttpError shape
// (schemas a string, status a number, no scimType); Groups, Bulk, /Me and
// the root queries answer 501 naming /scim/v2, where they are served, and
// discovery on /cis/scim describes users only. /scim/v2 keeps RFC 7644's
// error bodies and everything else (issue 8 §4).
func TestTransmitBaseServesUsersOnly(t *testing.T) {
	f := newFixture(t)
	cis, rfc := f.srv.URL+"/cis/scim", f.srv.URL+"/scim/v2"
	id := f.createUser("only@x.org")
	gid := f.do("POST", rfc+"/Groups", f.admin, map[string]any{"displayName": "G",
		"members": []any{map[string]any{"value": id}}}).want(t, 201).body["id"].(string)

	for _, c := range []struct{ method, path string }{
		{"GET", "/Groups"}, {"POST", "/Groups"}, {"GET", "/Groups/" + gid}, {"PATCH", "/Groups/" + gid},
		{"DELETE", "/Groups/" + gid}, {"POST", "/Groups/.search"}, {"POST", "/Bulk"}, {"GET", "/Me"},
		{"GET", ""}, {"POST", "/.search"}, {"GET", "/groups"},
	} {
		for _, tok := range []string{f.admin, ""} {
			r := f.do(c.method, cis+c.path, tok, map[string]any{}).wantTransmitError(t, 501)
			if d := r.body["detail"].(string); !strings.Contains(d, "/scim/v2"+c.path) || !strings.Contains(d, "Users only") {
				t.Errorf("%s %s: the 501 does not say where it is served: %s", c.method, c.path, d)
			}
		}
	}
	if g := f.do("GET", rfc+"/Groups/"+gid, f.admin, nil).want(t, 200); g.body["displayName"] != "G" {
		t.Fatalf("/scim/v2 groups: %s", g.raw)
	}

	// Errors of the Users endpoints, in each base's shape.
	dup := user("only@x.org")
	for base, check := range map[string]func(r resp, status int, scimType string){
		cis: func(r resp, status int, _ string) { r.wantTransmitError(t, status) },
		rfc: func(r resp, status int, scimType string) { r.wantError(t, status, scimType) },
	} {
		check(f.do("GET", base+"/Users/nope", f.admin, nil), 404, "")
		r := f.do("GET", base+"/Users", "", nil)
		check(r, 401, "")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", base)
		}
		check(f.do("POST", base+"/Users", f.admin, dup), 409, "uniqueness")
		check(f.do("GET", base+"/Users?filter="+url.QueryEscape(`userName zz "x"`), f.admin, nil), 400, "invalidFilter")
		check(f.do("PATCH", base+"/Users/"+id, f.admin, map[string]any{"Operations": []any{}}), 400, "invalidSyntax")
		check(f.do("DELETE", base+"/Users", f.admin, nil), 405, "")
	}

	// A user read on /cis/scim points to its groups where they are served.
	u := f.do("GET", cis+"/Users/"+id, f.admin, nil).want(t, 200)
	if ref := get(u.body, "groups", 0, "$ref"); ref != rfc+"/Groups/"+gid {
		t.Errorf("groups.$ref on /cis/scim: %v, want %s", ref, rfc+"/Groups/"+gid)
	}
	if loc := get(u.body, "meta", "location"); loc != cis+"/Users/"+id {
		t.Errorf("meta.location on /cis/scim: %v", loc)
	}

	// Discovery tells what each base serves.
	types := func(base string) (names []string) {
		for _, r := range f.do("GET", base+"/ResourceTypes", "", nil).want(t, 200).body["Resources"].([]any) {
			names = append(names, get(r, "id").(string))
		}
		return names
	}
	if got := fmt.Sprint(types(cis)); got != "[User]" {
		t.Errorf("/cis/scim resource types %s, want [User]", got)
	}
	if got := fmt.Sprint(types(rfc)); got != "[User Group]" {
		t.Errorf("/scim/v2 resource types %s, want [User Group]", got)
	}
	for base, want := range map[string]bool{cis: false, rfc: true} {
		s := f.do("GET", base+"/Schemas", "", nil).want(t, 200)
		if has := strings.Contains(s.raw, `"urn:ietf:params:scim:schemas:core:2.0:Group"`); has != want {
			t.Errorf("%s: /Schemas has the Group schema: %v, want %v", base, has, want)
		}
		f.do("GET", base+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "", nil).want(t, 200)
		if spc := f.do("GET", base+"/ServiceProviderConfig", "", nil).want(t, 200); get(spc.body, "bulk", "supported") != want {
			t.Errorf("%s: bulk.supported %v, want %v", base, get(spc.body, "bulk", "supported"), want)
		}
	}
	f.do("GET", cis+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", "", nil).wantTransmitError(t, 404)
}

// TestTransmitMergePUTExtensions: a /cis/scim PUT merges an extension
// attribute by attribute whether the body names it URN-qualified or inside
// its container (a URN-qualified name used to collide with the stored
// container: 400 "given twice"), merges custom data key by key, clears an
// extension sent as null, and keeps active when the body omits it. A body
// the PUT refuses is 400 on both bases before the user is looked at.
func TestTransmitMergePUTExtensions(t *testing.T) {
	f := newFixture(t)
	cis := f.srv.URL + "/cis/scim"
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	const cd = "urn:scimd:schemas:extension:CustomData:2.0:User"
	full := user("ext@x.org")
	full[ent] = map[string]any{"department": "R&D", "costCenter": "C1"}
	full[cd] = map[string]any{"tier": "gold", "seat": "7"}
	full["active"] = false
	id := f.do("POST", cis+"/Users", f.admin, full).want(t, 201).body["id"].(string)

	r := f.do("PUT", cis+"/Users/"+id, f.admin, map[string]any{ent + ":department": "Ops", cd: map[string]any{"tier": "silver"}}).want(t, 200)
	if get(r.body, ent, "department") != "Ops" || get(r.body, ent, "costCenter") != "C1" ||
		get(r.body, cd, "tier") != "silver" || get(r.body, cd, "seat") != "7" || r.body["active"] != false || r.body["userName"] != "ext@x.org" {
		t.Fatalf("merge PUT of a URN-qualified attribute and custom data: %s", r.raw)
	}
	r = f.do("PUT", cis+"/Users/"+id, f.admin, map[string]any{ent: nil}).want(t, 200)
	if r.body[ent] != nil || get(r.body, cd, "seat") != "7" {
		t.Fatalf("merge PUT of a null extension: %s", r.raw)
	}

	for _, base := range []string{"/cis/scim", "/scim/v2"} {
		bad := user("ext@x.org")
		bad["emails"] = map[string]any{"value": "x@y.org"} // an object where an array belongs
		f.do("PUT", f.srv.URL+base+"/Users/"+id, f.admin, bad).wantErrorOn(t, base, 400, "invalidValue")
		f.do("PUT", f.srv.URL+base+"/Users/no-such-user", f.admin, bad).wantErrorOn(t, base, 400, "invalidValue")
	}
	if r := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200); get(r.body, "emails", 0, "value") != "ext@x.org" {
		t.Fatalf("a refused PUT changed the user: %s", r.raw)
	}
}
