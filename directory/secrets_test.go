package directory

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashAndVerifySecret(t *testing.T) {
	h, err := HashSecret("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "correct horse") {
		t.Fatalf("unexpected hash %q", h)
	}
	h2, _ := HashSecret("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one secret are equal: salt is not random")
	}
	for _, tc := range []struct {
		secret string
		want   bool
	}{{"correct horse", true}, {"correct horsE", false}, {"", false}} {
		ok, err := VerifySecret(h, tc.secret)
		if err != nil || ok != tc.want {
			t.Errorf("VerifySecret(%q) = %v, %v; want %v", tc.secret, ok, err, tc.want)
		}
	}
}

func TestVerifySecretAcceptsBcrypt(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := VerifySecret(string(h), "pw"); !ok || err != nil {
		t.Fatalf("bcrypt hash not verified: %v %v", ok, err)
	}
	if ok, err := VerifySecret(string(h), "other"); ok || err != nil {
		t.Fatalf("wrong password accepted: %v %v", ok, err)
	}
}

func TestVerifySecretRejectsMalformedHashes(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2id$", "$argon2id$v=19$m=x$a$b",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=19456,t=2,p=1$!!$a2V5"} {
		if ok, err := VerifySecret(h, "x"); ok || err == nil {
			t.Errorf("VerifySecret(%q) = %v, %v; want false and an error", h, ok, err)
		}
	}
}

func TestNewSecretIsRandom(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b || len(a) != 43 {
		t.Fatalf("secrets %q %q", a, b)
	}
}

// TestNothingIsHashedAtStart: initialising the package (every scimd start,
// even "scimd version") computes no hash; the login's dummy hash is a
// well-formed constant with the current parameters, which no secret matches.
func TestNothingIsHashedAtStart(t *testing.T) {
	if hashesAtStart != 0 {
		t.Fatalf("%d hashes computed during package initialisation", hashesAtStart)
	}
	h, err := HashSecret("x")
	if err != nil {
		t.Fatal(err)
	}
	params := h[:strings.LastIndex(h[:strings.LastIndex(h, "$")], "$")+1] // up to the salt
	if !strings.HasPrefix(dummyHash, params) {
		t.Fatalf("dummy hash %q does not have the parameters of %q", dummyHash, params)
	}
	for _, pw := range []string{"", "x", "scimd-dummy-password"} {
		if ok, err := VerifySecret(dummyHash, pw); ok || err != nil {
			t.Fatalf("VerifySecret(dummyHash, %q) = %v, %v", pw, ok, err)
		}
	}
}
