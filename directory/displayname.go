package directory

import (
	"strings"

	"github.com/scimd/scimd/schemas"
)

// derivedDisplayName is the display name Transmit derives from a user's
// name: the first, middle and last names joined by spaces ("" without any).
func derivedDisplayName(n schemas.Name) string {
	parts := make([]string, 0, 3)
	for _, s := range []string{n.GivenName, n.MiddleName, n.FamilyName} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// isDerivedDisplayName reports whether d == derivedDisplayName(n), without
// building the derived name.
func isDerivedDisplayName(d string, n schemas.Name) bool {
	first := true
	for _, s := range [...]string{n.GivenName, n.MiddleName, n.FamilyName} {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !first {
			if d == "" || d[0] != ' ' {
				return false
			}
			d = d[1:]
		}
		if !strings.HasPrefix(d, s) {
			return false
		}
		d, first = d[len(s):], false
	}
	return d == ""
}

// followName gives u the derived display name when it has none, and keeps a
// derived display name in step with the name: when prev's display name was
// the one derived from prev's name and this change left it alone, it follows
// the new name. A display name a client set (one that is not the derived
// one) is never touched.
func followName(u, prev *schemas.User) {
	switch {
	case u.DisplayName == "":
		u.DisplayName = derivedDisplayName(u.Name)
	case prev != nil && u.DisplayName == prev.DisplayName && u.Name != prev.Name && isDerivedDisplayName(prev.DisplayName, prev.Name):
		u.DisplayName = derivedDisplayName(u.Name)
		if u.DisplayName == "" {
			u.DisplayName = prev.DisplayName // the name was cleared: keep what the user is known as
		}
	}
}
