package directory

import (
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Kind classifies a directory error. Each face maps every Kind to its own status
// code and error body exactly once (SCIM: status + scimType; native: status +
// error_code); the directory itself chooses no HTTP status.
type Kind int

// Error kinds.
const (
	KindInternal        Kind = iota // a server fault; the cause is logged, never shown
	KindInvalid                     // a value is not acceptable (SCIM invalidValue)
	KindInvalidFilter               // a filter or sort expression is invalid (SCIM invalidFilter)
	KindInvalidPath                 // a PATCH path is invalid (SCIM invalidPath)
	KindNoTarget                    // a PATCH path selects nothing (SCIM noTarget)
	KindMutability                  // an attempt to change a read-only or immutable attribute
	KindNotFound                    // the resource does not exist or is not visible to the caller
	KindConflict                    // a unique value is taken (Field names it)
	KindPrecondition                // If-Match version mismatch
	KindUnauthenticated             // no or bad credentials
	KindForbidden                   // authenticated, but not allowed
	KindTooMany                     // the request asks for more than the server will do
	KindTooLarge                    // a value or request exceeds a size limit
	KindRateLimited                 // too many attempts by this caller; try again after Error.RetryAfter
	KindUnavailable                 // the server cannot do it now: the store is temporarily unavailable (storage.ErrUnavailable) or hashing is at capacity; try again after Error.RetryAfter
)

var kindNames = [...]string{
	KindInternal: "internal", KindInvalid: "invalid",
	KindInvalidFilter: "invalid filter", KindInvalidPath: "invalid path", KindNoTarget: "no target",
	KindMutability: "mutability", KindNotFound: "not found", KindConflict: "conflict",
	KindPrecondition: "precondition failed", KindUnauthenticated: "unauthenticated",
	KindForbidden: "forbidden", KindTooMany: "too many", KindTooLarge: "too large", KindRateLimited: "rate limited",
	KindUnavailable: "unavailable",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Kinds lists every Kind, so that each face's error mapping can be tested for completeness.
func Kinds() []Kind {
	ks := make([]Kind, len(kindNames))
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// Error is the error every directory operation returns: a Kind, a message fit for
// the API client, the field concerned (if any) and the underlying cause (for logs).
type Error struct {
	Kind  Kind
	Field string // e.g. the unique field of a conflict, the invalid attribute
	Msg   string // user-facing; never contains secrets or internal details
	Err   error  // the cause, for logs; may be nil
	// RetryAfter is how long the client should wait before trying again, for
	// KindRateLimited and KindUnavailable (the faces send it as Retry-After);
	// zero leaves the choice to the face.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil && (e.Kind == KindInternal || e.Kind == KindUnavailable) {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// FieldError returns an *Error of kind k about one field.
func FieldError(k Kind, field, format string, args ...any) *Error {
	return &Error{Kind: k, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// RetryAfterOf returns the RetryAfter of a *Error in err's chain, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// KindOf returns the Kind of err: that of a *Error in its chain, else KindInternal.
func KindOf(err error) Kind {
	if err == nil {
		return KindInternal // without errors.As's allocation, on every success
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Classify returns the *Error a face answers for err: err itself when it is
// one, else its classification (a schemas value or filter error is
// the client's; an unknown error is internal). The faces map schemas errors
// they meet before calling the directory through it, so that every error is
// classified in one place.
func Classify(err error) *Error {
	var de *Error
	if errors.As(translate(err, "resource"), &de) {
		return de
	}
	return &Error{Kind: KindInternal, Msg: "internal error", Err: err}
}

// translate turns a storage or schemas error into a *Error; what describes
// the resource ("user", "group") for not-found messages.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	var fe *schemas.FilterError
	var ve *schemas.ValueError
	switch {
	case errors.As(err, &fe):
		return &Error{Kind: KindInvalidFilter, Msg: fe.Error(), Err: err}
	case errors.As(err, &ve):
		return &Error{Kind: KindInvalid, Field: ve.Path, Msg: ve.Error(), Err: err}
	case errors.Is(err, storage.ErrNotFound):
		return &Error{Kind: KindNotFound, Msg: what + " not found", Err: err}
	case errors.Is(err, storage.ErrBadCursor):
		return &Error{Kind: KindInvalid, Field: "cursor", Msg: "the paging cursor is not valid for this list; start from the first page", Err: err}
	case errors.Is(err, storage.ErrVersionMismatch):
		return &Error{Kind: KindPrecondition, Msg: what + " was modified: the version does not match If-Match", Err: err}
	case errors.Is(err, storage.ErrConflict):
		f := storage.ConflictField(err)
		return &Error{Kind: KindConflict, Field: f, Msg: conflictMessage(what, f), Err: err}
	case errors.Is(err, storage.ErrUnavailable):
		return &Error{Kind: KindUnavailable, Msg: "the directory is temporarily unavailable; retry later", Err: err}
	}
	return &Error{Kind: KindInternal, Msg: "internal error", Err: err}
}

func conflictMessage(what, field string) string {
	names := map[string]string{
		storage.FieldUserName: "userName", storage.FieldEmail: "primary email",
		storage.FieldPhoneNumber: "primary phone number", storage.FieldExternalID: "externalId",
		storage.FieldDisplayName: "name", storage.FieldClientID: "client id", storage.FieldID: "id",
	}
	n, ok := names[field]
	switch {
	case ok && what == "user" && (field == storage.FieldUserName || field == storage.FieldEmail || field == storage.FieldPhoneNumber):
		// Login identifiers are unique across the three fields (storage.LoginIDs).
		return fmt.Sprintf("this %s is already another user's username, primary email or primary phone number", n)
	case ok:
		return fmt.Sprintf("a %s with this %s already exists", what, n)
	}
	return fmt.Sprintf("the %s conflicts with an existing one", what)
}
