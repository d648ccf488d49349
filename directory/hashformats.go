package directory

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Password hash formats. scimd hashes every secret it is given with argon2id
// (HashSecret), but it also accepts hashes made by other systems, so that users
// can be moved in without a password reset: by `scimd import`, the native
// createUser / bulk create `credentials.hashed_password`, and anything else that
// sets PasswordInput.Hash. Such a hash is verified at login like a native one
// and replaced by an argon2id hash of the same password on the next successful
// login (NeedsRehash). The formats:
//
//	argon2id       $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>   (PHC; what scimd writes)
//	bcrypt         $2a$… $2b$… $2y$…
//	scrypt         $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>               (PHC, as passlib writes it)
//	PBKDF2-SHA256  $pbkdf2-sha256$[i=]<iterations>$<salt>$<key>               (PHC and passlib)
//	               pbkdf2_sha256$<iterations>$<salt text>$<key>                (Django)
//	salted SHA-256 {SSHA256}<base64(SHA-256(password ‖ salt) ‖ salt)>          (LDAP)
//
// Salts and keys are base64, padded or not, standard or passlib's "." for "+"
// (Django's salt is used as the text it is). Parameters are bounded so that no
// stored hash can make a login cost unbounded work: argon2id at most 4 GiB and
// 64 passes, scrypt N·r at most 2^20 (128 MiB) and p at most 16, PBKDF2 at
// most 10,000,000 iterations; keys of 16 to 128 bytes.
//
// ParseHash is the one parser of these formats; verifySecret uses it.

// Bounds on imported hash parameters.
const (
	maxPBKDF2Iterations = 10_000_000
	maxScryptNR         = 1 << 20 // N·r: memory is 128·N·r bytes
	maxScryptP          = 16
	minHashKeyLen       = 16
	maxHashKeyLen       = 128
)

// parsedHash is a stored hash read by ParseHash: it can check a secret.
type parsedHash struct {
	scheme string // argon2id, bcrypt, scrypt, pbkdf2-sha256, ssha256
	// verify computes whether secret matches; it runs inside a hashing slot.
	verify func(secret []byte) bool
}

// ParseHash checks that hash is a password hash in one of the accepted
// formats (see above) with parameters within bounds, and returns its scheme
// name. It fails with KindInvalid, naming field "hashed_password", otherwise.
func ParseHash(hash string) (scheme string, err error) {
	p, err := parseHash(hash)
	if err != nil {
		return "", FieldError(KindInvalid, "hashed_password", "hashed_password: %v", err)
	}
	return p.scheme, nil
}

// NeedsRehash reports whether a stored password hash should be replaced by a
// fresh HashSecret of the password at the next successful login: every hash
// that is not argon2id with the current parameters.
func NeedsRehash(hash string) bool {
	return !strings.HasPrefix(hash, fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", argonMemoryKiB, argonTime, argonThreads))
}

func parseHash(hash string) (*parsedHash, error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return parseArgon2id(hash)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return nil, fmt.Errorf("a malformed bcrypt hash: %v", err)
		}
		if cost > 16 {
			return nil, fmt.Errorf("a bcrypt cost above 16 is refused (got %d)", cost)
		}
		return &parsedHash{scheme: "bcrypt", verify: func(secret []byte) bool {
			return bcrypt.CompareHashAndPassword([]byte(hash), secret) == nil
		}}, nil
	case strings.HasPrefix(hash, "$scrypt$"):
		return parseScrypt(hash)
	case strings.HasPrefix(hash, "$pbkdf2-sha256$"), strings.HasPrefix(hash, "pbkdf2_sha256$"):
		return parsePBKDF2(hash)
	case strings.HasPrefix(hash, "{SSHA256}"):
		raw, err := decodeB64(strings.TrimPrefix(hash, "{SSHA256}"))
		if err != nil || len(raw) <= sha256.Size {
			return nil, errors.New("a malformed {SSHA256} hash: want base64 of the 32-byte digest followed by the salt")
		}
		want, salt := raw[:sha256.Size], raw[sha256.Size:]
		return &parsedHash{scheme: "ssha256", verify: func(secret []byte) bool {
			h := sha256.New()
			h.Write(secret)
			h.Write(salt)
			return subtle.ConstantTimeCompare(h.Sum(nil), want) == 1
		}}, nil
	default:
		return nil, errors.New("an unrecognised password hash: want argon2id, bcrypt, scrypt, pbkdf2-sha256 or {SSHA256}")
	}
}

// decodeB64 decodes standard base64, padded or not, also in passlib's
// adapted alphabet ("." for "+").
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.ReplaceAll(s, ".", "+"), "=")
	return base64.RawStdEncoding.DecodeString(s)
}

func keyLenOK(key []byte) error {
	if len(key) < minHashKeyLen || len(key) > maxHashKeyLen {
		return fmt.Errorf("a derived key of %d bytes: want %d to %d", len(key), minHashKeyLen, maxHashKeyLen)
	}
	return nil
}

func parseArgon2id(hash string) (*parsedHash, error) {
	// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return nil, errors.New("a malformed argon2id hash: want $argon2id$v=19$m=…,t=…,p=…$salt$key")
	}
	var version int
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != 19 {
		return nil, errors.New("an argon2id hash of a version other than 19")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil {
		return nil, errors.New("a malformed argon2id hash: bad parameters")
	}
	if memory == 0 || memory > 1<<22 || passes == 0 || passes > 64 || threads == 0 {
		return nil, errors.New("argon2id parameters out of bounds (m ≤ 4 GiB, t ≤ 64, p ≥ 1)")
	}
	salt, err := decodeB64(parts[4])
	if err != nil {
		return nil, errors.New("a malformed argon2id salt")
	}
	want, err := decodeB64(parts[5])
	if err != nil || len(want) == 0 || len(want) > maxHashKeyLen {
		return nil, errors.New("a malformed argon2id key")
	}
	return &parsedHash{scheme: "argon2id", verify: func(secret []byte) bool {
		return subtle.ConstantTimeCompare(argon2IDKey(secret, salt, passes, memory, threads, uint32(len(want))), want) == 1
	}}, nil
}

func parseScrypt(hash string) (*parsedHash, error) {
	// $scrypt$ln=16,r=8,p=1$<salt>$<key>
	parts := strings.Split(hash, "$")
	if len(parts) != 5 {
		return nil, errors.New("a malformed scrypt hash: want $scrypt$ln=…,r=…,p=…$salt$key")
	}
	var ln, r, p int
	if _, err := fmt.Sscanf(parts[2], "ln=%d,r=%d,p=%d", &ln, &r, &p); err != nil {
		return nil, errors.New("a malformed scrypt hash: bad parameters")
	}
	if ln < 1 || ln > 20 || r < 1 || p < 1 || p > maxScryptP || (1<<ln)*r > maxScryptNR {
		return nil, errors.New("scrypt parameters out of bounds (N·r ≤ 2^20, p ≤ 16)")
	}
	salt, err := decodeB64(parts[3])
	if err != nil {
		return nil, errors.New("a malformed scrypt salt")
	}
	want, err := decodeB64(parts[4])
	if err == nil {
		err = keyLenOK(want)
	}
	if err != nil {
		return nil, fmt.Errorf("a malformed scrypt key: %v", err)
	}
	return &parsedHash{scheme: "scrypt", verify: func(secret []byte) bool {
		got, err := scrypt.Key(secret, salt, 1<<ln, r, p, len(want))
		return err == nil && subtle.ConstantTimeCompare(got, want) == 1
	}}, nil
}

func parsePBKDF2(hash string) (*parsedHash, error) {
	django := strings.HasPrefix(hash, "pbkdf2_sha256$")
	parts := strings.Split(strings.TrimPrefix(hash, "$"), "$")
	if len(parts) != 4 {
		return nil, errors.New("a malformed PBKDF2-SHA256 hash: want $pbkdf2-sha256$iterations$salt$key")
	}
	iter, err := strconv.Atoi(strings.TrimPrefix(parts[1], "i="))
	if err != nil || iter < 1 || iter > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PBKDF2 iterations must be 1 to %d", maxPBKDF2Iterations)
	}
	var salt []byte
	if django {
		salt = []byte(parts[2]) // Django uses the salt text as it is
	} else if salt, err = decodeB64(parts[2]); err != nil {
		return nil, errors.New("a malformed PBKDF2 salt")
	}
	want, err := decodeB64(parts[3])
	if err == nil {
		err = keyLenOK(want)
	}
	if err != nil || len(salt) == 0 {
		return nil, fmt.Errorf("a malformed PBKDF2 salt or key")
	}
	return &parsedHash{scheme: "pbkdf2-sha256", verify: func(secret []byte) bool {
		got, err := pbkdf2.Key(sha256.New, string(secret), salt, iter, len(want))
		return err == nil && subtle.ConstantTimeCompare(got, want) == 1
	}}, nil
}

// verifyParsed checks secret against hash in a hashing slot.
func verifyParsed(ctx context.Context, hash, secret string) (bool, error) {
	p, err := parseHash(hash)
	if err != nil {
		return false, errBadHash
	}
	var ok bool
	if err := gate().run(ctx, func() { ok = p.verify([]byte(secret)) }); err != nil {
		return false, err
	}
	return ok, nil
}
