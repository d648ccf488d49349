//go:build !linux

package embedded

// fileRSS is not known outside Linux: stores there keep their mappings (see
// DefaultMappedBytes).
func fileRSS() (int64, bool) { return 0, false }

func dropPages(uintptr, int64) error { return nil }
