// Package storagetest is the conformance suite for [storage.Store] backends.
//
// It is an ordinary (non-test) package of plain .go files that import "testing",
// in the style of dexidp/dex storage/conformance, so every backend runs the very
// same assertions from its own _test.go file:
//
//	// In package embedded (storage/embedded/embedded_test.go):
//	func backend() storagetest.Backend {
//		return storagetest.Backend{
//			New: func(t *testing.T) storage.Store {
//				s, err := Open(t.TempDir())
//				if err != nil {
//					t.Fatal(err)
//				}
//				return s
//			},
//			Reopen: func(t *testing.T, s storage.Store) storage.Store {
//				dir := s.(*Store).dir // however the backend finds its data again
//				if err := s.Close(); err != nil {
//					t.Fatalf("Close: %v", err)
//				}
//				s2, err := Open(dir)
//				if err != nil {
//					t.Fatalf("reopen: %v", err)
//				}
//				return s2
//			},
//		}
//	}
//
//	func TestConformance(t *testing.T) { storagetest.RunTests(t, backend()) }
//	func TestConcurrency(t *testing.T) { storagetest.RunConcurrencyTests(t, backend()) }
//
// A backend that does not persist leaves Reopen nil; the Reopen subtests skip.
//
// [RunTests] runs every subtest on a fresh, empty store obtained from
// Backend.New and closes it at the end of the subtest. [RunConcurrencyTests] is a
// separate entry point (like dex's transactions.go) so that a backend can run it
// under -race or skip it in -short mode.
//
// # What the suite holds a backend to
//
// The contract is the doc of package storage and docs/architecture.md. Where the
// suite had to pin down something those leave open, the rule is stated here:
//
//   - Times: a backend must keep at least millisecond precision and return UTC.
//     Every time the suite stores has millisecond precision; documents are compared
//     after converting every time.Time to UTC and truncating it to the millisecond.
//   - Documents are compared field by field with reflect.DeepEqual after that time
//     normalization. On the typed fields of a document a nil and an empty slice or
//     map are the same (a backend may drop empty values); inside free-form JSON
//     (CustomData, CustomAppData, device-key CustomData) they are not: an empty
//     object, an empty array and a null value must all come back as they were.
//   - Free-form JSON is stored in the form schemas.NormalizeJSONObject produces
//     (numbers are canonical json.Number values) and must round-trip exactly, key
//     for key, including keys that contain '.', '$' or are empty.
//   - User.GroupIDs is a set: its order is not part of the contract (the suite
//     compares it sorted); GroupMemberIDs is sorted ascending.
//   - Every write that changes a user document increments its Version by exactly
//     one: AddMembers and RemoveMembers for the users whose membership changed,
//     DeleteGroup for each member of the group, DeleteApp for each user assigned to
//     the app. Users whose document did not change keep their Version.
//   - Stored documents are returned exactly as given apart from Version (and the
//     membership in GroupIDs): backends set no timestamps of their own.
//   - List results are compared with what schemas.MatchUser and schemas.SortUsers
//     compute over every stored user (so push-down is held to the evaluator) and
//     with hand-written expected ids (so a broken evaluator cannot make both agree).
//   - ListEvents orders by Time, newest first; the suite never stores two events
//     with the same Time.
package storagetest
