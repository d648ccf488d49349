// Package portal is the Admin Portal: server-rendered HTML pages under
// /portal/ through which portal administrators manage users, groups,
// applications, management applications, connector tokens, the audit log and
// the administrator accounts themselves.
//
// It is a third face over package directory, like scim and native: every
// read and write goes through the directory with the signed-in
// administrator's principal (directory.AdminPrincipal), so the same rules
// and the same audit apply. It never touches storage.
//
// Pages are html/template (escaping every value), the stylesheet is embedded,
// and there is no script at all: every page works without JavaScript, under
// Content-Security-Policy default-src 'self' and X-Frame-Options DENY.
//
// Sessions: signing in sets one cookie (scimd_session: HttpOnly,
// SameSite=Lax, Secure when served over HTTPS, Path=/portal/) holding a
// random token; the store keeps only its hash. Every state-changing request
// is a POST carrying a CSRF token derived from the session token (an HMAC an
// attacker cannot compute without the cookie), and a POST whose
// Sec-Fetch-Site or Origin says it came from another site is refused.
package portal
