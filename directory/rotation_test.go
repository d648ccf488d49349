package directory

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// RotateSigningKeyOlderThan rotates only a key at least that old, once for
// any number of replicas; a token signed with the previous key verifies until
// it expires, and the old key is dropped at the next rotation after that.
func TestScheduledKeyRotation(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	const every = 720 * time.Hour
	replica := New(f.store, Options{Now: f.clock.Now, Logger: f.svc.log, Issuer: "https://scimd.test"})

	if rotated, err := f.svc.RotateSigningKeyOlderThan(ctx, every); err != nil || rotated {
		t.Fatalf("a fresh key was rotated: %v, %v", rotated, err)
	}
	f.clock.Add(every - time.Second)
	before, err := f.svc.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if rotated, _ := f.svc.RotateSigningKeyOlderThan(ctx, every); rotated {
		t.Fatal("a key younger than the period was rotated")
	}
	f.clock.Add(time.Second)
	// Both replicas run the schedule: one rotation in all.
	r1, err1 := f.svc.RotateSigningKeyOlderThan(ctx, every)
	r2, err2 := replica.RotateSigningKeyOlderThan(ctx, every)
	if err1 != nil || err2 != nil || !r1 || r2 {
		t.Fatalf("rotations %v %v (%v, %v); want exactly the first", r1, r2, err1, err2)
	}
	keys, _ := f.store.SigningKeys(ctx)
	if len(keys) != 2 || keys[0].NotAfter.IsZero() || !keys[1].NotAfter.IsZero() {
		t.Fatalf("after rotation: %d keys, want the retired one and an active one", len(keys))
	}
	after, err := replica.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if kid(t, after.Token) == kid(t, before.Token) {
		t.Fatal("the token after rotation is signed with the old key")
	}
	// The token signed before the rotation verifies on both replicas until it expires.
	f.clock.Add(AccessTokenTTL - 2*time.Second)
	for _, s := range []*Service{f.svc, replica} {
		if _, err := s.Authenticate(ctx, before.Token); err != nil {
			t.Fatalf("a token signed before the rotation stopped verifying before it expired: %v", err)
		}
	}
	f.clock.Add(clockSkew + 3*time.Second)
	if _, err := f.svc.Authenticate(ctx, before.Token); KindOf(err) != KindUnauthenticated {
		t.Fatalf("an expired token verified: %v", err)
	}
	fresh, err := f.svc.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replica.Authenticate(ctx, fresh.Token); err != nil || kid(t, fresh.Token) != kid(t, after.Token) {
		t.Fatalf("a token of the new key: %v", err)
	}
	// The retired key is gone at the next rotation.
	f.clock.Add(every)
	if rotated, err := f.svc.RotateSigningKeyOlderThan(ctx, every); err != nil || !rotated {
		t.Fatalf("second scheduled rotation: %v, %v", rotated, err)
	}
	keys, _ = f.store.SigningKeys(ctx)
	if len(keys) != 2 || keys[0].ID != kid(t, after.Token) {
		t.Fatalf("after the second rotation: %d keys, want the previous one and a new one", len(keys))
	}
}

// kid returns the key id in a JWT's header.
func kid(t *testing.T, token string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(raw, &h); err != nil || h.Kid == "" {
		t.Fatalf("no kid in %s", raw)
	}
	return h.Kid
}
