package directory

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Login limits.
const (
	// MaxUserLoginFailures failed logins of one user within LoginFailureWindow
	// lock its logins (429) until the oldest of them is LoginFailureWindow old.
	// The failures are kept in the store (Store.AddLoginFailure), so every
	// replica enforces the lockout and it survives restarts.
	MaxUserLoginFailures = 5
	LoginFailureWindow   = 15 * time.Minute
	// MaxClientLogins is the number of login attempts one client may make per
	// minute. This budget is kept in memory per replica: with N replicas a
	// client gets at most N times it.
	MaxClientLogins = 300
)

// FieldTemporaryPassword is the Field of the error returned when a login uses
// a temporary password, which must be replaced first (ReplaceTemporaryPassword).
const FieldTemporaryPassword = "temporary_password"

// loginLimiter counts login attempts per client in a sliding window.
type loginLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	clients map[string][]time.Time // client id → recent attempts
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, clients: map[string][]time.Time{}}
}

// recent drops the entries of key older than window and returns the rest.
func recent(m map[string][]time.Time, key string, now time.Time, window time.Duration) []time.Time {
	ts := m[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(m, key)
	} else {
		m[key] = ts
	}
	return ts
}

// allowClient records an attempt by a client and reports whether it is within budget.
func (l *loginLimiter) allowClient(clientID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(recent(l.clients, clientID, now, time.Minute)) >= MaxClientLogins {
		return false
	}
	l.clients[clientID] = append(l.clients[clientID], now)
	return true
}

// loginFailures returns the number of recent failed logins of an account
// (key: a user id, or "admin\x00" and a portal administrator's id).
func (s *Service) loginFailures(ctx context.Context, key string) (int, error) {
	n, err := s.store.LoginFailures(ctx, key, s.clock().Add(-LoginFailureWindow))
	return n, translate(err, "login failures")
}

// recordLoginFailure stores a failed login of an account. It does not give up
// when the client goes away: a failure must count even if the caller hangs up
// as soon as the password is checked.
func (s *Service) recordLoginFailure(ctx context.Context, key string) {
	n, err := s.store.AddLoginFailure(context.WithoutCancel(ctx), key, s.clock(), LoginFailureWindow)
	if err != nil {
		s.log.ErrorContext(ctx, "failed login not recorded", "account", key, "err", err)
	} else if n == MaxUserLoginFailures {
		s.obs.LoginLockedOut()
	}
}

// clearLoginFailures forgets an account's failed logins after a successful
// one (failures: how many there were).
func (s *Service) clearLoginFailures(ctx context.Context, key string, failures int) {
	if failures == 0 {
		return
	}
	if err := s.store.ClearLoginFailures(context.WithoutCancel(ctx), key); err != nil {
		s.log.Warn("failed logins not cleared after a successful one", "account", key, "err", err)
	}
}

var (
	errBadLogin   = Errorf(KindUnauthenticated, "invalid username, email or password")
	errUserLocked = Errorf(KindRateLimited, "too many failed logins for this user; try again later")
)

// LoginName is what an end user logs in with: a username or an email address.
// It is looked up by the field it was given as only (a username is never
// tried as an email, nor an email as a username), and login identifiers never
// resolve to two users (the store keeps them unique across fields).
type LoginName struct {
	Field string // storage.FieldUserName or storage.FieldEmail
	Value string
}

// Username returns the LoginName of a username.
func Username(v string) LoginName { return LoginName{storage.FieldUserName, v} }

// Email returns the LoginName of a (primary) email address.
func Email(v string) LoginName { return LoginName{storage.FieldEmail, v} }

// findLoginUser returns the user a login name belongs to.
func (s *Service) findLoginUser(ctx context.Context, name LoginName) (*schemas.User, error) {
	if name.Field != storage.FieldUserName && name.Field != storage.FieldEmail {
		return nil, Errorf(KindInvalid, "log in with a username or an email")
	}
	return s.store.FindUser(ctx, name.Field, name.Value)
}

// checkPassword runs the checks common to every password login: the client is
// a regular app within its budget, the user exists, is not locked out or
// disabled, and the password matches. It does not look at Temporary.
func (s *Service) checkPassword(ctx context.Context, from Client, clientID string, name LoginName, password string) (_ *schemas.User, _ *schemas.App, err error) {
	defer func() {
		switch {
		case err == errUserLocked:
			s.obs.AuthFailed(AuthFailureLockedOut)
		case KindOf(err) == KindRateLimited:
			s.obs.AuthFailed(AuthFailureRateLimited)
		case KindOf(err) == KindUnauthenticated:
			s.obs.AuthFailed(AuthFailurePassword)
		}
	}()
	app, err := s.store.FindAppByClientID(ctx, clientID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, Errorf(KindUnauthenticated, "invalid client_id")
		}
		return nil, nil, translate(err, "application")
	}
	if app.Kind != schemas.AppRegular {
		return nil, nil, Errorf(KindForbidden, "end users cannot log in through a management application")
	}
	if !s.limiter.allowClient(clientID) {
		return nil, nil, Errorf(KindRateLimited, "too many login attempts from this client; try again in a minute")
	}
	u, err := s.findLoginUser(ctx, name)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			if _, err := checkSecret(ctx, dummyHash, password); err != nil {
				return nil, nil, err
			}
			return nil, nil, errBadLogin
		}
		return nil, nil, translate(err, "user")
	}
	failures, err := s.loginFailures(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	if failures >= MaxUserLoginFailures {
		return nil, nil, errUserLocked
	}
	if u.Password == nil {
		if _, err := checkSecret(ctx, dummyHash, password); err != nil {
			return nil, nil, err
		}
		s.recordLoginFailure(ctx, u.ID)
		return nil, nil, errBadLogin
	}
	if ok, err := checkSecret(ctx, u.Password.Hash, password); err != nil {
		return nil, nil, err // not checked: no failure to count
	} else if !ok {
		s.recordLoginFailure(ctx, u.ID)
		e := s.event(Principal{AppID: app.ID, ActorType: ActorUser, ActorID: u.ID, Client: from}, ActionFailedLogin, TargetUser, u.ID, nil)
		if err := s.store.AppendEvent(context.WithoutCancel(ctx), e); err != nil {
			s.log.ErrorContext(ctx, "failed-login audit event not written", "user", u.ID, "err", err)
		}
		return nil, nil, errBadLogin
	}
	s.clearLoginFailures(ctx, u.ID, failures)
	if u.Status == schemas.StatusDisabled {
		return nil, nil, Errorf(KindForbidden, "the user is disabled")
	}
	if _, assigned := u.Apps[app.ID]; !assigned && !app.AllowPublicSignup {
		return nil, nil, Errorf(KindForbidden, "the user is not assigned to this application")
	}
	if exp := u.Password.Expires; !exp.IsZero() && !s.clock().Before(exp) {
		return nil, nil, FieldError(KindForbidden, FieldTemporaryPassword, "the password has expired and must be replaced")
	}
	return u, app, nil
}

// PasswordLogin authenticates an end user with a username or email and a
// password, through a regular application, and returns a user access token.
// The first successful login makes a Pending user Active; every login records
// last_auth and the app's last login (and assigns the user to apps that allow
// public sign-up). A temporary password is refused with Field
// FieldTemporaryPassword until it is replaced with ReplaceTemporaryPassword.
// from is where the request came from: the login's audit events (and a failed
// login's) record it.
func (s *Service) PasswordLogin(ctx context.Context, from Client, clientID string, name LoginName, password string) (AccessToken, *schemas.User, error) {
	u, app, err := s.checkPassword(ctx, from, clientID, name, password)
	if err != nil {
		return AccessToken{}, nil, err
	}
	if u.Password.Temporary {
		return AccessToken{}, nil, FieldError(KindForbidden, FieldTemporaryPassword,
			"the password is temporary and must be replaced before the first login")
	}
	return s.completeLogin(ctx, from, u, app, nil, s.rehash(u.Password.Hash, password))
}

// rehash returns an argon2id hash of password when the stored hash it matched
// is in another format or has other parameters (NeedsRehash), or "" when it
// needs none or hashing failed (the login still succeeds; the next one
// retries).
func (s *Service) rehash(stored, password string) string {
	if !NeedsRehash(stored) {
		return ""
	}
	h, err := HashSecret(password)
	if err != nil {
		s.log.Warn("password not re-hashed at login", "err", err)
		return ""
	}
	return h
}

// ReplaceTemporaryPassword lets an end user replace a temporary (or expired)
// password with a new one, proving the old one, and logs the user in. from is
// recorded in the audit events, as for PasswordLogin.
func (s *Service) ReplaceTemporaryPassword(ctx context.Context, from Client, clientID string, name LoginName, oldPassword, newPassword string) (AccessToken, *schemas.User, error) {
	u, app, err := s.checkPassword(ctx, from, clientID, name, oldPassword)
	if err != nil && FieldOf(err) != FieldTemporaryPassword {
		return AccessToken{}, nil, err
	}
	if err != nil { // expired: find the user again, the checks have passed up to the expiry
		u, _ = s.findLoginUser(ctx, name)
		app, _ = s.store.FindAppByClientID(ctx, clientID)
		if u == nil || app == nil {
			return AccessToken{}, nil, errBadLogin
		}
	}
	if newPassword == oldPassword {
		return AccessToken{}, nil, FieldError(KindInvalid, "new_password", "the new password must differ from the old one")
	}
	cred, err := hashPassword(&PasswordInput{Password: newPassword}, s.clock())
	if err != nil {
		return AccessToken{}, nil, err
	}
	return s.completeLogin(ctx, from, u, app, cred, "")
}

// completeLogin records a successful login (and a password replacement) and
// issues the token. The login's event (the replacement's, when there is one)
// commits with the user's update; a replacement's login event is written
// before the token is issued. rehash, when not empty, replaces the hash of the
// password just checked (u's, unless it changed meanwhile): the same password,
// hashed with argon2id.
func (s *Service) completeLogin(ctx context.Context, from Client, u *schemas.User, app *schemas.App, cred *schemas.PasswordCredential, rehash string) (AccessToken, *schemas.User, error) {
	checked := ""
	if u.Password != nil {
		checked = u.Password.Hash
	}
	now := s.clock()
	p := Principal{UserID: u.ID, AppID: app.ID, ActorType: ActorUser, ActorID: u.ID, Client: from}
	login := s.event(p, ActionUserLogin, TargetUser, u.ID, nil)
	first := login
	if cred != nil {
		first = s.event(p, ActionSetPassword, TargetUser, u.ID, map[string]schemas.Change{"password": {Prev: redacted, Current: redacted}})
	}
	updated, err := s.store.UpdateUser(ctx, u.ID, 0, func(u *schemas.User) error {
		if u.Status == schemas.StatusDisabled {
			return Errorf(KindForbidden, "the user is disabled")
		}
		authenticated(u, now)
		if cred != nil {
			u.Password = cred
		} else if rehash != "" && u.Password != nil && u.Password.Hash == checked {
			pw := *u.Password
			pw.Hash = rehash
			u.Password = &pw
		}
		if u.Apps == nil {
			u.Apps = map[string]*schemas.AppLink{}
		}
		link := u.Apps[app.ID]
		if link == nil {
			link = &schemas.AppLink{AssignedAt: now}
			u.Apps[app.ID] = link
		}
		link.LastLogin, u.LastAuth, u.Updated = now, now, now
		return nil
	}, auditFixed[*schemas.User](first))
	if err != nil {
		return AccessToken{}, nil, translate(err, "user")
	}
	if first != login {
		if err := s.store.AppendEvent(ctx, login); err != nil {
			return AccessToken{}, nil, translate(err, "user")
		}
	}
	tok, err := s.issueUserToken(ctx, updated, app)
	return tok, updated, err
}

// FieldOf returns the Field of a *Error in err's chain, or "".
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// SetPassword gives a user a password on behalf of an admin or app. With
// create, the user must not have one yet (else KindConflict); otherwise it
// replaces the current one. Temporary passwords must be replaced at next login.
func (s *Service) SetPassword(ctx context.Context, p Principal, userID string, pw PasswordInput, create bool) error {
	if create {
		u, err := s.GetUser(ctx, p, userID)
		if err != nil {
			return err
		}
		if u.Password != nil {
			return FieldError(KindConflict, "password", "the user already has a password")
		}
	}
	_, err := s.UpdateUser(ctx, p, userID, 0, UserChange{Password: &pw, Apply: func(u *schemas.User) error {
		if create && u.Password != nil {
			return FieldError(KindConflict, "password", "the user already has a password")
		}
		return nil
	}})
	return err
}

// SetOwnPassword lets a logged-in end user set a first password.
func (s *Service) SetOwnPassword(ctx context.Context, p Principal, password string) error {
	if !p.isEndUser() {
		return Errorf(KindForbidden, "this operation needs a user access token")
	}
	return s.SetPassword(ctx, p, p.UserID, PasswordInput{Password: password}, true)
}
