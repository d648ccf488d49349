package embedded

import (
	"testing"

	"github.com/scimd/scimd/storage/storagetest"
)

// BenchmarkImageAfter: the image of a generated user after the change a
// PUT of scimload's makes to searched values (displayName and status),
// from the image before it (update computes both; the first as imageOf).
func BenchmarkImageAfter(b *testing.B) {
	u := storagetest.NewUser(12345)
	old := imageOf(u)
	nu := *u
	nu.DisplayName += " v1"
	nu.Status = "Disabled"
	b.ReportAllocs()
	for b.Loop() {
		imageAfter(old, &nu)
	}
}

// BenchmarkPostings: the postings of a generated user from scratch.
func BenchmarkPostings(b *testing.B) {
	u := storagetest.NewUser(12345)
	b.ReportAllocs()
	for b.Loop() {
		postingsOf(u)
	}
}
