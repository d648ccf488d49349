package directory

import (
	"time"

	"github.com/scimd/scimd/schemas"
)

// The user status lifecycle, in one place. A user is Pending from its
// creation until its first authentication, Active after it, and Disabled
// while suspended. An administrator (or an identity provider) switches a
// user off and on with SetActive; the native face and the portal may also set
// a status by name (normalizeUser checks it is one the catalog lists).

// SetActive applies an administrative on/off switch (SCIM's `active`) to u's
// status: false disables the user; true re-enables a Disabled user (or gives
// a user without a status one): Active when it has authenticated before,
// else Pending. true leaves a Pending or Active user as it is: only an
// authentication makes a Pending user Active (see authenticated).
func SetActive(u *schemas.User, active bool) {
	switch {
	case !active:
		u.Status = schemas.StatusDisabled
	case u.Status == schemas.StatusDisabled || u.Status == "":
		if u.LastAuth.IsZero() {
			u.Status = schemas.StatusPending
		} else {
			u.Status = schemas.StatusActive
		}
	}
}

// created gives a new user its first status: Pending, unless the body that
// created it named one.
func created(u *schemas.User) {
	if u.Status == "" {
		u.Status = schemas.StatusPending
	}
}

// authenticated applies an authentication at now to u's status: a Pending
// user becomes Active. The caller refuses Disabled users before.
func authenticated(u *schemas.User, now time.Time) {
	if u.Status == schemas.StatusPending {
		u.Status, u.StatusChangedAt = schemas.StatusActive, now
	}
}
