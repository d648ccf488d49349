// Package schematest holds the fixtures the tests of the model and of its
// projections share: a realistic, fully populated user and group, and the way
// the faces decode a JSON body. It is imported by tests only.
package schematest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Created is the creation time of the sample documents.
var Created = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// MustJSON is schemas.NormalizeJSONObject(m), failing t on error.
func MustJSON(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	n, err := schemas.NormalizeJSONObject(m)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// SampleUser is a realistic, fully populated user.
func SampleUser(t testing.TB) *schemas.User {
	return &schemas.User{
		ID: "u-0001", Version: 3, UserName: "Ada.Lovelace@Example.org", ExternalID: "EXT-42",
		Name: schemas.Name{Formatted: "Ada King Lovelace", GivenName: "Ada", FamilyName: "Lovelace",
			MiddleName: "King", HonorificPrefix: "Countess"},
		DisplayName: "Ada Lovelace", NickName: "ada", Title: "Analyst", UserType: "Employee",
		PreferredLanguage: "en-GB", Locale: "en_GB", Timezone: "Europe/London", Birthday: "1815-12-10",
		ProfileURL: "https://example.org/Ada",
		Emails: []schemas.Email{
			{Value: "ada@home.example", Type: "home"},
			{Value: "Ada@Work.example", Type: "work", Primary: true, Verified: true, VerifiedAt: Created},
		},
		PhoneNumbers:     []schemas.PhoneNumber{{Value: "+441234567", Type: "mobile"}},
		Photos:           []schemas.MultiValue{{Value: "https://img.example/a.png", Type: "photo"}, {Value: "https://img.example/t.png", Type: "thumbnail"}},
		Addresses:        []schemas.Address{{Locality: "London", Country: "GB", Type: "home"}, {Locality: "Paris", Country: "FR", Type: "work", Primary: true, PostalCode: "75001"}},
		Roles:            []schemas.MultiValue{{Value: "admin"}, {Value: "dev", Primary: true}},
		Entitlements:     []schemas.MultiValue{{Value: "printing"}},
		IMs:              []schemas.MultiValue{{Value: "ada-im", Type: "xmpp"}},
		X509Certificates: []schemas.MultiValue{{Value: "MIIBase64Cert"}},
		Enterprise: &schemas.EnterpriseUser{EmployeeNumber: "701984", CostCenter: "4130", Department: "Engineering",
			Manager: &schemas.Manager{Value: "u-0002", DisplayName: "Charles Babbage"}},
		Status: schemas.StatusActive,
		CustomData: MustJSON(t, map[string]any{
			"tier": "Gold", "level": 3, "score": 4.5, "vip": true, "tags": []any{"a", "B", 7},
			"nested": map[string]any{"k": "v", "n": 10, "deep": map[string]any{"x": "y"}},
			"empty":  "", "nul": nil, "obj": map[string]any{}, "list": []any{},
		}),
		Apps: map[string]*schemas.AppLink{
			"app1": {ExternalAccountID: "acct-9", CustomAppData: MustJSON(t, map[string]any{"branch": "NY", "seats": 5})},
			"app2": {},
		},
		GroupIDs: []string{"g1", "g2"},
		Password: &schemas.PasswordCredential{Hash: "x", Temporary: true, Updated: Created},
		Created:  Created, Updated: Created.Add(48 * time.Hour), LastAuth: Created.Add(72 * time.Hour),
	}
}

// SampleGroup is a realistic group with native data.
func SampleGroup(t testing.TB) *schemas.Group {
	return &schemas.Group{ID: "g1", Version: 2, DisplayName: "Engineering EMEA", ExternalID: "grp-EXT",
		Description: "All engineers", CustomData: MustJSON(t, map[string]any{"region": "EMEA", "size": 12}),
		Created: Created, Updated: Created.Add(time.Hour)}
}

// Decode decodes a JSON body as the faces do (numbers as json.Number).
func Decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := schemas.DecodeJSON([]byte(s), &m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

// Canon re-encodes a value through JSON so that maps built in Go and decoded
// bodies compare equal.
func Canon(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := schemas.DecodeJSON(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// DecodeBody decodes data as the faces do; ok is false for anything but a JSON object.
func DecodeBody(data []byte) (map[string]any, bool) {
	var m map[string]any
	if err := schemas.DecodeJSON(data, &m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// CheckRejected checks that a failed write returned a *schemas.ValueError and left the document alone.
func CheckRejected(t testing.TB, err error, got, before any) {
	t.Helper()
	var ve *schemas.ValueError
	if !errors.As(err, &ve) || ve.Reason == "" {
		t.Fatalf("error %v (%T) is not a *schemas.ValueError with a reason", err, err)
	}
	if !reflect.DeepEqual(got, before) {
		t.Fatalf("the document changed on error %v", err)
	}
}

// Primaries counts the elements of list that primary says are flagged
// primary (a valid document has at most one per attribute).
func Primaries[T any](list []T, primary func(T) bool) int {
	n := 0
	for _, x := range list {
		if primary(x) {
			n++
		}
	}
	return n
}

// AsValueError returns the *schemas.ValueError in err's chain, failing t
// when there is none.
func AsValueError(t testing.TB, err error) *schemas.ValueError {
	t.Helper()
	var ve *schemas.ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValueError", err, err)
	}
	return ve
}

// Fill sets every field reachable from the pointer p to a non-zero value
// (strings, times and numbers different from field to field, slices of two
// elements, maps of one entry, free-form objects of every JSON kind), so
// that a field a codec forgets (one added to schemas.User later) fails a
// round trip through it.
func Fill(t testing.TB, p any) {
	t.Helper()
	n := 0
	fill(t, reflect.ValueOf(p).Elem(), &n)
}

func fill(t testing.TB, v reflect.Value, n *int) {
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
