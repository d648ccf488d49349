package directory

import (
	"context"
	"errors"

	"github.com/golang-jwt/jwt/v5"
)

// Observer is told of the security outcomes operators count (scimd exports
// them as metrics). Its methods must be cheap and safe for concurrent use.
type Observer interface {
	// TokenIssued: an access token was issued; kind is "client", "user" or "enrol".
	TokenIssued(kind string)
	// AuthFailed: a credential was refused; reason is one of the AuthFailure* constants.
	AuthFailed(reason string)
	// LoginLockedOut: an account's logins were locked after MaxUserLoginFailures failures.
	LoginLockedOut()
}

// Reasons of Observer.AuthFailed: a bounded set (they become metric labels).
const (
	AuthFailureNoCredential  = "no_credential"      // no bearer token
	AuthFailureInvalidToken  = "invalid_token"      // bad signature, unknown key, malformed, wrong audience
	AuthFailureExpired       = "expired"            // an access token past its expiry
	AuthFailureForeignIssuer = "foreign_issuer"     // signed for another public URL (see Options.Issuer)
	AuthFailureRevoked       = "revoked"            // app deleted, user disabled or unassigned
	AuthFailureAPIToken      = "api_token"          // an unknown or expired API token
	AuthFailureClientSecret  = "client_credentials" // unknown client or wrong secret at the token endpoint
	AuthFailurePassword      = "password"           // wrong identifier or password at login
	AuthFailureRateLimited   = "rate_limited"       // refused by a failure or attempt budget
	AuthFailureLockedOut     = "locked_out"         // a login for a locked-out account
)

type noObserver struct{}

func (noObserver) TokenIssued(string) {}
func (noObserver) AuthFailed(string)  {}
func (noObserver) LoginLockedOut()    {}

// tokenRefused counts and classifies the failure of verify for token, and
// returns the one error every refused token gets. A token signed for another
// issuer is logged at warn level with both URLs: replicas with different public
// URLs refuse each other's tokens, and this line says why.
func (s *Service) tokenRefused(ctx context.Context, token string, err error) error {
	reason := AuthFailureInvalidToken
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = AuthFailureExpired
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = AuthFailureForeignIssuer
		var c jwt.RegisteredClaims
		iss := "(unreadable)"
		if _, _, perr := jwt.NewParser().ParseUnverified(token, &c); perr == nil {
			iss = c.Issuer
		}
		s.log.WarnContext(ctx, "access token refused: it was issued for another public URL; every replica behind one address must share the same -public-url",
			"token_issuer", iss, "issuer", s.issuer)
	}
	s.obs.AuthFailed(reason)
	return errBadToken
}

// revoked counts a verified token whose app or user no longer admits it.
func (s *Service) revoked() error {
	s.obs.AuthFailed(AuthFailureRevoked)
	return errBadToken
}
