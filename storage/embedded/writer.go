package embedded

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// maxBatch bounds how many queued writes share one transaction.
const maxBatch = 2048

// errRetry is returned by an exec function when the version it read has
// changed: the caller re-reads and runs its updater again.
var errRetry = errors.New("embedded: retry")

// request is one write, executed by the writer goroutine inside a batch.
type request struct {
	// exec checks the write against the batch's view of the state and stages it.
	// It must return any domain error (conflict, not found, retry) before
	// staging anything; an error after staging aborts the whole batch.
	exec func(b *batch) error
	err  error
	done chan struct{}
}

// submit queues a write and waits until it is committed (or failed). It does
// not give up on a cancelled context once queued: the answer is near, and a
// write must not be reported as failed when it was in fact committed.
func (s *Store) submit(exec func(b *batch) error) error {
	r := &request{exec: exec, done: make(chan struct{})}
	select {
	case s.reqs <- r:
	case <-s.quit:
		return ErrClosed
	}
	select {
	case <-r.done:
		return r.err
	case <-s.stopped:
		// The writer answers everything it takes before it stops.
		select {
		case <-r.done:
			return r.err
		default:
			return ErrClosed
		}
	}
}

// run is the writer goroutine: it takes every queued write, executes them in
// one bbolt transaction, commits (one fsync for all), applies the staged changes
// to memory and only then answers the writers.
func (s *Store) run() {
	defer close(s.stopped)
	batch := make([]*request, 0, maxBatch)
	for {
		var first *request
		select {
		case first = <-s.reqs:
		case <-s.quit:
			return
		}
		select {
		case <-s.quit:
			first.err = ErrClosed
			close(first.done)
			return
		default:
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.process(batch)
		clear(batch)
	}
}

// process executes reqs in one transaction and answers each of them.
func (s *Store) process(reqs []*request) {
	answer := func(err error) {
		for _, r := range reqs {
			if err != nil {
				r.err = err
			}
			close(r.done)
		}
	}
	tx, err := s.db.Begin(true)
	if err != nil {
		answer(s.failed(fmt.Errorf("embedded: begin transaction: %w", err)))
		return
	}
	b := newBatch(s, tx)
	for _, r := range reqs {
		before := b.staged
		r.err = safeExec(r.exec, b)
		if r.err != nil && b.staged != before {
			// The write failed half-way (a bbolt error): the transaction holds
			// part of it. Abandon the batch and run each write on its own, so that
			// only the failing one fails.
			tx.Rollback()
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
		tx.Rollback()
		answer(nil)
		return
	}
	if err := tx.Commit(); err != nil {
		answer(s.failed(fmt.Errorf("embedded: commit: %w", err)))
		return
	}
	if s.writeErr.Load() != nil {
		s.writeErr.Store(nil)
	}
	if s.onCommit != nil {
		s.onCommit(len(reqs))
	}
	s.mu.Lock()
	b.apply()
	s.mu.Unlock()
	answer(nil)
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

// batch is the state of one write transaction: the bbolt transaction and an
// overlay of the documents and unique keys it changes, so that the writes of a
// batch see each other before anything is visible to readers.
type batch struct {
	s      *Store
	tx     *bolt.Tx
	staged int // number of staged changes

	users  map[string]*schemas.User // nil value: deleted
	groups map[string]*schemas.Group
	apps   map[string]*schemas.App
	tokens map[string]*schemas.APIToken
	keys   []*schemas.SigningKey
	keysOK bool // keys is staged
	// uniq overrides the committed unique indexes: "" means the key is free.
	uniq map[ukey]string

	ub, gb, ab, tb, mb, eb *bolt.Bucket
}

type ukey struct {
	kind uniqueKind
	key  string
}

func newBatch(s *Store, tx *bolt.Tx) *batch {
	b := &batch{
		s: s, tx: tx,
		users:  make(map[string]*schemas.User),
		groups: make(map[string]*schemas.Group),
		apps:   make(map[string]*schemas.App),
		tokens: make(map[string]*schemas.APIToken),
		uniq:   make(map[ukey]string),
		ub:     tx.Bucket(bucketUsers),
		gb:     tx.Bucket(bucketGroups),
		ab:     tx.Bucket(bucketApps),
		tb:     tx.Bucket(bucketTokens),
		mb:     tx.Bucket(bucketMeta),
		eb:     tx.Bucket(bucketEvents),
	}
	// Ids and event keys are time-ordered: new keys land at the end, so full
	// pages waste less of the file than bbolt's default half-full splits.
	b.ub.FillPercent, b.gb.FillPercent, b.eb.FillPercent = 0.9, 0.9, 0.9
	return b
}

// owner returns the id holding a unique key as the batch sees it, or "".
func (b *batch) owner(kind uniqueKind, key string) string {
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

// move records in the overlay that id's key changed.
func (b *batch) move(kind uniqueKind, id, oldKey, newKey string) {
	if oldKey == newKey {
		return
	}
	if oldKey != "" && b.owner(kind, oldKey) == id {
		b.uniq[ukey{kind, oldKey}] = ""
	}
	if newKey != "" {
		b.uniq[ukey{kind, newKey}] = id
	}
}

func (b *batch) user(id string) (*schemas.User, bool) {
	if u, ok := b.users[id]; ok {
		return u, u != nil
	}
	u, ok := b.s.users[id]
	return u, ok
}

func (b *batch) group(id string) (*schemas.Group, bool) { return overlay(b.groups, b.s.groups, id) }
func (b *batch) app(id string) (*schemas.App, bool)     { return overlay(b.apps, b.s.apps, id) }
func (b *batch) token(id string) (*schemas.APIToken, bool) {
	return overlay(b.tokens, b.s.tokens, id)
}

// overlay returns a document as a batch sees it: staged in the batch (a nil
// entry means deleted) or else committed.
func overlay[T any](staged, committed map[string]*T, id string) (*T, bool) {
	if v, ok := staged[id]; ok {
		return v, v != nil
	}
	v, ok := committed[id]
	return v, ok
}

// checkUser checks the unique fields of u (to be stored under u.ID), then
// that no other user holds a login identifier u does not hold yet.
func (b *batch) checkUser(u *schemas.User) error {
	k := keysOfUser(u)
	for kind := range k {
		if err := b.claim(uniqueKind(kind), u.ID, k[kind]); err != nil {
			return err
		}
	}
	old, _ := b.user(u.ID)
	for _, l := range storage.AddedLoginIDs(storage.LoginIDs(old), storage.LoginIDs(u)) {
		if o := b.owner(kLogin, l.Key); o != "" && o != u.ID {
			return storage.Conflict(l.Field)
		}
	}
	return nil
}

// putUser stages u (already checked) with its encoding.
func (b *batch) putUser(u *schemas.User, enc []byte) error {
	b.staged++
	old, _ := b.user(u.ID)
	ok, nk := keysOfUser(old), keysOfUser(u)
	for kind := range ok {
		b.move(uniqueKind(kind), u.ID, ok[kind], nk[kind])
	}
	moveLogins(old, u, func(oldKey, newKey string) { b.move(kLogin, u.ID, oldKey, newKey) })
	b.users[u.ID] = u
	return b.ub.Put([]byte(u.ID), enc)
}

func (b *batch) deleteUser(id string) error {
	b.staged++
	old, _ := b.user(id)
	ok := keysOfUser(old)
	for kind := range ok {
		b.move(uniqueKind(kind), id, ok[kind], "")
	}
	moveLogins(old, nil, func(oldKey, newKey string) { b.move(kLogin, id, oldKey, newKey) })
	b.users[id] = nil
	return b.ub.Delete([]byte(id))
}

func (b *batch) putGroup(g *schemas.Group, enc []byte) error {
	old, _ := b.group(g.ID)
	return stage(b, b.groups, b.gb, kGroupName, keyOfGroup, g.ID, old, g, enc)
}

func (b *batch) deleteGroup(id string) error {
	old, _ := b.group(id)
	return stage(b, b.groups, b.gb, kGroupName, keyOfGroup, id, old, nil, nil)
}

func (b *batch) putApp(a *schemas.App, enc []byte) error {
	old, _ := b.app(a.ID)
	return stage(b, b.apps, b.ab, kClientID, keyOfApp, a.ID, old, a, enc)
}

func (b *batch) deleteApp(id string) error {
	old, _ := b.app(id)
	return stage(b, b.apps, b.ab, kClientID, keyOfApp, id, old, nil, nil)
}

func (b *batch) putToken(t *schemas.APIToken, enc []byte) error {
	old, _ := b.token(t.ID)
	return stage(b, b.tokens, b.tb, kTokenHash, keyOfToken, t.ID, old, t, enc)
}

func (b *batch) deleteToken(id string) error {
	old, _ := b.token(id)
	return stage(b, b.tokens, b.tb, kTokenHash, keyOfToken, id, old, nil, nil)
}

// stage puts (v != nil, encoded as enc) or deletes (v == nil) a document that
// has one unique key: it moves the key in the batch's index overlay, records
// the document in the batch's overlay and writes the bucket.
func stage[T any](b *batch, staged map[string]*T, bk *bolt.Bucket, kind uniqueKind, key func(*T) string, id string, old, v *T, enc []byte) error {
	b.staged++
	b.move(kind, id, key(old), key(v))
	staged[id] = v
	if v == nil {
		return bk.Delete([]byte(id))
	}
	return bk.Put([]byte(id), enc)
}

// userSet returns, as the batch sees them, the ids of the users in the
// committed set (members of a group, users of an app) corrected by the staged
// users according to in.
func (b *batch) userSet(committed map[string]struct{}, in func(*schemas.User) bool) []string {
	ids := make([]string, 0, len(committed))
	for id := range committed {
		if _, staged := b.users[id]; !staged {
			ids = append(ids, id)
		}
	}
	for id, u := range b.users {
		if u != nil && in(u) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// apply makes the committed batch visible. The caller holds s.mu exclusively.
func (b *batch) apply() {
	s := b.s
	var added []*schemas.User
	var removed map[string]bool
	for id, nu := range b.users {
		old := s.users[id]
		s.indexUser(id, old, nu)
		switch {
		case nu == nil:
			if old != nil {
				delete(s.users, id)
				if removed == nil {
					removed = make(map[string]bool)
				}
				removed[id] = true
			}
		case old == nil:
			s.users[id] = nu
			added = append(added, nu)
		default:
			s.users[id] = nu
			if i, ok := findUserIndex(s.order, id); ok {
				s.order[i] = nu
			}
		}
	}
	if removed != nil {
		s.order = slices.DeleteFunc(s.order, func(u *schemas.User) bool { return removed[u.ID] })
	}
	if len(added) > 0 {
		s.order = mergeSorted(s.order, added, func(u *schemas.User) string { return u.ID })
	}

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
