package schemas

// SCIM schema URNs.
const (
	// UserSchemaURN is the SCIM core User schema (RFC 7643 §4.1).
	UserSchemaURN = "urn:ietf:params:scim:schemas:core:2.0:User"
	// GroupSchemaURN is the SCIM core Group schema (RFC 7643 §4.2).
	GroupSchemaURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
	// EnterpriseUserURN is the SCIM enterprise User extension (RFC 7643 §4.3).
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// CustomAppDataURN is the Transmit-style extension carrying the calling
	// application's free-form data for the user (native custom_app_data).
	CustomAppDataURN = "urn:ietf:params:scim:schemas:extension:CustomAppData:2.0:User"
	// UserExtendedURN is the Transmit-style read-only extension with status,
	// lastAuth and passwordInformation.
	UserExtendedURN = "urn:ietf:params:scim:schemas:extension:UserExtended:2.0:User"
	// CustomDataURN is scimd's extension carrying the tenant-level free-form
	// data of a user (native custom_data).
	CustomDataURN = "urn:scimd:schemas:extension:CustomData:2.0:User"
	// GroupExtendedURN is scimd's read-only Group extension showing the
	// native description and custom_data of a group on the SCIM face.
	GroupExtendedURN = "urn:scimd:schemas:extension:GroupExtended:2.0:Group"
)
