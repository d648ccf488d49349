package directory

import (
	"testing"

	"github.com/scimd/scimd/schemas"
)

// TestOneBirthdayRule: the directory accepts a birthday exactly when the
// faces' rule (schemas.CheckBirthday) does; the directory's own pattern
// used to accept 2024-13-45 (issue 8 §2).
func TestOneBirthdayRule(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for i, b := range []string{"2024-13-45", "2023-02-29", "1990-1-01", "24-01-01"} {
		u := user("bday" + string(rune('a'+i)))
		u.Birthday = b
		if schemas.CheckBirthday(b) == "" {
			t.Fatalf("schemas accepts %q", b)
		}
		_, err := f.svc.CreateUser(ctx, f.admin, u, nil)
		wantKind(t, err, KindInvalid)
	}
	u := user("bdayok")
	u.Birthday = "2024-02-29"
	if _, err := f.svc.CreateUser(ctx, f.admin, u, nil); err != nil {
		t.Fatal(err)
	}
}
