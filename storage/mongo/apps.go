package mongo

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// appDoc is the stored form of a schemas.App.
type appDoc struct {
	ID                string      `bson:"_id"`
	Version           int64       `bson:"version"`
	Kind              string      `bson:"kind,omitempty"`
	Name              string      `bson:"name,omitempty"`
	Description       string      `bson:"description,omitempty"`
	LoginURI          string      `bson:"loginUri,omitempty"`
	RedirectURIs      []string    `bson:"redirectUris,omitempty"`
	AllowPublicSignup bool        `bson:"allowPublicSignup,omitempty"`
	ClientID          string      `bson:"clientId,omitempty"` // sparse unique
	Secrets           []secretDoc `bson:"secrets,omitempty"`
	Created           time.Time   `bson:"created,omitempty"`
	Updated           time.Time   `bson:"updated,omitempty"`
}

type secretDoc struct {
	Hash    string    `bson:"hash,omitempty"`
	Created time.Time `bson:"created,omitempty"`
	Expires time.Time `bson:"expires,omitempty"`
}

func appToDoc(a *schemas.App) *appDoc {
	d := &appDoc{ID: a.ID, Version: a.Version, Kind: a.Kind, Name: a.Name, Description: a.Description,
		LoginURI: a.LoginURI, AllowPublicSignup: a.AllowPublicSignup, ClientID: a.ClientID,
		Created: utc(a.Created), Updated: utc(a.Updated)}
	if len(a.RedirectURIs) > 0 {
		d.RedirectURIs = slices.Clone(a.RedirectURIs)
	}
	for _, s := range a.Secrets {
		d.Secrets = append(d.Secrets, secretDoc{s.Hash, utc(s.Created), utc(s.Expires)})
	}
	return d
}

func (d *appDoc) app() *schemas.App {
	a := &schemas.App{ID: d.ID, Version: d.Version, Kind: d.Kind, Name: d.Name, Description: d.Description,
		LoginURI: d.LoginURI, AllowPublicSignup: d.AllowPublicSignup, ClientID: d.ClientID,
		Created: utc(d.Created), Updated: utc(d.Updated)}
	if len(d.RedirectURIs) > 0 {
		a.RedirectURIs = slices.Clone(d.RedirectURIs)
	}
	for _, s := range d.Secrets {
		a.Secrets = append(a.Secrets, schemas.ClientSecret{Hash: s.Hash, Created: utc(s.Created), Expires: utc(s.Expires)})
	}
	return a
}

func appConflictChecks(d *appDoc, withID bool) []conflictCheck {
	var cs []conflictCheck
	if withID {
		cs = append(cs, conflictCheck{storage.FieldID, "_id", d.ID})
	}
	return append(cs, conflictCheck{storage.FieldClientID, "clientId", d.ClientID})
}

// CreateApp stores a new application with Version 1 (one round trip).
func (s *Store) CreateApp(ctx context.Context, a *schemas.App, e *schemas.Event) (*schemas.App, error) {
	if a == nil || a.ID == "" {
		return nil, errors.New("mongo: create app: no id")
	}
	c := a.Clone()
	c.Version = 1
	d := appToDoc(c)
	if err := s.audited(ctx, e, func() error { return s.insert(ctx, s.apps, d, "app "+a.ID, appConflictChecks(d, true)) }); err != nil {
		return nil, err
	}
	return c, nil
}

// GetApp returns the application with the given id (one round trip).
func (s *Store) GetApp(ctx context.Context, id string) (*schemas.App, error) {
	var d appDoc
	if err := s.apps.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, notFound(err, "get app %s", id)
	}
	return d.app(), nil
}

// FindAppByClientID returns the application whose client has the id (one round trip).
func (s *Store) FindAppByClientID(ctx context.Context, clientID string) (*schemas.App, error) {
	if clientID == "" {
		return nil, storage.ErrNotFound
	}
	var d appDoc
	if err := s.apps.FindOne(ctx, bson.D{{Key: "clientId", Value: clientID}}).Decode(&d); err != nil {
		return nil, notFound(err, "find app by client id")
	}
	return d.app(), nil
}

// UpdateApp applies fn under compare-and-swap (two round trips when uncontended).
func (s *Store) UpdateApp(ctx context.Context, id string, fn func(*schemas.App) error, audit storage.Audit[*schemas.App]) (*schemas.App, error) {
	return cas(ctx, s, s.apps, appDocs, id, 0, nil, func(a *schemas.App) (bool, error) { return true, fn(a) }, audit)
}

// appDocs describes the apps collection to [cas].
var appDocs = docKind[appDoc, *schemas.App]{
	noun:    "app",
	version: func(d *appDoc) int64 { return d.Version },
	decode:  func(d *appDoc) (*schemas.App, error) { return d.app(), nil },
	stamp:   func(a *schemas.App, id string, version int64) { a.ID, a.Version = id, version },
	encode:  func(a *schemas.App) (*appDoc, error) { return appToDoc(a), nil },
	checks:  appConflictChecks,
}

// DeleteApp removes the application, then every user's data for it. Removing
// one element of the apps array by appId would be a $pull with a condition,
// which FerretDB v1 silently ignores, so each assigned user is updated by
// compare-and-swap instead (one find, then one replace per user).
func (s *Store) DeleteApp(ctx context.Context, id string, e *schemas.Event) error {
	return s.audited(ctx, e, func() error { return s.deleteApp(ctx, id) })
}

func (s *Store) deleteApp(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, s.apps, id, "app"); err != nil {
		return err
	}
	err := s.casEach(ctx, bson.D{{Key: "apps.appId", Value: id}}, func(u *schemas.User) bool {
		if _, ok := u.Apps[id]; !ok {
			return false
		}
		delete(u.Apps, id)
		return true
	})
	if err != nil {
		return wrap(err, "delete app %s: unlink users", id)
	}
	return nil
}

// ListApps returns the applications of the kind ("" for all) in id order.
func (s *Store) ListApps(ctx context.Context, kind string) ([]*schemas.App, error) {
	filter := bson.D{}
	if kind != "" {
		filter = bson.D{{Key: "kind", Value: kind}}
	}
	return listByID(ctx, s.apps, filter, "apps", (*appDoc).app)
}
