package embedded

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
)

// fill sets every field reachable from v to a non-zero value, so that a
// field the codec forgets (one added to schemas.User later) fails the round
// trip below.
func fill(t *testing.T, v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + string(rune('a'+*n%26)) + time.Duration(*n).String())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, *n*1000, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), n)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(t, v.Index(0), n)
		fill(t, v.Index(1), n)
	case reflect.Map:
		if v.Type() == reflect.TypeOf(map[string]any{}) {
			v.Set(reflect.ValueOf(map[string]any{"s": "x", "n": json.Number("1.50"), "b": false, "z": nil,
				"o": map[string]any{"a": []any{true, "y", json.Number("-2"), map[string]any{}}}, "e": []any{}}))
			return
		}
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fill(t, e, n)
		m.SetMapIndex(reflect.ValueOf("k1"), e)
		v.Set(m)
	default:
		t.Fatalf("fill: no rule for %v", v.Type())
	}
}

// TestUserCodecRoundTrip checks that a user with every field set comes back
// from its record unchanged (but for Version and GroupIDs, stored apart), and
// that a record cut anywhere is an error, never a panic or a wrong user.
func TestUserCodecRoundTrip(t *testing.T) {
	var u schemas.User
	n := 0
	fill(t, reflect.ValueOf(&u).Elem(), &n)
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
