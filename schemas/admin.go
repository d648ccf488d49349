package schemas

import "time"

// Admin is a portal administrator account: a person who signs in to the
// Admin Portal with an email address and a password.
type Admin struct {
	// ID is the admin's email address in normalized form (Fold): one account
	// per address, and audit events name the admin readably.
	ID           string
	Version      int64
	Email        string // as entered
	PasswordHash string // PHC argon2id
	Created      time.Time
	Updated      time.Time
	LastLogin    time.Time // zero: never signed in
	CreatedBy    string    // actor id of who created the account
}

// Clone returns a copy of a.
func (a *Admin) Clone() *Admin {
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// Session is a signed-in portal administrator. The browser holds a random
// token; the store keeps only its hash, which is the session's ID.
type Session struct {
	ID        string // SHA-256 of the session token, hex
	AdminID   string
	Created   time.Time
	LastSeen  time.Time // moves forward only; the idle expiry counts from it
	Expires   time.Time // absolute expiry
	IP        string
	UserAgent string
}

// Clone returns a copy of s.
func (s *Session) Clone() *Session {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}
