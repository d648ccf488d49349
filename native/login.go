package native

import (
	"net/http"

	"github.com/scimd/scimd/directory"
)

// loginBody reads {client_id, username | email, password[, new_password]}.
func (h *Handler) loginBody(r *http.Request, replace bool) (clientID string, name directory.LoginName, password, newPassword string, err error) {
	body, err := h.object(r)
	if err != nil {
		return
	}
	f := fields(body)
	allowed := []string{"client_id", "username", "email", "password"}
	if replace {
		allowed = append(allowed, "new_password")
	}
	if err = f.only(allowed...); err != nil {
		return
	}
	if clientID, err = f.required("client_id"); err != nil {
		return
	}
	username, err := f.str("username")
	if err != nil {
		return
	}
	email, err := f.str("email")
	if err != nil {
		return
	}
	switch {
	case username != "" && email != "":
		err = badRequest("send either username or email, not both")
		return
	case username == "" && email == "":
		err = badRequest("username or email is required")
		return
	}
	if name = directory.Username(username); email != "" {
		name = directory.Email(email)
	}
	if password, err = f.required("password"); err != nil {
		return
	}
	if replace {
		newPassword, err = f.required("new_password")
	}
	return
}

// passwordLogin serves POST /cis/v1/auth/password/login: an end user logs in
// through a regular application and receives a user access token. A temporary
// password is refused (403, "error": "temporary_password") until it is replaced.
func (h *Handler) passwordLogin(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	clientID, id, pw, _, err := h.loginBody(r, false)
	if err != nil {
		return err
	}
	tok, _, err := h.svc.PasswordLogin(r.Context(), p.Client, clientID, id, pw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenResponse(tok))
	return nil
}

// replacePassword serves POST /cis/v1/auth/password/replace: replaces a
// temporary (or expired) password, proving the current one, and logs in.
func (h *Handler) replacePassword(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	clientID, id, pw, newPW, err := h.loginBody(r, true)
	if err != nil {
		return err
	}
	tok, _, err := h.svc.ReplaceTemporaryPassword(r.Context(), p.Client, clientID, id, pw, newPW)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenResponse(tok))
	return nil
}
