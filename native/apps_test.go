package native

import (
	"net/url"
	"testing"
	"time"
)

func TestApplications(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/cis/v1/applications", e.admin, map[string]any{
		"app_name": "CRM", "app_description": "sales", "client_display_name": "CRM client",
		"redirect_uris": []string{"https://crm.example.org/cb"}, "allow_public_signup": true,
	}).want(t, 201).result()
	appID, clientID, secret := r["app_id"].(string), r["client_id"].(string), r["client_secret"].(string)
	if appID == "" || clientID == "" || secret == "" || r["tenant_id"] == nil || r["allow_public_signup"] != true {
		t.Fatalf("created app %v", r)
	}
	if _, err := time.Parse(time.RFC3339, r["created_at"].(string)); err != nil {
		t.Fatalf("app timestamps are ISO date-times: %v", r["created_at"])
	}
	e.call("POST", "/cis/v1/applications", e.admin, map[string]any{"app_description": "no name"}).wantError(t, 400)
	e.call("POST", "/cis/v1/applications", e.admin, map[string]any{"app_name": "x", "bogus": 1}).wantError(t, 400)
	e.call("POST", "/cis/v1/applications", e.tokA, map[string]any{"app_name": "x"}).wantError(t, 403)
	tok := e.clientToken(clientID, secret)
	e.call("GET", "/cis/v1/users", tok, nil).want(t, 200)

	got := e.call("GET", "/cis/v1/applications/"+appID, e.admin, nil).want(t, 200).result()
	if _, leaked := got["client_secret"]; leaked || got["app_name"] != "CRM" {
		t.Fatalf("get app %v", got)
	}
	if l := e.call("GET", "/cis/v1/applications", e.admin, nil).want(t, 200).list(); len(l) != 3 {
		t.Fatalf("apps %v", l)
	}
	if l := e.call("GET", "/cis/v1/applications", tok, nil).want(t, 200).list(); len(l) != 1 || l[0]["app_id"] != appID {
		t.Fatalf("an app sees itself only: %v", l)
	}
	if l := e.call("GET", "/cis/v1/applications/list", e.admin, nil).want(t, 200).list(); len(l) != 3 || l[0]["app_name"] == nil {
		t.Fatalf("apps list %v", l)
	}
	e.call("GET", "/cis/v1/applications/"+e.mgmt.ID, e.admin, nil).wantError(t, 404) // a management app is not an application
	up := e.call("PUT", "/cis/v1/applications/"+appID, tok, map[string]any{"app_description": "pipeline"}).want(t, 200).result()
	if up["app_name"] != "CRM" || up["app_description"] != "pipeline" {
		t.Fatalf("update %v", up)
	}
	e.call("PUT", "/cis/v1/applications/"+appID, e.admin, map[string]any{"app_name": 5}).wantError(t, 400)
	e.call("PUT", "/cis/v1/applications/nope", e.admin, map[string]any{"app_name": "x"}).wantError(t, 404)

	// Rotation: the new secret works, the old one stops at once.
	rot := e.call("POST", "/cis/v1/applications/"+appID+"/client-secret", e.admin, nil).want(t, 200).result()
	newSecret := rot["client_secret"].(string)
	if newSecret == secret || rot["client_id"] != clientID {
		t.Fatalf("rotation %v", rot)
	}
	st, _ := e.form("/oidc/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}})
	if st != 401 {
		t.Fatalf("old secret after rotation: %d", st)
	}
	e.clientToken(clientID, newSecret)
	e.call("POST", "/cis/v1/applications/nope/client-secret", e.admin, nil).wantError(t, 404)

	e.call("DELETE", "/cis/v1/applications/"+appID, e.tokA, nil).wantError(t, 403)
	e.call("DELETE", "/cis/v1/applications/"+appID, e.admin, nil).want(t, 204)
	e.call("DELETE", "/cis/v1/applications/"+appID, e.admin, nil).wantError(t, 404)
	e.call("GET", "/cis/v1/users", tok, nil).wantError(t, 401)
}

func TestManagementApplications(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/cis/v1/management/applications", e.admin, map[string]any{"app_name": "backoffice"}).want(t, 201).result()
	id, cid, sec := r["app_id"].(string), r["client_id"].(string), r["client_secret"].(string)
	tok := e.clientToken(cid, sec)
	e.call("GET", "/cis/v1/manage/audit-events", tok, nil).want(t, 200) // an admin token
	e.call("POST", "/cis/v1/management/applications", e.admin, map[string]any{"app_name": "x", "redirect_uris": []string{}}).wantError(t, 400)
	if l := e.call("GET", "/cis/v1/management/applications", e.admin, nil).want(t, 200).list(); len(l) != 2 {
		t.Fatalf("management apps %v", l)
	}
	e.call("GET", "/cis/v1/management/applications/"+id, e.admin, nil).want(t, 200)
	e.call("GET", "/cis/v1/management/applications/"+e.appA.ID, e.admin, nil).wantError(t, 404)
	if up := e.call("PUT", "/cis/v1/management/applications/"+id, e.admin, map[string]any{"app_description": "ops"}).want(t, 200).result(); up["app_description"] != "ops" {
		t.Fatalf("update %v", up)
	}
	e.call("PUT", "/cis/v1/management/applications/nope", e.admin, map[string]any{"app_description": "ops"}).wantError(t, 404)
	rot := e.call("POST", "/cis/v1/management/applications/"+id+"/client-secret", e.admin, nil).want(t, 200).result()
	e.clientToken(cid, rot["client_secret"].(string))
	e.call("DELETE", "/cis/v1/management/applications/"+id, e.admin, nil).want(t, 204)
	e.call("DELETE", "/cis/v1/management/applications/"+id, e.admin, nil).wantError(t, 404)
	// The last management application cannot be deleted.
	e.call("DELETE", "/cis/v1/management/applications/"+e.mgmt.ID, e.admin, nil).wantError(t, 400)
}
