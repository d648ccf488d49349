package native

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	form := func(v url.Values, basic ...string) response {
		req, _ := http.NewRequest("POST", e.srv.URL+"/oidc/token", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if len(basic) == 2 {
			req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := response{status: resp.StatusCode, header: resp.Header}
		_ = jsonDecode(resp.Body, &r.body)
		return r
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	// Form fields.
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.appA.ClientID}, "client_secret": {e.secA}}
	r := form(v).want(t, 200)
	if r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(3600) || r.body["scope"] == nil || r.body["access_token"] == "" {
		t.Fatalf("token response %v", r.body)
	}
	if _, wrapped := r.body["result"]; wrapped {
		t.Fatal("the token response must not be wrapped in result")
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(r.body["access_token"].(string), claims); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"sub", "client_id", "app_id", "tid", "jti", "iat", "exp", "aud", "iss", "scope"} {
		if claims[c] == nil {
			t.Errorf("claim %s missing: %v", c, claims)
		}
	}
	// HTTP Basic.
	form(cc, e.mgmt.ClientID, e.mgmtSecret).want(t, 200)
	// Admin tokens carry the Admin role.
	admin := jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(e.admin, admin)
	if roles, _ := admin["roles"].([]any); len(roles) != 1 || roles[0] != "Admin" {
		t.Fatalf("admin roles %v", admin["roles"])
	}
	// Errors.
	r = form(url.Values{"grant_type": {"client_credentials"}, "client_id": {e.appA.ClientID}, "client_secret": {"wrong"}}).wantError(t, 401)
	if r.body["error"] != "invalid_client" {
		t.Fatalf("%v", r.body)
	}
	form(cc, e.appA.ClientID, "wrong").wantError(t, 401)
	form(cc, "nobody", "x").wantError(t, 401)
	r = form(url.Values{"grant_type": {"password"}, "client_id": {e.appA.ClientID}, "client_secret": {e.secA}}).wantError(t, 400)
	if r.body["error"] != "unsupported_grant_type" {
		t.Fatalf("%v", r.body)
	}
	form(url.Values{"client_id": {e.appA.ClientID}, "client_secret": {e.secA}}).wantError(t, 400)
	form(url.Values{"grant_type": {"client_credentials"}, "client_id": {e.appA.ClientID}}).wantError(t, 400)
	form(url.Values{"grant_type": {"client_credentials"}, "client_secret": {e.secA}}, e.appA.ClientID, e.secA).wantError(t, 400)
	e.call("POST", "/oidc/token", "", `{"grant_type":"client_credentials"}`).wantError(t, 415)
}

func TestJWKSVerifiesTokens(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/oidc/jwks", "", nil).want(t, 200)
	keys, _ := r.body["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks %s", r.raw)
	}
	k := keys[0].(map[string]any)
	if k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["use"] != "sig" || k["kid"] == "" {
		t.Fatalf("jwk %v", k)
	}
	dec := func(s any) *big.Int {
		b, err := base64.RawURLEncoding.DecodeString(s.(string))
		if err != nil || len(b) != 32 {
			t.Fatalf("coordinate %v", s)
		}
		return new(big.Int).SetBytes(b)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: dec(k["x"]), Y: dec(k["y"])}
	tok, err := jwt.Parse(e.tokA, func(t *jwt.Token) (any, error) { return pub, nil }, jwt.WithValidMethods([]string{"ES256"}))
	if err != nil || !tok.Valid || tok.Header["kid"] != k["kid"] {
		t.Fatalf("token does not verify with the JWKS key: %v", err)
	}
	// Rotation keeps the old key (live tokens keep working) and adds a new one.
	if err := e.svc.RotateSigningKey(t.Context()); err != nil {
		t.Fatal(err)
	}
	r = e.call("GET", "/oidc/jwks", "", nil).want(t, 200)
	if keys, _ := r.body["keys"].([]any); len(keys) != 2 {
		t.Fatalf("after rotation: %s", r.raw)
	}
	e.call("GET", "/cis/v1/users/count", e.tokA, nil).want(t, 200)
	cfg := e.call("GET", "/.well-known/openid-configuration", "", nil).want(t, 200)
	if cfg.body["issuer"] != testIssuer || !strings.HasSuffix(cfg.body["jwks_uri"].(string), "/oidc/jwks") ||
		!strings.HasSuffix(cfg.body["token_endpoint"].(string), "/oidc/token") {
		t.Fatalf("openid configuration %s", cfg.raw)
	}
}

func TestBadTokensAre401(t *testing.T) {
	e := newEnv(t)
	claims := jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(e.admin, claims)
	parts := strings.Split(e.admin, ".")
	// alg none with the admin's claims.
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	// Signed by a stranger's key with the same kid.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	forged.Header["kid"] = mustHeader(t, e.admin)["kid"]
	forgedTok, _ := forged.SignedString(stranger)
	// HS256 with the public key bytes as the secret (algorithm confusion).
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	hsTok, _ := hs.SignedString([]byte("secret"))
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x"}`)) + "." + parts[2]
	for name, tok := range map[string]string{
		"missing": "", "malformed": "not-a-jwt", "alg none": none, "wrongly signed": forgedTok,
		"hs256": hsTok, "tampered": tampered, "unknown api token": "scimd_nope",
	} {
		r := e.call("GET", "/cis/v1/users", tok, nil)
		if r.status != 401 {
			t.Errorf("%s: status %d", name, r.status)
			continue
		}
		r.wantError(t, 401)
	}
	// A non-Bearer scheme is as good as no token.
	e.call("GET", "/cis/v1/users", "", nil, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("a:b"))).wantError(t, 401)
	// Expired.
	e.clock.Add(2 * time.Hour)
	e.call("GET", "/cis/v1/users", e.admin, nil).wantError(t, 401)
	e.call("GET", "/cis/v1/users/me/device-keys", e.userTok, nil).wantError(t, 401)
}

func mustHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Header
}
