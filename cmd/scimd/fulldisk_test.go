package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
)

// TestFullDiskRefusesWritesWithTheirEvents fills the embedded store's file (a
// capped file stands in for a full disk) behind both faces: every write that
// was acknowledged has its audit event, every write that does not fit is
// answered 503 with Retry-After on both faces and changes nothing, reads keep
// working and /readyz reports the store as not ready.
func TestFullDiskRefusesWritesWithTheirEvents(t *testing.T) {
	store, err := embedded.OpenWithOptions(t.TempDir(), embedded.Options{MaxSize: 1 << 20, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := directory.New(store, directory.Options{Logger: log})
	if _, err := svc.EnsureManagementApp(t.Context(), "ops", "ops-secret-123"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(store, svc, "http://example.test", log))
	defer srv.Close()
	base := srv.URL

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"ops"}, "client_secret": {"ops-secret-123"}}
	_, tok := call(t, "POST", base+"/oidc/token", "", "application/x-www-form-urlencoded", form.Encode())
	token, _ := tok["access_token"].(string)
	code, created := call(t, "POST", base+"/cis/v1/users", token, "application/json", `{"username":"ann","email":"ann@example.com"}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	id, _ := created["result"].(map[string]any)["user_id"].(string)

	// Fill the file through the native face, then to the last page with small
	// writes straight into the store.
	big := strings.Repeat("x", 100<<10)
	acked := 0
	var lastTier string
	for i := 0; ; i++ {
		if i == 50 {
			t.Fatal("50 updates of 100 KB fitted in a 1 MB file")
		}
		tier := fmt.Sprint("tier-", i)
		req, _ := http.NewRequest("PUT", base+"/cis/v1/users/"+id, strings.NewReader(`{"custom_data":{"tier":"`+tier+`","blob":"`+big+`"}}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			acked++
			lastTier = tier
			continue
		}
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("native PUT that does not fit: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		break
	}
	for i := 0; i < 10000; i++ {
		u := &schemas.User{ID: fmt.Sprintf("filler-%05d", i), UserName: fmt.Sprintf("filler-%05d", i)}
		if _, err := store.CreateUser(t.Context(), u, nil); err != nil {
			break
		}
	}

	// Writes through both faces are refused with 503 and Retry-After.
	writes := []struct{ method, path, contentType, body string }{
		{"PUT", "/cis/v1/users/" + id, "application/json", `{"custom_data":{"tier":"refused"}}`},
		{"DELETE", "/cis/v1/manage/users/" + id, "", ""},
		{"PATCH", "/scim/v2/Users/" + id, "application/scim+json", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Refused"}]}`},
		{"DELETE", "/scim/v2/Users/" + id, "", ""},
		{"POST", "/scim/v2/Users", "application/scim+json", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob"}`},
	}
	for _, w := range writes {
		req, _ := http.NewRequest(w.method, base+w.path, strings.NewReader(w.body))
		req.Header.Set("Authorization", "Bearer "+token)
		if w.contentType != "" {
			req.Header.Set("Content-Type", w.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s on a full disk: %d, Retry-After %q (%s); want 503 with Retry-After", w.method, w.path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}

	// Reads still work and show exactly the acknowledged state and its trail.
	code, got := call(t, "GET", base+"/cis/v1/users/"+id, token, "", "")
	if code != 200 {
		t.Fatalf("GET after the refused writes: %d %v", code, got)
	}
	if tier := got["result"].(map[string]any)["custom_data"].(map[string]any)["tier"]; tier != lastTier {
		t.Errorf("custom_data.tier = %v, want %q (the last acknowledged write)", tier, lastTier)
	}
	code, events := call(t, "GET", base+"/cis/v1/manage/audit-events?target_id="+id, token, "", "")
	if code != 200 || events["total_count"] != float64(1+acked) {
		t.Errorf("audit events of the user: %d, total %v; want 1 create + %d acknowledged updates", code, events["total_count"], acked)
	}
	code, ready := call(t, "GET", base+"/readyz", "", "", "")
	if code != 503 {
		t.Errorf("/readyz on a full disk: %d %v, want 503", code, ready)
	}
}
