// Package storage defines the contract between scimd's directory service and its
// storage backends: the [Store] interface, the query types and the typed errors.
//
// Every backend (storage/embedded, storage/mongo) passes the same conformance
// suite, storage/storagetest. The interface is domain-level (users, groups,
// membership, apps, API tokens, audit events, signing keys), not a generic
// document API, so that each backend can use its engine's strengths — a batched
// membership update, a pushed-down filter — while the suite pins the semantics.
package storage
