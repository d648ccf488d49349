package embedded

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/scimd/scimd/schemas"
)

// A user record (since format 2) is a compact binary encoding of schemas.User
// without its Version and GroupIDs (stored apart): the fields in a fixed
// order, strings and counts as uvarint lengths, times as varint seconds and
// uvarint nanoseconds (0 for the zero time), optional parts behind a presence
// byte, and free-form JSON (custom data) as tagged values. Decoding it is a
// single pass that allocates little more than the strings, which is what
// makes decoding a user on every read affordable; encoding/json took about
// ten times as long.
//
// The decoded form is the one encoding/json gave format 1: empty lists and
// maps come back nil, free-form numbers as json.Number, times in UTC.

// userCodecV2 is the first byte of every user record of a current file:
// the 8-byte big-endian version of the record follows (see recordVersion),
// then the fields. userCodecV1 was the first byte of a record of formats 2
// to 5: the fields without a version (the userVersions bucket held it); the
// decoders read both, for the migrations that run before migrateV5.
const (
	userCodecV2 = 0xB2
	userCodecV1 = 0xB1
)

// recordHeader is the length of a userCodecV2 record's header: the codec
// byte and the version.
const recordHeader = 1 + 8

// recordVersion returns the version a user record holds: the user's
// version less its number of membership changes (users.version). 0 for a
// record of format 5 or older, and for nil (no record).
func recordVersion(rec []byte) int64 {
	if len(rec) < recordHeader || rec[0] != userCodecV2 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(rec[1:recordHeader]))
}

// setRecordVersion sets the version of the userCodecV2 record rec in place.
func setRecordVersion(rec []byte, v int64) {
	binary.BigEndian.PutUint64(rec[1:recordHeader], uint64(v))
}

// recordBody checks the codec byte of a user record and skips its header.
func (r *rbuf) recordBody() {
	switch c := r.byte(); c {
	case userCodecV2:
		if len(r.b) < recordHeader-1 {
			r.fail(errShortRecord)
			return
		}
		r.b = r.b[recordHeader-1:]
	case userCodecV1:
	default:
		r.fail(fmt.Errorf("not a user record (first byte %#x)", c))
	}
}

// Tags of free-form values.
const (
	tagNull = iota
	tagFalse
	tagTrue
	tagString
	tagNumber
	tagObject
	tagArray
)

// maxFreeFormDepth bounds the nesting the decoder follows (the directory
// allows 32 levels; the margin is for the wrapping objects).
const maxFreeFormDepth = 64

type wbuf struct{ b []byte }

func (w *wbuf) byte(c byte)   { w.b = append(w.b, c) }
func (w *wbuf) uint(n uint64) { w.b = binary.AppendUvarint(w.b, n) }
func (w *wbuf) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}
func (w *wbuf) bool(v bool) {
	if v {
		w.byte(1)
	} else {
		w.byte(0)
	}
}
func (w *wbuf) time(t time.Time) {
	if t.IsZero() {
		w.byte(0)
		return
	}
	w.byte(1)
	w.b = binary.AppendVarint(w.b, t.Unix())
	w.uint(uint64(t.Nanosecond()))
}

// value encodes a free-form value as encoding/json would see it: types that
// are not the ones JSON decoding produces go through a JSON round trip. With
// dict (event records), strings and object keys are written with dstr and
// strings tagged tagDictString; without it (user records), plain.
func (w *wbuf) value(v any, depth int, dict bool) error {
	if depth > maxFreeFormDepth {
		return errors.New("free-form value nested too deep")
	}
	switch t := v.(type) {
	case nil:
		w.byte(tagNull)
	case bool:
		if t {
			w.byte(tagTrue)
		} else {
			w.byte(tagFalse)
		}
	case string:
		if dict {
			w.byte(tagDictString)
		} else {
			w.byte(tagString)
		}
		w.text(t, dict)
	case json.Number:
		w.byte(tagNumber)
		w.str(string(t))
	case map[string]any:
		if t == nil {
			w.byte(tagNull)
			return nil
		}
		w.byte(tagObject)
		w.uint(uint64(len(t)))
		var buf [8]string
		for _, k := range sortedKeys(t, buf[:]) { // one document, one encoding
			w.text(k, dict)
			if err := w.value(t[k], depth+1, dict); err != nil {
				return err
			}
		}
	case []any:
		if t == nil {
			w.byte(tagNull)
			return nil
		}
		w.byte(tagArray)
		w.uint(uint64(len(t)))
		for _, e := range t {
			if err := w.value(e, depth+1, dict); err != nil {
				return err
			}
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var d any
		if err := schemas.DecodeJSON(b, &d); err != nil {
			return err
		}
		return w.value(d, depth, dict)
	}
	return nil
}

// sortedKeys returns the keys of m, ascending, in buf when it has room (a
// caller's stack array: the small maps of a record then cost nothing) or
// else in one allocation (slices.Sorted(maps.Keys(m)) grows its slice from
// empty).
func sortedKeys[V any](m map[string]V, buf []string) []string {
	if len(m) == 0 {
		return nil
	}
	keys := buf[:0]
	if cap(keys) < len(m) {
		keys = make([]string, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// text writes a free-form string or object key: with dstr when dict, else str.
func (w *wbuf) text(s string, dict bool) {
	if dict {
		w.dstr(s)
	} else {
		w.str(s)
	}
}

// object encodes a free-form object; nil and empty are both absent.
func (w *wbuf) object(m map[string]any) error {
	if len(m) == 0 {
		w.byte(0)
		return nil
	}
	w.byte(1)
	return w.value(m, 0, false)
}

func (w *wbuf) email(e schemas.Email) {
	w.str(e.Value)
	w.str(e.Type)
	w.bool(e.Primary)
	w.str(e.Display)
	w.bool(e.Verified)
	w.time(e.VerifiedAt)
}

func (w *wbuf) multi(ms []schemas.MultiValue) {
	w.uint(uint64(len(ms)))
	for _, m := range ms {
		w.str(m.Value)
		w.str(m.Type)
		w.bool(m.Primary)
		w.str(m.Display)
	}
}

// encodeUserRecord returns the record of u (its GroupIDs left out), with
// u.Version as the record's version: the writer sets the version it stores
// (setRecordVersion in batch.putUser).
func encodeUserRecord(u *schemas.User) ([]byte, error) {
	w := &wbuf{b: make([]byte, 0, 512)}
	w.byte(userCodecV2)
	w.b = binary.BigEndian.AppendUint64(w.b, uint64(u.Version))
	for _, s := range []string{u.ID, u.UserName, u.ExternalID,
		u.Name.Formatted, u.Name.FamilyName, u.Name.GivenName, u.Name.MiddleName, u.Name.HonorificPrefix, u.Name.HonorificSuffix,
		u.DisplayName, u.NickName, u.ProfileURL, u.Title, u.UserType, u.PreferredLanguage, u.Locale, u.Timezone, u.Birthday,
		u.Status} {
		w.str(s)
	}
	w.time(u.StatusChangedAt)
	w.uint(uint64(len(u.Emails)))
	for _, e := range u.Emails {
		w.email(e)
	}
	w.uint(uint64(len(u.PhoneNumbers)))
	for _, p := range u.PhoneNumbers {
		w.email(schemas.Email(p))
	}
	w.multi(u.IMs)
	w.multi(u.Photos)
	w.multi(u.Entitlements)
	w.multi(u.Roles)
	w.multi(u.X509Certificates)
	w.uint(uint64(len(u.Addresses)))
	for _, a := range u.Addresses {
		for _, s := range []string{a.Formatted, a.StreetAddress, a.Locality, a.Region, a.PostalCode, a.Country, a.Type} {
			w.str(s)
		}
		w.bool(a.Primary)
		w.time(a.Updated)
	}
	if e := u.Enterprise; e != nil {
		w.byte(1)
		for _, s := range []string{e.EmployeeNumber, e.CostCenter, e.Organization, e.Division, e.Department} {
			w.str(s)
		}
		if m := e.Manager; m != nil {
			w.byte(1)
			w.str(m.Value)
			w.str(m.Ref)
			w.str(m.DisplayName)
		} else {
			w.byte(0)
		}
	} else {
		w.byte(0)
	}
	if err := w.object(u.CustomData); err != nil {
		return nil, fmt.Errorf("custom data: %w", err)
	}
	w.uint(uint64(len(u.Apps)))
	var buf [8]string
	for _, id := range sortedKeys(u.Apps, buf[:]) {
		l := u.Apps[id]
		if l == nil {
			l = &schemas.AppLink{}
		}
		w.str(id)
		w.str(l.ExternalAccountID)
		if err := w.object(l.CustomAppData); err != nil {
			return nil, fmt.Errorf("app %s data: %w", id, err)
		}
		w.time(l.AssignedAt)
		w.time(l.LastLogin)
	}
	if p := u.Password; p != nil {
		w.byte(1)
		w.str(p.Hash)
		w.bool(p.Temporary)
		w.time(p.Updated)
		w.time(p.Expires)
	} else {
		w.byte(0)
	}
	w.uint(uint64(len(u.DeviceKeys)))
	for _, k := range u.DeviceKeys {
		for _, s := range []string{k.KeyID, k.DisplayName, k.Status, k.PublicKey} {
			w.str(s)
		}
		if err := w.object(k.CustomData); err != nil {
			return nil, fmt.Errorf("device key %s data: %w", k.KeyID, err)
		}
		if pc := k.PushConfig; pc != nil {
			w.byte(1)
			w.str(pc.DeviceToken)
			w.str(pc.Type)
		} else {
			w.byte(0)
		}
		w.time(k.Created)
		w.time(k.Updated)
	}
	w.time(u.Created)
	w.time(u.Updated)
	w.time(u.LastAuth)
	return w.b, nil
}

var errShortRecord = errors.New("user record ends early")

// rbuf reads a record; the first error sticks and every read after it gives
// zero values.
type rbuf struct {
	b   []byte
	err error
	// noCopy makes str return views of b (see decodeUserView and
	// decodeUserRecord).
	noCopy bool
	// boxes, lists and elems hold the free-form strings, arrays and array
	// elements read so far (see box and list): room that decodeRecord takes
	// from its userBlock, or that they allocate in chunks.
	boxes []string
	lists [][]any
	elems []any
}

// eface is the layout of an interface value of type any.
type eface struct{ typ, data unsafe.Pointer }

// typeOf returns the type word of x.
func typeOf(x any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&x)).typ }

var (
	stringType = typeOf("")
	numberType = typeOf(json.Number(""))
	listType   = typeOf([]any(nil))
)

// box returns s as a free-form value (a string, or a json.Number when
// number) without the allocation of converting it to any: the string's
// header goes into r.boxes, an array shared by the record's free-form
// strings (one allocation per boxChunk of them, or none, instead of one
// each), and the interface points at it, as the conversion would point at a
// copy of its own. Nothing writes an element of r.boxes once it is handed
// out, which is what makes sharing the array the same as separate copies.
func (r *rbuf) box(s string, number bool) any {
	if len(r.boxes) == cap(r.boxes) {
		r.boxes = make([]string, 0, boxChunk)
	}
	r.boxes = append(r.boxes, s)
	e := eface{typ: stringType, data: unsafe.Pointer(&r.boxes[len(r.boxes)-1])}
	if number {
		e.typ = numberType
	}
	return *(*any)(unsafe.Pointer(&e))
}

// list reads the n elements of a free-form array and returns it as a value,
// as box does for strings: the elements are n of r.elems (capacity n, so
// that an append copies them out; a caller may write them, no other array
// shares them) and the slice's header is in r.lists.
func (r *rbuf) list(n, depth int, dict bool) any {
	var a []any
	if n == 0 {
		a = []any{} // empty, not null (no room to take: r.elems may be nil)
	} else if k := len(r.elems); n <= cap(r.elems)-k {
		a, r.elems = r.elems[k:k+n:k+n], r.elems[:k+n]
	} else if n <= elemChunk {
		r.elems = make([]any, n, elemChunk)
		a = r.elems[:n:n]
	} else {
		a = make([]any, n)
	}
	for i := range a { // after taking a: the nested arrays take what follows
		a[i] = r.value(depth+1, dict)
	}
	if len(r.lists) == cap(r.lists) {
		r.lists = make([][]any, 0, boxChunk)
	}
	r.lists = append(r.lists, a)
	e := eface{typ: listType, data: unsafe.Pointer(&r.lists[len(r.lists)-1])}
	return *(*any)(unsafe.Pointer(&e))
}

// boxChunk and elemChunk are the number of strings (array headers) and of
// array elements an allocation of rbuf.boxes (lists) and rbuf.elems holds:
// the custom data of a typical user has half a dozen strings and an array of
// two.
const (
	boxChunk  = 8
	elemChunk = 8
)

func (r *rbuf) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *rbuf) byte() byte {
	if len(r.b) == 0 {
		r.fail(errShortRecord)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *rbuf) uint() uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail(errShortRecord)
		return 0
	}
	r.b = r.b[k:]
	return n
}

// count reads a length that must fit in what remains (each element takes at
// least min bytes).
func (r *rbuf) count(min int) int {
	n := r.uint()
	if n > uint64(len(r.b)/min) {
		r.fail(errShortRecord)
		return 0
	}
	return int(n)
}

func (r *rbuf) str() string {
	if r.noCopy {
		return r.view()
	}
	n := r.count(1)
	if n == 0 {
		return ""
	}
	s := string(r.b[:n]) // a copy: the record may be in bbolt's memory map
	r.b = r.b[n:]
	return s
}

// view is str without the copy: the string shares r's bytes (see
// viewSearchRecord for when that is safe).
func (r *rbuf) view() string {
	n := r.count(1)
	if n == 0 {
		return ""
	}
	s := unsafe.String(&r.b[0], n)
	r.b = r.b[n:]
	return s
}

// bytes is view for bytes: a length, then as many bytes (fixed).
func (r *rbuf) bytes() []byte { return r.fixed(r.count(1)) }

// fixed returns the next n bytes without a copy, capped so that an append
// does not write over what follows (nil when fewer remain).
func (r *rbuf) fixed(n int) []byte {
	if len(r.b) < n {
		r.fail(errShortRecord)
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *rbuf) bool() bool { return r.byte() != 0 }

func (r *rbuf) time() time.Time {
	if r.byte() == 0 {
		return time.Time{}
	}
	sec, k := binary.Varint(r.b)
	if k <= 0 {
		r.fail(errShortRecord)
		return time.Time{}
	}
	r.b = r.b[k:]
	ns := r.uint()
	if ns >= 1e9 {
		r.fail(errors.New("user record holds a bad time"))
		return time.Time{}
	}
	return time.Unix(sec, int64(ns)).UTC()
}

// value reads what wbuf.value wrote with the same dict. Event records (dict)
// also hold plain strings (tagString); user records never tagDictString.
func (r *rbuf) value(depth int, dict bool) any {
	if depth > maxFreeFormDepth {
		r.fail(errors.New("free-form value nested too deep"))
		return nil
	}
	tag := r.byte()
	switch tag {
	case tagNull:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagString:
		return r.box(r.str(), false)
	case tagDictString:
		if dict {
			return r.box(r.dstr(), false)
		}
	case tagNumber:
		return r.box(r.str(), true)
	case tagObject:
		n := r.count(2)
		m := make(map[string]any, n)
		for range n {
			k := r.text(dict)
			m[k] = r.value(depth+1, dict)
		}
		return m
	case tagArray:
		return r.list(r.count(1), depth, dict)
	}
	r.fail(fmt.Errorf("record holds an unknown value tag %d", tag))
	return nil
}

// text reads what wbuf.text wrote with the same dict.
func (r *rbuf) text(dict bool) string {
	if dict {
		return r.dstr()
	}
	return r.str()
}

func (r *rbuf) object() map[string]any {
	if r.byte() == 0 {
		return nil
	}
	m, _ := r.value(0, false).(map[string]any)
	return m
}

func (r *rbuf) email() schemas.Email {
	return schemas.Email{Value: r.str(), Type: r.str(), Primary: r.bool(), Display: r.str(), Verified: r.bool(), VerifiedAt: r.time()}
}

func (r *rbuf) multi() []schemas.MultiValue {
	n := r.count(5)
	if n == 0 {
		return nil
	}
	out := make([]schemas.MultiValue, n)
	for i := range out {
		out[i] = schemas.MultiValue{Value: r.str(), Type: r.str(), Primary: r.bool(), Display: r.str()}
	}
	return out
}

// decodeUserRecord decodes a binary user record (Version and GroupIDs unset).
// The record is copied once and its strings are views of that private copy,
// which nothing writes: one allocation for all of them instead of one each
// (a dozen for a typical user). A string kept from the user keeps the copy
// (a few hundred bytes) alive.
func decodeUserRecord(b []byte) (*schemas.User, error) {
	return decodeRecord(&rbuf{b: bytes.Clone(b), noCopy: true})
}

// decodeUserView is decodeUserRecord without copying the strings: they point
// into b (bbolt's memory map), so the user must not outlive the transaction
// nor be returned; a full scan evaluates its filter on it and decodes only
// the matches again with decodeUserRecord.
func decodeUserView(b []byte) (*schemas.User, error) { return decodeRecord(&rbuf{b: b, noCopy: true}) }

// recordNames reads the userName and displayName of a binary user record
// without decoding the rest (a group's member list names its members). The
// strings point into b, as decodeUserView's.
func recordNames(b []byte) (userName, displayName string, err error) {
	r := &rbuf{b: b, noCopy: true}
	r.recordBody()
	r.view() // id
	userName = r.view()
	for range 7 { // externalId and the six parts of name
		r.view()
	}
	displayName = r.view()
	return userName, displayName, r.err
}

// userBlock is what decodeRecord allocates for a user in one piece: the
// user, the parts it points to, and room for the lists of a typical user
// (blockSlice). Every part of a decoded user is its own, as if allocated
// apart: a list in the block has no room to grow into (an append copies it
// out), and the block stays alive as long as any part of it does.
type userBlock struct {
	u          schemas.User
	enterprise schemas.EnterpriseUser
	manager    schemas.Manager
	emails     [2]schemas.Email
	phones     [1]schemas.PhoneNumber
	addresses  [1]schemas.Address
	// the free-form strings, arrays and array elements (rbuf.box, list)
	boxes [8]string
	lists [2][]any
	elems [4]any
}

// blockSlice returns a list of n elements: the first n of room when it has
// them (capacity n, so that an append does not reach past them), else a new
// one.
func blockSlice[T any](room []T, n int) []T {
	if n <= len(room) {
		return room[:n:n]
	}
	return make([]T, n)
}

func decodeRecord(r *rbuf) (*schemas.User, error) {
	if r.recordBody(); r.err != nil {
		return nil, r.err
	}
	blk := &userBlock{}
	u := &blk.u
	r.boxes, r.lists, r.elems = blk.boxes[:0], blk.lists[:0], blk.elems[:0]
	u.ID, u.UserName, u.ExternalID = r.str(), r.str(), r.str()
	u.Name = schemas.Name{Formatted: r.str(), FamilyName: r.str(), GivenName: r.str(), MiddleName: r.str(),
		HonorificPrefix: r.str(), HonorificSuffix: r.str()}
	u.DisplayName, u.NickName, u.ProfileURL, u.Title, u.UserType = r.str(), r.str(), r.str(), r.str(), r.str()
	u.PreferredLanguage, u.Locale, u.Timezone, u.Birthday, u.Status = r.str(), r.str(), r.str(), r.str(), r.str()
	u.StatusChangedAt = r.time()
	if n := r.count(6); n > 0 {
		u.Emails = blockSlice(blk.emails[:], n)
		for i := range u.Emails {
			u.Emails[i] = r.email()
		}
	}
	if n := r.count(6); n > 0 {
		u.PhoneNumbers = blockSlice(blk.phones[:], n)
		for i := range u.PhoneNumbers {
			u.PhoneNumbers[i] = schemas.PhoneNumber(r.email())
		}
	}
	u.IMs, u.Photos, u.Entitlements, u.Roles, u.X509Certificates = r.multi(), r.multi(), r.multi(), r.multi(), r.multi()
	if n := r.count(9); n > 0 {
		u.Addresses = blockSlice(blk.addresses[:], n)
		for i := range u.Addresses {
			u.Addresses[i] = schemas.Address{Formatted: r.str(), StreetAddress: r.str(), Locality: r.str(), Region: r.str(),
				PostalCode: r.str(), Country: r.str(), Type: r.str(), Primary: r.bool(), Updated: r.time()}
		}
	}
	if r.byte() != 0 {
		e := &blk.enterprise
		*e = schemas.EnterpriseUser{EmployeeNumber: r.str(), CostCenter: r.str(), Organization: r.str(), Division: r.str(), Department: r.str()}
		if r.byte() != 0 {
			blk.manager = schemas.Manager{Value: r.str(), Ref: r.str(), DisplayName: r.str()}
			e.Manager = &blk.manager
		}
		u.Enterprise = e
	}
	u.CustomData = r.object()
	if n := r.count(5); n > 0 {
		u.Apps = make(map[string]*schemas.AppLink, n)
		for range n {
			id := r.str()
			u.Apps[id] = &schemas.AppLink{ExternalAccountID: r.str(), CustomAppData: r.object(), AssignedAt: r.time(), LastLogin: r.time()}
		}
	}
	if r.byte() != 0 {
		u.Password = &schemas.PasswordCredential{Hash: r.str(), Temporary: r.bool(), Updated: r.time(), Expires: r.time()}
	}
	if n := r.count(8); n > 0 {
		u.DeviceKeys = make([]schemas.DeviceKey, n)
		for i := range u.DeviceKeys {
			k := schemas.DeviceKey{KeyID: r.str(), DisplayName: r.str(), Status: r.str(), PublicKey: r.str(), CustomData: r.object()}
			if r.byte() != 0 {
				k.PushConfig = &schemas.PushConfig{DeviceToken: r.str(), Type: r.str()}
			}
			k.Created, k.Updated = r.time(), r.time()
			u.DeviceKeys[i] = k
		}
	}
	u.Created, u.Updated, u.LastAuth = r.time(), r.time(), r.time()
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errors.New("user record has trailing bytes")
	}
	return u, nil
}
