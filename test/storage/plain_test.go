package storage

import (
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/mongo"
	"github.com/scimd/scimd/storage/storagetest"
	"github.com/scimd/scimd/test/ferret"
)

// TestFerretDBPlainOperators checks, on FerretDB, the update operators the
// plain (claim-free) mode relies on when there is no concurrency: $addToSet
// and $pull of a plain value with $inc through UpdateMany, and $max. (FerretDB
// v1 runs them non-atomically, which is why it gets claims; this checks that
// their results are right, so the plain mode is sound on servers where they
// are atomic.)
func TestFerretDBPlainOperators(t *testing.T) {
	ctx := t.Context()
	s, err := mongo.OpenOptions(ctx, ferret.Start(t), randomDB(), mongo.Options{Claims: mongo.ClaimsNever})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.UsesClaims() {
		t.Fatal("ClaimsNever store uses claims")
	}
	for i := 1; i <= 3; i++ {
		if _, err := s.CreateUser(ctx, newTestUser(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []string{"g1", "g2"} {
		if _, err := s.CreateGroup(ctx, &schemas.Group{ID: g, DisplayName: "Group " + g}, nil); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what, id string, version int64, groups ...string) {
		t.Helper()
		u, err := s.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Sorted(slices.Values(u.GroupIDs))
		if !slices.Equal(got, groups) && !(len(got) == 0 && len(groups) == 0) || u.Version != version {
			t.Errorf("%s: user %s groups %v version %d, want %v version %d", what, id, got, u.Version, groups, version)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(storagetest.AddMembers(ctx, s, "g1", []string{"rt000001", "rt000002"}, nil))
	must(storagetest.AddMembers(ctx, s, "g1", []string{"rt000001"}, nil)) // idempotent: no new version
	must(storagetest.AddMembers(ctx, s, "g2", []string{"rt000001"}, nil))
	check("add", "rt000001", 3, "g1", "g2")
	check("add", "rt000002", 2, "g1")
	check("add", "rt000003", 1)
	must(storagetest.RemoveMembers(ctx, s, "g1", []string{"rt000001", "rt000003"}, nil))
	check("remove ($pull of a plain value)", "rt000001", 4, "g2")
	check("remove", "rt000003", 1)
	must(s.DeleteGroup(ctx, "g1", nil))
	check("delete group", "rt000002", 3)
	check("delete group", "rt000001", 4, "g2")

	must(s.CreateAPIToken(ctx, &schemas.APIToken{ID: "t1", Hash: "h1"}, nil))
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	must(s.TouchAPIToken(ctx, "t1", t0.Add(time.Minute)))
	must(s.TouchAPIToken(ctx, "t1", t0)) // $max: does not go back
	tok, err := s.FindAPIToken(ctx, "h1")
	must(err)
	if !tok.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastUsedAt = %v, want %v", tok.LastUsedAt, t0.Add(time.Minute))
	}
}
