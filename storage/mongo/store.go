package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/scimd/scimd/storage"
)

var _ storage.Store = (*Store)(nil)

// Collection names.
const (
	collUsers    = "users"
	collGroups   = "groups"
	collApps     = "apps"
	collTokens   = "apiTokens"
	collEvents   = "events"
	collKeys     = "signingKeys"
	collClaims   = "casClaims"
	collLogins   = "loginIds"
	collFails    = "loginFailures"
	keySetDocID  = "signingKeys" // the one document of collKeys
	collAdmins   = "admins"
	collSessions = "sessions"
)

// Defaults of [Options].
const (
	DefaultServerSelectionTimeout = 5 * time.Second
	DefaultMaxAttempts            = 100
)

// Options tune [OpenOptions]. The zero value is ready to use.
type Options struct {
	// ServerSelectionTimeout bounds how long Open waits for a reachable server;
	// zero means DefaultServerSelectionTimeout. (Later operations use the
	// driver's defaults, or the URI's serverSelectionTimeoutMS, so that a busy
	// connection pool does not fail requests after only a few seconds.)
	ServerSelectionTimeout time.Duration
	// MaxAttempts bounds how often a compare-and-swap update is tried when
	// other writers keep winning the race; zero means DefaultMaxAttempts
	// (ten times that with claims, see ClaimMode).
	MaxAttempts int
	// Monitor, when set, observes every command sent to the server (tests use it
	// to count round trips).
	Monitor *event.CommandMonitor
	// Claims selects the compare-and-swap protocol (see [ClaimMode]).
	Claims ClaimMode
}

// ClaimMode selects how compare-and-swap writes are made atomic.
//
// On MongoDB, DocumentDB and Cosmos a single-document update is atomic, so
// ReplaceOne({_id, version: old}) is a compare-and-swap by itself. FerretDB v1
// is different: it evaluates an update's filter and then rewrites the matched
// documents by _id, without holding anything in between, so two writers can
// both "match" version n and both write version n+1 (and $inc, $addToSet and
// $max lose updates the same way). Only its inserts are atomic, through unique
// indexes. With claims, a writer first inserts a claim document whose _id
// names the collection, the document and the version it replaces; only the
// writer whose insert succeeds may replace that version. The claim is deleted
// afterwards (in the background once the replace succeeded: a replaced
// version is never contested again), so an update costs three round trips on
// its critical path instead of two. A claim left behind by a crashed writer is taken over once
// it is older than ClaimStaleAfter. Multi-document updates ($addToSet/$pull
// over many users) become one compare-and-swap per document.
type ClaimMode int

const (
	// ClaimsAuto uses claims only on servers known to need them: FerretDB
	// before v2, recognized by the ferretdbVersion field of buildInfo (an
	// unparsable version, such as embedded FerretDB's "unknown", counts as v1).
	ClaimsAuto ClaimMode = iota
	// ClaimsAlways uses claims on every server.
	ClaimsAlways
	// ClaimsNever never uses claims.
	ClaimsNever
)

// ClaimStaleAfter is the age after which a claim is assumed to belong to a
// crashed writer and may be taken over.
const ClaimStaleAfter = 30 * time.Second

// Store is the MongoDB implementation of [storage.Store]. It is safe for
// concurrent use, also by several processes (scimd replicas) on one database.
type Store struct {
	client      *mdb.Client
	db          *mdb.Database
	users       *mdb.Collection
	groups      *mdb.Collection
	apps        *mdb.Collection
	tokens      *mdb.Collection
	events      *mdb.Collection
	keys        *mdb.Collection
	claimColl   *mdb.Collection
	logins      *mdb.Collection // login identifier claims (logins.go)
	failures    *mdb.Collection // failed logins (logins.go)
	claims      bool            // see ClaimMode
	admins      *mdb.Collection
	sessions    *mdb.Collection
	maxAttempts int
	bg          sync.WaitGroup // background claim deletions
	locks       keyLocks       // in-process serialization of writers per document
	batches     memberBatcher  // concurrent membership changes per group (memberbatch.go)
	closeOnce   sync.Once
	closeErr    error
}

// Open connects to the MongoDB deployment at uri, checks that it answers, and
// prepares the database (creating its indexes, which is idempotent). It fails
// with an error wrapping the driver's when no server is reachable within
// DefaultServerSelectionTimeout.
func Open(ctx context.Context, uri, database string) (*Store, error) {
	return OpenOptions(ctx, uri, database, Options{})
}

// OpenOptions is [Open] with options.
func OpenOptions(ctx context.Context, uri, database string, o Options) (*Store, error) {
	if database == "" {
		return nil, errors.New("mongo: no database name")
	}
	if o.ServerSelectionTimeout <= 0 {
		o.ServerSelectionTimeout = DefaultServerSelectionTimeout
	}
	co := options.Client().ApplyURI(uri)
	if o.Monitor != nil {
		co.SetMonitor(o.Monitor)
	}
	client, err := mdb.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect %s: %w", redact(uri), err)
	}
	pctx, cancel := context.WithTimeout(ctx, o.ServerSelectionTimeout)
	defer cancel()
	if err := client.Ping(pctx, nil); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo: connect %s: %w", redact(uri), err)
	}
	db := client.Database(database)
	s := &Store{
		client:      client,
		db:          db,
		users:       db.Collection(collUsers),
		groups:      db.Collection(collGroups),
		apps:        db.Collection(collApps),
		tokens:      db.Collection(collTokens),
		events:      db.Collection(collEvents),
		keys:        db.Collection(collKeys),
		claimColl:   db.Collection(collClaims),
		logins:      db.Collection(collLogins),
		admins:      db.Collection(collAdmins),
		sessions:    db.Collection(collSessions),
		failures:    db.Collection(collFails),
		maxAttempts: o.MaxAttempts,
	}
	switch o.Claims {
	case ClaimsAlways:
		s.claims = true
	case ClaimsAuto:
		var bi bson.M
		if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&bi); err != nil {
			_ = client.Disconnect(context.Background())
			return nil, wrap(err, "buildInfo")
		}
		if v, ok := bi["ferretdbVersion"].(string); ok {
			s.claims = ferretNeedsClaims(v)
		}
	}
	if o.MaxAttempts <= 0 {
		s.maxAttempts = DefaultMaxAttempts
		if s.claims {
			// Claims serialize writers on a hot document more strictly (a loser
			// waits for the winner's whole write), so allow more waiting.
			s.maxAttempts = 10 * DefaultMaxAttempts
		}
	}
	if err := s.createIndexes(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	if err := s.backfillNorm(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// redact hides the credentials of a connection string in error messages.
func redact(uri string) string {
	const scheme = "://"
	i := strings.Index(uri, scheme)
	if i < 0 {
		return "(invalid URI)"
	}
	rest := uri[i+len(scheme):]
	at := strings.Index(rest, "@")
	slash := strings.Index(rest, "/")
	if at >= 0 && (slash < 0 || at < slash) {
		return uri[:i+len(scheme)] + "***@" + rest[at+1:]
	}
	return uri
}

// index is one index the store needs.
type index struct {
	coll   *mdb.Collection
	name   string
	keys   bson.D
	unique bool
}

// createIndexes creates every index (an existing index with the same
// definition is left alone) and drops those they replaced. Unique indexes
// are sparse and cover only normalized scalar fields that are omitted when
// empty; see the package doc.
func (s *Store) createIndexes(ctx context.Context) error {
	idx := []index{
		{s.users, "norm_userName", bson.D{{Key: "norm.userName", Value: 1}}, true},
		{s.users, "norm_email", bson.D{{Key: "norm.email", Value: 1}}, true},
		{s.users, "norm_phone", bson.D{{Key: "norm.phone", Value: 1}}, true},
		{s.users, "externalId", bson.D{{Key: "externalId", Value: 1}}, true},
		{s.users, "groupIds", bson.D{{Key: "groupIds", Value: 1}}, false},
		{s.users, "norm_groups", bson.D{{Key: "norm.groups", Value: 1}}, false},
		{s.users, "apps_appId", bson.D{{Key: "apps.appId", Value: 1}}, false},
		{s.users, "created", bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}, false},
		{s.users, "updated", bson.D{{Key: "updated", Value: 1}, {Key: "_id", Value: 1}}, false},
		{s.users, "sort_userName", bson.D{{Key: "norm.sort.userName", Value: 1}, {Key: "_id", Value: 1}}, false},
		{s.users, "sort_userName_desc", bson.D{{Key: "norm.sort.userName", Value: -1}, {Key: "_id", Value: 1}}, false},
		{s.users, "sort_familyName", bson.D{{Key: "norm.sort.familyName", Value: 1}, {Key: "_id", Value: 1}}, false},
		{s.users, "sort_familyName_desc", bson.D{{Key: "norm.sort.familyName", Value: -1}, {Key: "_id", Value: 1}}, false},
		{s.users, "sort_email", bson.D{{Key: "norm.sort.email", Value: 1}, {Key: "_id", Value: 1}}, false},
		{s.users, "sort_email_desc", bson.D{{Key: "norm.sort.email", Value: -1}, {Key: "_id", Value: 1}}, false},
		{s.groups, "norm_displayName", bson.D{{Key: "norm.displayName", Value: 1}}, true},
		{s.groups, "norm_id", bson.D{{Key: "norm.id", Value: 1}}, false},
		{s.apps, "clientId", bson.D{{Key: "clientId", Value: 1}}, true},
		{s.tokens, "hash", bson.D{{Key: "hash", Value: 1}}, true},
		{s.events, "time", bson.D{{Key: "time", Value: -1}, {Key: "_id", Value: -1}}, false},
		// One target's or one actor's events, newest first, as ListEvents
		// reads them (the index also bounds the time range).
		{s.events, "targetId_time", bson.D{{Key: "targetId", Value: 1}, {Key: "time", Value: -1}, {Key: "_id", Value: -1}}, false},
		{s.events, "actorId_time", bson.D{{Key: "actorId", Value: 1}, {Key: "time", Value: -1}, {Key: "_id", Value: -1}}, false},
		{s.sessions, "adminId", bson.D{{Key: "adminId", Value: 1}}, false},
		{s.sessions, "expires", bson.D{{Key: "expires", Value: 1}}, false},
		{s.failures, "user_at", bson.D{{Key: "user", Value: 1}, {Key: "at", Value: 1}}, false},
	}
	// Indexes that an index above replaced: dropped where they exist.
	replaced := map[*mdb.Collection][]string{
		s.events: {"targetId"}, // by targetId_time
	}
	byColl := map[*mdb.Collection][]index{}
	var order []*mdb.Collection
	for _, ix := range idx {
		if _, ok := byColl[ix.coll]; !ok {
			order = append(order, ix.coll)
		}
		byColl[ix.coll] = append(byColl[ix.coll], ix)
	}
	for _, c := range order {
		// Create only the missing indexes: FerretDB v1 can crash on a
		// createIndexes that repeats existing ones.
		have, err := indexNames(ctx, c)
		if err != nil {
			return err
		}
		for _, name := range replaced[c] {
			if have[name] {
				if err := c.Indexes().DropOne(ctx, name); err != nil {
					return fmt.Errorf("mongo: drop the replaced index %s on %s: %w", name, c.Name(), err)
				}
			}
		}
		var missing []mdb.IndexModel
		for _, ix := range byColl[c] {
			if have[ix.name] {
				continue
			}
			o := options.Index().SetName(ix.name)
			if ix.unique {
				o.SetUnique(true).SetSparse(true)
			}
			missing = append(missing, mdb.IndexModel{Keys: ix.keys, Options: o})
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := c.Indexes().CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("mongo: create indexes on %s: %w", c.Name(), err)
		}
	}
	return nil
}

// indexNames returns the names of the collection's indexes (none when the
// collection does not exist yet).
func indexNames(ctx context.Context, c *mdb.Collection) (map[string]bool, error) {
	names, err := c.Indexes().ListSpecifications(ctx)
	if err != nil {
		var ce mdb.CommandError
		if errors.As(err, &ce) && ce.Code == 26 { // NamespaceNotFound
			return map[string]bool{}, nil
		}
		return nil, fmt.Errorf("mongo: list indexes on %s: %w", c.Name(), err)
	}
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n.Name] = true
	}
	return have, nil
}

// Database returns the name of the database the store uses.
func (s *Store) Database() string { return s.db.Name() }

// Ping reports whether a server that takes writes answers: the ping goes to
// the primary (the client's read preference), so a replica set without one
// fails it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, nil); err != nil {
		return wrap(err, "ping")
	}
	return nil
}

// Close disconnects from the deployment. Calling it again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.bg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.client.Disconnect(ctx); err != nil {
			s.closeErr = fmt.Errorf("mongo: close: %w", err)
		}
	})
	return s.closeErr
}

// backoff sleeps before compare-and-swap attempt n (n ≥ 1) for a random time
// that grows with n, so that writers racing on one document spread out.
func backoff(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	limit := time.Duration(1<<min(n, 6)) * time.Millisecond // up to 64ms
	d := time.Duration(rand.Int64N(int64(limit))) + 100*time.Microsecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ferretNeedsClaims reports whether a FerretDB server of the version (as in
// buildInfo's ferretdbVersion, e.g. "v1.24.0"; "unknown" when embedded) has
// non-atomic updates: every version before 2.
func ferretNeedsClaims(v string) bool {
	v = strings.TrimPrefix(v, "v")
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	return err != nil || n < 2
}

// UsesClaims reports whether the store makes compare-and-swap writes atomic
// with claim documents (see [ClaimMode]).
func (s *Store) UsesClaims() bool { return s.claims }

// docKind describes to [cas] a collection's documents D and their domain
// form T.
type docKind[D, T any] struct {
	noun    string // in errors: "user"
	version func(*D) int64
	decode  func(*D) (T, error)
	stamp   func(v T, id string, version int64) // sets ID and Version
	encode  func(T) (*D, error)
	checks  func(d *D, withID bool) []conflictCheck // unique fields, as userConflictChecks
	// logins, when set, returns the login identifiers of a value: cas claims
	// those a change adds before it writes (see logins.go).
	logins func(T) []storage.LoginID
}

// cas is the compare-and-swap loop of updates to document id of c: read the
// document (or take first, when not nil), check ifVersion (0: any), decode
// it, apply change, and [Store.swap] in the next version. A lost race reads
// again. change reports whether it changed anything; when it did not, nothing
// is written and the decoded value is returned as it is.
//
// With audit, the event of each attempt is written before its swap (see
// [Store.audited]); when the update then fails in any way but a failed swap
// (which may have been made: a lost connection), the event is deleted.
func cas[D, T any](ctx context.Context, s *Store, c *mdb.Collection, k docKind[D, T], id string, ifVersion int64,
	first *D, change func(T) (bool, error), audit storage.Audit[T]) (_ T, err error) {
	var none T
	defer s.locks.lock(c.Name() + "/" + id)()
	eventID := ""         // the event written, if any
	mayBeWritten := false // a swap failed in a way that does not tell whether it was made
	defer func() {
		if eventID != "" && err != nil && !mayBeWritten {
			s.dropEvent(ctx, eventID)
		}
	}()
	for attempt := 0; attempt < s.maxAttempts; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return none, wrap(err, "update %s %s", k.noun, id)
		}
		d := first
		first = nil
		if d == nil {
			d = new(D)
			if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(d); err != nil {
				return none, notFound(err, "update %s %s", k.noun, id)
			}
		}
		old := k.version(d)
		if ifVersion != 0 && old != ifVersion {
			return none, storage.ErrVersionMismatch
		}
		v, err := k.decode(d)
		if err != nil {
			return none, err
		}
		var before []storage.LoginID
		if k.logins != nil {
			before = k.logins(v)
		}
		changed, err := change(v)
		if err != nil {
			return none, err
		}
		if !changed {
			return v, nil
		}
		k.stamp(v, id, old+1)
		nd, err := k.encode(v)
		if err != nil {
			return none, err
		}
		var claimed []loginClaim
		var after []storage.LoginID
		if k.logins != nil {
			after = k.logins(v)
			if claimed, err = s.claimLogins(ctx, id, storage.AddedLoginIDs(before, after)); err != nil {
				return none, err
			}
		}
		if audit != nil {
			prev, err := k.decode(d)
			if err != nil {
				return none, err
			}
			if e := audit(prev, v); e != nil {
				ed, err := eventToDoc(e)
				if err != nil {
					return none, err
				}
				if err := s.writeEvents(ctx, ed); err != nil {
					return none, err
				}
				eventID = ed.Head.ID
			}
		}
		swapped, err := s.swap(ctx, c, id, old, nd)
		if !swapped || err != nil {
			s.releaseLogins(ctx, claimed)
		} else if k.logins != nil {
			s.dropLogins(ctx, id, storage.AddedLoginIDs(after, before))
		}
		if err != nil {
			if !isDuplicateKey(err) {
				mayBeWritten = true
				return none, wrap(err, "update %s %s", k.noun, id)
			}
			if err := conflictOf(ctx, c, id, k.checks(nd, false)); err != nil {
				return none, err
			}
			continue
		}
		if swapped {
			return v, nil
		}
		// Another writer won (or the document was deleted: the next read tells).
	}
	return none, wrap(errTooManyAttempts, "update %s %s", k.noun, id)
}

// swap replaces the document id of c, if it still has version old, with doc
// (which carries version old+1). It reports false when another writer changed
// the document first (or it is gone): the caller then reads it again.
func (s *Store) swap(ctx context.Context, c *mdb.Collection, id string, old int64, doc any) (bool, error) {
	if s.claims {
		claimID := c.Name() + "/" + id + "/" + strconv.FormatInt(old, 10)
		won, err := s.claim(ctx, claimID)
		if err != nil || !won {
			return false, err
		}
		res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: old}}, doc)
		if err != nil || res.MatchedCount != 1 {
			// The document keeps version old: free it for the next writer now.
			s.release(ctx, claimID)
			if err != nil {
				return false, err
			}
			return false, nil
		}
		// Version old is gone, so nobody needs its claim any more: delete it
		// off the critical path (Close waits for these deletions).
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.release(ctx, claimID)
		}()
		return true, nil
	}
	res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: old}}, doc)
	if err != nil {
		return false, err
	}
	return res.MatchedCount == 1, nil
}

// claimDoc is the claim on replacing one version of one document.
type claimDoc struct {
	ID string    `bson:"_id"` // collection/id/version
	At time.Time `bson:"at"`
}

// claim tries to insert the claim; it reports whether this writer got it.
func (s *Store) claim(ctx context.Context, claimID string) (bool, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, err := s.claimColl.InsertOne(ctx, claimDoc{ID: claimID, At: now})
	if err == nil {
		return true, nil
	}
	if !isDuplicateKey(err) {
		return false, wrap(err, "claim %s", claimID)
	}
	// Usually the holder is simply busy writing. Look at the claim's age only
	// now and then: a stale claim blocks every writer of the document, so one
	// of them soon looks.
	if rand.IntN(8) != 0 {
		return false, nil
	}
	var cur claimDoc
	if err := s.claimColl.FindOne(ctx, bson.D{{Key: "_id", Value: claimID}}).Decode(&cur); err != nil {
		if errors.Is(err, mdb.ErrNoDocuments) {
			return false, nil // released meanwhile: the caller reads again
		}
		return false, wrap(err, "claim %s", claimID)
	}
	if now.Sub(cur.At) > ClaimStaleAfter {
		// The holder crashed (or is hopelessly late): take the claim over.
		if _, err := s.claimColl.DeleteOne(ctx, bson.D{{Key: "_id", Value: claimID}, {Key: "at", Value: cur.At}}); err != nil {
			return false, wrap(err, "claim %s", claimID)
		}
	}
	return false, nil
}

// release deletes a claim, even when ctx is already canceled.
func (s *Store) release(ctx context.Context, claimID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = s.claimColl.DeleteOne(ctx, bson.D{{Key: "_id", Value: claimID}})
}

// isDuplicateKey reports whether err is a unique-index violation. FerretDB v1
// reports one on update not as error 11000 but as an internal error quoting
// SQLite's "UNIQUE constraint failed".
func isDuplicateKey(err error) bool {
	if err == nil {
		return false
	}
	if mdb.IsDuplicateKeyError(err) {
		return true
	}
	var se mdb.ServerError
	if errors.As(err, &se) {
		msg := err.Error()
		return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "E11000") ||
			strings.Contains(msg, "duplicate key")
	}
	return false
}

// errTooManyAttempts is returned when a compare-and-swap never won its race.
var errTooManyAttempts = errors.New("too many concurrent updates, giving up")

// notFound maps the driver's "no documents" to storage.ErrNotFound and wraps
// every other error as wrap does.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, mdb.ErrNoDocuments) {
		return storage.ErrNotFound
	}
	return wrap(err, format, args...)
}

// wrap adds context to a driver error, marking it storage.ErrUnavailable when
// it is transient (see transient).
func wrap(err error, format string, args ...any) error {
	err = fmt.Errorf("mongo: "+format+": %w", append(args, err)...)
	if transient(err) {
		return storage.Unavailable(err)
	}
	return err
}

// transientCodes are server error codes of conditions that pass: a primary
// stepping down or missing, a node shutting down or unreachable, an
// operation that ran out of time or lost a write conflict.
var transientCodes = []int{
	6, 7, 50, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436,
}

// transient reports whether err is a timeout, a network or server-selection
// failure or a server error of a passing condition (after the driver's own
// retry of reads and retryable writes): retrying later may succeed.
// Cancellation by the caller is not transient.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, errTooManyAttempts) || mdb.IsTimeout(err) || mdb.IsNetworkError(err) {
		return true
	}
	if errors.As(err, &topology.ServerSelectionError{}) {
		return true
	}
	var se mdb.ServerError
	if errors.As(err, &se) {
		// FerretDB v1 over SQLite answers a write that waited for others
		// longer than SQLite's busy timeout with an InternalError quoting
		// SQLITE_BUSY: the contention passes.
		if strings.Contains(se.Error(), "SQLITE_BUSY") {
			return true
		}
		if se.HasErrorLabel("RetryableWriteError") || se.HasErrorLabel("TransientTransactionError") {
			return true
		}
		for _, c := range transientCodes {
			if se.HasErrorCode(c) {
				return true
			}
		}
	}
	return false
}

// conflictCheck is one unique field to look at after a duplicate-key error.
type conflictCheck struct {
	field string // storage.Field*
	key   string // document field
	value any    // nil or "" when the written document does not have it
}

// conflictOf finds out which unique field a write collides on by querying
// the unique fields (FerretDB's duplicate-key errors do not name the index,
// and MongoDB's name it in a message that is not an API) and returns the
// storage.Conflict naming it. excludeID, when not empty, is the id of the
// document being replaced. It returns nil when no colliding document is
// found (any more: it was changed in the meantime): a caller whose write
// failed with a duplicate key then tries the write again.
func conflictOf(ctx context.Context, c *mdb.Collection, excludeID string, checks []conflictCheck) error {
	field, err := whichConflict(ctx, c, excludeID, checks)
	if err != nil {
		return err
	}
	if field != "" {
		return storage.Conflict(field)
	}
	return nil
}

// whichConflict is conflictOf's query: the field, or "" when none collides.
func whichConflict(ctx context.Context, c *mdb.Collection, excludeID string, checks []conflictCheck) (string, error) {
	var or bson.A
	proj := bson.D{}
	for _, ch := range checks {
		if ch.value == nil || ch.value == "" {
			continue
		}
		or = append(or, bson.D{{Key: ch.key, Value: ch.value}})
		if ch.key != "_id" {
			proj = append(proj, bson.E{Key: ch.key, Value: 1})
		}
	}
	if len(or) == 0 {
		return "", nil
	}
	filter := bson.D{{Key: "$or", Value: or}}
	if excludeID != "" {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$ne", Value: excludeID}}}, {Key: "$or", Value: or}}
	}
	cur, err := c.Find(ctx, filter, options.Find().SetProjection(proj).SetLimit(int64(len(checks))))
	if err != nil {
		return "", wrap(err, "find conflicting %s", c.Name())
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil {
		return "", wrap(err, "find conflicting %s", c.Name())
	}
	for _, ch := range checks { // in the order of precedence
		if ch.value == nil || ch.value == "" {
			continue
		}
		for _, d := range docs {
			if lookupEquals(d, ch.key, ch.value) {
				return ch.field, nil
			}
		}
	}
	return "", nil
}

// lookupEquals reports whether the dotted key of d holds the string value v.
func lookupEquals(d bson.Raw, key string, v any) bool {
	rv, err := d.LookupErr(strings.Split(key, ".")...)
	if err != nil {
		return false
	}
	s, ok := rv.StringValueOK()
	return ok && s == v
}
