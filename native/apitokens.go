package native

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

// apiTokenObject is the native form of an API token record (never the
// token). app_id, expires_at and last_used_at are omitted when unset.
func apiTokenObject(t *schemas.APIToken) map[string]any {
	m := map[string]any{"token_id": t.ID, "description": t.Description, "scopes": t.Scopes,
		"created_at": isoTime(t.Created), "created_by": t.CreatedBy}
	if t.AppID != "" {
		m["app_id"] = t.AppID
	}
	putTime(m, "expires_at", t.Expires)
	putTime(m, "last_used_at", t.LastUsedAt)
	return m
}

// createAPIToken serves POST /cis/v1/manage/api-tokens
// {description, app_id?, scopes?, expires_at?}: the token is in the response,
// once. Without scopes the token gets directory.DefaultAPITokenScopes.
func (h *Handler) createAPIToken(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	body, err := h.object(r)
	if err != nil {
		return err
	}
	f := fields(body)
	if err := f.only("description", "app_id", "scopes", "expires_at"); err != nil {
		return err
	}
	desc, err := f.str("description")
	if err != nil {
		return err
	}
	appID, err := f.str("app_id")
	if err != nil {
		return err
	}
	scopes, given, err := f.strings("scopes")
	if err != nil {
		return err
	}
	if given && len(scopes) == 0 {
		return badRequest("scopes must name at least one scope (omit it for the default, %q)", directory.DefaultAPITokenScopes)
	}
	exp, err := f.str("expires_at")
	if err != nil {
		return err
	}
	var expires time.Time
	if exp != "" {
		if expires, err = time.Parse(time.RFC3339Nano, exp); err != nil {
			return badRequest("expires_at must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z")
		}
	}
	t, token, err := h.svc.CreateAPIToken(r.Context(), p, desc, appID, scopes, expires)
	if err != nil {
		return err
	}
	m := apiTokenObject(t)
	m["token"] = token
	return result(w, http.StatusCreated, m)
}

func (h *Handler) listAPITokens(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	ts, err := h.svc.ListAPITokens(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(ts))
	for i, t := range ts {
		out[i] = apiTokenObject(t)
	}
	return result(w, http.StatusOK, out)
}

func (h *Handler) deleteAPIToken(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	if err := h.svc.DeleteAPIToken(r.Context(), p, mux.Vars(r)["token_id"]); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}
