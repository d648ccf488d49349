package directory

import (
	"context"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// adminOnly is returned to callers that need an admin token.
func adminOnly(what string) error {
	return Errorf(KindForbidden, "%s requires an admin token (a management application's, or an API token with the admin scope)", what)
}

func normalizeApp(a *schemas.App) error {
	if strings.TrimSpace(a.Name) == "" {
		return FieldError(KindInvalid, "app_name", "an application needs a name")
	}
	for name, v := range map[string]string{"app_name": a.Name, "app_description": a.Description, "login_uri": a.LoginURI} {
		if err := checkString(name, v); err != nil {
			return err
		}
	}
	if len(a.RedirectURIs) > MaxValues {
		return FieldError(KindInvalid, "redirect_uris", "at most %d redirect URIs are allowed", MaxValues)
	}
	return nil
}

// CreateApp creates an application of the given kind (schemas.AppRegular or
// schemas.AppManagement) with a default client, and returns it with the client
// secret — the only time the secret is available; only its hash is stored.
func (s *Service) CreateApp(ctx context.Context, p Principal, kind string, a *schemas.App) (*schemas.App, string, error) {
	if !p.administers() {
		return nil, "", adminOnly("creating an application")
	}
	secret := NewSecret()
	hash, err := HashSecret(secret)
	if err != nil {
		return nil, "", translate(err, "application")
	}
	now := s.clock()
	a = a.Clone()
	a.ID, a.Version, a.Kind, a.Created, a.Updated = s.newID(), 0, kind, now, now
	a.ClientID = NewSecret()[:22]
	a.Secrets = []schemas.ClientSecret{{Hash: hash, Created: now}}
	if err := normalizeApp(a); err != nil {
		return nil, "", err
	}
	created, err := s.store.CreateApp(ctx, a, s.event(p, appAction(kind, ActionCreateApp, ActionCreateMgmtApp), TargetApp, a.ID, appChanges(nil, a)))
	if err != nil {
		return nil, "", translate(err, "application")
	}
	return created, secret, nil
}

func appAction(kind, regular, management string) string {
	if kind == schemas.AppManagement {
		return management
	}
	return regular
}

// GetApp returns an application of the given kind: admins see every one, an app
// sees itself.
func (s *Service) GetApp(ctx context.Context, p Principal, kind, id string) (*schemas.App, error) {
	if !p.runsApp(id, false) {
		return nil, Errorf(KindNotFound, "application not found")
	}
	a, err := s.store.GetApp(ctx, id)
	if err != nil {
		return nil, translate(err, "application")
	}
	if a.Kind != kind {
		return nil, Errorf(KindNotFound, "application not found")
	}
	return a, nil
}

// ListApps lists the applications of a kind that p may see.
func (s *Service) ListApps(ctx context.Context, p Principal, kind string) ([]*schemas.App, error) {
	if !p.administers() && !p.runsApp(p.AppID, false) {
		return nil, adminOnly("listing applications")
	}
	apps, err := s.store.ListApps(ctx, kind)
	if err != nil {
		return nil, translate(err, "application")
	}
	if p.administers() {
		return apps, nil
	}
	mine := apps[:0]
	for _, a := range apps {
		if a.ID == p.AppID {
			mine = append(mine, a)
		}
	}
	return mine, nil
}

// UpdateApp changes an application's settings (apply may run more than once).
// Only admins may, or a regular app changing itself.
func (s *Service) UpdateApp(ctx context.Context, p Principal, kind, id string, apply func(a *schemas.App) error) (*schemas.App, error) {
	if !p.runsApp(id, true) {
		return nil, adminOnly("changing an application")
	}
	var prev *schemas.App
	updated, err := s.store.UpdateApp(ctx, id, func(a *schemas.App) error {
		if a.Kind != kind {
			return Errorf(KindNotFound, "application not found")
		}
		prev = a.Clone()
		if err := apply(a); err != nil {
			return err
		}
		a.ID, a.Kind, a.Version, a.Created, a.Updated = prev.ID, prev.Kind, prev.Version, prev.Created, s.clock()
		a.ClientID, a.Secrets = prev.ClientID, prev.Secrets
		return normalizeApp(a)
	}, auditUpdate(s, p, appAction(kind, ActionUpdateApp, ActionUpdateMgmtApp), TargetApp, id, appChanges))
	if err != nil {
		return nil, translate(err, "application")
	}
	return updated, nil
}

// RotateSecret gives the application's client a new secret and returns it (once).
// The old secret stops working at once.
func (s *Service) RotateSecret(ctx context.Context, p Principal, kind, id string) (*schemas.App, string, error) {
	if !p.administers() {
		return nil, "", adminOnly("rotating a client secret")
	}
	secret := NewSecret()
	hash, err := HashSecret(secret)
	if err != nil {
		return nil, "", translate(err, "application")
	}
	updated, err := s.store.UpdateApp(ctx, id, func(a *schemas.App) error {
		if a.Kind != kind {
			return Errorf(KindNotFound, "application not found")
		}
		a.Secrets = []schemas.ClientSecret{{Hash: hash, Created: s.clock()}}
		a.Updated = s.clock()
		return nil
	}, auditFixed[*schemas.App](s.event(p, ActionRotateSecret, TargetApp, id,
		map[string]schemas.Change{"client_secret": {Prev: redacted, Current: redacted}})))
	if err != nil {
		return nil, "", translate(err, "application")
	}
	return updated, secret, nil
}

// DeleteApp deletes an application and every user's data for it (the users stay).
// The last management application cannot be deleted: that would lock every
// administrator out.
func (s *Service) DeleteApp(ctx context.Context, p Principal, kind, id string) error {
	if !p.administers() {
		return adminOnly("deleting an application")
	}
	a, err := s.store.GetApp(ctx, id)
	if err != nil {
		return translate(err, "application")
	}
	if a.Kind != kind {
		return Errorf(KindNotFound, "application not found")
	}
	if kind == schemas.AppManagement {
		all, err := s.store.ListApps(ctx, schemas.AppManagement)
		if err != nil {
			return translate(err, "application")
		}
		if len(all) <= 1 {
			return Errorf(KindInvalid, "the last management application cannot be deleted")
		}
	}
	if err := s.store.DeleteApp(ctx, id, s.event(p, appAction(kind, ActionDeleteApp, ActionDeleteMgmtApp), TargetApp, id, nil)); err != nil {
		return translate(err, "application")
	}
	return nil
}
