package directory

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/scimd/scimd/schemas"
)

// Limits that hold for every stored user, whichever face wrote it.
const (
	// MaxCustomDataBytes caps a user's tenant-level custom_data, JSON-encoded.
	MaxCustomDataBytes = 500 * 1024
	// MaxCustomAppDataBytes caps a user's custom_app_data for one application, JSON-encoded.
	MaxCustomAppDataBytes = 500 * 1024
	// MaxValues caps the elements of one multi-valued attribute of a stored
	// user. The SCIM PATCH engine stops at it as soon as an operation would
	// pass it (before converting the values), so that no body costs more
	// than a pass over its values.
	MaxValues = 100
	// MaxStringBytes caps every other string attribute.
	MaxStringBytes = 2048
)

// validUserStatus reports whether s is a user status (one the catalog lists).
func validUserStatus(s string) bool {
	return slices.Contains(schemas.UserAttributeByCanonical("status").CanonicalValues, s)
}

// normalizeUser brings u's free-form data into canonical form and checks every
// invariant of a stored user. It is the one validation both faces go through.
func normalizeUser(u *schemas.User) error {
	dedupeUser(u)
	if u.UserName == "" {
		// Every user has a userName (SCIM requires one, and IdPs match on
		// it): a user created or left without one takes its primary email,
		// else its primary phone number. It is stored, so it stays what it
		// was when the email or phone later changes.
		if e, ok := u.PrimaryEmail(); ok && strings.TrimSpace(e.Value) != "" {
			u.UserName = e.Value
		} else if p, ok := u.PrimaryPhone(); ok && strings.TrimSpace(p.Value) != "" {
			u.UserName = p.Value
		} else {
			return Errorf(KindInvalid, "a user needs a userName, an email or a phone number")
		}
	}
	if !validUserStatus(u.Status) {
		return FieldError(KindInvalid, "status", "status must be Pending, Active or Disabled, not %q", u.Status)
	}
	if u.Birthday != "" && schemas.CheckBirthday(u.Birthday) != "" {
		return FieldError(KindInvalid, "birthday", "birthday must be a date in the form YYYY-MM-DD")
	}
	// In a fixed order (the first bad field is the one reported), and no map
	// built per user.
	for _, f := range [...]struct{ name, v string }{
		{"userName", u.UserName}, {"externalId", u.ExternalID}, {"displayName", u.DisplayName}, {"nickName", u.NickName},
		{"profileUrl", u.ProfileURL}, {"title", u.Title}, {"userType", u.UserType}, {"preferredLanguage", u.PreferredLanguage},
		{"locale", u.Locale}, {"timezone", u.Timezone}, {"name.formatted", u.Name.Formatted}, {"name.familyName", u.Name.FamilyName},
		{"name.givenName", u.Name.GivenName}, {"name.middleName", u.Name.MiddleName},
		{"name.honorificPrefix", u.Name.HonorificPrefix}, {"name.honorificSuffix", u.Name.HonorificSuffix},
	} {
		if err := checkString(f.name, f.v); err != nil {
			return err
		}
	}
	if strings.TrimSpace(u.UserName) != u.UserName || (u.UserName != "" && strings.TrimSpace(u.UserName) == "") {
		return FieldError(KindInvalid, "userName", "userName must not start or end with white space")
	}
	if err := checkEmails(u.Emails); err != nil {
		return err
	}
	primaries := 0
	for _, p := range u.PhoneNumbers {
		if strings.TrimSpace(p.Value) == "" {
			return FieldError(KindInvalid, "phoneNumbers", "a phone number must have a value")
		}
		if err := checkString("phoneNumbers.value", p.Value); err != nil {
			return err
		}
		if p.Primary {
			primaries++
		}
	}
	if err := checkMulti("phoneNumbers", len(u.PhoneNumbers), primaries); err != nil {
		return err
	}
	for _, f := range [...]struct {
		name string
		vs   []schemas.MultiValue
	}{{"ims", u.IMs}, {"photos", u.Photos}, {"entitlements", u.Entitlements}, {"roles", u.Roles}, {"x509Certificates", u.X509Certificates}} {
		name, vs := f.name, f.vs
		primaries := 0
		for _, v := range vs {
			if v.Primary {
				primaries++
			}
			if err := checkString(name+".value", v.Value); err != nil {
				return err
			}
		}
		if err := checkMulti(name, len(vs), primaries); err != nil {
			return err
		}
	}
	primaries = 0
	for _, a := range u.Addresses {
		if a.Primary {
			primaries++
		}
		for _, v := range []string{a.Formatted, a.StreetAddress, a.Locality, a.Region, a.PostalCode, a.Country, a.Type} {
			if err := checkString("addresses", v); err != nil {
				return err
			}
		}
	}
	if err := checkMulti("addresses", len(u.Addresses), primaries); err != nil {
		return err
	}
	var err error
	if u.CustomData, err = normalizeJSON("custom_data", u.CustomData, MaxCustomDataBytes); err != nil {
		return err
	}
	for id, a := range u.Apps {
		if a == nil {
			delete(u.Apps, id)
			continue
		}
		if a.CustomAppData, err = normalizeJSON("custom_app_data", a.CustomAppData, MaxCustomAppDataBytes); err != nil {
			return err
		}
		if err := checkString("external_account_id", a.ExternalAccountID); err != nil {
			return err
		}
	}
	if len(u.Apps) == 0 {
		u.Apps = nil
	}
	return nil
}

func checkEmails(emails []schemas.Email) error {
	primaries := 0
	for _, e := range emails {
		if schemas.CheckEmail(e.Value) != "" {
			return FieldError(KindInvalid, "emails", "%q is not a valid email address", truncate(e.Value))
		}
		if e.Primary {
			primaries++
		}
	}
	return checkMulti("emails", len(emails), primaries)
}

func checkMulti(name string, n, primaries int) error {
	if n > MaxValues {
		return FieldError(KindInvalid, name, "%s has %d values; at most %d are allowed", name, n, MaxValues)
	}
	if primaries > 1 {
		return FieldError(KindInvalid, name, "only one of the %s may be primary", name)
	}
	return nil
}

func checkString(name, v string) error {
	if len(v) > MaxStringBytes {
		return FieldError(KindInvalid, name, "%s is longer than %d bytes", name, MaxStringBytes)
	}
	if !utf8.ValidString(v) {
		return FieldError(KindInvalid, name, "%s is not valid UTF-8", name)
	}
	return nil
}

// normalizeJSON puts a free-form object in canonical form and enforces its size limit.
func normalizeJSON(field string, m map[string]any, limit int) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	n, err := schemas.NormalizeJSONObject(m)
	if err != nil {
		return nil, FieldError(KindInvalid, field, "%s: %v", field, err)
	}
	b, err := json.Marshal(n)
	if err != nil {
		return nil, FieldError(KindInvalid, field, "%s is not valid JSON: %v", field, err)
	}
	if len(b) > limit {
		return nil, FieldError(KindTooLarge, field, "%s is %d bytes; at most %d are allowed", field, len(b), limit)
	}
	if len(n) == 0 {
		return nil, nil
	}
	return n, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// dedupeUser leaves at most one element per (type, value) in each
// multi-valued attribute (RFC 7643 §2.4: duplicates SHOULD NOT be kept):
// the first, primary when any of its duplicates was. Values compare as the
// attribute does (case-insensitively but for photos and certificates),
// types case-insensitively. Addresses have no value and are left alone.
func dedupeUser(u *schemas.User) {
	fold := func(t, v string) string { return schemas.Fold(t) + "\x00" + schemas.Fold(v) }
	exact := func(t, v string) string { return schemas.Fold(t) + "\x00" + v }
	u.Emails = dedupe(u.Emails, func(e *schemas.Email) (string, *bool) { return fold(e.Type, e.Value), &e.Primary })
	u.PhoneNumbers = dedupe(u.PhoneNumbers, func(e *schemas.PhoneNumber) (string, *bool) { return exact(e.Type, e.Value), &e.Primary })
	for _, mv := range []*[]schemas.MultiValue{&u.IMs, &u.Entitlements, &u.Roles} {
		*mv = dedupe(*mv, func(e *schemas.MultiValue) (string, *bool) { return fold(e.Type, e.Value), &e.Primary })
	}
	for _, mv := range []*[]schemas.MultiValue{&u.Photos, &u.X509Certificates} {
		*mv = dedupe(*mv, func(e *schemas.MultiValue) (string, *bool) { return exact(e.Type, e.Value), &e.Primary })
	}
}

// dedupe returns xs without the elements whose key an earlier one has; an
// earlier element becomes primary when a dropped duplicate was. xs itself is
// returned when it has no duplicates.
func dedupe[T any](xs []T, key func(*T) (string, *bool)) []T {
	if len(xs) < 2 {
		return xs
	}
	first := make(map[string]int, len(xs))
	out := make([]T, 0, len(xs))
	for i := range xs {
		k, primary := key(&xs[i])
		if j, dup := first[k]; dup {
			if *primary {
				_, p := key(&out[j])
				*p = true
			}
			continue
		}
		first[k] = len(out)
		out = append(out, xs[i])
	}
	if len(out) == len(xs) {
		return xs
	}
	return out
}
