package embedded

import (
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/internal/uuidfmt"
	"github.com/scimd/scimd/schemas"
)

// An audit event record is a compact binary encoding (since this codec
// existed; the events written before it are JSON of eventRec, which starts
// with '{', and are still read): the first byte eventCodecV2, then the head
// — actor id and type, action, target id and type, IP, user agent; the id
// and the time are the record's key's (eventKey), not written again — and
// the changes, each a field name and its previous and current values
// when present, in field order. Free-form values are tagged as in user
// records (usercodec.go). Strings that repeat across events are written
// short (dstr): the names of fields and actions and the common values in
// eventDict as an index, ids in the canonical UUID form as their 16 bytes.
// A create's event holds every field of the new user; encoded so, it takes
// about half the bytes of its JSON.

// eventCodecV2 is the first byte of every binary event record written now;
// eventCodecV1 records (written for a few hours of development) hold the id
// and the time after it, and are still read.
const (
	eventCodecV1 = 0xE1
	eventCodecV2 = 0xE2
)

// binaryEvent reports whether v is a binary event record.
func binaryEvent(v []byte) bool { return len(v) > 0 && (v[0] == eventCodecV1 || v[0] == eventCodecV2) }

// tagDictString is a free-form string written with dstr (event records only).
const tagDictString = 7

// eventDict are the strings event records write as an index. Append only:
// a record refers to an entry by its position.
var eventDict = []string{
	// actions
	"createUser", "adminUpdateUser", "deleteUser", "removeUserFromApp", "assignUserToApp",
	"createGroup", "updateGroup", "deleteGroup", "addGroupMembers", "removeGroupMembers",
	"createApp", "updateApp", "deleteApp", "createMgmtApp", "updateMgmtApp", "deleteMgmtApp",
	"rotateClientSecret", "createApiToken", "deleteApiToken", "updatePassword", "userLogin",
	"userFailedLogin", "issueEnrolmentToken", "createAdmin", "deleteAdmin", "updateAdminPassword",
	"adminSignIn", "adminSignOut", "adminFailedSignIn",
	// actor and target types
	"app", "user", "api_token", "system", "admin", "group", "tenant",
	// field names (canonical paths, native names) and their parts
	"userName", "externalId", "displayName", "nickName", "profileUrl", "title", "userType",
	"preferredLanguage", "locale", "timezone", "birthday", "status", "active", "password",
	"name", "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix",
	"emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates",
	"value", "type", "primary", "display", "verified", "verifiedAt",
	"streetAddress", "locality", "region", "postalCode", "country",
	"enterprise.employeeNumber", "enterprise.costCenter", "enterprise.organization", "enterprise.division",
	"enterprise.department", "enterprise.manager", "$ref",
	"customData", "apps", "groups", "members", "description", "clientId", "redirectUris", "loginUrl",
	"client_secret", "scopes", "expires", "custom_data", "email", "secondary_emails", "phone_number",
	"first_name", "last_name", "middle_name", "external_user_id", "username",
	// common values
	"[redacted]", "work", "home", "mobile", "other", "fax", "pager", "Active", "Pending", "Disabled",
	"en-US", "Employee",
}

var eventDictIndex = func() map[string]int {
	m := make(map[string]int, len(eventDict))
	for i, s := range eventDict {
		if _, dup := m[s]; dup {
			panic("embedded: eventDict holds " + s + " twice")
		}
		m[s] = i
	}
	return m
}()

// dstr writes s as a dictionary index, a UUID's 16 bytes, or its bytes: one
// uvarint x, whose low two bits say which (1: index x>>2; 2: 16 bytes
// follow; 0: x>>2 bytes follow).
func (w *wbuf) dstr(s string) {
	if i, ok := eventDictIndex[s]; ok {
		w.uint(uint64(i)<<2 | 1)
		return
	}
	if u, ok := uuidfmt.Parse(s); ok {
		w.uint(2)
		w.b = append(w.b, u[:]...)
		return
	}
	w.uint(uint64(len(s)) << 2)
	w.b = append(w.b, s...)
}

func (r *rbuf) dstr() string {
	x := r.uint()
	switch x & 3 {
	case 0:
		n := x >> 2
		if n > uint64(len(r.b)) {
			r.fail(errShortRecord)
			return ""
		}
		s := string(r.b[:n])
		r.b = r.b[n:]
		return s
	case 1:
		if x>>2 >= uint64(len(eventDict)) {
			r.fail(fmt.Errorf("event record refers to dictionary entry %d of %d", x>>2, len(eventDict)))
			return ""
		}
		return eventDict[x>>2]
	case 2:
		if len(r.b) < 16 {
			r.fail(errShortRecord)
			return ""
		}
		s := uuidfmt.Format([16]byte(r.b[:16]))
		r.b = r.b[16:]
		return s
	}
	r.fail(errors.New("event record holds a bad string"))
	return ""
}

// Presence bits of a change's values.
const (
	hasPrev    = 1
	hasCurrent = 2
)

// encodeEventRecord returns the binary record of e, to be stored under
// eventKey(e.Time, e.ID).
func encodeEventRecord(e *schemas.Event) ([]byte, error) {
	w := &wbuf{b: make([]byte, 0, 128)}
	w.byte(eventCodecV2)
	for _, s := range []string{e.ActorID, e.ActorType, e.Action, e.TargetID, e.TargetType, e.IP, e.UserAgent} {
		w.dstr(s)
	}
	w.uint(uint64(len(e.Changes)))
	var buf [8]string
	for _, k := range sortedKeys(e.Changes, buf[:]) {
		c := e.Changes[k]
		w.dstr(k)
		var has byte
		if c.Prev != nil {
			has |= hasPrev
		}
		if c.Current != nil {
			has |= hasCurrent
		}
		w.byte(has)
		for _, v := range []any{c.Prev, c.Current} {
			if v == nil {
				continue
			}
			if err := w.value(v, 0, true); err != nil {
				return nil, fmt.Errorf("change of %s: %w", k, err)
			}
		}
	}
	return w.b, nil
}

// decodeEventRecordHead reads the head of the binary event record v stored
// under the key k; the returned reader is at its changes.
func decodeEventRecordHead(k, v []byte) (eventRec, *rbuf) {
	r := &rbuf{b: v[1:]}
	var h eventRec
	if v[0] == eventCodecV1 {
		h.ID, h.T = r.dstr(), r.time()
	} else if len(k) >= 12 {
		h.ID, h.T = string(k[12:]), keyTime(k)
		if h.T.IsZero() {
			h.T = time.Time{}
		}
	}
	h.A, h.AT, h.Ac, h.Tg, h.TT, h.IP, h.UA = r.dstr(), r.dstr(), r.dstr(), r.dstr(), r.dstr(), r.dstr(), r.dstr()
	return h, r
}

// decodeEventRecord decodes the binary event record v stored under the key k.
func decodeEventRecord(k, v []byte) (*schemas.Event, error) {
	h, r := decodeEventRecordHead(k, v)
	e := &schemas.Event{ID: h.ID, Time: h.T, ActorID: h.A, ActorType: h.AT, Action: h.Ac, TargetID: h.Tg,
		TargetType: h.TT, IP: h.IP, UserAgent: h.UA}
	if n := r.count(2); n > 0 {
		e.Changes = make(map[string]schemas.Change, n)
		for range n {
			k := r.dstr()
			has := r.byte()
			var c schemas.Change
			if has&hasPrev != 0 {
				c.Prev = r.value(0, true)
			}
			if has&hasCurrent != 0 {
				c.Current = r.value(0, true)
			}
			e.Changes[k] = c
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(errors.New("event record has bytes after its end"))
	}
	if r.err != nil {
		return nil, r.err
	}
	return e, nil
}
