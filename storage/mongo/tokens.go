package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// tokenDoc is the stored form of a schemas.APIToken.
type tokenDoc struct {
	ID          string    `bson:"_id"`
	Version     int64     `bson:"version"` // for compare-and-swap with claims (see TouchAPIToken)
	Description string    `bson:"description,omitempty"`
	Hash        string    `bson:"hash,omitempty"` // sparse unique
	AppID       string    `bson:"appId,omitempty"`
	Scopes      []string  `bson:"scopes,omitempty"` // absent in documents written before scopes existed
	Created     time.Time `bson:"created,omitempty"`
	Expires     time.Time `bson:"expires,omitempty"`
	LastUsedAt  time.Time `bson:"lastUsedAt,omitempty"`
	CreatedBy   string    `bson:"createdBy,omitempty"`
}

func (d *tokenDoc) token() *schemas.APIToken {
	return &schemas.APIToken{ID: d.ID, Description: d.Description, Hash: d.Hash, AppID: d.AppID,
		Scopes: d.Scopes, Created: utc(d.Created), Expires: utc(d.Expires), LastUsedAt: utc(d.LastUsedAt), CreatedBy: d.CreatedBy}
}

// CreateAPIToken stores a new API token record (one round trip).
func (s *Store) CreateAPIToken(ctx context.Context, t *schemas.APIToken, e *schemas.Event) error {
	if t == nil || t.ID == "" {
		return errors.New("mongo: create API token: no id")
	}
	d := &tokenDoc{ID: t.ID, Version: 1, Description: t.Description, Hash: t.Hash, AppID: t.AppID, Scopes: t.Scopes, Created: utc(t.Created),
		Expires: utc(t.Expires), LastUsedAt: utc(t.LastUsedAt), CreatedBy: t.CreatedBy}
	return s.audited(ctx, e, func() error {
		return s.insert(ctx, s.tokens, d, "API token "+t.ID, []conflictCheck{
			{storage.FieldID, "_id", d.ID},
			{storage.FieldTokenHash, "hash", d.Hash},
		})
	})
}

// FindAPIToken returns the token record with the hash (one round trip).
func (s *Store) FindAPIToken(ctx context.Context, hash string) (*schemas.APIToken, error) {
	if hash == "" {
		return nil, storage.ErrNotFound
	}
	var d tokenDoc
	if err := s.tokens.FindOne(ctx, bson.D{{Key: "hash", Value: hash}}).Decode(&d); err != nil {
		return nil, notFound(err, "find API token")
	}
	return d.token(), nil
}

// ListAPITokens returns every token record in id order.
func (s *Store) ListAPITokens(ctx context.Context) ([]*schemas.APIToken, error) {
	return listByID(ctx, s.tokens, bson.D{}, "API tokens", (*tokenDoc).token)
}

// DeleteAPIToken removes a token record (one round trip).
func (s *Store) DeleteAPIToken(ctx context.Context, id string, e *schemas.Event) error {
	return s.audited(ctx, e, func() error { return s.deleteOne(ctx, s.tokens, id, "API token") })
}

// TouchAPIToken records a use of the token at t with one atomic $max update,
// so the time only ever moves forward however the calls interleave. (With
// claims, where $max is not atomic, it is a compare-and-swap instead.)
func (s *Store) TouchAPIToken(ctx context.Context, id string, t time.Time) error {
	if s.claims {
		return s.touchCAS(ctx, id, t.UTC())
	}
	res, err := s.tokens.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$max", Value: bson.D{{Key: "lastUsedAt", Value: t.UTC()}}}})
	if err != nil {
		return wrap(err, "touch API token %s", id)
	}
	if res.MatchedCount == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// touchCAS is TouchAPIToken by compare-and-swap.
func (s *Store) touchCAS(ctx context.Context, id string, t time.Time) error {
	defer s.locks.lock(collTokens + "/" + id)()
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return wrap(err, "touch API token %s", id)
		}
		var d tokenDoc
		if err := s.tokens.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
			return notFound(err, "touch API token %s", id)
		}
		if !t.After(d.LastUsedAt) {
			return nil
		}
		old := d.Version
		d.Version, d.LastUsedAt = old+1, t
		swapped, err := s.swap(ctx, s.tokens, id, old, &d)
		if err != nil {
			return wrap(err, "touch API token %s", id)
		}
		if swapped {
			return nil
		}
	}
	return wrap(errTooManyAttempts, "touch API token %s", id)
}
