package native

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/scimd/scimd/directory"
)

// OpenAPIVersion is the version of the OpenAPI document scimd serves: 3.0.3,
// the version every mainstream code generator (openapi-generator,
// oapi-codegen, NSwag, swagger-codegen 3) reads fully.
const OpenAPIVersion = "3.0.3"

// apiOp documents one operation of the OpenAPI document: the route of the
// same name (its operationId) in routes gives its method and path, so the
// route table is written once. TestOpenAPICoversRoutes fails when a route
// has no apiOp (or an apiOp no route), and TestPermissionMatrix validates
// every live response of every route against the document.
type apiOp struct {
	id, tag       string
	summary, desc string
	auth          string   // "client", "admin", "user" or "" (public)
	query         []string // query parameter names (see queryParams)
	body          string   // request body schema name, "form" or ""
	status        int      // success status
	result        string   // success schema name ("" for no body)
	errors        []int    // error statuses worth naming; every other error is the default response
}

var apiOps = []apiOp{
	// Tokens and discovery.
	{"getAccessToken", "Tokens", "Client-credentials token",
		"Exchanges an application's client_id and client_secret (form fields, or HTTP Basic) for a one-hour access token (ES256 JWT). A management application gets an admin token, a regular application a token that reaches its own users. The optional resource becomes the token's audience.",
		"", nil, "form", 200, "TokenResponse", []int{400, 401, 415, 429}},
	{"getJwks", "Tokens", "Token signing keys",
		"The public keys (JWK Set) that verify scimd's access tokens, including the previous key during a rotation.",
		"", nil, "", 200, "JWKS", nil},
	{"getOpenIDConfiguration", "Tokens", "OpenID provider configuration",
		"A minimal OpenID provider configuration: issuer, token endpoint and JWKS URI. scimd serves only the client-credentials grant.",
		"", nil, "", 200, "OpenIDConfiguration", nil},
	{"getOpenAPIDocument", "Tokens", "This OpenAPI document",
		"The OpenAPI 3.0.3 description of the native API.",
		"", nil, "", 200, "Object", nil},

	// End-user password login.
	{"passwordLogin", "Login", "End-user password login",
		"Logs an end user in to an application with a username or an email and a password, and returns a user access token that reaches only /cis/v1/users/me/... A temporary password is refused with 403 and error temporary_password. Repeated failures are rate-limited (429).",
		"", nil, "PasswordLogin", 200, "TokenResponse", []int{400, 401, 403, 429}},
	{"replaceTemporaryPassword", "Login", "Replace a temporary password and log in",
		"Replaces the user's temporary (or current) password with new_password and logs the user in, as passwordLogin does.",
		"", nil, "PasswordReplace", 200, "TokenResponse", []int{400, 401, 403, 429}},

	// The current user.
	{"addPasswordCredentialsToCurrentUser", "Me", "The current user sets a first password",
		"Gives the calling end user a first password (and optionally a username, only when the record has none). Every refusal is a 403, as Transmit documents. A user without a password holds no user access token, so this takes an enrolment token too (issueEnrolmentToken), which is good for this call only.",
		"user", nil, "OwnPassword", 200, "MessageResult", []int{400, 403}},
	{"getDeviceKeysForTenant", "Me", "Device keys of the current user",
		"The calling end user's device keys (an array; empty when none). scimd has no API to register device keys: they are read-only.",
		"user", nil, "", 200, "DeviceKeysResult", []int{403}},

	// Users.
	{"getUsersCount", "Users", "Count users",
		"Counts the users the caller may see, optionally filtered with search and search_prefix.",
		"client", []string{"search", "search_prefix"}, "", 200, "UserCountResult", []int{400, 403}},
	{"bulkCreateUser", "Users", "Create many users",
		"Creates up to 1000 users, each element independently (not atomic): the result reports each element's status and the user or the error.",
		"client", nil, "BulkCreate", 201, "BulkResult", []int{400, 403, 413, 415}},
	{"getUserByEmail", "Users", "Get a user by primary email",
		"The user whose primary email is the given address (case-insensitive). Secondary emails do not match.",
		"client", nil, "", 200, "UserResult", []int{403, 404}},
	{"getUserByExternalUserId", "Users", "Get a user by external user id",
		"The user whose tenant-level external_user_id is the given value (case-sensitive).",
		"client", nil, "", 200, "UserResult", []int{403, 404}},
	{"getUserByUsername", "Users", "Get a user by username",
		"The user with the given username (case-insensitive).",
		"client", nil, "", 200, "UserResult", []int{403, 404}},
	{"getUserByPhone", "Users", "Get a user by primary phone number",
		"The user whose primary phone number is the given E.164 number.",
		"client", nil, "", 200, "UserResult", []int{403, 404}},
	{"deprecatedGetUserByPhone", "Users", "Get a user by primary phone number (deprecated path)",
		"The deprecated path of getUserByPhone.",
		"client", nil, "", 200, "UserResult", []int{403, 404}},
	{"getUserByIdentifier", "Users", "Get a user by a named identifier",
		"The user whose identifier named by identifier_name (email: the primary email; phone_number: the primary phone; username; external_user_id; user_id) has the value identifier_value. Only the named field is looked at.",
		"client", []string{"identifier_name", "identifier_value"}, "", 200, "UserResult", []int{400, 403, 404}},
	{"createUser", "Users", "Create a user",
		"Creates a user; email or phone_number is required. An application's token assigns the user to that application; an admin token may name applications in app_ids. credentials sets a password (temporary unless force_replace is false). New users are Pending until their first login. A taken identifier is a 409 naming it.",
		"client", nil, "UserCreate", 201, "UserResult", []int{400, 403, 409, 413, 415}},
	{"getUsers", "Users", "List or search users",
		"A page of the users the caller may see, filtered with search (SCIM filter syntax over native field names) and search_prefix, sorted by sort_field and sort_order (creation order by default).",
		"client", []string{"search", "search_prefix", "page_offset", "page_limit", "sort_field", "sort_order"}, "", 200, "UserList", []int{400, 403}},
	{"getUserById", "Users", "Get a user",
		"The user with the given id. A user the caller may not see (another application's) is a 404.",
		"client", nil, "", 200, "UserResult", []int{403, 404}},
	{"updateUser", "Users", "Update a user (merge)",
		"Merges the fields sent into the user: absent fields stay, null clears, objects and arrays are replaced whole, custom_data and custom_app_data are shallow-merged. status may be set here.",
		"client", nil, "UserUpdate", 200, "UserResult", []int{400, 403, 404, 409, 413, 415}},
	{"getUserGroups", "Users", "Groups of a user",
		"The groups the user is a direct member of.",
		"client", nil, "", 200, "GroupListResult", []int{403, 404}},
	{"getUserApps", "Users", "Applications of a user (scimd addition)",
		"The applications the user is assigned to, in id order; an application's token sees only its own entry.",
		"client", nil, "", 200, "UserAppsResult", []int{403, 404}},
	{"removeUserFromApp", "Users", "Remove the user from the calling application",
		"Detaches the user from the calling application: its app-level data is deleted, the application no longer sees the user, and the user's tokens for it stop working. The user stays in the tenant. An admin token has no calling application (403): it uses removeUserFromNamedApp.",
		"client", nil, "", 204, "", []int{403, 404}},
	{"assignUserToApp", "Users", "Assign a user to an application (scimd addition)",
		"Assigns an existing user to a regular application (idempotent).",
		"admin", nil, "", 204, "", []int{403, 404}},
	{"removeUserFromNamedApp", "Users", "Remove a user from a named application (scimd addition)",
		"Detaches the user from the named application, as removeUserFromApp does for the caller's own. An administrator may name any application, an application only itself. A user not assigned to it is a 404.",
		"client", nil, "", 204, "", []int{403, 404}},
	{"addPasswordCredential", "Users", "Give a user a first password",
		"Sets a first password (temporary unless force_replace is false) and optionally the username; a user who has a password is a 409.",
		"client", nil, "PasswordCreate", 201, "MessageResult", []int{400, 403, 404, 409}},
	{"issueEnrolmentToken", "Users", "Issue an enrolment token (scimd addition)",
		"Issues a 15-minute token with which the user, who has no password yet, sets one at POST /cis/v1/users/me/password-credentials; the token reaches nothing else (403) and stops working once the user has a password. A user who has a password is a 409, a disabled one a 400.",
		"client", nil, "", 201, "EnrolmentTokenResult", []int{400, 403, 404, 409}},
	{"updatePasswordCredential", "Users", "Replace a user's password",
		"Replaces the user's password (temporary unless force_replace is false).",
		"client", nil, "PasswordUpdate", 200, "MessageResult", []int{400, 403, 404}},
	{"removeUserSecondaryEmail", "Users", "Remove a secondary email",
		"Removes one secondary email; the primary email cannot be removed this way (400).",
		"client", nil, "", 204, "", []int{400, 403, 404}},
	{"removeUserSecondaryPhoneNumber", "Users", "Remove a secondary phone number",
		"Removes one secondary phone number; the primary cannot be removed this way (400).",
		"client", nil, "", 204, "", []int{400, 403, 404}},
	{"verifyUserEmail", "Users", "Mark an email verified",
		"Marks one of the user's emails verified and, with change_to_primary, makes it the primary (the old primary becomes a secondary).",
		"client", nil, "Verify", 202, "", []int{400, 403, 404, 409}},
	{"verifyUserPhoneNumber", "Users", "Mark a phone number verified",
		"Marks one of the user's phone numbers verified and, with change_to_primary, makes it the primary.",
		"client", nil, "Verify", 202, "", []int{400, 403, 404, 409}},
	{"deleteTenantUser", "Users", "Delete a user and all its data",
		"Deletes the user from the tenant with all tenant-level and app-level data. Needs a tenant-wide token: an admin token, or an unbound API token with the scim scope.",
		"admin", nil, "", 204, "", []int{403, 404}},

	// Groups.
	{"createGroup", "Groups", "Create a group",
		"Creates a tenant group (name unique, case-insensitive). Needs a tenant-wide token (admin, or an unbound API token with the scim scope).",
		"client", nil, "GroupInput", 201, "GroupResult", []int{400, 403, 409}},
	{"getAllGroups", "Groups", "List groups",
		"A page of the tenant's groups, in creation order. Every caller that may read sees every group.",
		"client", []string{"page_offset", "page_limit"}, "", 200, "GroupList", []int{400, 403}},
	{"getGroupByID", "Groups", "Get a group",
		"The group with the given id.",
		"client", nil, "", 200, "GroupResult", []int{403, 404}},
	{"updateGroup", "Groups", "Update a group",
		"Changes the group's name, description or custom_data (fields sent only). Needs a tenant-wide token.",
		"client", nil, "GroupInput", 200, "GroupResult", []int{400, 403, 404, 409}},
	{"deleteGroup", "Groups", "Delete a group",
		"Deletes the group; its members stay, without the membership. Needs a tenant-wide token.",
		"client", nil, "", 204, "", []int{403, 404}},
	{"assignUsers", "Groups", "Add members",
		"Adds users to the group. An application may add only its own users; any unknown or invisible user is a 404 and changes nothing.",
		"client", nil, "Members", 204, "", []int{400, 403, 404}},
	{"getGroupUsers", "Groups", "List members",
		"A page of the group's members the caller may see (an application sees only its own users), in creation order.",
		"client", []string{"page_offset", "page_limit"}, "", 200, "UserList", []int{400, 403, 404}},
	{"removeAssignment", "Groups", "Remove a member",
		"Removes one user from the group; removing a user who is not a member succeeds.",
		"client", nil, "", 204, "", []int{403, 404}},

	// Applications.
	{"createApp", "Applications", "Create an application",
		"Creates a regular application with one client; the response carries client_id and client_secret, the secret shown only this once.",
		"admin", nil, "AppInput", 201, "AppWithSecretResult", []int{400, 403}},
	{"getAllApps", "Applications", "List applications",
		"The regular applications: all of them for administrators, itself for an application's token.",
		"client", nil, "", 200, "AppListResult", []int{403}},
	{"getAppsList", "Applications", "List applications (short form)",
		"As getAllApps, with only the identifying fields.",
		"client", nil, "", 200, "AppSummaryListResult", []int{403}},
	{"getAppById", "Applications", "Get an application",
		"An application: any for administrators, itself for an application's token (another is a 404).",
		"client", nil, "", 200, "AppResult", []int{403, 404}},
	{"updateApp", "Applications", "Update an application",
		"Changes an application's settings (fields sent only). Administrators, or the application itself with the admin scope. Transmit fields scimd does not implement are accepted and ignored.",
		"client", nil, "AppInput", 200, "AppResult", []int{400, 403, 404}},
	{"deleteApp", "Applications", "Delete an application",
		"Deletes the application and every user's data for it; the users stay in the tenant.",
		"admin", nil, "", 204, "", []int{403, 404}},
	{"rotateAppClientSecret", "Applications", "Rotate the client secret",
		"Gives the application's client a new secret, returned once; the old one stops working at once.",
		"admin", nil, "", 200, "SecretResult", []int{403, 404}},

	// Management applications.
	{"createManagementApplication", "Management applications", "Create a management application",
		"Creates a management application, whose tokens are admin tokens; client_secret is shown only in this response.",
		"admin", nil, "AppInput", 201, "AppWithSecretResult", []int{400, 403}},
	{"getAllManagementApplications", "Management applications", "List management applications",
		"The management applications (an application's token sees none).",
		"client", nil, "", 200, "AppListResult", []int{403}},
	{"getManagementApplicationById", "Management applications", "Get a management application",
		"A management application (scimd addition: Transmit has no get-by-id).",
		"admin", nil, "", 200, "AppResult", []int{403, 404}},
	{"updateManagementApplication", "Management applications", "Update a management application",
		"Changes a management application's settings (fields sent only).",
		"admin", nil, "AppInput", 200, "AppResult", []int{400, 403, 404}},
	{"deleteManagementApplication", "Management applications", "Delete a management application",
		"Deletes a management application; the last one cannot be deleted (400).",
		"admin", nil, "", 204, "", []int{400, 403, 404}},
	{"rotateManagementAppClientSecret", "Management applications", "Rotate the client secret",
		"Gives the management application's client a new secret, returned once; the old one stops working at once.",
		"admin", nil, "", 200, "SecretResult", []int{403, 404}},

	// API tokens and audit (scimd additions).
	{"createApiToken", "API tokens", "Create an API token",
		"Creates a long-lived bearer token (scimd_...) for an identity-provider connector, returned once. Unbound it reaches the whole tenant, with app_id only that application's users; scopes (default [scim]) say what it may do there.",
		"admin", nil, "APITokenInput", 201, "APITokenResult", []int{400, 403}},
	{"getApiTokens", "API tokens", "List API tokens",
		"Every API token record with its scopes (never the tokens themselves).",
		"admin", nil, "", 200, "APITokenListResult", []int{403}},
	{"deleteApiToken", "API tokens", "Revoke an API token",
		"Revokes the token; it stops working at once on every replica.",
		"admin", nil, "", 204, "", []int{403, 404}},
	{"getAuditEvents", "Audit", "Read audit events",
		"Audit events, newest first, filtered by target, actor, action and time.",
		"admin", []string{"target_id", "actor_id", "action", "from", "to", "offset", "limit"}, "", 200, "EventList", []int{400, 403}},
}

// apiTags are the tags of the document, in order, with their descriptions.
var apiTags = [][2]string{
	{"Tokens", "Client-credentials tokens and the keys that verify them"},
	{"Login", "End-user password login (scimd addition)"},
	{"Me", "The end user holding a user access token"},
	{"Users", "Users of the tenant (Transmit's Users API)"},
	{"Groups", "Groups of the tenant (Transmit's Groups API)"},
	{"Applications", "Regular applications and their client"},
	{"Management applications", "Applications whose tokens are admin tokens"},
	{"API tokens", "Long-lived, scoped connector tokens (scimd addition)"},
	{"Audit", "The audit log (scimd addition)"},
}

var queryParams = map[string]map[string]any{
	"identifier_name":  {"description": "Which identifier identifier_value is: email (primary), phone_number (primary), username, external_user_id or user_id", "required": true, "schema": enum("email", "phone_number", "username", "external_user_id", "user_id")},
	"identifier_value": {"description": "The value of the identifier", "required": true, "schema": str()},
	"search":           {"description": "SCIM filter over native field names, e.g. (status eq \"Pending\") and (email sw \"ann\")", "schema": str()},
	"search_prefix":    {"description": "Prefix of the primary email or phone number", "schema": str()},
	"page_offset":      {"description": "Items to skip (default 0)", "schema": intSchema(0, 0)},
	"page_limit":       {"description": "Page size (default 1000; 0 returns only total_count)", "schema": intSchema(0, MaxPageLimit)},
	"sort_field":       {"description": "email, created_at, phone_number, last_auth or another native field (default: creation order)", "schema": str()},
	"sort_order":       {"description": "asc (default) or desc", "schema": enum("asc", "desc")},
	"target_id":        {"description": "Events about this resource id", "schema": str()},
	"actor_id":         {"description": "Events by this actor (client id, API token id or user id)", "schema": str()},
	"action":           {"description": "Events with this action, e.g. createUser", "schema": str()},
	"from":             {"description": "Events at or after this RFC 3339 time", "schema": dateTime()},
	"to":               {"description": "Events before this RFC 3339 time", "schema": dateTime()},
	"offset":           {"description": "Events to skip", "schema": intSchema(0, 0)},
	"limit":            {"description": "Page size (default 100)", "schema": intSchema(0, MaxAuditLimit)},
}

// pathParams describe the path parameters.
var pathParams = map[string]string{
	"user_id": "The user's id", "group_id": "The group's id", "app_id": "The application's id",
	"token_id": "The API token's id", "email": "An email address of the user", "phone_number": "A phone number of the user (E.164)",
	"external_user_id": "The tenant-level external id", "username": "The username",
}

func str() map[string]any      { return map[string]any{"type": "string"} }
func boolean() map[string]any  { return map[string]any{"type": "boolean"} }
func dateTime() map[string]any { return map[string]any{"type": "string", "format": "date-time"} }
func millis() map[string]any {
	return map[string]any{"type": "integer", "format": "int64", "description": "epoch milliseconds"}
}
func enum(v ...string) map[string]any { return map[string]any{"type": "string", "enum": v} }
func intSchema(min, max int) map[string]any {
	m := map[string]any{"type": "integer", "minimum": min}
	if max > 0 {
		m["maximum"] = max
	}
	return m
}
func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
func arr(items any) map[string]any   { return map[string]any{"type": "array", "items": items} }

// obj is a closed object: exactly these properties (responses never carry
// others, so a generated client can rely on them).
func obj(props map[string]any, required ...string) map[string]any {
	m := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}

// open is an object that may carry more properties than those listed.
func open(props map[string]any) map[string]any {
	m := obj(props)
	m["additionalProperties"] = true
	return m
}

// with returns a copy of the closed object o with more properties.
func with(o map[string]any, props map[string]any, required ...string) map[string]any {
	all := map[string]any{}
	for k, v := range o["properties"].(map[string]any) {
		all[k] = v
	}
	for k, v := range props {
		all[k] = v
	}
	req, _ := o["required"].([]string)
	return obj(all, append(append([]string{}, req...), required...)...)
}

// nullable marks an input schema as accepting null (which clears the field).
func nullable(s map[string]any) map[string]any {
	c := map[string]any{"nullable": true}
	for k, v := range s {
		c[k] = v
	}
	return c
}

func wrap(v any) map[string]any { return obj(map[string]any{"result": v}, "result") }

// componentSchemas are the schemas the operations refer to. They describe
// exactly what the server sends: absent values are omitted, never null.
func componentSchemas() map[string]any {
	anyObj := map[string]any{"type": "object", "additionalProperties": true, "description": "free-form JSON object"}
	status := enum("Active", "Disabled", "Pending")
	emailObj := obj(map[string]any{"value": str(), "email_verified": boolean(), "verified_at": dateTime()}, "value")
	phoneObj := obj(map[string]any{"value": str(), "phone_number_verified": boolean(), "verified_at": dateTime()}, "value")
	name := obj(map[string]any{"title": str(), "first_name": str(), "last_name": str(), "middle_name": str()})
	addressIn := map[string]any{"country": str(), "state": str(), "city": str(), "street_address": str(), "postal_code": str(),
		"formatted": str(), "type": enum("Home", "Work", "Other")}
	address := with(obj(addressIn), map[string]any{"updated_at": millis()})
	enterpriseIn := map[string]any{"employee_number": str(), "cost_center": str(), "organization": str(), "division": str(),
		"department": str(), "title": str(), "manager": map[string]any{"type": "object", "additionalProperties": false,
			"properties": map[string]any{"id": map[string]any{"type": "string", "description": "the manager's user_id"}}}}
	enterprise := obj(map[string]any{"employee_number": str(), "cost_center": str(), "organization": str(), "division": str(),
		"department": str(), "title": str(), "manager": obj(map[string]any{"id": map[string]any{"type": "string", "description": "the manager's user_id"},
			"display_name": map[string]any{"type": "string", "description": "the manager's display name (read-only)"}})})
	enterprise["description"] = "The work profile an identity provider pushes (SCIM enterprise extension and title); replaced whole on update"
	identity := obj(map[string]any{"provider_name": str(), "provider_type": enum("OAuth2", "Native", "External"),
		"auth_type": str(), "identifier": str(), "user_alias": open(nil), "first_auth_date": dateTime(), "last_auth_date": dateTime()},
		"provider_name", "provider_type", "auth_type", "identifier")
	user := obj(map[string]any{
		"user_id": str(), "username": str(), "email": emailObj, "secondary_emails": arr(emailObj),
		"phone_number": phoneObj, "secondary_phone_numbers": arr(phoneObj), "name": name, "address": address,
		"birthday": map[string]any{"type": "string", "format": "date"}, "picture": str(), "language": str(),
		"status": status, "status_changed_at": dateTime(), "created_at": millis(), "updated_at": millis(),
		"last_auth": dateTime(), "external_user_id": str(), "custom_data": anyObj, "enterprise": enterprise,
		"groupIds": arr(str()), "external_account_id": str(), "custom_app_data": anyObj,
		"app_name": map[string]any{"type": "string", "description": "the calling application's name (application tokens only)"},
		"password_information": obj(map[string]any{"expired": boolean(), "temporary": boolean(), "updated_at": millis(), "expires_in": dateTime()},
			"expired", "temporary", "updated_at"),
		"identities": map[string]any{"type": "array", "items": identity, "description": "always empty: scimd keeps no external identities"},
		"app_ids":    map[string]any{"type": "array", "items": str(), "description": "the applications the user is assigned to (admin view only)"},
	}, "user_id", "status", "created_at", "updated_at", "identities")

	userFields := func(create bool) map[string]any {
		m := map[string]any{
			"email": nullable(str()), "phone_number": nullable(str()), "username": nullable(str()),
			"secondary_emails": nullable(arr(str())), "secondary_phone_numbers": nullable(arr(str())),
			"birthday": nullable(str()), "address": nullable(obj(addressIn)), "name": nullable(name),
			"external_account_id": nullable(str()), "custom_app_data": nullable(anyObj), "picture": nullable(str()),
			"language": nullable(str()), "custom_data": nullable(anyObj), "external_user_id": nullable(str()),
			"enterprise": nullable(obj(enterpriseIn)),
		}
		if create {
			m["credentials"] = obj(map[string]any{"password": str(), "hashed_password": str(), "force_replace": map[string]any{"type": "boolean", "default": true}})
			m["app_ids"] = map[string]any{"type": "array", "items": str(), "description": "applications to assign the user to (admin tokens only)"}
		} else {
			m["status"] = status
		}
		return m
	}
	group := obj(map[string]any{"group_id": str(), "name": str(), "description": str(), "custom_data": anyObj,
		"created_at": millis(), "updated_at": millis()}, "group_id", "name", "created_at", "updated_at")
	app := obj(map[string]any{"app_id": str(), "tenant_id": str(), "app_name": str(), "app_description": str(), "client_id": str(),
		"login_uri": str(), "redirect_uris": arr(str()), "allow_public_signup": boolean(), "created_at": dateTime(), "updated_at": dateTime()},
		"app_id", "tenant_id", "app_name", "client_id", "created_at", "updated_at")
	scopes := map[string]any{"type": "array", "items": enum(directory.Scopes...), "minItems": 1, "uniqueItems": true,
		"description": "read: read users and groups; scim: provision users and groups (read and write); admin: everything the token's reach allows, incl. applications, API tokens and audit"}
	apiToken := obj(map[string]any{"token_id": str(), "description": str(), "app_id": str(), "scopes": scopes, "created_at": dateTime(),
		"expires_at": dateTime(), "last_used_at": dateTime(), "created_by": str()}, "token_id", "description", "scopes", "created_at", "created_by")
	pageInfo := obj(map[string]any{"has_next_page": boolean(), "has_previous_page": boolean()}, "has_next_page", "has_previous_page")
	paged := func(item any) map[string]any {
		return obj(map[string]any{"total_count": intSchema(0, 0), "page_info": pageInfo, "result": arr(item)}, "total_count", "page_info", "result")
	}
	errorBody := obj(map[string]any{"message": str(), "error_code": map[string]any{"type": "integer", "description": "the HTTP status"},
		"error": map[string]any{"type": "string", "description": "OAuth error code at the token endpoint, temporary_password at login"}}, "message", "error_code")
	return map[string]any{
		"Object":     anyObj,
		"User":       user,
		"Group":      group,
		"App":        app,
		"UserCreate": obj(userFields(true)),
		"UserUpdate": obj(userFields(false)),
		"BulkCreate": map[string]any{"type": "array", "items": ref("UserCreate"), "minItems": 1, "maxItems": 1000},
		"BulkResult": wrap(obj(map[string]any{"total_count": intSchema(0, 0), "created_count": intSchema(0, 0), "failed_count": intSchema(0, 0),
			"results": arr(obj(map[string]any{"index": intSchema(0, 0), "status": intSchema(0, 0), "user": ref("User"), "error": errorBody}, "index", "status"))},
			"total_count", "created_count", "failed_count", "results")),
		"UserResult":      wrap(ref("User")),
		"UserList":        paged(ref("User")),
		"UserCountResult": wrap(obj(map[string]any{"user_count": intSchema(0, 0)}, "user_count")),
		"UserAppsResult": wrap(arr(obj(map[string]any{"app_id": str(), "app_name": str(), "assigned_at": dateTime(), "last_login": dateTime()},
			"app_id", "app_name"))),
		"GroupInput":      obj(map[string]any{"name": str(), "description": nullable(str()), "custom_data": nullable(anyObj)}),
		"GroupResult":     wrap(ref("Group")),
		"GroupListResult": wrap(arr(ref("Group"))),
		"GroupList":       paged(ref("Group")),
		"Members":         obj(map[string]any{"user_ids": arr(str())}, "user_ids"),
		"Verify":          obj(map[string]any{"change_to_primary": map[string]any{"type": "boolean", "default": false}}),
		"PasswordCreate": obj(map[string]any{"password": str(), "force_replace": map[string]any{"type": "boolean", "default": true},
			"username": str(), "enforce_complexity": boolean()}, "password"),
		"PasswordUpdate":  obj(map[string]any{"password": str(), "force_replace": map[string]any{"type": "boolean", "default": true}}, "password"),
		"OwnPassword":     obj(map[string]any{"password": str(), "username": str()}, "password"),
		"PasswordLogin":   obj(map[string]any{"client_id": str(), "username": str(), "email": str(), "password": str()}, "client_id", "password"),
		"PasswordReplace": obj(map[string]any{"client_id": str(), "username": str(), "email": str(), "password": str(), "new_password": str()}, "client_id", "password", "new_password"),
		"MessageResult":   wrap(obj(map[string]any{"message": str()}, "message")),
		"EnrolmentTokenResult": wrap(obj(map[string]any{"access_token": str(), "token_type": str(), "expires_in": intSchema(0, 0),
			"scope": enum("password-enrolment")}, "access_token", "token_type", "expires_in", "scope")),
		"DeviceKeysResult": wrap(arr(obj(map[string]any{"key_id": str(), "display_name": str(), "status": enum("Active", "Blocked", "Suspended"),
			"custom_data": anyObj, "push_config": obj(map[string]any{"device_token": str(), "type": enum("FCM", "APN")}),
			"created_at": dateTime(), "updated_at": dateTime()}, "key_id"))),
		"AppInput": open(map[string]any{"app_name": str(), "app_description": str(), "login_uri": str(), "redirect_uris": arr(str()),
			"allow_public_signup": boolean()}),
		"AppResult":            wrap(ref("App")),
		"AppListResult":        wrap(arr(ref("App"))),
		"AppSummaryListResult": wrap(arr(obj(map[string]any{"app_id": str(), "tenant_id": str(), "app_name": str(), "app_description": str(), "login_uri": str()}, "app_id", "app_name"))),
		"AppWithSecretResult":  wrap(with(app, map[string]any{"client_secret": str()}, "client_secret")),
		"SecretResult":         wrap(obj(map[string]any{"app_id": str(), "client_id": str(), "client_secret": str()}, "app_id", "client_id", "client_secret")),
		"APITokenInput":        obj(map[string]any{"description": str(), "app_id": str(), "scopes": scopes, "expires_at": dateTime()}),
		"APITokenResult":       wrap(with(apiToken, map[string]any{"token": str()}, "token")),
		"APITokenListResult":   wrap(arr(apiToken)),
		"EventList": paged(obj(map[string]any{
			"event_id": str(), "timestamp": dateTime(), "activity": str(), "actor_id": str(), "actor_type": str(), "target_resource_id": str(),
			"target_resource_type": str(), "ip": str(), "user_agent": str(),
			"changes": map[string]any{"type": "object", "description": "changed fields as {prev, current}",
				"additionalProperties": map[string]any{"type": "object", "properties": map[string]any{"prev": map[string]any{"nullable": true, "description": "the value before (any JSON value; null when unset)"}, "current": map[string]any{"nullable": true, "description": "the value after (any JSON value; null when unset)"}}}},
			"damaged": map[string]any{"type": "string", "description": "set when the stored record was only partly readable"},
		}, "event_id", "timestamp", "activity", "actor_id", "actor_type")),
		"TokenResponse": obj(map[string]any{"access_token": str(), "token_type": str(), "expires_in": intSchema(0, 0), "scope": str()},
			"access_token", "token_type", "expires_in", "scope"),
		"TokenRequest": obj(map[string]any{"grant_type": enum("client_credentials"),
			"client_id": str(), "client_secret": str(), "resource": str()}, "grant_type"),
		"JWKS": obj(map[string]any{"keys": arr(obj(map[string]any{"kty": str(), "crv": str(), "x": str(), "y": str(), "kid": str(), "alg": str(), "use": str()},
			"kty", "kid"))}, "keys"),
		"OpenIDConfiguration": open(map[string]any{"issuer": str(), "token_endpoint": str(), "jwks_uri": str()}),
		"Error":               errorBody,
		"BadRequestError": obj(map[string]any{"message": map[string]any{"type": "array", "items": str(), "minItems": 1},
			"error_code": map[string]any{"type": "integer", "enum": []int{400}}, "error": str()}, "message", "error_code"),
	}
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// accessText says who may call an operation, for its description.
func accessText(method string, op apiOp) string {
	switch op.auth {
	case "client":
		need := "read"
		if method != "get" {
			need = "scim"
		}
		return "Callers: a regular application's token (its own users only: others are 404), an admin token, or an API token (its reach, and at least the " + need + " scope)."
	case "admin":
		return "Callers: an admin token (a management application's, or an API token with the admin scope)."
	case "user":
		return "Callers: an end user's access token only."
	}
	return "No token needed."
}

// openAPIDocument builds the OpenAPI document of the native API.
func (h *Handler) openAPIDocument() map[string]any {
	docs := make(map[string]apiOp, len(apiOps))
	for _, op := range apiOps {
		docs[op.id] = op
	}
	paths := map[string]any{}
	for _, rt := range h.routes() {
		op, ok := docs[rt.name]
		if !ok {
			continue // TestOpenAPICoversRoutes names it
		}
		method := strings.ToLower(rt.method)
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "description": pathParams[m[1]], "schema": str()})
		}
		for _, q := range op.query {
			p := map[string]any{"name": q, "in": "query", "required": false}
			for k, v := range queryParams[q] {
				p[k] = v
			}
			params = append(params, p)
		}
		o := map[string]any{"operationId": op.id, "summary": op.summary, "description": op.desc + "\n\n" + accessText(method, op), "tags": []string{op.tag}}
		if len(params) > 0 {
			o["parameters"] = params
		}
		switch op.auth {
		case "client":
			o["security"] = []any{map[string]any{"ClientAccessToken": []string{}}, map[string]any{"AdminAccessToken": []string{}}, map[string]any{"ApiToken": []string{}}}
		case "admin":
			o["security"] = []any{map[string]any{"AdminAccessToken": []string{}}, map[string]any{"ApiToken": []string{}}}
		case "user":
			o["security"] = []any{map[string]any{"UserAccessToken": []string{}}}
			if op.id == "addPasswordCredentialsToCurrentUser" {
				o["security"] = append(o["security"].([]any), map[string]any{"EnrolmentToken": []string{}})
			}
		default:
			o["security"] = []any{}
			if op.body == "form" {
				o["security"] = []any{map[string]any{}, map[string]any{"ClientSecretBasic": []string{}}}
			}
		}
		switch op.body {
		case "":
		case "form":
			o["requestBody"] = map[string]any{"required": true, "description": "client credentials (or HTTP Basic)",
				"content": map[string]any{"application/x-www-form-urlencoded": map[string]any{"schema": ref("TokenRequest")}}}
		default:
			o["requestBody"] = map[string]any{"required": op.body != "Verify", "description": strings.TrimSpace(op.summary),
				"content": map[string]any{"application/json": map[string]any{"schema": ref(op.body)}}}
		}
		responses := map[string]any{}
		success := map[string]any{"description": http.StatusText(op.status)}
		if op.result != "" {
			success["content"] = map[string]any{"application/json": map[string]any{"schema": ref(op.result)}}
		}
		responses[strconv.Itoa(op.status)] = success
		errs := op.errors
		if op.auth != "" {
			errs = append([]int{401}, errs...)
		}
		for _, code := range errs {
			schema := "Error"
			if code == 400 {
				schema = "BadRequestError"
			}
			responses[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code),
				"content": map[string]any{"application/json": map[string]any{"schema": ref(schema)}}}
		}
		responses["default"] = map[string]any{"description": "Any other error (405, 413, 415, 429, 500, 501, 503): the native error body",
			"content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
		o["responses"] = responses
		item[method] = o
	}
	bearer := func(desc string) map[string]any {
		return map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": desc}
	}
	tags := make([]any, len(apiTags))
	for i, t := range apiTags {
		tags[i] = map[string]any{"name": t[0], "description": t[1]}
	}
	return map[string]any{
		"openapi": OpenAPIVersion,
		"info": map[string]any{"title": "scimd native API", "version": "1",
			"description": "User management compatible with Transmit Security's user-management API (users, groups, applications, management applications, client-credential tokens), plus scimd's API tokens and audit log. scimd is the user directory and provisioning side only: authentication flows, sessions and multi-tenancy are out of scope (501). See docs/native-api.md."},
		"servers": []any{map[string]any{"url": h.public}},
		"tags":    tags,
		"paths":   paths,
		"components": map[string]any{
			"schemas": componentSchemas(),
			"securitySchemes": map[string]any{
				"ClientAccessToken": bearer("Client-credentials token of a regular application: reaches that application's users"),
				"AdminAccessToken":  bearer("Client-credentials token of a management application: reaches the whole tenant"),
				"UserAccessToken":   bearer("Token from end-user password login: reaches /cis/v1/users/me/... only"),
				"EnrolmentToken":    bearer("Short-lived token from issueEnrolmentToken: reaches POST /cis/v1/users/me/password-credentials only"),
				"ApiToken":          map[string]any{"type": "http", "scheme": "bearer", "description": "Long-lived scimd_… API token: unbound it reaches the whole tenant, bound (app_id) only its application's users; within that reach it may do what its scopes allow (read, scim — the default — or admin)"},
				"ClientSecretBasic": map[string]any{"type": "http", "scheme": "basic", "description": "client_id:client_secret at the token endpoint"},
			},
		},
	}
}

// openAPI serves GET /cis/openapi.json.
func (h *Handler) openAPI(w http.ResponseWriter, _ *http.Request, _ directory.Principal) error {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, h.openAPIDocument())
	return nil
}
