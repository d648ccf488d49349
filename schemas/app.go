package schemas

import (
	"slices"
	"time"
)

// App kinds.
const (
	// AppRegular is an end-user application: its tokens reach only the users assigned to it.
	AppRegular = "regular"
	// AppManagement is a back-office application: its tokens are admin tokens for the whole tenant.
	AppManagement = "management"
)

// App is an application (regular or management) with its default client.
// Client secrets are stored hashed only.
type App struct {
	ID                string
	Version           int64
	Kind              string // AppRegular or AppManagement
	Name              string
	Description       string
	LoginURI          string
	RedirectURIs      []string
	AllowPublicSignup bool
	// ClientID is the public identifier of the app's default client; unique.
	ClientID string
	// SecretHashes are the hashes of the client secrets currently accepted.
	// Rotation adds a new secret; old ones may be kept until they expire.
	Secrets []ClientSecret
	Created time.Time
	Updated time.Time
}

// ClientSecret is one accepted client secret, stored as a hash.
type ClientSecret struct {
	Hash    string
	Created time.Time
	Expires time.Time // zero: never
}

// Clone returns a deep copy of a.
func (a *App) Clone() *App {
	if a == nil {
		return nil
	}
	c := *a
	c.RedirectURIs = append([]string(nil), a.RedirectURIs...)
	c.Secrets = append([]ClientSecret(nil), a.Secrets...)
	return &c
}

// APIToken is a long-lived bearer token for an identity-provider connector.
// Only a hash of the token is stored; the token itself is shown once.
type APIToken struct {
	ID          string
	Description string
	// Hash identifies the token: a SHA-256 of the token (tokens are high-entropy
	// random strings, so no slow hash is needed); unique.
	Hash string
	// AppID, when set, binds the token to one application: it acts as that app.
	AppID string
	// Scopes are what the token may do within its reach (directory.Scope
	// values). Empty for tokens stored before scopes existed; the directory
	// decides what those act with.
	Scopes     []string
	Created    time.Time
	Expires    time.Time // zero: never
	LastUsedAt time.Time
	CreatedBy  string
}

// Clone returns a deep copy of t.
func (t *APIToken) Clone() *APIToken {
	if t == nil {
		return nil
	}
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	return &c
}

// SigningKey is a key pair used to sign access tokens. The private key is
// stored so that every replica can sign and verify; only public keys are published.
type SigningKey struct {
	ID         string // the JWT `kid`
	Algorithm  string // e.g. ES256
	PrivateKey []byte // PKCS#8 DER
	PublicKey  []byte // PKIX DER
	Created    time.Time
	// NotAfter is when the key stops being used to verify; zero: still active.
	// A rotated key keeps verifying until the tokens it signed have expired.
	NotAfter time.Time
}

// Event is an audit event. Events outlive their targets.
type Event struct {
	ID         string
	Time       time.Time
	ActorID    string
	ActorType  string // app, user, api_token, system
	Action     string // e.g. createUser, updateUser, deleteUser
	TargetID   string
	TargetType string // user, group, app, api_token, tenant
	IP         string
	UserAgent  string
	// Changes maps a changed field to its previous and current values, with secrets redacted.
	Changes map[string]Change
	// Damaged is set, when the stored record could not be read in full, to why
	// not; the event then carries only what could be read (at least ID and
	// Time). Reading the audit log never fails because of one bad record.
	Damaged string
}

// Change is one changed field of an audit event.
// A value that does not exist on one side (a field set for the first time,
// or removed) is nil there and left out of the JSON form.
type Change struct {
	Prev    any `json:"prev,omitempty"`
	Current any `json:"current,omitempty"`
}
