// Package uuidfmt holds the canonical text form of a UUID — 32 lower-case
// hex digits in groups of 8-4-4-4-12 — for the two places that meet it:
// directory writes ids in it, and the embedded store's event records keep
// ids in it as their 16 bytes. It sits below both (storage may not import
// directory), so the form is written once.
package uuidfmt

import "encoding/hex"

// Format returns u in the canonical form.
func Format(u [16]byte) string {
	var b [36]byte
	return string(AppendFormat(b[:0], u))
}

// AppendFormat appends u in the canonical form to dst (the embedded
// store's sealed blocks rebuild the keys of a hundred events at once
// without a string each).
func AppendFormat(dst []byte, u [16]byte) []byte {
	at := len(dst)
	dst = append(dst, make([]byte, 36)...)
	b := dst[at:]
	hex.Encode(b[:8], u[:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return dst
}

// Parse returns the 16 bytes of s when s is in the canonical form, so that
// Format(u) == s; any other string (upper-case hex included) is not ok.
func Parse[S string | []byte](s S) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	var h [32]byte
	copy(h[:], s[:8])
	copy(h[8:], s[9:13])
	copy(h[12:], s[14:18])
	copy(h[16:], s[19:23])
	copy(h[20:], s[24:])
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return u, false // upper case would not come back as it was
		}
	}
	if _, err := hex.Decode(u[:], h[:]); err != nil {
		return u, false
	}
	return u, true
}
