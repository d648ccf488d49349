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

// OpenExisting opens the store of dir as Open does, but only one that
// exists: where Open would create an empty store (a wrong directory, a
// default --data-dir in the wrong working directory), it fails with the
// error of os.Stat (fs.ErrNotExist). The offline backup opens its store
// through it; Compact checks the same way.
func OpenExisting(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		return nil, err
	}
	return Open(dir)
}

// Compact replaces the store file of dir with a compacted copy, offline,
// and returns the file's sizes before and after: what `scimd compact` runs.
// It opens the store (as OpenExisting: a directory without one is an error,
// and one held by another process is refused as "in use"), which migrates
// an older file as a start does, writes the copy as compactAfterMigration
// does — the one mechanism of both: replaceCompacted, with the file lock
// held throughout — and closes the store. On any failure the file is left
// as it was (or as the migration left it).
func Compact(dir string) (before, after int64, err error) {
	path := filepath.Join(dir, FileName)
	fi, err := os.Stat(path) // Open would create a store where there is none
	if err != nil {
		return 0, 0, err
	}
	before = fi.Size() // before Open, which may migrate it
	// keepLag: the idle writer would otherwise drain the membership lag
	// into the file while it is copied, commits the rename then discards.
	s, err := OpenWithOptions(dir, Options{keepLag: true})
	if err != nil {
		return 0, 0, err
	}
	// No write reaches the file meanwhile: the store was just opened here,
	// its writer takes requests only from its own methods, and it leaves
	// the lag alone (the copy keeps it, as valid as in the file).
	after, err = replaceCompacted(s.db, path)
	// The old file is unlinked now (or untouched): closing it writes nothing.
	return before, after, errors.Join(err, s.Close())
}

// compactInto copies src into a new bbolt file at path, synced, and returns
// its size (see replaceCompacted).
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
// migrated by init (see migrates), with a compacted copy of it
// (replaceCompacted), and returns the copy open with opts in db's place. db
// is closed when it returns, on failure too.
//
// Why: a migration rewrites indexes in place, and the pages it frees stay in
// bbolt's persisted free list, which every later commit sorts and writes
// whole (a 1M-user store migrated in place created users at 0.56× the rate of
// a fresh one, 58 % of the CPU in commitFreelist; docs/performance.md).
// Not persisting the free list instead would make every Open walk the whole
// file to rebuild it (2.8 s at 1M users, above the 2 s start target).
//
// On a failure before the rename the file at path is the migrated,
// uncompacted one (valid: the next Open uses it as is, and `scimd compact`
// compacts it).
func compactAfterMigration(db *bolt.DB, path string, opts *bolt.Options) (*bolt.DB, error) {
	if _, err := replaceCompacted(db, path); err != nil {
		db.Close()
		return nil, err
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

// replaceCompacted replaces the file at path, open as db (which keeps the
// file lock meanwhile, and to which nothing writes), with a compacted copy
// of it and returns the copy's size: compactInto path+".compact" (a copy
// left there by a compaction a crash interrupted is replaced), synced, then
// checked — it opens with bbolt and its meta bucket names the current
// format —, renamed over path, and the directory synced. On a failure before
// the rename the copy is removed and path is untouched. db still maps the
// old file, now unlinked: the caller closes it.
func replaceCompacted(db *bolt.DB, path string) (int64, error) {
	tmp := path + ".compact"
	_ = os.Remove(tmp)
	size, err := compactInto(db, tmp)
	if err == nil {
		err = checkCopy(tmp)
	}
	if err == nil {
		if err = os.Rename(tmp, path); err != nil {
			err = fmt.Errorf("embedded: compact: %w", err)
		}
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return size, nil
}

// checkCopy opens the compacted copy at path read-only and checks that it is
// a store file of the current format.
func checkCopy(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("embedded: compact: the copy does not open: %w", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || string(meta.Get(keyFormat)) != formatVersion {
			return errors.New("the copy is not a current store file")
		}
		return nil
	})
	if err = errors.Join(err, db.Close()); err != nil {
		return fmt.Errorf("embedded: compact: %w", err)
	}
	return nil
}
