package directory

import (
	"context"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

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
// and the current time. The store commits it with the change it describes.
func (s *Service) event(p Principal, action, targetType, targetID string, changes map[string]schemas.Change) *schemas.Event {
	return &schemas.Event{
		ID: NewID(), Time: s.clock(), ActorID: p.ActorID, ActorType: p.ActorType, Action: action,
		TargetID: targetID, TargetType: targetType, IP: p.IP, UserAgent: p.UserAgent, Changes: changes,
	}
}

// auditUpdate returns the storage.Audit of an update: the event of the action,
// with the changes between the committed version the update started from and
// the version it writes. Every call returns the same id and time.
func auditUpdate[T any](s *Service, p Principal, action, targetType, targetID string, changes func(prev, cur T) map[string]schemas.Change) storage.Audit[T] {
	base := s.event(p, action, targetType, targetID, nil)
	return func(prev, cur T) *schemas.Event {
		e := *base
		e.Changes = changes(prev, cur)
		return &e
	}
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

// secretFields are struct fields whose values never appear in audit events.
var secretFields = map[string]bool{"Password": true, "Secrets": true, "Hash": true, "PrivateKey": true}

// diff returns the changed top-level fields of two values of the same struct
// type, keyed by lowerCamel field name, with secrets redacted. Version and
// Updated are bookkeeping and not reported.
func diff[T any](prev, cur *T) map[string]schemas.Change {
	changes := map[string]schemas.Change{}
	pv, cv := reflect.ValueOf(prev).Elem(), reflect.ValueOf(cur).Elem()
	t := pv.Type()
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Name
		if name == "Version" || name == "Updated" {
			continue
		}
		a, b := pv.Field(i).Interface(), cv.Field(i).Interface()
		if reflect.DeepEqual(a, b) || (isEmpty(pv.Field(i)) && isEmpty(cv.Field(i))) {
			continue
		}
		if secretFields[name] {
			a, b = redactedIf(!isEmpty(pv.Field(i))), redactedIf(!isEmpty(cv.Field(i)))
		}
		changes[lowerFirst(name)] = schemas.Change{Prev: a, Current: b}
	}
	if len(changes) == 0 {
		return nil
	}
	return changes
}

func redactedIf(set bool) any {
	if set {
		return redacted
	}
	return nil
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	default:
		return v.IsZero()
	}
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if strings.HasSuffix(s, "ID") && len(s) > 2 { // ExternalID → externalId, GroupIDs kept readable below
		s = s[:len(s)-2] + "Id"
	}
	if strings.HasSuffix(s, "IDs") {
		s = s[:len(s)-3] + "Ids"
	}
	return string(unicode.ToLower(r)) + s[n:]
}
