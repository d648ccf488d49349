package portal

import (
	"errors"
	"net/http"
	"testing"

	"github.com/scimd/scimd/directory"
)

// TestEveryKindHasAStatus: every directory error kind maps to a status, and
// only server faults and unavailability are 5xx; their messages never show
// the cause.
func TestEveryKindHasAStatus(t *testing.T) {
	for _, k := range directory.Kinds() {
		err := &directory.Error{Kind: k, Msg: "the message", Err: errors.New("secret cause")}
		st := status(err)
		server := k == directory.KindInternal || k == directory.KindUnavailable
		if st < 400 || (st >= 500) != server {
			t.Errorf("%v: status %d", k, st)
		}
		if k != directory.KindInternal && message(err) != "the message" {
			t.Errorf("%v: message %q", k, message(err))
		}
	}
	if m := message(errors.New("secret cause")); m == "secret cause" || status(errors.New("x")) != http.StatusInternalServerError {
		t.Errorf("an unclassified error shows %q", m)
	}
}
