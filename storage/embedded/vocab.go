package embedded

import (
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/scimd/scimd/schemas"
)

// The vocabulary: exact substring answers from one key's postings.
//
// The rows a substring search reads from the postings (search.go) hold
// every key of the comparison in the attribute, but a value may hold them
// apart ("Kat Herine" holds every trigram of "katherine"), so each
// candidate is checked on its search record — at a million users a B-tree
// seek, about 1.1 µs, and 45 ms for a given name 40,000 users share.
// Searches that match that many users are searches of attributes whose
// values repeat: names. So the store keeps, for each of those attributes
// (vocabBits), the distinct values users have held since it opened (while
// there are at most vocabCap of them), with the posting keys of each.
//
// The rule it serves (implyingKeys): when every value holding a key k of a
// comparison matches the comparison — as the evaluator says, on the value
// alone — the rows posted under k with the attribute's bit are exactly the
// comparison's matches. Each such row holds a value with k, which matches;
// each match holds a value containing the comparison's (folding maps a
// substring to a substring), hence k. The search reads that one key and
// checks nothing, as it does for a pattern of three bytes. On a
// single-valued attribute the same holds of several keys together ("ada"
// and "lov" for "Ada Lovelace": neither alone, as "Ada Hopper" and "Grace
// Lovelace" hold one each), read in every block and intersected.
//
// It is a superset, which is all the rule needs: a value stays after the
// last user holding it changed or left (until the next start), and one
// staged by a batch that then failed stays too. What it must never miss is
// a value of a user a search sees. The writer adds the values of every user
// it stages (stageSearch), before the batch commits; at open,
// buildVocabulary adds those of every search record, in a background walk
// of the file, and only then is the vocabulary ready — for the
// transactions that see every write up to where the walk ended (readyAt):
// an older one could see a value the walk never did. An attribute with more
// than vocabCap distinct values is dropped (full) until the next start:
// its searches are checked as before, and it costs nothing.
type vocabulary struct {
	mu    sync.RWMutex
	attrs [vocabAttrs]vocabAttr
	// fields are the parts of a search record that hold the kept
	// attributes' values: addRecord reads no others.
	fields recordFields
	// readyAt is 0 while the walk of the file runs, then 1 + the sequence
	// number of the last write committed when it ended (see ovView.high).
	readyAt atomic.Uint64
}

// vocabAttrs is the number of posting bits with values (all but bitFact).
const vocabAttrs = 7

// vocabAttr is the vocabulary of one attribute: its distinct values (as
// users hold them, not folded: the evaluator decides what matches), and
// for each posting key the values holding it.
type vocabAttr struct {
	full   bool
	index  map[string]uint32 // value → its number in values
	values []string
	byKey  map[postKey][]uint32
}

// vocabCap is the number of distinct values beyond which an attribute's
// vocabulary is dropped; vocabBudget the number of values one comparison
// may examine. Variables for the tests.
var vocabCap, vocabBudget = 1 << 16, 4096

// vocabBits are the attributes with a vocabulary: the names. The others'
// values are unique or nearly (userName, externalId, every email and the
// primary phone are unique in the store): a search that matches many users
// holds more of their values than a comparison may examine, and their
// vocabulary would cost memory and the writer's time for nothing.
const vocabBits = bitGivenName | bitFamilyName | bitDisplayName

// newVocabulary returns an empty vocabulary of the attributes of bits (the
// others full from the start).
func newVocabulary(bits uint8) *vocabulary {
	vc := &vocabulary{}
	for path, bit := range attrBit {
		if bits&bit != 0 {
			vc.fields |= coveredCanonical[path]
		}
	}
	for i := range vc.attrs {
		if bits&(1<<i) == 0 {
			vc.attrs[i] = vocabAttr{full: true}
			continue
		}
		vc.attrs[i] = vocabAttr{index: map[string]uint32{}, byKey: map[postKey][]uint32{}}
	}
	return vc
}

// attr returns the vocabulary of the attribute of a posting bit.
func (vc *vocabulary) attr(bit uint8) *vocabAttr { return &vc.attrs[bits.TrailingZeros8(bit)] }

// vocabValues calls fn with each value of a search record's attributes that
// have a posting bit, and the bit.
func vocabValues(u *schemas.User, fn func(bit uint8, v string)) {
	for _, a := range [...]struct {
		bit uint8
		v   string
	}{{bitUserName, u.UserName}, {bitExternalID, u.ExternalID}, {bitDisplayName, u.DisplayName}, {bitGivenName, u.Name.GivenName}, {bitFamilyName, u.Name.FamilyName}} {
		fn(a.bit, a.v)
	}
	for _, e := range u.Emails {
		fn(bitEmails, e.Value)
	}
	for _, p := range u.PhoneNumbers {
		fn(bitPhones, p.Value)
	}
}

// addRecord adds the values of a search record (see vocabulary); scratch
// is the caller's, for the record's view.
func (vc *vocabulary) addRecord(rec []byte, scratch *schemas.User) error {
	if err := viewSearchFields(rec, scratch, vc.fields); err != nil {
		return err
	}
	news := false
	vc.mu.RLock()
	vocabValues(scratch, func(bit uint8, v string) {
		a := vc.attr(bit)
		if _, seen := a.index[v]; !seen && !a.full && v != "" {
			news = true
		}
	})
	vc.mu.RUnlock()
	if !news {
		return nil
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	var buf [64]byte
	var pairs []uint64
	vocabValues(scratch, func(bit uint8, v string) {
		a := vc.attr(bit)
		if _, seen := a.index[v]; seen || a.full || v == "" {
			return
		}
		if len(a.values) >= vocabCap {
			*a = vocabAttr{full: true}
			return
		}
		v = strings.Clone(v) // the record's view points into the memory map
		n := uint32(len(a.values))
		a.values = append(a.values, v)
		a.index[v] = n
		pairs = mergePairs(appendValuePairs(pairs[:0], &buf, v, bit))
		for _, p := range pairs {
			k := postKey(p >> 8)
			a.byKey[k] = append(a.byKey[k], n)
		}
	})
	return nil
}

// ready marks the vocabulary complete for the transactions that see every
// write up to high.
func (vc *vocabulary) ready(high uint64) { vc.readyAt.Store(high + 1) }

// implyingKeys returns keys of keys (the posting keys of c, on the
// attribute of posting bit bit) that together only values matching c hold,
// for a transaction that sees every write up to high: the rows holding
// them all with bit are exactly c's matches (see vocabulary) — one key,
// or, on a single-valued attribute, several (a row of a multi-valued one
// may hold them in different values). ok is false when the vocabulary is
// not ready for that transaction, the attribute's is full, or no such keys
// are found within vocabBudget values examined. No keys and ok: no value
// holds one of keys, so c matches no user (nothing to read).
//
// The first key is the one fewest values hold; while some of them do not
// match, the next is the key the fewest of those hold (greedily, not the
// smallest set there is).
func (vc *vocabulary) implyingKeys(c *schemas.Compare, bit uint8, keys []string, high uint64) (implying []string, ok bool) {
	if at := vc.readyAt.Load(); at == 0 || high+1 < at {
		return nil, false
	}
	vc.mu.RLock()
	defer vc.mu.RUnlock()
	a := vc.attr(bit)
	if a.full || len(keys) == 0 {
		return nil, false
	}
	holders := func(k string) []uint32 { return a.byKey[keyOf(k)] }
	first := slices.MinFunc(keys, func(x, y string) int { return len(holders(x)) - len(holders(y)) })
	if len(holders(first)) == 0 {
		return nil, true // no value holds it: c matches no user
	}
	budget := vocabBudget - len(holders(first))
	if budget < 0 {
		return nil, false
	}
	// bad are the values holding every key chosen that do not match c,
	// ascending (so is every key's holders: values are numbered as added).
	var bad []uint32
	var u schemas.User
	for _, n := range holders(first) {
		if !matchValue(c, bit, a.values[n], &u) {
			bad = append(bad, n)
		}
	}
	implying = []string{first}
	if len(bad) > 0 && (bit == bitEmails || bit == bitPhones) {
		return nil, false
	}
	var next, fewest []uint32
	for len(bad) > 0 {
		best := ""
		for _, k := range keys {
			if slices.Contains(implying, k) {
				continue
			}
			h := holders(k)
			if budget -= len(h); budget < 0 {
				return nil, false
			}
			next = intersectRows(next[:0], bad, h)
			if best == "" || len(next) < len(fewest) {
				best, fewest, next = k, next, fewest
			}
		}
		if best == "" || len(fewest) == len(bad) {
			return nil, false // no key left removes a value that does not match
		}
		implying = append(implying, best)
		bad = append(bad[:0], fewest...)
	}
	return implying, true
}

// matchValue reports whether the evaluator matches c on a user whose only
// value of the attribute of bit is v (u: the caller's scratch, left with v).
func matchValue(c *schemas.Compare, bit uint8, v string, u *schemas.User) bool {
	switch bit {
	case bitUserName:
		u.UserName = v
	case bitExternalID:
		u.ExternalID = v
	case bitDisplayName:
		u.DisplayName = v
	case bitGivenName:
		u.Name.GivenName = v
	case bitFamilyName:
		u.Name.FamilyName = v
	case bitEmails:
		u.Emails = append(u.Emails[:0], schemas.Email{Value: v})
	case bitPhones:
		u.PhoneNumbers = append(u.PhoneNumbers[:0], schemas.PhoneNumber{Value: v})
	default:
		return false
	}
	return schemas.MatchUser(c, u)
}

// vocabChunk is the number of search records buildVocabulary reads in one
// read transaction (so that it pins no old pages for long). A variable for
// the tests.
var vocabChunk = 16384

// buildVocabulary adds every search record's values to the vocabulary,
// then marks it ready (see vocabulary). It runs in the background from
// Open, and stops early — leaving the vocabulary unready, so that searches
// check their candidates as they did — when the store closes or a read
// fails.
func (s *Store) buildVocabulary() {
	defer close(s.vocabDone)
	var after []byte
	var scratch schemas.User
	for {
		select {
		case <-s.quit:
			return
		default:
		}
		done := false
		var high uint64
		err := s.userView(func(r *users) error {
			high = r.ov.high
			c := r.search.recs().Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for n := 0; k != nil && n < vocabChunk; n++ {
				if err := s.vocab.addRecord(v, &scratch); err != nil {
					return err
				}
				after = append(after[:0], k...)
				k, v = c.Next()
			}
			done = k == nil
			return nil
		})
		if err != nil {
			return
		}
		if done {
			// high is the last transaction's: the walk saw every write up
			// to it, and the writer added every later one's values.
			s.vocab.ready(high)
			return
		}
	}
}
