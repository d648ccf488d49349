package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
)

// apiTokenPrefix marks scimd API tokens, so that they are recognisable in
// secret scanners and never mistaken for JWTs.
const apiTokenPrefix = "scimd_"

// hashAPIToken returns the stored form of an API token. API tokens are 256-bit
// random values, so a fast hash is as strong as a slow one here.
func hashAPIToken(token string) string {
	// Through a stack buffer: []byte(token) of a token longer than 32 bytes
	// (every one: the prefix and 256 bits) is a heap copy per request.
	var buf [128]byte
	sum := sha256.Sum256(append(buf[:0], token...))
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:])
}

// DefaultAPITokenScopes are the scopes of an API token created without any:
// SCIM provisioning, the narrowest that serves an identity-provider connector.
var DefaultAPITokenScopes = []Scope{ScopeSCIM}

// CreateAPIToken creates a long-lived bearer token for an identity-provider
// connector and returns its record and the token — shown once, stored hashed.
// A token bound to an app (appID) reaches that app's users only; an unbound
// token reaches the whole tenant. Within its reach it may do what its scopes
// allow (see Scope); no scopes means DefaultAPITokenScopes. Only administrators
// may create tokens.
func (s *Service) CreateAPIToken(ctx context.Context, p Principal, description, appID string, scopes []Scope, expires time.Time) (*schemas.APIToken, string, error) {
	if !p.administers() {
		return nil, "", adminOnly("creating an API token")
	}
	if err := checkString("description", description); err != nil {
		return nil, "", err
	}
	scopes, err := checkScopes(scopes)
	if err != nil {
		return nil, "", err
	}
	if appID != "" {
		a, err := s.store.GetApp(ctx, appID)
		if err != nil || a.Kind != schemas.AppRegular {
			return nil, "", FieldError(KindInvalid, "app_id", "application %q does not exist", appID)
		}
	}
	now := s.clock()
	if !expires.IsZero() && !expires.After(now) {
		return nil, "", FieldError(KindInvalid, "expires_at", "the expiry must be in the future")
	}
	token := apiTokenPrefix + NewSecret()
	t := &schemas.APIToken{ID: s.newID(), Description: description, Hash: hashAPIToken(token), AppID: appID,
		Scopes: scopes, Created: now, Expires: expires.UTC(), CreatedBy: p.ActorID}
	view := map[string]any{"scopes": scopes} // the native API's names; only real values
	if description != "" {
		view["description"] = description
	}
	if appID != "" {
		view["app_id"] = appID
	}
	if !t.Expires.IsZero() {
		view["expires_at"] = t.Expires.Format(time.RFC3339Nano)
	}
	e := s.event(p, ActionCreateAPIToken, TargetAPIToken, t.ID, viewChanges(nil, view))
	if err := s.store.CreateAPIToken(ctx, t, e); err != nil {
		return nil, "", translate(err, "API token")
	}
	return t, token, nil
}

// ListAPITokens lists the API token records (never the tokens).
func (s *Service) ListAPITokens(ctx context.Context, p Principal) ([]*schemas.APIToken, error) {
	if !p.administers() {
		return nil, adminOnly("listing API tokens")
	}
	ts, err := s.store.ListAPITokens(ctx)
	for _, t := range ts {
		t.Scopes = tokenScopes(t)
	}
	return ts, translate(err, "API token")
}

// DeleteAPIToken revokes an API token; it stops working at once on every replica
// (tokens are looked up in the store on every request).
func (s *Service) DeleteAPIToken(ctx context.Context, p Principal, id string) error {
	if !p.administers() {
		return adminOnly("revoking an API token")
	}
	if err := s.store.DeleteAPIToken(ctx, id, s.event(p, ActionDeleteAPIToken, TargetAPIToken, id, nil)); err != nil {
		return translate(err, "API token")
	}
	return nil
}

// authenticateAPIToken resolves an API token to its principal.
func (s *Service) authenticateAPIToken(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, apiTokenPrefix) {
		return Principal{}, errBadToken
	}
	t, err := s.store.FindAPIToken(ctx, hashAPIToken(token))
	if err != nil {
		if KindOf(translate(err, "token")) == KindNotFound {
			return Principal{}, errBadToken
		}
		return Principal{}, translate(err, "API token")
	}
	now := s.clock()
	if !t.Expires.IsZero() && !now.Before(t.Expires) {
		return Principal{}, Errorf(KindUnauthenticated, "the API token has expired")
	}
	if now.Sub(t.LastUsedAt) > time.Minute { // at most one write a minute per token
		if err := s.store.TouchAPIToken(context.WithoutCancel(ctx), t.ID, now); err != nil {
			s.log.Warn("API token last use not recorded", "token", t.ID, "err", err)
		}
	}
	p := Principal{Admin: t.AppID == "", AppID: t.AppID, Scopes: tokenScopes(t), ActorType: ActorAPIToken, ActorID: t.ID}
	if t.AppID != "" {
		if _, err := s.store.GetApp(ctx, t.AppID); err != nil {
			return Principal{}, errBadToken // the app was deleted: its tokens die with it
		}
	}
	return p, nil
}

// checkScopes validates the scopes asked for a new token and returns them
// deduplicated in the order of Scopes, or DefaultAPITokenScopes when none are.
func checkScopes(asked []Scope) ([]Scope, error) {
	if len(asked) == 0 {
		return slices.Clone(DefaultAPITokenScopes), nil
	}
	var out []Scope
	for _, s := range Scopes {
		if slices.Contains(asked, s) {
			out = append(out, s)
		}
	}
	for _, s := range asked {
		if !slices.Contains(Scopes, s) {
			return nil, FieldError(KindInvalid, "scopes", "unknown scope %q (the scopes are %s)", s, strings.Join(Scopes, ", "))
		}
	}
	return out, nil
}

// tokenScopes returns the scopes an API token acts with. A token stored
// without scopes was created before scopes existed: unbound, it becomes
// ScopeSCIM (it keeps provisioning users and groups but no longer administers
// the tenant); bound to an application, it becomes ScopeAdmin within that
// application, exactly what it could do before (the rights of the app's own
// client token).
func tokenScopes(t *schemas.APIToken) []Scope {
	switch {
	case len(t.Scopes) > 0:
		return t.Scopes
	case t.AppID != "":
		return []Scope{ScopeAdmin}
	default:
		return []Scope{ScopeSCIM}
	}
}
