package embedded

import (
	"context"
	"fmt"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/storage/storagetest"
)

// TestGroupsOfManyGroups: a user's groups come back whole and in order when
// they outgrow groupsOf's stack room (16) and its buffers of ids (several
// buffers of 256 bytes), and a user without groups has none.
func TestGroupsOfManyGroups(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range 2 {
		if _, err := s.CreateUser(ctx, storagetest.NewUser(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	in := storagetest.NewUser(0).ID
	var want []string
	for g := range 40 {
		want = append(want, fmt.Sprintf("0199aaaa-bbbb-7ccc-8ddd-%012d", g))
	}
	if err := s.fileUpdate(func(tx *bolt.Tx) error {
		r := s.usersOf(tx)
		for _, g := range want {
			if err := r.setMember(g, in, true); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	u, err := s.GetUser(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.GroupIDs, want) {
		t.Errorf("groups %q, want %q", u.GroupIDs, want)
	}
	other, err := s.GetUser(ctx, storagetest.NewUser(1).ID)
	if err != nil || other.GroupIDs != nil {
		t.Errorf("a user without groups: %q, %v", other.GroupIDs, err)
	}
}
