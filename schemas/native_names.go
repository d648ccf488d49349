package schemas

// Native field names (the native REST API's `search` and `sort_field`) and the
// catalog entries they reach; see the canonical path table in
// docs/architecture.md. Native names match case-insensitively; nested keys of
// custom_data.* and custom_app_data.* match exactly.

func addUserNativeNames(c *catalog) {
	by := c.byCanonical
	names := map[string][]string{
		"id":                            {"user_id"},
		"userName":                      {"username"},
		"externalId":                    {"external_user_id"},
		"preferredLanguage":             {"language"},
		"birthday":                      {"birthday"},
		"name":                          {"name"},
		"name.givenName":                {"name.first_name"},
		"name.familyName":               {"name.last_name"},
		"name.middleName":               {"name.middle_name"},
		"name.honorificPrefix":          {"name.title"},
		"primaryEmail":                  {"email"},
		"secondaryEmails":               {"secondary_emails"},
		"primaryPhone":                  {"phone_number"},
		"secondaryPhones":               {"secondary_phone_numbers"},
		"picture":                       {"picture"},
		"primaryAddress":                {"address"},
		"primaryAddress.formatted":      {"address.formatted"},
		"primaryAddress.streetAddress":  {"address.street_address"},
		"primaryAddress.locality":       {"address.city"},
		"primaryAddress.region":         {"address.state"},
		"primaryAddress.postalCode":     {"address.postal_code"},
		"primaryAddress.country":        {"address.country"},
		"primaryAddress.type":           {"address.type"},
		"status":                        {"status"},
		"statusChangedAt":               {"status_changed_at"},
		"lastAuth":                      {"last_auth"},
		"created":                       {"created_at"},
		"updated":                       {"updated_at"},
		"groups":                        {"group_ids", "groupIds"},
		"apps.externalAccountId":        {"external_account_id"},
		"passwordInformation":           {"password_information"},
		"passwordInformation.expired":   {"password_information.expired"},
		"passwordInformation.temporary": {"password_information.temporary"},
		"passwordInformation.updatedAt": {"password_information.updated_at"},
		"passwordInformation.expiresAt": {"password_information.expires_in"},
	}
	for canonical, native := range names {
		a := by[canonical]
		if a == nil {
			panic("schemas: native name for unknown canonical path " + canonical)
		}
		c.alias(a, native...)
	}
	c.nativeJSON["custom_data"] = by["customData"]
	c.nativeJSON["custom_app_data"] = by["apps.customAppData"]
}
