// Package mongo is scimd's MongoDB storage backend: an implementation of
// [storage.Store] over go.mongodb.org/mongo-driver/v2, for running several
// stateless scimd replicas on one MongoDB deployment.
//
// # The portable subset
//
// The backend must work unchanged on MongoDB, FerretDB v1, Amazon DocumentDB and
// Azure Cosmos DB (MongoDB API), so it uses only what they all implement
// correctly. The rules, and why:
//
//   - No multi-document transactions (FerretDB and Cosmos lack them). Every
//     write changes one document atomically; a user's group memberships live in
//     the user document (groupIds), so adding a member is one single-document
//     update per user, done for many users by one UpdateMany. A group
//     PATCH (PatchGroup) is ordered so that every refusal comes before the
//     first write, and compensated after it; concurrent membership changes
//     of one group in one process are made together (memberbatch.go).
//   - Updates are compare-and-swap on a version field: read the document, apply
//     the updater in Go, ReplaceOne({_id, version: old}) with version+1, and
//     on a lost race read again (bounded attempts with jittered backoff).
//   - Uniqueness comes only from unique indexes on normalized scalar fields
//     (norm.userName = schemas.Fold(userName), norm.email, norm.phone,
//     externalId; groups' norm.displayName; apps' clientId; tokens' hash). The
//     indexes are sparse, and a field is omitted — never stored as "" or
//     null — when empty, because a non-sparse unique index admits only one
//     document without the field on MongoDB but many on FerretDB. Unique
//     indexes over array fields are not used (FerretDB does not enforce them).
//   - No collations (case-insensitive means schemas.Fold, compared on the
//     folded copies under norm), no partial indexes, no change streams.
//   - No $elemMatch with field conditions (FerretDB rejects it) and no $pull
//     with a condition (FerretDB pulls nothing): per-application data is an
//     array of {appId, …} queried as apps.appId, and removing an application
//     from users is a compare-and-swap rewrite of each affected user; group
//     membership is removed with a $pull of the plain group id.
//   - Duplicate-key errors are not parsed (FerretDB's do not name the index):
//     on such an error the backend queries the unique fields to find out which
//     one collided and returns a *storage.ConflictError naming it.
//   - Free-form JSON keys may contain '.' or '$' or be empty, which several
//     servers reject as field names, so they are escaped (see convert.go);
//     numbers are stored as int64 or double and read back as json.Number with
//     the canonical text, so they round-trip exactly.
//
// # Queries
//
// A SCIM filter (schemas.Filter) is translated to a MongoDB filter only where
// the translation is exact (id, userName, primary email and phone, externalId,
// status, active, group membership, app assignment, created/updated). When the
// whole filter is exact and the sort is by id, created or updated, the server
// filters, sorts and pages (a find and a count). Otherwise the exact part
// narrows the candidates and schemas.MatchUser / schemas.SortUsers decide in Go,
// so the backend never answers differently from the reference evaluator.
//
// Round trips per operation when uncontended: get 1, create 1, update 2, list
// page 2 (1 when the page shows the total by itself), unique lookup 1.
package mongo
