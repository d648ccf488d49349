package schemas

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

// fillAll sets every string, bool and time of v (a pointer to a struct),
// recursively, to a distinct non-zero value: pointers to structs are
// allocated, slices get two elements, maps of app links one ("app").
func fillAll(v reflect.Value, n *int) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct && v.Type().Elem() != reflect.TypeFor[time.Time]() {
			v.Set(reflect.New(v.Type().Elem()))
			fillAll(v.Elem(), n)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			*n++
			v.Set(reflect.ValueOf(time.Date(2026, 1, 1, 0, 0, *n, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillAll(v.Field(i), n)
			}
		}
	case reflect.String:
		*n++
		v.SetString("s" + strconv.Itoa(*n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillAll(s.Index(i), n)
		}
		v.Set(s)
	case reflect.Map:
		if v.Type().Elem() == reflect.TypeFor[*AppLink]() {
			l := &AppLink{}
			fillAll(reflect.ValueOf(l).Elem(), n)
			v.Set(reflect.ValueOf(map[string]*AppLink{"app": l}))
		}
	}
}

// TestStoredIsValues: wherever Stored finds a stored value, Values yields
// exactly that value (nothing for an empty string or a zero time), for
// every attribute and sub-attribute of the catalog, on a user and a group
// with every field set and on empty ones — the promise the SCIM renderer's
// fast path relies on.
func TestStoredIsValues(t *testing.T) {
	n := 0
	fullU, fullG := &User{}, &Group{}
	fillAll(reflect.ValueOf(fullU).Elem(), &n)
	fillAll(reflect.ValueOf(fullG).Elem(), &n)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	stored := 0
	check := func(doc any, a *Attribute) {
		var got []Value
		Values(doc, a, now, func(v Value) bool {
			got = append(got, v)
			return true
		})
		var want []Value
		switch s := Stored(doc, a).(type) {
		case nil:
			return
		case *string:
			if *s != "" {
				want = []Value{{Kind: KindString, Str: *s}}
			}
		case *bool:
			want = []Value{{Kind: KindBool, Bool: *s}}
		case *time.Time:
			if !s.IsZero() {
				want = []Value{{Kind: KindTime, Time: *s}}
			}
		default:
			t.Fatalf("%s: Stored is a %T", a.Canonical, s)
		}
		stored++
		if len(got) != len(want) || len(got) == 1 && (got[0].Kind != want[0].Kind || got[0].Str != want[0].Str ||
			got[0].Bool != want[0].Bool || !got[0].Time.Equal(want[0].Time)) {
			t.Errorf("%s on %T: Stored says %v, Values yields %v", a.Canonical, doc, want, got)
		}
	}
	for _, c := range []struct {
		rt   ResourceType
		docs []any
	}{{UserResource, []any{fullU, &User{}}}, {GroupResource, []any{fullG, &Group{}}}} {
		for _, doc := range c.docs {
			lists := [][]*Attribute{CommonAttributes(c.rt)}
			for _, urn := range SchemaURNs(c.rt) {
				lists = append(lists, SchemaAttributes(urn))
			}
			for _, list := range lists {
				for _, a := range list {
					check(doc, a)
					if a.Type == TypeComplex {
						EachElem(doc, a, "app", func(e any) bool {
							for _, sub := range a.SubAttributes {
								check(e, sub)
							}
							return true
						})
					}
				}
			}
		}
	}
	if stored < 120 {
		t.Errorf("Stored found %d stored values, want them all (120 or more: 141 when written)", stored)
	}
}
