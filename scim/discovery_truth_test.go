package scim_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// TestDiscoveryIsEnforced cross-checks what /Schemas publishes (generated
// from the catalog) with what the server does, through the listener (issue 8
// §2 "discovery tells the truth"):
//   - a required, writable attribute left out of a POST is 400;
//   - a writable attribute with uniqueness "server" taken by another
//     resource is 409 uniqueness;
//   - a readOnly attribute set by PATCH is 400 mutability;
//   - every published canonical value of a writable sub-attribute is
//     accepted (members.type once advertised "Group" while a group as a
//     member was refused);
//   - a reference attribute names only resource types it can point to;
//   - an optional attribute or sub-attribute may be removed by PATCH.
func TestDiscoveryIsEnforced(t *testing.T) {
	f := newFixture(t)
	member := f.createUser("member@truth.org")
	kinds := []struct {
		urn, path string
		rt        schemas.ResourceType
		base      func(i int) map[string]any
		valueOf   func(attr string, i int) any
	}{
		{"urn:ietf:params:scim:schemas:core:2.0:User", "/Users", schemas.UserResource,
			func(i int) map[string]any { return user(fmt.Sprintf("truth%d@x.org", i)) },
			func(attr string, i int) any {
				if attr == "userName" {
					return "same@x.org"
				}
				return fmt.Sprintf("same-%s", attr)
			}},
		{"urn:ietf:params:scim:schemas:core:2.0:Group", "/Groups", schemas.GroupResource,
			func(i int) map[string]any {
				return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": fmt.Sprintf("Truth %d", i)}
			},
			func(attr string, i int) any { return fmt.Sprintf("same-%s", attr) }},
	}
	n := 0
	checked := map[string]int{}
	for _, k := range kinds {
		sch := f.do("GET", "/Schemas/"+k.urn, "", nil).want(t, 200)
		// The common attributes (id, externalId, meta) are not in the
		// schema (RFC 7643 §3.1); the catalog's definitions are checked too.
		attrs := sch.body["attributes"].([]any)
		for _, c := range schemas.CommonAttributes(k.rt) {
			if c.Name != "meta" {
				attrs = append(attrs, map[string]any{"name": c.Name, "mutability": string(c.Mutability),
					"uniqueness": string(c.Uniqueness), "required": c.Required, "type": string(c.Type)})
			}
		}
		for _, a := range attrs {
			name := get(a, "name").(string)
			mut := get(a, "mutability")
			writable := mut == "readWrite" || mut == "writeOnly"
			if get(a, "required") == true && writable {
				n++
				body := k.base(n)
				delete(body, name)
				f.do("POST", k.path, f.admin, body).wantError(t, 400, "invalidValue")
				checked["required "+name]++
			}
			if get(a, "uniqueness") == "server" && writable && get(a, "type") == "string" && get(a, "multiValued") != true {
				n++
				first := k.base(n)
				first[name] = k.valueOf(name, n)
				f.do("POST", k.path, f.admin, first).want(t, 201)
				n++
				second := k.base(n)
				second[name] = k.valueOf(name, n)
				f.do("POST", k.path, f.admin, second).wantError(t, 409, "uniqueness")
				checked["unique "+name]++
				if name == "externalId" && k.rt == schemas.UserResource {
					checked["unique externalId (users)"]++
				}
			}
			if mut == "readOnly" {
				n++
				id := f.do("POST", k.path, f.admin, k.base(n)).want(t, 201).body["id"].(string)
				f.do("PATCH", k.path+"/"+id, f.admin, patchOp(op("replace", name, "x"))).wantError(t, 400, "mutability")
				checked["readOnly "+name]++
			}
			optional := func(a any) bool {
				m := get(a, "mutability")
				return get(a, "required") != true && (m == "readWrite" || m == "immutable")
			}
			if optional(a) && k.rt == schemas.UserResource {
				// An optional attribute and each optional sub-attribute may be
				// removed (RFC 7644 §3.5.2.2); the password is the documented
				// exception (a user cannot be left without one by PATCH).
				n++
				id := f.do("POST", k.path, f.admin, k.base(n)).want(t, 201).body["id"].(string)
				paths := []string{name}
				for _, s := range subAttrs(a) {
					if optional(s) {
						paths = append(paths, name+"."+get(s, "name").(string))
					}
				}
				for _, p := range paths {
					if r := f.do("PATCH", k.path+"/"+id, f.admin, patchOp(op("remove", p, nil))); r.status != 200 {
						t.Errorf("remove of the optional %s: %d %s", p, r.status, r.raw)
					}
					checked["optional "+p]++
				}
			}
			for _, s := range subAttrs(a) {
				sname := get(s, "name").(string)
				if rts, ok := get(s, "referenceTypes").([]any); ok && name == "members" {
					if len(rts) != 1 || rts[0] != "User" {
						t.Errorf("%s.%s: referenceTypes %v, but only users can be members", name, sname, rts)
					}
				}
				cvs, _ := get(s, "canonicalValues").([]any)
				if len(cvs) == 0 || (mut != "readWrite" && mut != "immutable" && name != "members") {
					continue
				}
				for _, cv := range cvs {
					n++
					id := f.do("POST", k.path, f.admin, k.base(n)).want(t, 201).body["id"].(string)
					el := map[string]any{sname: cv}
					switch name {
					case "members":
						el["value"] = member
					case "emails":
						el["value"] = fmt.Sprintf("cv%d@x.org", n)
					case "phoneNumbers":
						el["value"] = fmt.Sprintf("+1555%07d", n)
					case "photos":
						el["value"] = "https://photos.example/" + url.PathEscape(fmt.Sprint(cv))
					case "addresses":
						el["locality"] = "Paris"
					default:
						el["value"] = fmt.Sprintf("v%d", n)
					}
					r := f.do("PATCH", k.path+"/"+id, f.admin, patchOp(op("add", name, []any{el})))
					if r.status != 200 {
						t.Errorf("%s.%s: the published canonical value %q is refused: %d %s", name, sname, cv, r.status, r.raw)
					}
					checked["canonical "+name+"."+sname]++
				}
			}
		}
	}
	for _, want := range []string{"required userName", "required displayName", "unique userName", "unique displayName",
		"unique externalId (users)", "readOnly id", "readOnly groups", "canonical emails.type", "canonical members.type",
		"optional name.middleName", "optional emails.display", "optional addresses.locality"} {
		if checked[want] == 0 {
			t.Errorf("not checked: %s (%v)", want, checked)
		}
	}
}

func subAttrs(a any) []any {
	s, _ := get(a, "subAttributes").([]any)
	return s
}
