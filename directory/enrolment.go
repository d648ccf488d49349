package directory

import (
	"context"
	"time"

	"github.com/scimd/scimd/schemas"
)

// EnrolmentTokenTTL is the lifetime of an enrolment token.
const EnrolmentTokenTTL = 15 * time.Minute

// IssueEnrolmentToken issues a short-lived token (EnrolmentTokenTTL) with
// which user userID — who has no password yet — sets a first password through
// POST /cis/v1/users/me/password-credentials, and does nothing else: the
// principal it authenticates as reaches no other operation (see
// Principal.Enrolment and AddPassword). It is one-time in effect: it stops
// authenticating once the user has a password. The caller must be allowed to
// change the user (ScopeSCIM or wider, and see it); a user who has a password
// is a KindConflict, a disabled one a KindInvalid.
func (s *Service) IssueEnrolmentToken(ctx context.Context, p Principal, userID string) (AccessToken, error) {
	if !p.manages() {
		return AccessToken{}, forbiddenToManage
	}
	u, err := s.GetUser(ctx, p, userID)
	if err != nil {
		return AccessToken{}, err
	}
	switch {
	case u.Password != nil:
		return AccessToken{}, FieldError(KindConflict, "password", "the user already has a password")
	case u.Status == schemas.StatusDisabled:
		return AccessToken{}, Errorf(KindInvalid, "the user is disabled")
	}
	c := tokenClaims{ClientID: p.ActorID, AppID: p.AppID, Scope: "password-enrolment", TokenUse: tokenUseEnrol}
	c.Subject = u.ID
	t, err := s.sign(ctx, c)
	if err != nil {
		return AccessToken{}, err
	}
	if err := s.store.AppendEvent(ctx, s.event(p, ActionIssueEnrolmentToken, TargetUser, u.ID, nil)); err != nil {
		return AccessToken{}, translate(err, "event")
	}
	return t, nil
}

// enrolmentPrincipal authenticates a verified enrolment token: valid while
// its user exists, is not disabled and still has no password.
func (s *Service) enrolmentPrincipal(ctx context.Context, c *tokenClaims) (Principal, error) {
	u, err := s.store.GetUser(ctx, c.Subject)
	if err != nil || u.Status == schemas.StatusDisabled || u.Password != nil {
		return Principal{}, errBadToken
	}
	if c.AppID != "" { // issued by an application: only while the user is still its user
		if _, assigned := u.Apps[c.AppID]; !assigned {
			return Principal{}, errBadToken
		}
	}
	return Principal{Enrolment: u.ID, ActorType: ActorUser, ActorID: u.ID}, nil
}

// enrolling returns the end-user principal an enrolment principal acts as
// when it sets the first password of userID, its one permitted operation.
func (p Principal) enrolling(userID string) (Principal, bool) {
	if p.Enrolment == "" || p.Enrolment != userID {
		return Principal{}, false
	}
	return Principal{UserID: p.Enrolment, ActorType: p.ActorType, ActorID: p.ActorID, Client: p.Client}, true
}
