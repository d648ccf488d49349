package schemas

// The User catalog: RFC 7643 §4.1 core User, §4.3 enterprise extension, the
// UserExtended and free-form extensions, and scimd's native-only attributes.
// Characteristics follow RFC 7643 §8.7.1.

var userCatalog = newUserCatalog()

// metaAttr builds the RFC 7643 §3.1 meta attribute. Its created and
// lastModified sub-attributes are the canonical top-level created/updated.
func metaAttr(resourceType string) *Attribute {
	created := attr("created", "created", TypeDateTime, fCreated).
		desc("The date and time the resource was added to the service provider.")
	updated := attr("lastModified", "updated", TypeDateTime, fUpdated).
		desc("The most recent date and time the details of this resource were updated at the service provider.")
	m := complexAttr("meta", "meta", eMeta,
		attr("resourceType", "resourceType", TypeString, fResourceType).exact().
			desc("The name of the resource type of the resource."),
		created,
		updated,
		attr("location", "location", TypeReference, fLocation).exact().refs("uri").
			noFilter("meta.location cannot be used in a filter").
			desc("The URI of the resource being returned."),
		attr("version", "version", TypeString, fVersion).exact().
			desc("The version of the resource being returned."),
	).readOnlyTree().desc("Resource metadata (" + resourceType + ").")
	created.Canonical, updated.Canonical = "created", "updated"
	return m
}

// multiValue builds a multi-valued complex attribute with the RFC 7643 value,
// display, type and primary sub-attributes (plus extra ones).
func multiValue(name string, e elems, valueType Type, valueExact bool, types []string, valueDesc, desc string, extra ...*Attribute) *Attribute {
	value := attr("value", "value", valueType, fValue).desc(valueDesc)
	if valueExact {
		value.exact()
	}
	if valueType == TypeReference {
		value.refs("external")
	}
	subs := []*Attribute{
		value,
		attr("display", "display", TypeString, fDisplay).
			desc("A human-readable name, primarily used for display purposes.  READ-ONLY."),
		attr("type", "type", TypeString, fType).values(types...).
			desc("A label indicating the attribute's function."),
		attr("primary", "primary", TypeBoolean, fPrimary).
			desc("A Boolean value indicating the 'primary' or preferred attribute value for this attribute.  The primary attribute value 'true' MUST appear no more than once."),
	}
	return complexAttr(name, name, e, append(subs, extra...)...).multi().desc(desc)
}

// verification builds the scimd-internal verification sub-attributes of emails
// and phone numbers (the native email_verified / verified_at).
func verification() []*Attribute {
	return []*Attribute{
		attr("verified", "verified", TypeBoolean, fVerified).internal().
			desc("Whether the value has been verified (native email_verified / phone_number_verified)."),
		attr("verifiedAt", "verifiedAt", TypeDateTime, fVerifiedAt).internal().
			desc("When the value was verified (native verified_at)."),
	}
}

func nameSub(name string, f field, desc string) *Attribute {
	return attr(name, name, TypeString, f).desc(desc)
}

func addressSubs(native bool) []*Attribute {
	n := func(scim, nat string) string {
		if native {
			return nat
		}
		return scim
	}
	subs := []*Attribute{
		attr(n("formatted", "formatted"), "formatted", TypeString, fFormatted).
			desc("The full mailing address, formatted for display or use with a mailing label."),
		attr(n("streetAddress", "street_address"), "streetAddress", TypeString, fStreetAddress).
			desc("The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information."),
		attr(n("locality", "city"), "locality", TypeString, fLocality).desc("The city or locality component."),
		attr(n("region", "state"), "region", TypeString, fRegion).desc("The state or region component."),
		attr(n("postalCode", "postal_code"), "postalCode", TypeString, fPostalCode).desc("The zip code or postal code component."),
		attr(n("country", "country"), "country", TypeString, fCountry).desc("The country name component."),
		attr(n("type", "type"), "type", TypeString, fType).values("work", "home", "other").
			desc("A label indicating the attribute's function, e.g., 'work' or 'home'."),
	}
	if !native {
		subs = append(subs, attr("primary", "primary", TypeBoolean, fPrimary).
			desc("A Boolean value indicating the 'primary' or preferred attribute value for this attribute."))
	}
	subs = append(subs, attr(n("updatedAt", "updated_at"), "updatedAt", TypeDateTime, fUpdated).mut(ReadOnly).internal().
		desc("When the address last changed (native address.updated_at)."))
	return subs
}

func newUserCatalog() *catalog {
	id := attr("id", "id", TypeString, fID).exact().mut(ReadOnly).ret(ReturnedAlways).unique(UniqueServer).
		desc("Unique identifier for the SCIM resource as defined by the service provider.")
	externalID := attr("externalId", "externalId", TypeString, fExternalID).exact().unique(UniqueServer).
		desc("A String that is an identifier for the resource as defined by the provisioning client.")
	meta := metaAttr("User")

	userName := attr("userName", "userName", TypeString, fUserName).required().unique(UniqueServer).
		desc("Unique identifier for the User, typically used by the user to directly authenticate to the service provider.  Each User MUST include a non-empty userName value.  This identifier MUST be unique across the service provider's entire set of Users.  REQUIRED.")
	name := complexAttr("name", "name", eName,
		nameSub("formatted", fFormatted, "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III')."),
		nameSub("familyName", fFamilyName, "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III')."),
		nameSub("givenName", fGivenName, "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III')."),
		nameSub("middleName", fMiddleName, "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III')."),
		nameSub("honorificPrefix", fHonorificPrefix, "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III')."),
		nameSub("honorificSuffix", fHonorificSuffix, "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III')."),
	).desc("The components of the user's real name.")
	displayName := attr("displayName", "displayName", TypeString, fDisplayName).
		desc("The name of the User, suitable for display to end-users.")
	nickName := attr("nickName", "nickName", TypeString, fNickName).
		desc("The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'.")
	profileURL := attr("profileUrl", "profileUrl", TypeReference, fProfileURL).exact().refs("external").
		desc("A fully qualified URL pointing to a page representing the User's online profile.")
	title := attr("title", "title", TypeString, fTitle).desc("The user's title, such as \"Vice President.\"")
	userType := attr("userType", "userType", TypeString, fUserType).
		desc("Used to identify the relationship between the organization and the user.  Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used.")
	preferredLanguage := attr("preferredLanguage", "preferredLanguage", TypeString, fPreferredLanguage).
		desc("Indicates the User's preferred written or spoken language.  Generally used for selecting a localized user interface; e.g., 'en_US' specifies the language English and country US.")
	locale := attr("locale", "locale", TypeString, fLocale).
		desc("Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations.")
	timezone := attr("timezone", "timezone", TypeString, fTimezone).
		desc("The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'.")
	active := attr("active", "active", TypeBoolean, fActive).
		desc("A Boolean value indicating the User's administrative status.")
	password := attr("password", "password", TypeString, fNone).mut(WriteOnly).ret(ReturnedNever).
		noFilter("password cannot be used in a filter").
		desc("The User's cleartext password.  This attribute is intended to be used as a means to specify an initial password when creating a new User or to reset an existing User's password.")
	emails := multiValue("emails", eEmails, TypeString, false, []string{"work", "home", "other"},
		"Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  Canonical type values of 'work', 'home', and 'other'.",
		"Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  Canonical type values of 'work', 'home', and 'other'.",
		verification()...)
	phones := multiValue("phoneNumbers", ePhones, TypeString, false, []string{"work", "home", "mobile", "fax", "pager", "other"},
		"Phone number of the User.",
		"Phone numbers for the User.  The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'.  Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.",
		verification()...)
	ims := multiValue("ims", eIMs, TypeString, false, []string{"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"},
		"Instant messaging address for the User.", "Instant messaging addresses for the User.")
	photos := multiValue("photos", ePhotos, TypeReference, true, []string{"photo", "thumbnail"},
		"URL of a photo of the User.", "URLs of photos of the User.")
	addresses := complexAttr("addresses", "addresses", eAddresses, addressSubs(false)...).multi().
		desc("A physical mailing address for this User.  Canonical type values of 'work', 'home', and 'other'.  This attribute is a complex type with the following sub-attributes.")
	groupValue := attr("value", "value", TypeString, fValue).desc("The identifier of the User's group.")
	groups := complexAttr("groups", "groups", eGroups,
		groupValue,
		attr("$ref", "$ref", TypeReference, fGroupRef).exact().refs("Group").
			noFilter("groups.$ref cannot be used in a filter").
			desc("The URI of the corresponding 'Group' resource to which the user belongs."),
		attr("display", "display", TypeString, fNone).
			noFilter("groups.display cannot be used in a filter").
			desc("A human-readable name, primarily used for display purposes.  READ-ONLY."),
		attr("type", "type", TypeString, fNone).values("direct").
			noFilter("groups.type cannot be used in a filter").
			desc("A label indicating the attribute's function: 'direct' (groups do not nest, so no membership is indirect)."),
	).multi().readOnlyTree().
		desc("A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.")
	entitlements := multiValue("entitlements", eEntitlements, TypeString, false, nil,
		"The value of an entitlement.", "A list of entitlements for the User that represent a thing the User has.")
	roles := multiValue("roles", eRoles, TypeString, false, nil,
		"The value of a role.", "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.")
	certs := multiValue("x509Certificates", eX509, TypeBinary, true, nil,
		"The value of an X.509 certificate.", "A list of certificates issued to the User.")

	// enterprise extension (RFC 7643 §4.3)
	ent := func(name string, f field, desc string) *Attribute {
		return attr(name, "enterprise."+name, TypeString, f).desc(desc)
	}
	manager := complexAttr("manager", "enterprise.manager", eManager,
		attr("value", "value", TypeString, fValue).desc("The id of the SCIM resource representing the User's manager.  REQUIRED."),
		attr("$ref", "$ref", TypeReference, fRef).exact().refs("User").
			desc("The URI of the SCIM resource representing the User's manager.  REQUIRED."),
		attr("displayName", "displayName", TypeString, fManagerDisplayName).mut(ReadOnly).
			desc("The displayName of the User's manager.  OPTIONAL and READ-ONLY."),
	).desc("The User's manager.  A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.")
	enterprise := []*Attribute{
		ent("employeeNumber", fEmployeeNumber, "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
		ent("costCenter", fCostCenter, "Identifies the name of a cost center."),
		ent("organization", fOrganization, "Identifies the name of an organization."),
		ent("division", fDivision, "Identifies the name of a division."),
		ent("department", fDepartment, "Identifies the name of a department."),
		manager,
	}

	// UserExtended extension (read-only)
	status := attr("status", "status", TypeString, fStatus).mut(ReadOnly).
		values(StatusActive, StatusDisabled, StatusPending).
		desc("The user's status: Pending until the first login to an assigned application, Active, or Disabled (suspended).")
	lastAuth := attr("lastAuth", "lastAuth", TypeDateTime, fLastAuth).mut(ReadOnly).
		desc("When the user last authenticated.")
	pwdInfo := complexAttr("passwordInformation", "passwordInformation", ePassword,
		attr("expired", "expired", TypeBoolean, fPwdExpired).desc("Whether the password has expired."),
		attr("temporary", "temporary", TypeBoolean, fPwdTemporary).desc("Whether the password must be replaced at the next login."),
		attr("updated_at", "updatedAt", TypeDateTime, fPwdUpdated).millis().desc("When the password was last set (epoch milliseconds, as Transmit renders it)."),
		attr("expires_in", "expiresAt", TypeDateTime, fPwdExpires).desc("When the password expires."),
	).readOnlyTree().desc("The state of the user's password.")

	// free-form extensions and native-only attributes
	customData := attr("customData", "customData", TypeJSON, fCustomData).keyed().
		desc("Tenant-level free-form JSON data (native custom_data).")
	customAppData := attr("customAppData", "customAppData", TypeJSON, fCustomAppData).keyed()
	customAppData.SchemaURN = CustomAppDataURN
	customAppData.desc("The calling application's free-form JSON data for the user (native custom_app_data).")
	apps := complexAttr("apps", "apps", eApp,
		attr("external_account_id", "externalAccountId", TypeString, fExternalAccountID).exact().internal().
			desc("The user's account id in the application (native external_account_id)."),
		customAppData,
	).internal().desc("The user's assignment to an application (app-scoped): `apps pr` is true when the user is assigned.")
	birthday := attr("birthday", "birthday", TypeString, fBirthday).internal().desc("Birthday, YYYY-MM-DD.")
	statusChangedAt := attr("status_changed_at", "statusChangedAt", TypeDateTime, fStatusChangedAt).mut(ReadOnly).internal().
		desc("When the status last changed.")
	primaryEmail := attr("email", "primaryEmail", TypeString, fPrimaryEmail).unique(UniqueServer).internal().
		desc("The primary email address (derived from emails).")
	primaryEmailVerified := attr("email_verified", "primaryEmailVerified", TypeBoolean, fPrimaryEmailVerified).mut(ReadOnly).internal().
		desc("Whether the primary email is verified (derived from emails).")
	primaryEmailVerifiedAt := attr("verified_at", "primaryEmailVerifiedAt", TypeDateTime, fPrimaryEmailVerifiedAt).mut(ReadOnly).internal().
		desc("When the primary email was verified (derived from emails).")
	secondaryEmails := complexAttr("secondary_emails", "secondaryEmails", eSecondaryEmails,
		attr("value", "value", TypeString, fValue).internal().desc("A secondary email address."),
		attr("email_verified", "verified", TypeBoolean, fVerified).mut(ReadOnly).internal().desc("Whether it is verified."),
		attr("verified_at", "verifiedAt", TypeDateTime, fVerifiedAt).mut(ReadOnly).internal().desc("When it was verified."),
	).multi().internal().desc("The non-primary email addresses (derived from emails).")
	primaryPhone := attr("phone_number", "primaryPhone", TypeString, fPrimaryPhone).exact().unique(UniqueServer).internal().
		desc("The primary phone number (derived from phoneNumbers).")
	primaryPhoneVerified := attr("phone_number_verified", "primaryPhoneVerified", TypeBoolean, fPrimaryPhoneVerified).mut(ReadOnly).internal().
		desc("Whether the primary phone number is verified (derived from phoneNumbers).")
	primaryPhoneVerifiedAt := attr("verified_at", "primaryPhoneVerifiedAt", TypeDateTime, fPrimaryPhoneVerifiedAt).mut(ReadOnly).internal().
		desc("When the primary phone number was verified (derived from phoneNumbers).")
	secondaryPhones := complexAttr("secondary_phone_numbers", "secondaryPhones", eSecondaryPhones,
		attr("value", "value", TypeString, fValue).exact().internal().desc("A secondary phone number."),
		attr("phone_number_verified", "verified", TypeBoolean, fVerified).mut(ReadOnly).internal().desc("Whether it is verified."),
		attr("verified_at", "verifiedAt", TypeDateTime, fVerifiedAt).mut(ReadOnly).internal().desc("When it was verified."),
	).multi().internal().desc("The non-primary phone numbers (derived from phoneNumbers).")
	picture := attr("picture", "picture", TypeReference, fPicture).exact().internal().
		desc("The primary (else first) photo URL (derived from photos).")
	primaryAddress := complexAttr("address", "primaryAddress", ePrimaryAddress, addressSubs(true)...).internal().
		desc("The primary (else first) address (derived from addresses).")
	for _, s := range primaryAddress.SubAttributes {
		s.internal()
	}
	customData.internal()

	c := newCatalog(UserResource,
		[]string{UserSchemaURN, EnterpriseUserURN, UserExtendedURN},
		map[string][]*Attribute{
			UserSchemaURN: {userName, name, displayName, nickName, profileURL, title, userType,
				preferredLanguage, locale, timezone, active, password, emails, phones, ims, photos,
				addresses, groups, entitlements, roles, certs},
			EnterpriseUserURN: enterprise,
			UserExtendedURN:   {status, lastAuth, pwdInfo},
		},
		[]*Attribute{id, externalID, meta},
		[]*Attribute{customData, apps, birthday, statusChangedAt, primaryEmail, primaryEmailVerified,
			primaryEmailVerifiedAt, secondaryEmails, primaryPhone, primaryPhoneVerified, primaryPhoneVerifiedAt,
			secondaryPhones, picture, primaryAddress},
	)
	customData.SchemaURN = CustomDataURN
	c.apps = apps
	c.jsonURN[CustomDataURN] = customData
	c.jsonURN[CustomAppDataURN] = customAppData
	return c // native names: see native_names.go
}
