package embedded

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// toFormat5 makes the current file of tx the file format 5 wrote: that of
// format 6 (toFormat6) with every user record in codec userCodecV1 (no
// version) and its record version in the userVersions bucket.
func toFormat5(tx *bolt.Tx) error {
	if err := toFormat6(tx); err != nil {
		return err
	}
	versions, err := tx.CreateBucket(bucketUserVersions)
	if err != nil {
		return err
	}
	recs := tx.Bucket(bucketUsers)
	type rec struct{ id, v []byte }
	var all []rec
	err = recs.ForEach(func(k, v []byte) error {
		if v[0] != userCodecV2 {
			return fmt.Errorf("user %s: codec %#x", k, v[0])
		}
		all = append(all, rec{bytes.Clone(k), bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range all {
		if err := versions.Put(r.id, encodeVersion(recordVersion(r.v))); err != nil {
			return err
		}
		if err := recs.Put(r.id, append([]byte{userCodecV1}, r.v[recordHeader:]...)); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV5))
}

// TestMigrateFormat5 checks that a file of format 5 (versions in
// userVersions) is migrated at open to format 6: every user reads back
// identical, versions included (a record version and a membership count
// both count), the userVersions bucket is gone, the file is compacted, and
// writes go on from the versions read. It also opens a file a crash left
// half-migrated (the first chunks rewritten and recorded, the format still
// 5): the migration resumes after the last user recorded.
func TestMigrateFormat5(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("crashed=%v", crashed), func(t *testing.T) {
			defer func(n int) { migrateChunk = n }(migrateChunk)
			migrateChunk = 7
			dir := t.TempDir()
			ctx := context.Background()
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			users := createUsers(t, s, 60)
			g, err := s.CreateGroup(ctx, &schemas.Group{ID: "g1", DisplayName: "G1"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, u := range users[:30] {
				if i%3 == 0 { // a record version above 1
					if _, err := s.UpdateUser(ctx, u.ID, 0, func(u *schemas.User) error { u.Title = "T"; return nil }, nil); err != nil {
						t.Fatal(err)
					}
				}
				if i%2 == 0 { // a membership count
					ch := storage.GroupChange{Members: []storage.MemberOp{{Op: "add", IDs: []string{u.ID}}}, At: time.Now().UTC()}
					if _, err := s.PatchGroup(ctx, g.ID, ch, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, id := range userIDs(users[50:]) { // free pages, which the compaction drops
				if err := s.DeleteUser(ctx, id, nil); err != nil {
					t.Fatal(err)
				}
			}
			before, err := s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			updateFile(t, dir, func(tx *bolt.Tx) error {
				if err := toFormat5(tx); err != nil {
					return err
				}
				if !crashed {
					return nil
				}
				// What the first two chunks of migrateV5 leave.
				recs, n := tx.Bucket(bucketUsers), 0
				var last []byte
				c := recs.Cursor()
				for k, v := c.First(); k != nil && n < 2*migrateChunk; k, v = c.Next() {
					nu := append([]byte{userCodecV2, 0, 0, 0, 0, 0, 0, 0, 0}, v[1:]...)
					setRecordVersion(nu, decodeVersion(tx.Bucket(bucketUserVersions).Get(k)))
					last = bytes.Clone(k)
					if err := recs.Put(last, nu); err != nil {
						return err
					}
					c.Seek(last)
					n++
				}
				return tx.Bucket(bucketMeta).Put(keyRecordVersionsTo, last)
			})
			free0, _ := freePages(t, dir)

			s, err = Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			after, err := s.ListUsers(ctx, storage.Query{Limit: storage.Unlimited})
			if err != nil {
				t.Fatal(err)
			}
			if len(after.Items) != len(before.Items) || len(before.Items) != 50 {
				t.Fatalf("%d users after the migration, %d before; want 50", len(after.Items), len(before.Items))
			}
			for i, u := range before.Items {
				got, err := s.GetUser(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, u) || after.Items[i].Version != u.Version {
					t.Errorf("user %s after the migration: %+v (listed version %d), want %+v",
						u.ID, got, after.Items[i].Version, u)
				}
			}
			s.fileView(func(tx *bolt.Tx) error {
				meta := tx.Bucket(bucketMeta)
				if f := string(meta.Get(keyFormat)); f != formatVersion {
					t.Errorf("format after the migration %q, want %q", f, formatVersion)
				}
				if tx.Bucket(bucketUserVersions) != nil {
					t.Error("the userVersions bucket is still there")
				}
				if meta.Get(keyRecordVersions) != nil || meta.Get(keyRecordVersionsTo) != nil {
					t.Error("the migration's progress keys are still there")
				}
				return nil
			})
			// Writes go on from the migrated versions.
			for _, u := range before.Items[:4] {
				nu, err := s.UpdateUser(ctx, u.ID, u.Version, func(u *schemas.User) error { u.Title = "after"; return nil }, nil)
				if err != nil || nu.Version != u.Version+1 {
					t.Fatalf("update after the migration: %v, %v; want version %d", nu, err, u.Version+1)
				}
				if got, err := s.GetUser(ctx, u.ID); err != nil || got.Version != u.Version+1 || got.Title != "after" {
					t.Fatalf("user after the update: %+v, %v; want version %d", got, err, u.Version+1)
				}
			}
			s.Close()
			if free, _ := freePages(t, dir); free > free0/2 {
				t.Errorf("Open did not compact the migrated file: %d free pages, were %d", free, free0)
			}
		})
	}
}

// toFormat6 makes the current file of tx the file format 6 wrote: the
// event index split into ix.eventTarget and ix.eventActor, keys without
// the kind byte.
func toFormat6(tx *bolt.Tx) error {
	var olds [2]*bolt.Bucket
	for i, name := range bucketsV6EventIndexes {
		b, err := tx.CreateBucket(name)
		if err != nil {
			return err
		}
		olds[i] = b
	}
	err := tx.Bucket(bucketEventIndex).ForEach(func(k, v []byte) error {
		return olds[k[0]].Put(bytes.Clone(k[1:]), present)
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketEventIndex); err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV6))
}

// TestMigrateFormat6 checks that a file of format 6 (the event indexes by
// target and by actor in two buckets) is migrated at open to format 7: the
// two buckets are gone, the index has every entry once, and listing events
// by target, by actor and by both gives what filtering the whole log gives.
// It also opens a file a crash left half-migrated (the first chunk of
// targets copied and recorded, the format still 6).
func TestMigrateFormat6(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("crashed=%v", crashed), func(t *testing.T) { testMigrateFormat6(t, crashed) })
	}
}

func testMigrateFormat6(t *testing.T, crashed bool) {
	defer func(n int) { migrateChunk = n }(migrateChunk)
	migrateChunk = 7
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendTestEvents(t, s, 40)
	s.Close()
	updateFile(t, dir, func(tx *bolt.Tx) error {
		if err := toFormat6(tx); err != nil || !crashed {
			return err
		}
		// What the first chunk of mergeEventIndexesV6 leaves.
		ix, err := tx.CreateBucket(bucketEventIndex)
		if err != nil {
			return err
		}
		var last []byte
		c := tx.Bucket(bucketsV6EventIndexes[ixTarget]).Cursor()
		k, _ := c.First()
		for range migrateChunk {
			last = bytes.Clone(k)
			if err := ix.Put(append([]byte{ixTarget}, k...), present); err != nil {
				return err
			}
			k, _ = c.Next()
		}
		return tx.Bucket(bucketMeta).Put(keyEventIndexMergedTo[ixTarget], last)
	})

	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.fileView(func(tx *bolt.Tx) error {
		if f := string(tx.Bucket(bucketMeta).Get(keyFormat)); f != formatVersion {
			t.Errorf("format after the migration %q, want %q", f, formatVersion)
		}
		for _, name := range bucketsV6EventIndexes {
			if tx.Bucket(name) != nil {
				t.Errorf("bucket %s is still there", name)
			}
		}
		if n := tx.Bucket(bucketEventIndex).Stats().KeyN; n != 80 {
			t.Errorf("the event index has %d entries, want 80", n)
		}
		for kind := range bucketsV6EventIndexes {
			if tx.Bucket(bucketMeta).Get(keyEventIndexMerged[kind]) != nil || tx.Bucket(bucketMeta).Get(keyEventIndexMergedTo[kind]) != nil {
				t.Errorf("the progress keys of kind %d are still there", kind)
			}
		}
		return nil
	})
	all, err := s.ListEvents(ctx, storage.EventQuery{Limit: storage.Unlimited})
	if err != nil || len(all.Items) != 40 {
		t.Fatalf("ListEvents: %d events, %v; want 40", len(all.Items), err)
	}
	for _, q := range []storage.EventQuery{{TargetID: "u1"}, {ActorID: "a2"}, {TargetID: "u3", ActorID: "a0"}} {
		q.Limit = storage.Unlimited
		var want []string
		for _, e := range all.Items {
			if (q.TargetID == "" || e.TargetID == q.TargetID) && (q.ActorID == "" || e.ActorID == q.ActorID) {
				want = append(want, e.ID)
			}
		}
		got, err := s.ListEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got.Items {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, want) || got.Total != len(want) || len(want) == 0 {
			t.Errorf("ListEvents(%+v) = %v, want %v", q, ids, want)
		}
	}
}
