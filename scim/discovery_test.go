package scim_test

import (
	"testing"
)

func TestDiscovery(t *testing.T) {
	f := newFixture(t)
	spc := f.do("GET", "/ServiceProviderConfig", "", nil).want(t, 200)
	for _, k := range []string{"patch", "bulk", "filter", "sort", "etag", "changePassword"} {
		if get(spc.body, k, "supported") != true {
			t.Errorf("%s.supported = %v", k, get(spc.body, k, "supported"))
		}
	}
	if num(get(spc.body, "bulk", "maxOperations")) != 1000 || num(get(spc.body, "filter", "maxResults")) != 1000 {
		t.Errorf("limits: %s", spc.raw)
	}

	rts := f.do("GET", "/ResourceTypes", "", nil).want(t, 200)
	if num(rts.body["totalResults"]) != 2 || len(rts.body["Resources"].([]any)) != 2 {
		t.Fatalf("resource types: %s", rts.raw)
	}
	for _, rt := range rts.body["Resources"].([]any) {
		if loc, _ := get(rt, "meta", "location").(string); loc == "" {
			t.Errorf("no meta.location: %v", rt)
		}
		s := get(rt, "schema").(string)
		f.do("GET", "/Schemas/"+s, "", nil).want(t, 200)
		for _, e := range get(rt, "schemaExtensions").([]any) {
			f.do("GET", "/Schemas/"+get(e, "schema").(string), "", nil).want(t, 200)
		}
	}
	f.do("GET", "/ResourceTypes/User", "", nil).want(t, 200)
	f.do("GET", "/ResourceType", "", nil).want(t, 200) // WSO2's alias
	f.do("GET", "/ResourceTypes/Nope", "", nil).wantError(t, 404, "")

	sch := f.do("GET", "/Schemas", "", nil).want(t, 200)
	names := map[string]bool{}
	for _, s := range sch.body["Resources"].([]any) {
		names[get(s, "name").(string)] = true
	}
	for _, n := range []string{"User", "Group", "EnterpriseUser", "UserExtended", "CustomAppData", "CustomData", "ServiceProviderConfig", "ResourceType", "Schema"} {
		if !names[n] {
			t.Errorf("/Schemas lacks %s (%v)", n, names)
		}
	}
	if num(sch.body["totalResults"]) != len(sch.body["Resources"].([]any)) {
		t.Errorf("totalResults != len(Resources)")
	}
	u := f.do("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "", nil).want(t, 200)
	var userName map[string]any
	for _, a := range u.body["attributes"].([]any) {
		if get(a, "name") == "userName" {
			userName = a.(map[string]any)
		}
	}
	if userName["uniqueness"] != "server" || userName["required"] != true || userName["caseExact"] != false {
		t.Errorf("userName definition: %v", userName)
	}
	f.do("GET", "/Schemas/urn:nope", "", nil).wantError(t, 404, "")

	for _, p := range []string{"/ServiceProviderConfig", "/ResourceTypes", "/Schemas"} {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			f.do(m, p, f.admin, `{}`).wantError(t, 405, "")
		}
	}
	f.do("GET", "/Schemas?filter=id+eq+%22x%22", "", nil).wantError(t, 403, "")
	f.do("GET", "/Nowhere", f.admin, nil).wantError(t, 404, "")
	// Both bases.
	f.do("GET", f.srv.URL+"/cis/scim/ServiceProviderConfig", "", nil).want(t, 200)
}
