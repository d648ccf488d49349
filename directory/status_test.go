package directory

import (
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
)

// TestStatusLifecycle: the one place the status moves — created Pending,
// Active at the first authentication, Disabled and re-enabled by the
// administrative switch (Active again only for a user who authenticated).
func TestStatusLifecycle(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		status   string
		lastAuth bool
		active   bool
		want     string
	}{
		{"", false, true, schemas.StatusPending},
		{"", true, true, schemas.StatusActive},
		{schemas.StatusPending, false, true, schemas.StatusPending},
		{schemas.StatusActive, false, true, schemas.StatusActive},
		{schemas.StatusDisabled, false, true, schemas.StatusPending},
		{schemas.StatusDisabled, true, true, schemas.StatusActive},
		{schemas.StatusActive, true, false, schemas.StatusDisabled},
		{schemas.StatusPending, false, false, schemas.StatusDisabled},
	} {
		u := &schemas.User{Status: c.status}
		if c.lastAuth {
			u.LastAuth = now
		}
		SetActive(u, c.active)
		if u.Status != c.want {
			t.Errorf("SetActive(%q, lastAuth %v, %v) = %q, want %q", c.status, c.lastAuth, c.active, u.Status, c.want)
		}
	}
	u := &schemas.User{}
	created(u)
	if u.Status != schemas.StatusPending {
		t.Fatalf("a new user is %q, want Pending", u.Status)
	}
	authenticated(u, now)
	if u.Status != schemas.StatusActive || !u.StatusChangedAt.Equal(now) {
		t.Fatalf("after the first authentication: %q at %v", u.Status, u.StatusChangedAt)
	}
	d := &schemas.User{Status: schemas.StatusDisabled}
	authenticated(d, now)
	if d.Status != schemas.StatusDisabled {
		t.Fatalf("an authentication changed a disabled user to %q", d.Status)
	}
}
