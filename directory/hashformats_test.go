package directory

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd/storage"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// foreignHashes returns password hashed in every accepted foreign format,
// built here from the primitives the way the other systems build them.
func foreignHashes(t *testing.T, password string) map[string]string {
	t.Helper()
	b64 := base64.RawStdEncoding
	salt := []byte("0123456789abcdef")
	bc, err := bcrypt.GenerateFromPassword([]byte(password), 4)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scrypt.Key([]byte(password), salt, 1<<10, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := pbkdf2.Key(sha256.New, password, salt, 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	dj, err := pbkdf2.Key(sha256.New, password, []byte("djangosalt"), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append([]byte(password), salt...))
	// passlib's adapted base64: "." for "+", no padding.
	ab64 := func(b []byte) string { return strings.ReplaceAll(b64.EncodeToString(b), "+", ".") }
	return map[string]string{
		"bcrypt":         string(bc),
		"scrypt":         fmt.Sprintf("$scrypt$ln=10,r=8,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(sc)),
		"pbkdf2-phc":     fmt.Sprintf("$pbkdf2-sha256$i=1000$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(pb)),
		"pbkdf2-passlib": fmt.Sprintf("$pbkdf2-sha256$1000$%s$%s", ab64(salt), ab64(pb)),
		"pbkdf2-django":  fmt.Sprintf("pbkdf2_sha256$1000$djangosalt$%s", base64.StdEncoding.EncodeToString(dj)),
		"ssha256":        "{SSHA256}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...)),
		"argon2id-other": phcOther(password, salt),
	}
}

// phcOther is an argon2id hash with parameters other than scimd's.
func phcOther(password string, salt []byte) string {
	key := argon2IDKey([]byte(password), salt, 1, 8*1024, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Each imported hash format logs in with its password (and not another), and
// the successful login replaces it with scimd's own argon2id hash, which then
// logs in too.
func TestImportedHashFormatsLoginAndRehash(t *testing.T) {
	const password = "imported-pass-1"
	for name, hash := range foreignHashes(t, password) {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			if _, err := ParseHash(hash); err != nil {
				t.Fatalf("ParseHash: %v", err)
			}
			if !NeedsRehash(hash) {
				t.Fatal("a foreign hash does not need a rehash")
			}
			u, err := f.svc.CreateUser(ctx, f.pA, user("ada"), &PasswordInput{Hash: hash})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), "wrong-password"); KindOf(err) != KindUnauthenticated {
				t.Fatalf("wrong password: %v", err)
			}
			stored, _ := f.store.GetUser(ctx, u.ID)
			if stored.Password.Hash != hash {
				t.Fatal("a failed login changed the hash")
			}
			if _, _, err := f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), password); err != nil {
				t.Fatalf("login with the imported hash: %v", err)
			}
			stored, _ = f.store.GetUser(ctx, u.ID)
			if NeedsRehash(stored.Password.Hash) || !strings.HasPrefix(stored.Password.Hash, "$argon2id$") {
				t.Fatalf("after login the hash is %q, want scimd's argon2id", stored.Password.Hash)
			}
			if _, _, err := f.svc.PasswordLogin(ctx, Client{}, f.appA.ClientID, Username("ada"), password); err != nil {
				t.Fatalf("login with the re-hashed password: %v", err)
			}
		})
	}
}

// Malformed or unbounded hashes are refused with a clear error naming
// hashed_password, and nothing is created.
func TestParseHashRefuses(t *testing.T) {
	b64 := base64.RawStdEncoding.EncodeToString
	key := b64(make([]byte, 32))
	for _, h := range []string{
		"plain-text",
		"$md5$abc",
		"$scrypt$ln=30,r=8,p=1$c2FsdA$" + key,            // 2^30 · 8: too much memory
		"$pbkdf2-sha256$i=99999999$c2FsdA$" + key,        // too many iterations
		"$pbkdf2-sha256$i=1000$c2FsdA$" + b64([]byte{1}), // key too short
		"{SSHA256}" + b64([]byte("short")),
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$" + key,
		"$2b$31$" + strings.Repeat("a", 53), // bcrypt cost 31
	} {
		if _, err := ParseHash(h); KindOf(err) != KindInvalid || FieldOf(err) != "hashed_password" {
			t.Errorf("ParseHash(%q) = %v, want KindInvalid on hashed_password", h, err)
		}
	}
	f := newFixture(t)
	if _, err := f.svc.CreateUser(t.Context(), f.pA, user("ada"), &PasswordInput{Hash: "$md5$abc"}); KindOf(err) != KindInvalid {
		t.Fatalf("create with a bad hash: %v", err)
	}
	if _, err := f.store.FindUser(t.Context(), storage.FieldUserName, "ada"); err == nil {
		t.Fatal("a user was created with a bad hash")
	}
}
