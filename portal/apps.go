package portal

import (
	"net/http"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// appPages serves the pages of one kind of application: regular
// applications under /portal/apps, management apps under Settings.
type appPages struct {
	h            *Handler
	kind         string
	Base, Nav    string
	Noun, Plural string
}

type appsData struct {
	A      *appPages
	Items  []*schemas.App
	App    *schemas.App
	Secret string // shown once, right after creation or rotation
	Events []eventRow
}

func (a *appPages) view(title string, d *appsData) *view {
	d.A = a
	return &view{Title: title, Nav: a.Nav, Data: d}
}

func (a *appPages) list(c *call) {
	items, err := a.h.svc.ListApps(c.r.Context(), c.p, a.kind)
	if err != nil {
		a.h.fail(c, err)
		return
	}
	a.h.render(c, http.StatusOK, "apps", a.view(a.Plural, &appsData{Items: items}))
}

// fromForm reads the editable settings of an application.
func appFromForm(c *call, app *schemas.App) {
	f := c.r.PostForm
	app.Name = strings.TrimSpace(f.Get("name"))
	app.Description = strings.TrimSpace(f.Get("description"))
	if f.Has("login_uri") {
		app.LoginURI = strings.TrimSpace(f.Get("login_uri"))
		app.RedirectURIs = nil
		for _, line := range strings.Split(f.Get("redirect_uris"), "\n") {
			if s := strings.TrimSpace(line); s != "" {
				app.RedirectURIs = append(app.RedirectURIs, s)
			}
		}
		app.AllowPublicSignup = f.Get("allow_public_signup") == "on"
	}
}

func (a *appPages) create(c *call) {
	app := &schemas.App{}
	appFromForm(c, app)
	created, secret, err := a.h.svc.CreateApp(c.r.Context(), c.p, a.kind, app)
	if err != nil {
		items, _ := a.h.svc.ListApps(c.r.Context(), c.p, a.kind)
		a.h.formError(c, "apps", a.view(a.Plural, &appsData{Items: items}), err)
		return
	}
	// The secret is shown on this response only: no redirect, no flash.
	v := a.view(created.Name, &appsData{App: created, Secret: secret})
	v.FlashKind, v.Flash = "ok", "The "+a.Noun+" was created."
	a.h.render(c, http.StatusCreated, "app", v)
}

func (a *appPages) page(c *call, id string) (*view, error) {
	app, err := a.h.svc.GetApp(c.r.Context(), c.p, a.kind, id)
	if err != nil {
		return nil, err
	}
	ev, err := a.h.svc.ListEvents(c.r.Context(), c.p, storage.EventQuery{TargetID: id, Limit: 10})
	if err != nil {
		return nil, err
	}
	return a.view(app.Name, &appsData{App: app, Events: eventRows(ev.Items)}), nil
}

func (a *appPages) detail(c *call) {
	v, err := a.page(c, c.r.PathValue("id"))
	if err != nil {
		a.h.fail(c, err)
		return
	}
	a.h.render(c, http.StatusOK, "app", v)
}

func (a *appPages) action(c *call) {
	ctx, id := c.r.Context(), c.r.PathValue("id")
	var err error
	var msg string
	switch c.r.PathValue("action") {
	case "edit":
		_, err = a.h.svc.UpdateApp(ctx, c.p, a.kind, id, func(app *schemas.App) error {
			appFromForm(c, app)
			return nil
		})
		msg = "Saved."
	case "rotate":
		app, secret, rerr := a.h.svc.RotateSecret(ctx, c.p, a.kind, id)
		if rerr == nil {
			v := a.view(app.Name, &appsData{App: app, Secret: secret})
			v.FlashKind, v.Flash = "ok", "A new client secret was issued; the old one no longer works."
			a.h.render(c, http.StatusOK, "app", v)
			return
		}
		err = rerr
	case "delete":
		app, gerr := a.h.svc.GetApp(ctx, c.p, a.kind, id)
		if gerr != nil {
			err = gerr
			break
		}
		if strings.TrimSpace(c.r.PostForm.Get("confirm")) != app.Name {
			err = directory.FieldError(directory.KindInvalid, "confirm", "type the name, %s, to confirm the deletion", app.Name)
			break
		}
		if err = a.h.svc.DeleteApp(ctx, c.p, a.kind, id); err == nil {
			c.done(a.h, a.Base, app.Name+" deleted.")
			return
		}
	default:
		a.h.errorPage(c, http.StatusNotFound, "There is no such action.")
		return
	}
	a.h.actionDone(c, err, "app", a.page, id, a.Base+"/"+id, msg)
}
