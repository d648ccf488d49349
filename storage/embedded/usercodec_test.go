package embedded

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scimd/scimd/internal/schematest"
	"github.com/scimd/scimd/schemas"
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
