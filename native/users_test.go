package native

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestUserLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{
		"email": "ann@example.org", "phone_number": "+12125550100", "username": "ann",
		"external_user_id": "crm-1", "secondary_emails": []string{"ann@home.example.org"},
		"name":        map[string]any{"first_name": "Ann", "last_name": "Lee"},
		"custom_data": map[string]any{"tier": "gold"}, "custom_app_data": map[string]any{"branch": "NY"},
		"external_account_id": "acct-9",
	}).want(t, http.StatusCreated)
	u := r.result()
	id, _ := u["user_id"].(string)
	if id == "" || u["status"] != "Pending" || u["created_at"] == nil || u["updated_at"] == nil {
		t.Fatalf("created %s", r.raw)
	}
	if _, isNum := u["created_at"].(float64); !isNum {
		t.Fatalf("created_at must be epoch ms: %v", u["created_at"])
	}
	if u["app_name"] != "Shop A" || u["external_account_id"] != "acct-9" {
		t.Fatalf("app-level fields of the calling app: %s", r.raw)
	}
	// Reads by id and by every identifier.
	for _, path := range []string{
		"/cis/v1/users/" + id, "/cis/v1/users/email/" + esc("ANN@example.org"), "/cis/v1/users/username/ann",
		"/cis/v1/users/external-user-id/crm-1", "/cis/v1/users/phone-number/" + esc("+12125550100"),
		"/cis/v1/users/phone/" + esc("+12125550100"),
	} {
		got := e.call("GET", path, e.tokA, nil).want(t, 200).result()
		if got["user_id"] != id {
			t.Fatalf("%s: %v", path, got)
		}
	}
	e.call("GET", "/cis/v1/users/nope", e.tokA, nil).wantError(t, 404)
	e.call("GET", "/cis/v1/users/email/"+esc("ann@home.example.org"), e.tokA, nil).wantError(t, 404) // secondary is not the primary
	e.call("GET", "/cis/v1/users/username/nobody", e.admin, nil).wantError(t, 404)

	// Identifiers are unique: 409 naming the one taken.
	for field, body := range map[string]map[string]any{
		"email":    {"email": "Ann@Example.org"},
		"username": {"email": "x1@example.org", "username": "ANN"},
		"phone":    {"phone_number": "+12125550100"},
		"external": {"email": "x2@example.org", "external_user_id": "crm-1"},
	} {
		c := e.call("POST", "/cis/v1/users", e.admin, body).wantError(t, 409)
		if !strings.Contains(strings.ToLower(c.body["message"].(string)), map[string]string{"email": "email", "username": "username", "phone": "phone", "external": "external"}[field]) {
			t.Errorf("%s: conflict message %q does not name the field", field, c.body["message"])
		}
	}
	// Validation.
	for _, body := range []map[string]any{
		{"email": "not-an-email"}, {"phone_number": "12125550100"}, {"email": "v@example.org", "bogus": 1},
		{"email": "v@example.org", "name": map[string]any{"first_name": strings.Repeat("x", 31)}},
		{"email": "v@example.org", "custom_data": "not an object"},
		{"email": "v@example.org", "credentials": map[string]any{"force_replace": true}},
		{},
	} {
		e.call("POST", "/cis/v1/users", e.tokA, body).wantError(t, 400)
	}

	// Update merges: only sent fields change.
	up := e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"status": "Disabled", "language": "fr"}).want(t, 200).result()
	if up["status"] != "Disabled" || up["email"].(map[string]any)["value"] != "ann@example.org" {
		t.Fatalf("update %v", up)
	}
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"status": "Sleeping"}).wantError(t, 400)
	e.call("PUT", "/cis/v1/users/"+id, e.tokA, map[string]any{"user_id": "hijack"}).wantError(t, 400)
	e.call("PUT", "/cis/v1/users/nope", e.tokA, map[string]any{"language": "fr"}).wantError(t, 404)

	// Count and list.
	cnt := e.call("GET", "/cis/v1/users/count", e.tokA, nil).want(t, 200).result()
	if cnt["user_count"] != float64(2) { // ann + the env's end user
		t.Fatalf("count %v", cnt)
	}
	// Remove from app: the app no longer sees the user; the tenant keeps it.
	e.call("DELETE", "/cis/v1/users/"+id+"/apps", e.tokA, nil).want(t, 204)
	e.call("GET", "/cis/v1/users/"+id, e.tokA, nil).wantError(t, 404)
	e.call("DELETE", "/cis/v1/users/"+id+"/apps", e.tokA, nil).wantError(t, 404)
	e.call("GET", "/cis/v1/users/"+id, e.admin, nil).want(t, 200)
	// Admin delete.
	e.call("DELETE", "/cis/v1/manage/users/"+id, e.tokA, nil).wantError(t, 403)
	e.call("DELETE", "/cis/v1/manage/users/"+id, e.admin, nil).want(t, 204)
	e.call("DELETE", "/cis/v1/manage/users/"+id, e.admin, nil).wantError(t, 404)
	e.call("GET", "/cis/v1/users/"+id, e.admin, nil).wantError(t, 404)
}

func TestSearchPagingAndSort(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.call("POST", "/cis/v1/users", e.tokA, map[string]any{
			"email": fmt.Sprintf("s%d@search.example.org", i), "phone_number": fmt.Sprintf("+4930000000%d", i),
			"name": map[string]any{"first_name": fmt.Sprintf("Name%d", i)}, "custom_data": map[string]any{"n": i},
		}).want(t, 201)
	}
	list := func(q url.Values) response {
		return e.call("GET", "/cis/v1/users?"+q.Encode(), e.tokA, nil).want(t, 200)
	}
	r := list(url.Values{"search": {`email sw "s"`}, "page_limit": {"2"}, "page_offset": {"1"}, "sort_field": {"email"}, "sort_order": {"desc"}})
	items := r.list()
	pi := r.body["page_info"].(map[string]any)
	if r.body["total_count"] != float64(5) || len(items) != 2 || pi["has_next_page"] != true || pi["has_previous_page"] != true {
		t.Fatalf("page %s", r.raw)
	}
	if items[0]["email"].(map[string]any)["value"] != "s3@search.example.org" {
		t.Fatalf("sort desc by email: %v", items[0]["email"])
	}
	r = list(url.Values{"search": {`(email sw "s")and(custom_data.n ge 3)`}})
	if r.body["total_count"] != float64(2) {
		t.Fatalf("custom_data search %s", r.raw)
	}
	r = list(url.Values{"search_prefix": {"+49300000003"}})
	if r.body["total_count"] != float64(1) {
		t.Fatalf("phone prefix %s", r.raw)
	}
	r = list(url.Values{"search_prefix": {"s4@"}})
	if r.body["total_count"] != float64(1) {
		t.Fatalf("email prefix %s", r.raw)
	}
	// The prefix is data, never filter syntax.
	r = list(url.Values{"search_prefix": {`" or email pr or email eq "`}})
	if r.body["total_count"] != float64(0) {
		t.Fatalf("prefix injection %s", r.raw)
	}
	r = list(url.Values{"search": {`name.first_name eq "name2"`}})
	if r.body["total_count"] != float64(1) {
		t.Fatalf("case-insensitive search %s", r.raw)
	}
	cnt := e.call("GET", "/cis/v1/users/count?search="+url.QueryEscape(`email sw "s1@"`), e.tokA, nil).want(t, 200).result()
	if cnt["user_count"] != float64(1) {
		t.Fatalf("count %v", cnt)
	}
	r = list(url.Values{})
	if len(r.list()) != 6 || r.body["page_info"].(map[string]any)["has_next_page"] != false {
		t.Fatalf("default list %s", r.raw)
	}
	for _, q := range []url.Values{
		{"search": {`email eq`}}, {"search": {`nosuch eq "x"`}}, {"page_limit": {"10001"}}, {"page_limit": {"-1"}},
		{"page_offset": {"x"}}, {"sort_order": {"up"}}, {"sort_field": {"nosuch"}}, {"search": {`custom_app_data.x eq "1"`}},
	} {
		if q.Has("search") && strings.HasPrefix(q.Get("search"), "custom_app_data") {
			// Admins have no calling app: app-level fields are not searchable for them.
			e.call("GET", "/cis/v1/users?"+q.Encode(), e.admin, nil).wantError(t, 400)
			continue
		}
		e.call("GET", "/cis/v1/users?"+q.Encode(), e.tokA, nil).wantError(t, 400)
	}
	e.call("GET", "/cis/v1/users?page_limit=10000", e.tokA, nil).want(t, 200)
	e.call("GET", "/cis/v1/users/count?search="+url.QueryEscape(`((`), e.tokA, nil).wantError(t, 400)
}

func TestPasswordsAndContacts(t *testing.T) {
	e := newEnv(t)
	u := e.seedUser(e.pA, uniq("pat"), true)
	base := "/cis/v1/users/" + u.ID
	e.call("POST", base+"/password", e.tokA, map[string]any{"password": "short"}).wantError(t, 400)
	r := e.call("POST", base+"/password", e.tokA, map[string]any{"password": "first-password-1", "username": uniq("patlogin")}).want(t, 201)
	if r.result()["message"] == "" {
		t.Fatalf("%s", r.raw)
	}
	e.call("POST", base+"/password", e.tokA, map[string]any{"password": "first-password-1"}).wantError(t, 409)
	e.call("POST", base+"/password", e.tokA, map[string]any{"pass": "x"}).wantError(t, 400)
	e.call("PUT", base+"/password", e.tokA, map[string]any{"password": "second-password-2", "force_replace": false}).want(t, 200)
	e.call("PUT", "/cis/v1/users/nope/password", e.tokA, map[string]any{"password": "second-password-2"}).wantError(t, 404)
	e.call("POST", "/cis/v1/users/nope/password", e.tokA, map[string]any{"password": "second-password-2"}).wantError(t, 404)
	// The new password logs in (not temporary: force_replace false).
	e.call("POST", "/cis/v1/auth/password/login", "", map[string]any{"client_id": e.appA.ClientID, "email": u.Emails[0].Value, "password": "second-password-2"}).want(t, 200)

	second, phone2 := u.Emails[1].Value, u.PhoneNumbers[1].Value
	// Verify a secondary email and make it primary.
	e.call("POST", base+"/emails/"+esc(second)+"/verify", e.tokA, map[string]any{"change_to_primary": true}).want(t, 202)
	got := e.call("GET", base, e.tokA, nil).want(t, 200).result()
	if em := got["email"].(map[string]any); em["value"] != second || em["email_verified"] != true {
		t.Fatalf("after verify: %v", got["email"])
	}
	e.call("POST", base+"/emails/"+esc("nope@example.org")+"/verify", e.tokA, map[string]any{}).wantError(t, 404)
	e.call("POST", base+"/emails/"+esc(second)+"/verify", e.tokA, map[string]any{"change_to_primary": "yes"}).wantError(t, 400)
	// Remove the (now secondary) old primary; the primary cannot be removed this way.
	e.call("DELETE", base+"/emails/"+esc(u.Emails[0].Value), e.tokA, nil).want(t, 204)
	e.call("DELETE", base+"/emails/"+esc(u.Emails[0].Value), e.tokA, nil).wantError(t, 404)
	e.call("DELETE", base+"/emails/"+esc(second), e.tokA, nil).wantError(t, 400)
	// Phones: verify without promotion (empty body), then remove the secondary.
	e.call("POST", base+"/phone-numbers/"+esc(phone2)+"/verify", e.tokA, nil).want(t, 202)
	e.call("DELETE", base+"/phone-numbers/"+esc(u.PhoneNumbers[0].Value), e.tokA, nil).wantError(t, 400)
	e.call("DELETE", base+"/phone-numbers/"+esc(phone2), e.tokA, nil).want(t, 204)
	e.call("DELETE", base+"/phone-numbers/"+esc(phone2), e.tokA, nil).wantError(t, 404)
	e.call("POST", base+"/phone-numbers/"+esc("+15550000000")+"/verify", e.tokA, nil).wantError(t, 404)
}

func TestBulkCreate(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/cis/v1/users/bulk", e.tokA, []any{
		map[string]any{"email": "b1@example.org"},
		map[string]any{"email": "b1@example.org"},
		map[string]any{"email": "bad"},
		"not an object",
		map[string]any{"email": "b2@example.org", "credentials": map[string]any{"password": "bulk-password-1"}},
	}).want(t, 201)
	res := r.result()
	if res["total_count"] != float64(5) || res["created_count"] != float64(2) || res["failed_count"] != float64(3) {
		t.Fatalf("bulk %s", r.raw)
	}
	results := res["results"].([]any)
	for i, want := range []float64{201, 409, 400, 400, 201} {
		if got := results[i].(map[string]any)["status"]; got != want {
			t.Errorf("element %d: status %v, want %v", i, got, want)
		}
	}
	e.call("POST", "/cis/v1/users/bulk", e.tokA, map[string]any{"email": "x@example.org"}).wantError(t, 400)
	e.call("POST", "/cis/v1/users/bulk", e.tokA, []any{}).wantError(t, 400)
	many := make([]any, 1001)
	for i := range many {
		many[i] = map[string]any{"email": fmt.Sprintf("m%d@example.org", i)}
	}
	e.call("POST", "/cis/v1/users/bulk", e.tokA, many).wantError(t, 400)
	if cnt := e.call("GET", "/cis/v1/users/count", e.tokA, nil).result()["user_count"]; cnt != float64(3) {
		t.Fatalf("count after bulk %v", cnt)
	}
}
