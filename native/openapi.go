package native

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/scimd/scimd/directory"
)

// apiOp describes one operation of the OpenAPI document. The document is
// written here, independently of the router, and TestOpenAPICoversRoutes
// fails when a registered route is missing from it.
type apiOp struct {
	method, path, id, summary, tag string
	auth                           string   // "client", "admin", "user" or "" (public)
	query                          []string // query parameter names (see queryParams)
	body                           string   // request body schema name, "form" or ""
	status                         int      // success status
	result                         string   // success schema name ("" for no body)
	errors                         []int
}

var apiOps = []apiOp{
	{"post", "/oidc/token", "getAccessToken", "Client-credentials token (form fields or HTTP Basic)", "Tokens", "", nil, "form", 200, "TokenResponse", []int{400, 401, 415}},
	{"get", "/oidc/jwks", "getJwks", "Public keys that verify access tokens", "Tokens", "", nil, "", 200, "JWKS", nil},
	{"get", "/.well-known/openid-configuration", "getOpenIDConfiguration", "Minimal OpenID provider configuration", "Tokens", "", nil, "", 200, "Object", nil},
	{"get", "/cis/openapi.json", "getOpenAPIDocument", "This document", "Tokens", "", nil, "", 200, "Object", nil},
	{"post", "/cis/v1/auth/password/login", "passwordLogin", "End-user password login; returns a user access token", "Login", "", nil, "PasswordLogin", 200, "TokenResponse", []int{400, 401, 403, 429}},
	{"post", "/cis/v1/auth/password/replace", "replaceTemporaryPassword", "Replace a temporary password and log in", "Login", "", nil, "PasswordReplace", 200, "TokenResponse", []int{400, 401, 403, 429}},
	{"post", "/cis/v1/users/me/password-credentials", "addPasswordCredentialsToCurrentUser", "The current user sets a first password", "Me", "user", nil, "OwnPassword", 200, "MessageResult", []int{400, 401, 403}},
	{"get", "/cis/v1/users/me/device-keys", "getDeviceKeysForTenant", "Device keys of the current user", "Me", "user", nil, "", 200, "DeviceKeysResult", []int{401, 403}},
	{"get", "/cis/v1/users/count", "getUsersCount", "Count users (optionally filtered)", "Users", "client", []string{"search", "search_prefix"}, "", 200, "UserCountResult", []int{400, 401, 403}},
	{"post", "/cis/v1/users/bulk", "bulkCreateUser", "Create many users (each element independently)", "Users", "client", nil, "BulkCreate", 201, "BulkResult", []int{400, 401, 403, 413, 415}},
	{"get", "/cis/v1/users/email/{email}", "getUserByEmail", "Get a user by primary email", "Users", "client", nil, "", 200, "UserResult", []int{400, 401, 403, 404}},
	{"get", "/cis/v1/users/external-user-id/{external_user_id}", "getUserByExternalUserId", "Get a user by external user id", "Users", "client", nil, "", 200, "UserResult", []int{400, 401, 403, 404}},
	{"get", "/cis/v1/users/username/{username}", "getUserByUsername", "Get a user by username", "Users", "client", nil, "", 200, "UserResult", []int{400, 401, 403, 404}},
	{"get", "/cis/v1/users/phone-number/{phone_number}", "getUserByPhone", "Get a user by primary phone number", "Users", "client", nil, "", 200, "UserResult", []int{400, 401, 403, 404}},
	{"get", "/cis/v1/users/phone/{phone_number}", "deprecatedGetUserByPhone", "Get a user by primary phone number (deprecated path)", "Users", "client", nil, "", 200, "UserResult", []int{400, 401, 403, 404}},
	{"get", "/cis/v1/users/identifier", "getUserByIdentifier", "Get a user by an identifier named in the query", "Users", "client", []string{"identifier_name", "identifier_value"}, "", 200, "UserResult", []int{400, 401, 403, 404}},
	{"post", "/cis/v1/users", "createUser", "Create a user", "Users", "client", nil, "UserCreate", 201, "UserResult", []int{400, 401, 403, 409, 413, 415}},
	{"get", "/cis/v1/users", "getUsers", "List or search users", "Users", "client", []string{"search", "search_prefix", "page_offset", "page_limit", "sort_field", "sort_order"}, "", 200, "UserList", []int{400, 401, 403}},
	{"get", "/cis/v1/users/{user_id}", "getUserById", "Get a user", "Users", "client", nil, "", 200, "UserResult", []int{401, 403, 404}},
	{"put", "/cis/v1/users/{user_id}", "updateUser", "Update a user (merge)", "Users", "client", nil, "UserUpdate", 200, "UserResult", []int{400, 401, 403, 404, 409, 413, 415}},
	{"get", "/cis/v1/users/{user_id}/groups", "getUserGroups", "Groups of a user", "Users", "client", nil, "", 200, "GroupListResult", []int{401, 403, 404}},
	{"delete", "/cis/v1/users/{user_id}/apps", "removeUserFromApp", "Detach the user from the calling application", "Users", "client", nil, "", 204, "", []int{401, 403, 404}},
	{"get", "/cis/v1/users/{user_id}/apps", "getUserApps", "Applications the user is assigned to (scimd addition)", "Users", "client", nil, "", 200, "UserAppsResult", []int{401, 403, 404}},
	{"delete", "/cis/v1/users/{user_id}/apps/{app_id}", "removeUserFromNamedApp", "Remove the user from a named application (admin; scimd addition)", "Users", "admin", nil, "", 204, "", []int{401, 403, 404}},
	{"put", "/cis/v1/users/{user_id}/apps/{app_id}", "assignUserToApp", "Assign an existing user to an application (admin; scimd addition)", "Users", "admin", nil, "", 204, "", []int{401, 403, 404}},
	{"post", "/cis/v1/users/{user_id}/password", "addPasswordCredential", "Give a user a first password", "Users", "client", nil, "PasswordCreate", 201, "MessageResult", []int{400, 401, 403, 404, 409}},
	{"put", "/cis/v1/users/{user_id}/password", "updatePasswordCredential", "Replace a user's password", "Users", "client", nil, "PasswordUpdate", 200, "MessageResult", []int{400, 401, 403, 404}},
	{"delete", "/cis/v1/users/{user_id}/emails/{email}", "removeUserSecondaryEmail", "Remove a secondary email", "Users", "client", nil, "", 204, "", []int{400, 401, 403, 404}},
	{"delete", "/cis/v1/users/{user_id}/phone-numbers/{phone_number}", "removeUserSecondaryPhoneNumber", "Remove a secondary phone number", "Users", "client", nil, "", 204, "", []int{400, 401, 403, 404}},
	{"post", "/cis/v1/users/{user_id}/emails/{email}/verify", "verifyUserEmail", "Mark an email verified, optionally make it primary", "Users", "client", nil, "Verify", 202, "", []int{400, 401, 403, 404, 409}},
	{"post", "/cis/v1/users/{user_id}/phone-numbers/{phone_number}/verify", "verifyUserPhoneNumber", "Mark a phone number verified, optionally make it primary", "Users", "client", nil, "Verify", 202, "", []int{400, 401, 403, 404, 409}},
	{"delete", "/cis/v1/manage/users/{user_id}", "deleteTenantUser", "Delete a user and all its data (admin)", "Users", "admin", nil, "", 204, "", []int{401, 403, 404}},
	{"post", "/cis/v1/groups", "createGroup", "Create a group", "Groups", "client", nil, "GroupInput", 201, "GroupResult", []int{400, 401, 403, 409}},
	{"get", "/cis/v1/groups", "getAllGroups", "List groups", "Groups", "client", []string{"page_offset", "page_limit"}, "", 200, "GroupList", []int{400, 401, 403}},
	{"get", "/cis/v1/groups/{group_id}", "getGroupByID", "Get a group", "Groups", "client", nil, "", 200, "GroupResult", []int{401, 403, 404}},
	{"put", "/cis/v1/groups/{group_id}", "updateGroup", "Update a group", "Groups", "client", nil, "GroupInput", 200, "GroupResult", []int{400, 401, 403, 404, 409}},
	{"delete", "/cis/v1/groups/{group_id}", "deleteGroup", "Delete a group (members stay)", "Groups", "client", nil, "", 204, "", []int{401, 403, 404}},
	{"post", "/cis/v1/groups/{group_id}/members", "assignUsers", "Add members", "Groups", "client", nil, "Members", 204, "", []int{400, 401, 403, 404}},
	{"get", "/cis/v1/groups/{group_id}/members", "getGroupUsers", "List members", "Groups", "client", []string{"page_offset", "page_limit"}, "", 200, "UserList", []int{400, 401, 403, 404}},
	{"delete", "/cis/v1/groups/{group_id}/members/{user_id}", "removeAssignment", "Remove a member", "Groups", "client", nil, "", 204, "", []int{401, 403, 404}},
	{"post", "/cis/v1/applications", "createApp", "Create an application (client secret returned once)", "Applications", "admin", nil, "AppInput", 201, "AppWithSecretResult", []int{400, 401, 403}},
	{"get", "/cis/v1/applications", "getAllApps", "List applications", "Applications", "client", nil, "", 200, "AppListResult", []int{401, 403}},
	{"get", "/cis/v1/applications/list", "getAppsList", "List applications (short form)", "Applications", "client", nil, "", 200, "AppListResult", []int{401, 403}},
	{"get", "/cis/v1/applications/{app_id}", "getAppById", "Get an application", "Applications", "client", nil, "", 200, "AppResult", []int{401, 403, 404}},
	{"put", "/cis/v1/applications/{app_id}", "updateApp", "Update an application", "Applications", "client", nil, "AppInput", 200, "AppResult", []int{400, 401, 403, 404}},
	{"delete", "/cis/v1/applications/{app_id}", "deleteApp", "Delete an application and its users' app data", "Applications", "admin", nil, "", 204, "", []int{401, 403, 404}},
	{"post", "/cis/v1/applications/{app_id}/client-secret", "rotateAppClientSecret", "Rotate the client secret (returned once)", "Applications", "admin", nil, "", 200, "SecretResult", []int{401, 403, 404}},
	{"post", "/cis/v1/management/applications", "createManagementApplication", "Create a management application", "Management applications", "admin", nil, "AppInput", 201, "AppWithSecretResult", []int{400, 401, 403}},
	{"get", "/cis/v1/management/applications", "getAllManagementApplications", "List management applications", "Management applications", "client", nil, "", 200, "AppListResult", []int{401, 403}},
	{"get", "/cis/v1/management/applications/{app_id}", "getManagementApplicationById", "Get a management application", "Management applications", "admin", nil, "", 200, "AppResult", []int{401, 403, 404}},
	{"put", "/cis/v1/management/applications/{app_id}", "updateManagementApplication", "Update a management application", "Management applications", "admin", nil, "AppInput", 200, "AppResult", []int{400, 401, 403, 404}},
	{"delete", "/cis/v1/management/applications/{app_id}", "deleteManagementApplication", "Delete a management application (not the last)", "Management applications", "admin", nil, "", 204, "", []int{400, 401, 403, 404}},
	{"post", "/cis/v1/management/applications/{app_id}/client-secret", "rotateManagementAppClientSecret", "Rotate the client secret (returned once)", "Management applications", "admin", nil, "", 200, "SecretResult", []int{401, 403, 404}},
	{"post", "/cis/v1/manage/api-tokens", "createApiToken", "Create an API token (returned once)", "API tokens", "admin", nil, "APITokenInput", 201, "APITokenResult", []int{400, 401, 403}},
	{"get", "/cis/v1/manage/api-tokens", "getApiTokens", "List API tokens (never the tokens)", "API tokens", "admin", nil, "", 200, "APITokenListResult", []int{401, 403}},
	{"delete", "/cis/v1/manage/api-tokens/{token_id}", "deleteApiToken", "Revoke an API token", "API tokens", "admin", nil, "", 204, "", []int{401, 403, 404}},
	{"get", "/cis/v1/manage/audit-events", "getAuditEvents", "Read audit events, newest first", "Audit", "admin", []string{"target_id", "actor_id", "action", "from", "to", "offset", "limit"}, "", 200, "EventList", []int{400, 401, 403}},
}

var queryParams = map[string]map[string]any{
	"identifier_name":  {"description": "Which identifier identifier_value is: email (primary), phone_number (primary), username, external_user_id or user_id", "required": true, "schema": map[string]any{"type": "string", "enum": []string{"email", "phone_number", "username", "external_user_id", "user_id"}}},
	"identifier_value": {"description": "The value of the identifier", "required": true, "schema": str()},
	"search":           {"description": "SCIM filter over native field names, e.g. (status eq \"Pending\") and (email sw \"ann\")", "schema": str()},
	"search_prefix":    {"description": "Prefix of the primary email or phone number", "schema": str()},
	"page_offset":      {"description": "Items to skip (default 0)", "schema": intSchema(0, 0)},
	"page_limit":       {"description": "Page size (default 1000; 0 returns only total_count)", "schema": intSchema(0, MaxPageLimit)},
	"sort_field":       {"description": "email, created_at (default), phone_number, last_auth or another native field", "schema": str()},
	"sort_order":       {"description": "asc (default) or desc", "schema": map[string]any{"type": "string", "enum": []string{"asc", "desc"}}},
	"target_id":        {"description": "Events about this resource id", "schema": str()},
	"actor_id":         {"description": "Events by this actor (client id, API token id or user id)", "schema": str()},
	"action":           {"description": "Events with this action, e.g. createUser", "schema": str()},
	"from":             {"description": "Events at or after this RFC 3339 time", "schema": map[string]any{"type": "string", "format": "date-time"}},
	"to":               {"description": "Events before this RFC 3339 time", "schema": map[string]any{"type": "string", "format": "date-time"}},
	"offset":           {"description": "Events to skip", "schema": intSchema(0, 0)},
	"limit":            {"description": "Page size (default 100)", "schema": intSchema(0, MaxAuditLimit)},
}

func str() map[string]any { return map[string]any{"type": "string"} }
func intSchema(min, max int) map[string]any {
	m := map[string]any{"type": "integer", "minimum": min}
	if max > 0 {
		m["maximum"] = max
	}
	return m
}
func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
func obj(props map[string]any, required ...string) map[string]any {
	m := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}
func arr(items any) map[string]any { return map[string]any{"type": "array", "items": items} }
func wrap(v any) map[string]any    { return obj(map[string]any{"result": v}, "result") }

// componentSchemas are the schemas the operations refer to. User and group
// objects are described loosely: their fields are those of Transmit's ApiUser
// and ApiGroup (see docs/native-api.md).
func componentSchemas() map[string]any {
	anyObj := map[string]any{"type": "object", "additionalProperties": true}
	dt := map[string]any{"type": "string", "format": "date-time"}
	ms := map[string]any{"type": "integer", "description": "epoch milliseconds"}
	user := obj(map[string]any{
		"user_id": str(), "status": map[string]any{"type": "string", "enum": []string{"Active", "Disabled", "Pending"}},
		"created_at": ms, "updated_at": ms, "email": anyObj, "secondary_emails": arr(anyObj), "phone_number": anyObj,
		"secondary_phone_numbers": arr(anyObj), "username": str(), "birthday": str(), "address": anyObj, "name": anyObj,
		"status_changed_at": dt, "last_auth": dt, "external_account_id": str(), "app_name": str(), "custom_app_data": anyObj,
		"groupIds": arr(str()), "app_ids": arr(str()), "picture": str(), "language": str(), "custom_data": anyObj, "external_user_id": str(),
		"password_information": anyObj,
	}, "user_id", "status", "created_at", "updated_at")
	userInput := obj(map[string]any{
		"email": str(), "phone_number": str(), "username": str(), "secondary_emails": arr(str()), "secondary_phone_numbers": arr(str()),
		"birthday": str(), "address": anyObj, "name": anyObj, "external_account_id": str(), "custom_app_data": anyObj, "picture": str(),
		"language": str(), "custom_data": anyObj, "external_user_id": str(),
	})
	create := obj(map[string]any{})
	create["allOf"] = []any{userInput, obj(map[string]any{"app_ids": arr(str()), "credentials": obj(map[string]any{"password": str(), "force_replace": map[string]any{"type": "boolean", "default": true}}, "password")})}
	update := obj(map[string]any{})
	update["allOf"] = []any{userInput, obj(map[string]any{"status": map[string]any{"type": "string", "enum": []string{"Active", "Disabled", "Pending"}}})}
	group := obj(map[string]any{"group_id": str(), "name": str(), "description": str(), "custom_data": anyObj, "created_at": ms, "updated_at": ms}, "group_id", "name", "created_at", "updated_at")
	app := obj(map[string]any{"app_id": str(), "tenant_id": str(), "app_name": str(), "app_description": str(), "client_id": str(),
		"login_uri": str(), "redirect_uris": arr(str()), "allow_public_signup": map[string]any{"type": "boolean"}, "created_at": dt, "updated_at": dt}, "app_id", "app_name")
	scopes := map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": directory.Scopes}, "minItems": 1, "uniqueItems": true,
		"description": "read: read users and groups; scim: provision users and groups (read and write); admin: everything the token's reach allows, incl. applications, API tokens and audit"}
	apiToken := obj(map[string]any{"token_id": str(), "description": str(), "app_id": str(), "scopes": scopes, "created_at": dt, "expires_at": dt, "last_used_at": dt, "created_by": str()})
	pageInfo := obj(map[string]any{"has_next_page": map[string]any{"type": "boolean"}, "has_previous_page": map[string]any{"type": "boolean"}}, "has_next_page", "has_previous_page")
	return map[string]any{
		"Object":     anyObj,
		"User":       user,
		"Group":      group,
		"App":        app,
		"UserCreate": create, "UserUpdate": update,
		"BulkCreate": arr(ref("UserCreate")),
		"BulkResult": wrap(obj(map[string]any{"total_count": intSchema(0, 0), "created_count": intSchema(0, 0), "failed_count": intSchema(0, 0),
			"results": arr(obj(map[string]any{"index": intSchema(0, 0), "status": intSchema(0, 0), "user": ref("User"), "error": ref("Error")}))})),
		"UserResult":      wrap(ref("User")),
		"UserAppsResult":  wrap(arr(obj(map[string]any{"app_id": str(), "app_name": str(), "assigned_at": dt, "last_login": dt}, "app_id", "app_name", "assigned_at"))),
		"UserList":        obj(map[string]any{"total_count": intSchema(0, 0), "page_info": pageInfo, "result": arr(ref("User"))}, "total_count", "page_info", "result"),
		"UserCountResult": wrap(obj(map[string]any{"user_count": intSchema(0, 0)}, "user_count")),
		"GroupInput":      obj(map[string]any{"name": str(), "description": str(), "custom_data": anyObj}),
		"GroupResult":     wrap(ref("Group")),
		"GroupListResult": wrap(arr(ref("Group"))),
		"GroupList":       obj(map[string]any{"total_count": intSchema(0, 0), "page_info": pageInfo, "result": arr(ref("Group"))}, "total_count", "page_info", "result"),
		"Members":         obj(map[string]any{"user_ids": arr(str())}, "user_ids"),
		"Verify":          obj(map[string]any{"change_to_primary": map[string]any{"type": "boolean", "default": false}}),
		"PasswordCreate": obj(map[string]any{"password": str(), "force_replace": map[string]any{"type": "boolean", "default": true},
			"username": str(), "enforce_complexity": map[string]any{"type": "boolean"}}, "password"),
		"PasswordUpdate":   obj(map[string]any{"password": str(), "force_replace": map[string]any{"type": "boolean", "default": true}}, "password"),
		"OwnPassword":      obj(map[string]any{"password": str(), "username": str()}, "password"),
		"PasswordLogin":    obj(map[string]any{"client_id": str(), "username": str(), "email": str(), "password": str()}, "client_id", "password"),
		"PasswordReplace":  obj(map[string]any{"client_id": str(), "username": str(), "email": str(), "password": str(), "new_password": str()}, "client_id", "password", "new_password"),
		"MessageResult":    wrap(obj(map[string]any{"message": str()})),
		"DeviceKeysResult": wrap(arr(anyObj)),
		"AppInput": obj(map[string]any{"app_name": str(), "app_description": str(), "login_uri": str(), "redirect_uris": arr(str()),
			"allow_public_signup": map[string]any{"type": "boolean"}}),
		"AppResult":           wrap(ref("App")),
		"AppListResult":       wrap(arr(ref("App"))),
		"AppWithSecretResult": wrap(map[string]any{"allOf": []any{ref("App"), obj(map[string]any{"client_secret": str()})}}),
		"SecretResult":        wrap(obj(map[string]any{"app_id": str(), "client_id": str(), "client_secret": str()})),
		"APITokenInput":       obj(map[string]any{"description": str(), "app_id": str(), "scopes": scopes, "expires_at": dt}),
		"APITokenResult":      wrap(map[string]any{"allOf": []any{apiToken, obj(map[string]any{"token": str()})}}),
		"APITokenListResult":  wrap(arr(apiToken)),
		"EventList": obj(map[string]any{"total_count": intSchema(0, 0), "page_info": pageInfo, "result": arr(obj(map[string]any{
			"event_id": str(), "timestamp": dt, "activity": str(), "actor_id": str(), "actor_type": str(), "target_resource_id": str(),
			"target_resource_type": str(), "ip": str(), "user_agent": str(), "changes": anyObj, "damaged": str()}))}),
		"TokenResponse": obj(map[string]any{"access_token": str(), "token_type": str(), "expires_in": intSchema(0, 0), "scope": str()},
			"access_token", "token_type", "expires_in", "scope"),
		"TokenRequest": obj(map[string]any{"grant_type": map[string]any{"type": "string", "enum": []string{"client_credentials"}},
			"client_id": str(), "client_secret": str(), "resource": str()}, "grant_type"),
		"JWKS":            obj(map[string]any{"keys": arr(anyObj)}, "keys"),
		"Error":           obj(map[string]any{"message": str(), "error_code": intSchema(0, 0), "error": str()}, "message", "error_code"),
		"BadRequestError": obj(map[string]any{"message": arr(str()), "error_code": map[string]any{"type": "integer", "const": 400}, "error": str()}, "message", "error_code"),
	}
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPIDocument builds the OpenAPI 3.1 document of the native API.
func (h *Handler) openAPIDocument() map[string]any {
	paths := map[string]any{}
	for _, op := range apiOps {
		item, _ := paths[op.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.path] = item
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": str()})
		}
		for _, q := range op.query {
			p := map[string]any{"name": q, "in": "query", "required": false}
			for k, v := range queryParams[q] {
				p[k] = v
			}
			params = append(params, p)
		}
		o := map[string]any{"operationId": op.id, "summary": op.summary, "tags": []string{op.tag}}
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
		default:
			o["security"] = []any{}
			if op.body == "form" {
				o["security"] = []any{map[string]any{}, map[string]any{"ClientSecretBasic": []string{}}}
			}
		}
		switch op.body {
		case "":
		case "form":
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/x-www-form-urlencoded": map[string]any{"schema": ref("TokenRequest")}}}
		default:
			o["requestBody"] = map[string]any{"required": op.body != "Verify", "content": map[string]any{"application/json": map[string]any{"schema": ref(op.body)}}}
		}
		responses := map[string]any{}
		success := map[string]any{"description": http.StatusText(op.status)}
		if op.result != "" {
			success["content"] = map[string]any{"application/json": map[string]any{"schema": ref(op.result)}}
		}
		responses[strconv.Itoa(op.status)] = success
		errs := append([]int{500}, op.errors...)
		if op.auth != "" || op.path == "/oidc/token" {
			errs = append(errs, 405)
		}
		for _, code := range errs {
			schema := "Error"
			if code == 400 {
				schema = "BadRequestError"
			}
			responses[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code),
				"content": map[string]any{"application/json": map[string]any{"schema": ref(schema)}}}
		}
		o["responses"] = responses
		item[op.method] = o
	}
	bearer := func(desc string) map[string]any {
		return map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": desc}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "scimd native API", "version": "1",
			"description": "User management compatible with Transmit Security's API. See docs/native-api.md."},
		"servers": []any{map[string]any{"url": h.public}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": componentSchemas(),
			"securitySchemes": map[string]any{
				"ClientAccessToken": bearer("Client-credentials token of a regular application: reaches that application's users"),
				"AdminAccessToken":  bearer("Client-credentials token of a management application: reaches the whole tenant"),
				"UserAccessToken":   bearer("Token from end-user password login: reaches /cis/v1/users/me/... only"),
				"ApiToken":          map[string]any{"type": "http", "scheme": "bearer", "description": "Long-lived scimd_… API token: unbound it reaches the whole tenant, bound (app_id) only its application's users; within that reach it may do what its scopes allow (default scim)"},
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
