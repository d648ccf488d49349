package schemas

import "strings"

// AuditView renders what a user or group stores, as audit change records name
// it: the values of the catalog's top-level attributes keyed by canonical path
// ("userName", "name", "emails", "enterprise.department", "customData",
// "apps", …), complex values as objects keyed by the last segment of their
// sub-attributes' canonical paths ("givenName", "value", "primary",
// "externalAccountId", "customAppData"), times in RFC 3339 UTC with
// milliseconds. A user's "apps" is an object keyed by application id.
//
// Only real values appear: empty strings, false, zero times, empty lists and
// objects are left out, and so are attributes that are views of others
// (primaryEmail, secondaryEmails, active, picture, passwordInformation, …),
// bookkeeping (id, meta, statusChangedAt, lastAuth), membership (groups,
// members: recorded by their own events) and the password (secret). A nil
// document gives an empty view.
func AuditView(doc any) map[string]any {
	var c *catalog
	switch d := doc.(type) {
	case *User:
		if d == nil {
			return map[string]any{}
		}
		c = userCatalog
	case *Group:
		if d == nil {
			return map[string]any{}
		}
		c = groupCatalog
	default:
		return map[string]any{}
	}
	out := map[string]any{}
	for _, a := range c.top {
		if a.notAudited() {
			continue
		}
		if v := auditValue(doc, a); v != nil {
			out[a.Canonical] = v
		}
	}
	return out
}

// notAudited reports whether a top-level attribute is a view of others,
// bookkeeping, membership or secret (see AuditView).
func (a *Attribute) notAudited() bool {
	switch a.acc.elems {
	case eMeta, eGroups, ePrimaryAddress, eSecondaryEmails, eSecondaryPhones, ePassword:
		return true
	}
	switch a.acc.field {
	case fID, fActive, fStatusChangedAt, fLastAuth, fPicture, fPrimaryEmail, fPrimaryEmailVerified,
		fPrimaryEmailVerifiedAt, fPrimaryPhone, fPrimaryPhoneVerified, fPrimaryPhoneVerifiedAt:
		return true
	}
	// password (write-only, no accessor) and group members (no stored elements here)
	return a.acc.field == fNone && a.acc.elems == eNone && !a.acc.keyed
}

// auditValue is the JSON value of the top-level attribute a on doc, or nil.
func auditValue(doc any, a *Attribute) any {
	p := &Path{Attr: a}
	switch {
	case a.acc.keyed:
		var m map[string]any
		eachJSONRoot(doc, p, func(r map[string]any) bool { m = r; return false })
		if len(m) == 0 {
			return nil
		}
		return CloneJSONObject(m)
	case a.acc.elems == eApp:
		u := doc.(*User)
		apps := map[string]any{}
		for id := range u.Apps {
			ap := &Path{Attr: a, AppID: id}
			readElems(doc, a, ap, func(e any) bool {
				o := auditObject(e, a, ap)
				if o == nil {
					o = map[string]any{} // assigned, without app-level data
				}
				apps[id] = o
				return false
			})
		}
		if len(apps) == 0 {
			return nil
		}
		return apps
	case len(a.SubAttributes) > 0:
		var elems []any
		readElems(doc, a, p, func(e any) bool {
			if o := auditObject(e, a, p); o != nil {
				elems = append(elems, o)
			}
			return true
		})
		switch {
		case len(elems) == 0:
			return nil
		case a.MultiValued:
			return elems
		default:
			return elems[0]
		}
	default:
		return auditScalars(doc, a, p, a.MultiValued)
	}
}

// auditObject renders one element of the complex attribute a, or nil when it
// holds no value.
func auditObject(e any, a *Attribute, p *Path) map[string]any {
	o := map[string]any{}
	for _, s := range a.SubAttributes {
		if s.acc.field == fLocation || s.acc.field == fGroupRef {
			continue // computed when rendering, not stored
		}
		key := s.Canonical[strings.LastIndexByte(s.Canonical, '.')+1:]
		if l, ok := e.(*AppLink); ok && s.acc.field == fCustomAppData {
			if len(l.CustomAppData) > 0 {
				o[key] = CloneJSONObject(l.CustomAppData)
			}
			continue
		}
		if v := auditScalars(e, s, p, s.MultiValued); v != nil {
			o[key] = v
		}
	}
	if len(o) == 0 {
		return nil
	}
	return o
}

// auditScalars is the value (multi: the list of values) of the scalar
// attribute a read from doc (a root document or an element), or nil.
func auditScalars(doc any, a *Attribute, p *Path, multi bool) any {
	var vals []any
	readValues(doc, a, p, func(v Value) bool {
		if j := auditScalar(v); j != nil {
			vals = append(vals, j)
		}
		return true
	})
	switch {
	case len(vals) == 0:
		return nil
	case multi:
		return vals
	default:
		return vals[0]
	}
}

// auditScalar is the JSON form of a real value, or nil for a non-value
// (null, "", false, the zero time).
func auditScalar(v Value) any {
	switch v.Kind {
	case KindString:
		if v.Str != "" {
			return v.Str
		}
	case KindNumber:
		return v.Num
	case KindBool:
		if v.Bool {
			return true
		}
	case KindTime:
		if !v.Time.IsZero() {
			return v.Time.UTC().Format(auditTimeLayout)
		}
	}
	return nil
}

// auditTimeLayout is RFC 3339 in UTC with milliseconds, as stored.
const auditTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// NativeApp renders the settings of an application under the native API's
// field names (app_id, app_name, app_description, client_id and, for a
// regular application, login_uri, redirect_uris, allow_public_signup): the
// body of the native application object and the view audit records compare.
func NativeApp(a *App) map[string]any {
	if a == nil {
		return map[string]any{}
	}
	m := map[string]any{"app_id": a.ID, "app_name": a.Name, "app_description": a.Description, "client_id": a.ClientID}
	if a.Kind == AppRegular {
		redirects := a.RedirectURIs
		if redirects == nil {
			redirects = []string{}
		}
		m["login_uri"], m["redirect_uris"], m["allow_public_signup"] = a.LoginURI, redirects, a.AllowPublicSignup
	}
	return m
}
