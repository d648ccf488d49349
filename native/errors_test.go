package native

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/schemas"
)

func TestEveryKindHasAStatus(t *testing.T) {
	h := &Handler{log: slog.New(slog.NewTextHandler(io.Discard, nil)), maxBody: 10}
	r := httptest.NewRequest("GET", "/x", nil)
	for _, k := range directory.Kinds() {
		status, ok := kindStatus[k]
		if !ok {
			t.Errorf("directory kind %v has no native status", k)
			continue
		}
		got, msg := h.classify(r, directory.Errorf(k, "boom"))
		if got != status {
			t.Errorf("kind %v: status %d, want %d", k, got, status)
		}
		if k == directory.KindInternal && msg == "boom" {
			t.Errorf("an internal error's message leaked")
		}
	}
	for _, c := range []struct {
		err    error
		status int
	}{
		{httpx.ErrBodyTooLarge, http.StatusRequestEntityTooLarge},
		{&httpx.SyntaxError{Reason: "x"}, http.StatusBadRequest},
		{&schemas.FilterError{Reason: "x"}, http.StatusBadRequest},
		{errors.New("unexpected"), http.StatusInternalServerError},
		{errUnsupportedMedia, http.StatusUnsupportedMediaType},
	} {
		if got, _ := h.classify(r, c.err); got != c.status {
			t.Errorf("%T: status %d, want %d", c.err, got, c.status)
		}
	}
}

func TestRouteErrors(t *testing.T) {
	e := newEnv(t)
	e.call("GET", "/cis/v1/nope", e.admin, nil).wantError(t, http.StatusNotFound)
	e.call("GET", "/cis/v1/users/x/y/z", e.admin, nil).wantError(t, http.StatusNotFound)
	r := e.call("PATCH", "/cis/v1/users/abc", e.admin, nil).wantError(t, http.StatusMethodNotAllowed)
	if got := r.header.Get("Allow"); got != "GET, PUT" {
		t.Fatalf("Allow %q", got)
	}
	r = e.call("GET", "/oidc/token", "", nil).wantError(t, http.StatusMethodNotAllowed)
	if got := r.header.Get("Allow"); got != "POST" {
		t.Fatalf("Allow %q", got)
	}
	// Non-JSON bodies are 415; malformed JSON and non-objects are 400 with an array message.
	e.call("POST", "/cis/v1/users", e.admin, `{"email":"a@b.org"}`, "Content-Type", "text/plain").wantError(t, http.StatusUnsupportedMediaType)
	e.call("POST", "/cis/v1/users", e.admin, `{"email":`).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.admin, `[1]`).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.admin, ``).wantError(t, http.StatusBadRequest)
	e.call("POST", "/cis/v1/users", e.admin, `{"email":"a@b.org"} {}`).wantError(t, http.StatusBadRequest)
	// Bodies over the limit are 413.
	big := `{"custom_data":{"x":"` + strings.Repeat("a", httpx.DefaultMaxBody) + `"}}`
	e.call("POST", "/cis/v1/users", e.admin, big).wantError(t, http.StatusRequestEntityTooLarge)
}

func TestPanicIsAGeneric500(t *testing.T) {
	e := newEnv(t)
	h := New(e.svc, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	w := httptest.NewRecorder()
	h.wrap(route{access: public, h: func(http.ResponseWriter, *http.Request, directory.Principal) error { panic("boom") }}).
		ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "boom") || !strings.Contains(w.Body.String(), `"error_code":500`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.wrap(route{access: public, h: func(http.ResponseWriter, *http.Request, directory.Principal) error { return errors.New("disk on fire") }}).
		ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
