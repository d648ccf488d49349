package directory

import (
	"context"

	"github.com/scimd/scimd/schemas"
)

// VerifyEmail marks one of the user's email addresses as verified and, with
// makePrimary, makes it the primary email (the previous primary stays as a
// secondary email). An address the user does not have is KindNotFound.
func (s *Service) VerifyEmail(ctx context.Context, p Principal, userID, email string, makePrimary bool) (*schemas.User, error) {
	now := s.clock()
	return s.UpdateUser(ctx, p, userID, 0, UserChange{Apply: func(u *schemas.User) error {
		i := emailIndex(u, email)
		if i < 0 {
			return FieldError(KindNotFound, "email", "the user has no email %q", truncate(email))
		}
		if !u.Emails[i].Verified {
			u.Emails[i].Verified, u.Emails[i].VerifiedAt = true, now
		}
		if makePrimary {
			for j := range u.Emails {
				u.Emails[j].Primary = j == i
			}
		}
		return nil
	}})
}

// VerifyPhoneNumber marks one of the user's phone numbers as verified and, with
// makePrimary, makes it the primary phone number.
func (s *Service) VerifyPhoneNumber(ctx context.Context, p Principal, userID, phone string, makePrimary bool) (*schemas.User, error) {
	now := s.clock()
	return s.UpdateUser(ctx, p, userID, 0, UserChange{Apply: func(u *schemas.User) error {
		i := phoneIndex(u, phone)
		if i < 0 {
			return FieldError(KindNotFound, "phone_number", "the user has no phone number %q", truncate(phone))
		}
		if !u.PhoneNumbers[i].Verified {
			u.PhoneNumbers[i].Verified, u.PhoneNumbers[i].VerifiedAt = true, now
		}
		if makePrimary {
			for j := range u.PhoneNumbers {
				u.PhoneNumbers[j].Primary = j == i
			}
		}
		return nil
	}})
}

// RemoveSecondaryEmail removes one secondary (non-primary) email from the user.
// The primary email cannot be removed this way (KindInvalid); an address the
// user does not have is KindNotFound.
func (s *Service) RemoveSecondaryEmail(ctx context.Context, p Principal, userID, email string) error {
	_, err := s.UpdateUser(ctx, p, userID, 0, UserChange{Apply: func(u *schemas.User) error {
		i := emailIndex(u, email)
		if i < 0 {
			return FieldError(KindNotFound, "email", "the user has no email %q", truncate(email))
		}
		if prim, ok := u.PrimaryEmail(); ok && prim == &u.Emails[i] {
			return FieldError(KindInvalid, "email", "%q is the primary email, not a secondary one", truncate(email))
		}
		u.Emails = append(u.Emails[:i:i], u.Emails[i+1:]...)
		return nil
	}})
	return err
}

// RemoveSecondaryPhoneNumber removes one secondary phone number from the user,
// as RemoveSecondaryEmail.
func (s *Service) RemoveSecondaryPhoneNumber(ctx context.Context, p Principal, userID, phone string) error {
	_, err := s.UpdateUser(ctx, p, userID, 0, UserChange{Apply: func(u *schemas.User) error {
		i := phoneIndex(u, phone)
		if i < 0 {
			return FieldError(KindNotFound, "phone_number", "the user has no phone number %q", truncate(phone))
		}
		if prim, ok := u.PrimaryPhone(); ok && prim == &u.PhoneNumbers[i] {
			return FieldError(KindInvalid, "phone_number", "%q is the primary phone number, not a secondary one", truncate(phone))
		}
		u.PhoneNumbers = append(u.PhoneNumbers[:i:i], u.PhoneNumbers[i+1:]...)
		return nil
	}})
	return err
}

// emailIndex finds an email of u case-insensitively (as the unique index does), or -1.
func emailIndex(u *schemas.User, email string) int {
	for i, e := range u.Emails {
		if schemas.Fold(e.Value) == schemas.Fold(email) {
			return i
		}
	}
	return -1
}

// phoneIndex finds a phone number of u exactly (phone numbers are case-exact), or -1.
func phoneIndex(u *schemas.User, phone string) int {
	for i, p := range u.PhoneNumbers {
		if p.Value == phone {
			return i
		}
	}
	return -1
}
