package directory

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"
)

// BenchmarkVerifiedTokensPutFull: a new token put into a cache full of
// unexpired ones (MaxVerifiedTokens of them), which must evict one.
func BenchmarkVerifiedTokensPutFull(b *testing.B) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := newVerifiedTokens(MaxVerifiedTokens)
	key := func(i int) (k [sha256.Size]byte) {
		binary.BigEndian.PutUint64(k[:], uint64(i))
		return k
	}
	for i := range MaxVerifiedTokens {
		v.put(key(i), verifiedToken{expires: now.Add(time.Hour + time.Duration(i)*time.Millisecond)}, now)
	}
	b.ResetTimer()
	for i := range b.N {
		v.put(key(MaxVerifiedTokens+i), verifiedToken{expires: now.Add(2*time.Hour + time.Duration(i)*time.Millisecond)}, now)
	}
}
