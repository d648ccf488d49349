package embedded

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scimd/scimd/internal/schematest"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

// TestUserCodecRoundTrip checks that a user with every field set comes back
// from its record unchanged (but for GroupIDs, stored apart, and Version,
// which the record's header holds: recordVersion), and that a record cut
// anywhere is an error, never a panic or a wrong user.
func TestUserCodecRoundTrip(t *testing.T) {
	var u schemas.User
	schematest.Fill(t, &u)
	u.Apps["k2"] = nil // stored as an empty link, as format 1 did
	u.CustomData["f"] = 2.5
	enc, err := encodeUserRecord(&u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeUserRecord(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := u
	want.Version, want.GroupIDs = 0, nil
	want.Apps = map[string]*schemas.AppLink{"k1": u.Apps["k1"], "k2": {}}
	want.CustomData = map[string]any{}
	for k, v := range u.CustomData {
		want.CustomData[k] = v
	}
	want.CustomData["f"] = json.Number("2.5") // as a JSON round trip gives
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, &want)
	}
	if v := recordVersion(enc); v != u.Version || u.Version == 0 {
		t.Errorf("the record's version is %d, want %d (not 0)", v, u.Version)
	}
	// The lists share one allocation (userBlock) but are apart: two appends
	// to one list do not write to the same element.
	one := *storagetest.NewUser(1) // one email, room for two
	oneEnc, _ := encodeUserRecord(&one)
	d, err := decodeUserRecord(oneEnc)
	if err != nil || len(d.Emails) != 1 {
		t.Fatalf("decode: %v, %d emails", err, len(d.Emails))
	}
	a := append(d.Emails, schemas.Email{Value: "a"})
	_ = append(d.Emails, schemas.Email{Value: "b"})
	if a[1].Value != "a" {
		t.Errorf("an append to a decoded list wrote where another append writes: %q", a[1].Value)
	}

	got.Version = u.Version
	again, _ := encodeUserRecord(got)
	if string(again) != string(enc) {
		t.Error("the decoded user encodes differently: the encoding is not deterministic")
	}
	for i := range len(enc) {
		if _, err := decodeUserRecord(enc[:i]); err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded without error", i, len(enc))
		}
	}
	if _, err := decodeUserRecord(append(enc, 0)); err == nil {
		t.Error("a record with a trailing byte decoded without error")
	}
}

// TestRecordNames: the names recordNames reads are those the full decode
// gives, for a user with every field set and for one with few.
func TestRecordNames(t *testing.T) {
	var full schemas.User
	schematest.Fill(t, &full)
	for _, u := range []*schemas.User{&full, {ID: "u1", UserName: "only"}, {ID: "u2", DisplayName: "shown", Name: schemas.Name{GivenName: "g"}}} {
		enc, err := encodeUserRecord(u)
		if err != nil {
			t.Fatal(err)
		}
		userName, displayName, err := recordNames(enc)
		if err != nil || userName != u.UserName || displayName != u.DisplayName {
			t.Errorf("recordNames = %q, %q, %v; want %q, %q", userName, displayName, err, u.UserName, u.DisplayName)
		}
	}
}

// BenchmarkDecodeUserRecord is the decoding part of GetUser: the record of a
// generated user (storagetest.NewUser: two emails, a manager, custom data
// with a nested object and an array) decoded from its bytes.
func BenchmarkDecodeUserRecord(b *testing.B) {
	enc, err := encodeUserRecord(storagetest.NewUser(10))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeUserRecord(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzUserRecord decodes arbitrary bytes as a user record: never a panic,
// and the record of a user that decodes is a fixed point — it decodes to a
// user that encodes to the same bytes (what decoding shares, such as the
// array the free-form strings are boxed from, loses nothing). The first
// decode may normalize (an empty custom data object is stored as none).
func FuzzUserRecord(f *testing.F) {
	var full schemas.User
	schematest.Fill(f, &full)
	for _, u := range []*schemas.User{&full, storagetest.NewUser(10), storagetest.NewUser(3), {ID: "u1"}} {
		enc, err := encodeUserRecord(u)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeUserRecord(b)
		if err != nil {
			return
		}
		u.Version = recordVersion(b)
		enc, err := encodeUserRecord(u)
		if err != nil {
			t.Fatalf("a decoded user does not encode: %v", err)
		}
		again, err := decodeUserRecord(enc)
		if err != nil {
			t.Fatalf("a decoded user's record does not decode: %v", err)
		}
		again.Version = u.Version
		enc2, err := encodeUserRecord(again)
		if err != nil || !bytes.Equal(enc2, enc) {
			t.Errorf("the record of a decoded user is not a fixed point (%v):\n%x\n%x", err, enc, enc2)
		}
	})
}

// TestFreeFormSharedRoom: the free-form arrays of a decoded record share
// allocations (rbuf.list) yet are apart: writing or appending to one changes
// no other, nested or not.
func TestFreeFormSharedRoom(t *testing.T) {
	u := &schemas.User{ID: "u1", CustomData: map[string]any{
		"a": []any{json.Number("1"), []any{"x", "y"}, "z"},
		"b": []any{"p"},
		"c": []any{"0", "1", "2", "3", "4", "5", "6", "7", "8"}, // more than a chunk
		"d": []any{"d"},
		"e": []any{"e"}, // next to d
	}}
	enc, err := encodeUserRecord(u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeUserRecord(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.CustomData, u.CustomData) {
		t.Fatalf("decoded %v, want %v", got.CustomData, u.CustomData)
	}
	a, b := got.CustomData["a"].([]any), got.CustomData["b"].([]any)
	inner := a[1].([]any)
	for i := range a {
		a[i] = "written"
	}
	b1 := append(b, "appended")
	_ = append(got.CustomData["d"].([]any), "appended")
	inner2 := append(inner, "appended")
	want := map[string]any{
		"a": []any{"written", "written", "written"},
		"b": []any{"p"},
		"c": u.CustomData["c"],
		"d": []any{"d"},
		"e": []any{"e"},
	}
	if !reflect.DeepEqual(got.CustomData, want) || b1[1] != "appended" || inner[0] != "x" || len(inner2) != 3 {
		t.Errorf("writing one array changed another: %v", got.CustomData)
	}

	// An empty array stays an empty array, not null, with room and without
	// (an event's free-form values are decoded without a userBlock).
	var w wbuf
	if err := w.value([]any{}, 0, false); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*rbuf{{b: w.b}, {b: w.b, elems: make([]any, 0, 4)}} {
		if v := r.value(0, false); r.err != nil || v == nil || v.([]any) == nil {
			t.Errorf("an empty array decoded as %#v (%v)", v, r.err)
		}
	}
}

// TestBoxIsConversion pins rbuf.box to what the conversion it replaces
// gives: it forges interface values from the runtime's layout of any
// (eface), which only this test would notice changing.
func TestBoxIsConversion(t *testing.T) {
	var r rbuf
	for _, s := range []string{"", "a", "ünïcode", string(make([]byte, 300))} {
		if v := r.box(s, false); v != any(s) || reflect.TypeOf(v) != reflect.TypeOf("") {
			t.Errorf("box(%q, false) = %#v, want the string", s, v)
		}
		if v := r.box(s, true); v != any(json.Number(s)) || reflect.TypeOf(v) != reflect.TypeOf(json.Number("")) {
			t.Errorf("box(%q, true) = %#v, want the json.Number", s, v)
		}
	}
	if listType != typeOf([]any(nil)) || stringType == numberType {
		t.Error("the type words of string, json.Number and []any are not distinct")
	}
}
