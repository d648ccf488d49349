package embedded

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// CreateUser stores a new user with Version 1 and returns the stored copy.
func (s *Store) CreateUser(ctx context.Context, u *schemas.User, e *schemas.Event) (*schemas.User, error) {
	return create(ctx, s, userRecords, u, e)
}

// GetUser returns the user with the given id, or storage.ErrNotFound: its
// record decoded from the file.
func (s *Store) GetUser(ctx context.Context, id string) (*schemas.User, error) {
	return s.readUser(func(*users) string { return id })
}

// readUser returns the user whose id idOf finds in the indexes (""
// for none), its record decoded from the file, or storage.ErrNotFound.
func (s *Store) readUser(idOf func(r *users) string) (*schemas.User, error) {
	var u *schemas.User
	err := s.userView(func(r *users) error {
		var err error
		u, err = r.get(idOf(r))
		return err
	})
	if err == nil && u == nil {
		err = storage.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// FindUser returns the user whose unique field has the value, or storage.ErrNotFound.
func (s *Store) FindUser(ctx context.Context, field, value string) (*schemas.User, error) {
	var kind uniqueKind
	switch field {
	case storage.FieldUserName:
		kind, value = kUserName, schemas.Fold(value)
	case storage.FieldEmail:
		kind, value = kEmail, schemas.Fold(value)
	case storage.FieldPhoneNumber:
		kind = kPhone
	case storage.FieldExternalID:
		kind = kExtID
	default:
		return nil, fmt.Errorf("embedded: find user: %q is not a unique user field", field)
	}
	return s.readUser(func(r *users) string { return r.owner(kind, value) })
}

// UpdateUser applies fn to a copy of the user under compare-and-swap.
//
// fn first runs in the caller's goroutine on a copy of the committed user; if
// another write changed the user in the meantime, fn runs again inside the
// writer, on the newest version, so that concurrent updates of one user share
// a commit instead of retrying one after the other.
func (s *Store) UpdateUser(ctx context.Context, id string, ifVersion int64, fn func(*schemas.User) error, audit storage.Audit[*schemas.User]) (*schemas.User, error) {
	return update(ctx, s, userRecords, id, ifVersion, fn, audit)
}

// userRecords describes users to [update].
var userRecords = recordKind[*schemas.User]{
	noun:          "user",
	id:            func(u *schemas.User) string { return u.ID },
	get:           (*Store).GetUser,
	lookup:        (*batch).user,
	storedVersion: func(b *batch, id string) int64 { return b.u.version(id) }, // without decoding the record
	clone:         (*schemas.User).Clone,
	result:        func(u *schemas.User) *schemas.User { return u },
	version:       func(u *schemas.User) int64 { return u.Version },
	stamp:         func(u *schemas.User, id string, version int64) { u.ID, u.Version = id, version },
	encode:        encodeUser,
	image:         imageAfter,
	stageImage: func(b *batch, u *schemas.User, enc []byte, old, nu *userImage) error {
		if err := b.checkUser(u.ID, old, nu); err != nil {
			return err
		}
		return b.putUser(u, enc, old, nu)
	},
}

// recordKind describes to [update] one kind of versioned record T.
type recordKind[T any] struct {
	noun   string // in errors: "user"
	id     func(T) string
	get    func(*Store, context.Context, string) (T, error) // a copy of the committed record
	lookup func(*batch, string) (T, bool)                   // the record as the batch sees it
	// storedVersion returns the version of the record as the batch sees it,
	// 0 when there is none (nil: lookup's).
	storedVersion func(*batch, string) int64
	clone         func(T) T
	// result is the copy of a stored record a write returns (nil: clone).
	// Users return the stored copy itself: it was decoded for this write and
	// nothing keeps it once the write's batch is over.
	result  func(T) T
	version func(T) int64
	stamp   func(v T, id string, version int64) // sets ID and Version
	encode  func(T) ([]byte, T, error)          // as encodeUser
	// stage checks the unique keys of a stored version, then puts it; the
	// kinds with an image (users) have stageImage instead, given the images
	// of the version replaced (nil: none) and of the version written.
	stage      func(b *batch, stored T, enc []byte) error
	image      func(old *userImage, v T) *userImage // see imageAfter; computed before the writer
	stageImage func(b *batch, stored T, enc []byte, old, nu *userImage) error
}

// imageOf returns the image of v (nil for kinds without images).
func (k recordKind[T]) imageOf(old *userImage, v T) *userImage {
	if k.image == nil {
		return nil
	}
	return k.image(old, v)
}

// put stages a stored version through stage or stageImage.
func (k recordKind[T]) put(b *batch, stored T, enc []byte, old, nu *userImage) error {
	if k.stageImage != nil {
		return k.stageImage(b, stored, enc, old, nu)
	}
	return k.stage(b, stored, enc)
}

// current returns the version of the record id as the batch sees it (0: none).
func (k recordKind[T]) current(b *batch, id string) int64 {
	if k.storedVersion != nil {
		return k.storedVersion(b, id)
	}
	v, ok := k.lookup(b, id)
	if !ok {
		return 0
	}
	return k.version(v)
}

// returned is the copy of stored a write returns.
func (k recordKind[T]) returned(stored T) T {
	if k.result != nil {
		return k.result(stored)
	}
	return k.clone(stored)
}

// create is CreateUser, CreateGroup and CreateApp: v stored with Version 1,
// its event in the same transaction; the stored copy is returned. Encoding
// and the image are computed in the caller's goroutine; the writer checks
// and puts keys.
func create[V any](ctx context.Context, s *Store, k recordKind[*V], v *V, e *schemas.Event) (*V, error) {
	stored, exec, err := prepareCreate(k, v)
	if err != nil {
		return nil, err
	}
	if err := s.audited(ctx, e, exec); err != nil {
		return nil, err
	}
	return k.returned(stored), nil
}

// prepareCreate does the part of create that needs no writer: v's stored
// copy (Version 1), its record and image; exec stages it in a batch.
func prepareCreate[V any](k recordKind[*V], v *V) (stored *V, exec func(*batch) error, err error) {
	if v == nil || k.id(v) == "" {
		return nil, nil, fmt.Errorf("embedded: create %s: the %s has no id", k.noun, k.noun)
	}
	c := *v // shallow: only ID and Version change, and encoding copies the rest
	k.stamp(&c, k.id(v), 1)
	enc, stored, err := k.encode(&c)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded: create %s %s: encode: %w", k.noun, k.id(v), err)
	}
	img := k.imageOf(nil, stored)
	return stored, func(b *batch) error {
		if k.current(b, k.id(stored)) != 0 {
			return storage.Conflict(storage.FieldID)
		}
		return k.put(b, stored, enc, nil, img)
	}, nil
}

// CreateUsers creates each of us as CreateUser(ctx, u, nil) does — the same
// checks, each user on its own (one failing fails only itself), in order —
// and returns the error of each (nil: created). It queues them all before
// waiting for any, so that one goroutine keeps a whole batch in the writer's
// queue: a bulk load (scimd import) then needs a few goroutines instead of
// one blocked goroutine per user in flight, thousands of which, woken
// together by a commit, held the writer back in the scheduler's queue.
func (s *Store) CreateUsers(ctx context.Context, us []*schemas.User) []error {
	errs := make([]error, len(us))
	reqs := make([]*request, len(us))
	for i, u := range us {
		if errs[i] = ctx.Err(); errs[i] != nil {
			continue
		}
		var exec func(*batch) error
		if _, exec, errs[i] = prepareCreate(userRecords, u); errs[i] == nil {
			reqs[i], errs[i] = s.enqueue(exec)
		}
	}
	for i, r := range reqs {
		if r != nil {
			errs[i] = s.wait(r)
		}
	}
	return errs
}

// update is the compare-and-swap of UpdateUser, UpdateGroup and UpdateApp
// (ifVersion 0: any version), as UpdateUser describes. The audit event of the
// version written is staged in the same transaction. The record, the images
// of the version read and of the version written, and the event are
// computed in the caller's goroutine; when the stored version is still the
// one read, the writer only compares versions and puts keys.
func update[T any](ctx context.Context, s *Store, k recordKind[T], id string, ifVersion int64, fn func(T) error, audit storage.Audit[T]) (T, error) {
	var none T
	if err := ctx.Err(); err != nil {
		return none, err
	}
	cur, err := k.get(s, ctx, id)
	if err != nil {
		return none, err
	}
	read := k.version(cur)
	if ifVersion != 0 && read != ifVersion {
		return none, storage.ErrVersionMismatch
	}
	var prev T
	if audit != nil {
		prev = k.clone(cur)
	}
	oldImg := k.imageOf(nil, cur) // before fn changes cur
	if err := fn(cur); err != nil {
		return none, err
	}
	k.stamp(cur, id, read+1)
	enc, stored, err := k.encode(cur)
	if err != nil {
		return none, fmt.Errorf("embedded: update %s %s: encode: %w", k.noun, id, err)
	}
	img := k.imageOf(oldImg, stored)
	ev, err := auditEvent(audit, prev, stored)
	if err != nil {
		return none, err
	}
	err = s.submit(func(b *batch) error {
		switch k.current(b, id) {
		case 0:
			return storage.ErrNotFound
		case read:
		default:
			return errRetry
		}
		if err := k.put(b, stored, enc, oldImg, img); err != nil {
			return err
		}
		return b.putEvent(ev)
	})
	if err == errRetry { // contended: run fn again inside the writer, on the newest version
		return updateInWriter(s, k, id, ifVersion, fn, audit)
	}
	if err != nil {
		return none, err
	}
	return k.returned(stored), nil
}

// updateInWriter is update's second attempt, when the version it read was
// replaced before its turn: fn runs inside the writer, on the version the
// batch sees. (A function of its own: were its closure in update, the
// variables it sets would be allocated apart on every update.)
func updateInWriter[T any](s *Store, k recordKind[T], id string, ifVersion int64, fn func(T) error, audit storage.Audit[T]) (T, error) {
	var stored T
	err := s.submit(func(b *batch) error {
		old, ok := k.lookup(b, id)
		if !ok {
			return storage.ErrNotFound
		}
		if ifVersion != 0 && k.version(old) != ifVersion {
			return storage.ErrVersionMismatch
		}
		v := k.clone(old)
		oldImg := k.imageOf(nil, old)
		if err := fn(v); err != nil {
			return err
		}
		k.stamp(v, id, k.version(old)+1)
		enc, st, err := k.encode(v)
		if err != nil {
			return fmt.Errorf("embedded: update %s %s: encode: %w", k.noun, id, err)
		}
		ev, err := auditEvent(audit, old, st)
		if err != nil {
			return err
		}
		if err := k.put(b, st, enc, oldImg, k.imageOf(oldImg, st)); err != nil {
			return err
		}
		stored = st
		return b.putEvent(ev)
	})
	if err != nil {
		var none T
		return none, err
	}
	return k.returned(stored), nil
}

// auditEvent builds and encodes the event of an update (nil without audit).
func auditEvent[T any](audit storage.Audit[T], prev, cur T) (*stagedEvent, error) {
	if audit == nil {
		return nil, nil
	}
	return newStagedEvent(audit(prev, cur))
}

// DeleteUser removes the user, and with it its memberships and app data.
// As for an update, the user is read and its image computed before the
// writer's turn; the writer uses them when the stored version is still the
// one read (else it reads the user itself).
func (s *Store) DeleteUser(ctx context.Context, id string, e *schemas.Event) error {
	var read *userImage
	var version int64
	u, err := s.GetUser(ctx, id)
	switch {
	case err == nil:
		read, version = imageOf(u), u.Version
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}
	return s.audited(ctx, e, func(b *batch) error {
		if !b.userExists(id) {
			return storage.ErrNotFound
		}
		old := read
		if old == nil || b.u.version(id) != version {
			u, _ := b.user(id)
			old = imageOf(u)
		}
		return b.deleteUser(id, old)
	})
}

// restage stages a changed version of each user: change returns the new
// version, or nil to leave the user alone. Each changed user gets Version+1.
//
// Stored users are never modified in place, so a new version may share
// whatever it does not change with the old one: change starts from a shallow
// copy and replaces (never modifies) the fields it changes. Encoding, the bulk
// of the work, runs on all CPUs.
func (b *batch) restage(ids []string, change func(old *schemas.User) *schemas.User) error {
	type item struct {
		u        *schemas.User
		enc      []byte
		old, img *userImage
		err      error
	}
	// Each id once, in the state the batch sees (ids may repeat).
	items := make([]item, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if old, ok := b.user(id); ok && !seen[id] {
			seen[id] = true
			items = append(items, item{u: old})
		}
	}
	work := func(it *item) {
		old := it.u
		u := change(old)
		if it.u = u; u == nil {
			return
		}
		u.Version = old.Version + 1
		it.u = u
		it.old = imageOf(old)
		it.img = imageAfter(it.old, u)
		it.enc, it.err = encodeUserOnly(u)
	}
	workers := min(runtime.GOMAXPROCS(0), len(items)/64)
	if workers <= 1 {
		for i := range items {
			work(&items[i])
		}
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(items); i += workers {
					work(&items[i])
				}
			}()
		}
		wg.Wait()
	}
	for _, it := range items {
		if it.err != nil {
			b.staged++ // abandon the batch
			return fmt.Errorf("embedded: encode user %s: %w", it.u.ID, it.err)
		}
		if it.u == nil {
			continue
		}
		if err := b.putUser(it.u, it.enc, it.old, it.img); err != nil {
			return err
		}
	}
	return nil
}

// sortedIDs returns the ids sorted, each once: written in key order, the
// keys of a bulk membership change walk each B-tree once, left to right.
func sortedIDs(ids []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}

// groupExists returns nil when the group exists, storage.ErrNotFound when
// it does not, and rlock's error when the store is closed.
func (s *Store) groupExists(id string) error {
	if err := s.rlock(); err != nil {
		return err
	}
	_, ok := s.groups[id]
	s.mu.RUnlock()
	if !ok {
		return storage.ErrNotFound
	}
	return nil
}

// GroupMemberIDs returns the ids of the group's members in ascending order.
func (s *Store) GroupMemberIDs(ctx context.Context, groupID string) ([]string, error) {
	if err := s.groupExists(groupID); err != nil {
		return nil, err
	}
	var ids []string
	err := s.userView(func(r *users) error {
		ids = seconds(r.members(), groupID)
		return nil
	})
	if ids == nil {
		ids = []string{}
	}
	return ids, err
}

// GroupMembers returns the group's members in ascending id order with their
// names, read in one transaction from views of their records (nothing else
// of them is copied).
func (s *Store) GroupMembers(ctx context.Context, groupID string) ([]storage.Member, error) {
	if err := s.groupExists(groupID); err != nil {
		return nil, err
	}
	out := []storage.Member{}
	err := s.userView(func(r *users) error {
		recs := walk(r.recs()) // the members come in id order: neighbours are a step
		for _, id := range seconds(r.members(), groupID) {
			k, v := recs.seek([]byte(id))
			if string(k) != id {
				continue
			}
			userName, displayName, err := recordNames(v)
			if err != nil {
				return fmt.Errorf("embedded: user %s: %w", id, err)
			}
			out = append(out, storage.Member{ID: id, UserName: strings.Clone(userName), DisplayName: strings.Clone(displayName)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
