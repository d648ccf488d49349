package directory

import (
	"testing"

	"github.com/scimd/scimd/schemas"
)

// TestIsDerivedDisplayName: the check agrees with building the derived name,
// for the derived name itself and for near misses.
func TestIsDerivedDisplayName(t *testing.T) {
	names := []schemas.Name{
		{}, {GivenName: "Ada"}, {FamilyName: "Lovelace"}, {GivenName: "Ada", FamilyName: "Lovelace"},
		{GivenName: " Ada ", MiddleName: "King", FamilyName: "Lovelace "}, {MiddleName: "  "},
		{GivenName: "Ada Lovelace"}, {GivenName: "Ada", MiddleName: "Lovelace"},
	}
	displays := []string{"", "Ada", "Lovelace", "Ada Lovelace", "Ada King Lovelace", "Ada  Lovelace",
		" Ada Lovelace", "Ada Lovelace ", "AdaLovelace", "Ada King", "ada lovelace"}
	for _, n := range names {
		for _, d := range append(displays, derivedDisplayName(n)) {
			if got, want := isDerivedDisplayName(d, n), d == derivedDisplayName(n); got != want {
				t.Errorf("isDerivedDisplayName(%q, %+v) = %v, want %v", d, n, got, want)
			}
		}
	}
}
