package directory

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// PasswordInput is a new password for a user: hashed by the directory before it
// reaches the store, never stored or logged in clear.
type PasswordInput struct {
	Password string
	// Hash, instead of Password, is a password already hashed, by scimd or by
	// another system, in a format ParseHash accepts (bcrypt, scrypt,
	// PBKDF2-SHA256, salted SHA-256, argon2id). It is stored as it is and
	// replaced by an argon2id hash at the user's next successful login.
	Hash string
	// Algorithm, when set with Hash, is the algorithm the client says made
	// it (Transmit's hashed_password.algorithm): it must be one scimd
	// verifies (HashAlgorithms) and the one Hash is in, else KindInvalid.
	Algorithm string
	// Temporary passwords must be replaced at the next login.
	Temporary bool
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// forbiddenToManage is returned to callers that may not change the directory;
// forbiddenToRead to those that may not even read it.
var (
	forbiddenToManage = Errorf(KindForbidden, "this token may not manage users or groups (it needs the scim or admin scope)")
	forbiddenToRead   = Errorf(KindForbidden, "this token may not read users or groups")
)

// appScope returns the filter that limits an app caller to its own users, or nil
// for admins.
func appScope(p Principal) schemas.Filter {
	if p.Admin {
		return nil
	}
	return &schemas.Compare{Path: schemas.Path{Attr: schemas.UserAttributeByCanonical("apps"), AppID: p.AppID}, Op: schemas.OpPr}
}

// visible reports whether p may see u: admins see everyone, an app only the users
// assigned to it, an end user only itself.
func visible(p Principal, u *schemas.User) bool {
	switch {
	case p.isEndUser():
		return u.ID == p.UserID
	case p.Admin:
		return true
	default:
		_, ok := u.Apps[p.AppID]
		return p.AppID != "" && ok
	}
}

// HashAlgorithms maps the algorithm names a client may give with a hashed
// password to the scheme ParseHash reports.
var HashAlgorithms = map[string]string{
	"bcrypt": "bcrypt", "argon2": "argon2id", "argon2id": "argon2id", "scrypt": "scrypt",
	"pbkdf2": "pbkdf2-sha256", "pbkdf2-sha256": "pbkdf2-sha256", "pbkdf2_sha256": "pbkdf2-sha256",
	"ssha256": "ssha256", "salted-sha256": "ssha256",
}

// supportedHashes names the schemes of HashAlgorithms, for error messages.
var supportedHashes = func() string {
	schemes := map[string]bool{}
	for _, scheme := range HashAlgorithms {
		schemes[scheme] = true
	}
	return strings.Join(slices.Sorted(maps.Keys(schemes)), ", ")
}()

// hashPassword checks and hashes a new password.
func hashPassword(pw *PasswordInput, now time.Time) (*schemas.PasswordCredential, error) {
	if pw == nil {
		return nil, nil
	}
	if pw.Hash != "" {
		if pw.Password != "" {
			return nil, FieldError(KindInvalid, "hashed_password", "give a password or a hashed password, not both")
		}
		scheme, err := ParseHash(pw.Hash)
		if err != nil {
			return nil, err
		}
		if pw.Algorithm != "" {
			named, ok := HashAlgorithms[strings.ToLower(pw.Algorithm)]
			if !ok {
				return nil, FieldError(KindInvalid, "hashed_password", "hashed_password: unsupported algorithm %q (supported: %s)", pw.Algorithm, supportedHashes)
			}
			if named != scheme {
				return nil, FieldError(KindInvalid, "hashed_password", "hashed_password: the algorithm is %q but the hash is %s", pw.Algorithm, scheme)
			}
		}
		return &schemas.PasswordCredential{Hash: pw.Hash, Temporary: pw.Temporary, Updated: now}, nil
	}
	if len(pw.Password) < MinPasswordLength {
		return nil, FieldError(KindInvalid, "password", "a password needs at least %d characters", MinPasswordLength)
	}
	if len(pw.Password) > 1024 {
		return nil, FieldError(KindInvalid, "password", "a password may have at most 1024 bytes")
	}
	hash, err := HashSecret(pw.Password)
	if err != nil {
		return nil, translate(err, "password") // busy hashing stays KindUnavailable
	}
	return &schemas.PasswordCredential{Hash: hash, Temporary: pw.Temporary, Updated: now}, nil
}

// CreateUser stores a new user on behalf of p and returns it. The directory
// assigns the id, the timestamps and, for an app caller, the assignment to the
// caller's app (an app can set only its own app-level data). A new user is
// Pending unless u.Status says otherwise.
func (s *Service) CreateUser(ctx context.Context, p Principal, u *schemas.User, pw *PasswordInput) (*schemas.User, error) {
	return s.createUser(ctx, p, u.Clone(), pw, false, "")
}

// ProvisionUser is CreateUser for an IdP's provisioning (SCIM POST /Users):
// when an application creates a user who already exists in the tenant but is
// not assigned to it, the existing user is assigned to the application and
// returned (see adoptExisting) instead of a conflict the IdP would retry
// forever.
func (s *Service) ProvisionUser(ctx context.Context, p Principal, u *schemas.User, pw *PasswordInput) (*schemas.User, error) {
	return s.createUser(ctx, p, u.Clone(), pw, true, "")
}

// createUser creates u with the id given (a new one when ""). It takes u
// (sets its id, timestamps and status, and keeps it): the callers pass a copy
// of theirs, or a bulk element's user, which the bulk call takes.
func (s *Service) createUser(ctx context.Context, p Principal, u *schemas.User, pw *PasswordInput, adopt bool, id string) (*schemas.User, error) {
	if !p.manages() {
		return nil, forbiddenToManage
	}
	now := s.clock()
	cred, err := hashPassword(pw, now)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = s.newID()
	}
	u.ID, u.Version, u.Created, u.Updated, u.StatusChangedAt = id, 0, now, now, now
	u.GroupIDs, u.LastAuth, u.DeviceKeys, u.Password = nil, time.Time{}, nil, cred
	created(u)
	if err := s.scopeAppData(ctx, p, u, nil); err != nil {
		return nil, err
	}
	for _, a := range u.Apps {
		if a.AssignedAt.IsZero() {
			a.AssignedAt = now
		}
	}
	followName(u, nil)
	if err := normalizeUser(u); err != nil {
		return nil, err
	}
	created, err := s.store.CreateUser(ctx, u, s.event(p, ActionCreateUser, TargetUser, u.ID, userChanges(nil, u)))
	if errors.Is(err, storage.ErrConflict) && adopt && !p.Admin && !p.isEndUser() {
		if existing, aerr := s.adoptExisting(ctx, p, u); aerr == nil {
			return existing, nil
		}
	}
	if err != nil {
		return nil, translate(err, "user")
	}
	return created, nil
}

// adoptExisting serves an application's create of a user who already exists
// in the tenant but is not assigned to the application (so the application
// could not find it: an IdP connector bound to one app, after the user was
// created elsewhere or unassigned and reassigned). Identities are
// tenant-wide, so the existing user is assigned to the application, with the
// application-level data of u, and returned; the tenant-level data of u is
// not applied (the client's next update goes through the usual rules). Every
// login identifier of u (userName, primary email, primary phone) must be that
// user's, and u's externalId that user's or nobody's; anything else (no such
// user, identifiers of different users or of nobody, a user already assigned
// to the application) is an error, and the create stays a conflict. The
// assignment is audited as ActionAssignUserToApp.
func (s *Service) adoptExisting(ctx context.Context, p Principal, u *schemas.User) (*schemas.User, error) {
	keys := [][2]string{{storage.FieldUserName, u.UserName}, {storage.FieldExternalID, u.ExternalID}}
	if e, ok := u.PrimaryEmail(); ok {
		keys = append(keys, [2]string{storage.FieldEmail, e.Value})
	}
	if ph, ok := u.PrimaryPhone(); ok {
		keys = append(keys, [2]string{storage.FieldPhoneNumber, ph.Value})
	}
	var owner *schemas.User
	for _, k := range keys {
		if k[1] == "" {
			continue
		}
		found, err := s.store.FindUser(ctx, k[0], k[1])
		if errors.Is(err, storage.ErrNotFound) && k[0] == storage.FieldExternalID {
			continue // the IdP's own id for the user, new to scimd
		}
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errors.New("a login identifier belongs to nobody")
		}
		if err != nil {
			return nil, err
		}
		if owner != nil && owner.ID != found.ID {
			return nil, errors.New("the identifiers belong to different users")
		}
		owner = found
	}
	if owner == nil {
		return nil, errors.New("no existing user")
	}
	// already assigned: the application sees the user, a real conflict
	adopted, err := s.assign(ctx, p, owner.ID, p.AppID, u.Apps[p.AppID], errors.New("already assigned"))
	if err != nil {
		return nil, err
	}
	s.log.Info("an application's create assigned an existing tenant user to it", "app", p.AppID, "user", owner.ID)
	return adopted, nil
}

// scopeAppData makes u's per-application data follow p's rights: an app caller
// is assigned to its own app and cannot touch other apps' data (prev's entries
// for other apps are kept as they were; naming another app is a 403); a
// tenant-wide caller may assign existing regular apps only with the admin
// scope (see AssignUserToApp).
// An end user is never assigned to anything: their changes to application data
// are refused by checkSelfService.
func (s *Service) scopeAppData(ctx context.Context, p Principal, u, prev *schemas.User) error {
	if p.isEndUser() {
		return nil
	}
	if !p.Admin {
		for id := range u.Apps {
			if id != p.AppID && (prev == nil || prev.Apps[id] == nil) {
				return adminOnly("assigning a user to another application")
			}
		}
		mine := u.Apps[p.AppID]
		if mine == nil {
			mine = &schemas.AppLink{}
			if prev != nil && prev.Apps[p.AppID] != nil {
				mine = prev.Apps[p.AppID]
			}
		}
		u.Apps = map[string]*schemas.AppLink{}
		if prev != nil {
			for id, a := range prev.Apps {
				u.Apps[id] = a
			}
		}
		u.Apps[p.AppID] = mine
		return nil
	}
	for id := range u.Apps {
		if prev != nil && prev.Apps[id] != nil {
			continue
		}
		if !p.administers() {
			return adminOnly("assigning a user to an application")
		}
		a, err := s.store.GetApp(ctx, id)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && a.Kind != schemas.AppRegular) {
			return FieldError(KindInvalid, "app_ids", "application %q does not exist", id)
		}
		if err != nil {
			return translate(err, "application")
		}
	}
	return nil
}

// GetUser returns the user with the given id if p may see it.
func (s *Service) GetUser(ctx context.Context, p Principal, id string) (*schemas.User, error) {
	if !p.isEndUser() && !p.reads() {
		return nil, forbiddenToRead
	}
	u, err := s.store.GetUser(ctx, id)
	if err != nil {
		return nil, translate(err, "user")
	}
	if !visible(p, u) {
		return nil, Errorf(KindNotFound, "user not found")
	}
	return u, nil
}

// FindUser returns the user whose unique field (storage.FieldUserName,
// FieldEmail, FieldPhoneNumber, FieldExternalID) has value, if p may see it.
func (s *Service) FindUser(ctx context.Context, p Principal, field, value string) (*schemas.User, error) {
	if !p.reads() {
		return nil, forbiddenToRead
	}
	u, err := s.store.FindUser(ctx, field, value)
	if err != nil {
		return nil, translate(err, "user")
	}
	if !visible(p, u) {
		return nil, Errorf(KindNotFound, "user not found")
	}
	return u, nil
}

// ListUsers returns a page of the users p may see that match q.
func (s *Service) ListUsers(ctx context.Context, p Principal, q storage.Query) (storage.Page[*schemas.User], error) {
	if !p.reads() {
		return storage.Page[*schemas.User]{}, forbiddenToRead
	}
	if scope := appScope(p); scope != nil {
		if q.Filter == nil {
			q.Filter = scope
		} else {
			q.Filter = &schemas.And{Left: scope, Right: q.Filter}
		}
	}
	page, err := s.store.ListUsers(ctx, q)
	return page, translate(err, "user")
}

// UserChange is one update of a user: Apply changes the user (it may run more
// than once, on a fresh copy each time, and must have no side effects), and
// Password, when set, replaces the password (hashed once, before Apply runs).
type UserChange struct {
	Apply    func(u *schemas.User) error
	Password *PasswordInput
}

// UpdateUser applies a change to a user under compare-and-swap, then enforces
// the same invariants as CreateUser. A change that leaves the user as it was
// writes nothing: the user keeps its version and lastModified. ifVersion, when not zero, is the version
// the caller read (If-Match): a mismatch fails with KindPrecondition.
func (s *Service) UpdateUser(ctx context.Context, p Principal, id string, ifVersion int64, c UserChange) (*schemas.User, error) {
	if !p.manages() && !p.isEndUser() {
		return nil, forbiddenToManage
	}
	cred, err := hashPassword(c.Password, s.clock())
	if err != nil {
		return nil, err
	}
	// One allocation holds what the change and audit functions need (closures
	// would move p, the change, prev and the event to the heap one by one).
	up := &userUpdate{s: s, ctx: ctx, p: p, c: c, cred: cred,
		audit: updateAudit[*schemas.User]{base: s.newEvent(p, ActionUpdateUser, TargetUser, id), changes: userChanges}}
	updated, err := s.store.UpdateUser(ctx, id, ifVersion, up.apply, up.audit.event)
	if errors.Is(err, errUnchanged) {
		return up.prev, nil
	}
	if err != nil {
		return nil, translate(err, "user")
	}
	return updated, nil
}

// userUpdate is one UpdateUser: apply is its change function under the
// store's compare-and-swap, prev the version it last started from.
type userUpdate struct {
	s    *Service
	ctx  context.Context
	p    Principal
	c    UserChange
	cred *schemas.PasswordCredential
	// audit is the update's storage.Audit (audit.event).
	audit updateAudit[*schemas.User]
	prev  *schemas.User // &prevCopy once apply ran
	// prevCopy is the copy of the user apply starts from (for settle, the
	// no-op check and the answer to a no-op), held here rather than
	// allocated apart.
	prevCopy schemas.User
}

func (up *userUpdate) apply(u *schemas.User) error {
	if !visible(up.p, u) {
		return Errorf(KindNotFound, "user not found")
	}
	u.CloneInto(&up.prevCopy)
	prev := &up.prevCopy
	up.prev = prev
	if up.c.Apply != nil {
		if err := up.c.Apply(u); err != nil {
			return err
		}
	}
	if err := up.s.settle(up.ctx, up.p, u, prev, up.cred); err != nil {
		return err
	}
	// A no-op write: no new version, no event (RFC 7644 §3.5.2). Compared
	// with prev's lastModified in place of the new one, without a copy.
	updated := u.Updated
	u.Updated = prev.Updated
	same := reflect.DeepEqual(u, prev)
	u.Updated = updated
	if same {
		return errUnchanged
	}
	return nil
}

// settle restores what a change may not touch and re-establishes the invariants.
func (s *Service) settle(ctx context.Context, p Principal, u, prev *schemas.User, cred *schemas.PasswordCredential) error {
	now := s.clock()
	u.ID, u.Version, u.Created = prev.ID, prev.Version, prev.Created
	u.GroupIDs, u.LastAuth, u.DeviceKeys = prev.GroupIDs, prev.LastAuth, prev.DeviceKeys
	u.Password = prev.Password
	if cred != nil {
		u.Password = cred
	}
	if u.Status == "" {
		u.Status = prev.Status
	}
	if u.Status != prev.Status {
		u.StatusChangedAt = now
	} else {
		u.StatusChangedAt = prev.StatusChangedAt
	}
	if err := s.scopeAppData(ctx, p, u, prev); err != nil {
		return err
	}
	followName(u, prev)
	if err := normalizeUser(u); err != nil {
		return err
	}
	if p.isEndUser() {
		if cred != nil && prev.Password != nil {
			// A stolen access token must not become a permanent takeover.
			return Errorf(KindForbidden, "a user access token may set a first password only; a password is replaced by an administrator or application, or through POST /cis/v1/auth/password/replace when it is temporary or expired")
		}
		if err := checkSelfService(prev, u); err != nil {
			return err
		}
	}
	u.Updated = now
	return nil
}

// DeleteUser deletes a user and all its data (tenant and app level); only admins may.
func (s *Service) DeleteUser(ctx context.Context, p Principal, id string) error {
	if !p.managesTenant() {
		return Errorf(KindForbidden, "deleting a user requires an admin token or a tenant-wide token with the scim scope")
	}
	if err := s.store.DeleteUser(ctx, id, s.event(p, ActionDeleteUser, TargetUser, id, nil)); err != nil {
		return translate(err, "user")
	}
	return nil
}

// AssignUserToApp assigns an existing user to a regular application, so that
// the application sees the user and the user may log in to it. Only admins may:
// an application assigning tenant users to itself would escape its scope. It is
// idempotent: an assigned user keeps its assignment time and app-level data.
func (s *Service) AssignUserToApp(ctx context.Context, p Principal, userID, appID string) error {
	if !p.administers() {
		return adminOnly("assigning a user to an application")
	}
	app, err := s.store.GetApp(ctx, appID)
	if err != nil || app.Kind != schemas.AppRegular {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return translate(err, "application")
		}
		return Errorf(KindNotFound, "application not found")
	}
	_, err = s.assign(ctx, p, userID, appID, nil, errUnchanged)
	switch {
	case errors.Is(err, errUnchanged):
		return nil // already assigned: nothing to record
	case err != nil:
		return translate(err, "user")
	}
	return nil
}

// assign stores link (nil: a new one, assigned now) as the user's
// assignment to appID, audited as an assignment in the same write; when the
// user is already assigned it writes nothing and returns ifAssigned.
func (s *Service) assign(ctx context.Context, p Principal, userID, appID string, link *schemas.AppLink, ifAssigned error) (*schemas.User, error) {
	return s.store.UpdateUser(ctx, userID, 0, func(u *schemas.User) error {
		if _, ok := u.Apps[appID]; ok {
			return ifAssigned
		}
		if u.Apps == nil {
			u.Apps = map[string]*schemas.AppLink{}
		}
		now := s.clock()
		l := link
		if l == nil {
			l = &schemas.AppLink{AssignedAt: now}
		}
		u.Apps[appID] = l
		u.Updated = now
		return nil
	}, auditFixed[*schemas.User](s.event(p, ActionAssignUserToApp, TargetUser, userID,
		map[string]schemas.Change{"apps." + appID: {Prev: nil, Current: "assigned"}})))
}

// errUnchanged abandons an update that would change nothing.
var errUnchanged = errors.New("directory: unchanged")

// RemoveUserFromApp detaches the user from the caller's application: its
// app-level data is deleted and the app no longer sees it. The user stays in the tenant.
func (s *Service) RemoveUserFromApp(ctx context.Context, p Principal, id string) error {
	if p.AppID == "" || !p.manages() {
		return Errorf(KindForbidden, "only an application's token (with the scim or admin scope) can remove a user from that application")
	}
	return s.detach(ctx, p, id, p.AppID)
}

// UnassignUserFromApp detaches the user from the named application, as
// RemoveUserFromApp does for the caller's own: administrators may name any
// application, an application only itself. The user stays in the tenant; the
// user's access through that application ends at once (user tokens are
// checked against the assignment on every request). A user not assigned to
// the application is a KindNotFound.
func (s *Service) UnassignUserFromApp(ctx context.Context, p Principal, userID, appID string) error {
	if !p.administers() && (appID != p.AppID || !p.manages()) {
		return adminOnly("removing a user from an application")
	}
	return s.detach(ctx, p, userID, appID)
}

// detach removes user id's assignment to appID (and its app-level data).
func (s *Service) detach(ctx context.Context, p Principal, id, appID string) error {
	_, err := s.store.UpdateUser(ctx, id, 0, func(u *schemas.User) error {
		if !visible(p, u) {
			return Errorf(KindNotFound, "user not found")
		}
		if _, ok := u.Apps[appID]; !ok {
			return Errorf(KindNotFound, "the user is not assigned to this application")
		}
		delete(u.Apps, appID)
		u.Updated = s.clock()
		return nil
	}, auditFixed[*schemas.User](s.event(p, ActionRemoveUserFromApp, TargetUser, id,
		map[string]schemas.Change{"apps." + appID: {Prev: "assigned", Current: nil}})))
	if err != nil {
		return translate(err, "user")
	}
	return nil
}

// AppAssignment is one application a user is assigned to.
type AppAssignment struct {
	App  *schemas.App
	Link *schemas.AppLink
}

// UserApps lists the applications user id is assigned to, in id order: all
// of them for tenant-wide callers, only the caller's own for an application.
func (s *Service) UserApps(ctx context.Context, p Principal, id string) ([]AppAssignment, error) {
	if !p.reads() {
		return nil, forbiddenToRead
	}
	u, err := s.GetUser(ctx, p, id)
	if err != nil {
		return nil, err
	}
	out := []AppAssignment{}
	for _, appID := range slices.Sorted(maps.Keys(u.Apps)) {
		if !p.Admin && appID != p.AppID {
			continue
		}
		a, err := s.store.GetApp(ctx, appID)
		if errors.Is(err, storage.ErrNotFound) {
			continue // deleted since: its links are being removed
		}
		if err != nil {
			return nil, translate(err, "application")
		}
		out = append(out, AppAssignment{App: a, Link: u.Apps[appID]})
	}
	return out, nil
}
