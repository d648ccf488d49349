package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Portal administrators are people who sign in to the Admin Portal with an
// email address and a password. A signed-in administrator acts as a tenant
// administrator (AdminPrincipal): whatever a management application may do.

// ActorAdmin is the actor type of a portal administrator in audit events.
const ActorAdmin = "admin"

// TargetAdmin is the target type of audit events about administrator accounts.
const TargetAdmin = "admin"

// Audit actions of the portal's accounts and sessions.
const (
	ActionCreateAdmin       = "createAdmin"
	ActionDeleteAdmin       = "deleteAdmin"
	ActionAdminPassword     = "updateAdminPassword"
	ActionAdminSignIn       = "adminSignIn"
	ActionAdminSignOut      = "adminSignOut"
	ActionAdminFailedSignIn = "adminFailedSignIn"
)

// Session and account limits.
const (
	// SessionIdle ends a session that made no request for this long.
	SessionIdle = 30 * time.Minute
	// SessionLifetime ends a session this long after sign-in, however active.
	SessionLifetime = 12 * time.Hour
	// sessionTouchEvery is how stale LastSeen may get before a request writes
	// it again: the idle expiry is exact to within this, and a busy admin costs
	// one write a minute, not one per request.
	sessionTouchEvery = time.Minute
	// MinAdminPasswordLength is the shortest administrator password accepted.
	MinAdminPasswordLength = 12
	// maxAdminPasswordLength bounds the work a sign-in attempt can ask for.
	maxAdminPasswordLength = 1024
	// MaxSignInsPerIP is the number of portal sign-in attempts one IP address
	// may make per minute (counted per replica); failures of one account lock
	// it as MaxUserLoginFailures do an end user's (counted in the store).
	MaxSignInsPerIP = 20
)

var errBadSignIn = Errorf(KindUnauthenticated, "wrong email address or password")

// errSessionEnded is returned for a session token that is unknown, expired or signed out.
var errSessionEnded = Errorf(KindUnauthenticated, "your session has ended; sign in again")

// AdminPrincipal is the principal of a signed-in portal administrator: tenant
// reach with every scope, recorded in audit events as the administrator.
func AdminPrincipal(adminID, ip, userAgent string) Principal {
	return Principal{Admin: true, Scopes: []Scope{ScopeAdmin}, ActorType: ActorAdmin, ActorID: adminID, Client: Client{IP: ip, UserAgent: userAgent}}
}

// AdminID is the id of the administrator account of an email address.
func AdminID(email string) string { return schemas.Fold(strings.TrimSpace(email)) }

// sessionID is the stored id of a session token: its SHA-256 (the token is
// 256 random bits, so no slow hash is needed), so that a copy of the store
// holds no usable session.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte("scimd-session\x00" + token))
	return hex.EncodeToString(sum[:])
}

func checkAdminPassword(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinAdminPasswordLength:
		return FieldError(KindInvalid, "password", "the password must have at least %d characters", MinAdminPasswordLength)
	case len(pw) > maxAdminPasswordLength:
		return FieldError(KindInvalid, "password", "the password must have at most %d bytes", maxAdminPasswordLength)
	}
	return nil
}

// CreateAdmin creates a portal administrator account; only administrators
// (and System) may. The email address is the account's name.
func (s *Service) CreateAdmin(ctx context.Context, p Principal, email, password string) (*schemas.Admin, error) {
	if !p.administers() {
		return nil, adminOnly("adding administrators")
	}
	email = strings.TrimSpace(email)
	if why := schemas.CheckEmail(email); why != "" {
		return nil, FieldError(KindInvalid, "email", "%s", why)
	}
	if err := checkAdminPassword(password); err != nil {
		return nil, err
	}
	hash, err := HashSecret(password)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	a := &schemas.Admin{ID: AdminID(email), Email: email, PasswordHash: hash, Created: now, Updated: now, CreatedBy: p.ActorID}
	e := s.event(p, ActionCreateAdmin, TargetAdmin, a.ID, map[string]schemas.Change{"email": {Prev: nil, Current: email}})
	if err := s.store.CreateAdmin(ctx, a, e); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, FieldError(KindConflict, "email", "an administrator with this email address already exists")
		}
		return nil, translate(err, "administrator")
	}
	a.Version = 1
	return a, nil
}

// EnsureAdmin creates the administrator account for the email address with
// this password unless one exists (whatever its password): the bootstrap of
// SCIMD_BOOTSTRAP_ADMIN_EMAIL, idempotent, and never undoing a password
// changed in the portal.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (created bool, err error) {
	_, err = s.store.GetAdmin(ctx, AdminID(email))
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return false, translate(err, "administrator")
	}
	_, err = s.CreateAdmin(ctx, System, email, password)
	if KindOf(err) == KindConflict {
		return false, nil // another replica created it at the same moment
	}
	return err == nil, err
}

// ListAdmins lists the administrator accounts (never their password hashes,
// which are cleared).
func (s *Service) ListAdmins(ctx context.Context, p Principal) ([]*schemas.Admin, error) {
	if !p.administers() {
		return nil, adminOnly("listing administrators")
	}
	list, err := s.store.ListAdmins(ctx)
	if err != nil {
		return nil, translate(err, "administrator")
	}
	for _, a := range list {
		a.PasswordHash = ""
	}
	return list, nil
}

// DeleteAdmin removes an administrator account and ends its sessions. The
// last account cannot be removed: nobody could sign in to the portal again.
func (s *Service) DeleteAdmin(ctx context.Context, p Principal, id string) error {
	if !p.administers() {
		return adminOnly("removing administrators")
	}
	list, err := s.store.ListAdmins(ctx)
	if err != nil {
		return translate(err, "administrator")
	}
	if len(list) == 1 && list[0].ID == id {
		return Errorf(KindConflict, "the last administrator cannot be removed; add another one first")
	}
	e := s.event(p, ActionDeleteAdmin, TargetAdmin, id, nil)
	return translate(s.store.DeleteAdmin(ctx, id, e), "administrator")
}

// ChangeAdminPassword replaces the password of the administrator p stands for,
// after checking the current one, and ends every other session of it (the one
// of keepToken, the caller's, stays).
func (s *Service) ChangeAdminPassword(ctx context.Context, p Principal, current, next, keepToken string) error {
	if p.ActorType != ActorAdmin || p.ActorID == "" {
		return Errorf(KindForbidden, "only a signed-in administrator can change its password")
	}
	a, err := s.store.GetAdmin(ctx, p.ActorID)
	if err != nil {
		return translate(err, "administrator")
	}
	if ok, err := checkSecret(ctx, a.PasswordHash, current); err != nil {
		return err
	} else if !ok {
		return FieldError(KindInvalid, "current", "the current password is wrong")
	}
	if err := checkAdminPassword(next); err != nil {
		return err
	}
	hash, err := HashSecret(next)
	if err != nil {
		return err
	}
	e := s.event(p, ActionAdminPassword, TargetAdmin, a.ID, map[string]schemas.Change{"password": {Prev: redacted, Current: redacted}})
	if _, err := s.store.UpdateAdmin(ctx, a.ID, func(a *schemas.Admin) error {
		a.PasswordHash, a.Updated = hash, s.clock()
		return nil
	}, e); err != nil {
		return translate(err, "administrator")
	}
	return translate(s.store.DeleteSessions(ctx, a.ID, sessionID(keepToken), time.Time{}), "session")
}

// allowSignIn records a sign-in attempt from ip and reports whether it is
// within MaxSignInsPerIP a minute.
func (l *loginLimiter) allowSignIn(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := "portal-ip\x00" + ip
	now := l.now()
	if len(recent(l.clients, key, now, time.Minute)) >= MaxSignInsPerIP {
		return false
	}
	l.clients[key] = append(l.clients[key], now)
	return true
}

// SignIn checks an administrator's email and password and opens a session:
// it returns the session token for the browser (shown only now; the store
// keeps its hash). Attempts are limited per IP address (MaxSignInsPerIP) and
// per account (MaxUserLoginFailures failures lock it for LoginFailureWindow);
// an unknown address costs as much as a wrong password. Successes and
// failures are audited.
func (s *Service) SignIn(ctx context.Context, email, password, ip, userAgent string) (token string, err error) {
	if !s.limiter.allowSignIn(ip) {
		return "", &Error{Kind: KindRateLimited, Msg: "too many sign-in attempts; try again in a minute", RetryAfter: time.Minute}
	}
	id := AdminID(email)
	failed := func() error {
		p := AdminPrincipal(id, ip, userAgent)
		if err := s.store.AppendEvent(ctx, s.event(p, ActionAdminFailedSignIn, TargetAdmin, id, nil)); err != nil {
			s.log.Warn("recording a failed portal sign-in", "err", err)
		}
		return errBadSignIn
	}
	if len(password) > maxAdminPasswordLength || id == "" || len(id) > 254 {
		return "", errBadSignIn // no account has such a name: nothing worth recording
	}
	a, err := s.store.GetAdmin(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		if _, err := checkSecret(ctx, dummyHash, password); err != nil {
			return "", err
		}
		return "", failed()
	}
	if err != nil {
		return "", translate(err, "administrator")
	}
	lockKey := "admin\x00" + a.ID
	failures, err := s.loginFailures(ctx, lockKey)
	if err != nil {
		return "", err
	}
	if failures >= MaxUserLoginFailures {
		return "", Errorf(KindRateLimited, "too many failed sign-ins for this account; try again later")
	}
	ok, err := checkSecret(ctx, a.PasswordHash, password)
	if err != nil {
		return "", err
	}
	if !ok {
		s.recordLoginFailure(ctx, lockKey)
		return "", failed()
	}
	s.clearLoginFailures(ctx, lockKey, failures)
	token = NewSecret()
	now := s.clock()
	sess := &schemas.Session{ID: sessionID(token), AdminID: a.ID, Created: now, LastSeen: now,
		Expires: now.Add(SessionLifetime), IP: ip, UserAgent: userAgent}
	p := AdminPrincipal(a.ID, ip, userAgent)
	if err := s.store.CreateSession(ctx, sess, s.event(p, ActionAdminSignIn, TargetAdmin, a.ID, nil)); err != nil {
		return "", translate(err, "session")
	}
	if _, err := s.store.UpdateAdmin(ctx, a.ID, func(a *schemas.Admin) error { a.LastLogin = now; return nil }, nil); err != nil {
		s.log.Warn("recording an administrator's last sign-in", "admin", a.ID, "err", err)
	}
	// Expired sessions of anyone are removed here, where the cost of a
	// sign-in already is.
	if err := s.store.DeleteSessions(ctx, "", "", now); err != nil {
		s.log.Warn("removing expired portal sessions", "err", err)
	}
	return token, nil
}

// Session returns the administrator principal of a session token, with ip and
// userAgent as the request's. It fails with KindUnauthenticated when the token
// is unknown, signed out, idle for SessionIdle or older than SessionLifetime
// (an expired session is deleted).
func (s *Service) Session(ctx context.Context, token, ip, userAgent string) (Principal, error) {
	if token == "" {
		return Principal{}, errSessionEnded
	}
	id := sessionID(token)
	sess, err := s.store.GetSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Principal{}, errSessionEnded
	}
	if err != nil {
		return Principal{}, translate(err, "session")
	}
	now := s.clock()
	if !now.Before(sess.Expires) || now.Sub(sess.LastSeen) >= SessionIdle {
		if err := s.store.DeleteSession(ctx, id, nil); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.log.Warn("removing an expired portal session", "err", err)
		}
		return Principal{}, errSessionEnded
	}
	if now.Sub(sess.LastSeen) >= sessionTouchEvery {
		if err := s.store.TouchSession(ctx, id, now); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return Principal{}, errSessionEnded // signed out meanwhile
			}
			return Principal{}, translate(err, "session")
		}
	}
	return AdminPrincipal(sess.AdminID, ip, userAgent), nil
}

// SignOut ends the session of token on every replica.
func (s *Service) SignOut(ctx context.Context, p Principal, token string) error {
	err := s.store.DeleteSession(ctx, sessionID(token), s.event(p, ActionAdminSignOut, TargetAdmin, p.ActorID, nil))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return translate(err, "session")
}
