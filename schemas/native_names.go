package schemas

import "strings"

// The native table: every field of the native (Transmit-style) user and group
// objects, the catalog entry it reads and writes, how it is formatted and who
// may write it. It is the single source of native names: the filter resolver
// (search, sort_field), NativeUser / NativeGroup and MergeNativeUser /
// MergeNativeGroup all walk it; see the canonical path table in
// docs/architecture.md.
//
// Native names match case-insensitively in filters; in request bodies they
// match exactly (JSON keys). Nested keys of custom_data.* and
// custom_app_data.* always match exactly.

// nativeKind says how a native field is shaped.
type nativeKind uint8

const (
	// nValue is a scalar (or, for a multi-valued attribute, an array of
	// scalars): the value of attr in the enclosing context.
	nValue nativeKind = iota
	// nObject is an object. With a complex single-valued attr its members are
	// read from attr's element (name, address); with a nil attr they are
	// read from the enclosing context (email = primaryEmail + its verification).
	nObject
	// nArray is an array of objects, one per element of the complex
	// multi-valued attr (secondary_emails).
	nArray
	// nJSON is a free-form object (custom_data), shallow-merged on write.
	nJSON
	// nAppName is the calling application's name (NativeOptions.AppName).
	nAppName
	// nIdentities is the identities array (always empty: scimd keeps none).
	nIdentities
	// nAppIDs is app_ids, the ids of the applications the user is assigned to:
	// shown to callers without an application (admins), settable only on
	// create (the directory decides who may assign).
	nAppIDs
)

// nativeWrite says whether and when a request body may set a native field.
type nativeWrite uint8

const (
	wReadOnly   nativeWrite = iota
	wReadWrite              // create and update
	wUpdateOnly             // update only (status)
)

// nativeField is one field of the native table.
type nativeField struct {
	name  string
	attr  *Attribute
	kind  nativeKind
	write nativeWrite
	subs  []*nativeField
	// input, for an object or array, is the member a scalar given in its
	// place sets: "email": "a@x" is "email": {"value": "a@x"}.
	input *nativeField
	// millis renders a dateTime as epoch milliseconds (else ISO 8601).
	millis bool
	// maxLen caps a string input, in characters (0: no cap of its own).
	maxLen int
	// check validates a string input: it returns "" or the reason it is invalid.
	check func(string) string
	// enum lists the native spellings of an enumerated value; input must
	// match one case-insensitively and is stored as the attribute's canonical
	// value that matches it (address type "Home" is stored "home").
	enum []string
	// aliases are extra names the filter resolver accepts (group_ids).
	aliases []string
}

// nativeTable is the native view of one resource type.
type nativeTable struct {
	fields []*nativeField
	byName map[string]*nativeField // top-level fields by exact name
}

var (
	userNative  = newUserNativeTable(userCatalog)
	groupNative = newGroupNativeTable(groupCatalog)
)

func nf(name string, a *Attribute, w nativeWrite) *nativeField {
	return &nativeField{name: name, attr: a, write: w}
}

func (f *nativeField) ms() *nativeField                           { f.millis = true; return f }
func (f *nativeField) max(n int) *nativeField                     { f.maxLen = n; return f }
func (f *nativeField) checked(c func(string) string) *nativeField { f.check = c; return f }
func (f *nativeField) oneOf(v ...string) *nativeField             { f.enum = v; return f }
func (f *nativeField) alias(n ...string) *nativeField             { f.aliases = n; return f }

func nobj(name string, a *Attribute, w nativeWrite, subs ...*nativeField) *nativeField {
	return &nativeField{name: name, attr: a, kind: nObject, write: w, subs: subs}
}

func narr(name string, a *Attribute, w nativeWrite, subs ...*nativeField) *nativeField {
	return &nativeField{name: name, attr: a, kind: nArray, write: w, subs: subs}
}

// scalarInput sets the member a scalar input stands for.
func (f *nativeField) scalarInput(member string) *nativeField {
	for _, s := range f.subs {
		if s.name == member {
			f.input = s
			return f
		}
	}
	panic("schemas: no member " + member + " in native field " + f.name)
}

// Transmit's caps (transmit-api.md §3) and sane limits for the others.
const (
	nativeNamePartMax = 30
	nativeAddressMax  = 30
	nativeStreetMax   = 150
	nativeLanguageMax = 255 // an Accept-Language value
	nativeURLMax      = 2048
	nativeIDMax       = 256 // username, external ids
)

func newUserNativeTable(c *catalog) *nativeTable {
	by := func(canonical string) *Attribute {
		a := c.byCanonical[canonical]
		if a == nil {
			panic("schemas: native field for unknown canonical path " + canonical)
		}
		return a
	}
	namePart := func(name, canonical string) *nativeField {
		return nf(name, by(canonical), wReadWrite).max(nativeNamePartMax)
	}
	addrPart := func(name, canonical string, n int) *nativeField {
		return nf(name, by(canonical), wReadWrite).max(n)
	}
	fields := []*nativeField{
		nf("user_id", by("id"), wReadOnly),
		nf("username", by("userName"), wReadWrite).max(nativeIDMax),
		nobj("email", nil, wReadWrite,
			nf("value", by("primaryEmail"), wReadWrite).checked(CheckEmail),
			nf("email_verified", by("primaryEmailVerified"), wReadOnly),
			nf("verified_at", by("primaryEmailVerifiedAt"), wReadOnly),
		).scalarInput("value"),
		narr("secondary_emails", by("secondaryEmails"), wReadWrite,
			nf("value", by("secondaryEmails.value"), wReadWrite).checked(CheckEmail),
			nf("email_verified", by("secondaryEmails.verified"), wReadOnly),
			nf("verified_at", by("secondaryEmails.verifiedAt"), wReadOnly),
		).scalarInput("value"),
		nobj("phone_number", nil, wReadWrite,
			nf("value", by("primaryPhone"), wReadWrite).checked(checkE164),
			nf("phone_number_verified", by("primaryPhoneVerified"), wReadOnly),
			nf("verified_at", by("primaryPhoneVerifiedAt"), wReadOnly),
		).scalarInput("value"),
		narr("secondary_phone_numbers", by("secondaryPhones"), wReadWrite,
			nf("value", by("secondaryPhones.value"), wReadWrite).checked(checkE164),
			nf("phone_number_verified", by("secondaryPhones.verified"), wReadOnly),
			nf("verified_at", by("secondaryPhones.verifiedAt"), wReadOnly),
		).scalarInput("value"),
		nobj("name", by("name"), wReadWrite,
			namePart("title", "name.honorificPrefix"),
			namePart("first_name", "name.givenName"),
			namePart("last_name", "name.familyName"),
			namePart("middle_name", "name.middleName"),
		),
		nobj("address", by("primaryAddress"), wReadWrite,
			addrPart("country", "primaryAddress.country", nativeAddressMax),
			addrPart("state", "primaryAddress.region", nativeAddressMax),
			addrPart("city", "primaryAddress.locality", nativeAddressMax),
			addrPart("street_address", "primaryAddress.streetAddress", nativeStreetMax),
			addrPart("postal_code", "primaryAddress.postalCode", nativeAddressMax),
			addrPart("formatted", "primaryAddress.formatted", nativeStreetMax),
			nf("type", by("primaryAddress.type"), wReadWrite).oneOf("Home", "Work", "Other"),
			nf("updated_at", by("primaryAddress.updatedAt"), wReadOnly).ms(),
		),
		nf("birthday", by("birthday"), wReadWrite).checked(checkBirthday),
		nf("picture", by("picture"), wReadWrite).max(nativeURLMax).checked(checkURL),
		nf("language", by("preferredLanguage"), wReadWrite).max(nativeLanguageMax),
		nf("status", by("status"), wUpdateOnly).oneOf(by("status").CanonicalValues...),
		nf("status_changed_at", by("statusChangedAt"), wReadOnly),
		nf("created_at", by("created"), wReadOnly).ms(),
		nf("updated_at", by("updated"), wReadOnly).ms(),
		nf("last_auth", by("lastAuth"), wReadOnly),
		nf("external_user_id", by("externalId"), wReadWrite).max(nativeIDMax),
		// The work profile an identity provider pushes (RFC 7643's enterprise
		// extension, plus the core title), with native-style names; an
		// object replaced whole, like name and address.
		nobj("enterprise", nil, wReadWrite,
			nf("employee_number", by("enterprise.employeeNumber"), wReadWrite).max(nativeIDMax),
			nf("cost_center", by("enterprise.costCenter"), wReadWrite).max(nativeIDMax),
			nf("organization", by("enterprise.organization"), wReadWrite).max(nativeIDMax),
			nf("division", by("enterprise.division"), wReadWrite).max(nativeIDMax),
			nf("department", by("enterprise.department"), wReadWrite).max(nativeIDMax),
			nf("title", by("title"), wReadWrite).max(nativeIDMax),
			nobj("manager", by("enterprise.manager"), wReadWrite,
				nf("id", by("enterprise.manager.value"), wReadWrite).max(nativeIDMax),
				nf("display_name", by("enterprise.manager.displayName"), wReadOnly),
			).scalarInput("id"),
		),
		{name: "custom_data", attr: by("customData"), kind: nJSON, write: wReadWrite},
		nf("groupIds", by("groups"), wReadOnly).alias("group_ids"),
		nf("external_account_id", by("apps.externalAccountId"), wReadWrite).max(nativeIDMax),
		{name: "custom_app_data", attr: by("apps.customAppData"), kind: nJSON, write: wReadWrite},
		{name: "app_name", kind: nAppName},
		nobj("password_information", by("passwordInformation"), wReadOnly,
			nf("expired", by("passwordInformation.expired"), wReadOnly),
			nf("temporary", by("passwordInformation.temporary"), wReadOnly),
			nf("updated_at", by("passwordInformation.updatedAt"), wReadOnly).ms(),
			nf("expires_in", by("passwordInformation.expiresAt"), wReadOnly),
		),
		{name: "identities", kind: nIdentities},
		{name: "app_ids", kind: nAppIDs},
	}
	return registerNative(c, fields)
}

func newGroupNativeTable(c *catalog) *nativeTable {
	by := func(canonical string) *Attribute { return c.byCanonical[canonical] }
	fields := []*nativeField{
		nf("group_id", by("id"), wReadOnly),
		nf("name", by("displayName"), wReadWrite).max(nativeIDMax),
		nf("description", by("description"), wReadWrite).max(1024),
		nf("external_id", by("externalId"), wReadWrite).max(nativeIDMax),
		{name: "custom_data", attr: by("customData"), kind: nJSON, write: wReadWrite},
		nf("created_at", by("created"), wReadOnly).ms(),
		nf("updated_at", by("updated"), wReadOnly).ms(),
	}
	return registerNative(c, fields)
}

// registerNative indexes the table and registers its names with the filter
// resolver: every field with an attribute under its dotted name (an object
// with a scalar input also under its own name: `email` is primaryEmail), and
// JSON fields as prefixes for nested keys.
func registerNative(c *catalog, fields []*nativeField) *nativeTable {
	t := &nativeTable{fields: fields, byName: map[string]*nativeField{}}
	var reg func(prefix string, f *nativeField)
	reg = func(prefix string, f *nativeField) {
		name := prefix + f.name
		switch {
		case f.kind == nJSON:
			c.nativeJSON[strings.ToLower(name)] = f.attr
			return
		case f.attr != nil:
			c.alias(f.attr, append([]string{name}, f.aliases...)...)
		case f.input != nil:
			c.alias(f.input.attr, name)
		}
		for _, s := range f.subs {
			reg(name+".", s)
		}
	}
	for _, f := range fields {
		t.byName[f.name] = f
		reg("", f)
	}
	return t
}
