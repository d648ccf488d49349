package directory

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane),
// about 20 ms a hash on a small core — slow for an attacker, cheap enough for a
// login or a token request.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// Limits on hashing. Every argon2id computation holds argonMemoryKiB (19 MiB)
// for about 20 ms of one core, and anyone can trigger one (a wrong client
// secret, a login), so the process runs at most DefaultHashConcurrency() of
// them at once (or what SetHashConcurrency says): memory stays bounded under
// any flood. A check that finds every slot
// taken waits up to HashWait, then fails with KindUnavailable (503,
// Retry-After: 1).
const (
	// HashWait is how long a hash computation waits for a free slot.
	HashWait = time.Second
	// MaxDefaultHashConcurrency caps the default number of slots (76 MiB of argon2id memory).
	MaxDefaultHashConcurrency = 4
)

// DefaultHashConcurrency is the default number of hash computations run at
// once: one per CPU (GOMAXPROCS), at most MaxDefaultHashConcurrency.
func DefaultHashConcurrency() int { return min(runtime.GOMAXPROCS(0), MaxDefaultHashConcurrency) }

// hashing is the process-wide gate every hash computation goes through:
// memory is a resource of the process, whatever number of Services it runs.
// It is made on first use (gate), so that it exists even for a hash computed
// while the package initialises — which nothing may do; a test checks.
var hashing atomic.Pointer[hashGate]

func gate() *hashGate {
	if g := hashing.Load(); g != nil {
		return g
	}
	hashing.CompareAndSwap(nil, newHashGate(DefaultHashConcurrency(), HashWait))
	return hashing.Load()
}

// SetHashConcurrency sets how many hash computations (argon2id or bcrypt) the
// process runs at once (n < 1 means 1). Call it before serving: computations
// already waiting keep the previous limit.
func SetHashConcurrency(n int) { hashing.Store(newHashGate(max(n, 1), HashWait)) }

// hashGate bounds concurrent hash computations.
type hashGate struct {
	slots          chan struct{}
	wait           time.Duration
	inFlight, peak atomic.Int64 // observed by tests
}

func newHashGate(n int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, n), wait: wait}
}

// errHashingBusy is returned when no hashing slot frees up within HashWait.
var errHashingBusy = &Error{Kind: KindUnavailable, RetryAfter: time.Second,
	Msg: "the server is busy checking credentials; try again in a second"}

// run runs fn in a hashing slot, waiting for one at most g.wait. It fails
// with errHashingBusy, or with ctx's error when the caller gives up first.
func (g *hashGate) run(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			return errHashingBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	n := g.inFlight.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	defer g.inFlight.Add(-1)
	fn()
	return nil
}

// HashSecret returns a PHC-formatted argon2id hash of secret (a password or a
// client secret), with a fresh random salt. It fails with KindUnavailable
// when the process is hashing at capacity (see HashWait).
func HashSecret(secret string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("directory: hash secret: %w", err)
	}
	var key []byte
	if err := gate().run(context.Background(), func() {
		key = argon2.IDKey([]byte(secret), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	}); err != nil {
		return "", err
	}
	return phcArgon2id(salt, key), nil
}

func phcArgon2id(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// dummyHash is checked when a login names no user or a user without a
// password, so that it costs as much as a wrong password. It is well-formed
// with the current parameters but made without hashing anything (nothing is
// computed at start), and its all-zero key matches no secret.
var dummyHash = phcArgon2id(make([]byte, argonSaltLen), make([]byte, argonKeyLen))

// errBadHash is returned for a stored hash this package cannot read.
var errBadHash = errors.New("directory: unrecognised secret hash")

// VerifySecret reports whether secret matches hash: a PHC argon2id hash made
// by HashSecret or a hash in one of the formats ParseHash accepts (imported
// passwords). Comparisons of derived keys are constant-time. A malformed hash
// never matches and returns an error. It fails with KindUnavailable when the
// process is hashing at capacity.
func VerifySecret(hash, secret string) (bool, error) {
	return verifySecret(context.Background(), hash, secret)
}

// verifySecret is VerifySecret giving up when ctx ends.
func verifySecret(ctx context.Context, hash, secret string) (bool, error) {
	return verifyParsed(ctx, hash, secret)
}

// checkSecret is verifySecret for a caller that only needs to know whether
// the secret matched: a malformed stored hash matches nothing (false, nil),
// and the error is that of a check that could not run (busy, ctx ended).
func checkSecret(ctx context.Context, hash, secret string) (bool, error) {
	ok, err := verifySecret(ctx, hash, secret)
	if err != nil && (KindOf(err) == KindUnavailable || ctx.Err() != nil) {
		return false, err
	}
	return ok, nil
}

// argon2IDKey is argon2.IDKey; every argon2id computation goes through it.
func argon2IDKey(secret, salt []byte, passes, memory uint32, threads uint8, keyLen uint32) []byte {
	return argon2.IDKey(secret, salt, passes, memory, threads, keyLen)
}

// NewSecret returns a random 256-bit secret, URL-safe base64 encoded.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("directory: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
