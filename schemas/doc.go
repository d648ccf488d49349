// Package schemas holds scimd's canonical model and its vocabulary.
//
// Every user is one canonical document ([User]) that is richer than either API's
// view of it; the SCIM face and the native face are projections of that document.
// The attribute catalog ([UserAttributes], [GroupAttributes]) is the one place that
// says, for every SCIM attribute path and every native field name, which canonical
// path it maps to and what its type, mutability, returned-ness and case-exactness are.
//
// SCIM filter syntax is the single query language. [ParseFilter] turns a filter
// string into a [Filter] whose paths are resolved through the catalog to canonical
// paths; [Filter.MatchUser] and [Filter.MatchGroup] evaluate it against canonical
// documents, and storage backends may translate as much of it as they can express
// exactly into their own query language.
//
// This package depends on nothing else in scimd.
package schemas
