package storage

import (
	"context"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Store is the storage contract. Every method takes a context first; all times
// are UTC. The service (package directory) assigns ids; backends never invent them.
//
// Reads return copies: the caller may change what it gets without affecting the store.
//
// Updates are compare-and-swap on the entity's Version: the backend reads the
// entity, calls the updater on a copy, and writes the result back only if the
// stored version is unchanged, retrying otherwise. An updater may therefore run
// more than once and must not have side effects; it should change fields of the
// value it is given rather than build a new one. If the updater returns an error
// the update is abandoned and that error is returned unchanged. Every successful
// write increments Version by exactly one.
//
// Unique fields — user userName (case-insensitive), primary email
// (case-insensitive), primary phone number, externalId; group displayName
// (case-insensitive); app clientId; API token hash — are enforced atomically:
// a write that would duplicate one fails with a *ConflictError naming it.
//
// Login identifiers — userName and primary email (both case-insensitive) and
// primary phone number (exact), see LoginIDs — are moreover unique across
// those fields, atomically: a write that would give a user a login identifier
// another user holds in any of the three fields (a userName equal to another
// user's primary email, say) fails with a *ConflictError naming the written
// user's field. A user's own fields may share one (userName = primary email).
// Only identifiers new to the user are checked, so a clash stored before this
// rule never blocks an unrelated update.
//
// Audit events are committed with the change they describe. Every method that
// changes a user, group, application or API token takes the event of the change:
// a fixed *schemas.Event, or for an update an [Audit] (PatchGroup: a
// [GroupAudit]) that builds it from the committed versions before and after. When such a method returns nil, the
// change and its event are both durable. When it fails because the change was
// refused (ErrNotFound, a *ConflictError, ErrVersionMismatch, an updater's
// error), neither is stored. When the event cannot be stored, the change is
// not made. A nil event (or an Audit returning nil) records nothing; the
// directory passes one for every change it makes on a caller's behalf. How the pair is made atomic is the backend's
// business (embedded: one transaction; mongo: the event is written first and
// removed again if the change is refused), with one difference callers see:
// after a failure wrapping ErrUnavailable the change may or may not have been
// made, and on a backend without multi-document transactions its event may
// exist either way. A change is never stored without its event.
type Store interface {
	// CreateUser stores a new user with Version 1 and returns the stored copy.
	// It fails with a *ConflictError when the id or a unique field is taken.
	CreateUser(ctx context.Context, u *schemas.User, e *schemas.Event) (*schemas.User, error)
	// GetUser returns the user with the given id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (*schemas.User, error)
	// FindUser returns the user whose unique field (FieldUserName, FieldEmail,
	// FieldPhoneNumber or FieldExternalID) has the given value, or ErrNotFound.
	// userName and email compare case-insensitively (schemas.Fold).
	FindUser(ctx context.Context, field, value string) (*schemas.User, error)
	// UpdateUser applies fn to the user under compare-and-swap. If ifVersion is
	// not zero and the stored version differs, it fails with ErrVersionMismatch
	// without calling fn. fn must not change ID or Version. audit builds the
	// event of the version written (see [Audit]).
	UpdateUser(ctx context.Context, id string, ifVersion int64, fn func(*schemas.User) error, audit Audit[*schemas.User]) (*schemas.User, error)
	// DeleteUser removes the user (and with it its group memberships), or returns ErrNotFound.
	DeleteUser(ctx context.Context, id string, e *schemas.Event) error
	// ListUsers returns one page of the users matching q.Filter and the total number of matches.
	ListUsers(ctx context.Context, q Query) (Page[*schemas.User], error)

	// CreateGroup stores a new group with Version 1 and returns the stored copy.
	CreateGroup(ctx context.Context, g *schemas.Group, e *schemas.Event) (*schemas.Group, error)
	// GetGroup returns the group with the given id, or ErrNotFound.
	GetGroup(ctx context.Context, id string) (*schemas.Group, error)
	// UpdateGroup applies fn to the group under compare-and-swap, as UpdateUser.
	UpdateGroup(ctx context.Context, id string, ifVersion int64, fn func(*schemas.Group) error, audit Audit[*schemas.Group]) (*schemas.Group, error)
	// DeleteGroup removes the group and every membership in it, or returns ErrNotFound.
	DeleteGroup(ctx context.Context, id string, e *schemas.Event) error
	// ListGroups returns one page of the groups matching q.Filter and the total.
	ListGroups(ctx context.Context, q Query) (Page[*schemas.Group], error)

	// PatchGroup changes the group's own attributes and its membership as
	// one operation (a SCIM PATCH or PUT of a group), or fails changing
	// nothing:
	//
	//   - ErrNotFound when the group does not exist;
	//   - ch.Check's error when it refuses the group's current Version
	//     (If-Match), before anything else is looked at;
	//   - ch.Apply's error (Apply runs on a copy of the group, may run more
	//     than once and must have no side effects; it reports whether it
	//     changed anything and must not change ID or Version);
	//   - ErrNotFound when an "add" or "replace" operation names a user that
	//     does not exist.
	//
	// The membership operations (MemberOp) apply in order after
	// Apply: "add" makes the users members (idempotent), "remove" removes
	// them (users that are not members, or do not exist, are ignored),
	// "replace" makes the members exactly the users named, "clear" removes
	// every member; any other Op is an error.
	//
	// When nothing changes (Apply changed nothing and every operation was a
	// no-op) nothing is written: no new version, no event. Otherwise the group
	// gets Version+1 — once, whatever changed; concurrent changes of one
	// group's membership alone may be made together and share it (the
	// version each returns is still newer than the one it found) — and, when its membership
	// changed, Updated becomes ch.At if that is later; each user whose
	// membership changed gets a new Version (a user's groups are part of its
	// representation, so its ETag must change with them). audit builds the
	// events of the change from the group before and after and the users
	// added and removed (ascending, each once); they are committed with it.
	//
	// The embedded store makes it one transaction. MongoDB (no multi-document
	// transactions in the portable subset) orders it and compensates: see
	// the mongo package for what a failure part way leaves.
	PatchGroup(ctx context.Context, id string, ch GroupChange, audit GroupAudit) (*schemas.Group, error)
	// GroupMemberIDs returns the ids of the group's members in ascending order,
	// or ErrNotFound when the group does not exist.
	GroupMemberIDs(ctx context.Context, groupID string) ([]string, error)
	// GroupMembers returns the group's members in ascending id order with the
	// names a listing of them shows, or ErrNotFound when the group does not
	// exist. It reads no more of each user than those names.
	GroupMembers(ctx context.Context, groupID string) ([]Member, error)

	// CreateApp stores a new application with Version 1.
	CreateApp(ctx context.Context, a *schemas.App, e *schemas.Event) (*schemas.App, error)
	// GetApp returns the application with the given id, or ErrNotFound.
	GetApp(ctx context.Context, id string) (*schemas.App, error)
	// FindAppByClientID returns the application whose client has the id, or ErrNotFound.
	FindAppByClientID(ctx context.Context, clientID string) (*schemas.App, error)
	// UpdateApp applies fn to the application under compare-and-swap.
	UpdateApp(ctx context.Context, id string, fn func(*schemas.App) error, audit Audit[*schemas.App]) (*schemas.App, error)
	// DeleteApp removes the application and every user's data for it (the users
	// stay), or returns ErrNotFound.
	DeleteApp(ctx context.Context, id string, e *schemas.Event) error
	// ListApps returns all applications of the given kind ("" for every kind) in id order.
	ListApps(ctx context.Context, kind string) ([]*schemas.App, error)

	// CreateAPIToken stores a new API token record.
	CreateAPIToken(ctx context.Context, t *schemas.APIToken, e *schemas.Event) error
	// FindAPIToken returns the token record with the given hash, or ErrNotFound.
	FindAPIToken(ctx context.Context, hash string) (*schemas.APIToken, error)
	// ListAPITokens returns every API token record in id order.
	ListAPITokens(ctx context.Context) ([]*schemas.APIToken, error)
	// DeleteAPIToken removes a token record, or returns ErrNotFound.
	DeleteAPIToken(ctx context.Context, id string, e *schemas.Event) error
	// TouchAPIToken records that the token was used at t (only ever moves
	// forward). It is bookkeeping, not audited.
	TouchAPIToken(ctx context.Context, id string, t time.Time) error

	// CreateAdmin stores a new portal administrator with Version 1. It fails
	// with a *ConflictError (FieldID) when the id is taken.
	CreateAdmin(ctx context.Context, a *schemas.Admin, e *schemas.Event) error
	// GetAdmin returns the administrator with the given id, or ErrNotFound.
	GetAdmin(ctx context.Context, id string) (*schemas.Admin, error)
	// ListAdmins returns every administrator in id order.
	ListAdmins(ctx context.Context) ([]*schemas.Admin, error)
	// UpdateAdmin applies fn to the administrator under compare-and-swap, as
	// UpdateApp; e (which may be nil) is committed with the change.
	UpdateAdmin(ctx context.Context, id string, fn func(*schemas.Admin) error, e *schemas.Event) (*schemas.Admin, error)
	// DeleteAdmin removes the administrator and every session of it, or
	// returns ErrNotFound.
	DeleteAdmin(ctx context.Context, id string, e *schemas.Event) error

	// CreateSession stores a new portal session; a *ConflictError (FieldID)
	// when its id is taken. e (which may be nil) is committed with it.
	CreateSession(ctx context.Context, s *schemas.Session, e *schemas.Event) error
	// GetSession returns the session with the given id, or ErrNotFound.
	// Expiry is the caller's business: an expired session is still returned
	// until it is deleted.
	GetSession(ctx context.Context, id string) (*schemas.Session, error)
	// TouchSession moves the session's LastSeen forward to t (never back).
	// It is bookkeeping, not audited; ErrNotFound when the session is gone.
	TouchSession(ctx context.Context, id string, t time.Time) error
	// DeleteSession removes a session, or returns ErrNotFound; e (which may be
	// nil) is committed with it.
	DeleteSession(ctx context.Context, id string, e *schemas.Event) error
	// DeleteSessions removes every session of the administrator except the one
	// with id keep (which may be ""), and every session of anyone whose
	// absolute expiry is before expiredBefore (zero: none by expiry).
	DeleteSessions(ctx context.Context, adminID, keep string, expiredBefore time.Time) error

	// AppendEvent stores an audit event that is not part of a change (a failed
	// login); events of changes are committed by the method making the change.
	AppendEvent(ctx context.Context, e *schemas.Event) error
	// ListEvents returns one page of the events matching q, newest first, and
	// the total. A stored event that cannot be decoded does not fail the query:
	// it is returned with what could be read of it and Damaged set.
	ListEvents(ctx context.Context, q EventQuery) (Page[*schemas.Event], error)

	// PruneEvents deletes up to limit audit events whose Time is before
	// before, oldest first, and returns how many it deleted (fewer than limit:
	// none older are left). It deletes events only, never what they describe,
	// and records no event of its own. It exists for audit retention, run in a
	// loop of small batches so that no single write holds the store long.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int, error)

	// SigningKeys returns the token signing keys, oldest first.
	SigningKeys(ctx context.Context) ([]*schemas.SigningKey, error)
	// UpdateSigningKeys replaces the key set with what fn returns, atomically with
	// respect to other callers (fn may run more than once).
	UpdateSigningKeys(ctx context.Context, fn func([]*schemas.SigningKey) ([]*schemas.SigningKey, error)) error

	// AddLoginFailure records a failed login of an account at t, forgets the
	// account's failures at or before t-window, and returns how many remain
	// (this one included). userID names the account: a user id, or any other
	// key the caller chooses for other kinds of accounts (the directory uses
	// "admin\x00<id>" for portal administrators). Failures are kept apart from
	// the user document (recording one changes no Version) and are shared by
	// every process on the store.
	AddLoginFailure(ctx context.Context, userID string, t time.Time, window time.Duration) (int, error)
	// LoginFailures returns how many failed logins of the user are recorded
	// after since (0 for a user without any, or unknown).
	LoginFailures(ctx context.Context, userID string, since time.Time) (int, error)
	// ClearLoginFailures forgets the user's failed logins.
	ClearLoginFailures(ctx context.Context, userID string) error

	// Ping reports whether the store is reachable and can write: it fails
	// (wrapping ErrUnavailable where the condition may pass) when the store's
	// last write failed for a reason that outlives the request (a full disk)
	// or when no server that takes writes (a primary) can be reached.
	Ping(ctx context.Context) error
	// Close releases the store's resources. The store is unusable afterwards.
	Close() error
}

// GroupChange is one change of a group by PatchGroup.
type GroupChange struct {
	// Check, when set, is called with the group's current Version before
	// anything changes (If-Match); an error it returns is returned as is.
	Check func(version int64) error
	// Apply changes the group's own attributes (nil: none) and reports
	// whether it changed anything.
	Apply func(g *schemas.Group) (changed bool, err error)
	// Members are the membership operations, applied in order after Apply.
	Members []MemberOp
	// At is the time of the change: the group's Updated when its membership
	// changes.
	At time.Time
}

// Member is a group's member as a listing of the group's members shows it.
type Member struct {
	ID          string
	UserName    string
	DisplayName string
}

// MemberOp is one membership operation of a GroupChange: "add" or "remove"
// of the users IDs, "replace" (the members become exactly IDs) or "clear"
// (no members).
type MemberOp struct {
	Op  string
	IDs []string
}

// GroupAudit builds the audit events of a PatchGroup that changes
// something: prev and cur are the group before and after (cur with its new
// Version), added and removed the users whose membership changed (ascending,
// each once). The backend calls it once per attempt and commits the events
// of the attempt that is written, in order; it must not change its
// arguments, must have no side effects and must return events with the same
// IDs every time. nil events are skipped.
type GroupAudit func(prev, cur *schemas.Group, added, removed []string) []*schemas.Event

// Audit builds the audit event of an update: prev is the committed version the
// update started from, cur the version it writes (ID and Version already set).
// The backend calls it after the updater, once per attempt, and commits the
// event of the attempt that is written; it must not change its arguments, must
// have no side effects and must return an event with the same ID every time.
// Returning nil records nothing (an update that changes nothing worth recording).
type Audit[T any] func(prev, cur T) *schemas.Event

// Query selects a page of users or groups.
type Query struct {
	// Filter selects the entities; nil selects all.
	Filter schemas.Filter
	// Sort orders the results; nil orders by id ascending, which is creation order
	// because the service assigns time-ordered ids. Ties are broken by id.
	Sort *schemas.SortKey
	// Offset is how many matching entities to skip (0-based), counted from
	// the cursor's position when After is set.
	Offset int
	// Limit is the page size. Zero returns no items, only the total; Unlimited returns all.
	Limit int
	// After, when not empty, is the Next cursor of a page of a query with the
	// same Filter and Sort (ListUsers only): the page starts at the first
	// match that comes after that page's last entity in the order of Sort.
	// Where the backend lists through an index a cursor is a position, not a
	// count, so that a page costs the same wherever it is and entities
	// created or deleted meanwhile neither repeat nor skip the ones that
	// stayed; elsewhere it may hold an offset. Every cursor names the Sort
	// it was made for (attribute and direction; a nil Sort, id order, is a
	// sort of its own): a cursor the backend did not make, or made for
	// another Sort, fails with ErrBadCursor.
	After string
	// CountLimit, when positive, lets the backend stop counting matches past
	// it (ListUsers only): when more than CountLimit entities match, Total
	// may be CountLimit with Page.Capped set. The items are the same either
	// way. Zero counts every match.
	CountLimit int
}

// Unlimited as Query.Limit or EventQuery.Limit returns every match.
const Unlimited = -1

// Page is one page of results and the total number of matches.
type Page[T any] struct {
	Items []T
	Total int
	// Capped reports that the count stopped at Query.CountLimit: Total is
	// CountLimit and more entities match.
	Capped bool
	// Next is the cursor of the page after this one (Query.After) when the
	// page is full and more matches follow it, else empty (ListUsers only).
	Next string
}

// EventQuery selects a page of audit events. Empty fields select everything.
type EventQuery struct {
	TargetID string
	ActorID  string
	Action   string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	Offset   int
	Limit    int // as Query.Limit
}
