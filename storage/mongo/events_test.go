package mongo

import (
	"errors"
	"testing"

	mdb "go.mongodb.org/mongo-driver/v2/mongo"
)

// A failed write of several events names the one the server reports, else
// the range (it named the first event whatever failed).
func TestEventsNamed(t *testing.T) {
	ds := []*eventDoc{{Head: eventHeadDoc{ID: "e1"}}, {Head: eventHeadDoc{ID: "e2"}}, {Head: eventHeadDoc{ID: "e3"}}}
	bwe := mdb.BulkWriteException{WriteErrors: []mdb.BulkWriteError{{WriteError: mdb.WriteError{Index: 1, Code: 2, Message: "bad"}}}}
	for _, tc := range []struct {
		ds   []*eventDoc
		err  error
		want string
	}{
		{ds, bwe, "audit event e2 (2 of 3)"},
		{ds, errors.New("connection reset"), "3 audit events e1 … e3"},
		{ds[:1], errors.New("connection reset"), "audit event e1"},
	} {
		if got := eventsNamed(tc.ds, tc.err); got != tc.want {
			t.Errorf("eventsNamed(%d events, %v) = %q, want %q", len(tc.ds), tc.err, got, tc.want)
		}
	}
}
