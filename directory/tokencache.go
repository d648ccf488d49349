package directory

import (
	"container/heap"
	"crypto/ecdsa"
	"crypto/sha256"
	"sync"
	"time"
)

// MaxVerifiedTokens bounds the cache of verified access tokens (about 1 KB
// each): past it, a new token evicts the entry that expires first (see
// expiringSet).
const MaxVerifiedTokens = 10000

// verifiedTokens remembers the access tokens (JWTs) whose signature verified,
// so that a client sending the same token on every request pays the ES256
// check (about 100 µs, twice the rest of a GET) once per token rather than
// once per request. Its contract, which verify keeps:
//
//   - an entry is keyed by the SHA-256 of the whole token text, so only that
//     exact token hits it: any other text, however close, is verified in
//     full; only tokens that verified are stored;
//   - a hit skips the signature check only: the claims (issuer, audience,
//     expiry, issue time, not-before, with the same leeway and clock) are
//     validated again on every request, and the key that verified the token
//     must still be in the key set with the same public key, so a token
//     expires and a retired key stops verifying exactly as without the cache;
//   - what Authenticate checks after verify (the app still exists, the user
//     is still enabled and assigned) runs on every request, hit or not;
//   - at most max entries (MaxVerifiedTokens), by expiringSet's rule.
type verifiedTokens struct {
	set *expiringSet[verifiedToken]
}

// verifiedToken is a token that verified: its claims (read-only: shared by
// every request presenting it), the key that verified its signature, and
// when the claims stop validating (exp plus the leeway): its expiry in the
// set.
type verifiedToken struct {
	claims  *tokenClaims
	kid     string
	key     *ecdsa.PublicKey
	expires time.Time
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{set: newExpiringSet[verifiedToken](max)}
}

// get returns the entry of sum, expired or not (verify validates its claims).
func (v *verifiedTokens) get(sum [sha256.Size]byte) (verifiedToken, bool) {
	e, _, ok := v.set.get(sum)
	return e, ok
}

func (v *verifiedTokens) drop(sum [sha256.Size]byte) { v.set.drop(sum) }

// put stores a token that verified at time now (see expiringSet.put).
func (v *verifiedTokens) put(sum [sha256.Size]byte, e verifiedToken, now time.Time) {
	v.set.put(sum, e, e.expires, now)
}

func (v *verifiedTokens) len() int { return v.set.len() }

// expiringSet is a bounded set of entries that expire, keyed by a digest:
// the one form of the service's memory of verified credentials (access
// tokens: verifiedTokens; client secrets: verifiedSecrets). It holds at most
// max entries. Its one rule when full: a new entry evicts the entry that
// expires first — an expired one whenever there is any, else the one that
// would have been useful the shortest time — found in O(log n) on a heap
// ordered by expiry (no scan of the entries). An expired entry is otherwise
// kept until it is evicted or dropped: get reports its expiry, and the
// caller decides. Safe for concurrent use.
type expiringSet[V any] struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]*expiring[V]
	byExp   expiryHeap[V]
}

// expiring is an entry of an expiringSet: its value, expiry and position in
// the heap.
type expiring[V any] struct {
	key [sha256.Size]byte
	val V
	exp time.Time
	at  int
}

func newExpiringSet[V any](max int) *expiringSet[V] {
	return &expiringSet[V]{max: max, entries: map[[sha256.Size]byte]*expiring[V]{}}
}

// get returns the entry of k and its expiry.
func (s *expiringSet[V]) get(k [sha256.Size]byte) (V, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[k]
	if !ok {
		var zero V
		return zero, time.Time{}, false
	}
	return e.val, e.exp, true
}

// put stores v under k until exp (replacing k's entry); when the set is
// full, the entry that expires first makes room. An entry already expired
// at now is not stored.
func (s *expiringSet[V]) put(k [sha256.Size]byte, v V, exp, now time.Time) {
	if !now.Before(exp) || s.max <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[k]; ok {
		e.val, e.exp = v, exp
		heap.Fix(&s.byExp, e.at)
		return
	}
	if len(s.entries) >= s.max {
		first := heap.Pop(&s.byExp).(*expiring[V])
		delete(s.entries, first.key)
	}
	e := &expiring[V]{key: k, val: v, exp: exp}
	s.entries[k] = e
	heap.Push(&s.byExp, e)
}

// drop removes the entry of k, if any.
func (s *expiringSet[V]) drop(k [sha256.Size]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[k]; ok {
		heap.Remove(&s.byExp, e.at)
		delete(s.entries, k)
	}
}

func (s *expiringSet[V]) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// expiryHeap orders entries by expiry (container/heap), keeping each one's
// position in at.
type expiryHeap[V any] []*expiring[V]

func (h expiryHeap[V]) Len() int           { return len(h) }
func (h expiryHeap[V]) Less(i, j int) bool { return h[i].exp.Before(h[j].exp) }
func (h expiryHeap[V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *expiryHeap[V]) Push(x any) {
	e := x.(*expiring[V])
	e.at = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap[V]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
