package native

import "testing"

func TestRestartKeepsData(t *testing.T) {
	e := newEnv(t)
	id := e.call("POST", "/cis/v1/users", e.tokA, map[string]any{"email": "keep@example.org", "custom_data": map[string]any{"k": "v"}}).want(t, 201).result()["user_id"].(string)
	gid := e.call("POST", "/cis/v1/groups", e.admin, map[string]any{"name": "Keepers"}).want(t, 201).result()["group_id"].(string)
	e.call("POST", "/cis/v1/groups/"+gid+"/members", e.admin, map[string]any{"user_ids": []string{id}}).want(t, 204)
	e.close()
	e.open()
	// Tokens issued before the restart still verify: the signing keys live in the store.
	u := e.call("GET", "/cis/v1/users/"+id, e.tokA, nil).want(t, 200).result()
	if u["custom_data"].(map[string]any)["k"] != "v" {
		t.Fatalf("after restart %v", u)
	}
	if m := e.call("GET", "/cis/v1/groups/"+gid+"/members", e.admin, nil).want(t, 200).list(); len(m) != 1 {
		t.Fatalf("members after restart %v", m)
	}
	e.clientToken(e.appA.ClientID, e.secA)
	e.call("GET", "/cis/v1/users/me/device-keys", e.userTok, nil).want(t, 200)
}
