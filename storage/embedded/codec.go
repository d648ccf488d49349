package embedded

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

	"github.com/scimd/scimd/schemas"
)

// Users are stored in the binary records of usercodec.go; userRec is the JSON
// record of format 1, read only to migrate such a file.
//
// The file stores JSON of the mirror structs below, never of the domain types:
// the domain types carry no tags, and the short field names keep the file (and
// the time spent encoding) small. Free-form JSON (custom data, audit changes) is
// decoded with UseNumber, so json.Number values round-trip exactly.
//
// Every value kept in memory is the decoded form of what was written to the file,
// so a document reads the same before and after a restart.

type userRec struct {
	ID   string                 `json:"id"`
	V    int64                  `json:"v,omitempty"` // format 1 only: since 2 in the userVersions bucket
	UN   string                 `json:"un,omitempty"`
	XID  string                 `json:"xid,omitempty"`
	N    *nameRec               `json:"n,omitempty"`
	DN   string                 `json:"dn,omitempty"`
	NN   string                 `json:"nn,omitempty"`
	PU   string                 `json:"pu,omitempty"`
	Ti   string                 `json:"ti,omitempty"`
	UT   string                 `json:"ut,omitempty"`
	PL   string                 `json:"pl,omitempty"`
	Lo   string                 `json:"lo,omitempty"`
	TZ   string                 `json:"tz,omitempty"`
	BD   string                 `json:"bd,omitempty"`
	Em   []emailRec             `json:"em,omitempty"`
	Ph   []emailRec             `json:"ph,omitempty"`
	IM   []mvRec                `json:"im,omitempty"`
	Pho  []mvRec                `json:"pho,omitempty"`
	Ad   []addrRec              `json:"ad,omitempty"`
	Ent  []mvRec                `json:"ent,omitempty"`
	Ro   []mvRec                `json:"ro,omitempty"`
	X5   []mvRec                `json:"x5,omitempty"`
	EU   *enterpriseRec         `json:"eu,omitempty"`
	St   string                 `json:"st,omitempty"`
	StAt time.Time              `json:"sta,omitzero"`
	CD   map[string]any         `json:"cd,omitempty"`
	Apps map[string]*appLinkRec `json:"apps,omitempty"`
	G    []string               `json:"g,omitempty"` // format 1 only: since 2 in the userGroups bucket
	Pw   *passwordRec           `json:"pw,omitempty"`
	DK   []deviceKeyRec         `json:"dk,omitempty"`
	Cr   time.Time              `json:"cr,omitzero"`
	Up   time.Time              `json:"up,omitzero"`
	LA   time.Time              `json:"la,omitzero"`
}

type nameRec struct {
	F  string `json:"f,omitempty"`
	Fa string `json:"fa,omitempty"`
	G  string `json:"g,omitempty"`
	M  string `json:"m,omitempty"`
	HP string `json:"hp,omitempty"`
	HS string `json:"hs,omitempty"`
}

// emailRec holds an email or a phone number (they have the same shape).
type emailRec struct {
	V   string    `json:"v,omitempty"`
	T   string    `json:"t,omitempty"`
	P   bool      `json:"p,omitempty"`
	D   string    `json:"d,omitempty"`
	Vf  bool      `json:"vf,omitempty"`
	VAt time.Time `json:"va,omitzero"`
}

type mvRec struct {
	V string `json:"v,omitempty"`
	T string `json:"t,omitempty"`
	P bool   `json:"p,omitempty"`
	D string `json:"d,omitempty"`
}

type addrRec struct {
	F  string    `json:"f,omitempty"`
	S  string    `json:"s,omitempty"`
	L  string    `json:"l,omitempty"`
	R  string    `json:"r,omitempty"`
	PC string    `json:"pc,omitempty"`
	C  string    `json:"c,omitempty"`
	T  string    `json:"t,omitempty"`
	P  bool      `json:"p,omitempty"`
	U  time.Time `json:"u,omitzero"`
}

type enterpriseRec struct {
	EN  string      `json:"en,omitempty"`
	CC  string      `json:"cc,omitempty"`
	Org string      `json:"org,omitempty"`
	Div string      `json:"div,omitempty"`
	Dep string      `json:"dep,omitempty"`
	M   *managerRec `json:"m,omitempty"`
}

type managerRec struct {
	V   string `json:"v,omitempty"`
	Ref string `json:"ref,omitempty"`
	D   string `json:"d,omitempty"`
}

type appLinkRec struct {
	XA string         `json:"xa,omitempty"`
	CD map[string]any `json:"cd,omitempty"`
	At time.Time      `json:"at,omitzero"`
	LL time.Time      `json:"ll,omitzero"`
}

type passwordRec struct {
	H  string    `json:"h,omitempty"`
	T  bool      `json:"t,omitempty"`
	U  time.Time `json:"u,omitzero"`
	Ex time.Time `json:"ex,omitzero"`
}

type deviceKeyRec struct {
	K  string         `json:"k,omitempty"`
	DN string         `json:"dn,omitempty"`
	St string         `json:"st,omitempty"`
	PK string         `json:"pk,omitempty"`
	CD map[string]any `json:"cd,omitempty"`
	PC *pushRec       `json:"pc,omitempty"`
	Cr time.Time      `json:"cr,omitzero"`
	Up time.Time      `json:"up,omitzero"`
}

type pushRec struct {
	DT string `json:"dt,omitempty"`
	T  string `json:"t,omitempty"`
}

type groupRec struct {
	ID  string         `json:"id"`
	V   int64          `json:"v"`
	DN  string         `json:"dn,omitempty"`
	XID string         `json:"xid,omitempty"`
	De  string         `json:"de,omitempty"`
	CD  map[string]any `json:"cd,omitempty"`
	Cr  time.Time      `json:"cr,omitzero"`
	Up  time.Time      `json:"up,omitzero"`
}

type appRec struct {
	ID  string      `json:"id"`
	V   int64       `json:"v"`
	K   string      `json:"k,omitempty"`
	N   string      `json:"n,omitempty"`
	De  string      `json:"de,omitempty"`
	LU  string      `json:"lu,omitempty"`
	RU  []string    `json:"ru,omitempty"`
	PS  bool        `json:"ps,omitempty"`
	CID string      `json:"cid,omitempty"`
	Sec []secretRec `json:"sec,omitempty"`
	Cr  time.Time   `json:"cr,omitzero"`
	Up  time.Time   `json:"up,omitzero"`
}

type secretRec struct {
	H  string    `json:"h,omitempty"`
	Cr time.Time `json:"cr,omitzero"`
	Ex time.Time `json:"ex,omitzero"`
}

type tokenRec struct {
	ID  string    `json:"id"`
	De  string    `json:"de,omitempty"`
	H   string    `json:"h,omitempty"`
	App string    `json:"app,omitempty"`
	Sc  []string  `json:"sc,omitempty"` // absent in records written before scopes existed
	Cr  time.Time `json:"cr,omitzero"`
	Ex  time.Time `json:"ex,omitzero"`
	LU  time.Time `json:"lu,omitzero"`
	By  string    `json:"by,omitempty"`
}

type keyRec struct {
	ID  string    `json:"id"`
	Alg string    `json:"alg,omitempty"`
	Pri []byte    `json:"pri,omitempty"`
	Pub []byte    `json:"pub,omitempty"`
	Cr  time.Time `json:"cr,omitzero"`
	NA  time.Time `json:"na,omitzero"`
}

type eventRec struct {
	ID string    `json:"id"`
	T  time.Time `json:"t,omitzero"`
	A  string    `json:"a,omitempty"`
	AT string    `json:"at,omitempty"`
	Ac string    `json:"ac,omitempty"`
	Tg string    `json:"tg,omitempty"`
	TT string    `json:"tt,omitempty"`
	IP string    `json:"ip,omitempty"`
	UA string    `json:"ua,omitempty"`
	// Ch must stay the last field: decodeEventHead reads the fields before it.
	Ch map[string]changeRec `json:"ch,omitempty"`
}

type changeRec struct {
	P any `json:"p,omitempty"`
	C any `json:"c,omitempty"`
}

// utc normalizes a time for storage: UTC, no monotonic reading.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// convertAll converts each element of in with f; nil when in is empty, as
// decoding gives.
func convertAll[In, Out any](in []In, f func(In) Out) []Out {
	if len(in) == 0 {
		return nil
	}
	out := make([]Out, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func toEmailRec(e schemas.Email) emailRec {
	return emailRec{V: e.Value, T: e.Type, P: e.Primary, D: e.Display, Vf: e.Verified, VAt: utc(e.VerifiedAt)}
}

func (e emailRec) email() schemas.Email {
	return schemas.Email{Value: e.V, Type: e.T, Primary: e.P, Display: e.D, Verified: e.Vf, VerifiedAt: e.VAt}
}

// A phone number has the shape of an email.
func toPhoneRec(p schemas.PhoneNumber) emailRec { return toEmailRec(schemas.Email(p)) }
func (e emailRec) phone() schemas.PhoneNumber   { return schemas.PhoneNumber(e.email()) }

func toMVRec(m schemas.MultiValue) mvRec {
	return mvRec{V: m.Value, T: m.Type, P: m.Primary, D: m.Display}
}

func (m mvRec) multiValue() schemas.MultiValue {
	return schemas.MultiValue{Value: m.V, Type: m.T, Primary: m.P, Display: m.D}
}

func (r *userRec) user() *schemas.User {
	u := &schemas.User{
		ID: r.ID, Version: r.V, UserName: r.UN, ExternalID: r.XID,
		DisplayName: r.DN, NickName: r.NN, ProfileURL: r.PU, Title: r.Ti, UserType: r.UT,
		PreferredLanguage: r.PL, Locale: r.Lo, Timezone: r.TZ, Birthday: r.BD,
		Emails: convertAll(r.Em, emailRec.email), PhoneNumbers: convertAll(r.Ph, emailRec.phone),
		IMs: convertAll(r.IM, mvRec.multiValue), Photos: convertAll(r.Pho, mvRec.multiValue),
		Entitlements: convertAll(r.Ent, mvRec.multiValue), Roles: convertAll(r.Ro, mvRec.multiValue),
		X509Certificates: convertAll(r.X5, mvRec.multiValue), Status: r.St, StatusChangedAt: r.StAt,
		CustomData: r.CD, GroupIDs: r.G, Created: r.Cr, Updated: r.Up, LastAuth: r.LA,
	}
	if n := r.N; n != nil {
		u.Name = schemas.Name{Formatted: n.F, FamilyName: n.Fa, GivenName: n.G, MiddleName: n.M, HonorificPrefix: n.HP, HonorificSuffix: n.HS}
	}
	if len(r.Ad) > 0 {
		u.Addresses = make([]schemas.Address, len(r.Ad))
		for i, a := range r.Ad {
			u.Addresses[i] = schemas.Address{Formatted: a.F, StreetAddress: a.S, Locality: a.L, Region: a.R, PostalCode: a.PC,
				Country: a.C, Type: a.T, Primary: a.P, Updated: a.U}
		}
	}
	if e := r.EU; e != nil {
		u.Enterprise = &schemas.EnterpriseUser{EmployeeNumber: e.EN, CostCenter: e.CC, Organization: e.Org, Division: e.Div, Department: e.Dep}
		if m := e.M; m != nil {
			u.Enterprise.Manager = &schemas.Manager{Value: m.V, Ref: m.Ref, DisplayName: m.D}
		}
	}
	if len(r.Apps) > 0 {
		u.Apps = make(map[string]*schemas.AppLink, len(r.Apps))
		for id, a := range r.Apps {
			if a == nil {
				a = &appLinkRec{}
			}
			u.Apps[id] = &schemas.AppLink{ExternalAccountID: a.XA, CustomAppData: a.CD, AssignedAt: a.At, LastLogin: a.LL}
		}
	}
	if p := r.Pw; p != nil {
		u.Password = &schemas.PasswordCredential{Hash: p.H, Temporary: p.T, Updated: p.U, Expires: p.Ex}
	}
	if len(r.DK) > 0 {
		u.DeviceKeys = make([]schemas.DeviceKey, len(r.DK))
		for i, d := range r.DK {
			k := schemas.DeviceKey{KeyID: d.K, DisplayName: d.DN, Status: d.St, PublicKey: d.PK, CustomData: d.CD,
				Created: d.Cr, Updated: d.Up}
			if d.PC != nil {
				k.PushConfig = &schemas.PushConfig{DeviceToken: d.PC.DT, Type: d.PC.T}
			}
			u.DeviceKeys[i] = k
		}
	}
	return u
}

// encodeUser returns the stored record of u (without its Version and
// GroupIDs, which are stored apart) and u as read back from the file: the
// decoded record with u's Version and GroupIDs.
func encodeUser(u *schemas.User) ([]byte, *schemas.User, error) {
	b, err := encodeUserRecord(u)
	if err != nil {
		return nil, nil, err
	}
	d, err := decodeUserRecord(b)
	if err != nil {
		return nil, nil, err
	}
	d.Version, d.GroupIDs = u.Version, slices.Clone(u.GroupIDs)
	return b, d, nil
}

// decodeUser decodes a user record (format 3: binary, without Version and
// GroupIDs, which the caller completes).
func decodeUser(b []byte) (*schemas.User, error) { return decodeUserRecord(b) }

// decodeUserV1 decodes a user record of format 1: JSON of userRec, holding
// the user's Version and GroupIDs.
func decodeUserV1(b []byte) (*schemas.User, error) {
	var r userRec
	if err := schemas.DecodeJSON(b, &r); err != nil {
		return nil, err
	}
	return r.user(), nil
}

func encodeGroup(g *schemas.Group) ([]byte, *schemas.Group, error) {
	b, err := json.Marshal(&groupRec{ID: g.ID, V: g.Version, DN: g.DisplayName, XID: g.ExternalID, De: g.Description,
		CD: g.CustomData, Cr: utc(g.Created), Up: utc(g.Updated)})
	if err != nil {
		return nil, nil, err
	}
	d, err := decodeGroup(b)
	return b, d, err
}

func decodeGroup(b []byte) (*schemas.Group, error) {
	var r groupRec
	if err := schemas.DecodeJSON(b, &r); err != nil {
		return nil, err
	}
	return &schemas.Group{ID: r.ID, Version: r.V, DisplayName: r.DN, ExternalID: r.XID, Description: r.De,
		CustomData: r.CD, Created: r.Cr, Updated: r.Up}, nil
}

func encodeApp(a *schemas.App) ([]byte, *schemas.App, error) {
	r := &appRec{ID: a.ID, V: a.Version, K: a.Kind, N: a.Name, De: a.Description, LU: a.LoginURI, RU: a.RedirectURIs,
		PS: a.AllowPublicSignup, CID: a.ClientID, Cr: utc(a.Created), Up: utc(a.Updated)}
	for _, s := range a.Secrets {
		r.Sec = append(r.Sec, secretRec{H: s.Hash, Cr: utc(s.Created), Ex: utc(s.Expires)})
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, nil, err
	}
	d, err := decodeApp(b)
	return b, d, err
}

func decodeApp(b []byte) (*schemas.App, error) {
	var r appRec
	if err := schemas.DecodeJSON(b, &r); err != nil {
		return nil, err
	}
	a := &schemas.App{ID: r.ID, Version: r.V, Kind: r.K, Name: r.N, Description: r.De, LoginURI: r.LU,
		RedirectURIs: r.RU, AllowPublicSignup: r.PS, ClientID: r.CID, Created: r.Cr, Updated: r.Up}
	for _, s := range r.Sec {
		a.Secrets = append(a.Secrets, schemas.ClientSecret{Hash: s.H, Created: s.Cr, Expires: s.Ex})
	}
	return a, nil
}

func encodeToken(t *schemas.APIToken) ([]byte, *schemas.APIToken, error) {
	b, err := json.Marshal(&tokenRec{ID: t.ID, De: t.Description, H: t.Hash, App: t.AppID, Sc: t.Scopes, Cr: utc(t.Created),
		Ex: utc(t.Expires), LU: utc(t.LastUsedAt), By: t.CreatedBy})
	if err != nil {
		return nil, nil, err
	}
	d, err := decodeToken(b)
	return b, d, err
}

func decodeToken(b []byte) (*schemas.APIToken, error) {
	var r tokenRec
	if err := schemas.DecodeJSON(b, &r); err != nil {
		return nil, err
	}
	return &schemas.APIToken{ID: r.ID, Description: r.De, Hash: r.H, AppID: r.App, Scopes: r.Sc, Created: r.Cr,
		Expires: r.Ex, LastUsedAt: r.LU, CreatedBy: r.By}, nil
}

func encodeKeys(ks []*schemas.SigningKey) ([]byte, []*schemas.SigningKey, error) {
	rs := make([]keyRec, 0, len(ks))
	for _, k := range ks {
		if k == nil {
			continue
		}
		rs = append(rs, keyRec{ID: k.ID, Alg: k.Algorithm, Pri: k.PrivateKey, Pub: k.PublicKey, Cr: utc(k.Created), NA: utc(k.NotAfter)})
	}
	b, err := json.Marshal(rs)
	if err != nil {
		return nil, nil, err
	}
	d, err := decodeKeys(b)
	return b, d, err
}

func decodeKeys(b []byte) ([]*schemas.SigningKey, error) {
	var rs []keyRec
	if err := schemas.DecodeJSON(b, &rs); err != nil {
		return nil, err
	}
	out := make([]*schemas.SigningKey, len(rs))
	for i, r := range rs {
		out[i] = &schemas.SigningKey{ID: r.ID, Algorithm: r.Alg, PrivateKey: r.Pri, PublicKey: r.Pub, Created: r.Cr, NotAfter: r.NA}
	}
	return out, nil
}

func cloneKeys(ks []*schemas.SigningKey) []*schemas.SigningKey {
	if ks == nil {
		return nil
	}
	out := make([]*schemas.SigningKey, len(ks))
	for i, k := range ks {
		c := *k
		c.PrivateKey = bytes.Clone(k.PrivateKey)
		c.PublicKey = bytes.Clone(k.PublicKey)
		out[i] = &c
	}
	return out
}

// encodeEvent returns the record of e, to be stored under eventKey(e.Time,
// e.ID) (binary: see eventcodec.go).
func encodeEvent(e *schemas.Event) ([]byte, error) { return encodeEventRecord(e) }

// decodeEvent decodes the event record b stored under the key k: binary,
// or JSON of eventRec as written before the binary codec.
func decodeEvent(k, b []byte) (*schemas.Event, error) {
	if binaryEvent(b) {
		return decodeEventRecord(k, b)
	}
	var r eventRec
	if err := schemas.DecodeJSON(b, &r); err != nil {
		return nil, err
	}
	e := &schemas.Event{ID: r.ID, Time: r.T, ActorID: r.A, ActorType: r.AT, Action: r.Ac, TargetID: r.Tg,
		TargetType: r.TT, IP: r.IP, UserAgent: r.UA}
	if len(r.Ch) > 0 {
		e.Changes = make(map[string]schemas.Change, len(r.Ch))
		for k, c := range r.Ch {
			e.Changes[k] = schemas.Change{Prev: c.P, Current: c.C}
		}
	}
	return e, nil
}

// encodeUserOnly encodes the record of u (without Version and GroupIDs)
// without decoding it back: for copies of stored users changed in ways that
// keep them in decoded form.
func encodeUserOnly(u *schemas.User) ([]byte, error) { return encodeUserRecord(u) }
