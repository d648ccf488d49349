package schemas

// Type is a SCIM attribute data type (RFC 7643 §2.3), plus JSON for free-form objects.
type Type string

// Attribute types.
const (
	TypeString    Type = "string"
	TypeBoolean   Type = "boolean"
	TypeDecimal   Type = "decimal"
	TypeInteger   Type = "integer"
	TypeDateTime  Type = "dateTime"
	TypeBinary    Type = "binary"
	TypeReference Type = "reference"
	TypeComplex   Type = "complex"
	// TypeJSON is a free-form JSON object (custom_data, custom_app_data) whose
	// nested keys may be addressed by path.
	TypeJSON Type = "json"
)

// Mutability is the RFC 7643 §7 mutability characteristic.
type Mutability string

// Mutabilities.
const (
	ReadOnly  Mutability = "readOnly"
	ReadWrite Mutability = "readWrite"
	Immutable Mutability = "immutable"
	WriteOnly Mutability = "writeOnly"
)

// Returned is the RFC 7643 §7 returned characteristic.
type Returned string

// Returned values.
const (
	ReturnedAlways  Returned = "always"
	ReturnedNever   Returned = "never"
	ReturnedDefault Returned = "default"
	ReturnedRequest Returned = "request"
)

// Uniqueness is the RFC 7643 §7 uniqueness characteristic.
type Uniqueness string

// Uniqueness values.
const (
	UniqueNone   Uniqueness = "none"
	UniqueServer Uniqueness = "server"
	UniqueGlobal Uniqueness = "global"
)

// Attribute is one entry of the attribute catalog: an attribute of a SCIM schema,
// a native field, or both, with the canonical path it maps to and its
// characteristics. Catalog entries are created once by this package and never
// changed; compare them by pointer.
type Attribute struct {
	// Name is the SCIM attribute name ("givenName" for name.givenName), or the
	// native field name when the attribute has no SCIM form.
	Name string
	// SchemaURN is the SCIM schema the attribute belongs to ("" for native-only fields).
	SchemaURN string
	// Canonical is the canonical path, the same whichever face names the
	// attribute: "userName", "name.givenName", "emails", "emails.value",
	// "customData". Storage backends key their push-down on it.
	Canonical   string
	Type        Type
	MultiValued bool
	CaseExact   bool
	Required    bool
	Mutability  Mutability
	Returned    Returned
	Uniqueness  Uniqueness
	// CanonicalValues lists suggested values (e.g. "work", "home").
	CanonicalValues []string
	// ReferenceTypes lists the resource types a reference attribute may point to.
	ReferenceTypes []string
	Description    string
	// SubAttributes are the sub-attributes of a complex attribute.
	SubAttributes []*Attribute

	// acc reads the attribute's values from a document (see accessor.go).
	acc accessor
}
