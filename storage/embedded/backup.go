package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole database file to w while the
// store keeps serving: it first has the overlay applied to the file (every
// write committed before Backup was called), then one read transaction
// (bbolt's Tx.WriteTo) copies the file as it is, with every write applied
// before it started and none after, and writes go on meanwhile. The copy is a complete scimd.db, ready to be put in a data
// directory (`scimd restore`). It returns the number of bytes written. When
// ctx ends the copy stops with ctx's error (what was written is incomplete).
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if s.shut.Load() {
		return 0, ErrClosed
	}
	// The copy is the file's: first the overlay's writes into it.
	if err := s.catchUp(ctx); err != nil {
		return 0, fmt.Errorf("embedded: backup: %w", err)
	}
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(ctxWriter{ctx, w})
		return err
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return 0, ErrClosed // closed between the check and the transaction
	}
	if err != nil {
		return n, fmt.Errorf("embedded: backup: %w", err)
	}
	return n, nil
}

// ctxWriter fails writes once ctx has ended.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Sync flushes the database file to disk: what a store opened with NoSync
// needs once a bulk load is done, before it is trusted. After Close it is
// ErrClosed (Close syncs what it closes).
func (s *Store) Sync() error {
	if s.shut.Load() {
		return ErrClosed
	}
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("embedded: sync: %w", err)
	}
	return nil
}
