package nativewire

import (
	"net/url"
	"regexp"

	"github.com/scimd/scimd/schemas"
)

// limit is what the native face accepts for a string field beyond its JSON
// type: the native table (schemas.NativeFields) says which attribute a field
// writes, this says how a native client may spell its value.
type limit struct {
	// max caps the input, in characters (0: no cap of its own; the
	// directory caps every string at directory.MaxStringBytes).
	max int
	// check validates the input: it returns "" or the reason it is invalid.
	check func(string) string
	// enum lists the native spellings of an enumerated value; input must
	// match one case-insensitively and is stored as the attribute's
	// canonical value that matches it (address type "Home" is stored "home").
	enum []string
}

// Transmit's caps (transmit-api.md §3) and sane limits for the others.
const (
	namePartMax = 30
	addressMax  = 30
	streetMax   = 150
	languageMax = 255 // an Accept-Language value
	urlMax      = 2048
	idMax       = 256 // username, external ids
)

// userLimits are the limits of the native user's fields, by the canonical
// path of the attribute they write.
var userLimits = map[string]limit{
	"userName":                     {max: idMax},
	"primaryEmail":                 {check: schemas.CheckEmail},
	"secondaryEmails.value":        {check: schemas.CheckEmail},
	"primaryPhone":                 {check: checkE164},
	"secondaryPhones.value":        {check: checkE164},
	"name.honorificPrefix":         {max: namePartMax},
	"name.givenName":               {max: namePartMax},
	"name.familyName":              {max: namePartMax},
	"name.middleName":              {max: namePartMax},
	"primaryAddress.country":       {max: addressMax},
	"primaryAddress.region":        {max: addressMax},
	"primaryAddress.locality":      {max: addressMax},
	"primaryAddress.streetAddress": {max: streetMax},
	"primaryAddress.postalCode":    {max: addressMax},
	"primaryAddress.formatted":     {max: streetMax},
	"primaryAddress.type":          {enum: []string{"Home", "Work", "Other"}},
	"birthday":                     {check: schemas.CheckBirthday},
	"picture":                      {max: urlMax, check: checkURL},
	"preferredLanguage":            {max: languageMax},
	"status":                       {enum: schemas.UserAttributeByCanonical("status").CanonicalValues},
	"externalId":                   {max: idMax},
	"enterprise.employeeNumber":    {max: idMax},
	"enterprise.costCenter":        {max: idMax},
	"enterprise.organization":      {max: idMax},
	"enterprise.division":          {max: idMax},
	"enterprise.department":        {max: idMax},
	"title":                        {max: idMax},
	"enterprise.manager.value":     {max: idMax},
	"apps.externalAccountId":       {max: idMax},
}

// groupLimits are the limits of the native group's fields.
var groupLimits = map[string]limit{
	"displayName": {max: idMax},
	"description": {max: 1024},
	"externalId":  {max: idMax},
}

// limitOf returns the limit of field f of the document root (a *User or
// *Group); the zero limit when it has none.
func limitOf(root any, f *schemas.NativeField) limit {
	if f.Attr == nil {
		return limit{}
	}
	if _, isGroup := root.(*schemas.Group); isGroup {
		return groupLimits[f.Attr.Canonical]
	}
	return userLimits[f.Attr.Canonical]
}

var e164 = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)

// checkE164 accepts an E.164 phone number (+ and 2 to 15 digits).
func checkE164(s string) string {
	if !e164.MatchString(s) {
		return "expected a phone number in E.164 form, such as +12125550123"
	}
	return ""
}

// checkURL accepts an absolute http(s) URL.
func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "expected an absolute http(s) URL"
	}
	return ""
}
