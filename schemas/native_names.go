package schemas

import "strings"

// The native table: every field of the native (Transmit-style) user and group
// objects, the catalog entry it reads and writes, how it is formatted and who
// may write it. It is the single source of native names: the filter resolver
// (search, sort_field) and the native projection (internal/nativewire:
// NativeUser / NativeGroup and MergeNativeUser / MergeNativeGroup, which adds
// the native face's input caps and enumerations) all walk it; see the
// canonical path table in docs/architecture.md.
//
// Native names match case-insensitively in filters; in request bodies they
// match exactly (JSON keys). Nested keys of custom_data.* and
// custom_app_data.* always match exactly.

// NativeKind says how a native field is shaped.
type NativeKind uint8

// Native field kinds.
const (
	// NativeValue is a scalar (or, for a multi-valued attribute, an array of
	// scalars): the value of attr in the enclosing context.
	NativeValue NativeKind = iota
	// NativeObject is an object. With a complex single-valued attr its members are
	// read from attr's element (name, address); with a nil attr they are
	// read from the enclosing context (email = primaryEmail + its verification).
	NativeObject
	// NativeArray is an array of objects, one per element of the complex
	// multi-valued attr (secondary_emails).
	NativeArray
	// NativeJSON is a free-form object (custom_data), shallow-merged on write.
	NativeJSON
	// NativeAppName is the calling application's name (NativeOptions.AppName).
	NativeAppName
	// NativeIdentities is the identities array (always empty: scimd keeps none).
	NativeIdentities
	// NativeAppIDs is app_ids, the ids of the applications the user is assigned to:
	// shown to callers without an application (admins), settable only on
	// create (the directory decides who may assign).
	NativeAppIDs
)

// NativeWrite says whether and when a request body may set a native field.
type NativeWrite uint8

// Native write modes.
const (
	NativeReadOnly   NativeWrite = iota
	NativeReadWrite              // create and update
	NativeUpdateOnly             // update only (status)
)

// NativeField is one field of the native table: its name, the catalog
// attribute it reads and writes, its shape and who may write it. Entries are
// created once by this package and never changed.
type NativeField struct {
	Name  string
	Attr  *Attribute // nil for NativeAppName, NativeIdentities, NativeAppIDs and objects read from their context
	Kind  NativeKind
	Write NativeWrite
	// Subs are the members of an object or of an array's objects.
	Subs []*NativeField
	// Input, for an object or array, is the member a scalar given in its
	// place sets: "email": "a@x" is "email": {"value": "a@x"}.
	Input *NativeField
	// Millis renders a dateTime as epoch milliseconds (else ISO 8601).
	Millis bool
	// aliases are extra names the filter resolver accepts (group_ids).
	aliases []string
}

// nativeTable is the native view of one resource type.
type nativeTable struct {
	fields []*NativeField
	byName map[string]*NativeField // top-level fields by exact name
}

var (
	userNative  = newUserNativeTable(userCatalog)
	groupNative = newGroupNativeTable(groupCatalog)
)

func nf(name string, a *Attribute, w NativeWrite) *NativeField {
	return &NativeField{Name: name, Attr: a, Write: w}
}

func (f *NativeField) ms() *NativeField               { f.Millis = true; return f }
func (f *NativeField) alias(n ...string) *NativeField { f.aliases = n; return f }

func nobj(name string, a *Attribute, w NativeWrite, subs ...*NativeField) *NativeField {
	return &NativeField{Name: name, Attr: a, Kind: NativeObject, Write: w, Subs: subs}
}

func narr(name string, a *Attribute, w NativeWrite, subs ...*NativeField) *NativeField {
	return &NativeField{Name: name, Attr: a, Kind: NativeArray, Write: w, Subs: subs}
}

// scalarInput sets the member a scalar input stands for.
func (f *NativeField) scalarInput(member string) *NativeField {
	for _, s := range f.Subs {
		if s.Name == member {
			f.Input = s
			return f
		}
	}
	panic("schemas: no member " + member + " in native field " + f.Name)
}

func newUserNativeTable(c *catalog) *nativeTable {
	by := func(canonical string) *Attribute {
		a := c.byCanonical[canonical]
		if a == nil {
			panic("schemas: native field for unknown canonical path " + canonical)
		}
		return a
	}
	// part is a read-write member of an object: part("name", "first_name",
	// "givenName") writes name.givenName.
	part := func(parent, name, sub string) *NativeField {
		return nf(name, by(parent+"."+sub), NativeReadWrite)
	}
	fields := []*NativeField{
		nf("user_id", by("id"), NativeReadOnly),
		nf("username", by("userName"), NativeReadWrite),
		nobj("email", nil, NativeReadWrite,
			nf("value", by("primaryEmail"), NativeReadWrite),
			nf("email_verified", by("primaryEmailVerified"), NativeReadOnly),
			nf("verified_at", by("primaryEmailVerifiedAt"), NativeReadOnly),
		).scalarInput("value"),
		narr("secondary_emails", by("secondaryEmails"), NativeReadWrite,
			nf("value", by("secondaryEmails.value"), NativeReadWrite),
			nf("email_verified", by("secondaryEmails.verified"), NativeReadOnly),
			nf("verified_at", by("secondaryEmails.verifiedAt"), NativeReadOnly),
		).scalarInput("value"),
		nobj("phone_number", nil, NativeReadWrite,
			nf("value", by("primaryPhone"), NativeReadWrite),
			nf("phone_number_verified", by("primaryPhoneVerified"), NativeReadOnly),
			nf("verified_at", by("primaryPhoneVerifiedAt"), NativeReadOnly),
		).scalarInput("value"),
		narr("secondary_phone_numbers", by("secondaryPhones"), NativeReadWrite,
			nf("value", by("secondaryPhones.value"), NativeReadWrite),
			nf("phone_number_verified", by("secondaryPhones.verified"), NativeReadOnly),
			nf("verified_at", by("secondaryPhones.verifiedAt"), NativeReadOnly),
		).scalarInput("value"),
		nobj("name", by("name"), NativeReadWrite,
			part("name", "title", "honorificPrefix"),
			part("name", "first_name", "givenName"),
			part("name", "last_name", "familyName"),
			part("name", "middle_name", "middleName"),
		),
		nobj("address", by("primaryAddress"), NativeReadWrite,
			part("primaryAddress", "country", "country"),
			part("primaryAddress", "state", "region"),
			part("primaryAddress", "city", "locality"),
			part("primaryAddress", "street_address", "streetAddress"),
			part("primaryAddress", "postal_code", "postalCode"),
			part("primaryAddress", "formatted", "formatted"),
			part("primaryAddress", "type", "type"),
			nf("updated_at", by("primaryAddress.updatedAt"), NativeReadOnly).ms(),
		),
		nf("birthday", by("birthday"), NativeReadWrite),
		nf("picture", by("picture"), NativeReadWrite),
		nf("language", by("preferredLanguage"), NativeReadWrite),
		nf("status", by("status"), NativeUpdateOnly),
		nf("status_changed_at", by("statusChangedAt"), NativeReadOnly),
		nf("created_at", by("created"), NativeReadOnly).ms(),
		nf("updated_at", by("updated"), NativeReadOnly).ms(),
		nf("last_auth", by("lastAuth"), NativeReadOnly),
		nf("external_user_id", by("externalId"), NativeReadWrite),
		// The work profile an identity provider pushes (RFC 7643's enterprise
		// extension, plus the core title), with native-style names; an
		// object replaced whole, like name and address.
		nobj("enterprise", nil, NativeReadWrite,
			part("enterprise", "employee_number", "employeeNumber"),
			part("enterprise", "cost_center", "costCenter"),
			part("enterprise", "organization", "organization"),
			part("enterprise", "division", "division"),
			part("enterprise", "department", "department"),
			nf("title", by("title"), NativeReadWrite),
			nobj("manager", by("enterprise.manager"), NativeReadWrite,
				nf("id", by("enterprise.manager.value"), NativeReadWrite),
				nf("display_name", by("enterprise.manager.displayName"), NativeReadOnly),
			).scalarInput("id"),
		),
		{Name: "custom_data", Attr: by("customData"), Kind: NativeJSON, Write: NativeReadWrite},
		nf("groupIds", by("groups"), NativeReadOnly).alias("group_ids"),
		nf("external_account_id", by("apps.externalAccountId"), NativeReadWrite),
		{Name: "custom_app_data", Attr: by("apps.customAppData"), Kind: NativeJSON, Write: NativeReadWrite},
		{Name: "app_name", Kind: NativeAppName},
		nobj("password_information", by("passwordInformation"), NativeReadOnly,
			nf("expired", by("passwordInformation.expired"), NativeReadOnly),
			nf("temporary", by("passwordInformation.temporary"), NativeReadOnly),
			nf("updated_at", by("passwordInformation.updatedAt"), NativeReadOnly).ms(),
			nf("expires_in", by("passwordInformation.expiresAt"), NativeReadOnly),
		),
		{Name: "identities", Kind: NativeIdentities},
		{Name: "app_ids", Kind: NativeAppIDs},
	}
	return registerNative(c, fields)
}

func newGroupNativeTable(c *catalog) *nativeTable {
	by := func(canonical string) *Attribute { return c.byCanonical[canonical] }
	fields := []*NativeField{
		nf("group_id", by("id"), NativeReadOnly),
		nf("name", by("displayName"), NativeReadWrite),
		nf("description", by("description"), NativeReadWrite),
		nf("external_id", by("externalId"), NativeReadWrite),
		{Name: "custom_data", Attr: by("customData"), Kind: NativeJSON, Write: NativeReadWrite},
		nf("created_at", by("created"), NativeReadOnly).ms(),
		nf("updated_at", by("updated"), NativeReadOnly).ms(),
	}
	return registerNative(c, fields)
}

// registerNative indexes the table and registers its names with the filter
// resolver: every field with an attribute under its dotted name (an object
// with a scalar input also under its own name: `email` is primaryEmail), and
// JSON fields as prefixes for nested keys.
func registerNative(c *catalog, fields []*NativeField) *nativeTable {
	t := &nativeTable{fields: fields, byName: map[string]*NativeField{}}
	var reg func(prefix string, f *NativeField)
	reg = func(prefix string, f *NativeField) {
		name := prefix + f.Name
		switch {
		case f.Kind == NativeJSON:
			c.nativeJSON[strings.ToLower(name)] = f.Attr
			return
		case f.Attr != nil:
			c.alias(f.Attr, append([]string{name}, f.aliases...)...)
		case f.Input != nil:
			c.alias(f.Input.Attr, name)
		}
		for _, s := range f.Subs {
			reg(name+".", s)
		}
	}
	for _, f := range fields {
		t.byName[f.Name] = f
		reg("", f)
	}
	return t
}

// NativeFields returns the native table of resource type rt: the top-level
// fields of the native user or group object, in the order a merge applies
// them (email before secondary_emails). The slice is shared: do not modify it.
func NativeFields(rt ResourceType) []*NativeField {
	if rt == GroupResource {
		return groupNative.fields
	}
	return userNative.fields
}

// FindNativeField returns the top-level native field of rt named exactly
// name (JSON keys match exactly), or nil.
func FindNativeField(rt ResourceType, name string) *NativeField {
	if rt == GroupResource {
		return groupNative.byName[name]
	}
	return userNative.byName[name]
}
