package native

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// projection returns the native projection options of p: app callers see and
// write the app-level fields of their own application.
func (h *Handler) projection(ctx context.Context, p directory.Principal) (nativeOptions, error) {
	if p.AppID == "" {
		return nativeOptions{Now: h.svc.Now()}, nil
	}
	app, err := h.svc.GetApp(ctx, p, schemas.AppRegular, p.AppID)
	if err != nil {
		return nativeOptions{}, err
	}
	return nativeOptions{AppID: app.ID, AppName: app.Name, Now: h.svc.Now()}, nil
}

// writeUser answers with {"result": User}.
func (h *Handler) writeUser(w http.ResponseWriter, r *http.Request, p directory.Principal, status int, u *schemas.User) error {
	o, err := h.projection(r.Context(), p)
	if err != nil {
		return err
	}
	return result(w, status, projectUser(u, o))
}

// credentials pulls the create-time `credentials` object out of a user body:
// {password or hashed_password (one is required), force_replace (default
// true: a temporary password)}. hashed_password is a hash made by another
// system in a format directory.ParseHash accepts (bcrypt, scrypt,
// PBKDF2-SHA256, {SSHA256}, argon2id), re-hashed at the first login.
func credentials(body map[string]any) (*directory.PasswordInput, error) {
	raw, ok := body["credentials"]
	delete(body, "credentials")
	if !ok || raw == nil {
		return nil, nil
	}
	m, isObj := raw.(map[string]any)
	if !isObj {
		return nil, badRequest("credentials must be an object")
	}
	f := fields(m)
	if err := f.only("password", "hashed_password", "force_replace"); err != nil {
		return nil, err
	}
	pw, err := f.str("password")
	if err != nil {
		return nil, err
	}
	hash, err := f.str("hashed_password")
	if err != nil {
		return nil, err
	}
	if (pw == "") == (hash == "") {
		return nil, badRequest("credentials needs password or hashed_password (one of them)")
	}
	temp, err := f.boolean("force_replace", true)
	if err != nil {
		return nil, err
	}
	return &directory.PasswordInput{Password: pw, Hash: hash, Temporary: temp}, nil
}

// newUser builds a user from a createUser body. Transmit's createUser needs
// an email or a phone number (a username alone is not enough); SCIM creates
// keep SCIM's own rule (userName).
func newUser(body map[string]any, o nativeOptions) (*schemas.User, *directory.PasswordInput, error) {
	body = schemas.CloneJSONObject(body)
	pw, err := credentials(body)
	if err != nil {
		return nil, nil, err
	}
	if body["email"] == nil && body["phone_number"] == nil {
		return nil, nil, badRequest("an email or a phone_number is required")
	}
	u := &schemas.User{}
	if err := mergeUser(u, body, o, true); err != nil {
		return nil, nil, err
	}
	return u, pw, nil
}

// userBody reads the JSON object of a create or update of a user, with the
// caller's projection of the native view.
func (h *Handler) userBody(r *http.Request, p directory.Principal) (map[string]any, nativeOptions, error) {
	body, err := h.object(r)
	if err != nil {
		return nil, nativeOptions{}, err
	}
	o, err := h.projection(r.Context(), p)
	return body, o, err
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	body, o, err := h.userBody(r, p)
	if err != nil {
		return err
	}
	u, pw, err := newUser(body, o)
	if err != nil {
		return err
	}
	created, err := h.svc.CreateUser(r.Context(), p, u, pw)
	if err != nil {
		return err
	}
	return result(w, http.StatusCreated, projectUser(created, o))
}

func (h *Handler) bulkCreateUsers(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	var v any
	if err := h.decode(r, &v); err != nil {
		return err
	}
	arr, ok := v.([]any)
	if !ok {
		return badRequest("the request body must be a JSON array of users")
	}
	o, err := h.projection(r.Context(), p)
	if err != nil {
		return err
	}
	items := make([]directory.BulkUser, len(arr))
	for i, e := range arr {
		body, isObj := e.(map[string]any)
		if !isObj {
			items[i].Err = badRequest("element %d is not a JSON object", i)
			continue
		}
		items[i].User, items[i].Password, items[i].Err = newUser(body, o)
	}
	res, err := h.svc.BulkCreateUsers(r.Context(), p, items)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(res))
	failed := 0
	for i, br := range res {
		if br.Err != nil {
			failed++
			status, msg := h.classify(r, br.Err)
			out[i] = map[string]any{"index": br.Index, "status": status, "error": map[string]any{"message": msg, "error_code": status}}
			continue
		}
		out[i] = map[string]any{"index": br.Index, "status": http.StatusCreated, "user": projectUser(br.User, o)}
	}
	return result(w, http.StatusCreated, map[string]any{
		"total_count": len(res), "created_count": len(res) - failed, "failed_count": failed, "results": out,
	})
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	u, err := h.svc.GetUser(r.Context(), p, mux.Vars(r)["user_id"])
	if err != nil {
		return err
	}
	return h.writeUser(w, r, p, http.StatusOK, u)
}

// findUser serves the get-by-identifier endpoints; param is the route variable
// and the native name of the unique field.
func (h *Handler) findUser(param string) handlerFunc {
	field := map[string]string{
		"email": storage.FieldEmail, "external_user_id": storage.FieldExternalID,
		"username": storage.FieldUserName, "phone_number": storage.FieldPhoneNumber,
	}[param]
	return func(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
		u, err := h.svc.FindUser(r.Context(), p, field, mux.Vars(r)[param])
		if err != nil {
			return err
		}
		return h.writeUser(w, r, p, http.StatusOK, u)
	}
}

// identifierFields are the identifier_name values of GET
// /cis/v1/users/identifier and the unique field each one looks up; user_id
// is the id itself.
var identifierFields = map[string]string{
	"email": storage.FieldEmail, "phone_number": storage.FieldPhoneNumber,
	"username": storage.FieldUserName, "external_user_id": storage.FieldExternalID, "user_id": "",
}

// userByIdentifier serves GET /cis/v1/users/identifier?identifier_name=&identifier_value=:
// the user whose identifier of that name (primary email, primary phone
// number, username, external_user_id or user_id) has the value. Only the
// field named is looked at.
func (h *Handler) userByIdentifier(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	q := r.URL.Query()
	name, value := q.Get("identifier_name"), q.Get("identifier_value")
	field, known := identifierFields[name]
	switch {
	case name == "" || value == "":
		return badRequest("identifier_name and identifier_value are both required")
	case !known:
		return badRequest("identifier_name must be one of email, phone_number, username, external_user_id, user_id")
	}
	var u *schemas.User
	var err error
	if name == "user_id" {
		u, err = h.svc.GetUser(r.Context(), p, value)
	} else {
		u, err = h.svc.FindUser(r.Context(), p, field, value)
	}
	if err != nil {
		return err
	}
	return h.writeUser(w, r, p, http.StatusOK, u)
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	body, o, err := h.userBody(r, p)
	if err != nil {
		return err
	}
	u, err := h.svc.UpdateUser(r.Context(), p, mux.Vars(r)["user_id"], 0, directory.UserChange{
		Apply: func(u *schemas.User) error { return mergeUser(u, schemas.CloneJSONObject(body), o, false) },
	})
	if err != nil {
		return err
	}
	return result(w, http.StatusOK, projectUser(u, o))
}

func (h *Handler) userGroups(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	gs, err := h.svc.UserGroups(r.Context(), p, mux.Vars(r)["user_id"])
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(gs))
	for i, g := range gs {
		out[i] = projectGrp(g)
	}
	return result(w, http.StatusOK, out)
}

// userApps serves GET /cis/v1/users/{user_id}/apps: the applications the
// user is assigned to ({app_id, app_name, assigned_at, last_login?}); an
// application's token sees only its own entry.
func (h *Handler) userApps(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	as, err := h.svc.UserApps(r.Context(), p, mux.Vars(r)["user_id"])
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(as))
	for i, a := range as {
		m := map[string]any{"app_id": a.App.ID, "app_name": a.App.Name}
		putTime(m, "assigned_at", a.Link.AssignedAt)
		putTime(m, "last_login", a.Link.LastLogin)
		out[i] = m
	}
	return result(w, http.StatusOK, out)
}

// unassignUserFromApp serves DELETE /cis/v1/users/{user_id}/apps/{app_id}
// (scimd addition): an administrator removes the user from a named application.
func (h *Handler) unassignUserFromApp(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	v := mux.Vars(r)
	if err := h.svc.UnassignUserFromApp(r.Context(), p, v["user_id"], v["app_id"]); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}

func (h *Handler) removeUserFromApp(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	if err := h.svc.RemoveUserFromApp(r.Context(), p, mux.Vars(r)["user_id"]); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}

func (h *Handler) assignUserToApp(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	v := mux.Vars(r)
	if err := h.svc.AssignUserToApp(r.Context(), p, v["user_id"], v["app_id"]); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	if err := h.svc.DeleteUser(r.Context(), p, mux.Vars(r)["user_id"]); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}
