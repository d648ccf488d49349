package embedded

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// freePages opens the file of dir with bbolt alone and returns the number of
// pages in its free list and the file's size.
func freePages(t *testing.T, dir string) (int, int64) {
	t.Helper()
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, nil) // read-only, bbolt loads no free list
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := db.Stats()
	return st.FreePageN + st.PendingPageN, fi.Size()
}

// TestOpenCompactsAfterMigration checks that a file Open migrates in place
// (here its search index is of an older layout, which Open rebuilds: the old
// postings' pages are freed) is left without those free pages — compacted —,
// smaller, with every user found and writes taken — a copy left by an
// interrupted compaction does not stand in the way; and that opening a
// current file does not compact it (its size and free list stay as they
// were).
func TestOpenCompactsAfterMigration(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	users := createUsers(t, s, 1500)
	if err := s.catchUp(ctx); err != nil { // the creates in the file, the deletes in a later transaction
		t.Fatal(err)
	}
	// Deletes leave free pages in a current file: Open must not compact it.
	for _, u := range users[1000:] {
		if err := s.DeleteUser(ctx, u.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	users = users[:1000]
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	free0, size0 := freePages(t, dir)
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if free, size := freePages(t, dir); free != free0 || size != size0 {
		t.Fatalf("opening a current file changed it: %d free pages, %d bytes; were %d, %d", free, size, free0, size0)
	}
	if free0 < 50 {
		t.Fatalf("the deletes left %d free pages; the test needs a file with many", free0)
	}

	updateFile(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySearchFormat, []byte("1")) })
	// What a compaction interrupted by a crash leaves: replaced, not read.
	if err := os.WriteFile(filepath.Join(dir, FileName+".compact"), []byte("torn copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		got, err := s.FindUser(ctx, storage.FieldUserName, u.UserName)
		if err != nil || got.ID != u.ID {
			t.Fatalf("after the migration FindUser(%q) = %v, %v", u.UserName, got, err)
		}
	}
	// The rebuilt search index answers as the evaluator does.
	checkFilter(t, s, `name.familyName co "`+users[7].Name.FamilyName[1:4]+`"`, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	free, size := freePages(t, dir)
	if free > 8 || size >= size0 {
		t.Fatalf("after the migration the file has %d free pages and %d bytes (before it %d free pages, %d bytes): not compacted",
			free, size, free0, size0)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+".compact")); !os.IsNotExist(err) {
		t.Fatalf("the compaction's copy is left behind: %v", err)
	}
	// The compacted file takes writes.
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateUser(ctx, storagetest.NewUser(5000), nil); err != nil {
		t.Fatalf("a create after the migration: %v", err)
	}
}

// TestOpenCompactionFailureKeepsMigratedFile checks the failure the doc of
// compactAfterMigration promises: when the compacted copy cannot be written
// (here its path is taken by a directory), Open fails saying so, and the file
// it migrated is intact: the next Open opens it, every user there.
func TestOpenCompactionFailureKeepsMigratedFile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	users := createUsers(t, s, 50)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	updateFile(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySearchFormat, []byte("1")) })
	if err := os.MkdirAll(filepath.Join(dir, FileName+".compact", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil || !strings.Contains(err.Error(), "compacting it failed") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open with the copy's path taken: %v; want a compaction failure", err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatalf("the next Open: %v", err)
	}
	defer s.Close()
	for _, u := range users {
		if got, err := s.FindUser(ctx, storage.FieldUserName, u.UserName); err != nil || got.ID != u.ID {
			t.Fatalf("FindUser(%q) = %v, %v", u.UserName, got, err)
		}
	}
	checkFilter(t, s, `userName co "`+users[3].UserName[2:6]+`"`, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect})
}

// TestOpenMigratesV4 checks that a format-4 file (no pendingPosts bucket,
// versions in userVersions) is migrated at Open through format 5 to the
// current one — the bucket created, every record rewritten with its version
// (migrateV5) — and, as that rewrites every record, compacted.
func TestOpenMigratesV4(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenWithOptions(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := userIDs(createUsers(t, s, 1500))
	for _, id := range ids[1000:] { // free pages, which a compaction would drop
		if err := s.DeleteUser(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	updateFile(t, dir, func(tx *bolt.Tx) error {
		if err := toFormat5(tx); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketPending); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV4))
	})
	free0, _ := freePages(t, dir)
	if free0 < 50 {
		t.Fatalf("the deletes left %d free pages; the test needs a file with many", free0)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.ListUsers(ctx, storage.Query{}); err != nil || p.Total != 1000 {
		t.Errorf("users after Open: %d, %v; want 1000", p.Total, err)
	}
	s.Close()
	if free, _ := freePages(t, dir); free > free0/2 {
		t.Errorf("Open did not compact the migrated format-4 file: %d free pages, were %d", free, free0)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketPending) == nil {
			t.Error("Open did not create the pendingPosts bucket")
		}
		if tx.Bucket(bucketUserVersions) != nil {
			t.Error("Open left the userVersions bucket")
		}
		if f := string(tx.Bucket(bucketMeta).Get(keyFormat)); f != formatVersion {
			t.Errorf("format after Open %q, want %q", f, formatVersion)
		}
		return nil
	})
}

// TestOfflineOpsOnClosedStore: Backup and Sync of a closed store fail with
// ErrClosed (not a file error), and Compact and OpenExisting of a directory
// without a store fail without creating one.
func TestOfflineOpsOnClosedStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(context.Background(), io.Discard); !errors.Is(err, ErrClosed) {
		t.Errorf("Backup after Close: %v, want ErrClosed", err)
	}
	if err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v, want ErrClosed", err)
	}
	empty := t.TempDir()
	if _, _, err := Compact(empty); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Compact of a directory without a store: %v, want fs.ErrNotExist", err)
	}
	if s, err := OpenExisting(empty); !errors.Is(err, fs.ErrNotExist) {
		if s != nil {
			s.Close()
		}
		t.Errorf("OpenExisting of a directory without a store: %v, want fs.ErrNotExist", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a store was created: %v", entries)
	}
}
