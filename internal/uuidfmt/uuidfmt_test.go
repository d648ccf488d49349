package uuidfmt

import "testing"

func TestFormatParse(t *testing.T) {
	u := [16]byte{0x01, 0x93, 0x6f, 0x2a, 0x7c, 0x1e, 0x7d, 0x3a, 0x9b, 0x2c, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f}
	const s = "01936f2a-7c1e-7d3a-9b2c-1a2b3c4d5e6f"
	if got := Format(u); got != s {
		t.Fatalf("Format = %q, want %q", got, s)
	}
	if got, ok := Parse(s); !ok || got != u {
		t.Fatalf("Parse(%q) = %x, %v", s, got, ok)
	}
	for _, bad := range []string{
		"01936F2A-7C1E-7D3A-9B2C-1A2B3C4D5E6F", // upper case: Format would not give it back
		"01936f2a7c1e7d3a9b2c1a2b3c4d5e6f",
		"01936f2a-7c1e-7d3a-9b2c-1a2b3c4d5e6",
		"01936f2a-7c1e-7d3a-9b2c_1a2b3c4d5e6f",
		"01936f2a-7c1e-7d3a-9b2c-1a2b3c4d5e6g",
		"",
	} {
		if _, ok := Parse(bad); ok {
			t.Errorf("Parse(%q) is ok", bad)
		}
	}
}
