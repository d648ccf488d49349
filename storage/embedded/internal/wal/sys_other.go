//go:build !linux

package wal

import "os"

// datasync makes f durable: without fdatasync at hand, a full fsync (on
// darwin, os.File.Sync is F_FULLFSYNC).
func datasync(f *os.File) error { return f.Sync() }

// preallocate does nothing where fallocate is not at hand: appends extend
// the file, and datasync flushes its size with them.
func preallocate(f *os.File, n int64) error { return nil }
