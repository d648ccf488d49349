package directory

import (
	"context"

	"github.com/scimd/scimd/schemas"
)

// AddPassword gives a user who has none a first password (KindConflict when it
// already has one) and, when username is not empty, sets the user's username
// (its login name) in the same write. Without a username the user logs in
// with its email address. An end user may add a password to its own record only.
func (s *Service) AddPassword(ctx context.Context, p Principal, userID string, pw PasswordInput, username string) error {
	if p.Enrolment != "" {
		self, ok := p.enrolling(userID)
		if !ok {
			return Errorf(KindForbidden, "an enrolment token sets only its own user's first password")
		}
		p = self
	}
	u, err := s.GetUser(ctx, p, userID)
	if err != nil {
		return err
	}
	if u.Password != nil {
		return FieldError(KindConflict, "password", "the user already has a password")
	}
	_, err = s.UpdateUser(ctx, p, userID, 0, UserChange{Password: &pw, Apply: func(u *schemas.User) error {
		if u.Password != nil {
			return FieldError(KindConflict, "password", "the user already has a password")
		}
		if username != "" {
			u.UserName = username
		}
		return nil
	}})
	return err
}

// DeviceKeys returns the device keys of the end user p stands for.
func (s *Service) DeviceKeys(ctx context.Context, p Principal) ([]schemas.DeviceKey, error) {
	if !p.isEndUser() {
		return nil, Errorf(KindForbidden, "this operation needs a user access token")
	}
	u, err := s.GetUser(ctx, p, p.UserID)
	if err != nil {
		return nil, err
	}
	return u.DeviceKeys, nil
}

// TenantID is the tenant id of this directory (the tid claim of its tokens).
func (s *Service) TenantID() string { return s.tenantID }
