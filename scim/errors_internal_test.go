package scim

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd/directory"
)

// TestEveryKindHasAStatus: every directory error kind maps to a SCIM status
// (and scimType where RFC 7644 §3.12 has one), once, in kindStatus; the
// native face has the same test (native.TestEveryKindHasAStatus). A kind
// added to directory without a mapping fails here rather than answering 500.
func TestEveryKindHasAStatus(t *testing.T) {
	want := map[directory.Kind]struct {
		status   int
		scimType string
	}{
		directory.KindInternal:        {500, ""},
		directory.KindInvalid:         {400, "invalidValue"},
		directory.KindInvalidFilter:   {400, "invalidFilter"},
		directory.KindInvalidPath:     {400, "invalidPath"},
		directory.KindNoTarget:        {400, "noTarget"},
		directory.KindMutability:      {400, "mutability"},
		directory.KindNotFound:        {404, ""},
		directory.KindConflict:        {409, "uniqueness"},
		directory.KindPrecondition:    {412, ""}, // invalidVers is for protocol versions
		directory.KindUnauthenticated: {401, ""},
		directory.KindForbidden:       {403, ""},
		directory.KindTooMany:         {400, "tooMany"},
		directory.KindTooLarge:        {413, ""},
		directory.KindRateLimited:     {429, ""},
		directory.KindUnavailable:     {503, ""},
	}
	for _, k := range directory.Kinds() {
		if _, ok := kindStatus[k]; !ok {
			t.Errorf("directory kind %v has no SCIM status", k)
		}
		w, ok := want[k]
		if !ok {
			t.Errorf("directory kind %v: no expectation in this test", k)
			continue
		}
		e := toAPIError(directory.Errorf(k, "boom"))
		if e.Status != w.status || string(e.ScimType) != w.scimType {
			t.Errorf("kind %v: %d %q, want %d %q", k, e.Status, e.ScimType, w.status, w.scimType)
		}
		if k == directory.KindInternal && e.Detail == "boom" {
			t.Errorf("an internal error's message leaked")
		}
	}
	// A value over its size limit is a bad value (400 invalidValue), a
	// request over it 413.
	if e := toAPIError(directory.FieldError(directory.KindTooLarge, "custom_data", "too big")); e.Status != http.StatusBadRequest || e.ScimType != "invalidValue" {
		t.Errorf("a too-large field: %d %q", e.Status, e.ScimType)
	}
}
