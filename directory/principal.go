package directory

import "slices"

// Actor types recorded in audit events.
const (
	ActorApp      = "app"       // a regular or management application (client credentials)
	ActorAPIToken = "api_token" // an identity-provider connector's API token
	ActorUser     = "user"      // an end user with a user access token
	ActorSystem   = "system"    // scimd itself (bootstrap, maintenance)
)

// A Scope names what a caller may do within its reach (the whole tenant, or one
// application's users). Client access tokens carry ScopeAdmin; an API token
// carries the scopes it was created with.
type Scope = string

// The scopes. Each allows what the ones before it allow.
const (
	// ScopeRead reads users and groups (lists, searches, lookups, memberships).
	ScopeRead Scope = "read"
	// ScopeSCIM provisions users and groups: read, create, update and delete
	// them, their passwords and memberships, on either face. It is the default
	// of a new API token.
	ScopeSCIM Scope = "scim"
	// ScopeAdmin is everything the caller's reach allows: with tenant reach also
	// applications, management applications, app assignment, API tokens and the
	// audit log; bound to an application, also reading and changing that app.
	ScopeAdmin Scope = "admin"
)

// Scopes lists the valid scopes, narrowest first.
var Scopes = []Scope{ScopeRead, ScopeSCIM, ScopeAdmin}

// Principal is the authenticated caller of a directory operation. The faces
// build it from a verified token; the directory decides what it may do, with
// the methods below — the one place where reach and scopes become rights.
type Principal struct {
	// Admin is true for callers whose reach is the whole tenant: management-app
	// tokens, API tokens not bound to an app, and the system. What they may do
	// there is limited by Scopes.
	Admin bool
	// AppID is the application the caller acts as: the regular app of a client
	// token or of an app-bound API token, the app a user token was issued for.
	// An app caller sees only the users assigned to its app; app-level fields
	// (external_account_id, custom_app_data) are those of this app.
	AppID string
	// UserID is set for user access tokens: the caller is this end user and may
	// reach only its own record through the /me operations (Scopes do not apply).
	UserID string
	// Scopes limit what an application or API-token caller may do; a caller
	// without scopes may do nothing but what end users may.
	Scopes []Scope
	// Enrolment is set, alone, for an enrolment token (IssueEnrolmentToken):
	// the user whose first password it may set. Such a principal is neither
	// an end user nor an application: AddPassword is the one operation that
	// accepts it.
	Enrolment string

	ActorType string // one of the Actor* constants, for audit
	ActorID   string // the client id, API token id or user id
	Client           // where the request came from, for audit
}

// Client is where a request came from, as audit events record it: the
// address of the TCP peer (forwarding headers are not trusted) and the
// User-Agent header.
type Client struct {
	IP        string
	UserAgent string
}

// System is the principal of scimd's own maintenance operations.
var System = Principal{Admin: true, Scopes: []Scope{ScopeAdmin}, ActorType: ActorSystem, ActorID: "scimd"}

// isEndUser reports whether p is an end user acting on its own record.
func (p Principal) isEndUser() bool { return p.UserID != "" }

// has reports whether p holds scope s, or a wider one.
func (p Principal) has(s Scope) bool {
	want := slices.Index(Scopes, s)
	for _, held := range p.Scopes {
		if i := slices.Index(Scopes, held); i >= 0 && i >= want {
			return true
		}
	}
	return false
}

// reaches reports whether p is an application-level caller (tenant-wide or
// one app's), not an end user and not nobody.
func (p Principal) reaches() bool { return !p.isEndUser() && (p.Admin || p.AppID != "") }

// reads reports whether p may read directory data (users, groups) in its reach.
func (p Principal) reads() bool { return p.reaches() && p.has(ScopeRead) }

// manages reports whether p may change directory data (users, groups) in its
// reach: ScopeSCIM or ScopeAdmin.
func (p Principal) manages() bool { return p.reaches() && p.has(ScopeSCIM) }

// administers reports whether p is a tenant administrator: tenant reach and
// ScopeAdmin (applications, API tokens, app assignment, audit).
func (p Principal) administers() bool { return !p.isEndUser() && p.Admin && p.has(ScopeAdmin) }

// runsApp reports whether p may read (write false) or change (write true) the
// settings of application id: administrators any app, an application itself
// (ScopeAdmin to change it, any scope to read it).
func (p Principal) runsApp(id string, write bool) bool {
	if p.administers() {
		return true
	}
	if p.isEndUser() || p.AppID == "" || p.AppID != id {
		return false
	}
	if write {
		return p.has(ScopeAdmin)
	}
	return p.has(ScopeRead)
}

// managesTenant reports whether p may provision users and groups across the
// whole tenant (tenant reach and ScopeSCIM or wider): deleting users from the
// tenant, for example.
func (p Principal) managesTenant() bool { return p.Admin && p.manages() }
