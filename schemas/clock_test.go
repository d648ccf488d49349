package schemas_test

import (
	"testing"
	"time"

	. "github.com/scimd/scimd/schemas"
)

// TestExpiredReadsTheCallersClock: whether a password has expired is decided
// at the time the caller gives (ParseOptions.Now, copied into the path), not
// at the wall clock's: the evaluator, the stores and the renderers agree with
// the directory's clock.
func TestExpiredReadsTheCallersClock(t *testing.T) {
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	u := &User{UserName: "a", Password: &PasswordCredential{Hash: "x", Expires: expires}}
	for _, c := range []struct {
		now  time.Time
		want bool
	}{
		{expires.Add(-time.Millisecond), false},
		{expires, true},
		{expires.Add(24 * time.Hour), true},
	} {
		for _, expr := range []string{`password_information.expired eq true`, `password_information[expired eq true]`} {
			f, err := ParseFilter(expr, ParseOptions{Resource: UserResource, Dialect: NativeDialect, Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			if got := MatchUser(f, u); got != c.want {
				t.Errorf("%s at %v = %v, want %v", expr, c.now, got, c.want)
			}
		}
		a := UserAttributeByCanonical("passwordInformation.expired")
		var got []bool
		Values(u.Password, a, c.now, func(v Value) bool { got = append(got, v.Bool); return true })
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("Values(expired) at %v = %v, want [%v]", c.now, got, c.want)
		}
	}
}
