package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
)

// Users are read from the file on demand. A user is its record in the users
// bucket (the document without GroupIDs, headed by the record's version; see
// recordVersion) and its groups in the userGroups bucket: a membership
// change writes two small keys and a count, never the user's record. The
// indexes are buckets of the same file, changed in the same transaction as the
// records, so nothing is rebuilt at open.

// pairKey is the key of a pair (a, b) in the membership and assignment
// buckets: a's length (2 bytes, big-endian), a, then b. All pairs of one a are
// therefore adjacent and sorted by b, whatever bytes the ids hold.
func pairKey(a, b string) []byte { return appendPairKey(make([]byte, 0, 2+len(a)+len(b)), a, b) }

// appendPairKey appends pairKey(a, b) to k.
func appendPairKey(k []byte, a, b string) []byte {
	k = binary.BigEndian.AppendUint16(k, uint16(len(a)))
	k = append(k, a...)
	return append(k, b...)
}

// present is the value of every pair: bbolt's Get cannot tell an empty value
// from a missing key.
var present = []byte{1}

// pairPrefix is the common prefix of every pairKey(a, ·).
func pairPrefix(a string) []byte { return pairKey(a, "") }

// seconds returns the second ids of every pair (a, ·) in bk, ascending. The
// key pairPrefix(a) itself (an empty second id: no id is empty) is not a
// pair: userGroups keeps a user's membership counter there (memberKey).
func seconds(bk *kvBucket, a string) []string {
	prefix := pairPrefix(a)
	var out []string
	c := bk.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) > len(prefix) {
			out = append(out, string(k[len(prefix):]))
		}
	}
	return out
}

// keyBuf holds the key of a bbolt Get: a key that only Get sees does not
// escape, but []byte(s) of a string longer than 32 bytes (a UUID id is 36)
// allocates; getKey copies it into a keyBuf on the caller's stack instead.
type keyBuf [64]byte

// getKey returns s as a key for Get, in buf when it fits.
func getKey(buf *keyBuf, s string) []byte {
	if len(s) > len(buf) {
		return []byte(s)
	}
	return append(buf[:0], s...)
}

func encodeVersion(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return b
}

func decodeVersion(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// users gives access to the users of one bbolt transaction (a reader's or the
// writer's), its buckets opened on first use (txBuckets): one goroutine at a
// time.
type users struct {
	txBuckets
	search search // on the same buckets
	// clashFree: the file keeps no login clash (Store.clashFree), so owner
	// and dropClash need not open ix.loginClash.
	clashFree bool
	// lagIx is the list of lagging groups once read (lagRead), lagErr why
	// it could not be (see lag).
	lagIx   lagIndex
	lagRead bool
	lagErr  error
	// groupsCur is groupsOf's and readLag's cursor on userGroups (zero
	// until its first use: groupsCursor), kept for the next user: a new
	// cursor allocates itself and its stack again at every seek. Held by
	// value, so that keeping it costs no allocation of its own.
	groupsCur kvCursor
	groupsEnd []byte // groupsOf's bound of groupsCur's iteration
}

func usersOf(tx *bolt.Tx) *users {
	u := &users{}
	u.init(tx)
	return u
}

// init makes u, zero, give access to the users of tx.
func (u *users) init(tx *bolt.Tx) {
	u.txBuckets.tx = tx
	u.search.txBuckets = &u.txBuckets
}

// reset readies u, the writer's users kept from batch to batch on one
// transaction (writerTx) and already attached to the next batch
// (attachWriter), for that batch: it keeps the transaction, its opened
// buckets and the cursors' bbolt parts, and drops the per-batch state —
// the list of lagging groups (the batch may change it, and an aborted
// batch leaves it changed), the pending rows, and the cursors' positions
// and overlay views (a view ends at its batch's sequence number: the
// cursors are set on the new views).
func (u *users) reset() {
	u.lagIx, u.lagRead, u.lagErr = lagIndex{}, false, nil
	if u.groupsCur.c != nil {
		u.groups().initCursor(&u.groupsCur)
	}
	sr := &u.search
	sr.pendLoaded = false
	clear(sr.pendCur) // (they point into the map and the tables)
	sr.pendRows, sr.pendCur = sr.pendRows[:0], sr.pendCur[:0]
	if sr.postCur != nil {
		sr.post().initCursor(sr.postCur)
	}
}

// usersOf is usersOf for the running store's transactions.
func (s *Store) usersOf(tx *bolt.Tx) *users {
	u := usersOf(tx)
	u.clashFree = s.clashFree
	return u
}

// readers recycles the users of userView's transactions: a users is a few
// hundred bytes, allocated and cleared for every read otherwise.
var readers = sync.Pool{New: func() any { return new(users) }}

func (r *users) recs() *kvBucket     { return r.bucket(fbUsers) }
func (r *users) groups() *kvBucket   { return r.bucket(fbUserGroups) }   // pairKey(user, group)
func (r *users) members() *kvBucket  { return r.bucket(fbGroupMembers) } // pairKey(group, user)
func (r *users) apps() *kvBucket     { return r.bucket(fbAppUsers) }
func (r *users) emails() *kvBucket   { return r.bucket(fbUserEmails) } // pairKey(Fold(email value), user)
func (r *users) clash() *kvBucket    { return r.bucket(fbLoginClash) }
func (r *users) sortKeys() *kvBucket { return r.bucket(fbSortKeys) } // sortindex.go

// ix returns the unique index of kind, or nil for the kinds that are not
// buckets (bucketUserIndex).
func (r *users) ix(kind uniqueKind) *kvBucket { return r.bucket(fbIndex + fileBucket(kind)) }

// exists reports whether the user is stored.
func (r *users) exists(id string) bool {
	var kb keyBuf
	return id != "" && r.recs().Get(getKey(&kb, id)) != nil
}

// version returns the version of the user (0: no such user): the version
// of its record (recordVersion) plus the number of changes of its
// memberships (memberChanges), so that a membership change gives the user a
// new version without rewriting its record.
func (r *users) version(id string) int64 {
	if id == "" {
		return 0
	}
	var kb keyBuf
	rec := r.recs().Get(getKey(&kb, id))
	if rec == nil {
		return 0
	}
	return recordVersion(rec) + r.memberChanges(id)
}

// memberChanges is the number of changes of the user's memberships: its
// count in userGroups plus those of its lag entries (memberlag.go).
func (r *users) memberChanges(id string) int64 {
	return r.memberCount(id) + r.lagChanges(id)
}

// memberKey is the key, in userGroups, of the number of membership changes
// of user id (8 bytes, big-endian; absent: 0): pairKey(id, ""), which sorts
// before the user's pairs.
func memberKey(id string) []byte { return pairPrefix(id) }

// memberCount returns the number of membership changes of the user that
// userGroups holds (see memberChanges).
func (r *users) memberCount(id string) int64 {
	var kb keyBuf // memberKey(id), for Get only
	return decodeVersion(r.groups().Get(appendPairKey(kb[:0], id, "")))
}

// putRecord stores rec, the record of user id (encodeUserRecord), as the
// record of the user's version v: the version rec holds becomes v less the
// user's membership changes (memberChanges). A stored user's lag entries
// are settled first (putUser calls settle), so its changes are its count in
// userGroups alone: its lag is not sought again. A new user (isNew) has
// none — forget removes a deleted user's count, and no membership of a
// user that did not exist lags — so they are not read: a create does not
// open userGroups unless it has groups.
func (r *users) putRecord(id string, v int64, rec []byte, isNew bool) error {
	if !isNew {
		v -= r.memberCount(id)
	}
	setRecordVersion(rec, v)
	recs := r.recs()
	return recs.Put(append(recs.scratch(len(id)), id...), rec)
}

// get decodes the user, or returns nil when it does not exist.
func (r *users) get(id string) (*schemas.User, error) {
	if id == "" {
		return nil, nil
	}
	var kb keyBuf
	key := getKey(&kb, id)
	v := r.recs().Get(key)
	if v == nil {
		return nil, nil
	}
	return r.decode(key, v)
}

// decode decodes the record v (under key, the user's id) and completes it
// with its version and groups. key only names the user in an error, so a
// cursor's key is passed as it is, without a string made of it.
func (r *users) decode(key, v []byte) (*schemas.User, error) {
	u, err := decodeUser(v)
	if err != nil {
		return nil, fmt.Errorf("embedded: user %s: %w", string(key), err) // key itself stays where it is
	}
	var n int64
	if u.GroupIDs, n, err = r.groupsOf(u.ID); err != nil {
		return nil, err
	}
	u.Version = recordVersion(v) + n
	return u, nil
}

// groupsOf returns the groups of the user, ascending, and its number of
// membership changes (see version): one seek of userGroups, then its lag
// entries (memberlag.go) in their place. It fails when the list of lagging
// groups cannot be read (see lag): the groups would miss the lag's.
func (r *users) groupsOf(id string) (groups []string, changes int64, err error) {
	prefix := pairPrefix(id)
	c := r.groupsCursor()
	if !r.lagRead {
		r.readLag(c)
	}
	if r.lagErr != nil {
		return nil, 0, r.lagErr
	}
	// The ids are substrings of one string (decodeLagIndex's way): their
	// bytes and ends are gathered on the stack, then copied out once; the
	// list is gathered on the stack too, then allocated once at its size.
	var idRoom [groupIDRoom]byte
	var endRoom [16]int
	ids, ends := idRoom[:0], endRoom[:0]
	// Bounded by the prefix's end: the user's pairs are followed by other
	// users', which group deletions and drains leave deleted in the overlay
	// by the thousand; an unbounded Seek walked them all, on every read.
	r.groupsEnd = appendPrefixEnd(r.groupsEnd[:0], prefix) // (the cursor keeps it: not on the stack)
	for k, v := c.SeekBelow(prefix, r.groupsEnd); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) == len(prefix) {
			changes = decodeVersion(v)
			continue
		}
		ids = append(ids, k[len(prefix):]...)
		ends = append(ends, len(ids))
	}
	all := string(ids)
	var room [16]string
	list := room[:0]
	start := 0
	for _, end := range ends {
		list, start = append(list, all[start:end]), end
	}
	for _, e := range r.lagOf(id) {
		changes += e.changes
		i, found := slices.BinarySearch(list, e.group)
		switch {
		case e.in && !found:
			list = slices.Insert(list, i, e.group)
		case !e.in && found:
			list = slices.Delete(list, i, i+1)
		}
	}
	if r.lagErr != nil {
		return nil, 0, r.lagErr
	}
	if len(list) == 0 {
		return nil, changes, nil
	}
	return slices.Clone(list), changes, nil // off the stack
}

// groupsCursor returns r.groupsCur, made on first use: groupsOf's cursor,
// which readLag uses too (before groupsOf positions it).
func (r *users) groupsCursor() *kvCursor {
	c := &r.groupsCur
	if c.c == nil {
		r.groups().initCursor(c)
	}
	return c
}

// groupIDRoom is the size of groupsOf's stack buffer of group ids: seven
// UUIDs (more grow it on the heap).
const groupIDRoom = 256

// owner returns the id holding key in the unique user index kind, or "".
// For the login kinds it is the owner of the login key, if that user holds
// it in the field kind names (read from its search record), or a clash
// migrateV3 kept.
func (r *users) owner(kind uniqueKind, key string) string {
	if key == "" {
		return ""
	}
	if !loginKind(kind) {
		var kb keyBuf
		return string(r.ix(kind).Get(getKey(&kb, key)))
	}
	if !r.clashFree {
		if id := r.clash().Get(clashKey(kind, key)); id != nil {
			return string(id)
		}
	}
	var kb keyBuf
	id := string(r.ix(kLogin).Get(getKey(&kb, key)))
	if id == "" {
		return ""
	}
	row := r.search.rows().Get(getKey(&kb, id))
	var u schemas.User
	if row == nil || viewSearchRecord(r.search.recs().Get(row), &u) != nil || keysOfUser(&u)[kind] != key {
		return ""
	}
	return id
}

// dropClash removes the kept clash of key in the login kind when id held it.
func (r *users) dropClash(kind uniqueKind, id, key string) error {
	if r.clashFree {
		return nil
	}
	k := clashKey(kind, key)
	if v := r.clash().Get(k); v == nil || string(v) != id {
		return nil
	}
	return r.clash().Delete(k)
}

// count is the number of users (kept in the meta bucket).
func countUsers(t *txBuckets) int {
	return int(decodeVersion(t.bucket(fbMeta).Get(keyUserCount)))
}

// userView runs fn in a read transaction of the file, without the store's
// lock (a long scan must not hold up writers), failing with ErrClosed after
// Close. fn must not keep r: it is recycled once fn returns.
func (s *Store) userView(fn func(r *users) error) error {
	if s.shut.Load() {
		return ErrClosed
	}
	err := s.overlaidView(s.ov.Load(), func(tx *bolt.Tx, ov ovView) error {
		r := readers.Get().(*users)
		r.init(tx)
		r.ov = ov
		r.clashFree = s.clashFree
		r.search.maps = s.maps
		r.search.posts = s.posts.view(ov.high)
		err := fn(r)
		s.posts.install(r.search.fills)
		*r = users{} // nothing of tx (buckets, cursors, views of the map) outlives it
		readers.Put(r)
		return err
	})
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// writeUserIndexes writes what the indexes hold for user u (all new to them)
// into the buckets of r: memberships, assignments and unique keys. Used by
// the migration of a format-1 file.
func (r *users) writeUserIndexes(u *schemas.User) error {
	for _, e := range emailKeys(u) {
		if err := r.emails().Put(pairKey(e, u.ID), present); err != nil {
			return err
		}
	}
	for _, g := range u.GroupIDs {
		if err := r.setMember(g, u.ID, true); err != nil {
			return err
		}
	}
	for a, l := range u.Apps {
		if l != nil {
			if err := r.apps().Put(pairKey(a, u.ID), present); err != nil {
				return err
			}
		}
	}
	k := keysOfUser(u)
	for kind := range k {
		if k[kind] != "" && !loginKind(uniqueKind(kind)) {
			if err := r.ix(uniqueKind(kind)).Put([]byte(k[kind]), []byte(u.ID)); err != nil {
				return err
			}
		}
	}
	for _, l := range loginKeys(u) {
		if err := r.ix(kLogin).Put([]byte(l), []byte(u.ID)); err != nil {
			return err
		}
	}
	return nil
}

// setMember records (in) or removes the membership of user in group, in both
// directions.
func (r *users) setMember(group, user string, in bool) error {
	if err := setPair(r.groups(), pairKey(user, group), in); err != nil {
		return err
	}
	return setPair(r.members(), pairKey(group, user), in)
}

// setPair puts key (a membership pair, valued present) into b when in, else
// deletes it.
func setPair(b *kvBucket, key []byte, in bool) error {
	if in {
		return b.Put(key, present)
	}
	return b.Delete(key)
}

// walker finds keys of a bucket asked for in ascending order (mostly): a
// key a few steps after the cursor's is reached by stepping, any other by a
// seek from the root. So a run of keys next to each other (the members of a
// group created together) costs a step each, not a descent. A walker is
// valid until the bucket is written.
type walker struct {
	c    *kvCursor
	k, v []byte
}

func walk(bk *kvBucket) *walker { return &walker{c: bk.Cursor()} }

// seek moves to the first key at or after key and returns it (nil at the end).
func (w *walker) seek(key []byte) ([]byte, []byte) {
	if w.k != nil && bytes.Compare(w.k, key) < 0 {
		for range 8 {
			if w.k, w.v = w.c.Next(); w.k == nil || bytes.Compare(w.k, key) >= 0 {
				return w.k, w.v
			}
		}
	} else if w.k != nil && bytes.Equal(w.k, key) {
		return w.k, w.v
	}
	w.k, w.v = w.c.Seek(key)
	return w.k, w.v
}

// next moves to the next key.
func (w *walker) next() ([]byte, []byte) {
	w.k, w.v = w.c.Next()
	return w.k, w.v
}

// has reports whether key is in the bucket.
func (w *walker) has(key []byte) bool {
	k, _ := w.seek(key)
	return bytes.Equal(k, key)
}

// changeMember records (in) or removes the membership of user in group, in
// groupMembers and as a lag entry (memberlag.go), which gives the user a new
// version: prev is the number of changes its lag entry in group held (0:
// none).
func (r *users) changeMember(group, user string, in bool, prev int64) error {
	if err := setPair(r.members(), pairKey(group, user), in); err != nil {
		return err
	}
	return r.stageLag(group, user, in, prev)
}

// forget removes what userGroups holds of a deleted user beyond its
// memberships: its membership count.
func (r *users) forget(id string) error {
	return r.groups().Delete(memberKey(id))
}

// migrateChunk is the number of users migrateV1 rewrites per transaction:
// bbolt splits nodes only at commit, so one transaction of a million inserts
// would be quadratic. A variable for the tests.
var migrateChunk = 5000

// keyMigrated is the id of the last user migrated from format 1 (meta): the
// migration resumes after it when a crash stopped it.
var keyMigrated = []byte("migratedUpTo")

// migrateV1 rewrites the users of a format-1 file (JSON records holding
// their version and groups, no index buckets) into the current format, in id order, a
// chunk of users per transaction: each transaction rewrites its users'
// records (binary), writes their index entries and the user count, and
// records the last id it did, so that a crash leaves a file whose next Open
// resumes after it (the format stays "1" until the last chunk). It returns
// the number of users migrated.
func migrateV1(db *bolt.DB) (int, error) {
	total := 0
	for {
		n, err := migrateV1Chunk(db)
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}

// migrateV1Chunk migrates the next migrateChunk users (0 when none is left).
func migrateV1Chunk(db *bolt.DB) (int, error) {
	n := 0
	err := db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		r := usersOf(tx)
		type rec struct {
			id string
			v  []byte
		}
		var recs []rec
		c := r.recs().Cursor()
		k, v := firstAfter(c, meta.Get(keyMigrated))
		for ; k != nil && len(recs) < migrateChunk; k, v = c.Next() {
			recs = append(recs, rec{string(k), bytes.Clone(v)})
		}
		if len(recs) == 0 {
			return nil
		}
		pendRows, err := pendingRows(r.search.pend())
		if err != nil {
			return err
		}
		b := &batch{u: r, nextRow: -1, pendRows: pendRows}
		for _, rc := range recs {
			u, err := decodeUserV1(rc.v)
			if err != nil {
				return fmt.Errorf("user %s: %w", rc.id, err)
			}
			enc, err := encodeUserOnly(u)
			if err != nil {
				return fmt.Errorf("user %s: %w", u.ID, err)
			}
			if err := r.recs().Put([]byte(rc.id), enc); err != nil {
				return err
			}
			u.GroupIDs = slices.Compact(slices.Sorted(slices.Values(u.GroupIDs)))
			if err := r.writeUserIndexes(u); err != nil {
				return fmt.Errorf("user %s: %w", u.ID, err)
			}
			if err := b.stageSearch(u.ID, nil, imageOf(u)); err != nil {
				return fmt.Errorf("user %s: %w", u.ID, err)
			}
		}
		if err := b.finishSearch(); err != nil {
			return err
		}
		n = len(recs)
		if err := meta.Put(keyUserCount, encodeVersion(int64(countUsers(&r.txBuckets)+n))); err != nil {
			return err
		}
		return meta.Put(keyMigrated, []byte(recs[len(recs)-1].id))
	})
	return n, err
}

// keyEmailsIndexed (meta) says that ix.emails holds every email of every user.
var (
	keyEmailsIndexed   = []byte("emailsIndexed")
	keyEmailsIndexedTo = []byte("emailsIndexedUpTo") // progress of indexAllEmails
)

// emailKeys returns the folded email values of u, each once.
func emailKeys(u *schemas.User) []string { return appendEmailKeys(nil, u) }

// appendEmailKeys appends the email keys of u (see emailKeys) to dst.
func appendEmailKeys(dst []string, u *schemas.User) []string {
	if u == nil {
		return dst
	}
	from := len(dst)
	for _, e := range u.Emails {
		if k := schemas.Fold(e.Value); k != "" && !slices.Contains(dst[from:], k) {
			dst = append(dst, k)
		}
	}
	return dst
}

// moveEmails updates ix.emails for user id, whose folded email values (see
// emailKeys) change from ok to nk.
func (r *users) moveEmails(id string, ok, nk []string) error {
	bk := r.emails()
	for _, k := range ok {
		if !slices.Contains(nk, k) { // an entry of the image replaced: the bucket holds it
			if err := bk.DeletePresent(appendPairKey(bk.scratch(2+len(k)+len(id)), k, id)); err != nil {
				return err
			}
		}
	}
	for _, k := range nk {
		if !slices.Contains(ok, k) {
			if err := bk.Put(appendPairKey(bk.scratch(2+len(k)+len(id)), k, id), present); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexAllEmails fills ix.emails from the user records of a file made before
// it existed, migrateChunk users per transaction, resuming after a crash;
// then it marks the index complete. It does nothing when it is.
func indexAllEmails(db *bolt.DB) error {
	return inChunks(db, keyEmailsIndexed, keyEmailsIndexedTo, func(tx *bolt.Tx) (*kvBucket, func(k, v []byte) error) {
		r := usersOf(tx)
		return r.recs(), func(id, v []byte) error {
			u, err := decodeUserRecord(v)
			if err != nil {
				return fmt.Errorf("user %s: %w", id, err)
			}
			return r.moveEmails(string(id), nil, emailKeys(u))
		}
	})
}
