package embedded

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// fileRSS returns the process's resident file-backed and shared memory in
// bytes: /proc/self/statm's third field, in pages.
func fileRSS() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0, false
	}
	return n * int64(os.Getpagesize()), true
}

// dropPages drops the process's mappings of the size bytes mapped at addr
// (madvise MADV_DONTNEED). For bbolt's read-only shared map of the file it
// loses nothing: a later read maps the page again from the page cache.
func dropPages(addr uintptr, size int64) error {
	if size <= 0 {
		return nil
	}
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(size), syscall.MADV_DONTNEED); e != 0 {
		return e
	}
	return nil
}
