package storagetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd/schemas"
)

// notStoredByCreate are the fields of schemas.User that the full user leaves
// zero on purpose: the store assigns the version, and membership is written
// through the group methods, not with the user.
var notStoredByCreate = map[string]bool{"Version": true, "GroupIDs": true}

// TestFullUserSetsEveryField holds fullUser, the document of the round-trip
// tests (UserFullDocument and the reopen and compare suites), to every field
// of schemas.User, recursively: a field added to the model but not to
// fullUser would let a backend that forgets to store it pass the suite. A
// field of a slice element counts when one element sets it.
func TestFullUserSetsEveryField(t *testing.T) {
	set := map[string]bool{}
	walkSet(reflect.ValueOf(fullUser("u00000042")).Elem(), "", set)
	for _, p := range leafPaths(reflect.TypeFor[schemas.User](), "") {
		if !set[p] && !notStoredByCreate[strings.SplitN(p, ".", 2)[0]] {
			t.Errorf("fullUser leaves %s zero: set it, so that every backend must store it", p)
		}
	}
}

// leafPaths lists the exported leaf fields of t ("Name.GivenName",
// "Emails[].Verified", "Apps[].CustomAppData").
func leafPaths(t reflect.Type, prefix string) []string {
	switch {
	case t.Kind() == reflect.Pointer:
		return leafPaths(t.Elem(), prefix)
	case t.Kind() == reflect.Struct && t != timeType:
		var out []string
		for i := range t.NumField() {
			f := t.Field(i)
			if f.IsExported() {
				out = append(out, leafPaths(f.Type, join(prefix, f.Name))...)
			}
		}
		return out
	case t.Kind() == reflect.Slice && elemIsStruct(t.Elem()),
		t.Kind() == reflect.Map && elemIsStruct(t.Elem()):
		return leafPaths(t.Elem(), prefix+"[]")
	}
	return []string{prefix}
}

// walkSet records the leaf paths of v that hold a non-zero value.
func walkSet(v reflect.Value, prefix string, set map[string]bool) {
	switch {
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			walkSet(v.Elem(), prefix, set)
		}
	case v.Kind() == reflect.Struct && v.Type() != timeType:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				walkSet(v.Field(i), join(prefix, f.Name), set)
			}
		}
	case v.Kind() == reflect.Slice && elemIsStruct(v.Type().Elem()):
		for i := range v.Len() {
			walkSet(v.Index(i), prefix+"[]", set)
		}
	case v.Kind() == reflect.Map && elemIsStruct(v.Type().Elem()):
		for it := v.MapRange(); it.Next(); {
			walkSet(it.Value(), prefix+"[]", set)
		}
	default:
		if !v.IsZero() && (v.Kind() != reflect.Slice && v.Kind() != reflect.Map || v.Len() > 0) {
			set[prefix] = true
		}
	}
}

func elemIsStruct(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t != timeType
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
