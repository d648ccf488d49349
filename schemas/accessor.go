package schemas

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
)

// An accessor says how a catalog attribute's values are read from a document.
// It is plain data (two small enums and two pointers) interpreted by the static
// functions below rather than a func value, so that the yield callbacks the
// evaluator passes down do not escape and evaluating a filter allocates nothing.
//
// A top-level attribute reads its values from the root document (*User or
// *Group). A sub-attribute reads from one element of its parent, and the parent's
// elems enumerate those elements (*Email, *Name, *AppLink, …). A complex
// attribute with a "value" sub-attribute yields that sub-attribute's values
// when compared as a whole (`emails co "@x"`).
type accessor struct {
	field    field      // the value this attribute reads; fNone for complex attributes
	elems    elems      // for complex attributes: how to enumerate the elements
	parent   *Attribute // for sub-attributes: the complex attribute whose elements hold them
	valueSub *Attribute // for complex attributes: the "value" sub-attribute, if any
	keyed    bool       // a JSON attribute: Path.Keys select nested values
	noFilter string     // non-empty: why the attribute cannot be filtered or sorted on
	internal bool       // not part of any SCIM schema (native-only or scimd-internal)
	millis   bool       // a dateTime rendered as epoch milliseconds in SCIM too
}

// field names one readable value.
type field uint8

const (
	fNone field = iota
	// root fields (User and, where it makes sense, Group)
	fID
	fUserName
	fExternalID
	fDisplayName
	fNickName
	fProfileURL
	fTitle
	fUserType
	fPreferredLanguage
	fLocale
	fTimezone
	fBirthday
	fActive
	fStatus
	fStatusChangedAt
	fLastAuth
	fCreated
	fUpdated
	fResourceType
	fVersion
	fPrimaryEmail
	fPrimaryPhone
	fPicture
	fGroups
	fCustomData
	fDescription
	fEmployeeNumber
	fCostCenter
	fOrganization
	fDivision
	fDepartment
	// element fields
	fValue // Email, PhoneNumber, MultiValue, Manager, group id (*string)
	fType
	fPrimary
	fDisplay
	fVerified
	fVerifiedAt
	fFormatted // Name, Address
	fFamilyName
	fGivenName
	fMiddleName
	fHonorificPrefix
	fHonorificSuffix
	fStreetAddress
	fLocality
	fRegion
	fPostalCode
	fCountry
	fRef
	fManagerDisplayName
	fPwdExpired
	fPwdTemporary
	fPwdUpdated
	fPwdExpires
	fExternalAccountID
	fCustomAppData
	// derived root fields of the native view
	fPrimaryEmailVerified
	fPrimaryEmailVerifiedAt
	fPrimaryPhoneVerified
	fPrimaryPhoneVerifiedAt
	// render-only fields: computed from the rendering context (base URL)
	fLocation // meta.location
	fGroupRef // groups.$ref
)

// elems names how a complex attribute's elements are enumerated.
type elems uint8

const (
	eNone elems = iota
	eName
	eEmails
	ePhones
	eIMs
	ePhotos
	eAddresses
	eEntitlements
	eRoles
	eX509
	eGroups
	eManager
	ePrimaryAddress
	ePassword
	eApp
	eMeta
	eSecondaryEmails // the non-primary elements of Emails
	eSecondaryPhones // the non-primary elements of PhoneNumbers
)

func yieldStr(s string, yield func(Value) bool) bool {
	if s == "" {
		return true
	}
	return yield(Value{Kind: KindString, Str: s})
}

func yieldTime(t time.Time, yield func(Value) bool) bool {
	if t.IsZero() {
		return true
	}
	return yield(Value{Kind: KindTime, Time: t})
}

func yieldBool(b bool, yield func(Value) bool) bool {
	return yield(Value{Kind: KindBool, Bool: b})
}

// eachValue yields every value of p on doc (a *User or *Group): for a
// sub-attribute, its value in each element of the parent; for a complex
// attribute with a "value" sub-attribute, those values.
func eachValue(doc any, p *Path, yield func(Value) bool) bool {
	a := p.Attr
	if a == nil {
		return true
	}
	if par := a.acc.parent; par != nil {
		return readElems(doc, par, p, func(e any) bool { return readValues(e, a, p, yield) })
	}
	if vs := a.acc.valueSub; vs != nil {
		return readElems(doc, a, p, func(e any) bool { return readValues(e, vs, p, yield) })
	}
	return readValues(doc, a, p, yield)
}

// present reports whether p has a non-empty value on doc (the `pr` operator).
func present(doc any, p *Path) bool {
	a := p.Attr
	if a == nil {
		return false
	}
	if a.acc.parent == nil && a.acc.valueSub == nil && a.acc.elems != eNone {
		found := false
		readElems(doc, a, p, func(any) bool { found = true; return false })
		return found
	}
	if a.acc.keyed {
		found := false
		eachJSONRoot(doc, p, func(m map[string]any) bool {
			found = jsonPresent(m, p.Keys)
			return !found
		})
		return found
	}
	found := false
	eachValue(doc, p, func(v Value) bool {
		found = v.Kind != KindNull && (v.Kind != KindString || v.Str != "")
		return !found
	})
	return found
}

// eachJSONRoot yields the JSON object(s) a keyed attribute reads from.
func eachJSONRoot(doc any, p *Path, yield func(map[string]any) bool) bool {
	a := p.Attr
	if par := a.acc.parent; par != nil {
		return readElems(doc, par, p, func(e any) bool {
			if l, ok := e.(*AppLink); ok && a.acc.field == fCustomAppData {
				return yield(l.CustomAppData)
			}
			return true
		})
	}
	switch d := doc.(type) {
	case *User:
		return yield(d.CustomData)
	case *Group:
		return yield(d.CustomData)
	}
	return true
}

// jsonData returns the free-form object a JSON attribute reads (nil when absent).
func jsonData(doc any, a *Attribute, appID string) map[string]any {
	var data map[string]any
	eachJSONRoot(doc, &Path{Attr: a, AppID: appID}, func(m map[string]any) bool {
		data = m
		return false
	})
	return data
}

// readElems yields the elements of the complex attribute a on doc.
func readElems(doc any, a *Attribute, p *Path, yield func(any) bool) bool {
	switch a.acc.elems {
	case eNone:
		return true
	case eMeta: // meta's sub-attributes are fields of the root document
		return yield(doc)
	}
	u, ok := doc.(*User)
	if !ok || u == nil {
		return true
	}
	switch a.acc.elems {
	case eName:
		if u.Name.IsZero() {
			return true
		}
		return yield(&u.Name)
	case eEmails:
		return yieldEach(u.Emails, nil, yield)
	case ePhones:
		return yieldEach(u.PhoneNumbers, nil, yield)
	case eIMs:
		return yieldEach(u.IMs, nil, yield)
	case ePhotos:
		return yieldEach(u.Photos, nil, yield)
	case eEntitlements:
		return yieldEach(u.Entitlements, nil, yield)
	case eRoles:
		return yieldEach(u.Roles, nil, yield)
	case eX509:
		return yieldEach(u.X509Certificates, nil, yield)
	case eAddresses:
		return yieldEach(u.Addresses, nil, yield)
	case eSecondaryEmails:
		prim, _ := u.PrimaryEmail()
		return yieldEach(u.Emails, prim, yield)
	case eSecondaryPhones:
		prim, _ := u.PrimaryPhone()
		return yieldEach(u.PhoneNumbers, prim, yield)
	case eGroups:
		return yieldEach(u.GroupIDs, nil, yield)
	case eManager:
		if u.Enterprise != nil && u.Enterprise.Manager != nil && *u.Enterprise.Manager != (Manager{}) {
			return yield(u.Enterprise.Manager)
		}
	case ePrimaryAddress:
		if ad := u.primaryAddress(); ad != nil {
			return yield(ad)
		}
	case ePassword:
		if u.Password != nil {
			return yield(u.Password)
		}
	case eApp:
		if p.AppID == "" {
			return true
		}
		if l := u.Apps[p.AppID]; l != nil {
			return yield(l)
		}
	}
	return true
}

// yieldEach yields a pointer to each element of list but skip (nil: none).
func yieldEach[T any](list []T, skip *T, yield func(any) bool) bool {
	for i := range list {
		if &list[i] != skip && !yield(&list[i]) {
			return false
		}
	}
	return true
}

// primaryAddress is the native `address`: the primary address, else the first.
func (u *User) primaryAddress() *Address {
	for i := range u.Addresses {
		if u.Addresses[i].Primary {
			return &u.Addresses[i]
		}
	}
	if len(u.Addresses) > 0 {
		return &u.Addresses[0]
	}
	return nil
}

// picture is the native `picture`: the primary photo's value, else the first's.
func (u *User) picture() string {
	for i := range u.Photos {
		if u.Photos[i].Primary {
			return u.Photos[i].Value
		}
	}
	if len(u.Photos) > 0 {
		return u.Photos[0].Value
	}
	return ""
}

// readValues yields the values of attribute a read from doc, which is a root
// document for a top-level attribute or an element for a sub-attribute.
func readValues(doc any, a *Attribute, p *Path, yield func(Value) bool) bool {
	switch d := doc.(type) {
	case *User:
		return userValues(d, a.acc.field, p, yield)
	case *Group:
		return groupValues(d, a.acc.field, p, yield)
	}
	return elemValues(doc, a.acc.field, p, yield)
}

// userValues yields the values of the root field f of u: the derived fields
// here, the stored ones through slot.
// yieldPrimaryContact yields the value, verified flag or verification time of
// the user's primary email or phone number, as f says; nothing when there is none.
func yieldPrimaryContact(u *User, f field, yield func(Value) bool) bool {
	var c *Email
	var ok bool
	switch f {
	case fPrimaryEmail, fPrimaryEmailVerified, fPrimaryEmailVerifiedAt:
		c, ok = u.PrimaryEmail()
	default:
		var ph *PhoneNumber
		ph, ok = u.PrimaryPhone()
		c = (*Email)(ph)
	}
	if !ok {
		return true
	}
	switch f {
	case fPrimaryEmail, fPrimaryPhone:
		return yieldStr(c.Value, yield)
	case fPrimaryEmailVerified, fPrimaryPhoneVerified:
		return yieldBool(c.Verified, yield)
	default:
		return yieldTime(c.VerifiedAt, yield)
	}
}

func userValues(u *User, f field, p *Path, yield func(Value) bool) bool {
	switch f {
	case fActive:
		return yieldBool(u.Active(), yield)
	case fResourceType:
		return yieldStr("User", yield)
	case fVersion:
		return yieldVersion(u.Version, yield)
	case fPrimaryEmail, fPrimaryEmailVerified, fPrimaryEmailVerifiedAt,
		fPrimaryPhone, fPrimaryPhoneVerified, fPrimaryPhoneVerifiedAt:
		return yieldPrimaryContact(u, f, yield)
	case fPicture:
		return yieldStr(u.picture(), yield)
	case fGroups:
		for _, g := range u.GroupIDs {
			if !yieldStr(g, yield) {
				return false
			}
		}
		return true
	}
	return yieldSlot(slot(u, f, false), p, yield)
}

func yieldVersion(v int64, yield func(Value) bool) bool {
	if v == 0 {
		return true
	}
	return yield(Value{Kind: KindString, Str: ETag(v)})
}

// ETag renders a document version as the weak entity tag W/"<version>" used
// for SCIM meta.version and the ETag header. It is built in a stack buffer:
// one allocation, the string (a concatenation with strconv.FormatInt is two
// once the version passes 99).
func ETag(version int64) string {
	var b [24]byte // W/" + 20 digits and a sign + "
	return string(append(strconv.AppendInt(append(b[:0], `W/"`...), version, 10), '"'))
}

func groupValues(g *Group, f field, p *Path, yield func(Value) bool) bool {
	switch f {
	case fResourceType:
		return yieldStr("Group", yield)
	case fVersion:
		return yieldVersion(g.Version, yield)
	}
	return yieldSlot(slot(g, f, false), p, yield)
}

func elemValues(elem any, f field, p *Path, yield func(Value) bool) bool {
	if pw, ok := elem.(*PasswordCredential); ok && f == fPwdExpired {
		var now time.Time
		if p != nil {
			now = p.Now
		}
		return yieldBool(pw.expired(now), yield)
	}
	return yieldSlot(slot(elem, f, false), p, yield)
}

// expired reports whether the password has an expiry that has passed at now
// (the caller's clock: schemas reads none of its own).
func (pw *PasswordCredential) expired(now time.Time) bool {
	return !pw.Expires.IsZero() && !pw.Expires.After(now)
}

// timeDependent reports whether a's value depends on the time it is read at
// (Path.Now): passwordInformation.expired.
func timeDependent(a *Attribute) bool { return a.acc.field == fPwdExpired }

// yieldSlot yields the value stored in a slot (see slot): a non-empty
// string, any boolean, a non-zero time, or the JSON values at p.Keys.
func yieldSlot(s any, p *Path, yield func(Value) bool) bool {
	switch v := s.(type) {
	case *string:
		return yieldStr(*v, yield)
	case *bool:
		return yieldBool(*v, yield)
	case *time.Time:
		return yieldTime(*v, yield)
	case *map[string]any:
		var keys []string
		if p != nil {
			keys = p.Keys
		}
		return jsonValues(*v, keys, yield)
	}
	return true
}

// slot returns where the stored (not derived) field f of doc lives: a
// *string, *bool, *time.Time or *map[string]any pointing into doc, which is
// a root document (*User, *Group) or an element (*Email, *Name, *Address,
// *Manager, *AppLink, …). It returns nil when doc does not hold f. With
// create, the optional container of a root field is allocated (the
// enterprise extension); without it, slot never modifies doc.
//
// slot is the one place that ties a field to a Go struct field: the
// evaluator, the renderers and the writers (write.go) all go through it.
func slot(doc any, f field, create bool) any {
	switch d := doc.(type) {
	case *User:
		switch f {
		case fID:
			return &d.ID
		case fUserName:
			return &d.UserName
		case fExternalID:
			return &d.ExternalID
		case fDisplayName:
			return &d.DisplayName
		case fNickName:
			return &d.NickName
		case fProfileURL:
			return &d.ProfileURL
		case fTitle:
			return &d.Title
		case fUserType:
			return &d.UserType
		case fPreferredLanguage:
			return &d.PreferredLanguage
		case fLocale:
			return &d.Locale
		case fTimezone:
			return &d.Timezone
		case fBirthday:
			return &d.Birthday
		case fStatus:
			return &d.Status
		case fStatusChangedAt:
			return &d.StatusChangedAt
		case fLastAuth:
			return &d.LastAuth
		case fCreated:
			return &d.Created
		case fUpdated:
			return &d.Updated
		case fCustomData:
			return &d.CustomData
		case fEmployeeNumber, fCostCenter, fOrganization, fDivision, fDepartment:
			if d.Enterprise == nil {
				if !create {
					return nil
				}
				d.Enterprise = &EnterpriseUser{}
			}
			return enterpriseSlot(d.Enterprise, f)
		}
	case *Group:
		switch f {
		case fID:
			return &d.ID
		case fExternalID:
			return &d.ExternalID
		case fDisplayName:
			return &d.DisplayName
		case fDescription:
			return &d.Description
		case fCreated:
			return &d.Created
		case fUpdated:
			return &d.Updated
		case fCustomData:
			return &d.CustomData
		}
	case *Email:
		return contactSlot(f, &d.Value, &d.Type, &d.Primary, &d.Display, &d.Verified, &d.VerifiedAt)
	case *PhoneNumber: // a PhoneNumber is an Email
		return slot((*Email)(d), f, create)
	case *MultiValue:
		return contactSlot(f, &d.Value, &d.Type, &d.Primary, &d.Display, nil, nil)
	case *string: // a group id
		if f == fValue {
			return d
		}
	case *Name:
		switch f {
		case fFormatted:
			return &d.Formatted
		case fFamilyName:
			return &d.FamilyName
		case fGivenName:
			return &d.GivenName
		case fMiddleName:
			return &d.MiddleName
		case fHonorificPrefix:
			return &d.HonorificPrefix
		case fHonorificSuffix:
			return &d.HonorificSuffix
		}
	case *Address:
		switch f {
		case fFormatted:
			return &d.Formatted
		case fStreetAddress:
			return &d.StreetAddress
		case fLocality:
			return &d.Locality
		case fRegion:
			return &d.Region
		case fPostalCode:
			return &d.PostalCode
		case fCountry:
			return &d.Country
		case fType:
			return &d.Type
		case fPrimary:
			return &d.Primary
		case fUpdated:
			return &d.Updated
		}
	case *Manager:
		switch f {
		case fValue:
			return &d.Value
		case fRef:
			return &d.Ref
		case fManagerDisplayName:
			return &d.DisplayName
		}
	case *PasswordCredential:
		switch f {
		case fPwdTemporary:
			return &d.Temporary
		case fPwdUpdated:
			return &d.Updated
		case fPwdExpires:
			return &d.Expires
		}
	case *AppLink:
		switch f {
		case fExternalAccountID:
			return &d.ExternalAccountID
		case fCustomAppData:
			return &d.CustomAppData
		}
	}
	return nil
}

func enterpriseSlot(e *EnterpriseUser, f field) *string {
	switch f {
	case fEmployeeNumber:
		return &e.EmployeeNumber
	case fCostCenter:
		return &e.CostCenter
	case fOrganization:
		return &e.Organization
	case fDivision:
		return &e.Division
	case fDepartment:
		return &e.Department
	}
	return nil
}

// contactSlot picks the slot of a multi-valued element's field; verified and
// verifiedAt are nil for elements without verification state.
func contactSlot(f field, value, typ *string, primary *bool, display *string, verified *bool, verifiedAt *time.Time) any {
	switch f {
	case fValue:
		return value
	case fType:
		return typ
	case fPrimary:
		return primary
	case fDisplay:
		return display
	case fVerified:
		if verified != nil {
			return verified
		}
	case fVerifiedAt:
		if verifiedAt != nil {
			return verifiedAt
		}
	}
	return nil
}

// jsonLookup walks keys down a free-form JSON object.
func jsonLookup(m map[string]any, keys []string) (any, bool) {
	if m == nil {
		return nil, false
	}
	var v any = m
	for _, k := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// jsonValues yields the scalar value at keys below m; an array yields each
// of its scalar elements. Objects and nulls yield nothing.
func jsonValues(m map[string]any, keys []string, yield func(Value) bool) bool {
	v, ok := jsonLookup(m, keys)
	if !ok {
		return true
	}
	if arr, isArr := v.([]any); isArr {
		for _, e := range arr {
			if jv, ok := jsonScalar(e); ok && !yield(jv) {
				return false
			}
		}
		return true
	}
	if jv, ok := jsonScalar(v); ok {
		return yield(jv)
	}
	return true
}

// jsonScalar converts a decoded JSON scalar to a Value.
func jsonScalar(v any) (Value, bool) {
	switch t := v.(type) {
	case string:
		return Value{Kind: KindString, Str: t}, true
	case bool:
		return Value{Kind: KindBool, Bool: t}, true
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return Value{}, false
		}
		return Value{Kind: KindNumber, Num: f}, true
	}
	if f, ok := numberOf(v); ok && !math.IsNaN(f) {
		return Value{Kind: KindNumber, Num: f}, true
	}
	return Value{}, false
}

// numberOf converts any Go numeric kind to float64.
func numberOf(v any) (float64, bool) {
	switch rv := reflect.ValueOf(v); {
	case rv.CanFloat():
		return rv.Float(), true
	case rv.CanInt():
		return float64(rv.Int()), true
	case rv.CanUint():
		return float64(rv.Uint()), true
	}
	return 0, false
}

// jsonPresent reports whether the JSON value at keys is non-empty.
func jsonPresent(m map[string]any, keys []string) bool {
	v, ok := jsonLookup(m, keys)
	if !ok {
		return false
	}
	switch t := v.(type) {
	case nil:
		return false
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}
