package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// userDoc is the stored form of a schemas.User. Every field is omitted when
// empty; in particular the unique fields (norm.*, externalId) must be absent —
// not "" or null — when empty, because their indexes are sparse.
type userDoc struct {
	ID         string    `bson:"_id"`
	Version    int64     `bson:"version"`
	Norm       userNorm  `bson:"norm"`
	UserName   string    `bson:"userName,omitempty"`
	ExternalID string    `bson:"externalId,omitempty"`
	Name       *nameDoc  `bson:"name,omitempty"`
	Display    string    `bson:"displayName,omitempty"`
	NickName   string    `bson:"nickName,omitempty"`
	ProfileURL string    `bson:"profileUrl,omitempty"`
	Title      string    `bson:"title,omitempty"`
	UserType   string    `bson:"userType,omitempty"`
	PrefLang   string    `bson:"preferredLanguage,omitempty"`
	Locale     string    `bson:"locale,omitempty"`
	Timezone   string    `bson:"timezone,omitempty"`
	Birthday   string    `bson:"birthday,omitempty"`
	Emails     []contact `bson:"emails,omitempty"`
	Phones     []contact `bson:"phoneNumbers,omitempty"`
	IMs        []multi   `bson:"ims,omitempty"`
	Photos     []multi   `bson:"photos,omitempty"`
	Addresses  []address `bson:"addresses,omitempty"`
	Entitle    []multi   `bson:"entitlements,omitempty"`
	Roles      []multi   `bson:"roles,omitempty"`
	X509       []multi   `bson:"x509Certificates,omitempty"`
	Enterprise *entDoc   `bson:"enterprise,omitempty"`
	Status     string    `bson:"status,omitempty"`
	StatusAt   time.Time `bson:"statusChangedAt,omitempty"`
	CustomData bson.D    `bson:"customData,omitempty"`
	Apps       []appLink `bson:"apps,omitempty"`
	GroupIDs   []string  `bson:"groupIds,omitempty"`
	Password   *pwDoc    `bson:"password,omitempty"`
	DeviceKeys []devKey  `bson:"deviceKeys,omitempty"`
	Created    time.Time `bson:"created,omitempty"`
	Updated    time.Time `bson:"updated,omitempty"`
	LastAuth   time.Time `bson:"lastAuth,omitempty"`
}

// userNorm holds the normalized scalar fields that unique indexes and exact
// filter push-down use.
type userNorm struct {
	UserName string `bson:"userName,omitempty"` // schemas.Fold(UserName)
	Email    string `bson:"email,omitempty"`    // schemas.Fold(primary email)
	Phone    string `bson:"phone,omitempty"`    // primary phone number, as is
	Status   string `bson:"status,omitempty"`   // schemas.Fold(Status)
	// Groups holds schemas.Fold of each group id: `groups eq` compares
	// case-insensitively (groups.value is not caseExact).
	Groups []string `bson:"groups,omitempty"`
	// Folded copies of the other searched attributes, so that sw (and co,
	// ew, eq) on them is decided by the server: the name parts and display
	// name, and every email and phone number value.
	GivenName   string   `bson:"givenName,omitempty"`
	FamilyName  string   `bson:"familyName,omitempty"`
	DisplayName string   `bson:"displayName,omitempty"`
	Emails      []string `bson:"emails,omitempty"`
	Phones      []string `bson:"phones,omitempty"`
	// Sort holds the keys the server sorts by (see sortKeyOf); every user
	// has them, so they are not omitted.
	Sort userSortKeys `bson:"sort"`
}

// userSortKeys are the sort keys of a user for the sorts the server does.
type userSortKeys struct {
	UserName   string `bson:"userName"`
	FamilyName string `bson:"familyName"`
	Email      string `bson:"email"`
}

// sortField is a norm.sort key: its document field and the user path it
// sorts by.
type sortField struct {
	field string
	path  schemas.Path
}

// The norm.sort keys (userSortKeys), and sortFields, all of them: the paths
// the server sorts users by through a key (beside id, created and updated,
// which every document has).
var (
	sortUserName   = sortField{"norm.sort.userName", userPath("userName")}
	sortFamilyName = sortField{"norm.sort.familyName", userPath("name.familyName")}
	sortEmail      = sortField{"norm.sort.email", userPath("emails.value")}
	sortFields     = []sortField{sortUserName, sortFamilyName, sortEmail}
)

// userPath parses a SCIM path of the user catalog (a fixed one: panics on error).
func userPath(s string) schemas.Path {
	p, err := schemas.ParsePath(s, schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect})
	if err != nil {
		panic(err)
	}
	return p
}

// sortFieldOf is the norm.sort field of the attribute canonical, if any.
func sortFieldOf(canonical string) (string, bool) {
	for _, f := range sortFields {
		if f.path.Attr.Canonical == canonical {
			return f.field, true
		}
	}
	return "", false
}

// sortPathOf is the path the norm.sort field sorts by.
func sortPathOf(field string) schemas.Path {
	for _, f := range sortFields {
		if f.field == field {
			return f.path
		}
	}
	panic("mongo: no sort field " + field)
}

// sortKeyOf is the norm.sort key of u for path p: "1" and the value
// SortUsers orders by (folded unless caseExact), or "2" when u has none, so
// that the server's byte order of the keys is SortUsers' order (users
// without a value last when ascending, first when descending; ties by _id).
func sortKeyOf(u *schemas.User, p schemas.Path) string {
	v, ok := schemas.UserSortValue(u, &p)
	if !ok || v.Kind != schemas.KindString {
		return "2"
	}
	if schemas.SortCaseExact(&p) {
		return "1" + v.Str
	}
	return "1" + schemas.Fold(v.Str)
}

type nameDoc struct {
	Formatted       string `bson:"formatted,omitempty"`
	FamilyName      string `bson:"familyName,omitempty"`
	GivenName       string `bson:"givenName,omitempty"`
	MiddleName      string `bson:"middleName,omitempty"`
	HonorificPrefix string `bson:"honorificPrefix,omitempty"`
	HonorificSuffix string `bson:"honorificSuffix,omitempty"`
}

// contact is an email or a phone number.
type contact struct {
	Value      string    `bson:"value,omitempty"`
	Type       string    `bson:"type,omitempty"`
	Primary    bool      `bson:"primary,omitempty"`
	Display    string    `bson:"display,omitempty"`
	Verified   bool      `bson:"verified,omitempty"`
	VerifiedAt time.Time `bson:"verifiedAt,omitempty"`
}

type multi struct {
	Value   string `bson:"value,omitempty"`
	Type    string `bson:"type,omitempty"`
	Primary bool   `bson:"primary,omitempty"`
	Display string `bson:"display,omitempty"`
}

type address struct {
	Formatted     string    `bson:"formatted,omitempty"`
	StreetAddress string    `bson:"streetAddress,omitempty"`
	Locality      string    `bson:"locality,omitempty"`
	Region        string    `bson:"region,omitempty"`
	PostalCode    string    `bson:"postalCode,omitempty"`
	Country       string    `bson:"country,omitempty"`
	Type          string    `bson:"type,omitempty"`
	Primary       bool      `bson:"primary,omitempty"`
	Updated       time.Time `bson:"updated,omitempty"`
}

type entDoc struct {
	EmployeeNumber string      `bson:"employeeNumber,omitempty"`
	CostCenter     string      `bson:"costCenter,omitempty"`
	Organization   string      `bson:"organization,omitempty"`
	Division       string      `bson:"division,omitempty"`
	Department     string      `bson:"department,omitempty"`
	Manager        *managerDoc `bson:"manager,omitempty"`
}

type managerDoc struct {
	Value       string `bson:"value,omitempty"`
	Ref         string `bson:"ref,omitempty"`
	DisplayName string `bson:"displayName,omitempty"`
}

// appLink is one element of the apps array: the user's data for one application.
// (A map keyed by application id would need $elemMatch-free array queries
// anyway and ids as field names; an array of {appId, …} is queryable as apps.appId.)
type appLink struct {
	AppID             string    `bson:"appId"`
	ExternalAccountID string    `bson:"externalAccountId,omitempty"`
	CustomAppData     bson.D    `bson:"customAppData,omitempty"`
	AssignedAt        time.Time `bson:"assignedAt,omitempty"`
	LastLogin         time.Time `bson:"lastLogin,omitempty"`
}

type pwDoc struct {
	Hash      string    `bson:"hash,omitempty"`
	Temporary bool      `bson:"temporary,omitempty"`
	Updated   time.Time `bson:"updated,omitempty"`
	Expires   time.Time `bson:"expires,omitempty"`
}

type devKey struct {
	KeyID       string    `bson:"keyId,omitempty"`
	DisplayName string    `bson:"displayName,omitempty"`
	Status      string    `bson:"status,omitempty"`
	PublicKey   string    `bson:"publicKey,omitempty"`
	CustomData  bson.D    `bson:"customData,omitempty"`
	PushConfig  *pushDoc  `bson:"pushConfig,omitempty"`
	Created     time.Time `bson:"created,omitempty"`
	Updated     time.Time `bson:"updated,omitempty"`
}

type pushDoc struct {
	DeviceToken string `bson:"deviceToken,omitempty"`
	Type        string `bson:"type,omitempty"`
}

// userToDoc converts a user to its stored form.
func userToDoc(u *schemas.User) (*userDoc, error) {
	d := &userDoc{
		ID:         u.ID,
		Version:    u.Version,
		UserName:   u.UserName,
		ExternalID: u.ExternalID,
		Display:    u.DisplayName,
		NickName:   u.NickName,
		ProfileURL: u.ProfileURL,
		Title:      u.Title,
		UserType:   u.UserType,
		PrefLang:   u.PreferredLanguage,
		Locale:     u.Locale,
		Timezone:   u.Timezone,
		Birthday:   u.Birthday,
		Status:     u.Status,
		StatusAt:   utc(u.StatusChangedAt),
		Created:    utc(u.Created),
		Updated:    utc(u.Updated),
		LastAuth:   utc(u.LastAuth),
	}
	d.Norm = normOf(u)
	if !u.Name.IsZero() {
		n := nameDoc(u.Name)
		d.Name = &n
	}
	for _, e := range u.Emails {
		d.Emails = append(d.Emails, contact{e.Value, e.Type, e.Primary, e.Display, e.Verified, utc(e.VerifiedAt)})
	}
	for _, p := range u.PhoneNumbers {
		d.Phones = append(d.Phones, contact{p.Value, p.Type, p.Primary, p.Display, p.Verified, utc(p.VerifiedAt)})
	}
	d.IMs = multisToDoc(u.IMs)
	d.Photos = multisToDoc(u.Photos)
	d.Entitle = multisToDoc(u.Entitlements)
	d.Roles = multisToDoc(u.Roles)
	d.X509 = multisToDoc(u.X509Certificates)
	for _, a := range u.Addresses {
		d.Addresses = append(d.Addresses, address{a.Formatted, a.StreetAddress, a.Locality, a.Region,
			a.PostalCode, a.Country, a.Type, a.Primary, utc(a.Updated)})
	}
	if e := u.Enterprise; e != nil {
		d.Enterprise = &entDoc{e.EmployeeNumber, e.CostCenter, e.Organization, e.Division, e.Department, nil}
		if m := e.Manager; m != nil {
			d.Enterprise.Manager = &managerDoc{m.Value, m.Ref, m.DisplayName}
		}
	}
	var err error
	if d.CustomData, err = jsonObjectToBSON(u.CustomData); err != nil {
		return nil, fmt.Errorf("mongo: user %s customData: %w", u.ID, err)
	}
	appIDs := make([]string, 0, len(u.Apps))
	for id := range u.Apps {
		appIDs = append(appIDs, id)
	}
	slices.Sort(appIDs)
	for _, id := range appIDs {
		a := u.Apps[id]
		if a == nil {
			a = &schemas.AppLink{}
		}
		l := appLink{AppID: id, ExternalAccountID: a.ExternalAccountID, AssignedAt: utc(a.AssignedAt), LastLogin: utc(a.LastLogin)}
		if l.CustomAppData, err = jsonObjectToBSON(a.CustomAppData); err != nil {
			return nil, fmt.Errorf("mongo: user %s app %s customAppData: %w", u.ID, id, err)
		}
		d.Apps = append(d.Apps, l)
	}
	if len(u.GroupIDs) > 0 {
		d.GroupIDs = slices.Clone(u.GroupIDs)
	}
	if p := u.Password; p != nil {
		d.Password = &pwDoc{p.Hash, p.Temporary, utc(p.Updated), utc(p.Expires)}
	}
	for _, k := range u.DeviceKeys {
		dk := devKey{KeyID: k.KeyID, DisplayName: k.DisplayName, Status: k.Status, PublicKey: k.PublicKey,
			Created: utc(k.Created), Updated: utc(k.Updated)}
		if dk.CustomData, err = jsonObjectToBSON(k.CustomData); err != nil {
			return nil, fmt.Errorf("mongo: user %s device key %s customData: %w", u.ID, k.KeyID, err)
		}
		if pc := k.PushConfig; pc != nil {
			dk.PushConfig = &pushDoc{pc.DeviceToken, pc.Type}
		}
		d.DeviceKeys = append(d.DeviceKeys, dk)
	}
	return d, nil
}

// backfillNorm gives the users stored before norm.sort existed (and the
// folded search copies that came with it) their norm: one find, empty once
// every user has it, then an update per such user that applies only while
// the user still has the version read (a newer write brings its own norm).
// It runs at every Open, so the find selects the users without
// norm.sort.userName (null: missing), which the sort_userName index answers
// — every norm.sort has it — instead of "norm.sort does not exist", which no
// index answers and would scan every user at every start.
func (s *Store) backfillNorm(ctx context.Context) error {
	cur, err := s.users.Find(ctx, bson.D{{Key: "norm.sort.userName", Value: nil}})
	if err != nil {
		return wrap(err, "backfill norm")
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d userDoc
		if err := cur.Decode(&d); err != nil {
			return wrap(err, "backfill norm")
		}
		u, err := d.user()
		if err != nil {
			return err
		}
		_, err = s.users.UpdateOne(ctx, bson.D{{Key: "_id", Value: u.ID}, {Key: "version", Value: d.Version}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "norm", Value: normOf(u)}}}})
		if err != nil {
			return wrap(err, "backfill norm of %s", u.ID)
		}
	}
	if err := cur.Err(); err != nil {
		return wrap(err, "backfill norm")
	}
	return nil
}

// normOf computes the normalized unique and query fields of u.
func normOf(u *schemas.User) userNorm {
	n := userNorm{UserName: schemas.Fold(u.UserName), Status: schemas.Fold(u.Status)}
	if e, ok := u.PrimaryEmail(); ok {
		n.Email = schemas.Fold(e.Value)
	}
	if p, ok := u.PrimaryPhone(); ok {
		n.Phone = p.Value
	}
	for _, g := range u.GroupIDs {
		if f := schemas.Fold(g); f != "" && !slices.Contains(n.Groups, f) {
			n.Groups = append(n.Groups, f)
		}
	}
	n.GivenName, n.FamilyName, n.DisplayName = schemas.Fold(u.Name.GivenName), schemas.Fold(u.Name.FamilyName), schemas.Fold(u.DisplayName)
	for _, e := range u.Emails {
		if f := schemas.Fold(e.Value); f != "" && !slices.Contains(n.Emails, f) {
			n.Emails = append(n.Emails, f)
		}
	}
	for _, p := range u.PhoneNumbers {
		if f := schemas.Fold(p.Value); f != "" && !slices.Contains(n.Phones, f) {
			n.Phones = append(n.Phones, f)
		}
	}
	n.Sort = userSortKeys{
		UserName:   sortKeyOf(u, sortUserName.path),
		FamilyName: sortKeyOf(u, sortFamilyName.path),
		Email:      sortKeyOf(u, sortEmail.path),
	}
	return n
}

func multisToDoc(ms []schemas.MultiValue) []multi {
	var out []multi
	for _, m := range ms {
		out = append(out, multi(m))
	}
	return out
}

func multisFromDoc(ms []multi) []schemas.MultiValue {
	var out []schemas.MultiValue
	for _, m := range ms {
		out = append(out, schemas.MultiValue(m))
	}
	return out
}

// user converts the stored form back to a schemas.User.
func (d *userDoc) user() (*schemas.User, error) {
	u := &schemas.User{
		ID:                d.ID,
		Version:           d.Version,
		UserName:          d.UserName,
		ExternalID:        d.ExternalID,
		DisplayName:       d.Display,
		NickName:          d.NickName,
		ProfileURL:        d.ProfileURL,
		Title:             d.Title,
		UserType:          d.UserType,
		PreferredLanguage: d.PrefLang,
		Locale:            d.Locale,
		Timezone:          d.Timezone,
		Birthday:          d.Birthday,
		Status:            d.Status,
		StatusChangedAt:   utc(d.StatusAt),
		Created:           utc(d.Created),
		Updated:           utc(d.Updated),
		LastAuth:          utc(d.LastAuth),
	}
	if d.Name != nil {
		u.Name = schemas.Name(*d.Name)
	}
	for _, e := range d.Emails {
		u.Emails = append(u.Emails, schemas.Email{Value: e.Value, Type: e.Type, Primary: e.Primary,
			Display: e.Display, Verified: e.Verified, VerifiedAt: utc(e.VerifiedAt)})
	}
	for _, p := range d.Phones {
		u.PhoneNumbers = append(u.PhoneNumbers, schemas.PhoneNumber{Value: p.Value, Type: p.Type, Primary: p.Primary,
			Display: p.Display, Verified: p.Verified, VerifiedAt: utc(p.VerifiedAt)})
	}
	u.IMs = multisFromDoc(d.IMs)
	u.Photos = multisFromDoc(d.Photos)
	u.Entitlements = multisFromDoc(d.Entitle)
	u.Roles = multisFromDoc(d.Roles)
	u.X509Certificates = multisFromDoc(d.X509)
	for _, a := range d.Addresses {
		u.Addresses = append(u.Addresses, schemas.Address{Formatted: a.Formatted, StreetAddress: a.StreetAddress,
			Locality: a.Locality, Region: a.Region, PostalCode: a.PostalCode, Country: a.Country, Type: a.Type,
			Primary: a.Primary, Updated: utc(a.Updated)})
	}
	if e := d.Enterprise; e != nil {
		u.Enterprise = &schemas.EnterpriseUser{EmployeeNumber: e.EmployeeNumber, CostCenter: e.CostCenter,
			Organization: e.Organization, Division: e.Division, Department: e.Department}
		if m := e.Manager; m != nil {
			u.Enterprise.Manager = &schemas.Manager{Value: m.Value, Ref: m.Ref, DisplayName: m.DisplayName}
		}
	}
	var err error
	if u.CustomData, err = bsonToJSONObject(d.CustomData); err != nil {
		return nil, fmt.Errorf("mongo: user %s customData: %w", d.ID, err)
	}
	if len(d.Apps) > 0 {
		u.Apps = make(map[string]*schemas.AppLink, len(d.Apps))
		for _, a := range d.Apps {
			l := &schemas.AppLink{ExternalAccountID: a.ExternalAccountID, AssignedAt: utc(a.AssignedAt), LastLogin: utc(a.LastLogin)}
			if l.CustomAppData, err = bsonToJSONObject(a.CustomAppData); err != nil {
				return nil, fmt.Errorf("mongo: user %s app %s customAppData: %w", d.ID, a.AppID, err)
			}
			u.Apps[a.AppID] = l
		}
	}
	if len(d.GroupIDs) > 0 {
		u.GroupIDs = slices.Clone(d.GroupIDs)
	}
	if p := d.Password; p != nil {
		u.Password = &schemas.PasswordCredential{Hash: p.Hash, Temporary: p.Temporary, Updated: utc(p.Updated), Expires: utc(p.Expires)}
	}
	for _, k := range d.DeviceKeys {
		dk := schemas.DeviceKey{KeyID: k.KeyID, DisplayName: k.DisplayName, Status: k.Status, PublicKey: k.PublicKey,
			Created: utc(k.Created), Updated: utc(k.Updated)}
		if dk.CustomData, err = bsonToJSONObject(k.CustomData); err != nil {
			return nil, fmt.Errorf("mongo: user %s device key %s customData: %w", d.ID, k.KeyID, err)
		}
		if pc := k.PushConfig; pc != nil {
			dk.PushConfig = &schemas.PushConfig{DeviceToken: pc.DeviceToken, Type: pc.Type}
		}
		u.DeviceKeys = append(u.DeviceKeys, dk)
	}
	return u, nil
}

// userConflictChecks lists the unique fields of d in order of precedence.
func userConflictChecks(d *userDoc, withID bool) []conflictCheck {
	var cs []conflictCheck
	if withID {
		cs = append(cs, conflictCheck{storage.FieldID, "_id", d.ID})
	}
	return append(cs,
		conflictCheck{storage.FieldUserName, "norm.userName", d.Norm.UserName},
		conflictCheck{storage.FieldEmail, "norm.email", d.Norm.Email},
		conflictCheck{storage.FieldPhoneNumber, "norm.phone", d.Norm.Phone},
		conflictCheck{storage.FieldExternalID, "externalId", d.ExternalID},
	)
}

// CreateUser stores a new user with Version 1: one round trip to claim its
// login identifiers (logins.go), one to check them against users stored before
// claims existed, one to insert (a duplicate-key error costs one more to find
// out which field collided), and with an event one more to write it.
func (s *Store) CreateUser(ctx context.Context, u *schemas.User, e *schemas.Event) (_ *schemas.User, err error) {
	if u == nil || u.ID == "" {
		return nil, errors.New("mongo: create user: no id")
	}
	c := u.Clone()
	c.Version = 1
	d, err := userToDoc(c)
	if err != nil {
		return nil, err
	}
	claimed, err := s.claimLogins(ctx, c.ID, storage.LoginIDs(c))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.releaseLogins(ctx, claimed)
		}
	}()
	err = s.audited(ctx, e, func() error { return s.insert(ctx, s.users, d, "user "+u.ID, userConflictChecks(d, true)) })
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GetUser returns the user with the given id (one round trip).
func (s *Store) GetUser(ctx context.Context, id string) (*schemas.User, error) {
	d, err := s.getUserDoc(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return nil, notFound(err, "get user %s", id)
	}
	return d.user()
}

func (s *Store) getUserDoc(ctx context.Context, filter bson.D) (*userDoc, error) {
	var d userDoc
	if err := s.users.FindOne(ctx, filter).Decode(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

// FindUser returns the user whose unique field has the value (one round trip).
func (s *Store) FindUser(ctx context.Context, field, value string) (*schemas.User, error) {
	var key, v string
	switch field {
	case storage.FieldUserName:
		key, v = "norm.userName", schemas.Fold(value)
	case storage.FieldEmail:
		key, v = "norm.email", schemas.Fold(value)
	case storage.FieldPhoneNumber:
		key, v = "norm.phone", value
	case storage.FieldExternalID:
		key, v = "externalId", value
	default:
		return nil, fmt.Errorf("mongo: find user: %q is not a unique user field", field)
	}
	if v == "" {
		return nil, storage.ErrNotFound // empty values are not stored, so never match
	}
	d, err := s.getUserDoc(ctx, bson.D{{Key: key, Value: v}})
	if err != nil {
		return nil, notFound(err, "find user by %s", field)
	}
	return d.user()
}

// UpdateUser applies fn under compare-and-swap: read, change a copy, and
// ReplaceOne({_id, version: old}); a lost race reads again (two round trips
// when uncontended).
func (s *Store) UpdateUser(ctx context.Context, id string, ifVersion int64, fn func(*schemas.User) error, audit storage.Audit[*schemas.User]) (*schemas.User, error) {
	return cas(ctx, s, s.users, userDocs, id, ifVersion, nil, func(u *schemas.User) (bool, error) { return true, fn(u) }, audit)
}

// casUser is [cas] on the users collection, without an audit event (for the
// users a membership or application change touches; the event is that of the
// change).
func (s *Store) casUser(ctx context.Context, id string, ifVersion int64, first *userDoc,
	fn func(*schemas.User) (bool, error)) (*schemas.User, error) {
	return cas(ctx, s, s.users, userDocs, id, ifVersion, first, fn, nil)
}

// userDocs describes the users collection to [cas].
var userDocs = docKind[userDoc, *schemas.User]{
	noun:    "user",
	version: func(d *userDoc) int64 { return d.Version },
	decode:  (*userDoc).user,
	stamp:   func(u *schemas.User, id string, version int64) { u.ID, u.Version = id, version },
	encode:  userToDoc,
	checks:  userConflictChecks,
	logins:  storage.LoginIDs,
}

// DeleteUser removes the user; its memberships go with it (one round trip,
// and one to write the event), and then its login identifier claims (one more).
func (s *Store) DeleteUser(ctx context.Context, id string, e *schemas.Event) error {
	var d userDoc
	err := s.audited(ctx, e, func() error {
		if err := s.users.FindOneAndDelete(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
			return notFound(err, "delete user %s", id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if u, err := d.user(); err == nil {
		s.dropLogins(ctx, id, storage.LoginIDs(u))
	}
	return nil
}

// deleteOne deletes document id of c, or fails with storage.ErrNotFound.
func (s *Store) deleteOne(ctx context.Context, c *mdb.Collection, id, noun string) error {
	res, err := c.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return wrap(err, "delete %s %s", noun, id)
	}
	if res.DeletedCount == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// ListUsers returns one page of the matching users. Filters that translate
// exactly to MongoDB (see pushdown.go) with no sort, or a sort by created or
// updated, are answered by the server (a find and a count: two round trips);
// anything else fetches the candidates the exact part of the filter selects
// and filters, sorts and pages them with schemas.MatchUser and schemas.SortUsers.
//
// Paging by cursor (Query.After, Page.Next): under a sort the server runs,
// a cursor is the last user's position (its value of the sort field and
// id), and the next page a range of the field's index; under any other, an
// offset. Query.CountLimit bounds the server's count.
func (s *Store) ListUsers(ctx context.Context, q storage.Query) (storage.Page[*schemas.User], error) {
	sort, ok := serverSort(q.Sort)
	if !ok {
		sort = nil
	}
	cur, err := parseUserCursor(q, sort)
	if err != nil {
		return storage.Page[*schemas.User]{}, err
	}
	filter, exact := userFilter(q.Filter)
	if exact && sort != nil {
		return listUsersServer(ctx, s.users, filter, sort, cur, q)
	}
	all := q
	all.Offset, all.Limit = 0, storage.Unlimited
	page, err := list(ctx, s.users, "users", all, filter, exact, (*userDoc).user, schemas.MatchUser, schemas.SortUsers)
	if err != nil {
		return page, err
	}
	return pageUsersInMemory(page.Items, sort, cur, q), nil
}

// list answers a list query on collection c (documents D, whose domain form
// is T), as ListUsers describes: filter is the query's filter translated
// (userFilter, groupFilter), exact whether the translation is; match and
// sortBy evaluate the query here when the server cannot.
func list[D, T any](ctx context.Context, c *mdb.Collection, what string, q storage.Query,
	filter bson.D, exact bool, decode func(*D) (T, error),
	match func(schemas.Filter, T) bool, sortBy func([]T, *schemas.SortKey)) (storage.Page[T], error) {
	var page storage.Page[T]
	if sort, ok := serverSort(q.Sort); exact && ok {
		docs, total, err := listServer[D](ctx, c, filter, sort, q.Offset, q.Limit)
		if err != nil {
			return page, wrap(err, "list %s", what)
		}
		page.Total = total
		page.Items, err = decodeAll(docs, decode)
		return page, err
	}
	docs, err := findAll[D](ctx, c, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return page, wrap(err, "list %s", what)
	}
	var all []T
	for i := range docs {
		v, err := decode(&docs[i])
		if err != nil {
			return page, err
		}
		if q.Filter == nil || exact || match(q.Filter, v) {
			all = append(all, v)
		}
	}
	if q.Sort != nil {
		sortBy(all, q.Sort)
	}
	page.Total = len(all)
	page.Items = pageOf(all, q.Offset, q.Limit)
	return page, nil
}

// decodeAll converts documents to their domain form (nil when there are none).
func decodeAll[D, T any](docs []D, decode func(*D) (T, error)) ([]T, error) {
	var out []T
	for i := range docs {
		v, err := decode(&docs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// pageOf returns the [offset, offset+limit) window of all.
func pageOf[T any](all []T, offset, limit int) []T {
	if offset < 0 {
		offset = 0
	}
	if offset >= len(all) || limit == 0 {
		return nil
	}
	end := len(all)
	if limit > 0 && offset+limit < end {
		end = offset + limit
	}
	return all[offset:end]
}

// listByID returns every document of c matching filter in id order, each
// converted by conv; what names the list in errors. With fields, the find
// reads only those fields of each document (a projection).
func listByID[D, T any](ctx context.Context, c *mdb.Collection, filter bson.D, what string, conv func(*D) T, fields ...string) ([]T, error) {
	o := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if len(fields) > 0 {
		proj := make(bson.D, len(fields))
		for i, f := range fields {
			proj[i] = bson.E{Key: f, Value: 1}
		}
		o.SetProjection(proj)
	}
	docs, err := findAll[D](ctx, c, filter, o)
	if err != nil {
		return nil, wrap(err, "list %s", what)
	}
	out := make([]T, len(docs))
	for i := range docs {
		out[i] = conv(&docs[i])
	}
	return out, nil
}

// findAll runs a find and decodes every document.
func findAll[T any](ctx context.Context, c *mdb.Collection, filter any, o *options.FindOptionsBuilder) ([]T, error) {
	cur, err := c.Find(ctx, filter, o)
	if err != nil {
		return nil, err
	}
	var docs []T
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return docs, nil
}

// listServer pages on the server: a find with sort, skip and limit, and a count
// unless the page itself shows the total (Limit 0: the count only).
func listServer[T any](ctx context.Context, c *mdb.Collection, filter, sort bson.D, offset, limit int) ([]T, int, error) {
	if offset < 0 {
		offset = 0
	}
	count := func() (int, error) {
		n, err := c.CountDocuments(ctx, filter)
		return int(n), err
	}
	if limit == 0 {
		n, err := count()
		return nil, n, err
	}
	o := options.Find().SetSort(sort)
	if offset > 0 {
		o.SetSkip(int64(offset))
	}
	if limit > 0 {
		o.SetLimit(int64(limit))
	}
	docs, err := findAll[T](ctx, c, filter, o)
	if err != nil {
		return nil, 0, err
	}
	// A page that is not full and not past the end tells the total by itself.
	if (limit < 0 || len(docs) < limit) && (len(docs) > 0 || offset == 0) {
		return docs, offset + len(docs), nil
	}
	n, err := count()
	return docs, n, err
}
