package directory

import (
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/scimd/scimd/schemas"
)

// SelfServiceAttributes are the attributes of schemas.User that an end user
// (a user access token: SCIM /Me) may change on their own record, by Go field
// name, with the SCIM names clients see. Everything else — userName (except
// choosing one when the record has none), externalId, emails, phone numbers,
// title, userType, roles, entitlements, x509Certificates, the enterprise
// extension, active/status, tenant custom_data and app-level data — is managed
// by administrators, applications and identity providers; an end user's change
// to it is refused (KindForbidden) and changes nothing. A field added to
// schemas.User later is privileged until it is listed here.
var SelfServiceAttributes = []struct{ Field, Name string }{
	{"Name", "name"},
	{"DisplayName", "displayName"},
	{"NickName", "nickName"},
	{"ProfileURL", "profileUrl"},
	{"PreferredLanguage", "preferredLanguage"},
	{"Locale", "locale"},
	{"Timezone", "timezone"},
	{"Birthday", "birthday"},
	{"IMs", "ims"},
	{"Photos", "photos"},
	{"Addresses", "addresses"},
}

// bookkeepingFields are the fields settle restores or stamps itself; no change
// can touch them, so the self-service check does not look at them.
var bookkeepingFields = []string{"ID", "Version", "Created", "Updated", "StatusChangedAt", "GroupIDs", "LastAuth", "DeviceKeys", "Password"}

// privilegedNames are the client-facing names of the privileged fields, for
// error messages (a field not listed here is named after its Go name).
var privilegedNames = map[string]string{
	"UserName": "userName", "ExternalID": "externalId", "Title": "title", "UserType": "userType",
	"Emails": "emails", "PhoneNumbers": "phoneNumbers", "Entitlements": "entitlements", "Roles": "roles",
	"X509Certificates": "x509Certificates", "Enterprise": "the enterprise extension",
	"Status": "active (status)", "CustomData": "custom_data", "Apps": "application data",
}

// checkSelfService refuses a change by an end user to anything but the
// self-service attributes of their record: prev is the stored record, u the
// changed one (both normalized). An end user may choose a userName when the
// record has none; it is then a login identifier like any other (unique).
func checkSelfService(prev, u *schemas.User) error {
	pv, cv := reflect.ValueOf(prev).Elem(), reflect.ValueOf(u).Elem()
	t := pv.Type()
	var refused []string
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Name
		if isSelfService(name) || slices.Contains(bookkeepingFields, name) {
			continue
		}
		if name == "UserName" && prev.UserName == "" {
			continue
		}
		a, b := pv.Field(i), cv.Field(i)
		if reflect.DeepEqual(a.Interface(), b.Interface()) || (isEmpty(a) && isEmpty(b)) {
			continue
		}
		n, ok := privilegedNames[name]
		if !ok {
			n = lowerFirst(name)
		}
		refused = append(refused, n)
	}
	if len(refused) == 0 {
		return nil
	}
	allowed := make([]string, len(SelfServiceAttributes))
	for i, a := range SelfServiceAttributes {
		allowed[i] = a.Name
	}
	return Errorf(KindForbidden,
		"a user access token may not change %s; an end user may change only %s of their own record",
		strings.Join(refused, ", "), strings.Join(allowed, ", "))
}

func isSelfService(field string) bool {
	for _, a := range SelfServiceAttributes {
		if a.Field == field {
			return true
		}
	}
	return false
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	default:
		return v.IsZero()
	}
}

// lowerFirst turns a Go field name into a client-facing one: ExternalID →
// externalId, GroupIDs → groupIds.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if strings.HasSuffix(s, "ID") && len(s) > 2 {
		s = s[:len(s)-2] + "Id"
	}
	if strings.HasSuffix(s, "IDs") {
		s = s[:len(s)-3] + "Ids"
	}
	return string(unicode.ToLower(r)) + s[n:]
}
