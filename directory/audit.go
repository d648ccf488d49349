package directory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Audit actions (the admin-event names of Transmit's guide, camelCase).
const (
	ActionCreateUser        = "createUser"
	ActionUpdateUser        = "adminUpdateUser"
	ActionDeleteUser        = "deleteUser"
	ActionRemoveUserFromApp = "removeUserFromApp"
	ActionAssignUserToApp   = "assignUserToApp"
	ActionCreateGroup       = "createGroup"
	ActionUpdateGroup       = "updateGroup"
	ActionDeleteGroup       = "deleteGroup"
	ActionAddMembers        = "addGroupMembers"
	ActionRemoveMembers     = "removeGroupMembers"
	ActionCreateApp         = "createApp"
	ActionUpdateApp         = "updateApp"
	ActionDeleteApp         = "deleteApp"
	ActionCreateMgmtApp     = "createMgmtApp"
	ActionUpdateMgmtApp     = "updateMgmtApp"
	ActionDeleteMgmtApp     = "deleteMgmtApp"
	ActionRotateSecret      = "rotateClientSecret"
	ActionCreateAPIToken    = "createApiToken"
	ActionDeleteAPIToken    = "deleteApiToken"
	ActionSetPassword       = "updatePassword"
	ActionUserLogin         = "userLogin"
	ActionFailedLogin       = "userFailedLogin"
	// ActionIssueEnrolmentToken: an enrolment token was issued for the target user.
	ActionIssueEnrolmentToken = "issueEnrolmentToken"
)

// Target types of audit events.
const (
	TargetUser     = "user"
	TargetGroup    = "group"
	TargetApp      = "app"
	TargetAPIToken = "api_token"
)

// redacted replaces secret values in audit changes.
const redacted = "[redacted]"

// event returns the audit event of an action by p on a target, with a new id
// and the current time, its changes bounded (boundChanges). The store commits
// it with the change it describes.
func (s *Service) event(p Principal, action, targetType, targetID string, changes map[string]schemas.Change) *schemas.Event {
	e := s.newEvent(p, action, targetType, targetID)
	e.Changes = boundChanges(changes)
	return &e
}

// newEvent is the event of an action by p on a target, with a new id and the
// current time, without changes.
func (s *Service) newEvent(p Principal, action, targetType, targetID string) schemas.Event {
	return schemas.Event{
		ID: s.newID(), Time: s.clock(), ActorID: p.ActorID, ActorType: p.ActorType, Action: action,
		TargetID: targetID, TargetType: targetType, IP: p.IP, UserAgent: p.UserAgent,
	}
}

// auditUpdate returns the storage.Audit of an update: the event of the action,
// with the changes between the committed version the update started from and
// the version it writes. Every call returns the same id and time.
func auditUpdate[T any](s *Service, p Principal, action, targetType, targetID string, changes func(prev, cur T) map[string]schemas.Change) storage.Audit[T] {
	a := &updateAudit[T]{base: s.newEvent(p, action, targetType, targetID), changes: changes}
	return a.event
}

// updateAudit is an update's storage.Audit (its method event): the update's
// event without changes, and how to find them. It is a value so that an
// update that allocates a struct anyway (userUpdate) holds it there rather
// than in a closure and an event of their own.
type updateAudit[T any] struct {
	base    schemas.Event
	changes func(prev, cur T) map[string]schemas.Change
}

// event is base with the changes between prev and cur: a new event on every
// call (a storage.Audit has no side effects), with the same id and time.
func (a *updateAudit[T]) event(prev, cur T) *schemas.Event {
	e := a.base
	e.Changes = boundChanges(a.changes(prev, cur))
	return &e
}

// auditFixed is the storage.Audit of an update whose changes are known beforehand.
func auditFixed[T any](e *schemas.Event) storage.Audit[T] {
	return func(_, _ T) *schemas.Event { return e }
}

// ListEvents returns audit events; only admins may read them.
func (s *Service) ListEvents(ctx context.Context, p Principal, q storage.EventQuery) (storage.Page[*schemas.Event], error) {
	if !p.administers() {
		return storage.Page[*schemas.Event]{}, adminOnly("reading audit events")
	}
	page, err := s.store.ListEvents(ctx, q)
	for _, e := range page.Items {
		if e.Damaged != "" {
			s.log.Warn("audit event only partly readable", "event", e.ID, "time", e.Time, "reason", e.Damaged)
		}
	}
	return page, translate(err, "event")
}

// Bounds of an audit event's changes: a changed value whose JSON is longer
// than maxAuditValueBytes is recorded by size and digest ({"size", "sha256"} of
// its canonical JSON), and so are the largest values of an event until its
// changes fit maxAuditChangesBytes — so that an event stays well under 64 KB
// whatever was changed (a 500 KB custom_data edit records two digests).
const (
	maxAuditValueBytes   = 4 << 10
	maxAuditChangesBytes = 32 << 10
)

// userChanges returns the changes between two versions of a user (prev nil:
// created), keyed by canonical path (the audit view of schemas.AuditDiff),
// with a password change redacted.
func userChanges(prev, cur *schemas.User) map[string]schemas.Change {
	ch := docChanges(prev, cur)
	if ph, ch2 := passwordHash(prev), passwordHash(cur); ph != ch2 {
		ch = withChange(ch, "password", schemas.Change{Prev: redactedIf(ph != ""), Current: redactedIf(ch2 != "")})
	}
	return ch
}

func passwordHash(u *schemas.User) string {
	if u == nil || u.Password == nil {
		return ""
	}
	return u.Password.Hash
}

// groupChanges returns the changes between two versions of a group (prev nil:
// created), keyed by canonical path. Membership has its own events.
func groupChanges(prev, cur *schemas.Group) map[string]schemas.Change {
	return docChanges(prev, cur)
}

// docChanges returns the changes between the audit views of two versions of
// a user or group (see schemas.AuditDiff), rendering only the attributes whose
// stored values differ; nil when none do. The map is made once at its size
// (with room for one more: the password's): a create's changes are every
// attribute the user holds, which grew a map made empty three times.
func docChanges(prev, cur any) map[string]schemas.Change {
	type change struct {
		key string
		schemas.Change
	}
	var buf [32]change
	list := buf[:0]
	schemas.AuditDiff(prev, cur, func(k string, a, b any) {
		if !jsonEqual(a, b) {
			list = append(list, change{k, schemas.Change{Prev: a, Current: b}})
		}
	})
	if len(list) == 0 {
		return nil
	}
	ch := make(map[string]schemas.Change, len(list)+1)
	for _, c := range list {
		ch[c.key] = c.Change
	}
	return ch
}

// AppView renders the settings of an application under the native API's
// field names (app_id, app_name, app_description, client_id and, for a
// regular application, login_uri, redirect_uris, allow_public_signup): the
// names the audit records of applications use, and the body of the native
// application object. A nil application gives an empty map.
func AppView(a *schemas.App) map[string]any {
	if a == nil {
		return map[string]any{}
	}
	m := map[string]any{"app_id": a.ID, "app_name": a.Name, "app_description": a.Description, "client_id": a.ClientID}
	if a.Kind == schemas.AppRegular {
		redirects := a.RedirectURIs
		if redirects == nil {
			redirects = []string{}
		}
		m["login_uri"], m["redirect_uris"], m["allow_public_signup"] = a.LoginURI, redirects, a.AllowPublicSignup
	}
	return m
}

// appChanges returns the changes between two versions of an application
// (prev nil: created), keyed by native API field name, with the client
// secrets redacted.
func appChanges(prev, cur *schemas.App) map[string]schemas.Change {
	pv, cv := AppView(prev), AppView(cur)
	delete(pv, "app_id")
	delete(cv, "app_id")
	ch := viewChanges(pv, cv)
	if ps, cs := secretHashes(prev), secretHashes(cur); ps != cs {
		ch = withChange(ch, "client_secret", schemas.Change{Prev: redactedIf(ps != ""), Current: redactedIf(cs != "")})
	}
	return ch
}

func secretHashes(a *schemas.App) string {
	if a == nil {
		return ""
	}
	var b strings.Builder
	for _, sec := range a.Secrets {
		b.WriteString(sec.Hash)
		b.WriteByte(0)
	}
	return b.String()
}

// viewChanges compares two views (field → JSON value; absent: no value) and
// returns the fields whose values differ; nil when none do. A field without
// a value on one side has no Prev (created) or no Current (removed).
func viewChanges(prev, cur map[string]any) map[string]schemas.Change {
	var ch map[string]schemas.Change
	for k, b := range cur {
		if a := prev[k]; !jsonEqual(a, b) {
			ch = withChange(ch, k, schemas.Change{Prev: a, Current: b})
		}
	}
	for k, a := range prev {
		if _, ok := cur[k]; !ok {
			ch = withChange(ch, k, schemas.Change{Prev: a})
		}
	}
	return ch
}

func withChange(ch map[string]schemas.Change, k string, c schemas.Change) map[string]schemas.Change {
	if ch == nil {
		ch = map[string]schemas.Change{}
	}
	ch[k] = c
	return ch
}

// jsonEqual compares two JSON values by their canonical encoding (numbers
// may be float64 on one side and json.Number on the other): objects and
// arrays element by element, strings and booleans directly, numbers (and
// anything else) by their encoding. A missing value (nil: a created or
// removed attribute) equals only another, or a nil object or array.
func jsonEqual(a, b any) bool {
	if a == nil {
		a, b = b, a
	}
	if b == nil {
		switch x := a.(type) {
		case nil:
			return true
		case string, bool, float64, int64:
			return false
		case map[string]any:
			return x == nil
		case []any:
			return x == nil
		}
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return x == y
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y
		}
	case map[string]any:
		if y, ok := b.(map[string]any); ok && (x == nil) == (y == nil) {
			if len(x) != len(y) {
				return false
			}
			for k, v := range x {
				if w, ok := y[k]; !ok || !jsonEqual(v, w) {
					return false
				}
			}
			return true
		}
	case []any:
		if y, ok := b.([]any); ok && (x == nil) == (y == nil) {
			return slices.EqualFunc(x, y, jsonEqual)
		}
	}
	return reflect.DeepEqual(a, b) || encodedEqual(a, b)
}

// encodedEqual reports whether a and b have the same JSON encoding.
func encodedEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// boundChanges records large values by size and digest (see
// maxAuditValueBytes and maxAuditChangesBytes). It returns ch itself when it
// is within the bounds (every caller hands over a map built for the event),
// else a new map.
func boundChanges(ch map[string]schemas.Change) map[string]schemas.Change {
	if len(ch) == 0 {
		return nil
	}
	if fitsBounds(ch) {
		return ch
	}
	type val struct {
		key  string
		prev bool
		enc  []byte
	}
	var vals []val
	out := make(map[string]schemas.Change, len(ch))
	total := 0
	for k, c := range ch {
		out[k] = c
		for _, prev := range []bool{true, false} {
			v := c.Current
			if prev {
				v = c.Prev
			}
			if v == nil {
				continue
			}
			enc, err := json.Marshal(v)
			if err != nil {
				enc = []byte(fmt.Sprintf("%q", fmt.Sprint(v)))
			}
			vals = append(vals, val{k, prev, enc})
			total += len(enc)
		}
	}
	slices.SortFunc(vals, func(a, b val) int { return len(b.enc) - len(a.enc) })
	for _, v := range vals {
		if len(v.enc) <= maxAuditValueBytes && total <= maxAuditChangesBytes {
			break
		}
		sum := sha256.Sum256(v.enc)
		d := map[string]any{"size": len(v.enc), "sha256": hex.EncodeToString(sum[:])}
		c := out[v.key]
		if v.prev {
			c.Prev = d
		} else {
			c.Current = d
		}
		out[v.key] = c
		total -= len(v.enc) - 90
	}
	return out
}

// fitsBounds reports whether every value of ch is certainly within
// maxAuditValueBytes and all together within maxAuditChangesBytes, by an
// upper bound of their encoded sizes (jsonSizeBound) — so that the usual
// small change is not encoded twice to be measured.
func fitsBounds(ch map[string]schemas.Change) bool {
	total := 0
	for _, c := range ch {
		for _, v := range [2]any{c.Prev, c.Current} {
			n, ok := jsonSizeBound(v, maxAuditValueBytes)
			if !ok {
				return false
			}
			if total += n; total > maxAuditChangesBytes {
				return false
			}
		}
	}
	return true
}

// jsonSizeBound returns an upper bound of the length of v's JSON encoding,
// and false when v is of a type it does not know or the bound exceeds limit.
func jsonSizeBound(v any, limit int) (int, bool) {
	n := 0
	switch x := v.(type) {
	case nil, bool:
		n = 5
	case string:
		n = 6*len(x) + 2 // every byte escaped as \u00XX at worst
	case float64, json.Number:
		n = 32
		if s, ok := x.(json.Number); ok {
			n = len(s) + 1 // "" encodes as 0
		}
	case []any:
		n = 2
		for _, e := range x {
			m, ok := jsonSizeBound(e, limit-n)
			if !ok {
				return 0, false
			}
			n += m + 1
		}
	case map[string]any:
		n = 2
		for k, e := range x {
			m, ok := jsonSizeBound(e, limit-n)
			if !ok {
				return 0, false
			}
			n += 6*len(k) + 4 + m
		}
	default:
		return 0, false
	}
	return n, n <= limit
}

func redactedIf(set bool) any {
	if set {
		return redacted
	}
	return nil
}
