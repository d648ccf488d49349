package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/scimd/scimd/internal/uuidfmt"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Events stay on disk (an audit log grows without bound); they are keyed by
// time then id, so that newest-first listing and time ranges are cursor walks.

// eventKey is the 12-byte big-endian time (seconds offset by 2^63, then
// nanoseconds), followed by the id.
func eventKey(t time.Time, id string) []byte {
	k := make([]byte, 12, 12+len(id))
	timeKey(k, t)
	return append(k, id...)
}

func timeKey(k []byte, t time.Time) {
	binary.BigEndian.PutUint64(k, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(k[8:], uint32(t.Nanosecond()))
}

// AppendEvent stores an audit event that is not part of a change.
func (s *Store) AppendEvent(ctx context.Context, e *schemas.Event) error {
	if e == nil {
		return errors.New("embedded: append event: nil event")
	}
	return s.audited(ctx, e, func(*batch) error { return nil })
}

// audited stages change and then the event e (nil: none) in one write
// transaction: both commit or neither does.
func (s *Store) audited(ctx context.Context, e *schemas.Event, change func(b *batch) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ev, err := newStagedEvent(e)
	if err != nil {
		return err
	}
	return s.submit(func(b *batch) error {
		if err := change(b); err != nil {
			return err
		}
		return b.putEvent(ev)
	})
}

// stagedEvent is an audit event encoded for the events bucket, with the
// target and actor ids it is indexed under.
type stagedEvent struct {
	key, enc      []byte
	target, actor string
	keyArr        [12 + 36]byte // room for key: a time and a UUID
}

// newStagedEvent encodes e; a nil e gives a nil *stagedEvent, which putEvent ignores.
func newStagedEvent(e *schemas.Event) (*stagedEvent, error) {
	if e == nil {
		return nil, nil
	}
	enc, err := encodeEvent(e)
	if err != nil {
		return nil, fmt.Errorf("embedded: event %s: encode: %w", e.ID, err)
	}
	ev := &stagedEvent{enc: enc, target: e.TargetID, actor: e.ActorID}
	timeKey(ev.keyArr[:], e.Time)
	ev.key = append(ev.keyArr[:12:12+36], e.ID...) // in keyArr unless the id is longer
	return ev, nil
}

// putEvent stages an audit event in the batch, so that it commits in the same
// transaction as the change staged before it: into the tail, or, when its
// key is not above the last sealed key, into its block (putStraggler).
func (b *batch) putEvent(ev *stagedEvent) error {
	if ev == nil {
		return nil
	}
	b.staged++
	if end := b.blockEnd(); end != nil && bytes.Compare(ev.key, end) <= 0 {
		return b.putStraggler(ev.key, ev.enc, ev.target, ev.actor)
	}
	if err := b.u.bucket(fbEvents).Put(ev.key, ev.enc); err != nil {
		return err
	}
	b.ev.tail += len(ev.key) + len(ev.enc)
	return indexEvent(&b.u.txBuckets, ev.key, ev.target, ev.actor, true)
}

// The index of events by target and by actor: one bucket (since format 7;
// before, a bucket each, ix.eventTarget and ix.eventActor), whose keys are
// a kind (ixTarget, ixActor) then pairKey(ixID(id), the event's time and
// ixID(event id)) → present (see appendIxEntry), changed in the same transaction
// as the events, so that listing one user's events walks only theirs. An
// empty id is not indexed (an empty filter selects every event). One bucket
// rather than two: an audited write puts an entry of each kind, and each
// bucket it opens costs the write about ten allocations and its root page.
var (
	bucketEventIndex = []byte("ix.events")
	// bucketsV6EventIndexes are the two indexes of format 6 and before
	// (ixTarget, ixActor), which Open merges into bucketEventIndex
	// (mergeEventIndexesV6).
	bucketsV6EventIndexes = [2][]byte{[]byte("ix.eventTarget"), []byte("ix.eventActor")}
)

// The kinds of entries of the event index (their first byte).
const (
	ixTarget byte = iota
	ixActor
)

// maxIndexedID is the longest id the event indexes hold (bbolt keys are at
// most 32,768 bytes): ListEvents walks the whole log for a longer one, which
// no id scimd makes is.
const maxIndexedID = 1024

// indexEvent puts (put) or deletes the index entries of the event stored
// under key with the given target and actor.
func indexEvent(t *txBuckets, key []byte, target, actor string, put bool) error {
	for _, ix := range [2]struct {
		kind byte
		id   string
	}{{ixTarget, target}, {ixActor, actor}} {
		if !indexed(ix.id) {
			continue
		}
		bk := t.bucket(fbEventIndex)
		k := appendIxEntry(bk.scratch(ixEntrySize(ix.id, key)), ix.kind, ix.id, key)
		var err error
		if put {
			err = bk.Put(k, present)
		} else {
			err = bk.Delete(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ixPrefix is the common prefix of the entries of id of the kind.
func ixPrefix(kind byte, id string) []byte {
	return append([]byte{kind}, pairPrefix(ixID(id))...)
}

// ixID is an id as the event indexes hold it: a UUID in the canonical form
// as 1 and its 16 bytes, anything else as 0 and its bytes (the two never
// meet), which halves the keys of the events scimd writes.
func ixID(id string) string { return string(appendIxID(nil, id)) }

// appendIxID appends ixID(id) to b.
func appendIxID[S string | []byte](b []byte, id S) []byte {
	if u, ok := uuidfmt.Parse(id); ok {
		return append(append(b, 1), u[:]...)
	}
	return append(append(b, 0), id...)
}

// ixEntrySize is room enough for appendIxEntry's entry of (id, key).
func ixEntrySize(id string, key []byte) int {
	return 3 + 1 + max(16, len(id)) + 12 + 1 + max(16, len(key)-12)
}

// appendIxEntry appends to k the key of the event stored under key in the
// index of id of the kind: the kind, then pairKey(ixID(id), the key's time
// and ixID(event id)).
func appendIxEntry(k []byte, kind byte, id string, key []byte) []byte {
	at := len(k)
	k = append(k, kind, 0, 0)
	k = appendIxID(k, id)
	binary.BigEndian.PutUint16(k[at+1:], uint16(len(k)-at-3))
	k = append(k, key[:12]...)
	return appendIxID(k, key[12:])
}

// entryEventKey is the event key (see eventKey) of the part of an index key
// after its id's prefix; ok is false for a key appendIxEntry never writes.
func entryEventKey(rest []byte) (key []byte, ok bool) {
	if len(rest) < 13 {
		return nil, false
	}
	k := append(make([]byte, 0, 12+36), rest[:12]...)
	switch id := rest[13:]; {
	case rest[12] == 1 && len(id) == 16:
		return append(k, uuidfmt.Format([16]byte(id))...), true
	case rest[12] == 0:
		return append(k, id...), true
	}
	return nil, false
}

// keyEventsIndexed (meta) says that the event index holds every event; a
// file written before it gets
// it at Open (indexAllEvents), in chunks, resuming after keyEventsIndexedTo
// (the last event key indexed).
var (
	keyEventsIndexed   = []byte("eventsIndexed")
	keyEventsIndexedTo = []byte("eventsIndexedUpTo")
)

// keyEventIndexMerged (meta) holds, per kind, that mergeEventIndexesV6 has
// copied the format-6 index of that kind; keyEventIndexMergedTo its
// progress (see inChunks).
var (
	keyEventIndexMerged   = [2][]byte{[]byte("eventTargetsMerged"), []byte("eventActorsMerged")}
	keyEventIndexMergedTo = [2][]byte{[]byte("eventTargetsMergedUpTo"), []byte("eventActorsMergedUpTo")}
)

// mergeEventIndexesV6 copies the two event indexes of a file of format 6
// or before into the index of format 7, each entry under its kind, and
// deletes them; it does nothing to a file without them. The copy walks
// each old index in key order, so its entries are appended to the new
// one, a page at a time (rebuilding the index from the events instead puts
// the entries of a million events at random places: about a minute), in
// transactions of migrateChunk entries that record their progress
// (inChunks), so that a crash resumes it; the last transaction deletes
// the old indexes and the progress marks. An index the old file had not
// completed (keyEventsIndexed unset) is completed by indexAllEvents after
// it: its progress is in the events, which the copy does not change.
func mergeEventIndexesV6(db *bolt.DB) error {
	var has [2]bool
	if err := db.View(func(tx *bolt.Tx) error {
		has = [2]bool{tx.Bucket(bucketsV6EventIndexes[0]) != nil, tx.Bucket(bucketsV6EventIndexes[1]) != nil}
		return nil
	}); err != nil || has == [2]bool{} {
		return err
	}
	for kind, name := range bucketsV6EventIndexes {
		if !has[kind] {
			continue
		}
		err := inChunks(db, keyEventIndexMerged[kind], keyEventIndexMergedTo[kind], func(tx *bolt.Tx) (*kvBucket, func(k, v []byte) error) {
			from := rawBucket(tx.Bucket(name))
			t := &txBuckets{tx: tx}
			to := t.bucket(fbEventIndex)
			key := make([]byte, 0, 64)
			return from, func(k, _ []byte) error {
				key = append(append(key[:0], byte(kind)), k...)
				return to.Put(bytes.Clone(key), present)
			}
		})
		if err != nil {
			return err
		}
	}
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		for kind, name := range bucketsV6EventIndexes {
			if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
			if err := meta.Delete(keyEventIndexMerged[kind]); err != nil {
				return err
			}
		}
		return nil
	})
}

// indexAllEvents builds the event index of a file that lacks it, in
// transactions of migrateChunk events, each recording its progress, so that
// a crash resumes where it stopped. An event whose head cannot be read is
// not indexed: it matches no target or actor filter, as before the indexes.
func indexAllEvents(db *bolt.DB) error {
	return inChunks(db, keyEventsIndexed, keyEventsIndexedTo, func(tx *bolt.Tx) (*kvBucket, func(k, v []byte) error) {
		t := &txBuckets{tx: tx}
		return t.bucket(fbEvents), func(k, v []byte) error {
			h, err := decodeEventHead(k, v)
			if err != nil {
				return nil
			}
			return indexEvent(t, k, h.Tg, h.A, true)
		}
	})
}

// ListEvents returns one page of the events matching q, newest first, and the total.
func (s *Store) ListEvents(ctx context.Context, q storage.EventQuery) (storage.Page[*schemas.Event], error) {
	var page storage.Page[*schemas.Event]
	if err := s.rlock(); err != nil {
		return page, err
	}
	s.mu.RUnlock()    // events are read from the file: after Close, View fails
	var lo, hi []byte // inclusive lower bound, exclusive upper bound
	if !q.Since.IsZero() {
		lo = make([]byte, 12)
		timeKey(lo, q.Since)
	}
	if !q.Until.IsZero() {
		hi = make([]byte, 12)
		timeKey(hi, q.Until)
	}
	err := s.readView(func(t *txBuckets) error {
		l := newEventLister(t, q, lo, hi, &page)
		if indexed(q.TargetID) || (q.TargetID == "" && indexed(q.ActorID)) {
			l.indexedTail()
			l.indexedBlocks()
		} else {
			l.tail()
			l.blocks()
		}
		return nil
	})
	if err != nil {
		return storage.Page[*schemas.Event]{}, fmt.Errorf("embedded: list events: %w", err)
	}
	if page.Items == nil {
		page.Items = []*schemas.Event{}
	}
	return page, nil
}

// tail walks the tail's events newest first, from hi (exclusive) down to
// lo (inclusive), for a query without an indexed id.
func (l *eventLister) tail() {
	lo, hi := l.lo, l.hi
	c := l.t.bucket(fbEvents).Cursor()
	stop, empty := tailStart(l.t, c)
	k, v := lastBefore(c, hi)
	if empty || hi != nil && stop != nil && bytes.Compare(stop[:12], hi) >= 0 {
		k = nil // nothing of the tail is listed
	}
	for done := false; !done && k != nil; k, v = c.Prev() {
		done = stop != nil && bytes.Equal(k, stop)
		if lo != nil && bytes.Compare(k[:12], lo) < 0 {
			break
		}
		if hi != nil && bytes.Compare(k[:12], hi) >= 0 {
			continue
		}
		l.event(k, v)
	}
}

// lastSealed returns the last key of the last sealed block (nil: none).
func lastSealed(t *txBuckets) []byte {
	k, _ := t.bucket(fbEventBlockEnds).Cursor().Last()
	return k
}

// tailStart returns the first key of the tail (nil: no block sealed yet,
// or the tail is empty: empty says which), using c, a cursor of the events
// bucket. A walk of the tail newest first stops there: the keys before it
// are sealed, and those that are still deletions in the overlay would
// make every step past the tail's first key skip them all. (The per-event
// index entries of sealed events likewise: indexedTail.)
func tailStart(t *txBuckets, c *kvCursor) (first []byte, empty bool) {
	sealed := lastSealed(t)
	if sealed == nil {
		return nil, false
	}
	first, _ = firstAfter(c, sealed)
	return bytes.Clone(first), first == nil
}

// lastBefore positions c on the last key before end (exclusive), or on the
// last key of the bucket when end is nil, and returns it (nil: none).
func lastBefore(c *kvCursor, end []byte) (k, v []byte) {
	if end == nil {
		return c.Last()
	}
	if k, _ = c.Seek(end); k == nil { // first key ≥ end: step back from it
		return c.Last()
	}
	return c.Prev()
}

// inChunks is the resumable walk of Open's migrations that fill an index
// from a bucket. Unless meta has done, it calls each on every entry of the
// bucket that step returns, in transactions of migrateChunk entries, each
// recording in meta under progress the last key it did, so that a crash
// resumes after it; when no entry is left it deletes progress and puts done.
// step is called once per transaction, before its walk.
func inChunks(db *bolt.DB, done, progress []byte, step func(*bolt.Tx) (*kvBucket, func(k, v []byte) error)) error {
	for {
		finished := false
		err := db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta.Get(done) != nil {
				finished = true
				return nil
			}
			b, each := step(tx)
			type entry struct{ k, v []byte }
			var chunk []entry
			c := b.Cursor()
			for k, v := firstAfter(c, meta.Get(progress)); k != nil && len(chunk) < migrateChunk; k, v = c.Next() {
				chunk = append(chunk, entry{bytes.Clone(k), v})
			}
			if len(chunk) == 0 {
				if err := meta.Delete(progress); err != nil {
					return err
				}
				return meta.Put(done, present)
			}
			for _, e := range chunk {
				if err := each(e.k, e.v); err != nil {
					return err
				}
			}
			return meta.Put(progress, chunk[len(chunk)-1].k)
		})
		if err != nil || finished {
			return err
		}
	}
}

// firstAfter positions c at the first key after last (at the first key when
// last is nil): where a chunked walk that recorded last resumes.
func firstAfter(c *kvCursor, last []byte) (k, v []byte) {
	if last == nil {
		return c.First()
	}
	if k, v = c.Seek(last); k != nil && bytes.Equal(k, last) {
		return c.Next()
	}
	return k, v
}

// indexed reports whether the event indexes hold every event of id.
func indexed(id string) bool { return id != "" && len(id) <= maxIndexedID }

// indexedTail lists the tail's events for a query by target (or, without
// one, by actor) from that index: it walks the id's entries newest first
// from hi (exclusive) down to lo (inclusive), reads the head of an event
// only when another filter (actor, action) remains to check, and decodes
// only the events of the page.
func (l *eventLister) indexedTail() {
	t, q, lo, hi := l.t, l.q, l.lo, l.hi
	kind, id := ixTarget, q.TargetID
	if id == "" {
		kind, id = ixActor, q.ActorID
	}
	checkActor := q.TargetID != "" && q.ActorID != ""
	prefix := ixPrefix(kind, id)
	events, c := t.bucket(fbEvents), t.bucket(fbEventIndex).Cursor()
	// The walk stops at the id's first entry of the tail (see tailStart).
	var stop []byte
	if sealed := lastSealed(t); sealed != nil {
		if stop, _ = c.Seek(append(bytes.Clone(prefix), sealed[:12]...)); !bytes.HasPrefix(stop, prefix) {
			return // the id has no event in the tail
		}
		stop = bytes.Clone(stop)
	}
	end := prefixEnd(prefix)
	if hi != nil {
		if end = append(bytes.Clone(prefix), hi...); stop != nil && bytes.Compare(stop, end) >= 0 {
			return // nothing of the tail is before hi
		}
	}
	k, _ := lastBefore(c, end)
	for done := false; !done && k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		done = stop != nil && bytes.Equal(k, stop)
		ek, ok := entryEventKey(k[len(prefix):])
		if !ok {
			continue
		}
		if lo != nil && bytes.Compare(ek[:12], lo) < 0 {
			break
		}
		var v []byte
		if checkActor || q.Action != "" {
			if v = events.Get(ek); v == nil {
				continue
			}
			h, _ := decodeEventHead(ek, v)
			if (checkActor && h.A != q.ActorID) || (q.Action != "" && h.Ac != q.Action) {
				continue
			}
		}
		onPage := l.inPage(1)
		l.page.Total++
		if !onPage {
			continue
		}
		if v == nil {
			if v = events.Get(ek); v == nil {
				continue // an index entry without its event: never written so
			}
		}
		l.page.Items = append(l.page.Items, readEvent(ek, v))
	}
}

// prefixEnd is the smallest key greater than every key starting with p (nil:
// none is).
func prefixEnd(p []byte) []byte { return appendPrefixEnd(nil, p) }

// appendPrefixEnd appends to dst the smallest key greater than every key
// starting with p, and returns it (nil when none is: p all 0xff).
func appendPrefixEnd(dst, p []byte) []byte {
	end := append(dst, p...)[len(dst):]
	for i := len(end) - 1; i >= 0; i-- {
		if end[i]++; end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// readEvent decodes a stored event. A record that cannot be decoded in full
// (written by a bug or an older version, or too deep to decode) comes back
// with what its head and key tell and Damaged set, so that one bad record
// never breaks reading the log.
func readEvent(k, v []byte) *schemas.Event {
	e, err := decodeEvent(k, v)
	if err == nil {
		return e
	}
	h, herr := decodeEventHead(k, v)
	if herr != nil || h.ID == "" {
		// Even the head is unreadable: the key holds the time and the id.
		h = eventRec{ID: string(k[12:]), T: keyTime(k)}
	}
	return &schemas.Event{ID: h.ID, Time: utc(h.T), ActorID: h.A, ActorType: h.AT, Action: h.Ac, TargetID: h.Tg,
		TargetType: h.TT, IP: h.IP, UserAgent: h.UA, Damaged: "the stored record could not be decoded: " + err.Error()}
}

// keyTime is the time of an event key (see eventKey).
func keyTime(k []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(k[8:]))).UTC()
}

// decodeEventHead reads the scalar fields of the event record v stored under
// the key k, without its changes. A binary record's head comes first; of a JSON record, a streaming read of the top-level keys that stops at "ch" (the last
// field), so that it neither pays for nor depends on the changes, however
// large or deep they are.
func decodeEventHead(k, v []byte) (eventRec, error) {
	if binaryEvent(v) {
		h, r := decodeEventRecordHead(k, v)
		return h, r.err
	}
	var h eventRec
	d := json.NewDecoder(bytes.NewReader(v))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return h, fmt.Errorf("not an object")
	}
	for d.More() {
		kt, err := d.Token()
		if err != nil {
			return h, err
		}
		key, _ := kt.(string)
		if key == "ch" {
			break
		}
		vt, err := d.Token()
		if err != nil {
			return h, err
		}
		s, ok := vt.(string)
		if !ok {
			return h, fmt.Errorf("field %q is not a string", key)
		}
		switch key {
		case "id":
			h.ID = s
		case "t":
			if h.T, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return h, err
			}
		case "a":
			h.A = s
		case "at":
			h.AT = s
		case "ac":
			h.Ac = s
		case "tg":
			h.Tg = s
		case "tt":
			h.TT = s
		case "ip":
			h.IP = s
		case "ua":
			h.UA = s
		}
	}
	return h, nil
}

// SigningKeys returns the token signing keys, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]*schemas.SigningKey, error) {
	if err := s.rlock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	ks := cloneKeys(s.keys)
	if ks == nil {
		ks = []*schemas.SigningKey{}
	}
	return ks, nil
}

// UpdateSigningKeys replaces the key set with what fn returns, under
// compare-and-swap: fn runs in the caller's goroutine and may run more than once.
func (s *Store) UpdateSigningKeys(ctx context.Context, fn func([]*schemas.SigningKey) ([]*schemas.SigningKey, error)) error {
	for {
		if err := s.rlock(); err != nil {
			return err
		}
		cur, ver := cloneKeys(s.keys), s.keysVer
		s.mu.RUnlock()
		next, err := fn(cur)
		if err != nil {
			return err
		}
		enc, stored, err := encodeKeys(next)
		if err != nil {
			return fmt.Errorf("embedded: update signing keys: encode: %w", err)
		}
		err = s.submit(func(b *batch) error {
			if b.keysOK || b.s.keysVer != ver {
				return errRetry
			}
			b.staged++
			b.keys, b.keysOK = stored, true
			return b.u.bucket(fbMeta).Put(keySigningKeys, enc)
		})
		if err == errRetry {
			continue
		}
		return err
	}
}

// PruneEvents deletes up to limit events older than before, oldest first,
// in one write transaction (see storage.Store): from the sealed blocks
// (pruneBlocks), then from the tail. A damaged block, which cannot be cut,
// is deleted whole even past the limit (the count may then exceed it).
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	hi := make([]byte, 12)
	timeKey(hi, before)
	n := 0
	err := s.submit(func(b *batch) error {
		var more bool
		var err error
		if n, more, err = b.pruneBlocks(hi, limit); err != nil || !more {
			return err
		}
		var keys [][]byte
		c := b.u.bucket(fbEvents).Cursor()
		for k, _ := c.First(); k != nil && n+len(keys) < limit && bytes.Compare(k[:12], hi) < 0; k, _ = c.Next() {
			keys = append(keys, slices.Clone(k))
		}
		for _, k := range keys {
			if h, err := decodeEventHead(k, b.u.bucket(fbEvents).Get(k)); err == nil {
				if err := indexEvent(&b.u.txBuckets, k, h.Tg, h.A, false); err != nil {
					return err
				}
			}
			if err := b.u.bucket(fbEvents).Delete(k); err != nil {
				return err
			}
			b.staged++
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("embedded: prune events: %w", err)
	}
	return n, nil
}
