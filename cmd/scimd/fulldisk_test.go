package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
)

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFullDiskRefusesWritesWithTheirEvents fills the embedded store's file (a
// capped file stands in for a full disk) behind both faces: every write that
// was acknowledged has its audit event, every write that does not fit is
// answered 503 with Retry-After on both faces and changes nothing, reads keep
// working and /readyz reports the store as not ready.
func TestFullDiskRefusesWritesWithTheirEvents(t *testing.T) {
	store, err := embedded.OpenWithOptions(t.TempDir(), embedded.Options{MaxSize: 1 << 20, NoSync: true, OverlayBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := directory.New(store, directory.Options{Logger: log})
	if _, err := svc.EnsureManagementApp(t.Context(), "ops", "ops-secret-123"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(store, svc, log, httpOptions{PublicURL: "http://example.test"}))
	defer srv.Close()
	base := srv.URL

	token := adminToken(t, base)
	code, created := call(t, "POST", base+"/cis/v1/users", token, "application/json", `{"username":"ann","email":"ann@example.com","custom_data":{"tier":"gold"}}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	id, _ := created["result"].(map[string]any)["user_id"].(string)

	// Fill the file through the native face, then to the last page with small
	// writes straight into the store.
	big := strings.Repeat("x", 100<<10)
	acked := 0
	for i := 0; ; i++ {
		if i == 50 {
			t.Fatal("50 users of 100 KB fitted in a 1 MB file")
		}
		req, _ := http.NewRequest("POST", base+"/cis/v1/users", strings.NewReader(fmt.Sprintf(`{"email":"fill%d@example.com","custom_data":{"blob":"%s"}}`, i, big)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 201 {
			acked++
			continue
		}
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("native POST that does not fit: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		break
	}
	for i := 0; i < 10000; i++ {
		u := &schemas.User{ID: fmt.Sprintf("filler-%05d", i), UserName: fmt.Sprintf("filler-%05d", i)}
		if _, err := store.CreateUser(t.Context(), u, nil); err != nil {
			break
		}
	}

	// Writes through both faces either succeed with their event or are
	// refused with 503 and Retry-After; small writes find free pages for a
	// while, so repeat them until the file is full for each of them.
	do := func(method, path, contentType, body string) (int, string) {
		resp, raw := send(t, method, base+path, token, contentType, body)
		if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", method, path)
		}
		return resp.StatusCode, string(raw)
	}
	updates, lastTitle := 0, ""
	for round := 0; ; round++ {
		// The PATCH recycles the pages it frees, so only the growth of its
		// audit events fills the file: how many rounds that takes depends on
		// the free pages the fill left (more buckets per create, more of them).
		if round == 3000 {
			t.Fatal("3000 rounds of small writes fitted in the full file")
		}
		title := fmt.Sprint("title-", round)
		c1, b1 := do("PATCH", "/scim/v2/Users/"+id, "application/scim+json",
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"`+title+`"}]}`)
		c2, b2 := do("POST", "/scim/v2/Users", "application/scim+json",
			fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob-%d"}`, round))
		c3, b3 := do("POST", "/cis/v1/users", "application/json", fmt.Sprintf(`{"email":"carl-%d@example.com"}`, round))
		for _, c := range []struct {
			code int
			body string
		}{{c1, b1}, {c2, b2}, {c3, b3}} {
			if c.code != 200 && c.code != 201 && c.code != 503 {
				t.Fatalf("a write on a full disk answered %d: %s", c.code, c.body)
			}
		}
		if c1 == 200 {
			updates, lastTitle = updates+1, title
		}
		acked += btoi(c2 == 201) + btoi(c3 == 201)
		if c1 == 503 && c2 == 503 && c3 == 503 {
			break
		}
	}
	for _, path := range []string{"/cis/v1/manage/users/" + id, "/scim/v2/Users/" + id} {
		if code, body := do("DELETE", path, "", ""); code != 503 {
			t.Errorf("DELETE %s on a full disk: %d %s; want 503 with Retry-After", path, code, body)
		}
	}

	// Reads still work and show exactly the acknowledged state and its trail.
	code, got := call(t, "GET", base+"/cis/v1/users/"+id, token, "", "")
	if code != 200 {
		t.Fatalf("GET after the refused writes: %d %v", code, got)
	}
	code, scimGot := call(t, "GET", base+"/scim/v2/Users/"+id, token, "", "")
	if title, _ := scimGot["title"].(string); code != 200 || title != lastTitle {
		t.Errorf("title = %q, want %q (the last acknowledged write)", title, lastTitle)
	}
	code, events := call(t, "GET", base+"/cis/v1/manage/audit-events?action=createUser", token, "", "")
	if code != 200 || events["total_count"] != float64(1+acked) {
		t.Errorf("createUser events: %d, total %v; want one for each of the %d acknowledged creates", code, events["total_count"], 1+acked)
	}
	code, events = call(t, "GET", base+"/cis/v1/manage/audit-events?target_id="+id, token, "", "")
	if code != 200 || events["total_count"] != float64(1+updates) {
		t.Errorf("events of the user: %d, total %v; want its creation and %d acknowledged updates", code, events["total_count"], updates)
	}
	code, ready := call(t, "GET", base+"/readyz", "", "", "")
	if code != 503 {
		t.Errorf("/readyz on a full disk: %d %v, want 503", code, ready)
	}
}
