package embedded

import (
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/schemas"
)

// Substring search (co, sw, ew — and eq on the same attributes) on userName,
// every email and phone number value, name.givenName, name.familyName,
// displayName and externalId goes through a trigram index in the file:
//
//   - each user has a row, a dense number given at creation (userRows: id →
//     row; meta nextRow), so that posting lists are small integers;
//   - searchRecords (row → record) holds the user's id and those attributes,
//     a few dozen bytes, enough to run the evaluator on them without decoding
//     the user;
//   - trigrams holds, for every three bytes of the folded (schemas.Fold)
//     values of those attributes, which rows contain them: the key is the
//     row's block (row / blockRows, 4 bytes big-endian) then the trigram, the
//     value the sorted offsets in the block (2 bytes each). Block first, so
//     that the postings a new user adds (its row is in the last block) are
//     adjacent in the file, and a batch of creates writes a few pages of
//     postings instead of one page per trigram per user.
//
// A search value of three bytes or more folded gives the rows holding all its
// trigrams: a superset of the users it matches in any of the attributes
// (folding maps a substring to a substring). The candidates are then checked
// with schemas.MatchUser — on the search record when the filter reads only
// attributes it holds, else on the decoded user — so the answer is always the
// evaluator's. Shorter values, and other attributes, scan.

var (
	bucketUserRows      = []byte("userRows")      // id → 4-byte row
	bucketSearchRecords = []byte("searchRecords") // 4-byte row → search record
	bucketTrigrams      = []byte("trigrams")      // trigram + 4-byte block → offsets
	keyNextRow          = []byte("nextRow")       // 4-byte big-endian
)

// blockRows is the number of rows one posting value covers.
const blockRows = 1024

// trigramKey is a block number and a trigram.
type trigramKey [7]byte

func makeTrigramKey(tri string, block uint32) trigramKey {
	var k trigramKey
	binary.BigEndian.PutUint32(k[:4], block)
	copy(k[4:], tri)
	return k
}

// searchCanonical are the canonical paths whose values the index holds; the
// covered ones are those a search record can answer for the evaluator.
var (
	searchCanonical = map[string]bool{
		"userName": true, "externalId": true, "displayName": true, "name.givenName": true, "name.familyName": true,
		"emails.value": true, "phoneNumbers.value": true, "primaryEmail": true, "primaryPhone": true,
	}
	coveredCanonical = map[string]bool{
		"id": true, "userName": true, "externalId": true, "displayName": true, "name.givenName": true, "name.familyName": true,
		"emails.value": true, "phoneNumbers.value": true, "primaryEmail": true, "primaryPhone": true,
	}
)

// searchValues calls yield with every indexed value of u.
func searchValues(u *schemas.User, yield func(string)) {
	if u == nil {
		return
	}
	for _, v := range []string{u.UserName, u.ExternalID, u.DisplayName, u.Name.GivenName, u.Name.FamilyName} {
		yield(v)
	}
	for _, e := range u.Emails {
		yield(e.Value)
	}
	for _, p := range u.PhoneNumbers {
		yield(p.Value)
	}
}

// encodeSearchRecord is the search record of u: its id and indexed values
// (with the primary flags of emails and phone numbers).
func encodeSearchRecord(u *schemas.User) []byte {
	w := &wbuf{b: make([]byte, 0, 128)}
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
	return w.b
}

// viewSearchRecord decodes a search record into u without copying: u's
// strings point into v (bbolt's memory map), so u must not outlive the
// transaction nor be kept; its slices are reused from call to call.
func viewSearchRecord(v []byte, u *schemas.User) error {
	r := &rbuf{b: v}
	emails, phones := u.Emails[:0], u.PhoneNumbers[:0]
	*u = schemas.User{ID: r.view(), UserName: r.view(), ExternalID: r.view(), DisplayName: r.view()}
	u.Name.GivenName, u.Name.FamilyName = r.view(), r.view()
	for n := r.count(2); n > 0; n-- {
		emails = append(emails, schemas.Email{Value: r.view(), Primary: r.bool()})
	}
	for n := r.count(2); n > 0; n-- {
		phones = append(phones, schemas.PhoneNumber{Value: r.view(), Primary: r.bool()})
	}
	if len(emails) > 0 {
		u.Emails = emails
	}
	if len(phones) > 0 {
		u.PhoneNumbers = phones
	}
	if r.err != nil {
		return fmt.Errorf("search record: %w", r.err)
	}
	return nil
}

func encodeRow(row uint32) []byte { return binary.BigEndian.AppendUint32(nil, row) }

// search gives access to the search buckets of one transaction.
type search struct {
	rows, recs, tri, meta *bolt.Bucket
}

func searchOf(tx *bolt.Tx) *search {
	return &search{rows: tx.Bucket(bucketUserRows), recs: tx.Bucket(bucketSearchRecords), tri: tx.Bucket(bucketTrigrams),
		meta: tx.Bucket(bucketMeta)}
}

// candidates returns the rows whose indexed values hold every trigram of
// the folded value, or ok == false when it is shorter than a trigram. Each
// block is intersected on its own, rarest trigram first (as the last block
// has them), and a trigram a block lacks moves to the front of the order.
func (s *search) candidates(value string) (rows []uint32, ok bool) {
	f := schemas.Fold(value)
	if len(f) < 3 {
		return nil, false
	}
	var tris []string
	for i := 0; i+3 <= len(f); i++ {
		if t := f[i : i+3]; !slices.Contains(tris, t) {
			tris = append(tris, t)
		}
	}
	blocks := (decodeRow(s.meta.Get(keyNextRow)) + blockRows - 1) / blockRows
	if blocks == 0 {
		return nil, true
	}
	// Order the trigrams by their postings in the last block, a sample of
	// the directory: the rarest first, so that most blocks end at one read.
	sample := make(map[string]int, len(tris))
	for _, t := range tris {
		k := makeTrigramKey(t, blocks-1)
		sample[t] = len(s.tri.Get(k[:]))
	}
	slices.SortStableFunc(tris, func(a, b string) int { return sample[a] - sample[b] })
	for block := range blocks {
		var offs []uint16
		for i, t := range tris {
			k := makeTrigramKey(t, block)
			v := s.tri.Get(k[:])
			if v == nil {
				copy(tris[1:i+1], tris[:i])
				tris[0] = t
				offs = nil
				break
			}
			if i == 0 {
				offs = decodeOffsets(v)
			} else if offs = intersect(offs, decodeOffsets(v)); len(offs) == 0 {
				break
			}
		}
		for _, o := range offs {
			rows = append(rows, block*blockRows+uint32(o))
		}
	}
	return rows, true
}

func decodeOffsets(v []byte) []uint16 {
	out := make([]uint16, len(v)/2)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(v[2*i:])
	}
	return out
}

func encodeOffsets(offs []uint16) []byte {
	b := make([]byte, 2*len(offs))
	for i, o := range offs {
		binary.BigEndian.PutUint16(b[2*i:], o)
	}
	return b
}

// union returns the offsets in either sorted list, sorted, each once.
func union(a, b []uint16) []uint16 {
	out := make([]uint16, 0, len(a)+len(b))
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

// intersect returns the offsets in both sorted lists.
func intersect(a, b []uint16) []uint16 {
	var out []uint16
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

// A batch collects its trigram posting changes as ops, written by
// finishSearch: an op is one row entering (in) or leaving a posting value,
// packed into a uint64 that sorts by posting key, then offset:
// block (22 bits) | trigram (24 bits) | offset (10 bits) | in (1 bit). A
// write's ops are the difference between the trigrams of the user's image
// before and after it, so the ops of one row and trigram alternate in a
// batch (in, out, in…): the number of ins minus outs (+1, 0 or -1) says what
// the batch changes.
const (
	opOffsetShift = 1
	opTriShift    = 11
	opBlockShift  = 35
)

// blockRows must fit the op's 10 offset bits.
var _ [1 << (opTriShift - opOffsetShift)]struct{} = [blockRows]struct{}{}

func postingOp(block uint32, tri uint32, off uint16, in bool) uint64 {
	op := uint64(block)<<opBlockShift | uint64(tri)<<opTriShift | uint64(off)<<opOffsetShift
	if in {
		op |= 1
	}
	return op
}

// stageSearch updates the search index for the change of user id from the
// image old to nu (either nil): its row, search record and trigram postings.
// Posting changes are collected and written once per batch (finishSearch).
func (b *batch) stageSearch(id string, old, nu *userImage) error {
	sr := b.search
	var row uint32
	if v := sr.rows.Get([]byte(id)); v != nil {
		row = binary.BigEndian.Uint32(v)
	} else if nu != nil {
		if b.nextRow < 0 {
			b.nextRow = int64(decodeRow(b.mb.Get(keyNextRow)))
		}
		row = uint32(b.nextRow)
		b.nextRow++
		if err := sr.rows.Put([]byte(id), encodeRow(row)); err != nil {
			return err
		}
	} else {
		return nil
	}
	var ot, nt []uint32
	if old != nil {
		ot = old.tris
	}
	if nu != nil {
		nt = nu.tris
	}
	block, off := row/blockRows, uint16(row%blockRows)
	for i, j := 0, 0; i < len(ot) || j < len(nt); {
		switch {
		case j == len(nt) || (i < len(ot) && ot[i] < nt[j]):
			b.postOps = append(b.postOps, postingOp(block, ot[i], off, false))
			i++
		case i == len(ot) || nt[j] < ot[i]:
			b.postOps = append(b.postOps, postingOp(block, nt[j], off, true))
			j++
		default:
			i, j = i+1, j+1
		}
	}
	if nu == nil {
		if err := sr.recs.Delete(encodeRow(row)); err != nil {
			return err
		}
		return sr.rows.Delete([]byte(id))
	}
	return sr.recs.Put(encodeRow(row), nu.search)
}

func decodeRow(v []byte) uint32 {
	if len(v) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

// finishSearch writes the posting changes of the batch, each posting value
// once, in key order, and the next row number.
func (b *batch) finishSearch() error {
	if b.nextRow >= 0 {
		if err := b.mb.Put(keyNextRow, encodeRow(uint32(b.nextRow))); err != nil {
			return err
		}
	}
	ops := b.postOps
	slices.Sort(ops)
	var adds, dels []uint16
	for i := 0; i < len(ops); {
		key := ops[i] >> opTriShift
		adds, dels = adds[:0], dels[:0]
		for i < len(ops) && ops[i]>>opTriShift == key {
			slot, net := ops[i]>>opOffsetShift, 0
			for ; i < len(ops) && ops[i]>>opOffsetShift == slot; i++ {
				if ops[i]&1 == 1 {
					net++
				} else {
					net--
				}
			}
			off := uint16(slot & (blockRows - 1))
			switch {
			case net > 0:
				adds = append(adds, off)
			case net < 0:
				dels = append(dels, off)
			}
		}
		if len(adds) == 0 && len(dels) == 0 {
			continue
		}
		var k trigramKey
		binary.BigEndian.PutUint32(k[:4], uint32(key>>24))
		k[4], k[5], k[6] = byte(key>>16), byte(key>>8), byte(key)
		offs := decodeOffsets(b.search.tri.Get(k[:]))
		if len(dels) > 0 {
			offs = subtract(offs, dels)
		}
		if len(adds) > 0 {
			offs = union(offs, adds)
		}
		var err error
		if len(offs) == 0 {
			err = b.search.tri.Delete(k[:])
		} else {
			err = b.search.tri.Put(k[:], encodeOffsets(offs))
		}
		if err != nil {
			return err
		}
	}
	b.postOps = ops[:0]
	return nil
}

// subtract returns the offsets of the sorted list a that are not in the
// sorted list b, reusing a.
func subtract(a, b []uint16) []uint16 {
	out := a[:0]
	j := 0
	for _, o := range a {
		for j < len(b) && b[j] < o {
			j++
		}
		if j < len(b) && b[j] == o {
			continue
		}
		out = append(out, o)
	}
	return out
}

// coveredFilter reports whether f reads only attributes a search record
// holds (so that the evaluator gives the same answer on it as on the user).
func coveredFilter(f schemas.Filter) bool {
	switch f := f.(type) {
	case *schemas.And:
		return f != nil && coveredFilter(*f)
	case *schemas.Or:
		return f != nil && coveredFilter(*f)
	case *schemas.Not:
		return f != nil && coveredFilter(*f)
	case *schemas.Compare:
		return f != nil && coveredFilter(*f)
	case schemas.And:
		return coveredFilter(f.Left) && coveredFilter(f.Right)
	case schemas.Or:
		return coveredFilter(f.Left) && coveredFilter(f.Right)
	case schemas.Not:
		return coveredFilter(f.X)
	case schemas.Compare:
		return f.Path.Attr != nil && f.Path.AppID == "" && len(f.Path.Keys) == 0 && coveredCanonical[f.Path.Attr.Canonical]
	}
	return false
}

// searchable reports whether the trigram index answers the comparison.
func searchable(c schemas.Compare) bool {
	a := c.Path.Attr
	return a != nil && c.Path.AppID == "" && len(c.Path.Keys) == 0 && searchCanonical[a.Canonical] &&
		c.Value.Kind == schemas.KindString &&
		(c.Op == schemas.OpCo || c.Op == schemas.OpSw || c.Op == schemas.OpEw || c.Op == schemas.OpEq)
}
