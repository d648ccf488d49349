package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/scimd/scimd/schemas"
)

// keySetDoc is the one document holding the signing keys, so that a key
// rotation is a single-document compare-and-swap.
type keySetDoc struct {
	ID      string   `bson:"_id"`
	Version int64    `bson:"version"`
	Keys    []keyDoc `bson:"keys"`
}

type keyDoc struct {
	ID         string    `bson:"id"`
	Algorithm  string    `bson:"alg,omitempty"`
	PrivateKey []byte    `bson:"privateKey,omitempty"`
	PublicKey  []byte    `bson:"publicKey,omitempty"`
	Created    time.Time `bson:"created,omitempty"`
	NotAfter   time.Time `bson:"notAfter,omitempty"`
}

func (s *Store) readKeySet(ctx context.Context) (*keySetDoc, error) {
	var d keySetDoc
	err := s.keys.FindOne(ctx, bson.D{{Key: "_id", Value: keySetDocID}}).Decode(&d)
	if err == mdb.ErrNoDocuments {
		return &keySetDoc{ID: keySetDocID}, nil
	}
	if err != nil {
		return nil, wrap(err, "read signing keys")
	}
	return &d, nil
}

func keysFromDoc(d *keySetDoc) []*schemas.SigningKey {
	var out []*schemas.SigningKey
	for _, k := range d.Keys {
		out = append(out, &schemas.SigningKey{ID: k.ID, Algorithm: k.Algorithm, PrivateKey: cloneBytes(k.PrivateKey),
			PublicKey: cloneBytes(k.PublicKey), Created: utc(k.Created), NotAfter: utc(k.NotAfter)})
	}
	return out
}

func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// SigningKeys returns the token signing keys, oldest first (one round trip).
func (s *Store) SigningKeys(ctx context.Context) ([]*schemas.SigningKey, error) {
	d, err := s.readKeySet(ctx)
	if err != nil {
		return nil, err
	}
	return keysFromDoc(d), nil
}

// UpdateSigningKeys replaces the key set with what fn returns, by
// compare-and-swap on the key-set document (inserting it the first time).
func (s *Store) UpdateSigningKeys(ctx context.Context, fn func([]*schemas.SigningKey) ([]*schemas.SigningKey, error)) error {
	defer s.locks.lock(collKeys + "/" + keySetDocID)()
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return wrap(err, "update signing keys")
		}
		d, err := s.readKeySet(ctx)
		if err != nil {
			return err
		}
		keys, err := fn(keysFromDoc(d))
		if err != nil {
			return err
		}
		nd := &keySetDoc{ID: keySetDocID, Version: d.Version + 1, Keys: []keyDoc{}}
		for _, k := range keys {
			nd.Keys = append(nd.Keys, keyDoc{k.ID, k.Algorithm, cloneBytes(k.PrivateKey), cloneBytes(k.PublicKey),
				utc(k.Created), utc(k.NotAfter)})
		}
		if d.Version == 0 {
			_, err := s.keys.InsertOne(ctx, nd)
			if err == nil {
				return nil
			}
			if isDuplicateKey(err) {
				continue // another replica created it first
			}
			return wrap(err, "update signing keys")
		}
		swapped, err := s.swap(ctx, s.keys, keySetDocID, d.Version, nd)
		if err != nil {
			return wrap(err, "update signing keys")
		}
		if swapped {
			return nil
		}
	}
	return wrap(errTooManyAttempts, "update signing keys")
}
