//go:build linux

package wal

import (
	"errors"
	"os"
	"syscall"
)

// datasync makes f's data durable, and the metadata needed to read it back
// (its size when that changed), without the rest of its metadata (mtime).
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

// preallocate reserves n bytes for f (reading as zeros), extending its size,
// so that appends within them change no file size for fdatasync to flush. It
// is best effort: a file system without fallocate keeps the file as it is.
func preallocate(f *os.File, n int64) error {
	for {
		err := syscall.Fallocate(int(f.Fd()), 0, 0, n)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.ENOSYS):
			return nil
		default:
			return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
		}
	}
}
