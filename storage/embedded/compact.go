package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// compactTxSize is how many bytes of keys and values a compaction copies per
// transaction of the copy (bbolt.Compact commits each time it is reached).
const compactTxSize = 64 << 20

// CompactTo writes a compacted copy of the store's file to path, which must
// be absent or an empty file: every bucket, key, value and bucket sequence as
// one read transaction sees them (bbolt.Compact), on full pages, with no free
// pages. Writes committed after that transaction began are not in the copy;
// `scimd compact` calls it on a store it holds offline, so there are none. The
// copy is synced before CompactTo returns. It returns the copy's size in
// bytes. On failure what was written to path is incomplete; the store is
// unchanged either way.
func (s *Store) CompactTo(path string) (int64, error) {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return 0, ErrClosed
	}
	return compactInto(s.db, path)
}

// compactInto copies src into a new bbolt file at path (see CompactTo).
func compactInto(src *bolt.DB, path string) (int64, error) {
	// Not synced commit by commit: the copy is worth nothing until it is
	// complete, and then it is synced once.
	dst, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, NoSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return 0, fmt.Errorf("embedded: compact into %s: %w", path, err)
	}
	err = bolt.Compact(dst, src, compactTxSize)
	if err == nil {
		err = dst.Sync()
	}
	if err = errors.Join(err, dst.Close()); err != nil {
		return 0, fmt.Errorf("embedded: compact into %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("embedded: compact into %s: %w", path, err)
	}
	return fi.Size(), nil
}

// migrates reports whether init will migrate the file open as db: an existing
// scimd file (its meta bucket has a format) whose records or indexes init
// rewrites or builds — format 1, 3, 4 or 5 (every user record is
// rewritten), 6 (the event index is rebuilt), or an email, event or search
// index not complete. A new file (initialized by init) and a current one
// are not.
func migrates(db *bolt.DB) (bool, error) {
	var yes bool
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return nil
		}
		switch f := string(meta.Get(keyFormat)); f {
		case "":
		case formatV1, formatV3, formatV4, formatV5, formatV6:
			yes = true
		default:
			yes = meta.Get(keyEmailsIndexed) == nil || meta.Get(keyEventsIndexed) == nil ||
				string(meta.Get(keySearchFormat)) != searchFormat
		}
		return nil
	})
	return yes, err
}

// compactAfterMigration replaces the file at path, open as db and just
// migrated by init (see migrates), with a compacted copy of it, and returns the copy open
// with opts in db's place. db is closed when it returns, on failure too.
//
// Why: a migration rewrites indexes in place, and the pages it frees stay in
// bbolt's persisted free list, which every later commit sorts and writes
// whole (a 1M-user store migrated in place created users at 0.56× the rate of
// a fresh one, 58 % of the CPU in commitFreelist; docs/performance.md).
// Not persisting the free list instead would make every Open walk the whole
// file to rebuild it (2.8 s at 1M users, above the 2 s start target).
//
// The copy is written to path+".compact" while db keeps the file lock, synced,
// and renamed over path; the directory is synced. On a failure before the
// rename the copy is removed and the file at path is the migrated,
// uncompacted one (valid: the next Open uses it as is, and `scimd compact`
// compacts it).
func compactAfterMigration(db *bolt.DB, path string, opts *bolt.Options) (*bolt.DB, error) {
	tmp := path + ".compact"
	_ = os.Remove(tmp) // left by a compaction a crash interrupted
	if _, err := compactInto(db, tmp); err != nil {
		_ = os.Remove(tmp)
		db.Close()
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		db.Close()
		return nil, fmt.Errorf("embedded: compact: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	// The old file is unlinked: closing it writes nothing. Between this
	// Close and the Open below another process may take the new file's lock;
	// the Open then fails as for any directory in use.
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("embedded: compact: close the migrated file: %w", err)
	}
	ndb, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, fmt.Errorf("embedded: reopen the compacted file: %w", err)
	}
	return ndb, nil
}
