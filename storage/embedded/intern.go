package embedded

import (
	"encoding/json"
	"unique"

	"github.com/scimd/scimd/schemas"
)

// Every decoded string is its own allocation, and most of a user's fields take
// few distinct values across a directory (types, status, locale, department,
// custom-data keys). Decoded documents share one copy of those through
// package unique, whose entries go away when nothing refers to them. Values
// that are usually distinct (ids, names, addresses) are left alone: interning
// them would cost more than it saves.

// maxInternValue is the longest free-form JSON string value that is interned.
const maxInternValue = 16

func in(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// internUser replaces the low-cardinality strings of a freshly decoded user by
// shared copies.
func internUser(u *schemas.User) {
	u.UserType = in(u.UserType)
	u.Title = in(u.Title)
	u.PreferredLanguage = in(u.PreferredLanguage)
	u.Locale = in(u.Locale)
	u.Timezone = in(u.Timezone)
	u.Status = in(u.Status)
	u.Name.GivenName = in(u.Name.GivenName)
	u.Name.FamilyName = in(u.Name.FamilyName)
	u.Name.HonorificPrefix = in(u.Name.HonorificPrefix)
	u.Name.HonorificSuffix = in(u.Name.HonorificSuffix)
	for i := range u.Emails {
		u.Emails[i].Type = in(u.Emails[i].Type)
	}
	for i := range u.PhoneNumbers {
		u.PhoneNumbers[i].Type = in(u.PhoneNumbers[i].Type)
	}
	for _, mvs := range [][]schemas.MultiValue{u.IMs, u.Photos, u.Entitlements, u.Roles, u.X509Certificates} {
		for i := range mvs {
			mvs[i].Type = in(mvs[i].Type)
		}
	}
	for i := range u.Addresses {
		a := &u.Addresses[i]
		a.Type, a.Country, a.Region, a.Locality, a.PostalCode = in(a.Type), in(a.Country), in(a.Region), in(a.Locality), in(a.PostalCode)
	}
	if e := u.Enterprise; e != nil {
		e.Organization, e.Division, e.Department, e.CostCenter = in(e.Organization), in(e.Division), in(e.Department), in(e.CostCenter)
	}
	u.CustomData = internObject(u.CustomData)
	for _, l := range u.Apps {
		l.CustomAppData = internObject(l.CustomAppData)
	}
	for i := range u.DeviceKeys {
		k := &u.DeviceKeys[i]
		k.Status = in(k.Status)
		k.CustomData = internObject(k.CustomData)
		if k.PushConfig != nil {
			k.PushConfig.Type = in(k.PushConfig.Type)
		}
	}
}

// internObject returns m with interned keys and short interned values.
func internObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[in(k)] = internValue(v)
	}
	return out
}

func internValue(v any) any {
	switch t := v.(type) {
	case string:
		if len(t) <= maxInternValue {
			return unique.Make[any](t).Value() // shares the interface box too
		}
	case json.Number:
		if len(t) <= maxInternValue {
			return unique.Make[any](t).Value()
		}
	case map[string]any:
		return internObject(t)
	case []any:
		for i, e := range t {
			t[i] = internValue(e)
		}
	}
	return v
}
