// Package embedded is scimd's default storage backend for a single node: one
// bbolt file in the data directory, read on demand.
//
// Users live only in the file: GetUser, FindUser and ListUsers read them in a
// bbolt read transaction (from bbolt's memory map) and decode them from a
// compact binary record (usercodec.go). Groups, applications, API tokens and
// signing keys — few — are also decoded in memory at Open and served from
// there under a read lock, returning copies. Audit events, portal
// administrators, sessions and login failures stay in the file only.
//
// The file, <dir>/scimd.db, has one bucket per entity (users, groups, apps,
// tokens, events, …) and a meta bucket holding the format version, the
// number of users and the signing keys. Format 8 (this one) keeps each
// user's record version in its record, and next to the user records their
// memberships in both directions (userGroups, groupMembers, and the changes
// not yet in userGroups in memberLag: see memberlag.go), their application
// assignments (appUsers), the unique user indexes (ix.externalId, and ix.login: the
// userName, primary email and primary phone keys in one key space, which
// also answers lookups by each of those fields), every email value
// (ix.emails), and the trigram index of substring search (userRows,
// searchRecords, trigrams; see search.go), and the audit events — the
// newest in the events bucket, the older sealed into compressed blocks
// (eventBlocks, eventBlockEnds; see eventblocks.go) — with their index by
// target and by actor (ix.events; see events.go), built at the first Open
// of a file from before it in chunks (indexAllEvents). Open migrates a file of format 1
// (JSON user records holding their version and groups, indexes rebuilt in
// memory at every open) in chunks of users, each its own transaction,
// resuming after a crash, a file of format 3 (separate userName, email
// and phone indexes, dropped by migrateV3 in one transaction), 4 (no
// pendingPosts), 5 (versions in a userVersions bucket, moved into the
// records by migrateV5 in chunks, resuming after a crash) and 6 (two event
// indexes, copied into one by mergeEventIndexesV6, in chunks likewise), 7
// (no memberLag) and 8 (no blocks of audit events: the writer seals its log
// over time); it refuses any other format. Only one
// process may open a data directory; a second one fails after about a second.
//
// # Durability
//
// All writes go through one writer goroutine. It takes every write waiting in
// its queue, checks and stages each against one view of the state (so that
// two writes of one batch see each other and cannot both take the same unique
// value), puts the batch's changes into the overlay's active table and
// appends them as one record to the write-ahead log in <dir>/scimd.wal, and
// syncs the log once (fdatasync): an acknowledged write is on disk. Only then
// does it publish the batch's sequence number, which makes the batch visible
// to readers, apply it to the in-memory documents and answer the writers; no
// reader sees a write before it is on disk, and many concurrent writers share
// each fsync (group commit). If the log cannot be written, every write of the
// batch fails, nothing of it is visible, and the log refuses every later
// write (an fsync error cannot be retried): the store is unavailable until it
// is opened again. The applier goroutine writes the overlay's tables into the
// bbolt file in large transactions and releases the log behind them (see
// overlay.go); Open applies what a crash left in the log first, Close
// everything, so that a closed store is its file alone.
//
// Updaters (UpdateUser, UpdateGroup, UpdateApp) first run in the caller's
// goroutine on a copy of the committed document; the writer accepts the result
// only if the document's version is still the one the updater saw. Everything
// that depends on one document only — its record, the index image of a user
// (userImage: keys, search record, trigrams) before and after, the audit
// event's record — is computed in the caller's goroutine; the writer compares
// versions and looks up and puts keys. If it is
// not, the updater runs again inside the writer on the newest version, so that
// concurrent updates of one document share a commit instead of retrying one
// after another. UpdateSigningKeys retries in the caller.
// Bulk changes — PatchGroup, DeleteGroup, DeleteApp — are each one
// transaction, whatever the number of users they change. PatchGroup checks
// If-Match, applies the attribute change, plans the membership operations,
// writes them, the group and the events in that one transaction: it is
// atomic. A membership change writes two small keys, both keyed group first
// (the pair in groupMembers and a lag entry in memberLag that counts the
// change: a user's version is its record's version plus its membership
// changes), so it writes neither the user's record nor a page of userGroups
// per member; the idle writer moves the lag into userGroups later
// (memberlag.go).
//
// # Indexes
//
// The user indexes are buckets of the file, changed in the same transaction
// as the records: nothing is rebuilt at Open. The unique indexes of groups
// (folded displayName), applications (clientId) and tokens (hash) are maps in
// memory next to those documents.
//
// ListUsers uses an index when the filter allows it exactly: an And chain (or
// an Or of such) containing userName, primaryEmail, primaryPhone, externalId, id
// or groups "eq", or a comparison on an application's data ("apps pr",
// app-scoped custom_app_data or external_account_id, except ne). The candidates are then checked
// with schemas.MatchUser, as every user is when no index applies, so the answer
// is always the evaluator's. co, sw, ew and eq on userName, emails, phone
// numbers, name.givenName, name.familyName, displayName and externalId use the
// trigram index, and a filter that reads only those attributes is evaluated
// on the search records. Sorting is schemas.SortUsers; without a sort key
// the results come in id order, and without a filter only the page is decoded.
package embedded
