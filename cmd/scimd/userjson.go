package main

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/internal/jsonw"
	"github.com/scimd/scimd/schemas"
)

// An export writes a user as encoding/json writes a schemas.User (the Go
// field names, times in RFC 3339). Decoding that through encoding/json's
// reflection was a quarter of an import's CPU, so import reads it with a
// decoder written for the type, which gives what encoding/json with
// UseNumber gives (free-form numbers as json.Number, exactly as written)
// or, for anything it does not read the same way — a key in another case,
// a key given twice, a value of an unexpected kind, a syntax error, a field
// it does not know — gives up, and the line is decoded by encoding/json,
// whose result and errors are the ones reported. TestUserJSONLikeEncodingJSON
// and FuzzUserJSON hold the two to the same results.

// errSlowPath is the fast decoder giving up.
var errSlowPath = errors.New("not read by the fast decoder")

// decodeUserRecord decodes a whole user line ({"type":"user","data":{…}}).
func decodeUserRecord(line []byte) (*schemas.User, error) {
	return fastOr(line, fastUserRecord, stdUserRecord)
}

// decodeUserData decodes the data of a user record.
func decodeUserData(b []byte) (*schemas.User, error) {
	return fastOr(b, fastUserData, stdUserData)
}

// fastOr decodes b with fast, or, where fast gives up, with std (the
// encoding/json decoding fast is held to), whose result and error are then
// the answer.
func fastOr(b []byte, fast, std func([]byte) (*schemas.User, error)) (*schemas.User, error) {
	if u, err := fast(b); err == nil {
		return u, nil
	}
	return std(b)
}

// stdUserRecord decodes a whole user line with encoding/json (UseNumber).
func stdUserRecord(line []byte) (*schemas.User, error) {
	var rec struct {
		Type string        `json:"type"`
		Data *schemas.User `json:"data"`
	}
	if err := schemas.DecodeJSON(line, &rec); err != nil {
		return nil, err
	}
	if rec.Type != recUser || rec.Data == nil {
		return nil, fmt.Errorf("not a user record")
	}
	return rec.Data, nil
}

// stdUserData decodes the data of a user record with encoding/json
// (UseNumber); on failure the user holds what was read (its id, say).
func stdUserData(b []byte) (*schemas.User, error) {
	u := new(schemas.User)
	return u, schemas.DecodeJSON(b, u)
}

// fastUserData is stdUserData's fast path: errSlowPath (or another error)
// where it gives up.
func fastUserData(b []byte) (*schemas.User, error) {
	u := new(schemas.User)
	d := userDecoder{s: jsonw.NewScanner(b)}
	err := d.user(u)
	if err == nil {
		err = d.s.End()
	}
	return u, err
}

// fastUserRecord is stdUserRecord's fast path: errSlowPath (or another
// error) where it gives up.
func fastUserRecord(line []byte) (*schemas.User, error) {
	d := userDecoder{s: jsonw.NewScanner(line)}
	var u *schemas.User
	var seen uint64
	err := d.s.Object(func(key []byte) error {
		switch string(key) {
		case "type":
			if seen&1 != 0 {
				return errSlowPath
			}
			seen |= 1
			t, err := d.s.String()
			if err == nil && t != recUser {
				err = errSlowPath
			}
			return err
		case "data":
			if seen&2 != 0 {
				return errSlowPath
			}
			seen |= 2
			u = new(schemas.User)
			return d.user(u)
		}
		return errSlowPath
	})
	if err == nil && seen == 3 {
		err = d.s.End()
	} else if err == nil {
		err = errSlowPath
	}
	return u, err
}

type userDecoder struct{ s *jsonw.Scanner }

// fieldsOf are the JSON names of a struct type's fields, as encoding/json
// names them (no type here has tags), with their positions.
type fieldSet map[string]uint

func fieldsOf(v any) fieldSet {
	m := fieldSet{}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(v)) {
		if f.IsExported() && !f.Anonymous {
			m[f.Name] = uint(len(m))
		}
	}
	if len(m) > 64 {
		panic("fieldsOf: more than 64 fields")
	}
	return m
}

var (
	userFields       = fieldsOf(schemas.User{})
	nameFields       = fieldsOf(schemas.Name{})
	emailFields      = fieldsOf(schemas.Email{})
	multiFields      = fieldsOf(schemas.MultiValue{})
	addressFields    = fieldsOf(schemas.Address{})
	enterpriseFields = fieldsOf(schemas.EnterpriseUser{})
	managerFields    = fieldsOf(schemas.Manager{})
	appLinkFields    = fieldsOf(schemas.AppLink{})
	passwordFields   = fieldsOf(schemas.PasswordCredential{})
	deviceKeyFields  = fieldsOf(schemas.DeviceKey{})
	pushFields       = fieldsOf(schemas.PushConfig{})
)

// object reads an object of a struct type whose fields are fs, calling
// field for each member that names one exactly; field must read the value,
// and returns errSlowPath for a field it does not decode. A member that names
// no field is skipped, unless encoding/json could match it to one in
// another case; a field named twice gives up (encoding/json would merge).
func (d *userDecoder) object(fs fieldSet, field func(name []byte) error) error {
	var seen uint64
	return d.s.Object(func(key []byte) error {
		i, ok := fs[string(key)]
		if !ok {
			if foldsToField(key, fs) {
				return errSlowPath
			}
			_, err := d.s.Raw()
			return err
		}
		if seen&(1<<i) != 0 {
			return errSlowPath
		}
		seen |= 1 << i
		return field(key)
	})
}

// foldsToField reports whether encoding/json might match key to a field in
// fs ignoring case (any non-ASCII key might).
func foldsToField(key []byte, fs fieldSet) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	for name := range fs {
		if bytes.EqualFold(key, []byte(name)) {
			return true
		}
	}
	return false
}

// str reads a string into p; null leaves p as it is (as encoding/json does).
func (d *userDecoder) str(p *string) error {
	if d.s.Null() {
		return nil
	}
	s, err := d.s.String()
	*p = s
	return err
}

func (d *userDecoder) bool(p *bool) error {
	if d.s.Null() {
		return nil
	}
	b, err := d.s.Bool()
	*p = b
	return err
}

// time reads a time as encoding/json does: the value's text to
// time.Time.UnmarshalJSON (which takes null as no change).
func (d *userDecoder) time(p *time.Time) error {
	raw, err := d.s.Raw()
	if err != nil {
		return err
	}
	if raw[0] != '"' && raw[0] != 'n' {
		return errSlowPath
	}
	return p.UnmarshalJSON(raw)
}

// freeForm reads a free-form object (null: nil).
func (d *userDecoder) freeForm(p *map[string]any) error {
	if d.s.Null() {
		*p = nil
		return nil
	}
	v, err := d.s.Value()
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errSlowPath
	}
	*p = m
	return nil
}

// list reads an array into a new slice (null: nil), each element read by elem
// into a zero value.
func list[T any](d *userDecoder, p *[]T, elem func(*T) error) error {
	if d.s.Null() {
		*p = nil
		return nil
	}
	l := []T{}
	err := d.s.Array(func() error {
		l = append(l, *new(T))
		return elem(&l[len(l)-1])
	})
	*p = l
	return err
}

// ptr reads an object into a new T (null: nil).
func ptr[T any](d *userDecoder, p **T, obj func(*T) error) error {
	if d.s.Null() {
		*p = nil
		return nil
	}
	v := new(T)
	*p = v
	return obj(v)
}

func (d *userDecoder) user(u *schemas.User) error {
	return d.object(userFields, func(name []byte) error {
		switch string(name) {
		case "ID":
			return d.str(&u.ID)
		case "Version":
			if d.s.Null() {
				return nil
			}
			n, err := d.s.Number()
			if err != nil {
				return err
			}
			v, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return errSlowPath
			}
			u.Version = v
			return nil
		case "UserName":
			return d.str(&u.UserName)
		case "ExternalID":
			return d.str(&u.ExternalID)
		case "Name":
			if d.s.Null() {
				return nil
			}
			return d.name(&u.Name)
		case "DisplayName":
			return d.str(&u.DisplayName)
		case "NickName":
			return d.str(&u.NickName)
		case "ProfileURL":
			return d.str(&u.ProfileURL)
		case "Title":
			return d.str(&u.Title)
		case "UserType":
			return d.str(&u.UserType)
		case "PreferredLanguage":
			return d.str(&u.PreferredLanguage)
		case "Locale":
			return d.str(&u.Locale)
		case "Timezone":
			return d.str(&u.Timezone)
		case "Birthday":
			return d.str(&u.Birthday)
		case "Emails":
			return list(d, &u.Emails, d.email)
		case "PhoneNumbers":
			return list(d, &u.PhoneNumbers, func(p *schemas.PhoneNumber) error { return d.email((*schemas.Email)(p)) })
		case "IMs":
			return list(d, &u.IMs, d.multi)
		case "Photos":
			return list(d, &u.Photos, d.multi)
		case "Addresses":
			return list(d, &u.Addresses, d.address)
		case "Entitlements":
			return list(d, &u.Entitlements, d.multi)
		case "Roles":
			return list(d, &u.Roles, d.multi)
		case "X509Certificates":
			return list(d, &u.X509Certificates, d.multi)
		case "Enterprise":
			return ptr(d, &u.Enterprise, d.enterprise)
		case "Status":
			return d.str(&u.Status)
		case "StatusChangedAt":
			return d.time(&u.StatusChangedAt)
		case "CustomData":
			return d.freeForm(&u.CustomData)
		case "Apps":
			return d.apps(&u.Apps)
		case "GroupIDs":
			return list(d, &u.GroupIDs, d.str)
		case "Password":
			return ptr(d, &u.Password, d.password)
		case "DeviceKeys":
			return list(d, &u.DeviceKeys, d.deviceKey)
		case "Created":
			return d.time(&u.Created)
		case "Updated":
			return d.time(&u.Updated)
		case "LastAuth":
			return d.time(&u.LastAuth)
		}
		return errSlowPath
	})
}

func (d *userDecoder) name(n *schemas.Name) error {
	return d.object(nameFields, func(name []byte) error {
		switch string(name) {
		case "Formatted":
			return d.str(&n.Formatted)
		case "FamilyName":
			return d.str(&n.FamilyName)
		case "GivenName":
			return d.str(&n.GivenName)
		case "MiddleName":
			return d.str(&n.MiddleName)
		case "HonorificPrefix":
			return d.str(&n.HonorificPrefix)
		case "HonorificSuffix":
			return d.str(&n.HonorificSuffix)
		}
		return errSlowPath
	})
}

// email reads an element of Emails (or PhoneNumbers: the same fields); null
// leaves the zero element.
func (d *userDecoder) email(e *schemas.Email) error {
	if d.s.Null() {
		return nil
	}
	return d.object(emailFields, func(name []byte) error {
		switch string(name) {
		case "Value":
			return d.str(&e.Value)
		case "Type":
			return d.str(&e.Type)
		case "Primary":
			return d.bool(&e.Primary)
		case "Display":
			return d.str(&e.Display)
		case "Verified":
			return d.bool(&e.Verified)
		case "VerifiedAt":
			return d.time(&e.VerifiedAt)
		}
		return errSlowPath
	})
}

func (d *userDecoder) multi(m *schemas.MultiValue) error {
	if d.s.Null() {
		return nil
	}
	return d.object(multiFields, func(name []byte) error {
		switch string(name) {
		case "Value":
			return d.str(&m.Value)
		case "Type":
			return d.str(&m.Type)
		case "Primary":
			return d.bool(&m.Primary)
		case "Display":
			return d.str(&m.Display)
		}
		return errSlowPath
	})
}

func (d *userDecoder) address(a *schemas.Address) error {
	if d.s.Null() {
		return nil
	}
	return d.object(addressFields, func(name []byte) error {
		switch string(name) {
		case "Formatted":
			return d.str(&a.Formatted)
		case "StreetAddress":
			return d.str(&a.StreetAddress)
		case "Locality":
			return d.str(&a.Locality)
		case "Region":
			return d.str(&a.Region)
		case "PostalCode":
			return d.str(&a.PostalCode)
		case "Country":
			return d.str(&a.Country)
		case "Type":
			return d.str(&a.Type)
		case "Primary":
			return d.bool(&a.Primary)
		case "Updated":
			return d.time(&a.Updated)
		}
		return errSlowPath
	})
}

func (d *userDecoder) enterprise(e *schemas.EnterpriseUser) error {
	return d.object(enterpriseFields, func(name []byte) error {
		switch string(name) {
		case "EmployeeNumber":
			return d.str(&e.EmployeeNumber)
		case "CostCenter":
			return d.str(&e.CostCenter)
		case "Organization":
			return d.str(&e.Organization)
		case "Division":
			return d.str(&e.Division)
		case "Department":
			return d.str(&e.Department)
		case "Manager":
			return ptr(d, &e.Manager, func(m *schemas.Manager) error {
				return d.object(managerFields, func(name []byte) error {
					switch string(name) {
					case "Value":
						return d.str(&m.Value)
					case "Ref":
						return d.str(&m.Ref)
					case "DisplayName":
						return d.str(&m.DisplayName)
					}
					return errSlowPath
				})
			})
		}
		return errSlowPath
	})
}

// apps reads Apps: each entry a new AppLink, or nil for null; a key given
// twice keeps the last entry, as encoding/json does.
func (d *userDecoder) apps(p *map[string]*schemas.AppLink) error {
	if d.s.Null() {
		*p = nil
		return nil
	}
	m := map[string]*schemas.AppLink{}
	*p = m
	return d.s.Object(func(key []byte) error {
		var l *schemas.AppLink
		err := ptr(d, &l, func(l *schemas.AppLink) error {
			return d.object(appLinkFields, func(name []byte) error {
				switch string(name) {
				case "ExternalAccountID":
					return d.str(&l.ExternalAccountID)
				case "CustomAppData":
					return d.freeForm(&l.CustomAppData)
				case "AssignedAt":
					return d.time(&l.AssignedAt)
				case "LastLogin":
					return d.time(&l.LastLogin)
				}
				return errSlowPath
			})
		})
		m[string(key)] = l
		return err
	})
}

func (d *userDecoder) password(p *schemas.PasswordCredential) error {
	return d.object(passwordFields, func(name []byte) error {
		switch string(name) {
		case "Hash":
			return d.str(&p.Hash)
		case "Temporary":
			return d.bool(&p.Temporary)
		case "Updated":
			return d.time(&p.Updated)
		case "Expires":
			return d.time(&p.Expires)
		}
		return errSlowPath
	})
}

func (d *userDecoder) deviceKey(k *schemas.DeviceKey) error {
	if d.s.Null() {
		return nil
	}
	return d.object(deviceKeyFields, func(name []byte) error {
		switch string(name) {
		case "KeyID":
			return d.str(&k.KeyID)
		case "DisplayName":
			return d.str(&k.DisplayName)
		case "Status":
			return d.str(&k.Status)
		case "PublicKey":
			return d.str(&k.PublicKey)
		case "CustomData":
			return d.freeForm(&k.CustomData)
		case "PushConfig":
			return ptr(d, &k.PushConfig, func(c *schemas.PushConfig) error {
				return d.object(pushFields, func(name []byte) error {
					switch string(name) {
					case "DeviceToken":
						return d.str(&c.DeviceToken)
					case "Type":
						return d.str(&c.Type)
					}
					return errSlowPath
				})
			})
		case "Created":
			return d.time(&k.Created)
		case "Updated":
			return d.time(&k.Updated)
		}
		return errSlowPath
	})
}
