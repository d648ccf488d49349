package directory

// Actor types recorded in audit events.
const (
	ActorApp      = "app"       // a regular or management application (client credentials)
	ActorAPIToken = "api_token" // an identity-provider connector's API token
	ActorUser     = "user"      // an end user with a user access token
	ActorSystem   = "system"    // scimd itself (bootstrap, maintenance)
)

// Principal is the authenticated caller of a directory operation. The faces
// build it from a verified token; the directory decides what it may do.
type Principal struct {
	// Admin is true for tenant-wide callers: management-app tokens, API tokens not
	// bound to an app, and the system.
	Admin bool
	// AppID is the application the caller acts as: the regular app of a client
	// token or of an app-bound API token, the app a user token was issued for.
	// An app caller sees only the users assigned to its app; app-level fields
	// (external_account_id, custom_app_data) are those of this app.
	AppID string
	// UserID is set for user access tokens: the caller is this end user and may
	// reach only its own record through the /me operations.
	UserID string

	ActorType string // one of the Actor* constants, for audit
	ActorID   string // the client id, API token id or user id
	IP        string
	UserAgent string
}

// System is the principal of scimd's own maintenance operations.
var System = Principal{Admin: true, ActorType: ActorSystem, ActorID: "scimd"}

// isEndUser reports whether p is an end user acting on its own record.
func (p Principal) isEndUser() bool { return p.UserID != "" }

// manages reports whether p may manage directory data (users, groups) at all:
// admins and applications may, end users may not.
func (p Principal) manages() bool { return !p.isEndUser() && (p.Admin || p.AppID != "") }
