package schemas

import (
	"encoding/json"
	"time"
)

// User statuses (native `status`; SCIM `active` is true for Active and Pending).
// The catalog's status attribute lists them (CanonicalValues): the native
// field's values and the directory's validation read that list.
const (
	StatusPending  = "Pending"
	StatusActive   = "Active"
	StatusDisabled = "Disabled"
)

// User is the canonical user document. Both API faces are projections of it.
//
// Multi-valued SCIM attributes are kept whole so an identity provider's data
// round-trips unchanged. The native view derives from the same fields: the
// native `email` is the primary element of Emails, `secondary_emails` the others;
// `name.first_name` is Name.GivenName; `external_user_id` is ExternalID.
//
// Times are UTC. Version increases by one on every write and is the basis of the
// SCIM ETag and of compare-and-swap updates.
type User struct {
	ID       string
	Version  int64
	UserName string // SCIM userName, native username; unique, case-insensitive
	// ExternalID is SCIM externalId and native external_user_id; unique, case-exact.
	ExternalID string

	Name              Name
	DisplayName       string
	NickName          string
	ProfileURL        string
	Title             string
	UserType          string
	PreferredLanguage string // native `language`
	Locale            string
	Timezone          string
	Birthday          string // native `birthday`, YYYY-MM-DD

	Emails           []Email // the primary one is the native `email`
	PhoneNumbers     []PhoneNumber
	IMs              []MultiValue
	Photos           []MultiValue // photos[0] (or the primary) is the native `picture`
	Addresses        []Address    // the primary (or first) is the native `address`
	Entitlements     []MultiValue
	Roles            []MultiValue
	X509Certificates []MultiValue

	Enterprise *EnterpriseUser // urn:ietf:params:scim:schemas:extension:enterprise:2.0:User

	Status          string // StatusPending, StatusActive or StatusDisabled
	StatusChangedAt time.Time

	// CustomData is the tenant-level free-form JSON object (native custom_data).
	CustomData map[string]any
	// Apps holds the per-application data, keyed by application id. A user is
	// assigned to an application exactly when it has an entry here.
	Apps map[string]*AppLink
	// GroupIDs are the ids of the groups the user is a direct member of.
	// Membership is stored on the member so that large groups cost nothing to read.
	GroupIDs []string

	Password   *PasswordCredential // nil when the user has no password
	DeviceKeys []DeviceKey

	Created  time.Time
	Updated  time.Time
	LastAuth time.Time // zero when the user never authenticated
}

// Name is the SCIM name complex attribute.
type Name struct {
	Formatted       string
	FamilyName      string // native name.last_name
	GivenName       string // native name.first_name
	MiddleName      string // native name.middle_name
	HonorificPrefix string // native name.title
	HonorificSuffix string
}

// IsZero reports whether no component of the name is set.
func (n Name) IsZero() bool { return n == Name{} }

// Email is one element of the SCIM emails attribute, with the native verification state.
type Email struct {
	Value      string
	Type       string
	Primary    bool
	Display    string
	Verified   bool
	VerifiedAt time.Time
}

// PhoneNumber is one element of the SCIM phoneNumbers attribute, with the
// native verification state: the fields of an Email.
type PhoneNumber Email

// MultiValue is an element of a generic multi-valued SCIM attribute
// (ims, photos, entitlements, roles, x509Certificates).
type MultiValue struct {
	Value   string
	Type    string
	Primary bool
	Display string
}

// Address is one element of the SCIM addresses attribute (the native address is
// the primary or first element).
type Address struct {
	Formatted     string
	StreetAddress string // native street_address
	Locality      string // native city
	Region        string // native state
	PostalCode    string // native postal_code
	Country       string // native country
	Type          string // SCIM work/home/other; native Work/Home/Other
	Primary       bool
	Updated       time.Time // native address.updated_at
}

// EnterpriseUser is the SCIM enterprise user extension.
type EnterpriseUser struct {
	EmployeeNumber string
	CostCenter     string
	Organization   string
	Division       string
	Department     string
	Manager        *Manager
}

// Manager is the enterprise extension's manager reference.
type Manager struct {
	Value       string // the manager's user id
	Ref         string
	DisplayName string
}

// AppLink is what a user holds for one application: the assignment and the
// application-level data that only that application (or an admin) sees.
type AppLink struct {
	ExternalAccountID string
	CustomAppData     map[string]any
	AssignedAt        time.Time
	LastLogin         time.Time
}

// PasswordCredential is a user's password, stored as a hash only.
type PasswordCredential struct {
	Hash      string // PHC-formatted hash (argon2id or bcrypt)
	Temporary bool   // must be replaced at the next login
	Updated   time.Time
	Expires   time.Time // zero: never
}

// DeviceKey is a device-bound key registered by the user.
type DeviceKey struct {
	KeyID       string
	DisplayName string
	Status      string // Active, Blocked, Suspended
	PublicKey   string
	CustomData  map[string]any
	PushConfig  *PushConfig
	Created     time.Time
	Updated     time.Time
}

// PushConfig is the push-notification configuration of a device key.
type PushConfig struct {
	DeviceToken string
	Type        string // FCM or APN
}

// PrimaryEmail returns the primary email, or the only email when there is one
// and none is flagged; ok is false when the user has no primary email.
func (u *User) PrimaryEmail() (e *Email, ok bool) {
	return primaryOf(u.Emails, func(e *Email) bool { return e.Primary })
}

// PrimaryPhone returns the primary phone number, or the only one when there is one
// and none is flagged; ok is false when the user has no primary phone number.
func (u *User) PrimaryPhone() (p *PhoneNumber, ok bool) {
	return primaryOf(u.PhoneNumbers, func(p *PhoneNumber) bool { return p.Primary })
}

// primaryOf returns the first element flagged primary, else the only element.
func primaryOf[T any](list []T, primary func(*T) bool) (*T, bool) {
	for i := range list {
		if primary(&list[i]) {
			return &list[i], true
		}
	}
	if len(list) == 1 {
		return &list[0], true
	}
	return nil, false
}

// Active reports the SCIM `active` value: true unless the user is disabled.
func (u *User) Active() bool { return u.Status != StatusDisabled }

// InGroup reports whether the user is a direct member of the group.
func (u *User) InGroup(groupID string) bool {
	for _, g := range u.GroupIDs {
		if g == groupID {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of u, so that an updater can change it freely.
func (u *User) Clone() *User {
	if u == nil {
		return nil
	}
	c := new(User)
	u.CloneInto(c)
	return c
}

// CloneInto makes *dst a deep copy of u, as Clone, in memory the caller
// holds.
func (u *User) CloneInto(dst *User) {
	// A JSON round trip would lose the distinction between int and float in
	// custom data; copy field by field instead.
	c := dst
	*c = *u
	c.Emails = append([]Email(nil), u.Emails...)
	c.PhoneNumbers = append([]PhoneNumber(nil), u.PhoneNumbers...)
	c.IMs = append([]MultiValue(nil), u.IMs...)
	c.Photos = append([]MultiValue(nil), u.Photos...)
	c.Addresses = append([]Address(nil), u.Addresses...)
	c.Entitlements = append([]MultiValue(nil), u.Entitlements...)
	c.Roles = append([]MultiValue(nil), u.Roles...)
	c.X509Certificates = append([]MultiValue(nil), u.X509Certificates...)
	if u.Enterprise != nil {
		e := *u.Enterprise
		if e.Manager != nil {
			m := *e.Manager
			e.Manager = &m
		}
		c.Enterprise = &e
	}
	c.CustomData = CloneJSONObject(u.CustomData)
	if u.Apps != nil {
		c.Apps = make(map[string]*AppLink, len(u.Apps))
		for id, a := range u.Apps {
			ac := *a
			ac.CustomAppData = CloneJSONObject(a.CustomAppData)
			c.Apps[id] = &ac
		}
	}
	c.GroupIDs = append([]string(nil), u.GroupIDs...)
	if u.Password != nil {
		p := *u.Password
		c.Password = &p
	}
	if u.DeviceKeys != nil {
		c.DeviceKeys = make([]DeviceKey, len(u.DeviceKeys))
		for i, k := range u.DeviceKeys {
			k.CustomData = CloneJSONObject(k.CustomData)
			if k.PushConfig != nil {
				pc := *k.PushConfig
				k.PushConfig = &pc
			}
			c.DeviceKeys[i] = k
		}
	}
}

// CloneJSONObject deep-copies a decoded JSON object (maps, slices and scalars).
func CloneJSONObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneJSON(v)
	}
	return c
}

func cloneJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return CloneJSONObject(t)
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = cloneJSON(e)
		}
		return c
	case json.RawMessage:
		return append(json.RawMessage(nil), t...)
	default:
		return v
	}
}
