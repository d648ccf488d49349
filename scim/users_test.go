package scim_test

import (
	"net/url"
	"strings"
	"testing"
)

func TestUserCRUD(t *testing.T) {
	f := newFixture(t)
	body := user("Ada@Example.org")
	body["password"] = "correct horse battery"
	body["groups"] = []any{}
	body["externalId"] = "00u1"
	body["meta"] = map[string]any{"resourceType": "User"}
	body["urn:scimd:schemas:extension:CustomData:2.0:User"] = map[string]any{"tier": "gold"}
	r := f.do("POST", "/Users", f.admin, body).want(t, 201)
	id := r.body["id"].(string)
	loc := r.header.Get("Location")
	if loc != f.base+"/Users/"+id || get(r.body, "meta", "location") != loc {
		t.Errorf("Location %q, meta.location %v", loc, get(r.body, "meta", "location"))
	}
	if r.header.Get("ETag") == "" || r.header.Get("ETag") != get(r.body, "meta", "version") {
		t.Errorf("ETag %q vs meta.version %v", r.header.Get("ETag"), get(r.body, "meta", "version"))
	}
	if _, ok := r.body["password"]; ok {
		t.Error("password echoed")
	}
	if r.body["userName"] != "Ada@Example.org" || r.body["active"] != true || get(r.body, "urn:scimd:schemas:extension:CustomData:2.0:User", "tier") != "gold" {
		t.Errorf("created: %s", r.raw)
	}
	// duplicate, case-insensitively
	dup := user("ada@example.org")
	dup["emails"] = []any{map[string]any{"value": "other@example.org"}}
	f.do("POST", "/Users", f.admin, dup).wantError(t, 409, "uniqueness")

	g := f.do("GET", "/Users/"+id, f.admin, nil).want(t, 200)
	if g.body["id"] != id {
		t.Fatal(g.raw)
	}
	// filter, case-insensitive
	l := f.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "ADA@EXAMPLE.ORG"`), f.admin, nil).want(t, 200)
	if num(l.body["totalResults"]) != 1 || get(l.body, "Resources", 0, "id") != id {
		t.Fatalf("filter: %s", l.raw)
	}
	none := f.do("GET", "/Users?filter="+url.QueryEscape(`userName eq "nobody"`), f.admin, nil).want(t, 200)
	if num(none.body["totalResults"]) != 0 || none.body["Resources"] == nil || !strings.Contains(none.raw, `"Resources":[]`) {
		t.Fatalf("no match: %s", none.raw)
	}
	// PUT with read-only echoes and without CustomData: custom data kept
	put := g.body
	put["name"] = map[string]any{"givenName": "Augusta", "familyName": "King"}
	delete(put, "urn:scimd:schemas:extension:CustomData:2.0:User")
	p := f.do("PUT", "/Users/"+id, f.admin, put).want(t, 200)
	if get(p.body, "name", "givenName") != "Augusta" || get(p.body, "urn:scimd:schemas:extension:CustomData:2.0:User", "tier") != "gold" {
		t.Errorf("put: %s", p.raw)
	}
	// deactivate with PUT; still readable and filterable
	put["active"] = false
	f.do("PUT", "/Users/"+id, f.admin, put).want(t, 200)
	l = f.do("GET", "/Users?filter="+url.QueryEscape(`active eq false`), f.admin, nil).want(t, 200)
	if num(l.body["totalResults"]) != 1 {
		t.Errorf("inactive filter: %s", l.raw)
	}
	f.do("PUT", "/Users/nope", f.admin, put).wantError(t, 404, "")
	f.do("DELETE", "/Users/"+id, f.admin, nil).want(t, 204)
	f.do("GET", "/Users/"+id, f.admin, nil).wantError(t, 404, "")
	f.do("DELETE", "/Users/"+id, f.admin, nil).wantError(t, 404, "")
}

func TestListPagingSortProjection(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for _, n := range []string{"c@x.org", "a@x.org", "b@x.org", "d@x.org", "e@x.org"} {
		ids = append(ids, f.createUser(n))
	}
	l := f.do("GET", "/Users?startIndex=2&count=2", f.admin, nil).want(t, 200)
	if num(l.body["totalResults"]) != 5 || num(l.body["itemsPerPage"]) != 2 || num(l.body["startIndex"]) != 2 ||
		get(l.body, "Resources", 0, "id") != ids[1] || get(l.body, "Resources", 1, "id") != ids[2] {
		t.Fatalf("page: %s", l.raw)
	}
	z := f.do("GET", "/Users?count=0", f.admin, nil).want(t, 200)
	if num(z.body["totalResults"]) != 5 || len(z.body["Resources"].([]any)) != 0 {
		t.Fatalf("count=0: %s", z.raw)
	}
	s := f.do("GET", "/Users?sortBy=userName&sortOrder=descending&attributes=userName", f.admin, nil).want(t, 200)
	if get(s.body, "Resources", 0, "userName") != "e@x.org" || get(s.body, "Resources", 0, "name") != nil || get(s.body, "Resources", 0, "id") == nil {
		t.Fatalf("sort/attributes: %s", s.raw)
	}
	x := f.do("GET", "/Users/"+ids[0]+"?excludedAttributes=emails,name", f.admin, nil).want(t, 200)
	if x.body["emails"] != nil || x.body["name"] != nil || x.body["userName"] == nil {
		t.Fatalf("excluded: %s", x.raw)
	}
	srch := f.do("POST", "/Users/.search", f.admin, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter":  `emails[type eq "work" and value sw "a"]`, "attributes": []string{"userName"}, "count": 10,
	}).want(t, 200)
	if num(srch.body["totalResults"]) != 1 || get(srch.body, "Resources", 0, "userName") != "a@x.org" || get(srch.body, "Resources", 0, "emails") != nil {
		t.Fatalf(".search: %s", srch.raw)
	}
	root := f.do("POST", "/.search", f.admin, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}, "filter": `userName sw "b"`,
	}).want(t, 200)
	if num(root.body["totalResults"]) != 1 {
		t.Fatalf("root .search: %s", root.raw)
	}
	f.do("POST", "/Users/.search", f.admin, map[string]any{"filter": "x"}).wantError(t, 400, "invalidSyntax")
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	id := f.createUser("ada@x.org")
	f.do("GET", "/Users", "", nil).wantError(t, 401, "")
	r := f.do("GET", "/Users", "", nil, "Authorization", "non-token")
	r.wantError(t, 401, "")
	f.do("GET", "/Users/123456789012345678901234567890", f.admin, nil).wantError(t, 404, "")
	f.do("GET", "/Users?filter="+url.QueryEscape(`userName eq`), f.admin, nil).wantError(t, 400, "invalidFilter")
	f.do("GET", "/Users?filter="+url.QueryEscape(`active gt true`), f.admin, nil).wantError(t, 400, "invalidFilter")
	f.do("GET", "/Users?filter="+url.QueryEscape(`nope eq "x"`), f.admin, nil).wantError(t, 400, "invalidFilter")
	f.do("POST", "/Users", f.admin, `{"userName":`).wantError(t, 400, "invalidSyntax")
	f.do("POST", "/Users", f.admin, map[string]any{"userName": "x@y.org", "emails": []any{map[string]any{"value": "not an email"}}}).wantError(t, 400, "invalidValue")
	f.do("POST", "/Users", f.admin, map[string]any{"userName": 42}).wantError(t, 400, "invalidValue")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "emails[type eq]", "x"))).wantError(t, 400, "invalidFilter")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "nope", "x"))).wantError(t, 400, "invalidPath")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("remove", "", nil))).wantError(t, 400, "noTarget")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("remove", `emails[type eq "home"]`, nil))).wantError(t, 400, "noTarget")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "id", "other"))).wantError(t, 400, "mutability")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("remove", "userName", nil))).wantError(t, 400, "mutability")
	f.do("PATCH", "/Users/"+id, f.admin, map[string]any{"Operations": []any{op("add", "title", "x")}}).wantError(t, 400, "invalidSyntax")
	f.do("PATCH", "/Users/"+id, f.admin, patchOp(op("replace", "active", "maybe"))).wantError(t, 400, "invalidValue")
	f.do("PUT", "/Users/"+id, f.admin, user("ada@x.org"), "If-Match", `W/"999"`).wantError(t, 412, "")
	f.do("POST", "/Users", f.admin, "<xml/>", "Content-Type", "application/xml").wantError(t, 415, "")
	f.do("GET", "/Users?count=abc", f.admin, nil).wantError(t, 400, "invalidValue")
	big := newFixtureOpts(t, scimOptions(1, 1))
	many := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"DELETE","path":"/Users/a"},{"method":"DELETE","path":"/Users/b"}]}`
	big.do("POST", "/Bulk", big.admin, many).wantError(t, 413, "")
	f.do("GET", "/Users?filter="+url.QueryEscape(strings.Repeat("(", 60)+`userName eq "x"`+strings.Repeat(")", 60)), f.admin, nil).wantError(t, 400, "invalidFilter")
	f.do("PATCH", "/Groups/x", f.admin, patchOp(op("add", "members", make([]any, 0)))).wantError(t, 404, "")
}
