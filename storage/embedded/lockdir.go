package embedded

import (
	"errors"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// LockDir takes the lock of the store file in dir that Open takes and a
// running server holds (bbolt's exclusive flock), without migrating or
// writing the file and, on Linux, macOS and the BSDs, without reading it:
// for a command that only needs to prove no process has the directory open
// (`scimd restore`, which sets the file aside). The store file must exist.
// Like Open it waits about a second for the lock and then fails with an
// error saying the directory is in use by another scimd process. unlock
// releases the lock; call it exactly once.
func LockDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, FileName)
	unlock, err = lockFile(path)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, inUseError(path, dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: lock %s: %w", path, err)
	}
	return unlock, nil
}

// inUseError is the error of Open and LockDir when another process holds the
// lock of path, the store file of dir.
func inUseError(path, dir string, err error) error {
	return fmt.Errorf("embedded: open %s: data directory %s is in use by another scimd process: %w", path, dir, err)
}
