package storagetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

var timeType = reflect.TypeFor[time.Time]()

// normalize returns a deep copy of v in the suite's comparison form: every
// time.Time in UTC truncated to the millisecond, and empty slices and maps of
// typed document fields as nil. Values held in interfaces (free-form JSON) are
// left exactly as they are.
func normalize[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	return normCopy(rv).Interface().(T)
}

func normCopy(v reflect.Value) reflect.Value {
	t := v.Type()
	out := reflect.New(t).Elem()
	switch v.Kind() {
	case reflect.Struct:
		if t == timeType {
			tm := v.Interface().(time.Time)
			out.Set(reflect.ValueOf(tm.UTC().Truncate(time.Millisecond)))
			return out
		}
		out.Set(v) // copies unexported fields too
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(normCopy(v.Field(i)))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(t.Elem())
			p.Elem().Set(normCopy(v.Elem()))
			out.Set(p)
		}
	case reflect.Slice:
		if v.Len() > 0 {
			s := reflect.MakeSlice(t, v.Len(), v.Len())
			for i := range v.Len() {
				s.Index(i).Set(normCopy(v.Index(i)))
			}
			out.Set(s)
		}
	case reflect.Map:
		if v.Len() > 0 {
			m := reflect.MakeMapWithSize(t, v.Len())
			it := v.MapRange()
			for it.Next() {
				if t.Elem().Kind() == reflect.Interface {
					m.SetMapIndex(it.Key(), it.Value()) // JSON: compared as is
				} else {
					m.SetMapIndex(it.Key(), normCopy(it.Value()))
				}
			}
			out.Set(m)
		}
	default:
		out.Set(v)
	}
	return out
}

// normUser is normalize for users, with GroupIDs sorted (their order is not part
// of the contract).
func normUser(u *schemas.User) *schemas.User {
	if u == nil {
		return nil
	}
	c := normalize(u)
	slices.Sort(c.GroupIDs)
	return c
}

// diff describes the first difference between want and got, or returns "".
func diff(want, got any) string {
	return firstDiff("", reflect.ValueOf(want), reflect.ValueOf(got))
}

func firstDiff(path string, a, b reflect.Value) string {
	if !a.IsValid() || !b.IsValid() {
		if a.IsValid() != b.IsValid() {
			return fmt.Sprintf("%s: want %v, got %v", orRoot(path), show(a), show(b))
		}
		return ""
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: want %T(%v), got %T(%v)", orRoot(path), a.Interface(), a.Interface(), b.Interface(), b.Interface())
	}
	switch a.Kind() {
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: want %v, got %v", orRoot(path), show(a), show(b))
			}
			return ""
		}
		return firstDiff(path, a.Elem(), b.Elem())
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: want %v, got %v", orRoot(path), show(a), show(b))
			}
			return ""
		}
		return firstDiff(path, a.Elem(), b.Elem())
	case reflect.Struct:
		if a.Type() == timeType {
			if !reflect.DeepEqual(a.Interface(), b.Interface()) {
				return fmt.Sprintf("%s: want %v, got %v", orRoot(path), a.Interface(), b.Interface())
			}
			return ""
		}
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if d := firstDiff(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if a.Kind() == reflect.Slice && a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: want %s, got %s", orRoot(path), nilOrEmpty(a), nilOrEmpty(b))
		}
		for i := range min(a.Len(), b.Len()) {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: want length %d, got length %d", orRoot(path), a.Len(), b.Len())
		}
		return ""
	case reflect.Map:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: want %s, got %s", orRoot(path), nilOrEmpty(a), nilOrEmpty(b))
		}
		keys := func(m reflect.Value) []string {
			var ks []string
			for _, k := range m.MapKeys() {
				ks = append(ks, fmt.Sprint(k.Interface()))
			}
			slices.Sort(ks)
			return ks
		}
		it := a.MapRange()
		for it.Next() {
			bv := b.MapIndex(it.Key())
			p := fmt.Sprintf("%s[%q]", path, fmt.Sprint(it.Key().Interface()))
			if !bv.IsValid() {
				return fmt.Sprintf("%s: missing (got keys %v)", p, trimKeys(keys(b)))
			}
			if d := firstDiff(p, it.Value(), bv); d != "" {
				return d
			}
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: want keys %v, got keys %v", orRoot(path), trimKeys(keys(a)), trimKeys(keys(b)))
		}
		return ""
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return ""
	default:
		if a.CanInterface() && b.CanInterface() && a.Interface() != b.Interface() {
			return fmt.Sprintf("%s: want %#v, got %#v", orRoot(path), a.Interface(), b.Interface())
		}
		return ""
	}
}

func orRoot(p string) string {
	if p == "" {
		return "(value)"
	}
	return strings.TrimPrefix(p, ".")
}

func show(v reflect.Value) string {
	if !v.IsValid() {
		return "<nothing>"
	}
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return "nil"
	}
	s := fmt.Sprintf("%#v", v.Interface())
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func nilOrEmpty(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("non-nil (length %d)", v.Len())
}

func trimKeys(ks []string) []string {
	if len(ks) > 20 {
		return append(ks[:20:20], "…")
	}
	return ks
}

// assertUser fails unless got equals want in the suite's comparison form.
func assertUser(t *testing.T, what string, want, got *schemas.User) {
	t.Helper()
	w, g := normUser(want), normUser(got)
	if !reflect.DeepEqual(w, g) {
		t.Errorf("%s: user differs: %s", what, diff(w, g))
	}
}

// assertEqual fails unless got equals want in the suite's comparison form.
func assertEqual[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	w, g := normalize(want), normalize(got)
	if !reflect.DeepEqual(w, g) {
		t.Errorf("%s: differs: %s", what, diff(w, g))
	}
}

// withVersion returns a copy of u with Version v (the expected stored form).
func withVersion(u *schemas.User, v int64) *schemas.User {
	c := u.Clone()
	c.Version = v
	return c
}

// assertErr fails unless errors.Is(err, target).
func assertErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// assertConflict fails unless err is a *storage.ConflictError naming field.
func assertConflict(t *testing.T, what string, err error, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want a conflict on %s", what, field)
		return
	}
	if !errors.Is(err, storage.ErrConflict) {
		t.Errorf("%s: got error %v, want a conflict on %s", what, err, field)
		return
	}
	if f := storage.ConflictField(err); f != field {
		t.Errorf("%s: conflict names field %q, want %q (error: %v)", what, f, field, err)
	}
}

// ---- store helpers that fail the test on error ----

func mustCreateUser(t *testing.T, s storage.Store, u *schemas.User) *schemas.User {
	t.Helper()
	got, err := s.CreateUser(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", u.ID, err)
	}
	return got
}

// mustChangeUser applies fn to the stored user id (whatever its version).
func mustChangeUser(t *testing.T, s storage.Store, id string, fn func(u *schemas.User)) {
	t.Helper()
	if _, err := s.UpdateUser(t.Context(), id, 0, func(u *schemas.User) error { fn(u); return nil }, nil); err != nil {
		t.Fatalf("UpdateUser %s: %v", id, err)
	}
}

func mustGetUser(t *testing.T, s storage.Store, id string) *schemas.User {
	t.Helper()
	got, err := s.GetUser(t.Context(), id)
	if err != nil {
		t.Fatalf("GetUser(%s): %v", id, err)
	}
	return got
}

func mustUpdateUser(t *testing.T, s storage.Store, id string, fn func(*schemas.User) error) *schemas.User {
	t.Helper()
	got, err := s.UpdateUser(t.Context(), id, 0, fn, nil)
	if err != nil {
		t.Fatalf("UpdateUser(%s): %v", id, err)
	}
	return got
}

func mustCreateGroup(t *testing.T, s storage.Store, g *schemas.Group) *schemas.Group {
	t.Helper()
	got, err := s.CreateGroup(t.Context(), g, nil)
	if err != nil {
		t.Fatalf("CreateGroup(%s): %v", g.ID, err)
	}
	return got
}

func mustGetGroup(t *testing.T, s storage.Store, id string) *schemas.Group {
	t.Helper()
	got, err := s.GetGroup(t.Context(), id)
	if err != nil {
		t.Fatalf("GetGroup(%s): %v", id, err)
	}
	return got
}

func mustCreateApp(t *testing.T, s storage.Store, a *schemas.App) *schemas.App {
	t.Helper()
	got, err := s.CreateApp(t.Context(), a, nil)
	if err != nil {
		t.Fatalf("CreateApp(%s): %v", a.ID, err)
	}
	return got
}

func mustMembers(t *testing.T, s storage.Store, groupID string) []string {
	t.Helper()
	ids, err := s.GroupMemberIDs(t.Context(), groupID)
	if err != nil {
		t.Fatalf("GroupMemberIDs(%s): %v", groupID, err)
	}
	return ids
}

// assertMembers fails unless the group's members are exactly want, in ascending order.
func assertMembers(t *testing.T, s storage.Store, groupID string, want ...string) {
	t.Helper()
	got := mustMembers(t, s, groupID)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("GroupMemberIDs(%s) = %v, want %v (ascending)", groupID, got, want)
	}
}

// assertGroupIDs fails unless the user's GroupIDs are exactly want, in any order.
func assertGroupIDs(t *testing.T, s storage.Store, userID string, want ...string) {
	t.Helper()
	u := mustGetUser(t, s, userID)
	got := slices.Sorted(slices.Values(u.GroupIDs))
	w := slices.Sorted(slices.Values(want))
	if len(got) == 0 && len(w) == 0 {
		return
	}
	if !slices.Equal(got, w) {
		t.Errorf("user %s GroupIDs = %v, want %v", userID, u.GroupIDs, want)
	}
}

// assertVersion fails unless the stored user has Version v.
func assertVersion(t *testing.T, s storage.Store, userID string, v int64) {
	t.Helper()
	if got := mustGetUser(t, s, userID).Version; got != v {
		t.Errorf("user %s Version = %d, want %d", userID, got, v)
	}
}

func allUsers(t *testing.T, s storage.Store) []*schemas.User {
	t.Helper()
	p, err := s.ListUsers(t.Context(), storage.Query{Limit: storage.Unlimited})
	if err != nil {
		t.Fatalf("ListUsers(all): %v", err)
	}
	return p.Items
}

func userIDs(us []*schemas.User) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

func groupIDsOf(gs []*schemas.Group) []string {
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

// ms is a millisecond-precision UTC time: the suite's times all have this form.
func ms(year int, month time.Month, day, hour, min, sec, milli int) time.Time {
	return time.Date(year, month, day, hour, min, sec, milli*int(time.Millisecond), time.UTC)
}

// ---- filters and sort keys ----

func scimOpts() schemas.ParseOptions {
	return schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
}

func nativeOpts(appID string) schemas.ParseOptions {
	return schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect, AppID: appID}
}

func mustFilter(t *testing.T, expr string, opt schemas.ParseOptions) schemas.Filter {
	t.Helper()
	f, err := schemas.ParseFilter(expr, opt)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", expr, err)
	}
	return f
}

func mustSortKey(t *testing.T, path string, desc bool, opt schemas.ParseOptions) *schemas.SortKey {
	t.Helper()
	p, err := schemas.ParsePath(path, opt)
	if err != nil {
		t.Fatalf("ParsePath(%q): %v", path, err)
	}
	return &schemas.SortKey{Path: p, Descending: desc}
}

func mustNormalizeJSON(m map[string]any) map[string]any {
	n, err := schemas.NormalizeJSONObject(m)
	if err != nil {
		panic(fmt.Sprintf("storagetest: NormalizeJSONObject: %v", err))
	}
	return n
}
