package directory

import (
	"regexp"
	"testing"
	"time"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewIDIsOrderedUUIDv7(t *testing.T) {
	prev := ""
	for i := 0; i < 10000; i++ {
		id := NewID()
		if !uuidV7.MatchString(id) {
			t.Fatalf("id %q is not a UUIDv7", id)
		}
		if id <= prev {
			t.Fatalf("id %q does not sort after %q", id, prev)
		}
		prev = id
	}
}

func TestIDsStayOrderedWhenClockGoesBack(t *testing.T) {
	var g idGen
	now := time.Now()
	a := g.next(now)
	b := g.next(now.Add(-time.Second))
	c := g.next(now)
	if !(a < b && b < c) {
		t.Fatalf("ids not increasing: %s %s %s", a, b, c)
	}
}
