// Package native is scimd's native HTTP face: a REST API compatible with
// Transmit Security's user-management API (users, groups, applications,
// management applications, client-credential tokens), plus scimd's own API
// tokens, audit events and end-user password login.
//
// The package only decodes requests, calls package directory (where every
// business rule lives), encodes responses and maps errors. The native user and
// group objects are projections owned by package schemas. docs/native-api.md
// describes the API and every choice made where Transmit's documentation is
// silent or contradicts itself.
package native
