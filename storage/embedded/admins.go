package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Portal administrators and sessions live only in the file: each read is a
// bbolt read transaction (a B-tree lookup), each write goes through the writer
// like every other change, so a session ends for every reader at once.

type adminRec struct {
	ID string    `json:"id"`
	V  int64     `json:"v"`
	Em string    `json:"em"`
	PH string    `json:"ph,omitempty"`
	Cr time.Time `json:"cr"`
	Up time.Time `json:"up"`
	LL time.Time `json:"ll,omitzero"`
	By string    `json:"by,omitempty"`
}

func encodeAdmin(a *schemas.Admin) ([]byte, error) {
	return json.Marshal(&adminRec{ID: a.ID, V: a.Version, Em: a.Email, PH: a.PasswordHash, Cr: utc(a.Created),
		Up: utc(a.Updated), LL: utc(a.LastLogin), By: a.CreatedBy})
}

func decodeAdmin(b []byte) (*schemas.Admin, error) {
	var r adminRec
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &schemas.Admin{ID: r.ID, Version: r.V, Email: r.Em, PasswordHash: r.PH, Created: utc(r.Cr),
		Updated: utc(r.Up), LastLogin: utc(r.LL), CreatedBy: r.By}, nil
}

type sessionRec struct {
	ID  string    `json:"id"`
	Adm string    `json:"adm"`
	Cr  time.Time `json:"cr"`
	LS  time.Time `json:"ls"`
	Ex  time.Time `json:"ex"`
	IP  string    `json:"ip,omitempty"`
	UA  string    `json:"ua,omitempty"`
}

func encodeSession(s *schemas.Session) ([]byte, error) {
	return json.Marshal(&sessionRec{ID: s.ID, Adm: s.AdminID, Cr: utc(s.Created), LS: utc(s.LastSeen),
		Ex: utc(s.Expires), IP: s.IP, UA: s.UserAgent})
}

func decodeSession(b []byte) (*schemas.Session, error) {
	var r sessionRec
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &schemas.Session{ID: r.ID, AdminID: r.Adm, Created: utc(r.Cr), LastSeen: utc(r.LS),
		Expires: utc(r.Ex), IP: r.IP, UserAgent: r.UA}, nil
}

// view runs fn in a read transaction of the file (and the overlay over it),
// failing with ErrClosed after Close.
func (s *Store) view(fn func(t *txBuckets) error) error {
	if err := s.rlock(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	return s.readView(fn)
}

// createKeyed stores the document encode returns under id in bucket, with
// the event; an id already there is a FieldID conflict, an empty id an error.
func (s *Store) createKeyed(ctx context.Context, bucket fileBucket, what, id string, encode func() ([]byte, error), e *schemas.Event) error {
	if id == "" {
		return fmt.Errorf("embedded: create %s: the %s has no id", what, what)
	}
	enc, err := encode()
	if err != nil {
		return fmt.Errorf("embedded: create %s: encode: %w", what, err)
	}
	return s.audited(ctx, e, func(b *batch) error {
		bk := b.u.bucket(bucket)
		if bk.Get([]byte(id)) != nil {
			return storage.Conflict(storage.FieldID)
		}
		b.staged++
		return bk.Put([]byte(id), enc)
	})
}

// getKeyed returns the document under id in bucket, decoded, or
// storage.ErrNotFound.
func getKeyed[T any](s *Store, bucket fileBucket, id string, decode func([]byte) (T, error)) (T, error) {
	var out T
	err := s.view(func(t *txBuckets) error {
		v := t.bucket(bucket).Get([]byte(id))
		if v == nil || id == "" {
			return storage.ErrNotFound
		}
		var err error
		out, err = decode(v)
		return err
	})
	return out, err
}

// deleteKeyed removes the document under id in bucket (storage.ErrNotFound
// when there is none) and, in the same transaction, runs also (if not nil)
// and stores the event.
func (s *Store) deleteKeyed(ctx context.Context, bucket fileBucket, id string, also func(*batch) error, e *schemas.Event) error {
	return s.audited(ctx, e, func(b *batch) error {
		bk := b.u.bucket(bucket)
		if bk.Get([]byte(id)) == nil {
			return storage.ErrNotFound
		}
		b.staged++
		if err := bk.Delete([]byte(id)); err != nil {
			return err
		}
		if also != nil {
			return also(b)
		}
		return nil
	})
}

// CreateAdmin stores a new administrator with Version 1.
func (s *Store) CreateAdmin(ctx context.Context, a *schemas.Admin, e *schemas.Event) error {
	var c schemas.Admin
	if a != nil {
		c = *a
		c.Version = 1
	}
	return s.createKeyed(ctx, fbAdmins, "admin", c.ID, func() ([]byte, error) { return encodeAdmin(&c) }, e)
}

// GetAdmin returns the administrator with the given id, or storage.ErrNotFound.
func (s *Store) GetAdmin(ctx context.Context, id string) (*schemas.Admin, error) {
	return getKeyed(s, fbAdmins, id, decodeAdmin)
}

// ListAdmins returns every administrator in id order.
func (s *Store) ListAdmins(ctx context.Context) ([]*schemas.Admin, error) {
	var out []*schemas.Admin
	err := s.view(func(t *txBuckets) error {
		return t.bucket(fbAdmins).ForEach(func(_, v []byte) error {
			a, err := decodeAdmin(v)
			if err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, err
}

// UpdateAdmin applies fn to a copy of the administrator inside the write
// transaction, so no other write interleaves.
func (s *Store) UpdateAdmin(ctx context.Context, id string, fn func(*schemas.Admin) error, e *schemas.Event) (*schemas.Admin, error) {
	var out *schemas.Admin
	err := s.audited(ctx, e, func(b *batch) error {
		bk := b.u.bucket(fbAdmins)
		v := bk.Get([]byte(id))
		if v == nil {
			return storage.ErrNotFound
		}
		a, err := decodeAdmin(v)
		if err != nil {
			return err
		}
		version := a.Version
		if err := fn(a); err != nil {
			return err
		}
		a.ID, a.Version = id, version+1
		enc, err := encodeAdmin(a)
		if err != nil {
			return err
		}
		b.staged++
		out = a
		return bk.Put([]byte(id), enc)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteAdmin removes the administrator and its sessions in one transaction.
func (s *Store) DeleteAdmin(ctx context.Context, id string, e *schemas.Event) error {
	return s.deleteKeyed(ctx, fbAdmins, id, func(b *batch) error {
		return deleteSessions(b.u.bucket(fbSessions), id, "", time.Time{})
	}, e)
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, ss *schemas.Session, e *schemas.Event) error {
	var id string
	if ss != nil {
		id = ss.ID
	}
	return s.createKeyed(ctx, fbSessions, "session", id, func() ([]byte, error) { return encodeSession(ss) }, e)
}

// GetSession returns the session with the given id, or storage.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (*schemas.Session, error) {
	return getKeyed(s, fbSessions, id, decodeSession)
}

// TouchSession moves LastSeen forward to t.
func (s *Store) TouchSession(ctx context.Context, id string, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.submit(func(b *batch) error {
		bk := b.u.bucket(fbSessions)
		v := bk.Get([]byte(id))
		if v == nil {
			return storage.ErrNotFound
		}
		ss, err := decodeSession(v)
		if err != nil {
			return err
		}
		if !t.After(ss.LastSeen) {
			return nil
		}
		ss.LastSeen = t.UTC()
		enc, err := encodeSession(ss)
		if err != nil {
			return err
		}
		b.staged++
		return bk.Put([]byte(id), enc)
	})
}

// DeleteSession removes a session.
func (s *Store) DeleteSession(ctx context.Context, id string, e *schemas.Event) error {
	return s.deleteKeyed(ctx, fbSessions, id, nil, e)
}

// DeleteSessions removes an administrator's sessions but keep, and expired ones.
func (s *Store) DeleteSessions(ctx context.Context, adminID, keep string, expiredBefore time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.submit(func(b *batch) error {
		b.staged++
		return deleteSessions(b.u.bucket(fbSessions), adminID, keep, expiredBefore)
	})
}

// deleteSessions deletes, in bk, the sessions of adminID (if not empty) except
// keep, and those whose absolute expiry is before expiredBefore (if not zero).
func deleteSessions(bk *kvBucket, adminID, keep string, expiredBefore time.Time) error {
	var doomed [][]byte
	err := bk.ForEach(func(k, v []byte) error {
		ss, err := decodeSession(v)
		if err != nil {
			return err
		}
		mine := adminID != "" && ss.AdminID == adminID && ss.ID != keep
		expired := !expiredBefore.IsZero() && ss.Expires.Before(expiredBefore)
		if mine || expired {
			doomed = append(doomed, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
