package native

import (
	"testing"
)

// After an application removes a user (DELETE /users/{id}/apps), the user's
// token for that application stops working at once.
func TestRemovedUserTokenStops(t *testing.T) {
	e := newEnv(t)
	e.call("GET", "/cis/v1/users/me/device-keys", e.userTok, nil).want(t, 200)
	e.call("DELETE", "/cis/v1/users/"+e.userID+"/apps", e.tokA, nil).want(t, 204)
	e.call("GET", "/cis/v1/users/me/device-keys", e.userTok, nil).wantError(t, 401)
	e.call("POST", "/cis/v1/users/me/password-credentials", e.userTok, map[string]any{"password": "another-pass-3"}).wantError(t, 401)
	e.call("GET", "/cis/v1/users/"+e.userID, e.tokA, nil).wantError(t, 404)
}
