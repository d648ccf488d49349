package directory

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
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
