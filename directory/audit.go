package directory

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"time"
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

// maxPendingEvents bounds the audit events being written at once; record blocks
// (back-pressure) beyond it.
const maxPendingEvents = 512

// auditQueue tracks the audit events being written in the background.
type auditQueue struct {
	mu      sync.Mutex
	idle    *sync.Cond // signalled when pending drops to zero
	pending int
	slots   chan struct{}
}

func newAuditQueue() *auditQueue {
	q := &auditQueue{slots: make(chan struct{}, maxPendingEvents)}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// wait blocks until every event recorded so far is written, or until timeout.
func (q *auditQueue) wait(timeout time.Duration) {
	done := make(chan struct{})
	go func() {
		q.mu.Lock()
		for q.pending > 0 {
			q.idle.Wait()
		}
		q.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// record writes an audit event for a mutation that has happened. The write
// runs in the background: waiting for it would not make the trail safer (a
// crash between the mutation's commit and the event's loses the event either
// way) but would double the latency of every mutation. Events carry their time
// and time-ordered id from this moment, so their order does not depend on when
// they are written. Close and ListEvents wait for pending events.
func (s *Service) record(ctx context.Context, p Principal, action, targetType, targetID string, changes map[string]schemas.Change) {
	e := &schemas.Event{
		ID: NewID(), Time: s.clock(), ActorID: p.ActorID, ActorType: p.ActorType, Action: action,
		TargetID: targetID, TargetType: targetType, IP: p.IP, UserAgent: p.UserAgent, Changes: changes,
	}
	q := s.audit
	q.slots <- struct{}{}
	q.mu.Lock()
	q.pending++
	q.mu.Unlock()
	go func() {
		defer func() {
			<-q.slots
			q.mu.Lock()
			q.pending--
			if q.pending == 0 {
				q.idle.Broadcast()
			}
			q.mu.Unlock()
		}()
		if err := s.store.AppendEvent(context.WithoutCancel(ctx), e); err != nil {
			s.log.Error("audit event not written", "action", action, "target", targetID, "err", err)
		}
	}()
}

// Close waits until every audit event recorded so far is written (at most
// timeout). Call it before closing the store.
func (s *Service) Close(timeout time.Duration) { s.audit.wait(timeout) }

// ListEvents returns audit events; only admins may read them.
func (s *Service) ListEvents(ctx context.Context, p Principal, q storage.EventQuery) (storage.Page[*schemas.Event], error) {
	if !p.administers() {
		return storage.Page[*schemas.Event]{}, adminOnly("reading audit events")
	}
	s.audit.wait(5 * time.Second) // read your own writes: include events still being written
	page, err := s.store.ListEvents(ctx, q)
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
