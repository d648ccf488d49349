package schemas

import "time"

// ResourceType says which kind of document a filter or path applies to.
type ResourceType int

// Resource types.
const (
	// UserResource: paths resolve through the User catalog.
	UserResource ResourceType = iota
	// GroupResource: paths resolve through the Group catalog.
	GroupResource
)

// String returns "User" or "Group".
func (r ResourceType) String() string {
	if r == GroupResource {
		return "Group"
	}
	return "User"
}

// Dialect says which attribute names a filter or path uses.
type Dialect int

// Dialects.
const (
	// SCIMDialect: SCIM attribute names (case-insensitive, optionally prefixed
	// with their schema URN), as in a SCIM `filter` or `sortBy` parameter.
	SCIMDialect Dialect = iota
	// NativeDialect: the native REST API's field names (`email`,
	// `name.first_name`, `custom_data.tier`, …), as in its `search` parameter.
	NativeDialect
)

// ParseOptions tells [ParseFilter] and [ParsePath] how to resolve attribute names.
type ParseOptions struct {
	Resource ResourceType
	Dialect  Dialect
	// AppID is the calling application. It scopes the app-level attributes
	// (native custom_app_data.* and external_account_id, the SCIM CustomAppData
	// extension). When it is empty those attributes are an error.
	AppID string
	// Now is the time the filter's time-dependent attributes are read at
	// (passwordInformation.expired): the caller passes its clock (the
	// directory's, directory.Service.Now), since schemas reads none of its
	// own. It is copied into the resolved Path (Path.Now).
	Now time.Time
}

// FilterError is an invalid filter or attribute path: a syntax error, an
// unknown attribute, or an operator or value that does not fit the attribute.
// SCIM answers it with 400 invalidFilter.
type FilterError struct {
	// Expr is the filter or path as given.
	Expr string
	// Reason is a user-facing explanation, e.g. `unknown attribute "foo"`.
	Reason string
}

// Error returns the user-facing reason.
func (e *FilterError) Error() string { return e.Reason }
