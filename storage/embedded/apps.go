package embedded

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// CreateApp stores a new application with Version 1.
func (s *Store) CreateApp(ctx context.Context, a *schemas.App, e *schemas.Event) (*schemas.App, error) {
	return create(ctx, s, appRecords, a, e)
}

// GetApp returns the application with the given id, or storage.ErrNotFound.
func (s *Store) GetApp(ctx context.Context, id string) (*schemas.App, error) {
	if err := s.rlock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	a, ok := s.apps[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return a.Clone(), nil
}

// FindAppByClientID returns the application whose client has the id, or storage.ErrNotFound.
func (s *Store) FindAppByClientID(ctx context.Context, clientID string) (*schemas.App, error) {
	if err := s.rlock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	id, ok := s.idx[kClientID][clientID]
	if !ok || clientID == "" {
		return nil, storage.ErrNotFound
	}
	return s.apps[id].Clone(), nil
}

// UpdateApp applies fn to a copy of the application under compare-and-swap, as UpdateUser.
func (s *Store) UpdateApp(ctx context.Context, id string, fn func(*schemas.App) error, audit storage.Audit[*schemas.App]) (*schemas.App, error) {
	return update(ctx, s, appRecords, id, 0, fn, audit)
}

// appRecords describes applications to [update].
var appRecords = recordKind[*schemas.App]{
	noun:    "app",
	id:      func(a *schemas.App) string { return a.ID },
	get:     (*Store).GetApp,
	lookup:  (*batch).app,
	clone:   (*schemas.App).Clone,
	version: func(a *schemas.App) int64 { return a.Version },
	stamp:   func(a *schemas.App, id string, version int64) { a.ID, a.Version = id, version },
	encode:  encodeApp,
	stage: func(b *batch, a *schemas.App, enc []byte) error {
		if err := b.claim(kClientID, a.ID, keyOfApp(a)); err != nil {
			return err
		}
		return b.putApp(a, enc)
	},
}

// DeleteApp removes the application and every user's data for it (each such
// user gets a new Version), in one transaction.
func (s *Store) DeleteApp(ctx context.Context, id string, e *schemas.Event) error {
	return s.audited(ctx, e, func(b *batch) error {
		if _, ok := b.app(id); !ok {
			return storage.ErrNotFound
		}
		err := b.restage(seconds(b.u.apps(), id), func(old *schemas.User) *schemas.User {
			if _, ok := old.Apps[id]; !ok {
				return nil
			}
			u := *old
			u.Apps = maps.Clone(old.Apps) // a new map; the links themselves are unchanged
			delete(u.Apps, id)
			if len(u.Apps) == 0 {
				u.Apps = nil // as decoding gives
			}
			return &u
		})
		if err != nil {
			return err
		}
		return b.deleteApp(id)
	})
}

// ListApps returns the applications of the kind ("" for all) in id order.
func (s *Store) ListApps(ctx context.Context, kind string) ([]*schemas.App, error) {
	if err := s.rlock(); err != nil {
		return nil, err
	}
	out := make([]*schemas.App, 0, len(s.apps))
	for _, a := range s.apps {
		if kind == "" || a.Kind == kind {
			out = append(out, a.Clone())
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *schemas.App) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// CreateAPIToken stores a new API token record.
func (s *Store) CreateAPIToken(ctx context.Context, t *schemas.APIToken, e *schemas.Event) error {
	if t == nil || t.ID == "" {
		return errors.New("embedded: create api token: the token has no id")
	}
	enc, stored, err := encodeToken(t)
	if err != nil {
		return fmt.Errorf("embedded: create api token %s: encode: %w", t.ID, err)
	}
	return s.audited(ctx, e, func(b *batch) error {
		if _, ok := b.token(stored.ID); ok {
			return storage.Conflict(storage.FieldID)
		}
		if err := b.claim(kTokenHash, stored.ID, keyOfToken(stored)); err != nil {
			return err
		}
		return b.putToken(stored, enc)
	})
}

// FindAPIToken returns the token record with the given hash, or storage.ErrNotFound.
func (s *Store) FindAPIToken(ctx context.Context, hash string) (*schemas.APIToken, error) {
	if err := s.rlock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	id, ok := s.idx[kTokenHash][hash]
	if !ok || hash == "" {
		return nil, storage.ErrNotFound
	}
	return s.tokens[id].Clone(), nil
}

// ListAPITokens returns every API token record in id order.
func (s *Store) ListAPITokens(ctx context.Context) ([]*schemas.APIToken, error) {
	if err := s.rlock(); err != nil {
		return nil, err
	}
	out := make([]*schemas.APIToken, 0, len(s.tokens))
	for _, t := range s.tokens {
		out = append(out, t.Clone())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *schemas.APIToken) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteAPIToken removes a token record, or returns storage.ErrNotFound.
func (s *Store) DeleteAPIToken(ctx context.Context, id string, e *schemas.Event) error {
	return s.audited(ctx, e, func(b *batch) error {
		if _, ok := b.token(id); !ok {
			return storage.ErrNotFound
		}
		return b.deleteToken(id)
	})
}

// TouchAPIToken records that the token was used at t; LastUsedAt only moves forward.
func (s *Store) TouchAPIToken(ctx context.Context, id string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.submit(func(b *batch) error {
		old, ok := b.token(id)
		if !ok {
			return storage.ErrNotFound
		}
		if !t.After(old.LastUsedAt) {
			return nil
		}
		c := *old
		c.LastUsedAt = t
		enc, stored, err := encodeToken(&c)
		if err != nil {
			return fmt.Errorf("embedded: touch api token %s: encode: %w", id, err)
		}
		return b.putToken(stored, enc)
	})
}
