package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// adminDoc is the stored form of a schemas.Admin.
type adminDoc struct {
	ID           string    `bson:"_id"`
	Version      int64     `bson:"version"`
	Email        string    `bson:"email"`
	PasswordHash string    `bson:"passwordHash,omitempty"`
	Created      time.Time `bson:"created"`
	Updated      time.Time `bson:"updated"`
	LastLogin    time.Time `bson:"lastLogin,omitempty"`
	CreatedBy    string    `bson:"createdBy,omitempty"`
}

func adminToDoc(a *schemas.Admin) *adminDoc {
	return &adminDoc{ID: a.ID, Version: a.Version, Email: a.Email, PasswordHash: a.PasswordHash, Created: utc(a.Created),
		Updated: utc(a.Updated), LastLogin: utc(a.LastLogin), CreatedBy: a.CreatedBy}
}

func (d *adminDoc) admin() *schemas.Admin {
	return &schemas.Admin{ID: d.ID, Version: d.Version, Email: d.Email, PasswordHash: d.PasswordHash, Created: utc(d.Created),
		Updated: utc(d.Updated), LastLogin: utc(d.LastLogin), CreatedBy: d.CreatedBy}
}

// sessionDoc is the stored form of a schemas.Session.
type sessionDoc struct {
	ID        string    `bson:"_id"`
	Version   int64     `bson:"version"` // for compare-and-swap (TouchSession with claims)
	AdminID   string    `bson:"adminId"`
	Created   time.Time `bson:"created"`
	LastSeen  time.Time `bson:"lastSeen"`
	Expires   time.Time `bson:"expires"`
	IP        string    `bson:"ip,omitempty"`
	UserAgent string    `bson:"userAgent,omitempty"`
}

func (d *sessionDoc) session() *schemas.Session {
	return &schemas.Session{ID: d.ID, AdminID: d.AdminID, Created: utc(d.Created), LastSeen: utc(d.LastSeen),
		Expires: utc(d.Expires), IP: d.IP, UserAgent: d.UserAgent}
}

// CreateAdmin stores a new administrator (one round trip, plus the event's).
func (s *Store) CreateAdmin(ctx context.Context, a *schemas.Admin, e *schemas.Event) error {
	if a == nil || a.ID == "" {
		return errors.New("mongo: create admin: no id")
	}
	d := adminToDoc(a)
	d.Version = 1
	return s.audited(ctx, e, func() error {
		return s.insert(ctx, s.admins, d, "admin "+a.ID, []conflictCheck{{storage.FieldID, "_id", d.ID}})
	})
}

// GetAdmin returns the administrator with the given id (one round trip).
func (s *Store) GetAdmin(ctx context.Context, id string) (*schemas.Admin, error) {
	var d adminDoc
	if err := s.admins.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, notFound(err, "get admin %s", id)
	}
	return d.admin(), nil
}

// ListAdmins returns every administrator in id order.
func (s *Store) ListAdmins(ctx context.Context) ([]*schemas.Admin, error) {
	return listByID(ctx, s.admins, bson.D{}, "admins", (*adminDoc).admin)
}

// UpdateAdmin applies fn under compare-and-swap on the version.
func (s *Store) UpdateAdmin(ctx context.Context, id string, fn func(*schemas.Admin) error, e *schemas.Event) (*schemas.Admin, error) {
	defer s.locks.lock(collAdmins + "/" + id)()
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return nil, wrap(err, "update admin %s", id)
		}
		var d adminDoc
		if err := s.admins.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
			return nil, notFound(err, "update admin %s", id)
		}
		a := d.admin()
		if err := fn(a); err != nil {
			return nil, err
		}
		a.ID, a.Version = id, d.Version+1
		var swapped bool
		err := s.audited(ctx, e, func() error {
			var err error
			swapped, err = s.swap(ctx, s.admins, id, d.Version, adminToDoc(a))
			if err != nil {
				return wrap(err, "update admin %s", id)
			}
			if !swapped {
				return storage.ErrVersionMismatch // drops the event; the loop tries again
			}
			return nil
		})
		if swapped {
			return a, err
		}
		if err != nil && !errors.Is(err, storage.ErrVersionMismatch) {
			return nil, err
		}
	}
	return nil, wrap(errTooManyAttempts, "update admin %s", id)
}

// DeleteAdmin removes the administrator's sessions, then the administrator:
// if the second step fails, the account stays with no session, never a
// session without its account.
func (s *Store) DeleteAdmin(ctx context.Context, id string, e *schemas.Event) error {
	return s.audited(ctx, e, func() error {
		if err := s.admins.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Err(); err != nil {
			return notFound(err, "delete admin %s", id)
		}
		if _, err := s.sessions.DeleteMany(ctx, bson.D{{Key: "adminId", Value: id}}); err != nil {
			return wrap(err, "delete sessions of admin %s", id)
		}
		return s.deleteOne(ctx, s.admins, id, "admin")
	})
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, ss *schemas.Session, e *schemas.Event) error {
	if ss == nil || ss.ID == "" {
		return errors.New("mongo: create session: no id")
	}
	d := &sessionDoc{ID: ss.ID, Version: 1, AdminID: ss.AdminID, Created: utc(ss.Created), LastSeen: utc(ss.LastSeen),
		Expires: utc(ss.Expires), IP: ss.IP, UserAgent: ss.UserAgent}
	return s.audited(ctx, e, func() error {
		return s.insert(ctx, s.sessions, d, "session", []conflictCheck{{storage.FieldID, "_id", d.ID}})
	})
}

// GetSession returns the session with the given id (one round trip).
func (s *Store) GetSession(ctx context.Context, id string) (*schemas.Session, error) {
	var d sessionDoc
	if err := s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return nil, notFound(err, "get session")
	}
	return d.session(), nil
}

// TouchSession moves LastSeen forward with one $max update (a compare-and-swap
// with claims, as TouchAPIToken).
func (s *Store) TouchSession(ctx context.Context, id string, t time.Time) error {
	t = t.UTC()
	if !s.claims {
		res, err := s.sessions.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
			bson.D{{Key: "$max", Value: bson.D{{Key: "lastSeen", Value: t}}}})
		if err != nil {
			return wrap(err, "touch session")
		}
		if res.MatchedCount == 0 {
			return storage.ErrNotFound
		}
		return nil
	}
	defer s.locks.lock(collSessions + "/" + id)()
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return wrap(err, "touch session")
		}
		var d sessionDoc
		if err := s.sessions.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
			return notFound(err, "touch session")
		}
		if !t.After(d.LastSeen) {
			return nil
		}
		old := d.Version
		d.Version, d.LastSeen = old+1, t
		swapped, err := s.swap(ctx, s.sessions, id, old, &d)
		if err != nil {
			return wrap(err, "touch session")
		}
		if swapped {
			return nil
		}
	}
	return wrap(errTooManyAttempts, "touch session")
}

// DeleteSession removes a session (one round trip, plus the event's).
func (s *Store) DeleteSession(ctx context.Context, id string, e *schemas.Event) error {
	return s.audited(ctx, e, func() error { return s.deleteOne(ctx, s.sessions, id, "session") })
}

// DeleteSessions removes an administrator's sessions but keep, and expired ones.
func (s *Store) DeleteSessions(ctx context.Context, adminID, keep string, expiredBefore time.Time) error {
	if adminID != "" {
		f := bson.D{{Key: "adminId", Value: adminID}}
		if keep != "" {
			f = append(f, bson.E{Key: "_id", Value: bson.D{{Key: "$ne", Value: keep}}})
		}
		if _, err := s.sessions.DeleteMany(ctx, f); err != nil {
			return wrap(err, "delete sessions of admin %s", adminID)
		}
	}
	if !expiredBefore.IsZero() {
		f := bson.D{{Key: "expires", Value: bson.D{{Key: "$lt", Value: expiredBefore.UTC()}}}}
		if _, err := s.sessions.DeleteMany(ctx, f); err != nil {
			return wrap(err, "delete expired sessions")
		}
	}
	return nil
}
