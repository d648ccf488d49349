package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/schemas"
)

func (h *Handler) routes() {
	m := h.mux
	m.Handle("GET /portal/static/", h.static)
	m.HandleFunc("GET /portal/signin", h.signinPage)
	m.HandleFunc("POST /portal/signin", h.signin)
	m.HandleFunc("POST /portal/signout", h.authed(h.signout))
	m.HandleFunc("GET /portal/{$}", h.authed(func(c *call) { http.Redirect(c.w, c.r, "/portal/users", http.StatusSeeOther) }))

	// Each kind of record has a list (GET), a create form (POST), a detail
	// page (GET …/{id}) and the detail page's forms (POST …/{id}/{action}).
	regular := &appPages{h: h, kind: schemas.AppRegular, Base: "/portal/apps", Nav: "apps", Noun: "application", Plural: "Applications"}
	mgmt := &appPages{h: h, kind: schemas.AppManagement, Base: "/portal/settings/management-apps", Nav: "settings", Noun: "management app", Plural: "Management apps"}
	for _, r := range []struct {
		base                         string
		list, create, detail, action func(*call)
	}{
		{"/portal/users", h.users, h.createUser, h.user, h.userAction},
		{"/portal/groups", h.groups, h.createGroup, h.group, h.groupAction},
		{regular.Base, regular.list, regular.create, regular.detail, regular.action},
		{mgmt.Base, mgmt.list, mgmt.create, mgmt.detail, mgmt.action},
	} {
		m.HandleFunc("GET "+r.base, h.authed(r.list))
		m.HandleFunc("POST "+r.base, h.authed(r.create))
		m.HandleFunc("GET "+r.base+"/{id}", h.authed(r.detail))
		m.HandleFunc("POST "+r.base+"/{id}/{action}", h.authed(r.action))
	}
	m.HandleFunc("GET /portal/settings", h.authed(func(c *call) {
		http.Redirect(c.w, c.r, "/portal/settings/management-apps", http.StatusSeeOther)
	}))
	m.HandleFunc("GET /portal/settings/tokens", h.authed(h.tokens))
	m.HandleFunc("POST /portal/settings/tokens", h.authed(h.createToken))
	m.HandleFunc("POST /portal/settings/tokens/{id}/revoke", h.authed(h.revokeToken))

	m.HandleFunc("GET /portal/audit", h.authed(h.audit))

	m.HandleFunc("GET /portal/admins", h.authed(h.admins))
	m.HandleFunc("POST /portal/admins", h.authed(h.addAdmin))
	m.HandleFunc("POST /portal/admins/{id}/remove", h.authed(h.removeAdmin))
	m.HandleFunc("POST /portal/account/password", h.authed(h.changePassword))

	m.HandleFunc("/portal/", h.authed(func(c *call) { h.errorPage(c, http.StatusNotFound, "There is no such page.") }))
}

// signinPage shows the sign-in form (or goes on when already signed in).
func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if _, err := h.svc.Session(r.Context(), ck.Value, httpx.ClientIP(r), r.UserAgent()); err == nil {
			http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
	}
	h.write(w, r, http.StatusOK, "signin", &view{Title: "Sign in", Data: r.URL.Query().Get("next")})
}

// safeNext keeps a post-sign-in redirect inside the portal.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/portal/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/portal/users"
	}
	return next
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	httpx.LimitUnauthenticated(w, r)
	if err := r.ParseForm(); err != nil {
		h.write(w, r, http.StatusBadRequest, "signin", &view{Title: "Sign in", Error: "The form could not be read."})
		return
	}
	next := r.PostForm.Get("next")
	if crossSite(r) {
		h.write(w, r, http.StatusForbidden, "signin", &view{Title: "Sign in", Error: "Sign in from the portal's own page.", Data: next})
		return
	}
	token, err := h.svc.SignIn(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("password"), httpx.ClientIP(r), r.UserAgent())
	if err != nil {
		st := status(err)
		if st >= 500 {
			httpx.Fail(h.log, r, st, err)
		}
		if d := directory.RetryAfterOf(err); d > 0 {
			httpx.SetRetryAfter(w.Header(), st, d)
		}
		h.write(w, r, st, "signin", &view{Title: "Sign in", Error: message(err), Form: r.PostForm, Data: next})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/portal/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: h.secure(r)})
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (h *Handler) signout(c *call) {
	if err := h.svc.SignOut(c.r.Context(), c.p, c.token); err != nil {
		h.fail(c, err)
		return
	}
	h.clearSession(c.w, c.r)
	h.setFlash(c.w, c.r, "info", "You are signed out.")
	http.Redirect(c.w, c.r, "/portal/signin", http.StatusSeeOther)
}

// pageParams reads page (1-based) and per (page size) from the query.
func pageParams(c *call, defPer int) (page, per int) {
	q := c.r.URL.Query()
	page, _ = strconv.Atoi(q.Get("page"))
	per, _ = strconv.Atoi(q.Get("per"))
	if page < 1 {
		page = 1
	}
	switch per {
	case 10, 25, 50, 100:
	default:
		per = defPer
	}
	return page, per
}

// pager is the paging state of a list page.
type pager struct {
	Page, Per, Total, Pages, From, To int
	// Capped: the store stopped counting at Total; more match ("more than
	// Total").
	Capped bool
	// Cursors marks a list paged by the store's cursors (the users list):
	// the Next link carries Cursor, the store's position after this page,
	// so that every next page costs what the first does; the Previous link
	// is an offset, offered up to maxPrevOffset.
	Cursors bool
	Cursor  string
}

// maxPrevOffset is the deepest offset a Previous link of a cursor-paged
// list asks for: an offset costs a step per skipped entry in the store.
// Deeper, the pager offers the first page (and the browser's Back).
const maxPrevOffset = 10_000

func newPager(page, per, total int) pager {
	p := pager{Page: page, Per: per, Total: total, Pages: (total + per - 1) / per}
	if total > 0 {
		p.From = (page-1)*per + 1
		p.To = min(page*per, total)
	}
	return p
}

// newCursorPager is the pager of a page of a cursor-paged list: items on
// the page, and the store's count and cursor.
func newCursorPager(page, per, items, total int, capped bool, cursor string) pager {
	p := newPager(page, per, total)
	p.Cursors, p.Capped, p.Cursor = true, capped, cursor
	if items > 0 {
		p.To = p.From + items - 1
	}
	return p
}

// Prev and Next are the neighbouring page numbers (0: none).
func (p pager) Prev() int {
	if p.Page > 1 && (!p.Cursors || (p.Page-2)*p.Per <= maxPrevOffset) {
		return p.Page - 1
	}
	return 0
}

func (p pager) Next() int {
	if p.Cursors && p.Cursor == "" {
		return 0
	}
	if p.Page < p.Pages || p.Cursors {
		return p.Page + 1
	}
	return 0
}

// Shown reports whether the pager has anywhere to go.
func (p pager) Shown() bool { return p.Pages > 1 || p.Capped || p.Page > 1 || p.Next() != 0 }

// valueFieldError turns a schemas.ValueError (from a native-shaped body) into
// a field error of the directory kind the faces use.
func valueFieldError(err error) error {
	var ve *schemas.ValueError
	if !errors.As(err, &ve) {
		return err
	}
	field := ve.Path
	if rest, ok := strings.CutPrefix(field, "name."); ok {
		field = rest
	} else if i := strings.IndexAny(field, ".["); i >= 0 {
		field = field[:i]
	}
	return directory.FieldError(directory.KindInvalid, field, "%s", ve.Error())
}
