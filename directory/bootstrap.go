package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// bootstrapAppID is the fixed id of the management app created on first start.
// A fixed id makes concurrent first starts of several replicas create one app:
// every replica but one gets an id conflict and backs off.
const bootstrapAppID = "bootstrap-management-app"

// EnsureManagementApp makes sure a management app with exactly these client
// credentials exists: it creates one, or gives the existing app of that client id
// this secret (only its hash is stored). It is idempotent. It fails when the
// client id belongs to a regular application.
func (s *Service) EnsureManagementApp(ctx context.Context, clientID, secret string) (created bool, err error) {
	if clientID == "" || secret == "" {
		return false, errors.New("directory: bootstrap client id and secret must both be set")
	}
	app, err := s.store.FindAppByClientID(ctx, clientID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		hash, err := HashSecret(secret)
		if err != nil {
			return false, err
		}
		now := s.clock()
		a := &schemas.App{
			ID: s.newID(), Kind: schemas.AppManagement, Name: "Bootstrap management app",
			Description: "Created from SCIMD_BOOTSTRAP_CLIENT_ID", ClientID: clientID,
			Secrets: []schemas.ClientSecret{{Hash: hash, Created: now}}, Created: now, Updated: now,
		}
		_, err = s.store.CreateApp(ctx, a, s.event(System, ActionCreateMgmtApp, TargetApp, a.ID, appChanges(nil, a)))
		if errors.Is(err, storage.ErrConflict) {
			return false, nil // another replica created it at the same moment
		}
		if err != nil {
			return false, fmt.Errorf("directory: create bootstrap management app: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("directory: find bootstrap management app: %w", err)
	}
	if app.Kind != schemas.AppManagement {
		return false, fmt.Errorf("directory: client id %q belongs to a regular application, not a management app", clientID)
	}
	if len(app.Secrets) == 1 {
		if ok, _ := VerifySecret(app.Secrets[0].Hash, secret); ok {
			return false, nil // already exactly these credentials
		}
	}
	hash, err := HashSecret(secret)
	if err != nil {
		return false, err
	}
	_, err = s.store.UpdateApp(ctx, app.ID, func(a *schemas.App) error {
		a.Secrets = []schemas.ClientSecret{{Hash: hash, Created: s.clock()}}
		a.Updated = s.clock()
		return nil
	}, auditFixed[*schemas.App](s.event(System, ActionRotateSecret, TargetApp, app.ID,
		map[string]schemas.Change{"client_secret": {Prev: redacted, Current: redacted}})))
	if err != nil {
		return false, fmt.Errorf("directory: update bootstrap management app: %w", err)
	}
	return false, nil
}

// BootstrapIfEmpty creates a management app with generated credentials when the
// store holds no application at all, and returns those credentials — the only
// time the secret is ever available. created is false when the store already
// had applications (or another replica bootstrapped it first).
func (s *Service) BootstrapIfEmpty(ctx context.Context) (clientID, secret string, created bool, err error) {
	apps, err := s.store.ListApps(ctx, "")
	if err != nil {
		return "", "", false, fmt.Errorf("directory: list applications: %w", err)
	}
	if len(apps) > 0 {
		return "", "", false, nil
	}
	clientID, secret = NewSecret()[:22], NewSecret()
	hash, err := HashSecret(secret)
	if err != nil {
		return "", "", false, err
	}
	now := s.clock()
	a := &schemas.App{
		ID: bootstrapAppID, Kind: schemas.AppManagement, Name: "Bootstrap management app",
		Description: "Created on first start", ClientID: clientID,
		Secrets: []schemas.ClientSecret{{Hash: hash, Created: now}}, Created: now, Updated: now,
	}
	_, err = s.store.CreateApp(ctx, a, s.event(System, ActionCreateMgmtApp, TargetApp, a.ID, appChanges(nil, a)))
	if errors.Is(err, storage.ErrConflict) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("directory: create bootstrap management app: %w", err)
	}
	return clientID, secret, true, nil
}
