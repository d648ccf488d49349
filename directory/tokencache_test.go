package directory

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
)

// reasons records the reasons of refused credentials.
type reasons struct {
	mu  sync.Mutex
	got []string
}

func (r *reasons) TokenIssued(string) {}
func (r *reasons) LoginLockedOut()    {}
func (r *reasons) AuthFailed(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, reason)
}

func (r *reasons) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		return ""
	}
	return r.got[len(r.got)-1]
}

// cachedToken issues app A a token and authenticates it once, which caches
// it as verified.
func (f *fixture) cachedToken(t *testing.T) string {
	t.Helper()
	tok, err := f.svc.IssueClientToken(t.Context(), f.appA.ClientID, f.secretA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(t.Context(), tok.Token); err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// A verified token is verified once: later requests with the same text skip
// the signature check but not the claims, the key set or the revocation
// checks, and no other text ever hits its entry.
func TestVerifiedTokenCache(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	obs := &reasons{}
	svc := New(f.store, Options{Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Issuer: "https://scimd.test", Observer: obs})
	tok, err := svc.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if p, err := svc.Authenticate(ctx, tok.Token); err != nil || p.AppID != f.appA.ID {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
	}
	if n := svc.verified.len(); n != 1 {
		t.Fatalf("%d verified tokens cached, want 1", n)
	}

	// Only the exact text hits: the same header and claims with another
	// signature, or the claims changed under the cached signature, are
	// verified in full and refused.
	parts := strings.Split(tok.Token, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(claims), f.appA.ID, f.appB.ID, 1)
	for name, bad := range map[string]string{
		"another signature": parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig),
		"other claims":      parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2],
		"trailing space":    tok.Token + " ",
	} {
		if _, err := svc.Authenticate(ctx, bad); KindOf(err) != KindUnauthenticated || obs.last() != AuthFailureInvalidToken {
			t.Errorf("%s: %v (%s)", name, err, obs.last())
		}
	}
	if n := svc.verified.len(); n != 1 {
		t.Fatalf("refused tokens were cached: %d entries", n)
	}

	// Expiry is checked on a hit, with the same leeway as the parser's.
	f.clock.Add(AccessTokenTTL + clockSkew - time.Second)
	if _, err := svc.Authenticate(ctx, tok.Token); err != nil {
		t.Fatalf("a token within the leeway was refused: %v", err)
	}
	f.clock.Add(2 * time.Second)
	if _, err := svc.Authenticate(ctx, tok.Token); KindOf(err) != KindUnauthenticated || obs.last() != AuthFailureExpired {
		t.Fatalf("an expired cached token: %v (%s)", err, obs.last())
	}
	if _, ok := svc.verified.get(sha256.Sum256([]byte(tok.Token))); ok {
		t.Error("the expired token stays cached")
	}
}

// A cached token stops verifying as soon as its key leaves the key set (a
// key dropped from the store, seen at the next refresh), although it has not
// expired.
func TestVerifiedTokenCacheKeyRemoved(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tok := f.cachedToken(t)
	// Another replica replaces the key set with a new key.
	replacement, err := newSigningKey(f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.UpdateSigningKeys(ctx, func([]*schemas.SigningKey) ([]*schemas.SigningKey, error) {
		return []*schemas.SigningKey{replacement}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, tok); err != nil {
		t.Fatalf("before the refresh, the keyring still holds the key: %v", err)
	}
	f.clock.Add(keyRefresh + time.Second)
	if _, err := f.svc.Authenticate(ctx, tok); KindOf(err) != KindUnauthenticated {
		t.Fatalf("a cached token of a removed key: %v", err)
	}
}

// Revocation checks made after verification run on every request: a
// cached token of a deleted app is refused.
func TestVerifiedTokenCacheAppDeleted(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tok := f.cachedToken(t)
	if err := f.svc.DeleteApp(ctx, f.admin, schemas.AppRegular, f.appA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, tok); KindOf(err) != KindUnauthenticated {
		t.Fatalf("a cached token of a deleted app: %v", err)
	}
}

// The cache holds at most its bound, making room among expired entries
// first.
func TestVerifiedTokenCacheBound(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.svc.verified = newVerifiedTokens(3)
	old := f.cachedToken(t)
	f.clock.Add(AccessTokenTTL + clockSkew + time.Second) // old expires
	var live []string
	for range 3 {
		live = append(live, f.cachedToken(t))
		f.clock.Add(time.Second)
	}
	if n := f.svc.verified.len(); n != 3 {
		t.Fatalf("%d entries, want the bound, 3", n)
	}
	if _, ok := f.svc.verified.get(sha256.Sum256([]byte(old))); ok {
		t.Error("the expired entry was kept and a live one evicted")
	}
	for range 5 {
		f.cachedToken(t)
	}
	if n := f.svc.verified.len(); n != 3 {
		t.Fatalf("%d entries, want the bound, 3", n)
	}
	for _, tok := range live { // evicted or not, they still verify
		if _, err := f.svc.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
}

// expiringSet's one rule when full: the entry that expires first goes — an
// expired one when there is any, else the soonest to expire —, whatever the
// order of insertion; a replaced entry moves with its new expiry; a dropped
// one leaves no trace; an entry expired already is not stored.
func TestExpiringSet(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := func(i byte) (out [sha256.Size]byte) { out[0] = i; return out }
	s := newExpiringSet[int](3)
	s.put(k(1), 1, now.Add(3*time.Minute), now)
	s.put(k(2), 2, now.Add(1*time.Minute), now)
	s.put(k(3), 3, now.Add(2*time.Minute), now)
	has := func(want ...byte) {
		t.Helper()
		if n := s.len(); n != len(want) {
			t.Fatalf("%d entries, want %d", n, len(want))
		}
		for _, i := range want {
			if v, _, ok := s.get(k(i)); !ok || v != int(i) {
				t.Fatalf("entry %d: %v, %v", i, v, ok)
			}
		}
	}
	has(1, 2, 3)
	later := now.Add(90 * time.Second) // 2 has expired
	s.put(k(4), 4, later.Add(10*time.Minute), later)
	has(1, 3, 4)
	s.put(k(5), 5, later.Add(10*time.Minute), later) // none expired: 3 expires first
	has(1, 4, 5)
	s.put(k(1), 10, later.Add(time.Hour), later) // replaced: now the last to expire
	if v, exp, _ := s.get(k(1)); v != 10 || !exp.Equal(later.Add(time.Hour)) {
		t.Fatalf("replaced entry: %d until %v", v, exp)
	}
	s.put(k(6), 6, later.Add(20*time.Minute), later) // 4 and 5 tie; one goes, 1 stays
	if _, _, ok := s.get(k(1)); !ok || s.len() != 3 {
		t.Fatalf("the replaced entry was evicted (%d entries)", s.len())
	}
	s.drop(k(6))
	s.drop(k(6))
	if _, _, ok := s.get(k(6)); ok || s.len() != 2 {
		t.Fatalf("dropped entry still there (%d entries)", s.len())
	}
	s.put(k(7), 7, later, later) // expired already
	if _, _, ok := s.get(k(7)); ok {
		t.Fatal("an expired entry was stored")
	}
	// Entries that expire later push the others out, soonest to expire
	// first (the heap stays ordered through the replaces and drops above).
	var got []int
	for i := range 3 {
		s.put(k(byte(20+i)), 20+i, later.Add(48*time.Hour+time.Duration(i)), later)
	}
	for _, e := range s.byExp {
		got = append(got, e.val)
	}
	if s.len() != 3 || len(got) != 3 {
		t.Fatalf("entries %v", got)
	}
	for _, i := range []int{20, 21, 22} {
		if _, _, ok := s.get(k(byte(i))); !ok {
			t.Fatalf("entry %d missing: %v", i, got)
		}
	}
}

// A client secret that verified is remembered even when the memory of
// secrets is full of unexpired ones (the one remembered longest makes
// room; a full memory used to refuse every new secret until one expired).
func TestVerifiedSecretsWhenFull(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := newVerifiedSecrets(func() time.Time { return now })
	for i := range maxVerifiedSecrets {
		v.add("hash", strconv.Itoa(i))
		now = now.Add(time.Microsecond)
	}
	v.add("hash", "new")
	if !v.has("hash", "new") {
		t.Fatal("a secret that verified with the memory full is not remembered")
	}
	if v.has("hash", "0") || !v.has("hash", "1") {
		t.Fatal("not the oldest secret made room")
	}
	now = now.Add(VerifiedSecretTTL)
	if v.has("hash", "new") {
		t.Fatal("a secret is remembered past VerifiedSecretTTL")
	}
}
