package directory

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scimd/scimd/schemas"
)

// Token settings.
const (
	// AccessTokenTTL is the lifetime of every access token (client and user).
	AccessTokenTTL = time.Hour
	// DefaultAudience is the audience of tokens for the directory APIs.
	DefaultAudience = "userid-api"
	// signingAlg is the only algorithm scimd signs with and accepts.
	signingAlg = "ES256"
	// keyRefresh is how often a replica re-reads the key set, so that keys
	// created or rotated by another replica are picked up.
	keyRefresh = time.Minute
	// clockSkew is the leeway allowed on exp/iat/nbf between replicas.
	clockSkew      = 30 * time.Second
	tokenUseClient = "client"
	tokenUseUser   = "user"
	tokenUseEnrol  = "enrol" // see IssueEnrolmentToken
)

// errBadToken is the answer to every token that does not verify; the reason is
// not disclosed.
var errBadToken = Errorf(KindUnauthenticated, "the access token is missing, malformed, expired or not valid")

// AccessToken is an issued access token.
type AccessToken struct {
	Token     string
	ExpiresIn int // seconds
	Scope     string
}

// tokenClaims are the claims of scimd's access tokens, as in Transmit's tokens.
type tokenClaims struct {
	jwt.RegisteredClaims
	ClientID string   `json:"client_id"`
	AppID    string   `json:"app_id,omitempty"`
	AppName  string   `json:"app_name,omitempty"`
	TenantID string   `json:"tid"`
	Roles    []string `json:"roles,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	TokenUse string   `json:"token_use"`
}

// keyring caches the signing keys read from the store.
type keyring struct {
	mu      sync.RWMutex
	signKID string
	sign    *ecdsa.PrivateKey
	verify  map[string]*ecdsa.PublicKey
	keys    []*schemas.SigningKey
	loaded  time.Time
}

func newSigningKey(now time.Time) (*schemas.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &schemas.SigningKey{ID: ids.next(now), Algorithm: signingAlg, PrivateKey: privDER, PublicKey: pubDER, Created: now}, nil
}

// newSigningKey is newSigningKey with the private key sealed with the
// master key, when there is one.
func (s *Service) newSigningKey(now time.Time) (*schemas.SigningKey, error) {
	k, err := newSigningKey(now)
	if err == nil && s.master != nil {
		k.PrivateKey = s.master.seal(k.ID, k.PrivateKey)
	}
	return k, err
}

// EnsureSigningKey makes sure the store holds an active signing key, creating
// one on first start. Every replica shares the store's keys.
func (s *Service) EnsureSigningKey(ctx context.Context) error {
	err := s.store.UpdateSigningKeys(ctx, func(keys []*schemas.SigningKey) ([]*schemas.SigningKey, error) {
		// With a master key, keys stored in clear or under the previous
		// master key are sealed with the current one.
		keys, _, err := s.sealKeys(keys)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if k.NotAfter.IsZero() {
				return keys, nil
			}
		}
		k, err := s.newSigningKey(s.clock())
		if err != nil {
			return nil, err
		}
		return append(keys, k), nil
	})
	if err != nil {
		return fmt.Errorf("directory: ensure signing key: %w", err)
	}
	return s.reloadKeys(ctx)
}

// RotateSigningKey starts signing with a new key. The previous key keeps
// verifying until every token it signed has expired, so no live token breaks;
// keys past that point are dropped.
func (s *Service) RotateSigningKey(ctx context.Context) error {
	_, err := s.rotateSigningKey(ctx, 0)
	return err
}

// RotateSigningKeyOlderThan rotates the signing key (as RotateSigningKey)
// when the active key was created at least age ago, and reports whether it
// did. The check and the rotation are one atomic update of the key set, so
// replicas running it on the same schedule rotate once.
func (s *Service) RotateSigningKeyOlderThan(ctx context.Context, age time.Duration) (bool, error) {
	return s.rotateSigningKey(ctx, age)
}

func (s *Service) rotateSigningKey(ctx context.Context, age time.Duration) (bool, error) {
	now := s.clock()
	rotated := false
	err := s.store.UpdateSigningKeys(ctx, func(keys []*schemas.SigningKey) ([]*schemas.SigningKey, error) {
		rotated = false
		if age > 0 {
			for _, k := range keys {
				if k.NotAfter.IsZero() && now.Sub(k.Created) < age {
					return keys, nil // the active key is young enough
				}
			}
		}
		k, err := s.newSigningKey(now)
		if err != nil {
			return nil, err
		}
		var kept []*schemas.SigningKey
		for _, old := range keys {
			if old.NotAfter.IsZero() {
				old.NotAfter = now.Add(AccessTokenTTL + clockSkew)
			}
			if old.NotAfter.After(now) {
				kept = append(kept, old)
			}
		}
		rotated = true
		return append(kept, k), nil
	})
	if err != nil {
		return false, fmt.Errorf("directory: rotate signing key: %w", err)
	}
	return rotated, s.reloadKeys(ctx)
}

// reloadKeys reads the key set from the store into the keyring.
func (s *Service) reloadKeys(ctx context.Context) error {
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("directory: read signing keys: %w", err)
	}
	now := s.clock()
	verify := map[string]*ecdsa.PublicKey{}
	var signKID string
	var sign *ecdsa.PrivateKey
	for _, k := range keys {
		if !k.NotAfter.IsZero() && !k.NotAfter.After(now) {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
		if err != nil {
			return fmt.Errorf("directory: signing key %s: %w", k.ID, err)
		}
		ec, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("directory: signing key %s is not an ECDSA key", k.ID)
		}
		verify[k.ID] = ec
		if k.NotAfter.IsZero() {
			der, err := s.privateKeyDER(k)
			if err != nil {
				return fmt.Errorf("directory: %w", err)
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return fmt.Errorf("directory: signing key %s: %w", k.ID, err)
			}
			if p, ok := priv.(*ecdsa.PrivateKey); ok {
				signKID, sign = k.ID, p
			}
		}
	}
	s.keys.mu.Lock()
	s.keys.signKID, s.keys.sign, s.keys.verify, s.keys.keys, s.keys.loaded = signKID, sign, verify, keys, now
	s.keys.mu.Unlock()
	return nil
}

// freshKeys re-reads the key set when it is older than keyRefresh.
func (s *Service) freshKeys(ctx context.Context) {
	s.keys.mu.RLock()
	stale := s.clock().Sub(s.keys.loaded) > keyRefresh
	s.keys.mu.RUnlock()
	if stale {
		if err := s.reloadKeys(ctx); err != nil {
			s.log.Warn("signing keys not refreshed", "err", err)
		}
	}
}

// PublicKeys returns the public keys that currently verify tokens (for JWKS).
func (s *Service) PublicKeys(ctx context.Context) map[string]*ecdsa.PublicKey {
	s.freshKeys(ctx)
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	out := make(map[string]*ecdsa.PublicKey, len(s.keys.verify))
	for k, v := range s.keys.verify {
		out[k] = v
	}
	return out
}

// Issuer is the iss claim of the tokens this service issues.
func (s *Service) Issuer() string { return s.issuer }

// sign issues a token with the given claims.
func (s *Service) sign(ctx context.Context, c tokenClaims) (AccessToken, error) {
	s.freshKeys(ctx)
	s.keys.mu.RLock()
	kid, key := s.keys.signKID, s.keys.sign
	s.keys.mu.RUnlock()
	if key == nil {
		if err := s.EnsureSigningKey(ctx); err != nil {
			return AccessToken{}, translate(err, "signing key")
		}
		s.keys.mu.RLock()
		kid, key = s.keys.signKID, s.keys.sign
		s.keys.mu.RUnlock()
	}
	now := s.clock()
	ttl := AccessTokenTTL
	if c.TokenUse == tokenUseEnrol {
		ttl = EnrolmentTokenTTL
	}
	c.Issuer, c.IssuedAt, c.NotBefore = s.issuer, jwt.NewNumericDate(now), jwt.NewNumericDate(now)
	c.ExpiresAt, c.ID, c.TenantID = jwt.NewNumericDate(now.Add(ttl)), s.newID(), s.tenantID
	if len(c.Audience) == 0 {
		c.Audience = jwt.ClaimStrings{DefaultAudience}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = kid
	signed, err := t.SignedString(key)
	if err != nil {
		return AccessToken{}, translate(err, "token")
	}
	s.obs.TokenIssued(c.TokenUse)
	return AccessToken{Token: signed, ExpiresIn: int(ttl / time.Second), Scope: c.Scope}, nil
}

// IssueClientToken exchanges client credentials for an access token (the
// client_credentials grant); ip is the caller's address ("" for none).
// resource, when set, becomes the audience. Wrong secrets are limited per
// client id and per address (KindRateLimited, see MaxClientSecretFailures) and
// hashing per process (KindUnavailable, see HashWait).
func (s *Service) IssueClientToken(ctx context.Context, clientID, secret, resource, ip string) (_ AccessToken, err error) {
	defer func() {
		switch KindOf(err) {
		case KindUnauthenticated:
			s.obs.AuthFailed(AuthFailureClientSecret)
		case KindRateLimited:
			s.obs.AuthFailed(AuthFailureRateLimited)
		}
	}()
	if clientID == "" || secret == "" {
		return AccessToken{}, errBadClient
	}
	app, err := s.store.FindAppByClientID(ctx, clientID)
	if err != nil {
		if KindOf(translate(err, "app")) == KindNotFound {
			return AccessToken{}, s.clients.unknownClient(ip)
		}
		return AccessToken{}, translate(err, "application")
	}
	if err := s.checkClientSecret(ctx, app, secret, ip); err != nil {
		return AccessToken{}, err
	}
	c := tokenClaims{ClientID: app.ClientID, AppID: app.ID, AppName: app.Name, Scope: "openid", TokenUse: tokenUseClient}
	c.Subject = app.ClientID
	if app.Kind == schemas.AppManagement {
		c.Roles = []string{"Admin"}
	}
	if resource != "" {
		c.Audience = jwt.ClaimStrings{resource}
	}
	return s.sign(ctx, c)
}

// issueUserToken issues a user access token for a user logged in through an app.
func (s *Service) issueUserToken(ctx context.Context, u *schemas.User, app *schemas.App) (AccessToken, error) {
	c := tokenClaims{ClientID: app.ClientID, AppID: app.ID, AppName: app.Name, Scope: "openid", TokenUse: tokenUseUser}
	c.Subject = u.ID
	return s.sign(ctx, c)
}

// Authenticate resolves a bearer credential — an access token (JWT) or an API
// token — to the principal it stands for. Any failure is KindUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if bearer == "" {
		s.obs.AuthFailed(AuthFailureNoCredential)
		return Principal{}, errBadToken
	}
	if strings.HasPrefix(bearer, apiTokenPrefix) {
		p, err := s.authenticateAPIToken(ctx, bearer)
		if KindOf(err) == KindUnauthenticated {
			s.obs.AuthFailed(AuthFailureAPIToken)
		}
		return p, err
	}
	c, err := s.verify(ctx, bearer)
	if err != nil {
		return Principal{}, s.tokenRefused(ctx, bearer, err)
	}
	if c.TokenUse == tokenUseEnrol {
		return s.enrolmentPrincipal(ctx, c)
	}
	app, err := s.store.GetApp(ctx, c.AppID)
	if err != nil {
		return Principal{}, s.revoked() // the app was deleted: its tokens die with it
	}
	switch c.TokenUse {
	case tokenUseClient:
		p := Principal{Scopes: []Scope{ScopeAdmin}, ActorType: ActorApp, ActorID: c.ClientID}
		if app.Kind == schemas.AppManagement {
			p.Admin = true
		} else {
			p.AppID = app.ID
		}
		return p, nil
	case tokenUseUser:
		// The user is read on every request, so that disabling the user or
		// removing it from the app ends the token's access at once, on every replica.
		u, err := s.store.GetUser(ctx, c.Subject)
		if err != nil || u.Status == schemas.StatusDisabled {
			return Principal{}, s.revoked()
		}
		if _, assigned := u.Apps[app.ID]; !assigned {
			return Principal{}, s.revoked()
		}
		return Principal{UserID: u.ID, AppID: app.ID, ActorType: ActorUser, ActorID: u.ID}, nil
	}
	return Principal{}, errBadToken
}

// verifyOptions are the checks of verify's parser and validator (s.parser,
// s.validator): ES256 only, our issuer and audience, an expiry, and a sane
// issue time, on s.now within clockSkew.
func (s *Service) verifyOptions() []jwt.ParserOption {
	return []jwt.ParserOption{jwt.WithValidMethods([]string{signingAlg}), jwt.WithIssuer(s.issuer),
		jwt.WithAudience(DefaultAudience), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(s.now)}
}

// verify checks a JWT strictly: ES256 only, a known key id, our issuer and
// audience, an expiry, and a sane issue time. A token whose signature
// verified before is taken from s.verified (see verifiedTokens): its claims
// are checked again, its signature is not. The claims returned are
// read-only.
func (s *Service) verify(ctx context.Context, token string) (*tokenClaims, error) {
	s.freshKeys(ctx)
	sum := sha256.Sum256([]byte(token))
	if e, ok := s.verified.get(sum); ok {
		if key := s.verifyKey(e.kid); key != nil && key.Equal(e.key) {
			if err := s.validator.Validate(e.claims); err != nil {
				s.verified.drop(sum)
				return nil, err
			}
			return e.claims, nil
		}
		s.verified.drop(sum) // its key left the key set: verified again (and refused) below
	}
	var c tokenClaims
	var kid string
	var key *ecdsa.PublicKey
	_, err := s.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if key = s.verifyKey(kid); key != nil {
			return key, nil
		}
		// A key created by another replica since our last refresh.
		if err := s.reloadKeys(ctx); err != nil {
			return nil, err
		}
		if key = s.verifyKey(kid); key != nil {
			return key, nil
		}
		return nil, errors.New("unknown key id")
	})
	if err != nil {
		return nil, err
	}
	if c.Subject == "" || (c.AppID == "" && c.TokenUse != tokenUseEnrol) {
		return nil, errors.New("token without app or subject")
	}
	// The parser required exp and validated it with this leeway and clock.
	s.verified.put(sum, verifiedToken{claims: &c, kid: kid, key: key, expires: c.ExpiresAt.Add(clockSkew)}, s.now())
	return &c, nil
}

func (s *Service) verifyKey(kid string) *ecdsa.PublicKey {
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	return s.keys.verify[kid]
}
