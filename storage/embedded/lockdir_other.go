//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package embedded

import (
	"os"

	bolt "go.etcd.io/bbolt"
)

// lockFile is where no flock is at hand: bbolt opens the file read-only,
// which takes a shared lock (refused while a process holds the exclusive
// one) and reads the meta pages, but writes nothing.
func lockFile(path string) (func() error, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err // bolt.Open would create it
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return nil, err
	}
	return db.Close, nil
}
