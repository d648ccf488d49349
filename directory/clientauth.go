package directory

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"math"
	"sync"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Failure budgets of the token endpoint (client_credentials). Client ids are
// not secret, so anyone can make scimd check secrets; these budgets stop a
// flood of wrong secrets after a few checks, before any hashing. They are
// kept in memory, per replica: with N replicas an attacker gets N times them.
const (
	// MaxClientSecretFailures wrong secrets for one client id within
	// SecretFailureWindow make further secret checks of that client fail with
	// KindRateLimited (429, Retry-After) until the window frees one, except
	// for a secret that verified within VerifiedSecretTTL.
	MaxClientSecretFailures = 10
	// MaxIPSecretFailures failed token requests (wrong secret or unknown
	// client id) from one IP address within SecretFailureWindow do the same
	// for every request from that address. Behind a proxy every client shares
	// the proxy's address unless the proxy is in -trusted-proxies (then the
	// address it forwards counts; see httpx.Proxies).
	MaxIPSecretFailures = 30
	// SecretFailureWindow is the window of both budgets; a budget refills
	// continuously, one failure every window/budget.
	SecretFailureWindow = time.Minute
	// VerifiedSecretTTL is how long a client secret that verified is
	// recognised without hashing (and through a failure block).
	VerifiedSecretTTL = 10 * time.Minute
	// maxVerifiedSecrets caps that memory; past it, a new secret evicts the
	// one remembered longest (see verifiedSecrets).
	maxVerifiedSecrets = 10_000
)

// failureLimiter is a token bucket per key: each failure takes a token, a key
// without one is blocked, and tokens come back at burst per window.
type failureLimiter struct {
	mu        sync.Mutex
	now       func() time.Time
	burst     float64
	refill    time.Duration // time to earn back one token
	buckets   map[string]*bucket
	nextSweep int
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newFailureLimiter(now func() time.Time, burst int, window time.Duration) *failureLimiter {
	return &failureLimiter{now: now, burst: float64(burst), refill: window / time.Duration(burst),
		buckets: map[string]*bucket{}, nextSweep: 1024}
}

// level returns the tokens of b now.
func (l *failureLimiter) level(b *bucket, now time.Time) float64 {
	return math.Min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.refill))
}

// blocked reports whether key has no failure left, and when it will have one.
func (l *failureLimiter) blocked(key string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return 0, false
	}
	tokens := l.level(b, l.now())
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) * float64(l.refill)), true
}

// fail takes a token from key.
func (l *failureLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.nextSweep { // forget full buckets, amortised O(1)
			for k, b := range l.buckets {
				if l.level(b, now) >= l.burst {
					delete(l.buckets, k)
				}
			}
			l.nextSweep = max(1024, 2*len(l.buckets))
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens, b.at = math.Max(0, l.level(b, now)-1), now
}

// verifiedSecrets remembers client secrets that verified, as an HMAC (under a
// key drawn at start) of the stored hash and the secret: the same client
// presenting the same secret again within VerifiedSecretTTL costs no hashing,
// and is let through while its client id or address is blocked by a flood of
// wrong secrets. Keying by the stored hash forgets a secret when it is rotated.
// At most maxVerifiedSecrets, by expiringSet's rule (the one of
// verifiedTokens): when full, a new secret evicts the one remembered longest.
type verifiedSecrets struct {
	now func() time.Time
	key []byte
	set *expiringSet[struct{}]
}

func newVerifiedSecrets(now func() time.Time) *verifiedSecrets {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("directory: crypto/rand failed: " + err.Error())
	}
	return &verifiedSecrets{now: now, key: key, set: newExpiringSet[struct{}](maxVerifiedSecrets)}
}

func (v *verifiedSecrets) sum(hash, secret string) (out [sha256.Size]byte) {
	mac := hmac.New(sha256.New, v.key)
	mac.Write([]byte(hash))
	mac.Write([]byte{0})
	mac.Write([]byte(secret))
	copy(out[:], mac.Sum(nil))
	return out
}

func (v *verifiedSecrets) has(hash, secret string) bool {
	_, exp, ok := v.set.get(v.sum(hash, secret))
	return ok && v.now().Before(exp)
}

func (v *verifiedSecrets) add(hash, secret string) {
	now := v.now()
	v.set.put(v.sum(hash, secret), struct{}{}, now.Add(VerifiedSecretTTL), now)
}

var errBadClient = Errorf(KindUnauthenticated, "invalid client credentials")

// clientGuard holds the token endpoint's failure budgets and remembered secrets.
type clientGuard struct {
	clients, ips *failureLimiter
	verified     *verifiedSecrets
}

func newClientGuard(now func() time.Time) *clientGuard {
	return &clientGuard{
		clients:  newFailureLimiter(now, MaxClientSecretFailures, SecretFailureWindow),
		ips:      newFailureLimiter(now, MaxIPSecretFailures, SecretFailureWindow),
		verified: newVerifiedSecrets(now),
	}
}

func rateLimited(msg string, wait time.Duration) error {
	return &Error{Kind: KindRateLimited, Msg: msg, RetryAfter: wait}
}

// blockedIP fails when ip has used up its failures ("" is never blocked).
func (g *clientGuard) blockedIP(ip string) error {
	if wait, blocked := g.ips.blocked(ip); ip != "" && blocked {
		return rateLimited("too many failed token requests from this address; try again later", wait)
	}
	return nil
}

// unknownClient counts a token request for a client id that does not exist.
func (g *clientGuard) unknownClient(ip string) error {
	if err := g.blockedIP(ip); err != nil {
		return err
	}
	if ip != "" {
		g.ips.fail(ip)
	}
	return errBadClient
}

// checkClientSecret checks secret against the app's unexpired secrets, within
// the failure budgets of the app's client id and of ip, and the process-wide
// hashing limit. It returns nil when the secret matches, errBadClient when it
// does not, KindRateLimited when a budget is used up, KindUnavailable when
// hashing is at capacity.
func (s *Service) checkClientSecret(ctx context.Context, app *schemas.App, secret, ip string) error {
	g := s.clients
	now := s.clock()
	var live []schemas.ClientSecret
	for _, cs := range app.Secrets {
		if cs.Expires.IsZero() || now.Before(cs.Expires) {
			live = append(live, cs)
		}
	}
	for _, cs := range live {
		if g.verified.has(cs.Hash, secret) {
			return nil
		}
	}
	if wait, blocked := g.clients.blocked(app.ClientID); blocked {
		return rateLimited("too many failed token requests for this client; try again later", wait)
	}
	if err := g.blockedIP(ip); err != nil {
		return err
	}
	for _, cs := range live {
		ok, err := checkSecret(ctx, cs.Hash, secret)
		if err != nil {
			return err
		}
		if ok {
			g.verified.add(cs.Hash, secret)
			return nil
		}
	}
	g.clients.fail(app.ClientID)
	if ip != "" {
		g.ips.fail(ip)
	}
	return errBadClient
}
