package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// send sends one request (with a bearer token and a Content-Type unless they
// are "") and returns the response, its body read and closed.
func send(t *testing.T, method, url, token, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// call sends one request and decodes a JSON answer.
func call(t *testing.T, method, url, token, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, raw := send(t, method, url, token, contentType, body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d, body is not JSON: %s", method, url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// TestBothFacesServeOneStore drives the real binary: a token from the bootstrap
// credentials, a user created through the native API, read back through SCIM on
// both SCIM bases, changed through SCIM and read back natively.
func TestBothFacesServeOneStore(t *testing.T) {
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir()}, opsEnv...))
	base := "http://" + p.addr
	token := adminToken(t, base)

	code, created := call(t, "POST", base+"/cis/v1/users", token, "application/json",
		`{"email":"ann@example.com","username":"ann","name":{"first_name":"Ann","last_name":"Lee"},"custom_data":{"tier":"gold"}}`)
	if code != 201 {
		t.Fatalf("native create: %d %v", code, created)
	}
	id, _ := created["result"].(map[string]any)["user_id"].(string)

	for _, scimBase := range []string{"/cis/scim", "/scim/v2"} {
		code, list := call(t, "GET", base+scimBase+"/Users?filter="+url.QueryEscape(`userName eq "ANN"`), token, "", "")
		if code != 200 || list["totalResults"] != float64(1) {
			t.Fatalf("SCIM filter on %s: %d %v", scimBase, code, list)
		}
		u := list["Resources"].([]any)[0].(map[string]any)
		name := u["name"].(map[string]any)
		if u["id"] != id || name["givenName"] != "Ann" || u["active"] != true {
			t.Fatalf("SCIM view on %s: %v", scimBase, u)
		}
	}

	code, patched := call(t, "PATCH", base+"/cis/scim/Users/"+id, token, "application/scim+json; charset=utf-8",
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	if code != 200 || patched["active"] != false {
		t.Fatalf("SCIM patch: %d %v", code, patched)
	}
	code, got := call(t, "GET", base+"/cis/v1/users/"+id, token, "", "")
	r := got["result"].(map[string]any)
	if code != 200 || r["status"] != "Disabled" || r["custom_data"].(map[string]any)["tier"] != "gold" {
		t.Fatalf("native read after SCIM deactivation: %d %v", code, got)
	}

	code, _ = call(t, "GET", base+"/cis/scim/Users", "", "", "")
	if code != 401 {
		t.Fatalf("SCIM without a token: %d", code)
	}
	if c := p.stop(t); c != 0 {
		t.Fatalf("exit %d", c)
	}
}
