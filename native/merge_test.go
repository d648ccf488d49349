package native

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestMergeSemantics(t *testing.T) {
	e := newEnv(t)
	id := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{
		"email": "m@example.org", "secondary_emails": []string{"m1@example.org", "m2@example.org"},
		"name":            map[string]any{"first_name": "Mia", "last_name": "Wong"},
		"custom_data":     map[string]any{"a": 1, "b": map[string]any{"x": 1, "y": 2}, "c": "keep"},
		"custom_app_data": map[string]any{"p": 1, "q": 2},
	}).want(t, 201).result()["user_id"].(string)
	got := e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{
		"custom_data":      map[string]any{"a": nil, "b": map[string]any{"z": 3}, "d": []any{1, 2}},
		"custom_app_data":  map[string]any{"q": nil, "r": true},
		"secondary_emails": []string{"m3@example.org"},
		"name":             map[string]any{"last_name": "Li"},
	}).want(t, http.StatusOK).result()
	// custom_data: shallow merge, null deletes a key, nested objects replaced whole.
	if want := map[string]any{"b": map[string]any{"z": float64(3)}, "c": "keep", "d": []any{float64(1), float64(2)}}; !reflect.DeepEqual(got["custom_data"], want) {
		t.Errorf("custom_data %v, want %v", got["custom_data"], want)
	}
	// custom_app_data: shallow merge too.
	if want := map[string]any{"p": float64(1), "r": true}; !reflect.DeepEqual(got["custom_app_data"], want) {
		t.Errorf("custom_app_data %v, want %v", got["custom_app_data"], want)
	}
	// Arrays are replaced whole; the primary email is untouched.
	sec, _ := got["secondary_emails"].([]any)
	if len(sec) != 1 || sec[0].(map[string]any)["value"] != "m3@example.org" || got["email"].(map[string]any)["value"] != "m@example.org" {
		t.Errorf("secondary_emails %v, email %v", got["secondary_emails"], got["email"])
	}
	// Objects other than custom data are replaced whole.
	name := got["name"].(map[string]any)
	if name["last_name"] != "Li" || (name["first_name"] != nil && name["first_name"] != "") {
		t.Errorf("name %v", name)
	}
	// An admin updating the user does not see or touch A's app data.
	adm := e.call("PUT", "/cis/v1/users/"+id, e.admin, map[string]any{"custom_data": map[string]any{"e": "admin"}}).want(t, 200).result()
	if _, ok := adm["custom_app_data"]; ok {
		t.Errorf("admin sees app data: %v", adm)
	}
	if cad := e.call("GET", "/cis/v1/users/"+id, e.tokA, nil).want(t, 200).result()["custom_app_data"]; !reflect.DeepEqual(cad, map[string]any{"p": float64(1), "r": true}) {
		t.Errorf("A's app data after the admin update: %v", cad)
	}
}

// customData returns a custom_data object whose JSON encoding is exactly n bytes.
func customData(n int) map[string]any {
	return map[string]any{"x": strings.Repeat("a", n-len(`{"x":""}`))}
}

func TestSizeLimits(t *testing.T) {
	e := newEnv(t)
	const limit = 500 * 1024
	id := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "big@example.org", "custom_data": customData(limit)}).want(t, 201).result()["user_id"].(string)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "big2@example.org", "custom_data": customData(limit + 1)}).wantError(t, 400)
	e.call("GET", "/cis/v1/users/email/big2@example.org", e.admin, nil).wantError(t, 404)
	// custom_app_data: its own 500 KB on top of custom_data's.
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"custom_app_data": customData(limit)}).want(t, 200)
	before := e.call("GET", "/cis/v1/users/"+id, e.tokA, nil).want(t, 200).result()
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"language": "de", "custom_app_data": map[string]any{"y": strings.Repeat("b", 10)}, "custom_data": map[string]any{"more": "x"}}).wantError(t, 400)
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"language": "de", "custom_app_data": map[string]any{"x": strings.Repeat("b", limit)}}).wantError(t, 400)
	after := e.call("GET", "/cis/v1/users/"+id, e.tokA, nil).want(t, 200).result()
	if !reflect.DeepEqual(before, after) {
		t.Fatal("a refused update changed the user")
	}
}

func TestCrossAppIsolation(t *testing.T) {
	e := newEnv(t)
	a := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "iso@example.org", "custom_app_data": map[string]any{"secret": "A"}}).want(t, 201).result()
	id := a["user_id"].(string)
	e.call("POST", "/cis/v1/users", e.tokB, map[string]any{"email": "isob@example.org"}).want(t, 201)
	for _, path := range []string{"/cis/v1/users/" + id, "/cis/v1/users/email/iso@example.org", "/cis/v1/users/" + id + "/groups"} {
		e.call("GET", path, e.tokB, nil).wantError(t, 404)
	}
	e.call("PUT", "/cis/v1/users/"+id, e.tokB, map[string]any{"language": "x"}).wantError(t, 404)
	e.call("DELETE", "/cis/v1/users/"+id+"/apps", e.tokB, nil).wantError(t, 404)
	// Creating a user with A's email from B is a conflict (identifiers are tenant-wide), not a takeover.
	e.call("POST", "/cis/v1/users", e.tokB, map[string]any{"email": "iso@example.org"}).wantError(t, 409)
	r := e.call("GET", "/cis/v1/users", e.tokB, nil).want(t, 200)
	if r.body["total_count"] != float64(1) || len(r.list()) != 1 || r.list()[0]["email"].(map[string]any)["value"] != "isob@example.org" {
		t.Fatalf("B lists %s", r.raw)
	}
	if strings.Contains(string(r.raw), `"secret"`) {
		t.Fatal("B sees A's custom_app_data")
	}
	if c := e.call("GET", "/cis/v1/users/count", e.tokB, nil).result()["user_count"]; c != float64(1) {
		t.Fatalf("B counts %v", c)
	}
	if c := e.call("GET", "/cis/v1/users/count?search="+esc(`custom_app_data.secret eq "A"`), e.tokB, nil).result()["user_count"]; c != float64(0) {
		t.Fatalf("B counts A's app data: %v", c)
	}
	if c := e.call("GET", "/cis/v1/users/count?search="+esc(`custom_app_data.secret eq "A"`), e.tokA, nil).result()["user_count"]; c != float64(1) {
		t.Fatalf("A counts its app data: %v", c)
	}
	if c := e.call("GET", "/cis/v1/users/count", e.admin, nil).result()["user_count"]; c != float64(3) {
		t.Fatalf("admin counts %v", c)
	}
	// Deleting app A removes its app-level data; the user stays.
	e.call("DELETE", "/cis/v1/applications/"+e.appA.ID, e.admin, nil).want(t, 204)
	u := e.call("GET", "/cis/v1/users/"+id, e.admin, nil).want(t, 200)
	if strings.Contains(string(u.raw), `"secret"`) {
		t.Fatalf("app data survived the app: %s", u.raw)
	}
	e.call("GET", "/cis/v1/users", e.tokA, nil).wantError(t, 401) // the app's tokens die with it
}
