package storage

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/mongo"
)

// replicas is one database served by several *mongo.Store, as several scimd
// replicas would: reads go to the first, writes alternate between all of
// them. Each Store serializes its own goroutines per document, so only
// writers from different stores race in the database; running the concurrency
// suite through replicas is what exercises the cross-process compare-and-swap
// (and, on FerretDB v1, the claims).
type replicas struct {
	storage.Store // the first replica: reads and everything not overridden
	all           []*mongo.Store
	next          atomic.Uint64
}

func newReplicas(stores ...*mongo.Store) *replicas {
	return &replicas{Store: stores[0], all: stores}
}

func (r *replicas) pick() *mongo.Store { return r.all[r.next.Add(1)%uint64(len(r.all))] }

func (r *replicas) CreateUser(ctx context.Context, u *schemas.User, e *schemas.Event) (*schemas.User, error) {
	return r.pick().CreateUser(ctx, u, e)
}

func (r *replicas) UpdateUser(ctx context.Context, id string, v int64, fn func(*schemas.User) error, a storage.Audit[*schemas.User]) (*schemas.User, error) {
	return r.pick().UpdateUser(ctx, id, v, fn, a)
}

func (r *replicas) UpdateGroup(ctx context.Context, id string, v int64, fn func(*schemas.Group) error, a storage.Audit[*schemas.Group]) (*schemas.Group, error) {
	return r.pick().UpdateGroup(ctx, id, v, fn, a)
}

func (r *replicas) UpdateApp(ctx context.Context, id string, fn func(*schemas.App) error, a storage.Audit[*schemas.App]) (*schemas.App, error) {
	return r.pick().UpdateApp(ctx, id, fn, a)
}

func (r *replicas) PatchGroup(ctx context.Context, id string, ch storage.GroupChange, a storage.GroupAudit) (*schemas.Group, error) {
	return r.pick().PatchGroup(ctx, id, ch, a)
}

func (r *replicas) DeleteGroup(ctx context.Context, id string, e *schemas.Event) error {
	return r.pick().DeleteGroup(ctx, id, e)
}

func (r *replicas) DeleteApp(ctx context.Context, id string, e *schemas.Event) error {
	return r.pick().DeleteApp(ctx, id, e)
}

func (r *replicas) TouchAPIToken(ctx context.Context, id string, t time.Time) error {
	return r.pick().TouchAPIToken(ctx, id, t)
}

func (r *replicas) UpdateSigningKeys(ctx context.Context, fn func([]*schemas.SigningKey) ([]*schemas.SigningKey, error)) error {
	return r.pick().UpdateSigningKeys(ctx, fn)
}

// Close closes every replica.
func (r *replicas) Close() error {
	var errs []error
	for _, s := range r.all {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

func (r *replicas) AddLoginFailure(ctx context.Context, userID string, t time.Time, window time.Duration) (int, error) {
	return r.pick().AddLoginFailure(ctx, userID, t, window)
}
