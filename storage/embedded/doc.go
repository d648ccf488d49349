// Package embedded is scimd's default storage backend for a single node: one
// bbolt file in the data directory, with every document decoded in memory.
//
// A Store keeps users, groups, applications, API tokens and signing keys in
// memory, decoded from the file at Open, and serves every read from there under
// a read lock, returning copies. Audit events stay in the file only.
//
// The file, <dir>/scimd.db, has one bucket per entity (users, groups, apps,
// tokens, events) holding JSON of mirror structs defined in this package, and a
// meta bucket holding the format version and the signing keys. Only one process
// may open a data directory; a second one fails after about a second.
//
// # Durability
//
// All writes go through one writer goroutine. It takes every write waiting in
// its queue, checks and stages each against the state as the batch sees it (so
// that two writes of one batch cannot both take the same unique value), writes
// them in one bbolt transaction and commits it with one fsync. Only after the
// commit has returned does it apply the batch to the in-memory state and answer
// the writers. An acknowledged write is therefore on disk, and no reader sees a
// write before it is on disk; many concurrent writers share each fsync (group
// commit). If the commit fails, every write of the batch fails and memory is
// unchanged.
//
// Updaters (UpdateUser, UpdateGroup, UpdateApp) first run in the caller's
// goroutine on a copy of the committed document; the writer accepts the result
// only if the document's version is still the one the updater saw. If it is
// not, the updater runs again inside the writer on the newest version, so that
// concurrent updates of one document share a commit instead of retrying one
// after another. UpdateSigningKeys retries in the caller.
// Bulk changes — AddMembers, RemoveMembers, DeleteGroup, DeleteApp — are each
// one transaction, whatever the number of users they change.
//
// # Indexes
//
// In memory, next to the documents by id: the users sorted by id (id-ordered
// listing and full scans), unique indexes on the folded userName
// (schemas.Fold), the folded primary email, the primary phone number, the
// externalId, the folded group displayName, the app clientId and the token hash,
// a membership index (group id → member ids, from User.GroupIDs) and an
// assignment index (app id → user ids, from User.Apps). The indexes are changed
// in the same step as the documents, after the commit.
//
// Documents in memory are never modified in place: a write stores a new
// version, which may share unchanged parts with the old one, and readers get
// deep copies. Strings that take few distinct values across a directory
// (attribute types, status, locale, department, custom-data keys, …) are
// shared between documents through package unique.
//
// ListUsers uses an index when the filter allows it exactly: an And chain (or
// an Or of such) containing userName, primaryEmail, primaryPhone, externalId, id
// or groups "eq", or a comparison on an application's data ("apps pr",
// app-scoped custom_app_data or external_account_id, except ne). The candidates are then checked
// with schemas.MatchUser, as every user is when no index applies, so the answer
// is always the evaluator's. Sorting is schemas.SortUsers; without a sort key
// the results come in id order.
package embedded
