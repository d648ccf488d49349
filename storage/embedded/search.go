package embedded

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/scimd/scimd/schemas"
)

// Substring search (co, sw, ew — and eq on the same attributes) on userName,
// every email and phone number value, name.givenName, name.familyName,
// displayName and externalId goes through a trigram index in the file:
//
//   - each user has a row, a dense number given at creation (userRows: id →
//     row; meta nextRow), so that posting lists are small integers;
//   - searchRecords (row → record) holds the user's id, those attributes,
//     status, created and lastModified — a few dozen bytes, enough to run the
//     evaluator on them without decoding the user;
//   - postings holds, for every three bytes of the folded (schemas.Fold)
//     values of those attributes, which rows contain them and in which
//     attributes: the key is the row's block (row / blockRows, 4 bytes
//     big-endian) then the trigram, the value the entries of the block sorted
//     by offset, 3 bytes each (the offset in the block, 2 bytes, and a mask of
//     the attributes holding the trigram, see attrBit). Block first, so that
//     the postings a new user adds (its row is in the last block) are adjacent
//     in the file, and a batch of creates writes a few pages of postings
//     instead of one page per trigram per user. Keys whose first byte is 0xff
//     (never a byte of a folded value, which is valid UTF-8) post other
//     exact facts: the user's status (statusKey).
//
// A search value of three bytes or more folded gives the rows holding all its
// trigrams in the compared attribute: a superset of the users it matches
// (folding maps a substring to a substring). The candidates are then checked
// with schemas.MatchUser — on the search record when the filter reads only
// attributes it holds, else on the decoded user — so the answer is always the
// evaluator's. A `co` whose value folds to exactly three bytes, on a
// case-insensitive attribute with a bit of its own, is answered by the
// postings alone (rowSet.exact): the rows are the matches, their number the
// total, and only the page is read. Shorter values, and other attributes,
// scan.
//
// Postings are not rewritten by every write. A user's trigrams are spread
// over the whole key range of its block, so one create, delete or rename
// rewrites most of the pages of its block's postings — at 2,000 users a
// create wrote ~19 pages, 8 of them postings. Instead a write records its
// row in pendingPosts: the postings the postings bucket holds for the row
// (as they were before the row became pending) and the row's current ones
// (none once deleted), one small key next to the other new rows'. Readers
// take every pending row's current postings instead of what the postings
// bucket says about the row (search.pending), so an answer is always that of
// the current postings. When a batch brings the pending rows to flushPending,
// it writes them all into the postings, each posting value once, and empties
// pendingPosts: the pages of a block's postings are rewritten once for
// flushPending writes instead of once per commit.
var (
	bucketUserRows      = []byte("userRows")      // id → 4-byte row
	bucketSearchRecords = []byte("searchRecords") // 4-byte row → search record
	bucketPostings      = []byte("postings")      // 4-byte block + trigram → entries
	bucketPending       = []byte("pendingPosts")  // 4-byte row → pending postings (see pendingValue)
	keyNextRow          = []byte("nextRow")       // 4-byte big-endian
	// bucketTrigrams held the postings without attribute masks (2-byte
	// entries) and search records without status and dates; rebuildSearch
	// replaces both and deletes it.
	bucketTrigrams = []byte("trigrams")
	// keySearchFormat (meta) is searchFormat once postings and the search
	// records are in the current layout; keySearchRebuiltTo is the first row
	// rebuildSearch has not rebuilt yet.
	keySearchFormat    = []byte("searchFormat")
	keySearchRebuiltTo = []byte("searchRebuiltTo")
)

// searchFormat is the layout of the search buckets (see keySearchFormat).
const searchFormat = "3"

// blockRows is the number of rows one posting value covers. Format 2 had
// 1,024: a search reads a key's posting in every block, and at a million
// users those ~1,000 reads (a B-tree descent each, ~1.2 µs) were most of a
// search's CPU; 4,096 makes them ~250, for posting values four times as
// long that a flush rewrites (see finishSearch).
const blockRows = 4096

// A posting key is a block number (4 bytes, big-endian) then a trigram (3
// bytes) or a fact (4 bytes starting with 0xff). In a user's image a key is
// a uint32 (postKey): a trigram's three bytes then 0, or a fact's four.
type postKey = uint32

// keyBytes returns the bytes of a key after the block.
func keyBytes(k postKey) string {
	b := []byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}
	if b[0] != 0xff {
		return string(b[:3])
	}
	return string(b)
}

// keyOf is the postKey of a key's bytes (a trigram or a fact).
func keyOf(s string) postKey {
	var b [4]byte
	copy(b[:], s)
	return binary.BigEndian.Uint32(b[:])
}

// The attribute bits of a posting entry: which of the user's indexed
// attributes hold the trigram.
const (
	bitUserName uint8 = 1 << iota
	bitExternalID
	bitDisplayName
	bitGivenName
	bitFamilyName
	bitEmails // any email value
	bitPhones // any phone number value
	bitFact   // a 0xff key's entry
)

// attrBit is the posting bit of each searchable canonical path. The
// primary email and phone share the bit of every email and phone, so their
// postings are a superset; the others have a bit of their own (exactBit).
var (
	attrBit = map[string]uint8{
		"userName": bitUserName, "externalId": bitExternalID, "displayName": bitDisplayName,
		"name.givenName": bitGivenName, "name.familyName": bitFamilyName,
		"emails.value": bitEmails, "primaryEmail": bitEmails, "phoneNumbers.value": bitPhones, "primaryPhone": bitPhones,
	}
	exactBit = map[string]bool{
		"userName": true, "externalId": true, "displayName": true, "name.givenName": true, "name.familyName": true,
		"emails.value": true, "phoneNumbers.value": true,
	}
)

// statusCodes are the posted statuses (folded); any other non-empty status
// is posted as statusOther.
var statusCodes = map[string]byte{
	schemas.Fold(schemas.StatusPending): 1, schemas.Fold(schemas.StatusActive): 2, schemas.Fold(schemas.StatusDisabled): 3,
}

const statusOther = 0

// statusKeys are the posting keys of the status codes, by code.
var statusKeys = [...]string{"\xff\xff\x00\xfe", "\xff\xff\x01\xfe", "\xff\xff\x02\xfe", "\xff\xff\x03\xfe"}

// statusKey is the posting key of a status (the status folded into a stack
// buffer and the key taken from statusKeys: a write's postings allocate no
// string for it).
func statusKey(status string) string {
	var buf [32]byte
	code, ok := statusCodes[string(schemas.AppendFold(buf[:0], status))]
	if !ok {
		code = statusOther
	}
	return statusKeys[code]
}

// prefixKey is the posting key of a prefix (one to three bytes) of a folded
// value: the rows of the users with a value starting with it. Shorter
// prefixes are padded with 0xfe, which no UTF-8 text holds.
func prefixKey[S string | []byte](p S) string {
	k := []byte{0xff, 0xfe, 0xfe, 0xfe}
	copy(k[1:], p)
	return string(k)
}

// searchKeys returns the posting keys whose rows (those with all of them in
// the compared attribute) are a superset of the users `attr op value`
// matches, or none when the index cannot narrow the comparison: co and ew
// need three folded bytes (the trigrams), sw and eq one (the prefix of up
// to three bytes, and the trigrams beyond). exact reports that on a
// case-insensitive attribute with a bit of its own the rows are exactly the
// matches: a co of three folded bytes, a sw of one to three.
func searchKeys(op schemas.Op, value string) (keys []string, exact bool) {
	f := schemas.Fold(value)
	trigrams := func() {
		for i := 0; i+3 <= len(f); i++ {
			if t := f[i : i+3]; !slices.Contains(keys, t) {
				keys = append(keys, t)
			}
		}
	}
	switch op {
	case schemas.OpCo, schemas.OpEw:
		if len(f) < 3 {
			return nil, false
		}
		trigrams()
		return keys, op == schemas.OpCo && len(f) == 3
	case schemas.OpSw, schemas.OpEq:
		if f == "" {
			return nil, false
		}
		keys = append(keys, prefixKey(f[:min(3, len(f))]))
		if len(f) > 3 {
			trigrams()
		}
		return keys, op == schemas.OpSw && len(f) <= 3
	}
	return nil, false
}

// recordFields is a set of the parts of a search record (see
// viewSearchFields).
type recordFields uint16

const (
	rfID recordFields = 1 << iota
	rfUserName
	rfExternalID
	rfDisplayName
	rfGivenName
	rfFamilyName
	rfEmails // values and primary flags
	rfPhones // values and primary flags
	rfStatus
	rfTimes // created and lastModified
	rfAll   = 1<<iota - 1
)

// coveredCanonical are the canonical paths a search record holds, so that
// the evaluator gives the same answer on it as on the user, and the part of
// the record each one reads.
var coveredCanonical = map[string]recordFields{
	"id": rfID, "userName": rfUserName, "externalId": rfExternalID, "displayName": rfDisplayName,
	"name.givenName": rfGivenName, "name.familyName": rfFamilyName,
	"emails.value": rfEmails, "phoneNumbers.value": rfPhones, "primaryEmail": rfEmails, "primaryPhone": rfPhones,
	"status": rfStatus, "active": rfStatus, "created": rfTimes, "updated": rfTimes,
}

// postingsOf returns the posting keys of u (its trigrams and facts) with
// their attribute masks, as key<<8 | mask, ascending.
func postingsOf(u *schemas.User) []uint64 {
	if u == nil {
		return nil
	}
	// Every (key, bit) pair, then sorted and merged by key, in one array: a
	// folded value of n bytes has at most n+1 trigrams and prefixes (folding
	// rarely changes the length).
	return mergePairs(appendPairs(make([]uint64, 0, pairsSize(u, allBits)), u, allBits))
}

// allBits are the bits of every attribute the postings hold.
const allBits = bitUserName | bitExternalID | bitDisplayName | bitGivenName | bitFamilyName | bitEmails | bitPhones | bitFact

// pairsSize is about the number of pairs appendPairs appends for attrs.
func pairsSize(u *schemas.User, attrs uint8) int {
	size := 6
	for _, a := range [...]struct {
		bit uint8
		v   string
	}{{bitUserName, u.UserName}, {bitExternalID, u.ExternalID}, {bitDisplayName, u.DisplayName}, {bitGivenName, u.Name.GivenName}, {bitFamilyName, u.Name.FamilyName}} {
		if attrs&a.bit != 0 {
			size += len(a.v)
		}
	}
	if attrs&bitEmails != 0 {
		for _, e := range u.Emails {
			size += len(e.Value) + 1
		}
	}
	if attrs&bitPhones != 0 {
		for _, p := range u.PhoneNumbers {
			size += len(p.Value) + 1
		}
	}
	return size
}

// appendPairs appends to out the (key, bit) pairs of u's attributes whose
// bits are in attrs (bitFact: its status), as key<<8 | bit, unsorted.
func appendPairs(out []uint64, u *schemas.User, attrs uint8) []uint64 {
	var buf [64]byte // each value folded into it (most are shorter), not into a new string
	add := func(v string, bit uint8) {
		if attrs&bit != 0 {
			out = appendValuePairs(out, &buf, v, bit)
		}
	}
	add(u.UserName, bitUserName)
	add(u.ExternalID, bitExternalID)
	add(u.DisplayName, bitDisplayName)
	add(u.Name.GivenName, bitGivenName)
	add(u.Name.FamilyName, bitFamilyName)
	for _, e := range u.Emails {
		add(e.Value, bitEmails)
	}
	for _, p := range u.PhoneNumbers {
		add(p.Value, bitPhones)
	}
	if u.Status != "" && attrs&bitFact != 0 {
		out = append(out, uint64(keyOf(statusKey(u.Status)))<<8|uint64(bitFact))
	}
	return out
}

// appendValuePairs appends to out the (key, bit) pairs of one value of the
// attribute of bit: its trigrams and prefixes, folded (into buf when they
// fit), as key<<8 | bit, unsorted.
func appendValuePairs(out []uint64, buf *[64]byte, v string, bit uint8) []uint64 {
	f := schemas.AppendFold(buf[:0], v)
	for i := 0; i+3 <= len(f); i++ {
		out = append(out, uint64(uint32(f[i])<<24|uint32(f[i+1])<<16|uint32(f[i+2])<<8)<<8|uint64(bit))
	}
	for n := 1; n <= 3 && n <= len(f); n++ {
		out = append(out, uint64(keyOf(prefixKey(f[:n])))<<8|uint64(bit))
	}
	return out
}

// mergePairs sorts pairs by key and merges those of one key (their bits
// or'ed), in place.
func mergePairs(pairs []uint64) []uint64 {
	slices.Sort(pairs)
	n := 0
	for _, p := range pairs {
		if n > 0 && pairs[n-1]>>8 == p>>8 {
			pairs[n-1] |= p & 0xff
			continue
		}
		pairs[n] = p
		n++
	}
	return pairs[:n]
}

// postingsAfter returns the postings of nu, a changed copy of the user
// whose postings are old, where only the attributes of the bits changed
// differ: old without the bits changed, merged with the pairs of nu's
// changed attributes alone — what postingsOf(nu) returns, without the
// trigrams and the sort of the attributes that stayed (an update changes
// one or two: a PUT's displayName and status, an Entra PATCH's email).
func postingsAfter(old []uint64, changed uint8, nu *schemas.User) []uint64 {
	var buf [64]uint64 // the changed attributes' pairs (most updates: fewer)
	added := mergePairs(appendPairs(buf[:0], nu, changed))
	out := make([]uint64, 0, len(old)+len(added))
	i := 0
	for _, p := range old {
		m := uint8(p) &^ changed
		for ; i < len(added) && added[i]>>8 < p>>8; i++ {
			out = append(out, added[i])
		}
		if i < len(added) && added[i]>>8 == p>>8 {
			m |= uint8(added[i])
			i++
		}
		if m != 0 {
			out = append(out, p>>8<<8|uint64(m))
		}
	}
	return append(out, added[i:]...)
}

// changedPostings returns the posting bits of the attributes whose values
// differ between the search records a and b (the status: bitFact); all
// bits when either is damaged.
func changedPostings(a, b []byte) uint8 {
	ra, rb := &rbuf{b: a}, &rbuf{b: b}
	ra.view() // the ids
	rb.view()
	var changed uint8
	for _, bit := range [...]uint8{bitUserName, bitExternalID, bitDisplayName, bitGivenName, bitFamilyName} {
		if ra.view() != rb.view() {
			changed |= bit
		}
	}
	for _, bit := range [...]uint8{bitEmails, bitPhones} { // each list as a whole
		sa, sb := ra.b, rb.b
		for n := ra.count(2); n > 0; n-- {
			ra.view()
			ra.bool()
		}
		for n := rb.count(2); n > 0; n-- {
			rb.view()
			rb.bool()
		}
		if string(sa[:len(sa)-len(ra.b)]) != string(sb[:len(sb)-len(rb.b)]) {
			changed |= bit
		}
	}
	if ra.view() != rb.view() {
		changed |= bitFact
	}
	if ra.err != nil || rb.err != nil {
		return allBits
	}
	return changed
}

// encodeSearchRecord is the search record of u: its id, indexed values
// (with the primary flags of emails and phone numbers), status, created and
// lastModified.
func encodeSearchRecord(u *schemas.User) []byte {
	rec, _ := encodeSearchRecordN(u)
	return rec
}

// encodeSearchRecordN is encodeSearchRecord, with the length of the record
// before its times: the id and the values u's postings are made of.
func encodeSearchRecordN(u *schemas.User) (rec []byte, values int) {
	return appendSearchRecordN(make([]byte, 0, 128), u)
}

// appendSearchRecordN is encodeSearchRecordN appending the record to dst.
func appendSearchRecordN(dst []byte, u *schemas.User) (rec []byte, values int) {
	w := &wbuf{b: dst}
	for _, s := range []string{u.ID, u.UserName, u.ExternalID, u.DisplayName, u.Name.GivenName, u.Name.FamilyName} {
		w.str(s)
	}
	w.uint(uint64(len(u.Emails)))
	for _, e := range u.Emails {
		w.str(e.Value)
		w.bool(e.Primary)
	}
	w.uint(uint64(len(u.PhoneNumbers)))
	for _, p := range u.PhoneNumbers {
		w.str(p.Value)
		w.bool(p.Primary)
	}
	w.str(u.Status)
	values = len(w.b)
	w.time(u.Created)
	w.time(u.Updated)
	return w.b, values
}

// viewSearchRecord decodes a search record into u without copying: u's
// strings point into v (bbolt's memory map), so u must not outlive the
// transaction nor be kept; its slices are reused from call to call. It sets
// only the fields a record holds: u is a zero User or one only ever filled
// by viewSearchRecord (assigning a whole User would move every pointer of
// the struct through the GC's write barrier, half the cost of a candidate's
// check while the collector runs).
func viewSearchRecord(v []byte, u *schemas.User) error { return viewSearchFields(v, u, rfAll) }

// viewSearchFields is viewSearchRecord setting only the parts of the record
// in fields, the others skipped and left in u as they were: a check on the
// fields its filter reads (filterFields) stores one string or two into u
// instead of a dozen pointers.
func viewSearchFields(v []byte, u *schemas.User, fields recordFields) error {
	r := &rbuf{b: v}
	str := func(dst *string, f recordFields) {
		if s := r.view(); fields&f != 0 {
			*dst = s
		}
	}
	str(&u.ID, rfID)
	str(&u.UserName, rfUserName)
	str(&u.ExternalID, rfExternalID)
	str(&u.DisplayName, rfDisplayName)
	str(&u.Name.GivenName, rfGivenName)
	str(&u.Name.FamilyName, rfFamilyName)
	if fields&rfEmails != 0 {
		emails := u.Emails[:0]
		for n := r.count(2); n > 0; n-- {
			emails = append(emails, schemas.Email{Value: r.view(), Primary: r.bool()})
		}
		u.Emails = nil
		if len(emails) > 0 {
			u.Emails = emails
		}
	} else {
		for n := r.count(2); n > 0; n-- {
			r.view()
			r.bool()
		}
	}
	if fields&rfPhones != 0 {
		phones := u.PhoneNumbers[:0]
		for n := r.count(2); n > 0; n-- {
			phones = append(phones, schemas.PhoneNumber{Value: r.view(), Primary: r.bool()})
		}
		u.PhoneNumbers = nil
		if len(phones) > 0 {
			u.PhoneNumbers = phones
		}
	} else {
		for n := r.count(2); n > 0; n-- {
			r.view()
			r.bool()
		}
	}
	str(&u.Status, rfStatus)
	if fields&rfTimes != 0 {
		u.Created, u.Updated = r.time(), r.time()
	}
	if r.err != nil {
		return fmt.Errorf("search record: %w", r.err)
	}
	return nil
}

// searchRecordID returns the id a search record starts with, without copying.
func searchRecordID(v []byte) string {
	r := &rbuf{b: v}
	return r.view()
}

func encodeRow(row uint32) []byte { return binary.BigEndian.AppendUint32(nil, row) }

// scratchRow is encodeRow in bk's scratch (txBuckets.scratch), for a key
// or value given to one Put or Delete of bk: no allocation in the writer.
func scratchRow(bk *kvBucket, row uint32) []byte {
	return binary.BigEndian.AppendUint32(bk.scratch(4), row)
}

// rowKey is encodeRow in an array, for the key of a Get (the array stays on
// the stack; a key given to Put or Delete escapes): every user write looks
// its row up in pendingPosts, and each encodeRow was an allocation.
func rowKey(row uint32) (k [4]byte) {
	binary.BigEndian.PutUint32(k[:], row)
	return k
}

// search gives access to the search buckets of one transaction.
type search struct {
	*txBuckets

	// pendRows are the pending rows (sorted) and pendCur their current
	// postings (packed, see pendingValue), read once per transaction by
	// loadPending; they point into the memory map.
	pendLoaded bool
	pendRows   []uint32
	pendCur    [][]byte

	// postCur and postKey serve postValue: one cursor for every posting a
	// search reads (bbolt's Bucket.Get makes a cursor each time).
	postCur *kvCursor
	postKey []byte

	// maps are the store's block maps (blockmaps.go), nil in the writer's
	// transaction and a migration's; posts is the store's posting cache as
	// the transaction may use it (postcache.go), empty in those.
	maps  *blockMaps
	posts cacheView
	// fills are the values read from the file where posts had none, for
	// the cache to keep when the transaction ends (postCache.install).
	fills []postFill
	// reads counts the postings read (postValue), and cacheHits those of
	// them the posting cache gave, for the tests.
	reads, cacheHits int
}

// cachedPostValue is postValue when the posting cache holds the value (ok),
// and reads nothing otherwise: a lookup in memory, where a read of the
// file is a descent of its B+tree.
func (s *search) cachedPostValue(block uint32, key string) (v []byte, ok bool) {
	if flush, cache := s.posts.lastFlush(block); cache {
		if v, ok = s.posts.get(keyOf(key), block, flush); ok {
			s.reads++
			s.cacheHits++
		}
	}
	return v, ok
}

// postValue returns the posting value of key (a trigram, a prefix or a
// fact) in block, nil when the block has none: the posting cache's copy,
// else the file's, which it records for the cache (fills) under the
// block's last flush. That it looks the flush up after the read changes
// nothing: a flush the transaction sees was recorded before it began, and
// one it does not see keeps the value out of the cache.
func (s *search) postValue(block uint32, key string) []byte {
	if v, ok := s.cachedPostValue(block, key); ok {
		return v
	}
	s.reads++
	if s.postCur == nil {
		s.postCur = s.post().Cursor()
	}
	s.postKey = append(binary.BigEndian.AppendUint32(s.postKey[:0], block), key...)
	at, v := s.postCur.Seek(s.postKey)
	if !bytes.Equal(at, s.postKey) {
		v = nil
	}
	if flush, cache := s.posts.lastFlush(block); cache {
		s.fills = append(s.fills, postFill{keyOf(key), block, flush, v})
	}
	return v
}

func (s *search) rows() *kvBucket { return s.bucket(fbUserRows) }
func (s *search) recs() *kvBucket { return s.bucket(fbSearchRecords) }
func (s *search) post() *kvBucket { return s.bucket(fbPostings) }
func (s *search) pend() *kvBucket { return s.bucket(fbPending) }
func (s *search) meta() *kvBucket { return s.bucket(fbMeta) }

// flushPending is the number of pending rows at which a batch writes them
// into the postings (see the package's search comment). Readers check every
// pending row, so it bounds what a search pays for them; a flush rewrites
// the posting values of the rows' blocks, which blocks of 4,096 rows make
// four times as long as 1,024 did — 128 instead of 64 keeps the pages a
// create or delete writes where they were (BenchmarkWrites8). A variable
// for the tests.
var flushPending = 128

// A pending value is the number of the row's posted postings (uvarint),
// then the posted postings, then the current ones, each a posting key (4
// bytes, big-endian) and its mask, ascending by key.
const packedSize = 5

func appendPacked(dst []byte, posts []uint64) []byte {
	for _, p := range posts {
		dst = append(binary.BigEndian.AppendUint32(dst, uint32(p>>8)), uint8(p))
	}
	return dst
}

func pendingValue(posted, current []uint64) []byte {
	v := binary.AppendUvarint(make([]byte, 0, 2+packedSize*(len(posted)+len(current))), uint64(len(posted)))
	return appendPacked(appendPacked(v, posted), current)
}

// splitPending returns the packed posted and current postings of a pending value.
func splitPending(v []byte) (posted, current []byte, err error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || (len(v)-k)%packedSize != 0 || n > uint64(len(v)-k)/packedSize {
		return nil, nil, fmt.Errorf("embedded: damaged pending postings (%d bytes)", len(v))
	}
	v = v[k:]
	return v[:n*packedSize], v[n*packedSize:], nil
}

func unpack(packed []byte) []uint64 {
	out := make([]uint64, 0, len(packed)/packedSize)
	for i := 0; i+packedSize <= len(packed); i += packedSize {
		out = append(out, uint64(binary.BigEndian.Uint32(packed[i:]))<<8|uint64(packed[i+4]))
	}
	return out
}

// packedMask returns the mask of key k in packed postings (0: not posted).
func packedMask(packed []byte, k postKey) uint8 {
	lo, hi := 0, len(packed)/packedSize
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := binary.BigEndian.Uint32(packed[m*packedSize:]); {
		case c < k:
			lo = m + 1
		case c > k:
			hi = m
		default:
			return packed[m*packedSize+4]
		}
	}
	return 0
}

// loadPending reads the pending rows once. A row whose value is damaged
// (which the writer never stores) matches no search until the next flush
// fails on it.
func (s *search) loadPending() {
	if s.pendLoaded {
		return
	}
	s.pendLoaded = true
	pend := s.pend()
	if pend == nil {
		return
	}
	c := pend.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		_, cur, _ := splitPending(v)
		s.pendRows = append(s.pendRows, decodeRow(k))
		s.pendCur = append(s.pendCur, cur)
	}
}

// pendingMatches returns the pending rows whose current postings hold every
// key of keys with a bit of mask, and those of them whose masks hold a bit
// of sure for every key.
func (s *search) pendingMatches(keys []string, mask, sure uint8) (rows, sureRows []uint32) {
	for i, row := range s.pendRows {
		all, allSure := true, sure != 0
		for _, k := range keys {
			m := packedMask(s.pendCur[i], keyOf(k))
			if m&mask == 0 {
				all = false
				break
			}
			allSure = allSure && m&sure != 0
		}
		if all {
			rows = append(rows, row)
			if allSure {
				sureRows = append(sureRows, row)
			}
		}
	}
	return rows, sureRows
}

// isPending reports whether row is pending.
func (s *search) isPending(row uint32) bool {
	_, ok := slices.BinarySearch(s.pendRows, row)
	return ok
}

// blocks is the number of posting blocks in use.
func (s *search) blocks() uint32 {
	return (decodeRow(s.meta().Get(keyNextRow)) + blockRows - 1) / blockRows
}

// candidates returns the rows (sorted) that hold every posting key of keys
// (see searchKeys) with a bit of mask — or a superset of them: each block
// is intersected on its own, in the order that narrows fastest on a sample
// of blocks (a key held by half the sampled blocks or fewer first), and a
// block a key's map (blockMaps) excludes is not read at all; where the
// first key is is learnt as its map. When a block has two candidates or
// fewer left, the rest of its keys are read only from the posting cache
// (postcache.go): checking the candidates costs about what reading a
// posting from the file does, but far more than taking a cached one.
// Keys that do not narrow the sample's candidates, when it has many, are
// not read ("ada.lovelace." sw reads the prefix and a few trigrams, not all
// twelve keys); nor, in the next blocks, is a last key that has removed
// almost no candidates in the blocks that read it so far (a sample with few
// candidates — users just created in the last block — says little). A
// single key is never skipped. With every set, no key is skipped anywhere:
// the rows are exactly those holding every key with a bit of mask.
func (s *search) candidates(keys []string, mask uint8, every bool) (rows []uint32) {
	if len(keys) == 1 {
		rows, _ = s.keyRows(keys[0], mask, 0)
		return rows
	}
	s.loadPending()
	rows = s.postedCandidates(keys, mask, every)
	if len(s.pendRows) == 0 {
		return rows
	}
	rows = slices.DeleteFunc(rows, s.isPending)
	pending, _ := s.pendingMatches(keys, mask, 0)
	return unionRows(rows, pending)
}

// learnReads is the number of blocks that read a key before candidates
// may stop reading it; trustSample is the number of candidates the sample
// must have for the keys that do not narrow them to be dropped at once.
// Variables for the tests.
var learnReads, trustSample = 16, 16

// candBufs are postedCandidates' arrays, kept from search to search
// (candPool): every key's sample rows, and the offsets of a block's
// candidates (two arrays, swapped as each key narrows them). Allocated
// anew, the offsets were half of the bytes a search of a unique phone
// number allocated (a sample's key held by 2,000 rows of one block).
type candBufs struct {
	sample     []uint32
	offs, next []uint16
}

var candPool = sync.Pool{New: func() any { return new(candBufs) }}

// postedCandidates is candidates on the postings bucket alone (pending rows
// included as it holds them).
func (s *search) postedCandidates(keys []string, mask uint8, every bool) (rows []uint32) {
	tris := slices.Clone(keys)
	blocks := s.blocks()
	if blocks == 0 {
		return nil
	}
	// The keys' block maps, where they have one: a block one of them is
	// absent from holds no candidate.
	var maps []*blockMap
	for _, t := range tris {
		if m := s.maps.of(keyOf(t), s.ov.high); m != nil {
			maps = append(maps, m)
		}
	}
	excluded := func(block uint32) bool {
		return slices.ContainsFunc(maps, func(m *blockMap) bool { return !m.may(block) })
	}
	// The order: greedily the key that leaves the fewest candidates in a
	// sample of the directory (a few blocks: the last full ones and two in
	// the middle — of the blocks no map excludes, when a key has one),
	// starting with the rarest — keys that only narrow together (a family
	// name's trigrams and a given name's) come early, and most blocks end
	// after a few reads.
	n, at := blocks, func(i uint32) uint32 { return i } // the blocks to sample from, the i-th of them
	if len(maps) > 0 {
		var open []uint32
		for b := range blocks {
			if !excluded(b) {
				open = append(open, b)
			}
		}
		n, at = uint32(len(open)), func(i uint32) uint32 { return open[i] }
	}
	var sampled []uint32
	for _, i := range []uint32{n - 1, n - 2, n / 2, n / 3} {
		if i < n && !slices.Contains(sampled, at(i)) {
			sampled = append(sampled, at(i))
		}
	}
	slices.Sort(sampled)
	// The sample's posting values first (views of the transaction), so that
	// every key's rows go into one array of their total size: a suffix
	// every user holds ("@example.com") has ten keys of 16,000 sample rows
	// each, whose growing array was a third of such a search's CPU.
	vals := make([][]byte, 0, len(tris)*len(sampled))
	size := 0
	for _, t := range tris {
		for _, b := range sampled {
			v := s.postValue(b, t)
			vals = append(vals, v)
			size += len(v) / entrySize
		}
	}
	buf := candPool.Get().(*candBufs)
	all := slices.Grow(buf.sample[:0], size) // every key's sample rows, one after the other
	offs, next := buf.offs[:0], buf.next[:0]
	defer func() {
		buf.sample, buf.offs, buf.next = all[:0], offs[:0], next[:0]
		candPool.Put(buf)
	}()
	sample := make(map[string][]uint32, len(tris))
	few := make(map[string]bool, len(tris)) // held by half the sampled blocks or fewer
	for i, t := range tris {
		start, held := len(all), 0
		for j, b := range sampled {
			offs = appendMasked(offs[:0], vals[i*len(sampled)+j], mask)
			for _, o := range offs {
				all = append(all, b*blockRows+uint32(o))
			}
			if len(offs) > 0 {
				held++
			}
		}
		sample[t], few[t] = all[start:len(all):len(all)], 2*held <= len(sampled)
	}
	// A key few blocks hold goes first, however many rows it has in them:
	// each block it is absent from ends after one read (two, with a key
	// every block holds first), and it is the key whose map is learnt (the
	// first is read in every block), which spares the next searches those
	// blocks altogether. The fresh users of a load test, whose phone
	// numbers share a prefix no other user has ("+9…", 2,000 rows in the
	// last block), made the rarest key of the sample a digit trigram every
	// block holds.
	slices.SortStableFunc(tris, func(a, b string) int {
		if few[a] != few[b] {
			if few[a] {
				return -1
			}
			return 1
		}
		return len(sample[a]) - len(sample[b])
	})
	cur := sample[tris[0]]
	var common []uint32 // scratch: the intersections only counted
	for i := 1; i < len(tris) && len(cur) > 0; i++ {
		best, bestN := i, -1
		for j := i; j < len(tris); j++ {
			common = intersectRows(common[:0], cur, sample[tris[j]])
			if n := len(common); bestN < 0 || n < bestN {
				best, bestN = j, n
			}
		}
		if bestN == len(cur) && bestN >= trustSample && !every {
			// No key left narrows the sample's many candidates: reading
			// them in every block would cost more than checking the few
			// candidates they might remove elsewhere.
			tris = tris[:i]
			break
		}
		tris[i], tris[best] = tris[best], tris[i]
		cur = intersectRows(nil, cur, sample[tris[i]])
	}
	// reads and removed count, for each key, the blocks that read it and
	// the candidates it removed there; once a last key has been read in
	// learnReads blocks, it is dropped if it removed fewer than two
	// candidates for three reads (a read costs about what checking one
	// and a half candidates does).
	reads, removed := make([]int, len(tris)), make([]int, len(tris))
	// The first key is read in every block no map excludes: where it is
	// is learnt (a block skipped counts as holding it), unless it has a map.
	_, seen := s.mapOf(tris[0], blocks)
	for block := range blocks {
		offs = offs[:0]
		if excluded(block) {
			markBlock(seen, block)
			continue
		}
		for i, t := range tris {
			var v []byte
			if i > 0 && len(offs) <= 2 && !every {
				// Two candidates or fewer: checking them costs about what
				// one more read of the file does, but far more than a
				// value the posting cache holds (a phone number's digit
				// trigrams: ~250 candidates a search were left to check).
				var cached bool
				if v, cached = s.cachedPostValue(block, t); !cached {
					break
				}
			} else {
				v = s.postValue(block, t)
			}
			if i == 0 {
				if v != nil {
					markBlock(seen, block)
				}
				offs = appendMasked(offs, v, mask)
			} else {
				next = intersectMasked(next[:0], offs, v, mask)
				reads[i]++
				removed[i] += len(offs) - len(next)
				offs, next = next, offs
			}
			if len(offs) == 0 {
				break
			}
		}
		for n := len(tris) - 1; n > 0 && !every && reads[n] >= learnReads && 3*removed[n] < 2*reads[n]; n-- {
			tris = tris[:n]
		}
		for _, o := range offs {
			rows = append(rows, block*blockRows+uint32(o))
		}
	}
	if seen != nil {
		s.maps.learn(keyOf(tris[0]), seen, blocks, s.ov.high)
	}
	return rows
}

// keyRows returns the rows (sorted) posted under one key with a bit of
// mask, and those of them with a bit of sure, reading the blocks its map
// does not exclude (and learning the map when it has none). When every entry with a bit
// of mask has one of sure, the two are the same slice. The pending rows'
// matches are merged in as the entries are read (never a copy of the rows).
func (s *search) keyRows(key string, mask, sure uint8) (rows, sureRows []uint32) {
	s.loadPending()
	allSure := sure&mask == mask
	var pr, ps []uint32 // the pending rows' matches not merged yet
	if len(s.pendRows) > 0 {
		pr, ps = s.pendingMatches([]string{key}, mask, sure)
	}
	blocks := s.blocks()
	m, seen := s.mapOf(key, blocks)
	p := 0 // the first pending row not before the entry
	for block := range blocks {
		if m != nil && !m.may(block) {
			continue
		}
		v := s.postValue(block, key)
		if v != nil {
			markBlock(seen, block)
		}
		if n := len(rows) + len(v)/entrySize; n > cap(rows) {
			// Room for what the blocks read so far predict for all of
			// them: one allocation instead of a doubling every few blocks.
			rows = slices.Grow(rows, int(uint64(n)*uint64(blocks)/uint64(block+1))-len(rows))
		}
		for i := 0; i+entrySize <= len(v); i += entrySize {
			if m := v[i+2]; m&mask != 0 {
				row := block*blockRows + uint32(binary.BigEndian.Uint16(v[i:]))
				for p < len(s.pendRows) && s.pendRows[p] < row {
					p++
				}
				if p < len(s.pendRows) && s.pendRows[p] == row {
					continue // its current postings are pending
				}
				for len(pr) > 0 && pr[0] < row {
					rows, pr = append(rows, pr[0]), pr[1:]
				}
				rows = append(rows, row)
				if !allSure {
					for len(ps) > 0 && ps[0] < row {
						sureRows, ps = append(sureRows, ps[0]), ps[1:]
					}
					if m&sure != 0 {
						sureRows = append(sureRows, row)
					}
				}
			}
		}
	}
	rows = append(rows, pr...)
	if seen != nil {
		s.maps.learn(keyOf(key), seen, blocks, s.ov.high)
	}
	if allSure {
		return rows, rows
	}
	return rows, append(sureRows, ps...)
}

// mapOf returns the block map of key, or, when it has none, the words to
// learn it in (see blockMaps.learn: a bit for each of blocks that holds
// it), or neither (no maps: the writer's transaction).
func (s *search) mapOf(key string, blocks uint32) (m *blockMap, learn []uint64) {
	if s.maps == nil {
		return nil, nil
	}
	if m = s.maps.of(keyOf(key), s.ov.high); m != nil {
		return m, nil
	}
	return nil, make([]uint64, (blocks+63)/64)
}

// markBlock sets block's bit in words, the blocks a key was found in, when
// it is being learnt (words not nil: see mapOf).
func markBlock(words []uint64, block uint32) {
	if words != nil {
		words[block/64] |= 1 << (block % 64)
	}
}

// factRows returns the rows posted under a 0xff key, sorted.
func (s *search) factRows(key string) []uint32 {
	rows, _ := s.keyRows(key, 0xff, 0)
	return rows
}

// filterFact returns the rows of rows (sorted) posted under a 0xff key,
// reading the key's posting only in the blocks rows touch (a pending row's
// current postings instead, see loadPending).
func (s *search) filterFact(rows []uint32, key string) []uint32 {
	s.loadPending()
	k := keyOf(key)
	var out []uint32
	for i := 0; i < len(rows); {
		block := rows[i] / blockRows
		v := s.postValue(block, key)
		e := 0
		for ; i < len(rows) && rows[i]/blockRows == block; i++ {
			if p, ok := slices.BinarySearch(s.pendRows, rows[i]); ok {
				if packedMask(s.pendCur[p], k) != 0 {
					out = append(out, rows[i])
				}
				continue
			}
			off := uint16(rows[i] % blockRows)
			for e+entrySize <= len(v) && binary.BigEndian.Uint16(v[e:]) < off {
				e += entrySize
			}
			if e+entrySize <= len(v) && binary.BigEndian.Uint16(v[e:]) == off {
				out = append(out, rows[i])
			}
		}
	}
	return out
}

// A posting value is a sorted list of entries of entrySize bytes: the
// offset (2 bytes, big-endian) and the attribute mask.
const entrySize = 3

// appendMasked appends the offsets of the entries of v that have a bit of mask.
func appendMasked(dst []uint16, v []byte, mask uint8) []uint16 {
	for i := 0; i+entrySize <= len(v); i += entrySize {
		if v[i+2]&mask != 0 {
			dst = append(dst, binary.BigEndian.Uint16(v[i:]))
		}
	}
	return dst
}

// intersectMasked appends to dst the offsets of offs (sorted) that v holds
// with a bit of mask. When offs is much the shorter, each of its offsets is
// bisected for in v (from where the last one was found) instead of stepping
// through v's entries: a block's last few candidates against a trigram
// every user there holds cost their logarithms, not its 4,096 entries.
func intersectMasked(dst, offs []uint16, v []byte, mask uint8) []uint16 {
	if n := len(v) / entrySize; len(offs)*gallopRatio < n {
		lo := 0
		for _, x := range offs {
			hi := n // the first entry not below x is in [lo, hi]
			for lo < hi {
				if m := int(uint(lo+hi) >> 1); binary.BigEndian.Uint16(v[m*entrySize:]) < x {
					lo = m + 1
				} else {
					hi = m
				}
			}
			if lo == n {
				break
			}
			if e := v[lo*entrySize:]; binary.BigEndian.Uint16(e) == x && e[2]&mask != 0 {
				dst = append(dst, x)
			}
		}
		return dst
	}
	i, j := 0, 0
	for i < len(offs) && j+entrySize <= len(v) {
		o := binary.BigEndian.Uint16(v[j:])
		switch {
		case offs[i] < o:
			i++
		case offs[i] > o:
			j += entrySize
		default:
			if v[j+2]&mask != 0 {
				dst = append(dst, o)
			}
			i, j = i+1, j+entrySize
		}
	}
	return dst
}

// intersectRows appends the rows in both sorted lists to out. When one
// list is much the shorter, each of its rows is searched for in the other
// (galloping from where the last one was found) instead of stepping through
// the longer one: a rare trigram's rows against a common one's cost their
// own number's logarithms, not the common one's length.
func intersectRows(out, a, b []uint32) []uint32 {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a)*gallopRatio < len(b) {
		j := 0
		for _, x := range a {
			if j += gallop(b[j:], x); j == len(b) {
				break
			}
			if b[j] == x {
				out = append(out, x)
				j++
			}
		}
		return out
	}
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// gallopRatio is how many times longer than the other a list must be for
// intersectRows to search it rather than step through it.
const gallopRatio = 16

// gallop returns the index of the first row of the sorted s not below x
// (len(s): none), probing 1, 2, 4, … rows ahead and then bisecting.
func gallop(s []uint32, x uint32) int {
	if len(s) == 0 || s[0] >= x {
		return 0
	}
	lo, hi := 0, 1 // s[lo] < x
	for hi < len(s) && s[hi] < x {
		lo, hi = hi, 2*hi
	}
	hi = min(hi, len(s))
	for lo+1 < hi { // s[lo] < x, and s[hi] >= x or hi == len(s)
		m := int(uint(lo+hi) >> 1)
		if s[m] < x {
			lo = m
		} else {
			hi = m
		}
	}
	return hi
}

// unionRows returns the rows in either sorted list, sorted, each once:
// one of them when the other is empty (row sets are never changed in
// place).
func unionRows(a, b []uint32) []uint32 {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	out := make([]uint32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// finishSearch writes the postings of pending rows as postOps: each sets
// the entry of one row in one posting value to a mask (0: removes it). Its
// position packs block (20 bits) | key (32 bits) | offset (12 bits), which
// sorts by posting key, then offset. A row's ops are the difference between
// the postings the bucket holds for it and its current ones (postDiff), so
// each entry is changed at most once.
type postOp struct {
	pos  uint64
	mask uint8
}

const (
	opKeyShift   = 12
	opBlockShift = 44
)

// sortPostOps sorts ops by position, stably (a later change of an entry
// stays after an earlier one): an LSD radix sort, a byte of the position a
// pass, skipping the bytes every op shares (the high bytes of the block).
// A batch of 8,192 creates holds about 800,000 ops, which a comparison sort
// took about a fifth of the writer's time to order. scratch is a buffer it
// may use; it returns the sorted ops and the other buffer.
func sortPostOps(ops, scratch []postOp) (sorted, other []postOp) {
	if len(ops) < 256 {
		slices.SortStableFunc(ops, func(x, y postOp) int { return cmp.Compare(x.pos, y.pos) })
		return ops, scratch
	}
	var counts [8][256]int
	for _, op := range ops {
		for d := range 8 {
			counts[d][byte(op.pos>>(8*d))]++
		}
	}
	if cap(scratch) < len(ops) {
		scratch = make([]postOp, len(ops))
	}
	src, dst := ops, scratch[:len(ops)]
	for d := range 8 {
		c := &counts[d]
		if c[byte(src[0].pos>>(8*d))] == len(src) {
			continue // every op has this byte
		}
		sum := 0
		for i, n := range c {
			c[i] = sum
			sum += n
		}
		for _, op := range src {
			k := byte(op.pos >> (8 * d))
			dst[c[k]] = op
			c[k]++
		}
		src, dst = dst, src
	}
	return src, dst
}

// blockRows must fit the op's 12 offset bits.
var _ [1 << opKeyShift]struct{} = [blockRows]struct{}{}

// stageSearch updates the search index for the change of user id from the
// image old to nu (either nil): its row, search record, sort keys and
// postings. Posting and sort-key changes are collected and written once
// per batch, in key order (finishSearch).
func (b *batch) stageSearch(id string, old, nu *userImage) error {
	sr := &b.u.search
	var row uint32
	var kb keyBuf
	if v := sr.rows().Get(getKey(&kb, id)); v != nil {
		row = binary.BigEndian.Uint32(v)
	} else if nu != nil {
		if b.nextRow < 0 {
			b.nextRow = int64(decodeRow(b.u.bucket(fbMeta).Get(keyNextRow)))
		}
		row = uint32(b.nextRow)
		b.nextRow++
		kv := binary.BigEndian.AppendUint32(append(sr.rows().scratch(len(id)+4), id...), row)
		if err := sr.rows().Put(kv[:len(id)], kv[len(id):]); err != nil {
			return err
		}
		if err := b.boundRow(row, id); err != nil {
			return err
		}
	} else {
		return nil
	}
	var op, np []uint64
	var os, ns *sortKeys
	if old != nil {
		op, os = old.posts, &old.sorts
	}
	if nu != nil {
		np, ns = nu.posts, &nu.sorts
	}
	if err := b.sorts.stage(id, row, os, ns); err != nil {
		return err
	}
	b.pendPostings(row, op, np)
	if nu != nil && b.s != nil && (old == nil || !bytes.Equal(old.search[:old.values], nu.search[:nu.values])) {
		// Before the batch commits: no search sees the user's values
		// before the vocabulary has them.
		if err := b.s.vocab.addRecord(nu.search, &b.vocabScratch); err != nil {
			return err
		}
	}
	if nu == nil { // the row was read above: the row and its record are there
		if err := sr.recs().DeletePresent(scratchRow(sr.recs(), row)); err != nil {
			return err
		}
		return sr.rows().DeletePresent([]byte(id))
	}
	return sr.recs().Put(scratchRow(sr.recs(), row), nu.search)
}

// postDiff appends to ops the posting changes of row from the postings op
// to np (both ascending).
func postDiff(ops []postOp, row uint32, op, np []uint64) []postOp {
	at := uint64(row/blockRows)<<opBlockShift | uint64(row%blockRows)
	for i, j := 0, 0; i < len(op) || j < len(np); {
		switch {
		case j == len(np) || (i < len(op) && op[i]>>8 < np[j]>>8):
			ops = append(ops, postOp{at | op[i]>>8<<opKeyShift, 0})
			i++
		case i == len(op) || np[j]>>8 < op[i]>>8:
			ops = append(ops, postOp{at | np[j]>>8<<opKeyShift, uint8(np[j])})
			j++
		default:
			if op[i] != np[j] {
				ops = append(ops, postOp{at | np[j]>>8<<opKeyShift, uint8(np[j])})
			}
			i, j = i+1, j+1
		}
	}
	return ops
}

// pendingRow is a row whose postings a batch changed: those the postings
// bucket holds for it and its current ones.
type pendingRow struct {
	posted, current []uint64
	inFile          bool // pendingPosts holds the row
}

// pendPostings records that row's postings are now np, from op (the image's
// before the write: what the postings bucket holds unless the row is
// pending already).
func (b *batch) pendPostings(row uint32, op, np []uint64) {
	p, ok := b.pend[row]
	if !ok {
		p = &pendingRow{posted: op}
		// A row not listed as pending has op posted.
		if _, listed := slices.BinarySearch(b.pendRows, row); listed {
			k := rowKey(row)
			v := b.u.search.pend().Get(k[:])
			if v == nil {
				panic(fmt.Errorf("embedded: pending row %d is not in pendingPosts", row)) // fails the batch (see safeExec)
			}
			posted, _, err := splitPending(v)
			if err != nil {
				panic(err)
			}
			p.posted, p.inFile = unpack(posted), true
		}
		setIn(&b.pend, row, p)
	}
	p.current = np
}

// pendingRows lists the rows of pendingPosts (fewer than flushPending),
// ascending: the store's list at open, a migration's batch's (see
// batch.pendRows).
func pendingRows(pend *kvBucket) (rows []uint32, err error) {
	err = pend.ForEach(func(k, _ []byte) error {
		rows = append(rows, decodeRow(k))
		return nil
	})
	return rows, err
}

func decodeRow(v []byte) uint32 {
	if len(v) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

// finishSearch writes the next row number, the batch's sort-index changes
// (in key order) and its pending rows; when that makes flushPending pending
// rows or more, it writes every pending row's changes into the postings
// instead, each posting value once, in key order, and empties pendingPosts.
func (b *batch) finishSearch() error {
	if b.nextRow >= 0 {
		if err := b.u.bucket(fbMeta).Put(keyNextRow, encodeRow(uint32(b.nextRow))); err != nil {
			return err
		}
		if err := b.finishBounds(); err != nil {
			return err
		}
	}
	if len(b.sorts.ops) > 0 {
		if err := b.sorts.flush(b.u.sortKeys()); err != nil {
			return err
		}
		if b.s != nil && cap(b.sorts.ops) <= maxKeptSortOps { // (a migration's batch has no store)
			b.s.sortBuf = b.sorts
		}
	}
	pending := len(b.pendRows)
	for _, p := range b.pend {
		same := slices.Equal(p.posted, p.current)
		switch {
		case !p.inFile && !same:
			pending++
		case p.inFile && same:
			pending--
		}
	}
	if pending < flushPending {
		for row, p := range b.pend {
			var err error
			switch {
			case !slices.Equal(p.posted, p.current):
				err = b.u.search.pend().Put(scratchRow(b.u.search.pend(), row), pendingValue(p.posted, p.current))
			case p.inFile:
				err = b.u.search.pend().DeletePresent(scratchRow(b.u.search.pend(), row))
			}
			if err != nil {
				return err
			}
		}
		if b.s != nil {
			b.pendNext, b.pendDone = b.nextPendRows(), true
		}
		return nil
	}
	var ops, scratch []postOp
	if b.s != nil { // (a migration's batch has no store)
		ops, scratch = b.s.opBufs[0][:0], b.s.opBufs[1]
	}
	// The rows pendingPosts holds, from the batch's list (a walk of the
	// bucket steps over every row deleted since the last apply in the
	// overlay), then their deletes.
	pend := b.u.search.pend()
	flushed := b.pendRows
	for _, row := range flushed {
		if _, ok := b.pend[row]; !ok {
			k := rowKey(row)
			v := pend.Get(k[:])
			if v == nil {
				return fmt.Errorf("embedded: pending row %d is not in pendingPosts", row)
			}
			posted, current, err := splitPending(v)
			if err != nil {
				return err
			}
			ops = postDiff(ops, row, unpack(posted), unpack(current))
		}
	}
	for _, row := range flushed {
		k := rowKey(row)
		if err := pend.DeletePresent(k[:]); err != nil {
			return err
		}
	}
	if b.s != nil {
		b.pendNext, b.pendDone = b.s.pendSpare[:0], true // none pending
	}
	for row, p := range b.pend {
		ops = postDiff(ops, row, p.posted, p.current)
	}
	ops, scratch = sortPostOps(ops, scratch)
	var set []postOp
	var blocks []uint32 // the blocks whose posting values the flush rewrites, ascending
	kb := make([]byte, 0, 8)
	for i := 0; i < len(ops); {
		key := ops[i].pos >> opKeyShift
		set = set[:0]
		for ; i < len(ops) && ops[i].pos>>opKeyShift == key; i++ {
			if n := len(set); n > 0 && set[n-1].pos == ops[i].pos {
				set[n-1] = ops[i] // the later change of the entry wins
			} else {
				set = append(set, ops[i])
			}
		}
		block := uint32(key >> (opBlockShift - opKeyShift))
		if n := len(blocks); n == 0 || blocks[n-1] != block {
			blocks = append(blocks, block)
		}
		k := append(binary.BigEndian.AppendUint32(kb[:0], block), keyBytes(postKey(key))...)
		old := b.u.search.post().Get(k)
		v := mergeEntries(old, set)
		var err error
		if len(v) == 0 {
			err = b.u.search.post().Delete(k)
		} else {
			if old == nil && b.s != nil { // a key new to the block: its map must say so
				b.s.newPairs = append(b.s.newPairs, uint64(block)<<32|uint64(postKey(key)))
			}
			err = b.u.search.post().Put(k, v)
		}
		if err != nil {
			return err
		}
	}
	if b.s != nil {
		b.s.maps.posted(b.s.newPairs, b.s.ww.seq) // before the batch is published
		b.s.posts.flushed(blocks, b.s.ww.seq)     // likewise
		b.s.newPairs = b.s.newPairs[:0]
	}
	if b.s != nil && cap(ops) <= maxKeptOps { // keep the buffers for the next batch, unless a huge one grew them
		b.s.opBufs = [2][]postOp{ops[:0], scratch[:0]}
	}
	return nil
}

// nextPendRows returns the rows pendingPosts holds after the batch wrote
// its pending rows (not a flush): b.pendRows without the rows whose
// postings are posted again, with the rows that became pending, ascending;
// in the store's spare list (Store.pendSpare).
func (b *batch) nextPendRows() []uint32 {
	next := b.s.pendSpare[:0]
	for _, row := range b.pendRows {
		if p, ok := b.pend[row]; !ok || !slices.Equal(p.posted, p.current) {
			next = append(next, row)
		}
	}
	added := false
	for row, p := range b.pend {
		if !p.inFile && !slices.Equal(p.posted, p.current) {
			next, added = append(next, row), true
		}
	}
	if added {
		slices.Sort(next)
	}
	return next
}

// maxKeptOps bounds the posting-change buffers the writer keeps between
// batches (16 bytes an op): a full batch of creates holds about 800,000.
// maxKeptSortOps bounds its sort-index changes likewise (five a create,
// with their keys).
const (
	maxKeptOps     = 1 << 20
	maxKeptSortOps = 1 << 16
)

// mergeEntries returns the posting value old with the changes set (sorted
// by offset, each once) applied. The old entries between two changes are
// copied in one piece, found by a binary search: a create's changes (new
// rows, at the block's end) copy the whole value at once.
func mergeEntries(old []byte, set []postOp) []byte {
	old = old[:len(old)-len(old)%entrySize]
	out := make([]byte, 0, len(old)+entrySize*len(set))
	j := 0 // old[:j] is merged
	for _, op := range set {
		o := uint16(op.pos & (blockRows - 1))
		lo, hi := j/entrySize, len(old)/entrySize // the first old entry ≥ o
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if binary.BigEndian.Uint16(old[m*entrySize:]) < o {
				lo = m + 1
			} else {
				hi = m
			}
		}
		out = append(out, old[j:lo*entrySize]...)
		j = lo * entrySize
		if j < len(old) && binary.BigEndian.Uint16(old[j:]) == o {
			j += entrySize // replaced (or removed) by op
		}
		if op.mask != 0 {
			out = append(binary.BigEndian.AppendUint16(out, o), op.mask)
		}
	}
	return append(out, old[j:]...)
}

// filterFields returns the parts of a search record f reads; ok reports
// whether f reads only attributes a search record holds (so that the
// evaluator gives the same answer on it as on the user).
func filterFields(f schemas.Filter) (fields recordFields, ok bool) {
	switch f := f.(type) {
	case *schemas.And:
		return bothFields(f.Left, f.Right)
	case *schemas.Or:
		return bothFields(f.Left, f.Right)
	case *schemas.Not:
		return filterFields(f.X)
	case *schemas.Compare:
		if f.Path.Attr == nil || f.Path.AppID != "" || len(f.Path.Keys) != 0 {
			return 0, false
		}
		fields, ok = coveredCanonical[f.Path.Attr.Canonical]
		return fields, ok
	}
	return 0, false
}

func bothFields(a, b schemas.Filter) (recordFields, bool) {
	fa, ok := filterFields(a)
	if !ok {
		return 0, false
	}
	fb, ok := filterFields(b)
	return fa | fb, ok
}

// searchable reports whether the trigram index answers the comparison.
func searchable(c schemas.Compare) bool {
	a := c.Path.Attr
	return a != nil && c.Path.AppID == "" && len(c.Path.Keys) == 0 && attrBit[a.Canonical] != 0 &&
		c.Value.Kind == schemas.KindString &&
		(c.Op == schemas.OpCo || c.Op == schemas.OpSw || c.Op == schemas.OpEw || c.Op == schemas.OpEq)
}

// rebuildChunk is the number of rows rebuildSearch rebuilds per transaction
// (whole blocks). A variable for the tests.
var rebuildChunk = 5 * blockRows

// rebuildSearch brings the search buckets of a file made before
// searchFormat to it: from format 1, each user's search record gains its
// status and dates, its postings their attribute masks (into the postings
// bucket; the old trigrams bucket is deleted at the end) and the sort keys
// are made; from format 2, the postings are remade in blocks of blockRows
// from the search records. It works in transactions of
// rebuildChunk rows, each recording how far it got, so that a crash resumes
// it at the next start; it does nothing when the file is current.
func rebuildSearch(db *bolt.DB) error {
	for {
		done, err := rebuildSearchStep(db)
		if err != nil || done {
			return err
		}
	}
}

// rebuildSearchStep is one transaction of rebuildSearch; done reports that
// the file is current.
func rebuildSearchStep(db *bolt.DB) (done bool, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if string(meta.Get(keySearchFormat)) == searchFormat {
			done = true
			return nil
		}
		r := usersOf(tx)
		sr := r.search
		from := uint32(0)
		if v := meta.Get(keySearchRebuiltTo); v != nil {
			from = decodeRow(v)
		}
		next := decodeRow(meta.Get(keyNextRow))
		// Format 2 differs in the postings' blocks alone: its search
		// records and sort keys are current, and the postings are made from
		// the search records, without decoding a user.
		postingsOnly := string(meta.Get(keySearchFormat)) == "2"
		if from >= next {
			if tx.Bucket(bucketTrigrams) != nil {
				if err := tx.DeleteBucket(bucketTrigrams); err != nil {
					return err
				}
			}
			if err := meta.Delete(keySearchRebuiltTo); err != nil {
				return err
			}
			return meta.Put(keySearchFormat, []byte(searchFormat))
		}
		if from == 0 {
			// A fresh start: drop whatever postings an older layout left.
			if err := tx.DeleteBucket(bucketPostings); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
			// Neither bucket is open in r yet: its first use opens the new one.
			if _, err := tx.CreateBucket(bucketPostings); err != nil {
				return err
			}
			if err := tx.DeleteBucket(bucketPending); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
			if _, err := tx.CreateBucket(bucketPending); err != nil {
				return err
			}
			if !postingsOnly {
				if err := tx.DeleteBucket(bucketSortKeys); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
					return err
				}
				if _, err := tx.CreateBucket(bucketSortKeys); err != nil {
					return err
				}
			}
		}
		to := min(from+uint32(rebuildChunk), next)
		post := make(map[uint64][]byte) // block<<32 | posting key → entries
		add := func(row uint32, u *schemas.User) {
			block, off := uint64(row/blockRows), uint16(row%blockRows)
			for _, p := range postingsOf(u) {
				k := block<<32 | p>>8
				post[k] = append(binary.BigEndian.AppendUint16(post[k], off), uint8(p))
			}
		}
		var sorts sortWrites
		var view schemas.User
		for row := from; row < to; row++ {
			v := sr.recs().Get(encodeRow(row))
			if v == nil {
				continue // no user has the row any more
			}
			if postingsOnly {
				if err := viewSearchRecord(v, &view); err != nil {
					return fmt.Errorf("row %d: %w", row, err)
				}
				add(row, &view)
				continue
			}
			id := strings.Clone(searchRecordID(v))
			rec := r.recs().Get([]byte(id))
			if rec == nil {
				return fmt.Errorf("user %s has a search row but no record", id)
			}
			u, err := decodeUserRecord(rec)
			if err != nil {
				return fmt.Errorf("user %s: %w", id, err)
			}
			if err := sr.recs().Put(encodeRow(row), encodeSearchRecord(u)); err != nil {
				return err
			}
			sk := sortKeysOf(u)
			if err := sorts.stage(id, row, nil, &sk); err != nil {
				return err
			}
			add(row, u)
		}
		if err := sorts.flush(r.sortKeys()); err != nil {
			return err
		}
		keys := slices.Sorted(maps.Keys(post))
		sr.post().b.FillPercent = 0.9
		var kb []byte
		for _, k := range keys {
			kb = append(binary.BigEndian.AppendUint32(kb[:0], uint32(k>>32)), keyBytes(postKey(k))...)
			if err := sr.post().Put(kb, post[k]); err != nil {
				return err
			}
		}
		return meta.Put(keySearchRebuiltTo, encodeRow(to))
	})
	return done, err
}
