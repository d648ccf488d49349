// Package scim is scimd's SCIM 2.0 face (RFC 7643 / RFC 7644) for identity
// providers such as Okta and Microsoft Entra ID and for compliance suites.
//
// It is built on github.com/elimity-com/scim: the library's Server serves the
// schema and resource-type discovery endpoints (from schema definitions
// generated from the one attribute catalog in package schemas) and resource
// deletion through its ResourceHandler interface, and every error body is the
// library's errors.ScimError. What the library lacks — RFC filters it cannot
// parse, sorting, attribute projection, ETags and conditional requests, the
// PATCH dialects of real clients, group membership that never materialises a
// 100,000-member array, Bulk, /Me, SCIM-shaped 401s, honest service-provider
// capabilities — is served by a wrapper handler in front of it, never by
// changing the library. docs/scim.md lists which part serves which endpoint and why.
//
// Every business rule (visibility, invariants, uniqueness, versions) is the
// directory's; every SCIM↔canonical attribute mapping is in package schemas.
// This package decodes, dispatches and encodes.
package scim
