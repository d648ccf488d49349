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
