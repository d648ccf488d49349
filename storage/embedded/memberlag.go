package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// The membership lag (file format 8).
//
// A membership is recorded in both directions: groupMembers (group, user),
// which is always current, and userGroups (user, group), which gives a
// user's groups with one seek. Members of one group are neighbours in
// groupMembers, but members spread over the store are not in userGroups:
// there each one was a page of its own, written, copied and synced by the
// commit (about 1,700 pages per 1,000 members at a million users).
//
// So a membership change made through a group (PatchGroup, DeleteGroup)
// writes groupMembers and a lag entry, keyed group first as well, and
// leaves userGroups alone: bucket memberLag holds pairKey(group, user) →
// lagValue (whether the user is now a member, and how many changes of that
// pair userGroups lacks), and userGroups holds at lagIndexKey the list of
// the groups that have lag entries with their number. A reader of a user's
// groups and version (users.groupsOf, users.version) reads userGroups, the
// list (a Get in a bucket it reads anyway; absent when nothing lags) and
// the user's lag entry in each lagging group: one Get per lagging group, of
// which there are at most maxLagGroups (usually none or one). The writer
// drains the lag into userGroups when it has nothing else to do
// (Store.drainLag, lagDrainChunk entries per batch), so the pages
// spread over userGroups are written off the request's path. A change that
// would make more than maxLagGroups groups lag either drains the smallest
// of them first, in its own transaction, or, when it changes fewer
// memberships than that group has entries, is written to userGroups
// directly (lagRoom).
//
// A user's version is its record's version plus its membership count in
// userGroups plus the changes its lag entries hold, so draining an entry
// (moving its changes into the count) leaves the version unchanged, and
// every membership change still gives the user a new one.
//
// Writes that change a user's record (putUser, deleteUser) first settle the
// user's lag entries (users.settle): userGroups is then exact for it.

// bucketMemberLag is the membership lag bucket (see above).
var bucketMemberLag = []byte("memberLag")

// lagIndexKey is the key, in userGroups, of the list of lagging groups:
// pairKey("", ""), before every user's keys (no user id is empty).
var lagIndexKey = []byte{0, 0}

// maxLagGroups bounds the groups with lag entries, and so what a read of a
// user's groups costs beyond userGroups.
const maxLagGroups = 8

// lagDrainChunk is the number of lag entries the idle writer drains per
// transaction: about a page of userGroups each, so that a write arriving
// meanwhile waits for a small commit. A variable for the tests.
var lagDrainChunk = 64

// lagIndex is the decoded list of lagging groups, oldest first.
type lagIndex struct {
	groups []lagGroup
	total  int  // the lag entries of every group
	dirty  bool // changed since read: saveLag writes it
}

type lagGroup struct {
	id string
	n  int // its lag entries
}

// decodeLagIndex decodes the list into l (empty): per group its id's
// length (2 bytes), the id and its number of entries (4 bytes), big-endian.
func decodeLagIndex(v []byte, l *lagIndex) error {
	all := string(v) // one copy; the ids are its substrings
	for len(all) > 0 {
		if len(all) < 2 || len(all) < 6+int(binary.BigEndian.Uint16([]byte(all[:2]))) {
			return fmt.Errorf("embedded: the list of lagging groups is damaged")
		}
		n := int(binary.BigEndian.Uint16([]byte(all[:2])))
		g := lagGroup{id: all[2 : 2+n], n: int(binary.BigEndian.Uint32([]byte(all[2+n : 6+n])))}
		l.groups = append(l.groups, g)
		l.total += g.n
		all = all[6+n:]
	}
	return nil
}

func (l *lagIndex) encode() []byte {
	var out []byte
	for _, g := range l.groups {
		out = binary.BigEndian.AppendUint16(out, uint16(len(g.id)))
		out = append(out, g.id...)
		out = binary.BigEndian.AppendUint32(out, uint32(g.n))
	}
	return out
}

// add counts delta more lag entries of the group (a new lagging group
// comes last).
func (l *lagIndex) add(group string, delta int) {
	l.dirty = true
	l.total += delta
	i := slices.IndexFunc(l.groups, func(g lagGroup) bool { return g.id == group })
	if i < 0 {
		l.groups = append(l.groups, lagGroup{id: group, n: delta})
		return
	}
	if l.groups[i].n += delta; l.groups[i].n <= 0 {
		l.groups = slices.Delete(l.groups, i, i+1)
	}
}

func (l *lagIndex) lagging(group string) bool {
	return slices.ContainsFunc(l.groups, func(g lagGroup) bool { return g.id == group })
}

// lagValue is a lag entry's value: 1 when the user is a member, else 0,
// then the number of changes (8 bytes, big-endian) userGroups lacks.
func lagValue(in bool, changes int64) []byte {
	v := make([]byte, 9)
	if in {
		v[0] = 1
	}
	binary.BigEndian.PutUint64(v[1:], uint64(changes))
	return v
}

func decodeLagValue(v []byte) (in bool, changes int64, err error) {
	if len(v) != 9 || v[0] > 1 {
		return false, 0, errDamagedLagEntry
	}
	return v[0] == 1, int64(binary.BigEndian.Uint64(v[1:])), nil
}

// errDamagedLagEntry is the error of a lag entry that is not a lagValue: a
// read of the user's groups, and any write that would drain or replace the
// entry, fail with it rather than take it for "no change" (which a drain
// would have written into userGroups, deleting the entry). Like a damaged
// list of lagging groups, it fails the whole transaction that meets it: the
// read, or the writer's batch (each of its writes gets the error).
var errDamagedLagEntry = fmt.Errorf("embedded: a membership lag entry is damaged")

func (r *users) lagBucket() *kvBucket { return r.bucket(fbMemberLag) }

// lag returns the transaction's list of lagging groups, read once. A list
// that cannot be decoded (a damaged file) reads as empty and is kept in
// r.lagErr: a read of a user's groups then fails with it (users.groupsOf), and
// so does a write (saveLag, at the batch's finish) or a drain, so that
// nothing is written from the empty list.
func (r *users) lag() *lagIndex {
	if !r.lagRead {
		r.readLag(r.groupsCursor())
	}
	return &r.lagIx
}

// readLag reads the list of lagging groups with c, a cursor of userGroups
// whose file cursor looks the key up (bbolt's Get would allocate a cursor
// of its own, and a read of a user's groups has one). A lookup, not the
// bucket's First: when the list is deleted (nothing lags), First walked
// every deleted membership after it in the overlay, on every read.
func (r *users) readLag(c *kvCursor) {
	v := r.groups().getAt(c.c, lagIndexKey)
	if err := decodeLagIndex(v, &r.lagIx); err != nil {
		r.lagIx, r.lagErr = lagIndex{}, err
	}
	r.lagRead = true
}

// lagPosition is a lag entry's place: its group and user.
type lagPosition struct{ group, user string }

// lagEntry is a user's lag entry in one group.
type lagEntry struct {
	group   string
	in      bool
	changes int64
}

// lagOf returns the user's lag entries, one Get per lagging group (none
// and no allocation when nothing lags). A Get, not a seek of a merged
// cursor: the overlay keeps the entries the writer drained as deletions
// until its next apply, and a seek for a user without an entry stepped over
// every one of them up to the next live entry — a full scan, which reads
// every user's groups, took minutes at a million users after a PATCH of
// 10,000 members.
func (r *users) lagOf(user string) []lagEntry {
	groups := r.lag().groups
	if len(groups) == 0 {
		return nil
	}
	var out []lagEntry
	var key []byte
	lb := r.lagBucket()
	bc := lb.b.Cursor() // one file cursor for every lookup: bbolt's Get makes its own
	for _, g := range groups {
		key = binary.BigEndian.AppendUint16(key[:0], uint16(len(g.id))) // pairKey(g.id, user)
		key = append(append(key, g.id...), user...)
		if v := lb.getAt(bc, key); v != nil {
			in, n, err := decodeLagValue(v)
			if err != nil {
				r.lagErr = err // groupsOf, settle and saveLag fail with it
				continue
			}
			out = append(out, lagEntry{g.id, in, n})
		}
	}
	return out
}

// lagChanges is the number of the user's membership changes its lag
// entries hold.
func (r *users) lagChanges(user string) int64 {
	var n int64
	for _, e := range r.lagOf(user) {
		n += e.changes
	}
	return n
}

// stageLag records a change of the user's membership in group (now in),
// whose lag entry held prev changes (0: none).
func (r *users) stageLag(group, user string, in bool, prev int64) error {
	if prev == 0 {
		r.lag().add(group, 1)
	}
	return r.lagBucket().Put(pairKey(group, user), lagValue(in, prev+1))
}

// drainEntry moves the lag entry (group, user) into userGroups: the pair
// as the entry says, the user's membership count grown by its changes; and
// deletes it.
func (r *users) drainEntry(group, user string, in bool, changes int64) error {
	if err := setPair(r.groups(), pairKey(user, group), in); err != nil {
		return err
	}
	if err := r.groups().Put(memberKey(user), encodeVersion(r.memberCount(user)+changes)); err != nil {
		return err
	}
	r.lag().add(group, -1)
	return r.lagBucket().Delete(pairKey(group, user))
}

// settle drains the user's lag entries, so that userGroups holds exactly
// its groups and count.
func (r *users) settle(user string) error {
	for _, e := range r.lagOf(user) {
		if err := r.drainEntry(e.group, user, e.in, e.changes); err != nil {
			return err
		}
	}
	return r.lagErr
}

// drainGroup drains up to max lag entries of the group (all: max < 0) and
// returns how many it drained and the user of the last one. It takes them
// in user order from the first entry at or after user from, then wraps
// around to the group's first entry and stops before from: fewer than max
// means that the group has no entry left, wherever from was.
//
// The idle writer drains a group a chunk at a time (batch.drainLag) and
// resumes where the last chunk ended: each drained entry is a deletion in
// the overlay until the next apply, and a chunk that began at the group's
// first key stepped over every entry the chunks before it had drained, so
// that draining 10,000 entries 64 at a time stepped over ~780,000.
func (r *users) drainGroup(group string, max int, from string) (int, string, error) {
	type entry struct {
		user    string
		in      bool
		changes int64
	}
	var todo []entry
	prefix := pairPrefix(group)
	c := r.lagBucket().Cursor()
	// collect takes the group's entries in [start, end) with a bounded seek:
	// past end lie entries drained since the overlay's last apply (this
	// group's before start, or the next group's), which an unbounded one
	// would step over. (A cursor of the file alone does not stop at end.)
	collect := func(start, end []byte) error {
		for k, v := c.SeekBelow(start, end); k != nil && bytes.HasPrefix(k, prefix) && (end == nil || bytes.Compare(k, end) < 0) && (max < 0 || len(todo) < max); k, v = c.Next() {
			in, n, err := decodeLagValue(v)
			if err != nil {
				return err
			}
			todo = append(todo, entry{string(k[len(prefix):]), in, n})
		}
		return nil
	}
	at := prefix
	if from != "" {
		at = pairKey(group, from)
	}
	if err := collect(at, appendPrefixEnd(nil, prefix)); err != nil {
		return 0, "", err
	}
	if from != "" && (max < 0 || len(todo) < max) {
		if err := collect(prefix, at); err != nil {
			return 0, "", err
		}
	}
	for _, e := range todo {
		if err := r.drainEntry(group, e.user, e.in, e.changes); err != nil {
			return 0, "", err
		}
	}
	if len(todo) == 0 {
		return 0, "", nil
	}
	return len(todo), todo[len(todo)-1].user, nil
}

// lagRoom makes room for the changes of n memberships in group among the
// lagging groups: when group is not one and maxLagGroups lag already, it
// drains the one with the fewest entries — unless that has more entries
// than the change has memberships: then the change is cheaper written
// direct, as the drain would (direct: changeMemberDirect; the group has no
// lag entry to reconcile), and nothing is drained.
func (r *users) lagRoom(group string, n int) (direct bool, err error) {
	l := r.lag()
	if len(l.groups) < maxLagGroups || l.lagging(group) {
		return false, nil
	}
	small := slices.MinFunc(l.groups, func(a, b lagGroup) int { return a.n - b.n })
	if n < small.n {
		return true, nil
	}
	_, _, err = r.drainGroup(small.id, -1, "")
	return false, err
}

// changeMemberDirect records (in) or removes the membership of user in
// group in both directions and counts the change in userGroups (what
// draining a lag entry writes), for a group that has no lag entry.
func (r *users) changeMemberDirect(group, user string, in bool) error {
	if err := r.setMember(group, user, in); err != nil {
		return err
	}
	return r.groups().Put(memberKey(user), encodeVersion(r.memberCount(user)+1))
}

// saveLag writes the list of lagging groups when the transaction changed it.
func (r *users) saveLag() error {
	if r.lagErr != nil {
		return r.lagErr
	}
	if !r.lagIx.dirty {
		return nil
	}
	r.lagIx.dirty = false
	if len(r.lagIx.groups) == 0 {
		return r.groups().Delete(lagIndexKey)
	}
	return r.groups().Put(lagIndexKey, r.lagIx.encode())
}

// lagTotal is the number of lag entries as the transaction sees them.
func (r *users) lagTotal() int { return r.lag().total }

// drainLag drains up to lagDrainChunk lag entries of the oldest lagging
// group into userGroups, as a batch of its own (housekeep: a derived write,
// not synced), when nothing else is queued (see run). process keeps
// s.lagged.
func (s *Store) drainLag() error { return s.housekeep((*batch).drainLag) }

// drainLag stages the drain of drainLag (the Store's).
func (b *batch) drainLag() error {
	r := b.u
	if r.lag(); r.lagErr != nil {
		return r.lagErr
	}
	l := r.lag()
	if len(l.groups) == 0 {
		return nil
	}
	g := l.groups[0]
	b.staged++ // the lag's list changes (finish saves it), and userGroups
	var from string
	if at := b.s.drainedTo; at.group == g.id {
		from = at.user
	}
	n, last, err := r.drainGroup(g.id, lagDrainChunk, from)
	if err != nil {
		return err
	}
	// Where the next chunk begins: a hint, right even if this batch fails
	// (drainGroup wraps around).
	b.s.drainedTo = lagPosition{g.id, last}
	if i := slices.IndexFunc(l.groups, func(lg lagGroup) bool { return lg.id == g.id }); n < lagDrainChunk && i >= 0 {
		l.add(g.id, -l.groups[i].n) // a count beyond its entries: none is left
	}
	return nil
}
