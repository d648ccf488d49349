package portal

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

type tokensData struct {
	Items    []*schemas.APIToken
	Apps     map[string]string // app id → name, for bound tokens
	AppList  []*schemas.App
	Scopes   []directory.Scope
	Default  directory.Scope
	Token    string // shown once, right after creation
	Created  *schemas.APIToken
	SCIMBase string // RFC 7644 base (/scim/v2)
	CISBase  string // Transmit-style base (/cis/scim)
	Now      time.Time
}

func (h *Handler) tokensData(c *call) (*tokensData, error) {
	items, err := h.svc.ListAPITokens(c.r.Context(), c.p)
	if err != nil {
		return nil, err
	}
	apps, err := h.svc.ListApps(c.r.Context(), c.p, schemas.AppRegular)
	if err != nil {
		return nil, err
	}
	d := &tokensData{Items: items, Apps: map[string]string{}, AppList: apps, Scopes: directory.Scopes,
		Default: directory.DefaultAPITokenScopes[0], SCIMBase: h.public + "/scim/v2", CISBase: h.public + "/cis/scim", Now: time.Now()}
	for _, a := range apps {
		d.Apps[a.ID] = a.Name
	}
	return d, nil
}

func (h *Handler) tokens(c *call) {
	d, err := h.tokensData(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "tokens", &view{Title: "Connector tokens", Nav: "settings", Data: d})
}

func (h *Handler) createToken(c *call) {
	f := c.r.PostForm
	d, err := h.tokensData(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	v := &view{Title: "Connector tokens", Nav: "settings", Data: d}
	var expires time.Time
	if s := strings.TrimSpace(f.Get("expires")); s != "" {
		t, perr := time.Parse("2006-01-02", s)
		if perr != nil {
			h.formError(c, "tokens", v, directory.FieldError(directory.KindInvalid, "expires", "the expiry must be a date, such as 2027-01-31"))
			return
		}
		expires = t.Add(24*time.Hour - time.Millisecond) // the end of that day, UTC
	}
	scope := f.Get("scope")
	if !slices.Contains(directory.Scopes, scope) {
		h.formError(c, "tokens", v, directory.FieldError(directory.KindInvalid, "scope", "choose a scope"))
		return
	}
	rec, token, err := h.svc.CreateAPIToken(c.r.Context(), c.p, strings.TrimSpace(f.Get("description")), f.Get("app_id"), []directory.Scope{scope}, expires)
	if err != nil {
		h.formError(c, "tokens", v, err)
		return
	}
	if d, err = h.tokensData(c); err != nil {
		h.fail(c, err)
		return
	}
	d.Token, d.Created = token, rec
	v = &view{Title: "Connector tokens", Nav: "settings", Data: d, FlashKind: "ok", Flash: "Token created."}
	h.render(c, http.StatusCreated, "tokens", v)
}

func (h *Handler) revokeToken(c *call) {
	if err := h.svc.DeleteAPIToken(c.r.Context(), c.p, c.r.PathValue("id")); err != nil {
		h.fail(c, err)
		return
	}
	c.done(h, "/portal/settings/tokens", "Token revoked: it stopped working everywhere.")
}

// auditData is the audit log page.
type auditData struct {
	Actor, Target, Action, Since, Until string
	Pager                               pager
	Items                               []eventRow
	Actions                             []string
}

type eventRow struct {
	*schemas.Event
	Changes []changeRow
}

type changeRow struct{ Field, Prev, Current string }

// changeText renders one side of a change readably: strings as they are,
// everything else as compact JSON, absence as an em dash.
func changeText(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "“”"
		}
		return x
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false) // the template escapes; "&" stays readable
	if err := enc.Encode(v); err != nil {
		return "?"
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

func eventRows(evs []*schemas.Event) []eventRow {
	out := make([]eventRow, len(evs))
	for i, e := range evs {
		out[i].Event = e
		for _, k := range slices.Sorted(mapsKeys(e.Changes)) {
			ch := e.Changes[k]
			out[i].Changes = append(out[i].Changes, changeRow{Field: k, Prev: changeText(ch.Prev), Current: changeText(ch.Current)})
		}
	}
	return out
}

func mapsKeys(m map[string]schemas.Change) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

var auditActions = []string{
	directory.ActionCreateUser, directory.ActionUpdateUser, directory.ActionDeleteUser, directory.ActionSetPassword,
	directory.ActionAssignUserToApp, directory.ActionRemoveUserFromApp, directory.ActionCreateGroup, directory.ActionUpdateGroup,
	directory.ActionDeleteGroup, directory.ActionAddMembers, directory.ActionRemoveMembers, directory.ActionCreateApp,
	directory.ActionUpdateApp, directory.ActionDeleteApp, directory.ActionCreateMgmtApp, directory.ActionUpdateMgmtApp,
	directory.ActionDeleteMgmtApp, directory.ActionRotateSecret, directory.ActionCreateAPIToken, directory.ActionDeleteAPIToken,
	directory.ActionUserLogin, directory.ActionFailedLogin, directory.ActionCreateAdmin, directory.ActionDeleteAdmin,
	directory.ActionAdminPassword, directory.ActionAdminSignIn, directory.ActionAdminSignOut, directory.ActionAdminFailedSignIn,
}

func (h *Handler) audit(c *call) {
	qv := c.r.URL.Query()
	d := &auditData{Actor: strings.TrimSpace(qv.Get("actor")), Target: strings.TrimSpace(qv.Get("target")),
		Action: qv.Get("action"), Since: qv.Get("since"), Until: qv.Get("until"), Actions: auditActions}
	page, per := pageParams(c, 50)
	q := storage.EventQuery{ActorID: d.Actor, TargetID: d.Target, Action: d.Action, Offset: (page - 1) * per, Limit: per}
	v := &view{Title: "Audit log", Nav: "audit", Data: d, Errors: map[string]string{}}
	if d.Since != "" {
		t, err := time.Parse("2006-01-02", d.Since)
		if err != nil {
			v.Errors["since"] = "a date, such as 2026-11-30"
		}
		q.Since = t
	}
	if d.Until != "" {
		t, err := time.Parse("2006-01-02", d.Until)
		if err != nil {
			v.Errors["until"] = "a date, such as 2026-11-30"
		}
		q.Until = t.Add(24 * time.Hour) // through the end of that day
	}
	if len(v.Errors) > 0 {
		d.Pager = newPager(page, per, 0)
		h.render(c, http.StatusBadRequest, "audit", v)
		return
	}
	res, err := h.svc.ListEvents(c.r.Context(), c.p, q)
	if err != nil {
		h.fail(c, err)
		return
	}
	d.Items, d.Pager = eventRows(res.Items), newPager(page, per, res.Total)
	h.render(c, http.StatusOK, "audit", v)
}

type adminsData struct {
	Items []*schemas.Admin
	Me    string
	Min   int
}

func (h *Handler) adminsView(c *call) (*view, error) {
	items, err := h.svc.ListAdmins(c.r.Context(), c.p)
	if err != nil {
		return nil, err
	}
	return &view{Title: "Administrators", Nav: "admins", Data: &adminsData{Items: items, Me: c.p.ActorID, Min: directory.MinAdminPasswordLength}}, nil
}

func (h *Handler) admins(c *call) {
	v, err := h.adminsView(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, "admins", v)
}

func (h *Handler) adminsFormError(c *call, err error) {
	v, verr := h.adminsView(c)
	if verr != nil {
		h.fail(c, verr)
		return
	}
	h.formError(c, "admins", v, err)
}

func (h *Handler) addAdmin(c *call) {
	f := c.r.PostForm
	a, err := h.svc.CreateAdmin(c.r.Context(), c.p, f.Get("email"), f.Get("password"))
	if err != nil {
		h.adminsFormError(c, err)
		return
	}
	c.done(h, "/portal/admins", "Administrator "+a.Email+" added. Give them their password through a safe channel.")
}

func (h *Handler) removeAdmin(c *call) {
	id := c.r.PathValue("id")
	if err := h.svc.DeleteAdmin(c.r.Context(), c.p, id); err != nil {
		h.adminsFormError(c, err)
		return
	}
	if id == c.p.ActorID {
		h.clearSession(c.w, c.r)
		h.setFlash(c.w, c.r, "info", "Your administrator account was removed.")
		http.Redirect(c.w, c.r, "/portal/signin", http.StatusSeeOther)
		return
	}
	c.done(h, "/portal/admins", "Administrator removed; their sessions ended.")
}

func (h *Handler) changePassword(c *call) {
	f := c.r.PostForm
	if f.Get("new") != f.Get("confirm") {
		h.adminsFormError(c, directory.FieldError(directory.KindInvalid, "confirm", "the two new passwords differ"))
		return
	}
	if err := h.svc.ChangeAdminPassword(c.r.Context(), c.p, f.Get("current"), f.Get("new"), c.token); err != nil {
		if directory.KindOf(err) == directory.KindInvalid && directory.KindOf(err) != directory.KindConflict {
			var field string
			if de, ok := err.(*directory.Error); ok && de.Field == "password" {
				field = "new"
				err = directory.FieldError(directory.KindInvalid, field, "%s", de.Msg)
			}
		}
		h.adminsFormError(c, err)
		return
	}
	c.done(h, "/portal/admins", "Password changed. Your other sessions were signed out.")
}
