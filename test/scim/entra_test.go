package scim_test

import (
	"strings"
	"testing"
)

// entraUser is the body Entra POSTs (scim-clients.md §2.3).
func entraUser(upn, ext string) map[string]any {
	return map[string]any{"schemas": []string{userURN, entURN}, "externalId": ext, "userName": upn, "active": true,
		"emails":   []any{map[string]any{"primary": true, "type": "work", "value": upn}},
		"meta":     map[string]any{"resourceType": "User"},
		"name":     map[string]any{"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
		"roles":    []any{},
		entURN:     map[string]any{"department": "Navy", "employeeNumber": "1906"},
		"nickName": nil}
}

// TestEntra replays Entra's provisioning in its default dialect and with
// ?aadOptscim062020 (scim-clients.md §2.2–§2.7), the tenant URL flag included.
func TestEntra(t *testing.T) {
	for _, flag := range []bool{false, true} {
		name := "default"
		if flag {
			name = "aadOptscim062020"
		}
		t.Run(name, func(t *testing.T) {
			s := newServer(t)
			base := "/scim/v2"
			qs := ""
			if flag {
				qs = "?aadOptscim062020"
			}
			Op := func(o string) string {
				if flag {
					return o
				}
				return string(o[0]-32) + o[1:]
			}
			boolean := func(b bool) any {
				if flag {
					return b
				}
				if b {
					return "True"
				}
				return "False"
			}
			// test connection
			if r := s.call("GET", base+"/Users?filter="+q(`userName eq "5f1c3a9e-0000-4000-8000-000000000000"`)+strings.Replace(qs, "?", "&", 1), nil).is(t, 200); n(r.body["totalResults"]) != 0 {
				t.Fatal(r.raw)
			}
			s.call("GET", base+"/Groups?excludedAttributes=members&filter="+q(`displayName eq "random-group"`), nil).is(t, 200)
			// create user (filter on the matching attribute first)
			s.call("GET", base+"/Users?filter="+q(`externalId eq "grace"`), nil).is(t, 200)
			u := s.call("POST", base+"/Users"+qs, entraUser("grace@contoso.example", "grace")).is(t, 201)
			id := u.body["id"].(string)
			mgr := s.call("POST", base+"/Users", entraUser("boss@contoso.example", "boss")).is(t, 201).body["id"].(string)
			s.call("POST", base+"/Users", entraUser("grace@contoso.example", "grace2")).scimError(t, 409, "uniqueness")
			// a tenant that matches users on the work email (issue 8 §3)
			for _, f := range []string{`emails[type eq "work"].value eq "grace@contoso.example"`, `emails[type eq "work"].value eq "GRACE@contoso.example" and externalId eq "grace"`} {
				if r := s.call("GET", base+"/Users?filter="+q(f), nil).is(t, 200); n(r.body["totalResults"]) != 1 || at(r.body, "Resources", 0, "id") != id {
					t.Fatalf("%s: %s", f, r.raw)
				}
			}
			if r := s.call("GET", base+"/Users?filter="+q(`emails[type eq "home"].value eq "grace@contoso.example"`), nil).is(t, 200); n(r.body["totalResults"]) != 0 {
				t.Fatalf("a work email matched type home: %s", r.raw)
			}
			// update: one op per attribute, or (flag) a pathless replace with path keys
			var ops []any
			if flag {
				ops = []any{
					map[string]any{"op": "replace", "path": `emails[type eq "work"].value`, "value": "grace.hopper@contoso.example"},
					map[string]any{"op": "replace", "value": map[string]any{"displayName": "Grace H", "name.givenName": "Amazing Grace",
						"name.familyName": "Hopper", entURN + ":employeeNumber": "1907"}},
				}
			} else {
				ops = []any{
					map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": "grace.hopper@contoso.example"},
					map[string]any{"op": "Replace", "path": "displayName", "value": "Grace H"},
					map[string]any{"op": "Replace", "path": "name.givenName", "value": "Amazing Grace"},
					map[string]any{"op": "Replace", "path": entURN + ":employeeNumber", "value": "1907"},
				}
			}
			ops = append(ops,
				map[string]any{"op": Op("add"), "path": `phoneNumbers[type eq "mobile"].value`, "value": "+15550100"},
				map[string]any{"op": Op("add"), "path": `addresses[type eq "work"].streetAddress`, "value": "1 Navy Way"},
				map[string]any{"op": Op("add"), "path": "nickName", "value": "Amazing"},
				map[string]any{"op": Op("add"), "path": entURN + ":manager", "value": mgr})
			p := s.call("PATCH", base+"/Users/"+id+qs, patch(ops...)).is(t, 200)
			for path, want := range map[string]any{"emails.0.value": "grace.hopper@contoso.example", "displayName": "Grace H", "name.givenName": "Amazing Grace",
				"phoneNumbers.0.value": "+15550100", "addresses.0.streetAddress": "1 Navy Way", "nickName": "Amazing"} {
				if got := atPath(p.body, path); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			if at(p.body, entURN, "employeeNumber") != "1907" || at(p.body, entURN, "manager", "value") != mgr || at(p.body, entURN, "department") != "Navy" {
				t.Errorf("enterprise: %s", p.raw)
			}
			// replace manager, then remove it (both forms)
			s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": Op("replace"), "path": entURN + ":manager", "value": map[string]any{"value": mgr}})).is(t, 200)
			if r := s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": Op("replace"), "path": entURN + ":manager", "value": map[string]any{"value": ""}})).is(t, 200); at(r.body, entURN, "manager") != nil {
				t.Fatalf("manager not cleared: %s", r.raw)
			}
			s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": Op("add"), "path": entURN + ":manager", "value": mgr})).is(t, 200)
			if r := s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": Op("remove"), "path": entURN + ":manager"})).is(t, 200); at(r.body, entURN, "manager") != nil {
				t.Fatalf("manager not removed: %s", r.raw)
			}
			// disable, then re-enable; the user stays filterable
			s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": Op("replace"), "path": "active", "value": boolean(false)})).is(t, 200)
			if r := s.call("GET", base+"/Users?filter="+q(`externalId eq "grace"`), nil).is(t, 200); at(r.body, "Resources", 0, "active") != false {
				t.Fatal(r.raw)
			}
			if r := s.call("PATCH", base+"/Users/"+id, patch(map[string]any{"op": Op("replace"), "path": "active", "value": boolean(true)})).is(t, 200); r.body["active"] != true {
				t.Fatal(r.raw)
			}
			// groups: create without members, add, remove in the dialect, read without members
			g := s.call("POST", base+"/Groups", map[string]any{"schemas": []string{groupURN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
				"externalId": "8d1f", "displayName": "Engineers", "meta": map[string]any{"resourceType": "Group"}}).is(t, 201)
			gid := g.body["id"].(string)
			s.call("PATCH", base+"/Groups/"+gid, patch(map[string]any{"op": Op("replace"), "path": "displayName", "value": "Engineering"})).is(t, 200)
			s.call("PATCH", base+"/Groups/"+gid, patch(map[string]any{"op": Op("add"), "path": "members",
				"value": []any{map[string]any{"$ref": nil, "value": id}, map[string]any{"$ref": nil, "value": mgr}}})).is(t, 200)
			var remove map[string]any
			if flag {
				remove = map[string]any{"op": "remove", "path": `members[value eq "` + mgr + `"]`}
			} else {
				remove = map[string]any{"op": "Remove", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": mgr}}}
			}
			r := s.call("PATCH", base+"/Groups/"+gid+"?excludedAttributes=members", patch(remove)).is(t, 200)
			if _, ok := r.body["members"]; ok {
				t.Errorf("members returned despite excludedAttributes: %s", r.raw)
			}
			full := s.call("GET", base+"/Groups/"+gid, nil).is(t, 200)
			if m := members(full.body); len(m) != 1 || !m[id] {
				t.Fatalf("members after remove: %s", full.raw)
			}
			ex := s.call("GET", base+"/Groups/"+gid+"?excludedAttributes=members", nil).is(t, 200)
			if _, ok := ex.body["members"]; ok || ex.body["displayName"] != "Engineering" {
				t.Fatal(ex.raw)
			}
			l := s.call("GET", base+"/Groups?excludedAttributes=members&filter="+q(`displayName eq "ENGINEERING"`), nil).is(t, 200)
			if n(l.body["totalResults"]) != 1 || at(l.body, "Resources", 0, "members") != nil {
				t.Fatal(l.raw)
			}
			s.call("PATCH", base+"/Groups/"+gid, patch(map[string]any{"op": "replace", "value": map[string]any{"externalId": "9e2a"}})).is(t, 200)
			// hard delete after the soft-delete period
			s.call("DELETE", base+"/Users/"+id, nil).is(t, 204)
			s.call("GET", base+"/Users/"+id, nil).scimError(t, 404, "")
			s.call("DELETE", base+"/Groups/"+gid, nil).is(t, 204)
		})
	}
}

// atPath walks "a.0.b".
func atPath(v any, path string) any {
	var keys []any
	for _, k := range splitDots(path) {
		if i, err := atoi(k); err == nil {
			keys = append(keys, i)
		} else {
			keys = append(keys, k)
		}
	}
	return at(v, keys...)
}
