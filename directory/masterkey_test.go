package directory

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"
)

// A master key seals the signing keys' private halves in the store; tokens
// keep working; without the key the service refuses to start, saying why; a
// store in clear is sealed at the first start with a master key; rotating
// the master key (new + previous) re-seals, and afterwards the new key alone
// suffices.
func TestMasterKeySealsSigningKeys(t *testing.T) {
	f := newFixture(t) // its signing key is stored in clear
	ctx := t.Context()
	k1 := bytes.Repeat([]byte{1}, MasterKeySize)
	k2 := bytes.Repeat([]byte{2}, MasterKeySize)
	svc := func(cur, prev []byte) *Service {
		return New(f.store, Options{Now: f.clock.Now, Logger: f.svc.log, Issuer: "https://scimd.test", MasterKey: cur, PreviousMasterKey: prev})
	}
	sealedAll := func(want bool) {
		t.Helper()
		keys, err := f.store.SigningKeys(ctx)
		if err != nil || len(keys) == 0 {
			t.Fatalf("keys: %v", err)
		}
		for _, k := range keys {
			_, perr := x509.ParsePKCS8PrivateKey(k.PrivateKey)
			if want == (perr == nil) || want != isSealed(k.PrivateKey) {
				t.Fatalf("key %s sealed=%v, want %v", k.ID, isSealed(k.PrivateKey), want)
			}
		}
	}
	sealedAll(false)
	tok, err := f.svc.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	if err != nil {
		t.Fatal(err)
	}

	s1 := svc(k1, nil)
	if err := s1.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	sealedAll(true)
	if err := s1.RotateSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	sealedAll(true)
	tok1, err := s1.IssueClientToken(ctx, f.appA.ClientID, f.secretA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{tok.Token, tok1.Token} {
		if _, err := s1.Authenticate(ctx, tk); err != nil {
			t.Fatalf("a token does not verify under the master key: %v", err)
		}
	}

	// Without the master key (or with another one) the keys cannot be read.
	for name, s := range map[string]*Service{"none": svc(nil, nil), "another": svc(k2, nil)} {
		if err := s.EnsureSigningKey(ctx); err == nil || !strings.Contains(err.Error(), "SCIMD_MASTER_KEY") {
			t.Fatalf("start with %s master key: %v, want a refusal naming SCIMD_MASTER_KEY", name, err)
		}
	}
	sealedAll(true)

	// Rotation of the master key: new and previous together, then new alone.
	if err := svc(k2, k1).EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	s2 := svc(k2, nil)
	if err := s2.EnsureSigningKey(ctx); err != nil {
		t.Fatalf("after re-sealing, the new master key alone: %v", err)
	}
	if _, err := s2.Authenticate(ctx, tok1.Token); err != nil {
		t.Fatalf("a token from before the master-key rotation: %v", err)
	}
	if err := svc(k1, nil).EnsureSigningKey(ctx); err == nil {
		t.Fatal("the old master key still opens the keys after rotation")
	}
}

func TestParseMasterKey(t *testing.T) {
	if k, err := ParseMasterKey("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="); err != nil || len(k) != MasterKeySize {
		t.Fatalf("valid key: %v", err)
	}
	for _, bad := range []string{"short", "AQEB", "!!!!"} {
		if _, err := ParseMasterKey(bad); err == nil {
			t.Errorf("ParseMasterKey(%q) accepted", bad)
		}
	}
}
