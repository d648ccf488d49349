package embedded

import (
	"bytes"
	"errors"
	"testing"

	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded/internal/wal"
)

// TestFailedSyncWithdrawsBatch: a batch whose log sync fails is answered
// with the failure (unavailable), is never visible, and is not in the file
// that Close's apply of the overlay writes, whose reopen has every write
// before it and none of it. The batch's record is over 1 MiB, which the
// writer lets go once the batch is committed or withdrawn (commitBatch).
func TestFailedSyncWithdrawsBatch(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWithOptions(dir, Options{keepLag: true}) // (no housekeeping batch)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	put := func(kv map[string][]byte) func(b *batch) error {
		return func(b *batch) error {
			for k, v := range kv {
				b.staged++
				if err := b.u.bucket(fbMeta).Put([]byte(k), v); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := s.submit(put(map[string][]byte{"test-a": []byte("v")})); err != nil {
		t.Fatal(err)
	}
	fault := errors.New("injected fsync failure")
	old := logSync
	t.Cleanup(func() { logSync = old })
	logSync = func(l *wal.Log) error {
		l.Fail(fault) // as a failed fsync leaves it
		return l.Sync()
	}
	big := bytes.Repeat([]byte("x"), 3<<19)
	err = s.submit(put(map[string][]byte{"test-big": big, "test-b": []byte("v")}))
	if !errors.Is(err, fault) || !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("the batch answered %v, want the sync's failure, unavailable", err)
	}
	if got := metaKeys(t, s, "test-a", "test-big", "test-b"); !got[0] || got[1] || got[2] {
		t.Fatalf("after the failure a reader sees a, big, b: %v", got)
	}
	s.Close() // applies the overlay to the file (and reports the failed log)
	logSync = old
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	if got := metaKeys(t, s, "test-a", "test-big", "test-b"); !got[0] || got[1] || got[2] {
		t.Fatalf("after a reopen a reader sees a, big, b: %v", got)
	}
	if err := s.submit(put(map[string][]byte{"test-c": []byte("v")})); err != nil {
		t.Fatalf("a write after the reopen: %v", err)
	}
}
