package main

import (
	"fmt"
	"slices"
	"testing"
)

// TestAPITokenScopes drives the real binary through the README's connector
// flow: a token created without scopes is a SCIM provisioning token — it
// provisions users and groups over SCIM but may not mint API tokens or
// management applications; a read token cannot write; an admin token can.
func TestAPITokenScopes(t *testing.T) {
	p := start(t, append([]string{"SCIMD_DATA_DIR=" + t.TempDir()}, opsEnv...))
	base := "http://" + p.addr
	admin := adminToken(t, base)

	mint := func(body string) (string, []any) {
		t.Helper()
		code, out := call(t, "POST", base+"/cis/v1/manage/api-tokens", admin, "application/json", body)
		r, _ := out["result"].(map[string]any)
		token, _ := r["token"].(string)
		if code != 201 || token == "" {
			t.Fatalf("create API token %s: %d %v", body, code, out)
		}
		scopes, _ := r["scopes"].([]any)
		return token, scopes
	}
	connector, scopes := mint(`{"description": "Okta provisioning"}`)
	if !slices.Equal(scopes, []any{"scim"}) {
		t.Fatalf("default scopes %v, want [scim]", scopes)
	}
	reader, _ := mint(`{"description": "reporting", "scopes": ["read"]}`)
	automation, scopes := mint(`{"description": "automation", "scopes": ["admin"]}`)
	if !slices.Equal(scopes, []any{"admin"}) {
		t.Fatalf("admin token scopes %v", scopes)
	}
	if code, out := call(t, "POST", base+"/cis/v1/manage/api-tokens", admin, "application/json", `{"scopes": ["root"]}`); code != 400 {
		t.Fatalf("unknown scope: %d %v", code, out)
	}

	const scimJSON = "application/scim+json"
	n := 0
	scimUser := func() string {
		n++
		return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u%d@example.com","emails":[{"value":"u%d@example.com","primary":true}]}`, n, n)
	}
	type step struct {
		name, method, path, token, contentType, body string
		want                                         int
	}
	steps := []step{
		// The connector provisions users and groups over SCIM…
		{"connector creates a user", "POST", "/scim/v2/Users", connector, scimJSON, scimUser(), 201},
		{"connector creates a group", "POST", "/scim/v2/Groups", connector, scimJSON, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales"}`, 201},
		{"connector lists users", "GET", "/scim/v2/Users", connector, "", "", 200},
		// …but administers nothing.
		{"connector mints an API token", "POST", "/cis/v1/manage/api-tokens", connector, "application/json", `{"description":"x","scopes":["admin"]}`, 403},
		{"connector lists API tokens", "GET", "/cis/v1/manage/api-tokens", connector, "", "", 403},
		{"connector creates a management app", "POST", "/cis/v1/management/applications", connector, "application/json", `{"app_name":"evil"}`, 403},
		{"connector creates an app", "POST", "/cis/v1/applications", connector, "application/json", `{"app_name":"evil"}`, 403},
		{"connector reads the audit log", "GET", "/cis/v1/manage/audit-events", connector, "", "", 403},
		// A read token reads and cannot write, on either face.
		{"reader lists users", "GET", "/scim/v2/Users", reader, "", "", 200},
		{"reader lists users natively", "GET", "/cis/v1/users", reader, "", "", 200},
		{"reader creates a user", "POST", "/scim/v2/Users", reader, scimJSON, scimUser(), 403},
		{"reader creates a user natively", "POST", "/cis/v1/users", reader, "application/json", `{"email":"r@example.com"}`, 403},
		{"reader creates a group", "POST", "/scim/v2/Groups", reader, scimJSON, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"R"}`, 403},
		{"reader mints an API token", "POST", "/cis/v1/manage/api-tokens", reader, "application/json", `{}`, 403},
		// An admin token can do all of it.
		{"admin token creates a user", "POST", "/scim/v2/Users", automation, scimJSON, scimUser(), 201},
		{"admin token mints an API token", "POST", "/cis/v1/manage/api-tokens", automation, "application/json", `{"description":"y"}`, 201},
		{"admin token creates a management app", "POST", "/cis/v1/management/applications", automation, "application/json", `{"app_name":"ops2"}`, 201},
	}
	for _, s := range steps {
		if code, out := call(t, s.method, base+s.path, s.token, s.contentType, s.body); code != s.want {
			t.Errorf("%s: %s %s = %d, want %d: %v", s.name, s.method, s.path, code, s.want, out)
		}
	}

	// The list shows each token's scopes.
	code, out := call(t, "GET", base+"/cis/v1/manage/api-tokens", admin, "", "")
	list, _ := out["result"].([]any)
	if code != 200 || len(list) != 4 {
		t.Fatalf("list: %d %v", code, out)
	}
	for _, item := range list {
		if sc, _ := item.(map[string]any)["scopes"].([]any); len(sc) == 0 {
			t.Errorf("listed token without scopes: %v", item)
		}
	}
	if c := p.stop(t); c != 0 {
		t.Fatalf("exit %d", c)
	}
}
