package directory

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"sync"
	"time"
)

// MaxVerifiedTokens bounds the cache of verified access tokens (about 1 KB
// each): past it, expired entries are dropped, then arbitrary ones.
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
//   - at most max entries (MaxVerifiedTokens).
type verifiedTokens struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]verifiedToken
}

// verifiedToken is a token that verified: its claims (read-only: shared by
// every request presenting it), the key that verified its signature, and
// when the claims stop validating (exp plus the leeway), by which put makes
// room.
type verifiedToken struct {
	claims  *tokenClaims
	kid     string
	key     *ecdsa.PublicKey
	expires time.Time
}

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{max: max, entries: map[[sha256.Size]byte]verifiedToken{}}
}

func (v *verifiedTokens) get(sum [sha256.Size]byte) (verifiedToken, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.entries[sum]
	return e, ok
}

func (v *verifiedTokens) drop(sum [sha256.Size]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.entries, sum)
}

// put stores a verified token at time now; when the cache is full it makes
// room among the entries expired at now first. (A time comparison per
// entry, under the lock every authentication takes: not a validation of
// each entry's claims.)
func (v *verifiedTokens) put(sum [sha256.Size]byte, e verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.entries) >= v.max {
		for k, x := range v.entries {
			if !now.Before(x.expires) {
				delete(v.entries, k)
			}
		}
	}
	for k := range v.entries {
		if len(v.entries) < v.max {
			break
		}
		delete(v.entries, k)
	}
	v.entries[sum] = e
}

func (v *verifiedTokens) len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.entries)
}
