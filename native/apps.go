package native

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

const (
	regular    = schemas.AppRegular
	management = schemas.AppManagement
)

// appFields are the application fields scimd stores. ignoredAppFields are
// fields of Transmit's create/update bodies that scimd accepts (so that
// Transmit clients keep working) but does not implement; anything else is a 400.
var (
	appFields        = []string{"app_name", "app_description", "login_uri", "redirect_uris", "allow_public_signup"}
	ignoredAppFields = []string{
		"client_display_name", "client_description", "logo", "service_providers", "authenticator_preferences",
		"invite_member_uri", "invite_client_id", "subdomain", "invite_member_email_expiration_minutes",
		"custom_domain", "pkce", "first_client_authentication_protocol", "first_client", "client_type",
		"resources", "device_authorization", "ciba_authorization", "client_auth_method",
	}
)

// isoTime renders a time as RFC 3339 with milliseconds, in UTC.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// putTime sets m[key] to isoTime(t) unless t is zero: an absent time is
// omitted, never null (the OpenAPI document has no nullable fields).
func putTime(m map[string]any, key string, t time.Time) {
	if !t.IsZero() {
		m[key] = isoTime(t)
	}
}

// appObject is the native App object (Transmit's ApiApp, the fields scimd has).
func (h *Handler) appObject(a *schemas.App) map[string]any {
	m := directory.AppView(a)
	m["tenant_id"], m["created_at"], m["updated_at"] = h.svc.TenantID(), isoTime(a.Created), isoTime(a.Updated)
	return m
}

// mergeApp applies the sent fields of an application body to a; fields not
// sent keep their value, arrays are replaced whole.
func mergeApp(a *schemas.App, body map[string]any) error {
	f := fields(body)
	if err := f.only(append(append([]string{}, appFields...), ignoredAppFields...)...); err != nil {
		return err
	}
	for _, name := range []string{"app_name", "app_description", "login_uri"} {
		if _, ok := body[name]; !ok {
			continue
		}
		s, err := f.str(name)
		if err != nil {
			return err
		}
		switch name {
		case "app_name":
			a.Name = s
		case "app_description":
			a.Description = s
		case "login_uri":
			a.LoginURI = s
		}
	}
	if hasKey(body, "redirect_uris") {
		uris, _, err := f.strings("redirect_uris")
		if err != nil {
			return err
		}
		a.RedirectURIs = uris
	}
	if _, ok := body["allow_public_signup"]; ok {
		b, err := f.boolean("allow_public_signup", false)
		if err != nil {
			return err
		}
		a.AllowPublicSignup = b
	}
	return nil
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// appBody reads the JSON object of a create or update of an application of
// kind: management applications have no redirect_uris or allow_public_signup.
func (h *Handler) appBody(r *http.Request, kind string) (map[string]any, error) {
	body, err := h.object(r)
	if err != nil {
		return nil, err
	}
	if kind == management && (hasKey(body, "redirect_uris") || hasKey(body, "allow_public_signup")) {
		return nil, badRequest("management applications have no redirect_uris or allow_public_signup")
	}
	return body, nil
}

func (h *Handler) createApp(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
		body, err := h.appBody(r, kind)
		if err != nil {
			return err
		}
		a := &schemas.App{}
		if err := mergeApp(a, body); err != nil {
			return err
		}
		created, secret, err := h.svc.CreateApp(r.Context(), p, kind, a)
		if err != nil {
			return err
		}
		m := h.appObject(created)
		m["client_secret"] = secret
		return result(w, http.StatusCreated, m)
	}
}

func (h *Handler) listApps(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
		apps, err := h.svc.ListApps(r.Context(), p, kind)
		if err != nil {
			return err
		}
		out := make([]map[string]any, len(apps))
		for i, a := range apps {
			out[i] = h.appObject(a)
		}
		return result(w, http.StatusOK, out)
	}
}

// appsList serves GET /applications/list: the short form of every app.
func (h *Handler) appsList(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	apps, err := h.svc.ListApps(r.Context(), p, regular)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(apps))
	for i, a := range apps {
		out[i] = map[string]any{"app_id": a.ID, "tenant_id": h.svc.TenantID(), "app_name": a.Name,
			"app_description": a.Description, "login_uri": a.LoginURI}
	}
	return result(w, http.StatusOK, out)
}

func (h *Handler) getApp(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
		a, err := h.svc.GetApp(r.Context(), p, kind, mux.Vars(r)["app_id"])
		if err != nil {
			return err
		}
		return result(w, http.StatusOK, h.appObject(a))
	}
}

func (h *Handler) updateApp(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
		body, err := h.appBody(r, kind)
		if err != nil {
			return err
		}
		a, err := h.svc.UpdateApp(r.Context(), p, kind, mux.Vars(r)["app_id"], func(a *schemas.App) error {
			return mergeApp(a, schemas.CloneJSONObject(body))
		})
		if err != nil {
			return err
		}
		return result(w, http.StatusOK, h.appObject(a))
	}
}

func (h *Handler) deleteApp(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
		if err := h.svc.DeleteApp(r.Context(), p, kind, mux.Vars(r)["app_id"]); err != nil {
			return err
		}
		return noContent(w, http.StatusNoContent)
	}
}

// rotateSecret serves POST …/{app_id}/client-secret: a new client secret,
// shown once; the previous one stops working at once.
func (h *Handler) rotateSecret(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
		a, secret, err := h.svc.RotateSecret(r.Context(), p, kind, mux.Vars(r)["app_id"])
		if err != nil {
			return err
		}
		return result(w, http.StatusOK, map[string]any{"app_id": a.ID, "client_id": a.ClientID, "client_secret": secret})
	}
}
