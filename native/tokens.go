package native

import (
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"sort"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
)

// tokenResponse is the body of a successful token request (not wrapped in
// "result", as in Transmit's token endpoint).
func tokenResponse(t directory.AccessToken) map[string]any {
	return map[string]any{"access_token": t.Token, "token_type": "Bearer", "expires_in": t.ExpiresIn, "scope": t.Scope}
}

// oauthError is a token-endpoint error: the native body plus the RFC 6749
// "error" code, so that OAuth libraries understand it too.
func oauthError(status int, code, msg string) error {
	return &httpError{status: status, msg: msg, code: code}
}

// token serves POST /oidc/token: the client_credentials grant, with the client
// authenticated by form fields (client_secret_post) or HTTP Basic
// (client_secret_basic).
func (h *Handler) token(w http.ResponseWriter, r *http.Request, _ directory.Principal) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return &httpError{status: http.StatusUnsupportedMediaType, msg: "the token request must be application/x-www-form-urlencoded", code: "invalid_request"}
	}
	raw, err := httpx.ReadBody(r, httpx.MaxUnauthenticatedBody)
	if errors.Is(err, httpx.ErrBodyTooLarge) {
		return &httpError{status: http.StatusRequestEntityTooLarge, msg: err.Error(), code: "invalid_request"}
	}
	if err != nil {
		return err // timeouts (408) and clients gone are not the form's fault
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return oauthError(http.StatusBadRequest, "invalid_request", "the form body is not valid")
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return oauthError(http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		return oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
	}
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		if secret != "" {
			return oauthError(http.StatusBadRequest, "invalid_request", "send the client secret either in the Authorization header or in the form, not both")
		}
		// RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
		var err1, err2 error
		clientID, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return oauthError(http.StatusBadRequest, "invalid_request", "the Basic credentials are not form-urlencoded")
		}
		if id := form.Get("client_id"); id != "" && id != clientID {
			return oauthError(http.StatusBadRequest, "invalid_request", "client_id differs from the Basic credentials")
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="scimd"`)
	}
	if clientID == "" || secret == "" {
		return oauthError(http.StatusBadRequest, "invalid_request", "client_id and client_secret are required")
	}
	tok, err := h.svc.IssueClientToken(r.Context(), clientID, secret, form.Get("resource"), httpx.ClientIP(r))
	if directory.KindOf(err) == directory.KindUnauthenticated {
		return oauthError(http.StatusUnauthorized, "invalid_client", "invalid client credentials")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse(tok))
	return nil
}

// jwks serves GET /oidc/jwks: the public keys that verify access tokens.
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request, _ directory.Principal) error {
	keys := h.svc.PublicKeys(r.Context())
	kids := make([]string, 0, len(keys))
	for kid := range keys {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	out := make([]map[string]any, 0, len(keys))
	for _, kid := range kids {
		if jwk, ok := ecJWK(kid, keys[kid]); ok {
			out = append(out, jwk)
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]any{"keys": out})
	return nil
}

// ecJWK renders a P-256 public key as a JWK (RFC 7518 §6.2).
func ecJWK(kid string, pub *ecdsa.PublicKey) (map[string]any, bool) {
	ek, err := pub.ECDH()
	if err != nil {
		return nil, false
	}
	b := ek.Bytes() // 0x04 || X || Y
	if len(b) != 65 {
		return nil, false
	}
	enc := base64.RawURLEncoding
	return map[string]any{"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(b[1:33]), "y": enc.EncodeToString(b[33:]),
		"kid": kid, "alg": "ES256", "use": "sig"}, true
}

// openIDConfiguration serves a minimal OpenID provider configuration.
func (h *Handler) openIDConfiguration(w http.ResponseWriter, _ *http.Request, _ directory.Principal) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                h.svc.Issuer(),
		"token_endpoint":                        h.public + "/oidc/token",
		"jwks_uri":                              h.public + "/oidc/jwks",
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                      []string{"openid"},
	})
	return nil
}
