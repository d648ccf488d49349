package native

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/scimd/scimd/directory"
)

// passwordBody reads a password body: password (required), force_replace
// (default true) and, where allowed, username and enforce_complexity.
func (h *Handler) passwordBody(r *http.Request, allowed ...string) (directory.PasswordInput, string, error) {
	body, err := h.object(r)
	if err != nil {
		return directory.PasswordInput{}, "", err
	}
	f := fields(body)
	if err := f.only(append([]string{"password"}, allowed...)...); err != nil {
		return directory.PasswordInput{}, "", err
	}
	pw, err := f.required("password")
	if err != nil {
		return directory.PasswordInput{}, "", err
	}
	temp, err := f.boolean("force_replace", true)
	if err != nil {
		return directory.PasswordInput{}, "", err
	}
	if _, err := f.boolean("enforce_complexity", true); err != nil {
		return directory.PasswordInput{}, "", err
	}
	username, err := f.str("username")
	return directory.PasswordInput{Password: pw, Temporary: temp}, username, err
}

// addPassword serves POST /users/{user_id}/password: a first password,
// temporary unless force_replace is false.
func (h *Handler) addPassword(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	pw, username, err := h.passwordBody(r, "force_replace", "username", "enforce_complexity")
	if err != nil {
		return err
	}
	if err := h.svc.AddPassword(r.Context(), p, mux.Vars(r)["user_id"], pw, username); err != nil {
		return err
	}
	return result(w, http.StatusCreated, map[string]any{"message": "Password registered"})
}

// updatePassword serves PUT /users/{user_id}/password: replaces the password.
func (h *Handler) updatePassword(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	pw, _, err := h.passwordBody(r, "force_replace")
	if err != nil {
		return err
	}
	if err := h.svc.SetPassword(r.Context(), p, mux.Vars(r)["user_id"], pw, false); err != nil {
		return err
	}
	return result(w, http.StatusOK, map[string]any{"message": "Password updated"})
}

// addOwnPassword serves POST /users/me/password-credentials: a logged-in user
// sets a first (permanent) password. Every refusal is a 403, as Transmit documents.
func (h *Handler) addOwnPassword(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	pw, username, err := h.passwordBody(r, "username")
	if err != nil {
		return err
	}
	pw.Temporary = false
	self := p.UserID
	if self == "" {
		self = p.Enrolment // an enrolment token's user
	}
	err = h.svc.AddPassword(r.Context(), p, self, pw, username)
	if directory.KindOf(err) == directory.KindConflict {
		return &httpError{status: http.StatusForbidden, msg: "the user already has a password"}
	}
	if err != nil {
		return err
	}
	return result(w, http.StatusOK, map[string]any{"message": "Password registered"})
}

// ownDeviceKeys serves GET /users/me/device-keys.
func (h *Handler) ownDeviceKeys(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	keys, err := h.svc.DeviceKeys(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(keys))
	for i, k := range keys {
		m := map[string]any{"key_id": k.KeyID, "display_name": k.DisplayName, "status": k.Status}
		if k.CustomData != nil {
			m["custom_data"] = k.CustomData
		}
		putTime(m, "created_at", k.Created)
		putTime(m, "updated_at", k.Updated)
		if k.PushConfig != nil {
			m["push_config"] = map[string]any{"device_token": k.PushConfig.DeviceToken, "type": k.PushConfig.Type}
		}
		out[i] = m
	}
	return result(w, http.StatusOK, out)
}

// issueEnrolmentToken serves POST /cis/v1/users/{user_id}/enrolment-token
// (scimd addition): a short-lived token with which a user who has no password
// sets one at POST /cis/v1/users/me/password-credentials, and nothing else.
func (h *Handler) issueEnrolmentToken(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	t, err := h.svc.IssueEnrolmentToken(r.Context(), p, mux.Vars(r)["user_id"])
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return result(w, http.StatusCreated, tokenResponse(t))
}
