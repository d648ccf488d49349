// Package directory is scimd's service layer: every business rule, once.
//
// Both HTTP faces (SCIM and native) call this package; neither talks to storage
// directly. It assigns ids, hashes secrets, enforces status, assignment and size
// rules, and writes audit events. It knows nothing of HTTP.
package directory
