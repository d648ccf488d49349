package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/storage"
)

// TestMigrateFormat3 checks that a file of format 3 (with ix.userName,
// ix.email and ix.phone next to ix.login) is migrated at open: the three
// buckets are gone, every user is still found by each unique field, a key
// the old index gave to another user than ix.login (a clash stored before
// login identifiers were unique) still finds that user, and the clash goes
// when its user gives the key up.
func TestMigrateFormat3(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	users := createUsers(t, s, 20)
	s.Close()
	// Make it the file format 3 wrote: the three indexes, and one clash.
	clashKey := "shared-login@example.org"
	updateFile(t, dir, func(tx *bolt.Tx) error {
		if err := toFormat5(tx); err != nil { // versions in userVersions, as in format 3
			return err
		}
		for kind, name := range bucketsV3 {
			bk, err := tx.CreateBucket(name)
			if err != nil {
				return err
			}
			for _, u := range users {
				if k := keysOfUser(u)[kind]; k != "" {
					if err := bk.Put([]byte(k), []byte(u.ID)); err != nil {
						return err
					}
				}
			}
		}
		if err := tx.Bucket(bucketUserIndex[kLogin]).Put([]byte(clashKey), []byte(users[1].ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketsV3[kUserName]).Put([]byte(clashKey), []byte(users[2].ID)); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV3))
	})

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.fileView(func(tx *bolt.Tx) error {
		if f := string(tx.Bucket(bucketMeta).Get(keyFormat)); f != formatVersion {
			t.Errorf("format after migration %q, want %q", f, formatVersion)
		}
		for _, name := range bucketsV3 {
			if tx.Bucket(name) != nil {
				t.Errorf("bucket %s is still there", name)
			}
		}
		return nil
	})
	for _, u := range users {
		for field, v := range map[string]string{storage.FieldUserName: u.UserName, storage.FieldEmail: u.Emails[0].Value,
			storage.FieldPhoneNumber: u.PhoneNumbers[0].Value, storage.FieldExternalID: u.ExternalID} {
			got, err := s.FindUser(ctx, field, v)
			if err != nil || got.ID != u.ID {
				t.Fatalf("FindUser(%s, %q) = %v, %v; want %s", field, v, got, err, u.ID)
			}
		}
		// A user's email is not its userName: the login key alone does not find it.
		if _, err := s.FindUser(ctx, storage.FieldUserName, u.Emails[0].Value); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("FindUser(userName, %q) = %v; want not found", u.Emails[0].Value, err)
		}
	}
	if got, err := s.FindUser(ctx, storage.FieldUserName, clashKey); err != nil || got.ID != users[2].ID {
		t.Fatalf("the kept clash: FindUser(userName) = %v, %v; want %s", got, err, users[2].ID)
	}
	// users[2] gives the key up (as a write moving its userName from it does): the clash goes.
	err = s.submit(func(b *batch) error {
		b.staged++
		return b.move(kUserName, users[2].ID, clashKey, "other")
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindUser(ctx, storage.FieldUserName, clashKey); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after the move: FindUser(userName, clash key) = %v; want not found", err)
	}
}

// TestOpenCurrentFileWritesNothing checks that opening a file that is already
// current commits no transaction: init's steps each cost a commit (free list,
// meta page, fsync) even when they change nothing.
func TestOpenCurrentFileWritesNothing(t *testing.T) {
	dir := t.TempDir()
	txid := func() int {
		t.Helper()
		db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var id int
		if err := db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	reopen := func() {
		t.Helper()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	reopen() // creates the file
	before := txid()
	reopen()
	if after := txid(); after != before {
		t.Errorf("opening a current file committed %d transactions, want 0", after-before)
	}
}
