package schemas

import (
	"encoding/json"
	"math"
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
	fSecondaryEmails
	fPrimaryPhone
	fSecondaryPhones
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
		for i := range u.Emails {
			if !yield(&u.Emails[i]) {
				return false
			}
		}
	case ePhones:
		for i := range u.PhoneNumbers {
			if !yield(&u.PhoneNumbers[i]) {
				return false
			}
		}
	case eIMs:
		return yieldMVs(u.IMs, yield)
	case ePhotos:
		return yieldMVs(u.Photos, yield)
	case eEntitlements:
		return yieldMVs(u.Entitlements, yield)
	case eRoles:
		return yieldMVs(u.Roles, yield)
	case eX509:
		return yieldMVs(u.X509Certificates, yield)
	case eAddresses:
		for i := range u.Addresses {
			if !yield(&u.Addresses[i]) {
				return false
			}
		}
	case eGroups:
		for i := range u.GroupIDs {
			if !yield(&u.GroupIDs[i]) {
				return false
			}
		}
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

func yieldMVs(mvs []MultiValue, yield func(any) bool) bool {
	for i := range mvs {
		if !yield(&mvs[i]) {
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

func userValues(u *User, f field, p *Path, yield func(Value) bool) bool {
	switch f {
	case fID:
		return yieldStr(u.ID, yield)
	case fUserName:
		return yieldStr(u.UserName, yield)
	case fExternalID:
		return yieldStr(u.ExternalID, yield)
	case fDisplayName:
		return yieldStr(u.DisplayName, yield)
	case fNickName:
		return yieldStr(u.NickName, yield)
	case fProfileURL:
		return yieldStr(u.ProfileURL, yield)
	case fTitle:
		return yieldStr(u.Title, yield)
	case fUserType:
		return yieldStr(u.UserType, yield)
	case fPreferredLanguage:
		return yieldStr(u.PreferredLanguage, yield)
	case fLocale:
		return yieldStr(u.Locale, yield)
	case fTimezone:
		return yieldStr(u.Timezone, yield)
	case fBirthday:
		return yieldStr(u.Birthday, yield)
	case fActive:
		return yieldBool(u.Active(), yield)
	case fStatus:
		return yieldStr(u.Status, yield)
	case fStatusChangedAt:
		return yieldTime(u.StatusChangedAt, yield)
	case fLastAuth:
		return yieldTime(u.LastAuth, yield)
	case fCreated:
		return yieldTime(u.Created, yield)
	case fUpdated:
		return yieldTime(u.Updated, yield)
	case fResourceType:
		return yieldStr("User", yield)
	case fVersion:
		return yieldVersion(u.Version, yield)
	case fPrimaryEmail:
		if e, ok := u.PrimaryEmail(); ok {
			return yieldStr(e.Value, yield)
		}
	case fSecondaryEmails:
		prim, _ := u.PrimaryEmail()
		for i := range u.Emails {
			if &u.Emails[i] != prim && !yieldStr(u.Emails[i].Value, yield) {
				return false
			}
		}
	case fPrimaryPhone:
		if ph, ok := u.PrimaryPhone(); ok {
			return yieldStr(ph.Value, yield)
		}
	case fSecondaryPhones:
		prim, _ := u.PrimaryPhone()
		for i := range u.PhoneNumbers {
			if &u.PhoneNumbers[i] != prim && !yieldStr(u.PhoneNumbers[i].Value, yield) {
				return false
			}
		}
	case fPicture:
		return yieldStr(u.picture(), yield)
	case fGroups:
		for _, g := range u.GroupIDs {
			if !yieldStr(g, yield) {
				return false
			}
		}
	case fCustomData:
		return jsonValues(u.CustomData, p.Keys, yield)
	case fEmployeeNumber, fCostCenter, fOrganization, fDivision, fDepartment:
		if e := u.Enterprise; e != nil {
			return yieldStr(enterpriseField(e, f), yield)
		}
	}
	return true
}

func enterpriseField(e *EnterpriseUser, f field) string {
	switch f {
	case fEmployeeNumber:
		return e.EmployeeNumber
	case fCostCenter:
		return e.CostCenter
	case fOrganization:
		return e.Organization
	case fDivision:
		return e.Division
	case fDepartment:
		return e.Department
	}
	return ""
}

func yieldVersion(v int64, yield func(Value) bool) bool {
	if v == 0 {
		return true
	}
	return yield(Value{Kind: KindString, Str: ETag(v)})
}

// ETag renders a document version as the weak entity tag W/"<version>" used
// for SCIM meta.version and the ETag header.
func ETag(version int64) string {
	return `W/"` + strconv.FormatInt(version, 10) + `"`
}

func groupValues(g *Group, f field, p *Path, yield func(Value) bool) bool {
	switch f {
	case fID:
		return yieldStr(g.ID, yield)
	case fExternalID:
		return yieldStr(g.ExternalID, yield)
	case fDisplayName:
		return yieldStr(g.DisplayName, yield)
	case fDescription:
		return yieldStr(g.Description, yield)
	case fCreated:
		return yieldTime(g.Created, yield)
	case fUpdated:
		return yieldTime(g.Updated, yield)
	case fResourceType:
		return yieldStr("Group", yield)
	case fVersion:
		return yieldVersion(g.Version, yield)
	case fCustomData:
		return jsonValues(g.CustomData, p.Keys, yield)
	}
	return true
}

func elemValues(elem any, f field, p *Path, yield func(Value) bool) bool {
	switch e := elem.(type) {
	case *Email:
		return contactField(f, e.Value, e.Type, e.Primary, e.Display, e.Verified, e.VerifiedAt, yield)
	case *PhoneNumber:
		return contactField(f, e.Value, e.Type, e.Primary, e.Display, e.Verified, e.VerifiedAt, yield)
	case *MultiValue:
		return contactField(f, e.Value, e.Type, e.Primary, e.Display, false, time.Time{}, yield)
	case *string:
		if f == fValue {
			return yieldStr(*e, yield)
		}
	case *Name:
		switch f {
		case fFormatted:
			return yieldStr(e.Formatted, yield)
		case fFamilyName:
			return yieldStr(e.FamilyName, yield)
		case fGivenName:
			return yieldStr(e.GivenName, yield)
		case fMiddleName:
			return yieldStr(e.MiddleName, yield)
		case fHonorificPrefix:
			return yieldStr(e.HonorificPrefix, yield)
		case fHonorificSuffix:
			return yieldStr(e.HonorificSuffix, yield)
		}
	case *Address:
		switch f {
		case fFormatted:
			return yieldStr(e.Formatted, yield)
		case fStreetAddress:
			return yieldStr(e.StreetAddress, yield)
		case fLocality:
			return yieldStr(e.Locality, yield)
		case fRegion:
			return yieldStr(e.Region, yield)
		case fPostalCode:
			return yieldStr(e.PostalCode, yield)
		case fCountry:
			return yieldStr(e.Country, yield)
		case fType:
			return yieldStr(e.Type, yield)
		case fPrimary:
			return yieldBool(e.Primary, yield)
		}
	case *Manager:
		switch f {
		case fValue:
			return yieldStr(e.Value, yield)
		case fRef:
			return yieldStr(e.Ref, yield)
		case fManagerDisplayName:
			return yieldStr(e.DisplayName, yield)
		}
	case *PasswordCredential:
		switch f {
		case fPwdExpired:
			return yieldBool(!e.Expires.IsZero() && !e.Expires.After(time.Now()), yield)
		case fPwdTemporary:
			return yieldBool(e.Temporary, yield)
		case fPwdUpdated:
			return yieldTime(e.Updated, yield)
		case fPwdExpires:
			return yieldTime(e.Expires, yield)
		}
	case *AppLink:
		switch f {
		case fExternalAccountID:
			return yieldStr(e.ExternalAccountID, yield)
		case fCustomAppData:
			return jsonValues(e.CustomAppData, p.Keys, yield)
		}
	}
	return true
}

func contactField(f field, value, typ string, primary bool, display string, verified bool, verifiedAt time.Time, yield func(Value) bool) bool {
	switch f {
	case fValue:
		return yieldStr(value, yield)
	case fType:
		return yieldStr(typ, yield)
	case fPrimary:
		return yieldBool(primary, yield)
	case fDisplay:
		return yieldStr(display, yield)
	case fVerified:
		return yieldBool(verified, yield)
	case fVerifiedAt:
		return yieldTime(verifiedAt, yield)
	}
	return true
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

// numberOf converts a Go numeric kind to float64.
func numberOf(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case float32:
		return float64(t), true
	case int:
		return float64(t), true
	case int8:
		return float64(t), true
	case int16:
		return float64(t), true
	case int32:
		return float64(t), true
	case int64:
		return float64(t), true
	case uint:
		return float64(t), true
	case uint8:
		return float64(t), true
	case uint16:
		return float64(t), true
	case uint32:
		return float64(t), true
	case uint64:
		return float64(t), true
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
