package native

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/schemas"
)

// kindStatus maps every directory error kind to its native HTTP status. A
// Kind missing here is a test failure (TestEveryKindHasAStatus).
var kindStatus = map[directory.Kind]int{
	directory.KindInternal:        http.StatusInternalServerError,
	directory.KindInvalid:         http.StatusBadRequest,
	directory.KindInvalidFilter:   http.StatusBadRequest,
	directory.KindInvalidPath:     http.StatusBadRequest,
	directory.KindNoTarget:        http.StatusBadRequest,
	directory.KindMutability:      http.StatusBadRequest,
	directory.KindNotFound:        http.StatusNotFound,
	directory.KindConflict:        http.StatusConflict,
	directory.KindPrecondition:    http.StatusPreconditionFailed,
	directory.KindUnauthenticated: http.StatusUnauthorized,
	directory.KindForbidden:       http.StatusForbidden,
	directory.KindTooMany:         http.StatusBadRequest,
	directory.KindTooLarge:        http.StatusBadRequest,
	directory.KindRateLimited:     http.StatusTooManyRequests,
	directory.KindUnavailable:     http.StatusServiceUnavailable,
}

// httpError is an error the native face itself decides (bad query parameter,
// wrong media type, unknown route), with its status.
type httpError struct {
	status int
	msg    string
	code   string // optional OAuth-style "error" value
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// classify returns the status and user-facing message of err. Server faults
// get a generic message; writeError hands the cause to the log.
func (h *Handler) classify(r *http.Request, err error) (int, string) {
	var he *httpError
	var se *httpx.SyntaxError
	var fe *schemas.FilterError
	var de *directory.Error
	if msg, ok := valueError(err); ok {
		return http.StatusBadRequest, msg
	}
	switch {
	case httpx.ClientGone(r, err):
		return httpx.StatusClientClosedRequest, "client closed request"
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.Is(err, httpx.ErrBodyTimeout):
		return http.StatusRequestTimeout, err.Error()
	case errors.Is(err, httpx.ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.As(err, &se):
		return http.StatusBadRequest, se.Error()
	case errors.As(err, &fe):
		return http.StatusBadRequest, "invalid search: " + fe.Error()
	case errors.As(err, &de):
		status, ok := kindStatus[de.Kind]
		if ok && status != http.StatusInternalServerError {
			return status, de.Msg
		}
	}
	return http.StatusInternalServerError, "internal server error"
}

// writeError answers a request with the native error body
// {"message": …, "error_code": <status>}; a 400's message is an array of
// strings, as in Transmit's BadRequestHttpError. extra fields are added to the body.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error, extra map[string]any) {
	status, msg := h.classify(r, err)
	httpx.Fail(h.log, r, status, err)
	body := map[string]any{"error_code": status}
	if status == http.StatusBadRequest {
		body["message"] = []string{msg}
	} else {
		body["message"] = msg
	}
	var he *httpError
	if errors.As(err, &he) && he.code != "" {
		body["error"] = he.code
	}
	if directory.FieldOf(err) == directory.FieldTemporaryPassword {
		body["error"] = "temporary_password"
		body["message"] = msg + "; replace it with POST /cis/v1/auth/password/replace"
	}
	for k, v := range extra {
		body[k] = v
	}
	httpx.SetRetryAfter(w.Header(), status, directory.RetryAfterOf(err))
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scimd"`)
	}
	writeJSON(w, status, body)
}
