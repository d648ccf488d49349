package directory

import (
	"context"

	"github.com/scimd/scimd/schemas"
)

// VerifyEmail marks one of the user's email addresses as verified and, with
// makePrimary, makes it the primary email (the previous primary stays as a
// secondary email). An address the user does not have is KindNotFound.
func (s *Service) VerifyEmail(ctx context.Context, p Principal, userID, email string, makePrimary bool) (*schemas.User, error) {
	return verifyContact(ctx, s, p, userID, emails, email, makePrimary)
}

// VerifyPhoneNumber marks one of the user's phone numbers as verified and, with
// makePrimary, makes it the primary phone number.
func (s *Service) VerifyPhoneNumber(ctx context.Context, p Principal, userID, phone string, makePrimary bool) (*schemas.User, error) {
	return verifyContact(ctx, s, p, userID, phones, phone, makePrimary)
}

// RemoveSecondaryEmail removes one secondary (non-primary) email from the user.
// The primary email cannot be removed this way (KindInvalid); an address the
// user does not have is KindNotFound.
func (s *Service) RemoveSecondaryEmail(ctx context.Context, p Principal, userID, email string) error {
	return removeSecondaryContact(ctx, s, p, userID, emails, email)
}

// RemoveSecondaryPhoneNumber removes one secondary phone number from the user,
// as RemoveSecondaryEmail.
func (s *Service) RemoveSecondaryPhoneNumber(ctx context.Context, p Principal, userID, phone string) error {
	return removeSecondaryContact(ctx, s, p, userID, phones, phone)
}

// A contactKind is what tells a user's emails from its phone numbers to the
// operations above.
type contactKind[T schemas.Email | schemas.PhoneNumber] struct {
	field, noun string // in errors: "email", "email"; "phone_number", "phone number"
	list        func(u *schemas.User) *[]T
	primary     func(u *schemas.User) (*T, bool)
	same        func(a, b string) bool
}

var (
	// emails match case-insensitively, as the unique index does.
	emails = contactKind[schemas.Email]{
		field: "email", noun: "email",
		list:    func(u *schemas.User) *[]schemas.Email { return &u.Emails },
		primary: (*schemas.User).PrimaryEmail,
		same:    func(a, b string) bool { return schemas.Fold(a) == schemas.Fold(b) },
	}
	// phone numbers are case-exact.
	phones = contactKind[schemas.PhoneNumber]{
		field: "phone_number", noun: "phone number",
		list:    func(u *schemas.User) *[]schemas.PhoneNumber { return &u.PhoneNumbers },
		primary: (*schemas.User).PrimaryPhone,
		same:    func(a, b string) bool { return a == b },
	}
)

// asEmail views an email or a phone number as an email (a PhoneNumber is
// defined as an Email).
func asEmail[T schemas.Email | schemas.PhoneNumber](c *T) *schemas.Email {
	if ph, ok := any(c).(*schemas.PhoneNumber); ok {
		return (*schemas.Email)(ph)
	}
	return any(c).(*schemas.Email)
}

// index finds the element of list with the value, or fails with KindNotFound.
func (k contactKind[T]) index(list []T, value string) (int, error) {
	for i := range list {
		if k.same(asEmail(&list[i]).Value, value) {
			return i, nil
		}
	}
	return -1, FieldError(KindNotFound, k.field, "the user has no %s %q", k.noun, truncate(value))
}

func verifyContact[T schemas.Email | schemas.PhoneNumber](ctx context.Context, s *Service, p Principal, userID string, k contactKind[T], value string, makePrimary bool) (*schemas.User, error) {
	now := s.clock()
	return s.UpdateUser(ctx, p, userID, 0, UserChange{Apply: func(u *schemas.User) error {
		list := *k.list(u)
		i, err := k.index(list, value)
		if err != nil {
			return err
		}
		if c := asEmail(&list[i]); !c.Verified {
			c.Verified, c.VerifiedAt = true, now
		}
		if makePrimary {
			k.makePrimary(list, i)
		}
		return nil
	}})
}

// SetPrimaryEmail makes the user's email address email its only primary one
// (the previous primary stays as a secondary, keeping its verification), for
// use inside a UserChange; false when the user has no such address.
func SetPrimaryEmail(u *schemas.User, email string) bool {
	return emails.setPrimary(u, email)
}

// SetPrimaryPhoneNumber makes the user's phone number phone its only primary
// one, as SetPrimaryEmail.
func SetPrimaryPhoneNumber(u *schemas.User, phone string) bool {
	return phones.setPrimary(u, phone)
}

func (k contactKind[T]) setPrimary(u *schemas.User, value string) bool {
	list := *k.list(u)
	i, err := k.index(list, value)
	if err != nil {
		return false
	}
	k.makePrimary(list, i)
	return true
}

// makePrimary marks list[i] primary and every other element not.
func (contactKind[T]) makePrimary(list []T, i int) {
	for j := range list {
		asEmail(&list[j]).Primary = j == i
	}
}

func removeSecondaryContact[T schemas.Email | schemas.PhoneNumber](ctx context.Context, s *Service, p Principal, userID string, k contactKind[T], value string) error {
	_, err := s.UpdateUser(ctx, p, userID, 0, UserChange{Apply: func(u *schemas.User) error {
		list := k.list(u)
		i, err := k.index(*list, value)
		if err != nil {
			return err
		}
		if prim, ok := k.primary(u); ok && prim == &(*list)[i] {
			return FieldError(KindInvalid, k.field, "%q is the primary %s, not a secondary one", truncate(value), k.noun)
		}
		*list = append((*list)[:i:i], (*list)[i+1:]...)
		return nil
	}})
	return err
}
