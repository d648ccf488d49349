package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Store wraps s so that its operations are timed (scimd_store_operation_duration_seconds)
// and the audit events they commit are counted (scimd_audit_events_written_total).
// Methods of storage.Store not listed below pass through untimed.
func (m *Metrics) Store(s storage.Store) storage.Store { return &store{Store: s, m: m} }

type store struct {
	storage.Store
	m *Metrics
}

// done observes one operation that started at start and returned err; events
// is the number of audit events it committed when it succeeded.
func (s *store) done(op string, start time.Time, err error, events int) {
	result := "ok"
	switch {
	case err == nil:
		if events > 0 {
			s.m.audit.Add(float64(events))
		}
	case errors.Is(err, storage.ErrNotFound):
		result = "not_found"
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrVersionMismatch):
		result = "conflict"
	default:
		result = "error"
	}
	s.m.storeOps.with(storeKey{op, result}, storeKey.labels).Observe(time.Since(start).Seconds())
}

func one(e *schemas.Event) int {
	if e == nil {
		return 0
	}
	return 1
}

// counted wraps an Audit so that the caller learns whether the attempt that
// was written recorded an event (the last call wins: attempts are sequential).
func counted[T any](audit storage.Audit[T], n *int) storage.Audit[T] {
	if audit == nil {
		return nil
	}
	return func(prev, cur T) *schemas.Event {
		e := audit(prev, cur)
		*n = one(e)
		return e
	}
}

func (s *store) CreateUser(ctx context.Context, u *schemas.User, e *schemas.Event) (*schemas.User, error) {
	start := time.Now()
	out, err := s.Store.CreateUser(ctx, u, e)
	s.done("CreateUser", start, err, one(e))
	return out, err
}

func (s *store) GetUser(ctx context.Context, id string) (*schemas.User, error) {
	start := time.Now()
	out, err := s.Store.GetUser(ctx, id)
	s.done("GetUser", start, err, 0)
	return out, err
}

func (s *store) FindUser(ctx context.Context, field, value string) (*schemas.User, error) {
	start := time.Now()
	out, err := s.Store.FindUser(ctx, field, value)
	s.done("FindUser", start, err, 0)
	return out, err
}

func (s *store) UpdateUser(ctx context.Context, id string, ifVersion int64, fn func(*schemas.User) error, audit storage.Audit[*schemas.User]) (*schemas.User, error) {
	start, n := time.Now(), 0
	out, err := s.Store.UpdateUser(ctx, id, ifVersion, fn, counted(audit, &n))
	s.done("UpdateUser", start, err, n)
	return out, err
}

func (s *store) DeleteUser(ctx context.Context, id string, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.DeleteUser(ctx, id, e)
	s.done("DeleteUser", start, err, one(e))
	return err
}

func (s *store) ListUsers(ctx context.Context, q storage.Query) (storage.Page[*schemas.User], error) {
	start := time.Now()
	out, err := s.Store.ListUsers(ctx, q)
	s.done("ListUsers", start, err, 0)
	return out, err
}

func (s *store) CreateGroup(ctx context.Context, g *schemas.Group, e *schemas.Event) (*schemas.Group, error) {
	start := time.Now()
	out, err := s.Store.CreateGroup(ctx, g, e)
	s.done("CreateGroup", start, err, one(e))
	return out, err
}

func (s *store) GetGroup(ctx context.Context, id string) (*schemas.Group, error) {
	start := time.Now()
	out, err := s.Store.GetGroup(ctx, id)
	s.done("GetGroup", start, err, 0)
	return out, err
}

func (s *store) UpdateGroup(ctx context.Context, id string, ifVersion int64, fn func(*schemas.Group) error, audit storage.Audit[*schemas.Group]) (*schemas.Group, error) {
	start, n := time.Now(), 0
	out, err := s.Store.UpdateGroup(ctx, id, ifVersion, fn, counted(audit, &n))
	s.done("UpdateGroup", start, err, n)
	return out, err
}

func (s *store) DeleteGroup(ctx context.Context, id string, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.DeleteGroup(ctx, id, e)
	s.done("DeleteGroup", start, err, one(e))
	return err
}

func (s *store) ListGroups(ctx context.Context, q storage.Query) (storage.Page[*schemas.Group], error) {
	start := time.Now()
	out, err := s.Store.ListGroups(ctx, q)
	s.done("ListGroups", start, err, 0)
	return out, err
}

func (s *store) PatchGroup(ctx context.Context, id string, ch storage.GroupChange, audit storage.GroupAudit) (*schemas.Group, error) {
	start, n := time.Now(), 0
	if audit != nil {
		inner := audit
		audit = func(prev, cur *schemas.Group, added, removed []string) []*schemas.Event {
			es := inner(prev, cur, added, removed)
			n = 0
			for _, e := range es {
				n += one(e)
			}
			return es
		}
	}
	out, err := s.Store.PatchGroup(ctx, id, ch, audit)
	s.done("PatchGroup", start, err, n)
	return out, err
}

func (s *store) GroupMemberIDs(ctx context.Context, groupID string) ([]string, error) {
	start := time.Now()
	out, err := s.Store.GroupMemberIDs(ctx, groupID)
	s.done("GroupMemberIDs", start, err, 0)
	return out, err
}

func (s *store) GroupMembers(ctx context.Context, groupID string) ([]storage.Member, error) {
	start := time.Now()
	out, err := s.Store.GroupMembers(ctx, groupID)
	s.done("GroupMembers", start, err, 0)
	return out, err
}

func (s *store) CreateApp(ctx context.Context, a *schemas.App, e *schemas.Event) (*schemas.App, error) {
	start := time.Now()
	out, err := s.Store.CreateApp(ctx, a, e)
	s.done("CreateApp", start, err, one(e))
	return out, err
}

func (s *store) GetApp(ctx context.Context, id string) (*schemas.App, error) {
	start := time.Now()
	out, err := s.Store.GetApp(ctx, id)
	s.done("GetApp", start, err, 0)
	return out, err
}

func (s *store) FindAppByClientID(ctx context.Context, clientID string) (*schemas.App, error) {
	start := time.Now()
	out, err := s.Store.FindAppByClientID(ctx, clientID)
	s.done("FindAppByClientID", start, err, 0)
	return out, err
}

func (s *store) UpdateApp(ctx context.Context, id string, fn func(*schemas.App) error, audit storage.Audit[*schemas.App]) (*schemas.App, error) {
	start, n := time.Now(), 0
	out, err := s.Store.UpdateApp(ctx, id, fn, counted(audit, &n))
	s.done("UpdateApp", start, err, n)
	return out, err
}

func (s *store) DeleteApp(ctx context.Context, id string, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.DeleteApp(ctx, id, e)
	s.done("DeleteApp", start, err, one(e))
	return err
}

func (s *store) ListApps(ctx context.Context, kind string) ([]*schemas.App, error) {
	start := time.Now()
	out, err := s.Store.ListApps(ctx, kind)
	s.done("ListApps", start, err, 0)
	return out, err
}

func (s *store) CreateAPIToken(ctx context.Context, t *schemas.APIToken, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.CreateAPIToken(ctx, t, e)
	s.done("CreateAPIToken", start, err, one(e))
	return err
}

func (s *store) FindAPIToken(ctx context.Context, hash string) (*schemas.APIToken, error) {
	start := time.Now()
	out, err := s.Store.FindAPIToken(ctx, hash)
	s.done("FindAPIToken", start, err, 0)
	return out, err
}

func (s *store) DeleteAPIToken(ctx context.Context, id string, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.DeleteAPIToken(ctx, id, e)
	s.done("DeleteAPIToken", start, err, one(e))
	return err
}

func (s *store) CreateAdmin(ctx context.Context, a *schemas.Admin, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.CreateAdmin(ctx, a, e)
	s.done("CreateAdmin", start, err, one(e))
	return err
}

func (s *store) UpdateAdmin(ctx context.Context, id string, fn func(*schemas.Admin) error, e *schemas.Event) (*schemas.Admin, error) {
	start := time.Now()
	out, err := s.Store.UpdateAdmin(ctx, id, fn, e)
	s.done("UpdateAdmin", start, err, one(e))
	return out, err
}

func (s *store) DeleteAdmin(ctx context.Context, id string, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.DeleteAdmin(ctx, id, e)
	s.done("DeleteAdmin", start, err, one(e))
	return err
}

func (s *store) CreateSession(ctx context.Context, x *schemas.Session, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.CreateSession(ctx, x, e)
	s.done("CreateSession", start, err, one(e))
	return err
}

func (s *store) DeleteSession(ctx context.Context, id string, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.DeleteSession(ctx, id, e)
	s.done("DeleteSession", start, err, one(e))
	return err
}

func (s *store) AppendEvent(ctx context.Context, e *schemas.Event) error {
	start := time.Now()
	err := s.Store.AppendEvent(ctx, e)
	s.done("AppendEvent", start, err, one(e))
	return err
}

func (s *store) ListEvents(ctx context.Context, q storage.EventQuery) (storage.Page[*schemas.Event], error) {
	start := time.Now()
	out, err := s.Store.ListEvents(ctx, q)
	s.done("ListEvents", start, err, 0)
	return out, err
}

func (s *store) SigningKeys(ctx context.Context) ([]*schemas.SigningKey, error) {
	start := time.Now()
	out, err := s.Store.SigningKeys(ctx)
	s.done("SigningKeys", start, err, 0)
	return out, err
}
