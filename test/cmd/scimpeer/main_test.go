package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestPeer walks the requests scimload sends through the peer over a real
// listener: each gets the status and content a SCIM server owes it.
func TestPeer(t *testing.T) {
	h, err := newServer("http://peer/scim/v2")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	base := srv.URL + "/scim/v2"
	do := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Content-Type", "application/scim+json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, b, want)
		}
		var m map[string]any
		if len(b) > 0 {
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, b)
			}
		}
		return m
	}
	user := func(name, title string) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": name, "title": title,
			"name": map[string]any{"givenName": "Ada", "familyName": "Lovelace"}, "emails": []any{map[string]any{"value": name + "@x.test", "primary": true}}}
	}
	u := do("POST", "/Users", user("ada", "Engineer"), http.StatusCreated)
	id, _ := u["id"].(string)
	if id == "" {
		t.Fatalf("no id in %v", u)
	}
	do("POST", "/Users", user("ADA", "x"), http.StatusConflict) // userName is unique, case-insensitively
	other := do("POST", "/Users", user("bob", "x"), http.StatusCreated)

	if got := do("GET", "/Users/"+id, nil, http.StatusOK); got["userName"] != "ada" || got["id"] != id {
		t.Errorf("GET = %v", got)
	}
	do("GET", "/Users/nope", nil, http.StatusNotFound)
	for filter, total := range map[string]float64{`userName eq "ada"`: 1, `userName co "o"`: 1, `name.familyName co "love"`: 2} {
		if got := do("GET", "/Users?count=100&filter="+url.QueryEscape(filter), nil, http.StatusOK); got["totalResults"] != total {
			t.Errorf("%s: totalResults %v, want %v", filter, got["totalResults"], total)
		}
	}
	patched := do("PATCH", "/Users/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "Countess"}}}, http.StatusOK)
	if patched["displayName"] != "Countess" || patched["userName"] != "ada" {
		t.Errorf("PATCH = %v", patched)
	}
	if got := do("PUT", "/Users/"+id, user("ada2", "Director"), http.StatusOK); got["title"] != "Director" || got["displayName"] != nil {
		t.Errorf("PUT = %v", got)
	}
	do("POST", "/Users", user("ada", "x"), http.StatusCreated) // the old userName is free again

	g := do("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "g"}, http.StatusCreated)
	gid, _ := g["id"].(string)
	got := do("PATCH", "/Groups/"+gid, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}, map[string]any{"value": other["id"]}}}}}, http.StatusOK)
	if m, _ := got["members"].([]any); len(m) != 2 {
		t.Errorf("group after adding 2 members: %v", got)
	}
	do("DELETE", "/Groups/"+gid, nil, http.StatusNoContent)
	do("DELETE", "/Users/"+id, nil, http.StatusNoContent)
	do("GET", "/Users/"+id, nil, http.StatusNotFound)
	do("DELETE", "/Users/"+id, nil, http.StatusNotFound)
}
