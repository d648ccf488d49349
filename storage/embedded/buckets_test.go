package embedded

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestBucketFill checks that a bucket opened through txBuckets in a write
// transaction (the overlay's apply) has the page fill of fileBucketSpecs (time-ordered
// keys: full pages; the event index: 0.7), and that every bucket of the table exists in a new file.
func TestBucketFill(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.fileUpdate(func(tx *bolt.Tx) error {
		b := struct{ u *txBuckets }{&txBuckets{tx: tx}}
		for i, spec := range fileBucketSpecs {
			bk := b.u.bucket(fileBucket(i))
			if spec.name == nil {
				if bk != nil {
					t.Errorf("slot %d has no bucket, got one", i)
				}
				continue
			}
			if bk == nil {
				t.Errorf("bucket %s: missing", spec.name)
				continue
			}
			want := spec.fill
			if want == 0 {
				want = bolt.DefaultFillPercent
			}
			if bk.b.FillPercent != want {
				t.Errorf("bucket %s: fill %v, want %v", spec.name, bk.b.FillPercent, want)
			}
		}
		for _, fb := range []fileBucket{fbUsers, fbUserRows, fbSearchRecords, fbEvents, fbGroups} {
			if f := b.u.bucket(fb).b.FillPercent; f != 0.9 {
				t.Errorf("bucket %s: fill %v, want 0.9 (time-ordered keys)", fileBucketSpecs[fb].name, f)
			}
		}
		// The event index's target entries land anywhere in it: pages split
		// at 0.9 leave it half empty (see bucketSpec).
		if f := b.u.bucket(fbEventIndex).b.FillPercent; f != 0.7 {
			t.Errorf("bucket %s: fill %v, want 0.7 (scattered keys)", bucketEventIndex, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
