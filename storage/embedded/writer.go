package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// maxBatch bounds how many queued writes share one transaction. A bulk load
// (scimd import runs this many creates at once) gains from large batches: a
// commit rewrites every index page the batch touched, so its cost is shared
// by more writes (at 100,000 users, 2,048 → 8,192 cut the writer's time per
// user by about a quarter).
const maxBatch = 8192

// maxCohort is the largest batch the writer waits to see again, and
// maxCohortWait the longest it waits (see run).
const (
	maxCohort     = 64
	maxCohortWait = 10 * time.Millisecond
)

// errRetry is returned by an exec function when the version it read has
// changed: the caller re-reads and runs its updater again.
var errRetry = errors.New("embedded: retry")

// request is one write, executed by the writer goroutine inside a batch.
// Requests are reused (requests): the writer answers each exactly once, by
// a send on done (buffered: it never blocks), and wait returns it to the
// pool once it has received the answer, after which nothing holds it.
type request struct {
	// exec checks the write against the batch's view of the state and stages it.
	// It must return any domain error (conflict, not found, retry) before
	// staging anything; an error after staging aborts the whole batch.
	exec func(b *batch) error
	err  error
	done chan struct{}
	// derived marks a write that only rearranges what committed writes hold
	// durably already (a seal of audit events, a drain of the membership
	// lag): a batch of derived writes alone is logged but not synced (see
	// commitBatch), so that the writer's own housekeeping under load adds
	// no fsync to the clients' writes.
	derived bool
}

// requests holds the requests answered and waited for: a write allocates
// neither the request nor its channel.
var requests = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// answer answers r (once: the writer then no longer touches it).
func (r *request) answer() { r.done <- struct{}{} }

// release returns r, answered and its answer read, to requests.
func (r *request) release() {
	r.exec, r.err, r.derived = nil, nil, false
	requests.Put(r)
}

// submit queues a write and waits until it is committed (or failed). It does
// not give up on a cancelled context once queued: the answer is near, and a
// write must not be reported as failed when it was in fact committed.
func (s *Store) submit(exec func(b *batch) error) error {
	r, err := s.enqueue(exec)
	if err != nil {
		return err
	}
	return s.wait(r)
}

// enqueue queues a write without waiting for it (see wait).
func (s *Store) enqueue(exec func(b *batch) error) (*request, error) {
	r := requests.Get().(*request)
	r.exec = exec
	select {
	case s.reqs <- r:
		return r, nil
	case <-s.quit:
		r.release()
		return nil, ErrClosed
	}
}

// wait waits until the queued write r is committed (or failed).
func (s *Store) wait(r *request) error {
	select {
	case <-r.done:
	case <-s.stopped:
		// The writer answers everything it takes before it stops.
		select {
		case <-r.done:
		default:
			return ErrClosed // r stays queued, unanswered: not reused
		}
	}
	err := r.err
	r.release()
	return err
}

// arm starts *t (made on first use, then reused: the writer loop's timers
// fire again and again) to fire after d, and returns its channel.
func arm(t **time.Timer, d time.Duration) <-chan time.Time {
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d)
	}
	return (*t).C
}

// run is the writer goroutine: it takes every queued write, executes them as
// one batch (over its read transaction of the file, writerTx, and the
// overlay), commits (one fsync of the log for all), applies the staged
// changes to memory and only then answers the writers.
func (s *Store) run() {
	defer close(s.stopped)
	defer s.endWriterTx() // before Close applies the overlay (see writerTx)
	batch := make([]*request, 0, maxBatch)
	var expect int         // the size of the last batch
	var took time.Duration // how long its commit took
	var timer, idleTimer, sealTimer *time.Timer
	for {
		var first *request
		if lag := s.lagged > 0 && s.writeErr.Load() == nil && !s.keepLag; lag || s.sealDue(true) {
			// Nothing queued: drain some of the membership lag (memberlag.go),
			// or seal a block of audit events (eventblocks.go); not after a
			// failed commit, until a write commits again.
			select {
			case first = <-s.reqs:
			case <-s.quit:
				return
			default:
				if !lag {
					if err := s.sealEvents(idleSealBlocks); err != nil {
						s.failed(fmt.Errorf("embedded: seal audit events: %w", err))
					}
				} else if err := s.drainLag(); err != nil {
					s.failed(fmt.Errorf("embedded: drain the membership lag: %w", err))
				}
				continue
			}
		} else {
			// Idle with writes in the active table: freeze it after
			// overlayIdle, so that the file catches up while nothing else
			// needs the writer.
			var idle <-chan time.Time
			if st := s.ov.Load(); st.active.Len() > 0 && st.frozen == nil {
				idle = arm(&idleTimer, overlayIdle)
			}
			var seal <-chan time.Time // the tail's oldest events are old enough to seal
			if at := s.sealWait(); !at.IsZero() {
				seal = arm(&sealTimer, time.Until(at))
			}
			select {
			case first = <-s.reqs:
			case <-seal:
				continue
			case <-idle:
				s.maybeFreeze(true)
				continue
			case <-s.quit:
				return
			}
		}
		select {
		case <-s.quit:
			first.err = ErrClosed
			first.answer()
			return
		default:
		}
		batch = append(batch[:0], first)
		// Writes submitted together (a Bulk request's creates, concurrent
		// clients) may not all be queued yet when the first one wakes the
		// writer: yield once so that they join this commit instead of each
		// paying a commit of its own (on one busy core they otherwise never do).
		// Not when a full batch is queued already: a yield puts the writer at
		// the end of the global run queue, behind every runnable goroutine,
		// and with thousands of them (an import's workers) the writer stood
		// still while they ran.
		if len(s.reqs) < maxBatch-1 {
			runtime.Gosched()
		}
		s.drain(&batch)
		// Concurrent clients that each wait for their write before sending
		// the next one split into cohorts: while one commits, the next queues,
		// and every commit holds half of them (8 HTTP clients made commits of
		// 4). When fewer writes are queued than the last batch held, wait for
		// the others, up to half the last commit's time: a write that
		// arrives meanwhile is answered sooner than by the next commit, and
		// the commit and its fsyncs are shared by twice the writes. Only
		// after a batch of a few clients' writes, and never longer than
		// maxCohortWait: a bulk load's batch is not a cohort that comes back,
		// and the lone write after it must not wait for one.
		if len(batch) < expect && expect <= maxCohort && took > 0 {
			expired := arm(&timer, min(took/2, maxCohortWait))
		wait:
			for len(batch) < expect {
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
					s.drain(&batch)
				case <-expired:
					break wait
				case <-s.quit:
					break wait // the batch is answered; the next loop stops
				}
			}
			timer.Stop()
		}
		start := time.Now()
		s.process(batch)
		expect, took = len(batch), time.Since(start)
		clear(batch)
		if s.sealDue(false) { // under load: what the batch added, between batches
			if err := s.sealEvents(s.loadSealBlocks()); err != nil {
				s.failed(fmt.Errorf("embedded: seal audit events: %w", err))
			}
		}
	}
}

// drain adds the queued writes to the batch, up to maxBatch.
func (s *Store) drain(batch *[]*request) {
	for len(*batch) < maxBatch {
		select {
		case r := <-s.reqs:
			*batch = append(*batch, r)
		default:
			return
		}
	}
}

// process executes reqs in one transaction and answers each of them.
func (s *Store) process(reqs []*request) {
	answer := func(err error) {
		for _, r := range reqs {
			if err != nil {
				r.err = err
			}
			r.answer()
		}
	}
	if err := s.stalled(); err != nil {
		answer(err)
		return
	}
	u, err := s.writerUsers()
	if err != nil {
		answer(s.failed(fmt.Errorf("embedded: begin transaction: %w", err)))
		return
	}
	b := s.newBatch(u)
	for _, r := range reqs {
		before := b.staged
		r.err = safeExec(r.exec, b)
		if r.err != nil && b.staged != before {
			// The write failed half-way (a panic): the batch holds part of
			// it. Withdraw the batch and run each write on its own, so that
			// only the failing one fails.
			s.abortBatch()
			// Nothing of the panicked batch's state is kept; and each write
			// begins a transaction, which waits for an apply that is growing
			// the file, which waits for this one: end it first.
			s.endWriterTx()
			if len(reqs) == 1 {
				answer(nil)
				return
			}
			for _, r := range reqs {
				r.err = nil
				s.process([]*request{r})
			}
			return
		}
	}
	if b.staged == 0 {
		s.abortBatch()
		answer(nil)
		s.endBatch(b.freeze)
		return
	}
	if err := b.finish(); err != nil {
		s.abortBatch()
		s.endWriterTx()
		answer(s.failed(fmt.Errorf("embedded: stage: %w", err)))
		return
	}
	if err := s.commitBatch(!derivedOnly(reqs)); err != nil {
		s.endWriterTx()
		answer(s.failed(fmt.Errorf("embedded: commit: %w", err)))
		return
	}
	if s.writeErr.Load() != nil {
		s.writeErr.Store(nil)
	}
	if b.pendDone {
		s.pendRows, s.pendSpare = b.pendNext, s.pendRows[:0]
	}
	s.sealer.tail += b.ev.tail
	s.sealer.added = max(0, b.ev.tail)
	if b.u.lagRead {
		s.lagged = b.u.lagTotal()
	}
	if s.onCommit != nil {
		s.onCommit(len(reqs))
	}
	s.mu.Lock()
	b.apply()
	s.mu.Unlock()
	answer(nil)
	s.endBatch(b.freeze)
}

// housekeep runs exec, a derived write (see request), as a batch of its own
// on the writer goroutine, which alone may call it: the same staging, log
// record, commit and apply as every batch (process), without the sync.
func (s *Store) housekeep(exec func(*batch) error) error {
	r := requests.Get().(*request)
	r.exec, r.derived = exec, true
	s.process([]*request{r})
	<-r.done
	err := r.err
	r.release()
	return err
}

// derivedOnly reports whether every write of reqs is derived (see request).
func derivedOnly(reqs []*request) bool {
	for _, r := range reqs {
		if !r.derived {
			return false
		}
	}
	return true
}

// writerTx is the writer's read transaction of the file and the users over
// it, whose opened buckets (txBuckets) and cursors it keeps from batch to
// batch: a bbolt Begin and a dozen bucket opens cost a single PATCH about
// half of the writer's allocations. It is valid while the file does not
// change: only the applier writes it while the store runs (Open's
// migrations run before the writer starts, Compact copies a store opened
// for it alone, Backup and Ping go through the writer), and the applier
// writes only a frozen table, which only the writer freezes. So the writer
// ends the transaction when it freezes the active table (maybeFreeze) —
// never holding it while an apply may run, whose commit may grow the
// memory map and wait for every read transaction to end — and, while a
// table is frozen, begins one per batch; the first batch after the apply
// begins the next kept one, which sees the applied state. Only the writer
// goroutine uses it.
type writerTx struct {
	tx *bolt.Tx
	// st is the overlay's state (ovState) loaded before tx began: the
	// transaction is kept only while the state is still this one (no
	// freeze, no apply since).
	st *ovState
	u  users
	// b is the writer's batch (newBatch), kept with its maps whatever
	// becomes of tx: what a batch left in it is never read again (newBatch
	// clears it first).
	b batch
}

// writerUsers returns the users of the writer's next batch, attached to
// the active table (attachWriter): over the kept transaction when the
// overlay's state is the one it began under, with the previous batch's
// state dropped (users.reset), else over a new one.
func (s *Store) writerUsers() (*users, error) {
	st := s.ov.Load() // before the transaction begins (see committedOverlay)
	w := &s.wtx
	if w.tx != nil && w.st != st {
		s.endWriterTx()
	}
	if w.tx == nil {
		tx, err := s.db.Begin(false)
		if err != nil {
			return nil, err
		}
		w.tx, w.st = tx, st
		w.u = users{}
		w.u.init(tx)
		w.u.clashFree = s.clashFree
		s.attachWriter(&w.u.txBuckets, st, s.seq+1)
		return &w.u, nil
	}
	s.attachWriter(&w.u.txBuckets, st, s.seq+1)
	w.u.reset()
	return &w.u, nil
}

// endBatch ends the writer's batch: it freezes the active table if due
// (maybeFreeze, which ends the writer's transaction when it freezes or
// waits for the applier), and ends the transaction too when a table is
// frozen (an apply may run: the next batch begins its own) or freeze is
// set (catchUp: the caller is about to read or write the file without the
// writer).
func (s *Store) endBatch(freeze bool) {
	s.maybeFreeze(freeze)
	if freeze || s.ov.Load().frozen != nil {
		s.endWriterTx()
	}
}

// endWriterTx ends the writer's kept transaction, if any.
func (s *Store) endWriterTx() {
	w := &s.wtx
	if w.tx == nil {
		return
	}
	w.tx.Rollback() // (a read transaction: its end writes nothing)
	w.tx, w.st = nil, nil
	w.u = users{} // nothing of tx (buckets, cursors, views of the map) outlives it
}

// failed records a failed commit for Ping and returns it marked
// storage.ErrUnavailable: nothing of the batch was written, and the cause (a
// full disk, an I/O error) is the machine's, not the request's.
func (s *Store) failed(err error) error {
	err = storage.Unavailable(err)
	s.writeErr.Store(&writeFailure{err: err, at: time.Now()})
	return err
}

// safeExec runs exec, turning a panic into an error so that the writer survives.
func safeExec(exec func(*batch) error, b *batch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("embedded: write panicked: %v", p)
			b.staged++ // abandon the batch: the panic may have left it half-staged
		}
	}()
	return exec(b)
}

// batch is the state of one batch of writes: the writer's users (the file
// under the overlay, attachWriter), in which the writes of a batch see each
// other before anything is visible to readers, and an overlay of the
// in-memory documents (groups, apps, tokens, keys) and their unique keys
// that it changes. Users and their indexes are only in the file and the
// overlay's tables: the batch's staged writes are their overlay.
type batch struct {
	s      *Store
	staged int // number of staged changes
	// freeze asks the writer to freeze the overlay's active table after
	// this batch (see catchUp), and to end its kept read transaction
	// (writerTx) even when the table is empty.
	freeze bool

	u *users // the users as the transaction sees them, and every bucket (u.bucket)
	// pend are the rows whose postings the batch changed (see
	// finishSearch). pendRows are the rows pendingPosts holds before the
	// batch (Store.pendRows; a batch of Open's migrations has no store and
	// lists the bucket: pendingRows), pendNext those it holds after it once
	// finishSearch ran (pendDone), which the writer keeps when the batch
	// commits.
	pend               map[uint32]*pendingRow
	pendRows, pendNext []uint32
	pendDone           bool
	// sorts collects the sort-index changes, written by finishSearch.
	sorts   sortWrites
	nextRow int64 // the next free search row once read (-1: not read)
	// bounds are the id bounds of the block of the rows the batch gives
	// (idorder.go).
	bounds idBounds
	// vocabScratch is the user stageSearch views search records into for
	// the vocabulary.
	vocabScratch schemas.User
	// users caches the decoded users the batch read or wrote (nil value:
	// deleted); an entry is dropped when a membership change makes it stale.
	users     map[string]*schemas.User
	userDelta int // users created minus users deleted

	groups map[string]*schemas.Group // nil value: deleted
	apps   map[string]*schemas.App
	tokens map[string]*schemas.APIToken
	keys   []*schemas.SigningKey
	keysOK bool // keys is staged
	// uniq overrides the committed in-memory unique indexes: "" means the key is free.
	uniq map[ukey]string
	ev   eventBatch // the event log (eventblocks.go)
}

type ukey struct {
	kind uniqueKind
	key  string
}

// newBatch returns the writer's batch over u, empty. The writer keeps one
// batch, and the two maps nearly every batch fills (users, pend), from
// batch to batch: made anew they cost a single PATCH five allocations.
// A map a large batch grew is dropped instead (clearing it would cost every
// later batch a walk of its room).
func (s *Store) newBatch(u *users) *batch {
	b := &s.wtx.b
	users, pend := b.users, b.pend
	if len(users) > maxKeptMap {
		users = nil
	}
	if len(pend) > maxKeptMap {
		pend = nil
	}
	clear(users)
	clear(pend)
	*b = batch{
		s:        s,
		u:        u,
		nextRow:  -1,
		pendRows: s.pendRows,
		sorts:    sortWrites{keys: s.sortBuf.keys[:0], ops: s.sortBuf.ops[:0]},
		users:    users,
		pend:     pend,
	}
	return b
}

// maxKeptMap is the largest map of a batch that newBatch keeps for the next.
const maxKeptMap = 256

// finish stages what the batch as a whole changes: the user count, the
// list of lagging groups, the trigram postings (and, with sealOptions.eager,
// the seal of its events).
func (b *batch) finish() error {
	if err := b.u.saveLag(); err != nil {
		return err
	}
	if err := b.sealEager(); err != nil {
		return err
	}
	if b.userDelta != 0 {
		if err := b.u.bucket(fbMeta).Put(keyUserCount, encodeVersion(int64(countUsers(&b.u.txBuckets)+b.userDelta))); err != nil {
			return err
		}
	}
	return b.finishSearch()
}

// owner returns the id holding a unique key as the batch sees it, or "".
func (b *batch) owner(kind uniqueKind, key string) string {
	if b.u.ix(kind) != nil || loginKind(kind) {
		return b.u.owner(kind, key)
	}
	if id, ok := b.uniq[ukey{kind, key}]; ok {
		return id
	}
	return b.s.idx[kind][key]
}

// claim checks that id may hold key (empty keys are never unique).
func (b *batch) claim(kind uniqueKind, id, key string) error {
	if key == "" {
		return nil
	}
	if o := b.owner(kind, key); o != "" && o != id {
		return storage.Conflict(conflictField[kind])
	}
	return nil
}

// move records that id's key changed: in the index bucket for the user
// kinds, in the overlay for the others.
func (b *batch) move(kind uniqueKind, id, oldKey, newKey string) error {
	if oldKey == newKey {
		return nil
	}
	if loginKind(kind) { // ix.login holds the key: only a kept clash may need to go
		if oldKey == "" {
			return nil
		}
		return b.u.dropClash(kind, id, oldKey)
	}
	if ix := b.u.ix(kind); ix != nil {
		if oldKey != "" && b.owner(kind, oldKey) == id { // (owner read it: present)
			if err := ix.DeletePresent(append(ix.scratch(len(oldKey)), oldKey...)); err != nil {
				return err
			}
		}
		if newKey != "" {
			kv := append(append(ix.scratch(len(newKey)+len(id)), newKey...), id...)
			return ix.Put(kv[:len(newKey)], kv[len(newKey):])
		}
		return nil
	}
	if oldKey != "" && b.owner(kind, oldKey) == id {
		setIn(&b.uniq, ukey{kind, oldKey}, "")
	}
	if newKey != "" {
		setIn(&b.uniq, ukey{kind, newKey}, id)
	}
	return nil
}

// user returns the user as the batch sees it. A record that cannot be decoded
// panics, which fails the batch (see safeExec).
func (b *batch) user(id string) (*schemas.User, bool) {
	if u, ok := b.users[id]; ok {
		return u, u != nil
	}
	u, err := b.u.get(id)
	if err != nil {
		panic(err)
	}
	if u == nil {
		return nil, false
	}
	setIn(&b.users, id, u)
	return u, true
}

// userExists reports whether the user exists as the batch sees it, without
// decoding it.
func (b *batch) userExists(id string) bool { return b.u.exists(id) }

func (b *batch) group(id string) (*schemas.Group, bool) { return batchView(b.groups, b.s.groups, id) }
func (b *batch) app(id string) (*schemas.App, bool)     { return batchView(b.apps, b.s.apps, id) }
func (b *batch) token(id string) (*schemas.APIToken, bool) {
	return batchView(b.tokens, b.s.tokens, id)
}

// batchView returns a document as a batch sees it: staged in the batch (a nil
// entry means deleted) or else committed.
func batchView[T any](staged, committed map[string]*T, id string) (*T, bool) {
	if v, ok := staged[id]; ok {
		return v, v != nil
	}
	v, ok := committed[id]
	return v, ok
}

// checkUser checks the unique keys of the user id's image nu, replacing the
// image old (nil: a new user): that no other user holds a login identifier
// (userName, primary email, primary phone) old does not hold, then that no
// other user holds its externalId. The login index holds the keys of the
// userName, email and phone indexes (storage.LoginIDs are the same folded
// values), so a clash in one of those is a clash of a login identifier, and
// its Conflict names the same field; checking ix.login alone saves three
// lookups a write.
func (b *batch) checkUser(id string, old, nu *userImage) error {
	var had []storage.LoginID
	if old != nil {
		had = old.logins
	}
	for _, l := range nu.logins {
		if holdsLogin(had, l.Key) {
			continue
		}
		if o := b.owner(kLogin, l.Key); o != "" && o != id {
			return storage.Conflict(l.Field)
		}
	}
	return b.claim(kExtID, id, nu.keys[kExtID])
}

// putUser stages u (already checked) with its record enc (which it sets the
// stored version of), replacing the stored version whose image is old (nil:
// u is new) by u, whose image is nu: the record and every index entry that
// differs between the two images.
func (b *batch) putUser(u *schemas.User, enc []byte, old, nu *userImage) error {
	b.staged++
	if old != nil {
		if err := b.u.settle(u.ID); err != nil { // userGroups is then exact for it
			return err
		}
	}
	if err := b.moveUserKeys(u.ID, old, nu); err != nil {
		return err
	}
	var oldGroups, oldApps, oldEmails []string
	if old != nil {
		oldGroups, oldApps, oldEmails = old.groups, old.apps, old.emails
	} else {
		b.userDelta++
	}
	for _, g := range oldGroups {
		if !slices.Contains(nu.groups, g) {
			if err := b.u.setMember(g, u.ID, false); err != nil {
				return err
			}
		}
	}
	for _, g := range nu.groups {
		if !slices.Contains(oldGroups, g) {
			if err := b.u.setMember(g, u.ID, true); err != nil {
				return err
			}
		}
	}
	for _, a := range oldApps {
		if !slices.Contains(nu.apps, a) {
			if err := b.u.apps().Delete(pairKey(a, u.ID)); err != nil {
				return err
			}
		}
	}
	for _, a := range nu.apps {
		if !slices.Contains(oldApps, a) {
			if err := b.u.apps().Put(pairKey(a, u.ID), present); err != nil {
				return err
			}
		}
	}
	if err := b.u.moveEmails(u.ID, oldEmails, nu.emails); err != nil {
		return err
	}
	if old == nil || !bytes.Equal(old.search, nu.search) {
		if err := b.stageSearch(u.ID, old, nu); err != nil {
			return err
		}
	}
	setIn(&b.users, u.ID, u)
	return b.u.putRecord(u.ID, u.Version, enc, old == nil)
}

// moveUserKeys moves the unique and login keys of user id from the image
// old to nu (either may be nil).
func (b *batch) moveUserKeys(id string, old, nu *userImage) error {
	var ok, nk userKeys
	var ol, nl []storage.LoginID
	if old != nil {
		ok, ol = old.keys, old.logins
	}
	if nu != nil {
		nk, nl = nu.keys, nu.logins
	}
	for kind := range ok {
		if err := b.move(uniqueKind(kind), id, ok[kind], nk[kind]); err != nil {
			return err
		}
	}
	for _, l := range ol { // the keys given up (as storage.AddedLoginIDs(nl, ol), without a list)
		if holdsLogin(nl, l.Key) {
			continue
		}
		if err := b.move(kLogin, id, l.Key, ""); err != nil {
			return err
		}
	}
	for _, l := range nl { // the keys claimed
		if holdsLogin(ol, l.Key) {
			continue
		}
		if err := b.move(kLogin, id, "", l.Key); err != nil {
			return err
		}
	}
	return nil
}

// holdsLogin reports whether ids hold the login key.
func holdsLogin(ids []storage.LoginID, key string) bool {
	for _, l := range ids {
		if l.Key == key {
			return true
		}
	}
	return false
}

// deleteUser stages the removal of the user (which exists), whose image is
// old: its record, memberships, assignments and index entries.
func (b *batch) deleteUser(id string, old *userImage) error {
	b.staged++
	if err := b.u.settle(id); err != nil { // userGroups is then exact for it
		return err
	}
	if err := b.moveUserKeys(id, old, nil); err != nil {
		return err
	}
	for _, g := range old.groups {
		if err := b.u.setMember(g, id, false); err != nil {
			return err
		}
	}
	for _, a := range old.apps {
		if err := b.u.apps().Delete(pairKey(a, id)); err != nil {
			return err
		}
	}
	if err := b.u.forget(id); err != nil {
		return err
	}
	if err := b.u.moveEmails(id, old.emails, nil); err != nil {
		return err
	}
	if err := b.stageSearch(id, old, nil); err != nil {
		return err
	}
	setIn(&b.users, id, nil)
	b.userDelta--
	return b.u.recs().DeletePresent([]byte(id)) // (the user exists)
}

// changeMembership makes the user, whose membership in group is !in, a
// member (in) or not, which gives it a new version; its lag entry in group
// holds prev changes (0: none). The user's record is not touched: the keys
// written are the pair in groupMembers and its lag entry (memberlag.go),
// or, direct (see lagRoom), the pair in both directions and the user's
// membership count.
func (b *batch) changeMembership(group, user string, in bool, prev int64, direct bool) error {
	b.staged++
	delete(b.users, user) // its cached GroupIDs and Version are stale
	if direct {
		return b.u.changeMemberDirect(group, user, in)
	}
	return b.u.changeMember(group, user, in, prev)
}

// lagRoom makes room for group's changes, of n memberships, among the
// lagging groups (users.lagRoom), or says that they are to be written
// direct.
func (b *batch) lagRoom(group string, n int) (direct bool, err error) {
	b.staged++ // it may drain: an error aborts the batch
	return b.u.lagRoom(group, n)
}

func (b *batch) putGroup(g *schemas.Group, enc []byte) error {
	old, _ := b.group(g.ID)
	return stage(b, &b.groups, b.u.bucket(fbGroups), kGroupName, keyOfGroup, g.ID, old, g, enc)
}

func (b *batch) deleteGroup(id string) error {
	old, _ := b.group(id)
	return stage(b, &b.groups, b.u.bucket(fbGroups), kGroupName, keyOfGroup, id, old, nil, nil)
}

func (b *batch) putApp(a *schemas.App, enc []byte) error {
	old, _ := b.app(a.ID)
	return stage(b, &b.apps, b.u.bucket(fbApps), kClientID, keyOfApp, a.ID, old, a, enc)
}

func (b *batch) deleteApp(id string) error {
	old, _ := b.app(id)
	return stage(b, &b.apps, b.u.bucket(fbApps), kClientID, keyOfApp, id, old, nil, nil)
}

func (b *batch) putToken(t *schemas.APIToken, enc []byte) error {
	old, _ := b.token(t.ID)
	return stage(b, &b.tokens, b.u.bucket(fbTokens), kTokenHash, keyOfToken, t.ID, old, t, enc)
}

func (b *batch) deleteToken(id string) error {
	old, _ := b.token(id)
	return stage(b, &b.tokens, b.u.bucket(fbTokens), kTokenHash, keyOfToken, id, old, nil, nil)
}

// stage puts (v != nil, encoded as enc) or deletes (v == nil) an in-memory
// document that has one unique key: it moves the key in the batch's index
// overlay, records the document in the batch's overlay and writes the bucket.
func stage[T any](b *batch, staged *map[string]*T, bk *kvBucket, kind uniqueKind, key func(*T) string, id string, old, v *T, enc []byte) error {
	b.staged++
	b.move(kind, id, key(old), key(v))
	setIn(staged, id, v)
	if v == nil {
		return bk.Delete([]byte(id))
	}
	return bk.Put([]byte(id), enc)
}

// setIn stores v under k in *m, making the map on first use: a batch's
// overlay maps start nil, since most batches change users only and each
// map made costs an allocation.
func setIn[K comparable, V any](m *map[K]V, k K, v V) {
	if *m == nil {
		*m = make(map[K]V)
	}
	(*m)[k] = v
}

// apply makes the committed batch visible in memory (users are only in the
// file: the commit made them visible). The caller holds s.mu exclusively.
func (b *batch) apply() {
	s := b.s
	var gAdded []*schemas.Group
	for id, ng := range b.groups {
		old := s.groups[id]
		s.indexGroup(id, old, ng)
		switch {
		case ng == nil:
			if old != nil {
				delete(s.groups, id)
				s.groupOrder = slices.DeleteFunc(s.groupOrder, func(g *schemas.Group) bool { return g.ID == id })
			}
		case old == nil:
			s.groups[id] = ng
			gAdded = append(gAdded, ng)
		default:
			s.groups[id] = ng
			if i, ok := findGroupIndex(s.groupOrder, id); ok {
				s.groupOrder[i] = ng
			}
		}
	}
	if len(gAdded) > 0 {
		s.groupOrder = mergeSorted(s.groupOrder, gAdded, func(g *schemas.Group) string { return g.ID })
	}

	for id, na := range b.apps {
		s.indexApp(id, s.apps[id], na)
		if na == nil {
			delete(s.apps, id)
		} else {
			s.apps[id] = na
		}
	}
	for id, nt := range b.tokens {
		s.indexToken(id, s.tokens[id], nt)
		if nt == nil {
			delete(s.tokens, id)
		} else {
			s.tokens[id] = nt
		}
	}
	if b.keysOK {
		s.keys = b.keys
		s.keysVer++
	}
}

// mergeSorted merges the unsorted added elements (ids not in sorted) into the
// sorted slice. New ids are time-ordered, so they land at or near the end: only
// the tail from the first insertion point on is rewritten.
func mergeSorted[T any](sorted, added []T, id func(T) string) []T {
	slices.SortFunc(added, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	first := id(added[0])
	pos, _ := slices.BinarySearchFunc(sorted, first, func(e T, t string) int { return strings.Compare(id(e), t) })
	if pos == len(sorted) {
		return append(sorted, added...) // the common case
	}
	tail := slices.Clone(sorted[pos:])
	out := append(sorted[:pos], make([]T, len(tail)+len(added))...)
	k, i, j := pos, 0, 0
	for i < len(tail) && j < len(added) {
		if id(tail[i]) < id(added[j]) {
			out[k] = tail[i]
			i++
		} else {
			out[k] = added[j]
			j++
		}
		k++
	}
	k += copy(out[k:], tail[i:])
	copy(out[k:], added[j:])
	return out
}
