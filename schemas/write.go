package schemas

import (
	"slices"
	"strings"
	"time"
)

// The write half of the accessors (see accessor.go). Writers address the
// same fields (through slot) and the same element kinds (elems) as the
// readers, so that the SCIM and native projections are both generic over the
// catalog: nothing here knows which face is writing.

// Elems returns the elements of the complex attribute a on u, as EachElem
// enumerates them (appID selects the application of an app-scoped
// attribute). The pointers point into u and are valid until the next write
// to a.
func Elems(u *User, a *Attribute, appID string) []any {
	return AppendElems(nil, u, a, appID)
}

// AppendElems appends Elems(u, a, appID) to dst: a caller that reads the
// elements only while it runs passes a stack buffer and allocates no list.
func AppendElems(dst []any, u *User, a *Attribute, appID string) []any {
	readElems(u, a, &Path{Attr: a, AppID: appID}, func(e any) bool {
		dst = append(dst, e)
		return true
	})
	return dst
}

// ClearElems removes every element of the complex attribute a from u (for a
// derived view, every element it shows: clearing secondaryEmails keeps the
// primary; clearing an application link keeps the assignment and its times).
func ClearElems(u *User, a *Attribute, appID string) {
	switch f := elemsField(u, a.acc.elems).(type) {
	case *Name:
		*f = Name{}
		return
	case *[]Email:
		*f = nil
		return
	case *[]PhoneNumber:
		*f = nil
		return
	case *[]Address:
		*f = nil
		return
	case *[]MultiValue:
		*f = nil
		return
	case nil: // a view of such a field, or elements held elsewhere: below
	default:
		panic("schemas: ClearElems: elemsField gave an unknown field type")
	}
	switch a.acc.elems {
	case eManager:
		if u.Enterprise != nil {
			u.Enterprise.Manager = nil
		}
	case ePrimaryAddress:
		if ad := u.primaryAddress(); ad != nil {
			RemoveElem(u, a, ad)
		}
	case eSecondaryEmails:
		if i := primaryIndex(u.Emails, func(e *Email) bool { return e.Primary }); i >= 0 {
			u.Emails = []Email{u.Emails[i]}
		} else {
			u.Emails = nil
		}
	case eSecondaryPhones:
		if i := primaryIndex(u.PhoneNumbers, func(p *PhoneNumber) bool { return p.Primary }); i >= 0 {
			u.PhoneNumbers = []PhoneNumber{u.PhoneNumbers[i]}
		} else {
			u.PhoneNumbers = nil
		}
	case eApp:
		if l := u.Apps[appID]; l != nil {
			*l = AppLink{AssignedAt: l.AssignedAt, LastLogin: l.LastLogin}
		}
	}
}

// primaryIndex is the index of the primary element as User.PrimaryEmail
// defines it (the flagged one, else the only one), or -1.
func primaryIndex[T any](list []T, primary func(*T) bool) int {
	for i := range list {
		if primary(&list[i]) {
			return i
		}
	}
	if len(list) == 1 {
		return 0
	}
	return -1
}

// AppendElem adds a zero element to the multi-valued complex attribute a of
// u and returns it (nil when a cannot be appended to, such as groups); the pointer is valid until the next append to a. Adding
// a secondary email (phone) to a user whose only email is implicitly primary
// flags that one primary, so that it stays the primary.
func AppendElem(u *User, a *Attribute) any {
	switch a.acc.elems {
	case eEmails:
		u.Emails = append(u.Emails, Email{})
		return &u.Emails[len(u.Emails)-1]
	case eSecondaryEmails:
		if len(u.Emails) == 1 {
			u.Emails[0].Primary = true
		}
		u.Emails = append(u.Emails, Email{})
		return &u.Emails[len(u.Emails)-1]
	case ePhones:
		u.PhoneNumbers = append(u.PhoneNumbers, PhoneNumber{})
		return &u.PhoneNumbers[len(u.PhoneNumbers)-1]
	case eSecondaryPhones:
		if len(u.PhoneNumbers) == 1 {
			u.PhoneNumbers[0].Primary = true
		}
		u.PhoneNumbers = append(u.PhoneNumbers, PhoneNumber{})
		return &u.PhoneNumbers[len(u.PhoneNumbers)-1]
	case eAddresses:
		u.Addresses = append(u.Addresses, Address{})
		return &u.Addresses[len(u.Addresses)-1]
	}
	if mv, ok := elemsField(u, a.acc.elems).(*[]MultiValue); ok {
		*mv = append(*mv, MultiValue{})
		return &(*mv)[len(*mv)-1]
	}
	return nil
}

// elemsField returns a pointer to the field of u that holds the elements of
// kind e — *Name, *[]Email, *[]PhoneNumber, *[]Address or *[]MultiValue —
// or nil for the kinds that are views of such a field (the primary address,
// the secondary emails and phones) or live elsewhere (the manager, the
// application links, groups, the password, meta).
func elemsField(u *User, e elems) any {
	switch e {
	case eName:
		return &u.Name
	case eEmails:
		return &u.Emails
	case ePhones:
		return &u.PhoneNumbers
	case eAddresses:
		return &u.Addresses
	case eIMs:
		return &u.IMs
	case ePhotos:
		return &u.Photos
	case eEntitlements:
		return &u.Entitlements
	case eRoles:
		return &u.Roles
	case eX509:
		return &u.X509Certificates
	}
	return nil
}

// SingleElem returns the element of the single-valued complex attribute a
// on u (name, manager, the primary address, the application link of appID,
// the password); with create it makes one when there is none (not a
// password), else it returns nil then.
func SingleElem(u *User, a *Attribute, appID string, create bool) any {
	switch a.acc.elems {
	case eName:
		return &u.Name
	case eManager:
		if u.Enterprise == nil || u.Enterprise.Manager == nil {
			if !create {
				return nil
			}
			if u.Enterprise == nil {
				u.Enterprise = &EnterpriseUser{}
			}
			u.Enterprise.Manager = &Manager{}
		}
		return u.Enterprise.Manager
	case ePrimaryAddress:
		if ad := u.primaryAddress(); ad != nil {
			return ad
		}
		if !create {
			return nil
		}
		u.Addresses = append(u.Addresses, Address{})
		return &u.Addresses[len(u.Addresses)-1]
	case eApp:
		if appID == "" {
			return nil
		}
		if l := u.Apps[appID]; l != nil {
			return l
		}
		if !create {
			return nil
		}
		if u.Apps == nil {
			u.Apps = map[string]*AppLink{}
		}
		l := &AppLink{}
		u.Apps[appID] = l
		return l
	case ePassword:
		if u.Password != nil {
			return u.Password
		}
	}
	return nil
}

// RemoveElem removes one element of the complex attribute a from u: a
// pointer Elems or SingleElem returned (a name is zeroed). Other pointers
// into the same list may move.
func RemoveElem(u *User, a *Attribute, elem any) {
	switch e := elem.(type) {
	case *Name:
		*e = Name{}
	case *Manager:
		if u.Enterprise != nil && u.Enterprise.Manager == e {
			u.Enterprise.Manager = nil
		}
	case *Address:
		u.Addresses = deleteAt(u.Addresses, e)
	case *Email:
		u.Emails = deleteAt(u.Emails, e)
	case *PhoneNumber:
		u.PhoneNumbers = deleteAt(u.PhoneNumbers, e)
	case *MultiValue:
		if mv, ok := elemsField(u, a.acc.elems).(*[]MultiValue); ok {
			*mv = deleteAt(*mv, e)
		}
	}
}

// deleteAt removes the element e points to from list.
func deleteAt[T any](list []T, e *T) []T {
	for i := range list {
		if &list[i] == e {
			return slices.Delete(list, i, i+1)
		}
	}
	return list
}

// store writes v (a string, bool, time.Time or map[string]any; nil for the
// zero value) into the stored field f of doc and reports whether doc holds f.
func store(doc any, f field, v any) bool {
	switch s := slot(doc, f, true).(type) {
	case *string:
		x, _ := v.(string)
		*s = x
	case *bool:
		x, _ := v.(bool)
		*s = x
	case *time.Time:
		x, _ := v.(time.Time)
		*s = x
	case *map[string]any:
		x, _ := v.(map[string]any)
		*s = x
	default:
		return false
	}
	return true
}

// elemFields lists the stored fields of an element, for carry-over.
func elemFields(elem any) []field {
	switch elem.(type) {
	case *Email, *PhoneNumber:
		return []field{fValue, fType, fPrimary, fDisplay, fVerified, fVerifiedAt}
	case *MultiValue:
		return []field{fValue, fType, fPrimary, fDisplay}
	case *Address:
		return []field{fFormatted, fStreetAddress, fLocality, fRegion, fPostalCode, fCountry, fType, fPrimary, fUpdated}
	case *Name:
		return []field{fFormatted, fFamilyName, fGivenName, fMiddleName, fHonorificPrefix, fHonorificSuffix}
	case *Manager:
		return []field{fValue, fRef, fManagerDisplayName}
	case *AppLink:
		return []field{fExternalAccountID, fCustomAppData}
	}
	return nil
}

// copyField copies the stored field f from src to dst (elements of one type).
func copyField(dst, src any, f field) {
	switch d := slot(dst, f, true).(type) {
	case *string:
		*d = *slot(src, f, false).(*string)
	case *bool:
		*d = *slot(src, f, false).(*bool)
	case *time.Time:
		*d = *slot(src, f, false).(*time.Time)
	case *map[string]any:
		*d = CloneJSONObject(*slot(src, f, false).(*map[string]any))
	}
}

// CopyElem copies every stored field of src into dst, two elements of one
// type (*Email, *Address, *Name, …); free-form data is deep-copied. What an
// element holds outside the catalog (an application link's assignment
// times) is not copied.
func CopyElem(dst, src any) {
	for _, f := range elemFields(dst) {
		copyField(dst, src, f)
	}
}

// owns reports whether one of the attributes reads field f.
func owns(owned []*Attribute, f field) bool {
	for _, a := range owned {
		if a.acc.field == f {
			return true
		}
	}
	return false
}

// Carry copies into dst every stored field of src (an element of the same
// type) that none of the owned sub-attributes reads: an element a client
// rewrote keeps what that client cannot see (an email's verification, an
// address's updated_at, a SCIM email's type when the native face rewrites
// secondary_emails). owned are the sub-attributes the writing face owns.
func Carry(dst, src any, owned []*Attribute) {
	for _, f := range elemFields(dst) {
		if !owns(owned, f) {
			copyField(dst, src, f)
		}
	}
}

// SameOwned reports whether two elements of one type agree on the value of
// every owned sub-attribute (times compared as instants).
func SameOwned(x, y any, owned []*Attribute) bool {
	for _, a := range owned {
		if !slotEqual(slot(x, a.acc.field, false), slot(y, a.acc.field, false)) {
			return false
		}
	}
	return true
}

func slotEqual(a, b any) bool {
	switch x := a.(type) {
	case *string:
		y, ok := b.(*string)
		return ok && *x == *y
	case *bool:
		y, ok := b.(*bool)
		return ok && *x == *y
	case *time.Time:
		y, ok := b.(*time.Time)
		return ok && x.Equal(*y)
	case nil:
		return b == nil
	}
	return false
}

// FindPrevious finds, among the previous elements old of the complex
// attribute a, the one a rewritten element continues: the one with the same
// value (compared as the "value" sub-attribute's caseExact says) when the
// elements have a value, else the one SameOwned with it. used marks the
// elements already matched (len(used) == len(old)); the one found is
// marked. It returns nil when none matches.
func FindPrevious(a *Attribute, elem any, old []any, used []bool, owned []*Attribute) any {
	vs := a.acc.valueSub
	for i, o := range old {
		if used[i] {
			continue
		}
		var same bool
		if vs != nil {
			x, _ := slot(elem, vs.acc.field, false).(*string)
			y, _ := slot(o, vs.acc.field, false).(*string)
			same = x != nil && y != nil && *x != "" && (*x == *y || (!vs.CaseExact && strings.EqualFold(*x, *y)))
		} else {
			same = SameOwned(elem, o, owned)
		}
		if same {
			used[i] = true
			return o
		}
	}
	return nil
}

// CloneElems returns deep copies of elements (pointers Elems returned), so
// that they survive rewriting the list they came from.
func CloneElems(list []any) []any {
	out := make([]any, len(list))
	for i, e := range list {
		switch x := e.(type) {
		case *Email:
			c := *x
			out[i] = &c
		case *PhoneNumber:
			c := *x
			out[i] = &c
		case *MultiValue:
			c := *x
			out[i] = &c
		case *Address:
			c := *x
			out[i] = &c
		case *Name:
			c := *x
			out[i] = &c
		case *Manager:
			c := *x
			out[i] = &c
		case *AppLink:
			c := *x
			c.CustomAppData = CloneJSONObject(x.CustomAppData)
			out[i] = &c
		default:
			out[i] = e
		}
	}
	return out
}

// setPrimaryContact makes v the value of the primary element of a contact
// list (emails or phone numbers), the native `email` / `phone_number`:
//   - "" removes the primary element (the secondaries stay);
//   - when the value only changes case (for case-insensitive values) the
//     verification is kept; a different value starts unverified;
//   - a value equal to a secondary's promotes that element (with its
//     verification) and the previous primary is dropped;
//   - without a primary, a new flagged element is added.
func setPrimaryContact[T any](list *[]T, v string, fold bool, get func(*T) (value *string, primary, verified *bool, verifiedAt *time.Time)) {
	same := func(a, b string) bool { return a == b || (fold && strings.EqualFold(a, b)) }
	pi := primaryIndex(*list, func(e *T) bool { _, p, _, _ := get(e); return *p })
	if v == "" {
		if pi >= 0 {
			*list = slices.Delete(*list, pi, pi+1)
		}
		return
	}
	si := -1 // a secondary with the same value
	for i := range *list {
		if val, _, _, _ := get(&(*list)[i]); i != pi && same(*val, v) {
			si = i
			break
		}
	}
	switch {
	case pi >= 0 && si < 0:
		val, _, ver, at := get(&(*list)[pi])
		if !same(*val, v) {
			*ver, *at = false, time.Time{}
		}
		*val = v
	case si >= 0:
		val, prim, _, _ := get(&(*list)[si])
		*val, *prim = v, true
		if pi >= 0 {
			*list = slices.Delete(*list, pi, pi+1)
		}
	default:
		var e T
		val, prim, _, _ := get(&e)
		*val, *prim = v, true
		*list = append(*list, e)
	}
}

func emailParts(e *Email) (*string, *bool, *bool, *time.Time) {
	return &e.Value, &e.Primary, &e.Verified, &e.VerifiedAt
}

func phoneParts(p *PhoneNumber) (*string, *bool, *bool, *time.Time) {
	return &p.Value, &p.Primary, &p.Verified, &p.VerifiedAt
}

// SetDerived writes v into the derived top-level attribute a of u, the
// native view's primaryEmail, primaryPhone and picture:
//   - primaryEmail / primaryPhone set the value of the primary element (see
//     setPrimaryContact: "" removes it, a secondary's value promotes that
//     element, a changed value starts unverified);
//   - picture sets the primary (else first) photo's value ("" removes it).
//
// It reports false, and changes nothing, for any other attribute.
func SetDerived(u *User, a *Attribute, v string) bool {
	switch a.acc.field {
	case fPrimaryEmail:
		setPrimaryContact(&u.Emails, v, true, emailParts)
	case fPrimaryPhone:
		setPrimaryContact(&u.PhoneNumbers, v, false, phoneParts)
	case fPicture:
		i := primaryIndex(u.Photos, func(m *MultiValue) bool { return m.Primary })
		if i < 0 && len(u.Photos) > 0 {
			i = 0
		}
		switch {
		case v == "" && i >= 0:
			u.Photos = slices.Delete(u.Photos, i, i+1)
		case v == "":
		case i >= 0:
			u.Photos[i].Value = v
		default:
			u.Photos = append(u.Photos, MultiValue{Value: v})
		}
	default:
		return false
	}
	return true
}

// NewElem returns a new zero element of the complex attribute a (*Email,
// *PhoneNumber, *Address, *Name, *Manager or *MultiValue), not attached to
// any document; nil for attributes whose elements cannot be built alone
// (groups, applications, the password).
func NewElem(a *Attribute) any {
	switch a.acc.elems {
	case eEmails, eSecondaryEmails:
		return &Email{}
	case ePhones, eSecondaryPhones:
		return &PhoneNumber{}
	case eAddresses, ePrimaryAddress:
		return &Address{}
	case eName:
		return &Name{}
	case eManager:
		return &Manager{}
	case eIMs, ePhotos, eEntitlements, eRoles, eX509:
		return &MultiValue{}
	}
	return nil
}

// ElemEmpty reports whether elem holds no value for any of the owned
// sub-attributes: every string empty, every boolean false, every time zero.
func ElemEmpty(elem any, owned []*Attribute) bool {
	for _, a := range owned {
		switch s := slot(elem, a.acc.field, false).(type) {
		case *string:
			if *s != "" {
				return false
			}
		case *bool:
			if *s {
				return false
			}
		case *time.Time:
			if !s.IsZero() {
				return false
			}
		}
	}
	return true
}
