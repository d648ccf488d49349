package native

import (
	"net/http"
	"net/url"
	"testing"
)

// TestUserByIdentifier: GET /cis/v1/users/identifier looks a user up by the
// identifier named, and by nothing else.
func TestUserByIdentifier(t *testing.T) {
	e := newEnv(t)
	u := e.seedUser(e.pA, uniq("ident"), true)
	other := e.seedUser(e.pA, uniq("ident"), false)
	get := func(tok, name, value string) response {
		return e.call("GET", "/cis/v1/users/identifier?"+url.Values{"identifier_name": {name}, "identifier_value": {value}}.Encode(), tok, nil)
	}
	for name, value := range map[string]string{
		"email": u.Emails[0].Value, "phone_number": u.PhoneNumbers[0].Value, "username": u.UserName,
		"external_user_id": u.ExternalID, "user_id": u.ID,
	} {
		if got := get(e.tokA, name, value).want(t, http.StatusOK).result(); got["user_id"] != u.ID {
			t.Errorf("%s=%s: %v", name, value, got)
		}
	}
	// Only the field named: the username is not an email, a secondary email
	// is not the primary, another user's external id is not this user's.
	get(e.tokA, "email", u.UserName).wantError(t, http.StatusNotFound)
	get(e.tokA, "email", u.Emails[1].Value).wantError(t, http.StatusNotFound)
	get(e.tokA, "username", u.Emails[0].Value).wantError(t, http.StatusNotFound)
	if got := get(e.admin, "external_user_id", other.ExternalID).want(t, 200).result(); got["user_id"] != other.ID {
		t.Errorf("admin lookup: %v", got)
	}
	// Another application's token does not see the user.
	get(e.tokB, "user_id", u.ID).wantError(t, http.StatusNotFound)
	get(e.tokB, "email", u.Emails[0].Value).wantError(t, http.StatusNotFound)
	// Bad requests.
	get(e.tokA, "nickname", "x").wantError(t, http.StatusBadRequest)
	get(e.tokA, "email", "").wantError(t, http.StatusBadRequest)
	e.call("GET", "/cis/v1/users/identifier", e.tokA, nil).wantError(t, http.StatusBadRequest)
}

// TestNativeCreateNeedsEmailOrPhone: Transmit's rule for createUser (and
// each bulk element); SCIM keeps userName as its requirement.
func TestNativeCreateNeedsEmailOrPhone(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"username": uniq("lonely")}).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"name": map[string]any{"first_name": "No"}}).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"secondary_emails": []string{uniq("s") + "@example.org"}}).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": uniq("e") + "@example.org"}).want(t, http.StatusCreated)
	e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"phone_number": "+15550001111"}).want(t, http.StatusCreated)
	r := e.call("POST", "/cis/v1/users/bulk", e.tokA, []any{map[string]any{"username": uniq("bulk")}, map[string]any{"email": uniq("b") + "@example.org"}}).want(t, http.StatusCreated)
	if res := r.result(); res["failed_count"] != float64(1) || res["created_count"] != float64(1) {
		t.Fatalf("bulk: %s", r.raw)
	}
	if n := e.call("GET", "/cis/v1/users/count?search="+url.QueryEscape(`username pr and email pr`), e.admin, nil).want(t, 200).result()["user_count"]; n == nil {
		t.Fatal("count")
	}
}
