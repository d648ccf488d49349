package embedded

import (
	"context"
	"encoding/binary"
	"time"
)

// bucketLoginFailures holds the recent failed logins of each user: the user id
// → the failure times as big-endian Unix milliseconds, oldest first.
var bucketLoginFailures = []byte("loginFailures")

func decodeFailures(v []byte) []int64 {
	out := make([]int64, 0, len(v)/8)
	for ; len(v) >= 8; v = v[8:] {
		out = append(out, int64(binary.BigEndian.Uint64(v)))
	}
	return out
}

func encodeFailures(ts []int64) []byte {
	b := make([]byte, 8*len(ts))
	for i, t := range ts {
		binary.BigEndian.PutUint64(b[8*i:], uint64(t))
	}
	return b
}

// AddLoginFailure records a failed login of the user at t, forgets the ones
// at or before t-window, and returns how many remain (this one included). It
// is durable when it returns, like every write.
func (s *Store) AddLoginFailure(ctx context.Context, userID string, t time.Time, window time.Duration) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int
	err := s.submit(func(b *batch) error {
		bk := b.u.bucket(fbLoginFailures)
		cutoff := t.Add(-window).UnixMilli()
		kept := []int64{}
		for _, f := range decodeFailures(bk.Get([]byte(userID))) {
			if f > cutoff {
				kept = append(kept, f)
			}
		}
		kept = append(kept, t.UnixMilli())
		n = len(kept)
		b.staged++
		return bk.Put([]byte(userID), encodeFailures(kept))
	})
	return n, err
}

// LoginFailures returns how many failed logins of the user are after since.
func (s *Store) LoginFailures(ctx context.Context, userID string, since time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.rlock(); err != nil {
		return 0, err
	}
	s.mu.RUnlock()
	n := 0
	err := s.readView(func(t *txBuckets) error {
		for _, f := range decodeFailures(t.bucket(fbLoginFailures).Get([]byte(userID))) {
			if f > since.UnixMilli() {
				n++
			}
		}
		return nil
	})
	return n, err
}

// ClearLoginFailures forgets the user's failed logins.
func (s *Store) ClearLoginFailures(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.submit(func(b *batch) error {
		bk := b.u.bucket(fbLoginFailures)
		if bk.Get([]byte(userID)) == nil {
			return nil
		}
		b.staged++
		return bk.Delete([]byte(userID))
	})
}
