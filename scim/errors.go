package scim

import (
	"errors"
	"fmt"
	"net/http"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
)

// apiError is an error answered to the client as a SCIM error body: the
// library's ScimError plus, for server faults, the cause (logged, never shown).
type apiError struct {
	scimerrors.ScimError
	cause error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.ScimError.Error() + ": " + e.cause.Error()
	}
	return e.ScimError.Error()
}

func (e *apiError) Unwrap() error { return e.cause }

// transmitError is the error body of Transmit's SCIM API (its ScimHttpError):
// schemas is one string, status a number, and there is no scimType.
type transmitError struct {
	Schemas string `json:"schemas"`
	Status  int    `json:"status"`
	Detail  string `json:"detail,omitempty"`
}

// errorURN is the schema of an error body (RFC 7644 §3.12).
const errorURN = "urn:ietf:params:scim:api:messages:2.0:Error"

// newError returns a SCIM error with a status, a scimType ("" for none) and a detail.
func newError(status int, scimType scimerrors.ScimType, format string, args ...any) *apiError {
	return &apiError{ScimError: scimerrors.ScimError{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}}
}

// Shorthands for the errors this face raises itself.
func invalidSyntax(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, format, args...)
}

func invalidValue(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, format, args...)
}

func invalidPath(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, scimerrors.ScimTypeInvalidPath, format, args...)
}

func noTarget(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, scimerrors.ScimTypeNoTarget, format, args...)
}

func notFound(format string, args ...any) *apiError {
	return newError(http.StatusNotFound, "", format, args...)
}

// kindStatus maps every directory error kind to a status and scimType, once.
var kindStatus = map[directory.Kind]struct {
	status   int
	scimType scimerrors.ScimType
}{
	directory.KindInternal:        {http.StatusInternalServerError, ""},
	directory.KindInvalid:         {http.StatusBadRequest, scimerrors.ScimTypeInvalidValue},
	directory.KindInvalidFilter:   {http.StatusBadRequest, scimerrors.ScimTypeInvalidFilter},
	directory.KindInvalidPath:     {http.StatusBadRequest, scimerrors.ScimTypeInvalidPath},
	directory.KindNoTarget:        {http.StatusBadRequest, scimerrors.ScimTypeNoTarget},
	directory.KindMutability:      {http.StatusBadRequest, scimerrors.ScimTypeMutability},
	directory.KindNotFound:        {http.StatusNotFound, ""},
	directory.KindConflict:        {http.StatusConflict, scimerrors.ScimTypeUniqueness},
	directory.KindPrecondition:    {http.StatusPreconditionFailed, ""}, // invalidVers is for protocol versions (RFC 7644 §3.12)
	directory.KindUnauthenticated: {http.StatusUnauthorized, ""},
	directory.KindForbidden:       {http.StatusForbidden, ""},
	directory.KindTooMany:         {http.StatusBadRequest, scimerrors.ScimTypeTooMany},
	directory.KindTooLarge:        {http.StatusRequestEntityTooLarge, ""},
	directory.KindRateLimited:     {http.StatusTooManyRequests, ""},
	directory.KindUnavailable:     {http.StatusServiceUnavailable, ""},
}

// toAPIError turns any error into the SCIM error answered for it.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *httpx.SyntaxError
	if errors.As(err, &se) {
		return invalidSyntax("%s", se.Error())
	}
	if errors.Is(err, httpx.ErrBodyTimeout) {
		return newError(http.StatusRequestTimeout, "", "%s", httpx.ErrBodyTimeout.Error())
	}
	if errors.Is(err, httpx.ErrBodyTooLarge) {
		return newError(http.StatusRequestEntityTooLarge, "", "the request body is larger than the server accepts")
	}
	de := directory.Classify(err) // schemas and storage errors too: classified once, in directory
	m, ok := kindStatus[de.Kind]
	if !ok {
		m = kindStatus[directory.KindInternal]
	}
	detail := de.Msg
	if de.Kind == directory.KindInternal {
		detail = "internal error"
	}
	if de.Kind == directory.KindTooLarge && de.Field != "" {
		// A value over its size limit is a bad value, not a too-large request.
		m.status, m.scimType = http.StatusBadRequest, scimerrors.ScimTypeInvalidValue
	}
	return &apiError{ScimError: scimerrors.ScimError{Status: m.status, ScimType: m.scimType, Detail: detail}, cause: err}
}
