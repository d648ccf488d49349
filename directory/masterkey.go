package directory

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// Encryption at rest of the token signing keys' private halves with a
// master key (Options.MasterKey, from SCIMD_MASTER_KEY): AES-256-GCM, a fresh
// random nonce per seal, the key id as additional data (a sealed key cannot
// be moved to another key id). A sealed private key is stored as
//
//	"scimd-gcm1" ‖ fingerprint (8 bytes of SHA-256 of the master key) ‖ nonce (12) ‖ ciphertext+tag
//
// With a master key set, every private key is sealed when it is created and,
// at start (EnsureSigningKey), every key stored in clear or sealed with
// Options.PreviousMasterKey is sealed again with the master key: that is how a
// master key is introduced and rotated. Without the master key a sealed key
// cannot be read and the service fails to start, saying so. The other secrets
// scimd keeps are one-way hashes already (client secrets, API tokens,
// passwords) and are not encrypted.

// MasterKeySize is the length of a master key in bytes (AES-256).
const MasterKeySize = 32

var sealedMagic = []byte("scimd-gcm1")

// masterKey is a master key ready to seal and open.
type masterKey struct {
	aead        cipher.AEAD
	fingerprint []byte
}

// ParseMasterKey decodes a master key given as base64 (standard or URL
// alphabet, padded or not) of MasterKeySize random bytes, such as the output
// of `openssl rand -base64 32`.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != MasterKeySize {
				return nil, fmt.Errorf("a master key must be %d bytes (base64 of `openssl rand -base64 32`), not %d", MasterKeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("a master key must be base64 (`openssl rand -base64 32`)")
}

func newMasterKey(key []byte) (*masterKey, error) {
	if key == nil {
		return nil, nil
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("directory: master key of %d bytes, want %d", len(key), MasterKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	return &masterKey{aead: aead, fingerprint: sum[:8]}, nil
}

func isSealed(b []byte) bool { return bytes.HasPrefix(b, sealedMagic) }

func (m *masterKey) sealedWith(b []byte) bool {
	return m != nil && isSealed(b) && len(b) > len(sealedMagic)+8 && bytes.Equal(b[len(sealedMagic):len(sealedMagic)+8], m.fingerprint)
}

func (m *masterKey) seal(kid string, plain []byte) []byte {
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("directory: crypto/rand failed: " + err.Error())
	}
	out := append(append(append([]byte(nil), sealedMagic...), m.fingerprint...), nonce...)
	return m.aead.Seal(out, nonce, plain, []byte(kid))
}

func (m *masterKey) open(kid string, sealed []byte) ([]byte, error) {
	rest := sealed[len(sealedMagic)+8:]
	n := m.aead.NonceSize()
	if len(rest) < n {
		return nil, errors.New("truncated")
	}
	return m.aead.Open(nil, rest[:n], rest[n:], []byte(kid))
}

// privateKeyDER returns a signing key's PKCS#8 private key, opening it with
// the master key (or the previous one) when it is sealed.
func (s *Service) privateKeyDER(k *schemas.SigningKey) ([]byte, error) {
	if !isSealed(k.PrivateKey) {
		return k.PrivateKey, nil
	}
	for _, m := range []*masterKey{s.master, s.prevMaster} {
		if m.sealedWith(k.PrivateKey) {
			der, err := m.open(k.ID, k.PrivateKey)
			if err != nil {
				return nil, fmt.Errorf("signing key %s does not decrypt with the master key: %v", k.ID, err)
			}
			return der, nil
		}
	}
	return nil, fmt.Errorf("signing key %s is encrypted with a master key scimd was not given (set SCIMD_MASTER_KEY, and SCIMD_MASTER_KEY_PREVIOUS while rotating it)", k.ID)
}

// sealKeys returns keys with every private key sealed with the master key
// (none changed without one), and whether any changed.
func (s *Service) sealKeys(keys []*schemas.SigningKey) ([]*schemas.SigningKey, bool, error) {
	if s.master == nil {
		return keys, false, nil
	}
	changed := false
	out := make([]*schemas.SigningKey, len(keys))
	for i, k := range keys {
		out[i] = k
		if s.master.sealedWith(k.PrivateKey) {
			continue
		}
		der, err := s.privateKeyDER(k)
		if err != nil {
			return nil, false, err
		}
		c := *k
		c.PrivateKey = s.master.seal(k.ID, der)
		out[i], changed = &c, true
	}
	return out, changed, nil
}
