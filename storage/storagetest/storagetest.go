package storagetest

import (
	"testing"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Backend describes the store under test.
type Backend struct {
	// New returns a new, empty store. The suite closes it when the subtest ends
	// (a backend may also register its own t.Cleanup; a second Close must not panic).
	New func(t *testing.T) storage.Store
	// Reopen closes s and opens the same data again. It is nil when the backend
	// does not persist; the persistence subtests are then skipped.
	Reopen func(t *testing.T, s storage.Store) storage.Store
	// StoreDamagedEvent stores e, bypassing the store's own encoding, as a
	// record the backend cannot decode in full (its changes damaged, its head —
	// id, time, actor, action, target — intact), as a bug, a crash or an older
	// version might have left it. Required: the suite checks that one such
	// record does not break reading the audit log.
	StoreDamagedEvent func(t *testing.T, s storage.Store, e *schemas.Event)
}

// subTest is one named conformance check; it runs on a fresh store.
type subTest struct {
	name string
	run  func(t *testing.T, h *harness)
}

// harness holds the store a subtest works on, so that a subtest can reopen it
// and the store that is current at the end gets closed.
type harness struct {
	b Backend
	s storage.Store
}

func newHarness(t *testing.T, b Backend) *harness {
	t.Helper()
	s := b.New(t)
	if s == nil {
		t.Fatal("Backend.New returned a nil store")
	}
	h := &harness{b: b, s: s}
	t.Cleanup(func() {
		if h.s != nil {
			_ = h.s.Close()
		}
	})
	return h
}

// reopen closes the store and opens the same data again through Backend.Reopen.
func (h *harness) reopen(t *testing.T) {
	t.Helper()
	if h.b.Reopen == nil {
		t.Fatal("reopen without Backend.Reopen")
	}
	old := h.s
	h.s = nil // Reopen closes it
	h.s = h.b.Reopen(t, old)
	if h.s == nil {
		t.Fatal("Backend.Reopen returned a nil store")
	}
}

// RunTests runs the conformance suite against the backend. Every subtest runs on
// a fresh store from b.New and is named after what it checks, so a single check
// can be selected with -run 'TestX/UserCRUD'.
func RunTests(t *testing.T, b Backend) {
	if b.New == nil {
		t.Fatal("storagetest: Backend.New is nil")
	}
	runTests(t, b, []subTest{
		{"Ping", testPing},
		{"UserCRUD", testUserCRUD},
		{"UserFullDocument", testUserFullDocument},
		{"UserReturnsCopies", testUserReturnsCopies},
		{"UserVersion", testUserVersion},
		{"UserUpdaterError", testUserUpdaterError},
		{"UserNotFound", testUserNotFound},
		{"UniqueUserName", testUniqueUserName},
		{"UniqueEmail", testUniqueEmail},
		{"UniquePhone", testUniquePhone},
		{"UniqueExternalID", testUniqueExternalID},
		{"UniqueUserID", testUniqueUserID},
		{"UniqueThroughUpdate", testUniqueThroughUpdate},
		{"UniqueValueFreed", testUniqueValueFreed},
		{"UniqueSparse", testUniqueSparse},
		{"UniqueLoginIDs", testUniqueLoginIDs},
		{"LoginFailures", testLoginFailures},
		{"FindUser", testFindUser},
		{"CustomDataLarge", testCustomDataLarge},
		{"CustomDataEdgeCases", testCustomDataEdgeCases},
		{"GroupCRUD", testGroupCRUD},
		{"GroupVersion", testGroupVersion},
		{"UniqueGroup", testUniqueGroup},
		{"Membership", testMembership},
		{"MembershipUnknown", testMembershipUnknown},
		{"MembershipDeleteUser", testMembershipDeleteUser},
		{"MembershipDeleteGroup", testMembershipDeleteGroup},
		{"GroupPatch", testGroupPatch},
		{"GroupPatchRefused", testGroupPatchRefused},
		{"AppCRUD", testAppCRUD},
		{"UniqueApp", testUniqueApp},
		{"AppCustomDataLarge", testAppCustomDataLarge},
		{"DeleteAppUnlinksUsers", testDeleteAppUnlinksUsers},
		{"APITokens", testAPITokens},
		{"Admins", testAdmins},
		{"Sessions", testSessions},
		{"Events", testEvents},
		{"EventsWithChanges", testEventsWithChanges},
		{"EventWriteFailureStopsChange", testEventWriteFailureStopsChange},
		{"DamagedEvent", testDamagedEvent},
		{"PruneEvents", testPruneEvents},
		{"EventsByTargetAndActor", testEventsByTargetAndActor},
		{"SigningKeys", testSigningKeys},
		{"ListUsersPaging", testListUsersPaging},
		{"ListUsersSort", testListUsersSort},
		{"ListUsersFilter", testListUsersFilter},
		{"ListUsersGenerated", testListUsersGenerated},
		{"ListUsersSubstring", testListUsersSubstring},
		{"ListUsersIndexed", testListUsersIndexed},
		{"ListUsersCursor", testListUsersCursor},
		{"ListUsersIDOrder", testListUsersIDOrder},
		{"ListUsersCountLimit", testListUsersCountLimit},
		{"ListGroups", testListGroups},
		{"Reopen", testReopen},
		{"ReopenIndexes", testReopenIndexes},
	})
}

// RunConcurrencyTests runs the checks that need many goroutines writing at once:
// lost updates under compare-and-swap, atomic uniqueness and concurrent
// membership changes. Run it with -race where possible.
func RunConcurrencyTests(t *testing.T, b Backend) {
	if b.New == nil {
		t.Fatal("storagetest: Backend.New is nil")
	}
	runTests(t, b, []subTest{
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentAuditedUpdates", testConcurrentAuditedUpdates},
		{"ConcurrentCreateSameUserName", testConcurrentCreateSameUserName},
		{"ConcurrentCreateSameEmail", testConcurrentCreateSameEmail},
		{"ConcurrentLoginIDs", testConcurrentLoginIDs},
		{"ConcurrentLoginFailures", testConcurrentLoginFailures},
		{"ConcurrentMembership", testConcurrentMembership},
		{"ConcurrentMembershipOneUser", testConcurrentMembershipOneUser},
		{"ConcurrentTouchAPIToken", testConcurrentTouchAPIToken},
		{"ConcurrentSigningKeys", testConcurrentSigningKeys},
	})
}

func runTests(t *testing.T, b Backend, tests []subTest) {
	for _, st := range tests {
		t.Run(st.name, func(t *testing.T) {
			h := newHarness(t, b)
			st.run(t, h)
		})
	}
}

func testPing(t *testing.T, h *harness) {
	if err := h.s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
