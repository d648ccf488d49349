package storage

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when the requested entity does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned (wrapped in a *ConflictError) when a write would give
// two entities the same value of a unique field.
var ErrConflict = errors.New("conflict")

// ErrBadCursor is returned for a Query.After the backend did not make, or
// made for a query of another sort attribute or direction.
var ErrBadCursor = errors.New("invalid paging cursor")

// ErrVersionMismatch is returned when an update names the version it expects
// (If-Match) and the stored entity has another one.
var ErrVersionMismatch = errors.New("version mismatch")

// ConflictError reports which unique field a write collided on.
// errors.Is(err, ErrConflict) is true for it.
type ConflictError struct {
	// Field is the canonical name of the unique field: one of the Field* constants.
	Field string
}

// Unique fields named by ConflictError.
const (
	FieldUserName    = "userName"
	FieldEmail       = "email"
	FieldPhoneNumber = "phoneNumber"
	FieldExternalID  = "externalId"
	FieldDisplayName = "displayName" // group display name
	FieldClientID    = "clientId"
	FieldTokenHash   = "tokenHash"
	FieldID          = "id"
)

func (e *ConflictError) Error() string { return fmt.Sprintf("conflict: %s is already taken", e.Field) }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Conflict returns a *ConflictError for field.
func Conflict(field string) error { return &ConflictError{Field: field} }

// ConflictField returns the field named by a conflict error in err's chain, or "".
func ConflictField(err error) string {
	var ce *ConflictError
	if errors.As(err, &ce) {
		return ce.Field
	}
	return ""
}

// ErrUnavailable is in the chain of errors caused by a condition of the store
// that is expected to pass: a timeout, a lost connection or primary, a locked,
// full or failing database file. Retrying later may succeed. Whether a write
// that failed with it was made is unknown on a backend without transactions
// (see [Store]); the backend has already retried where that was safe.
var ErrUnavailable = errors.New("store unavailable")

// Unavailable returns err marked as ErrUnavailable (err stays in the chain);
// nil stays nil.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
