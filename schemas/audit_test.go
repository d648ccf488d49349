package schemas_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	. "github.com/scimd/scimd/schemas"
)

// auditView is the whole audit view of a document: what AuditDiff yields
// against an empty document, each attribute rendered (the reference the
// shortcut of equal stored values is checked against).
func auditView(doc any) map[string]any {
	out := map[string]any{}
	AuditDiff(nil, doc, func(k string, _, v any) { out[k] = v })
	return out
}

// jsonSame is the audit's equality of two view values: equal JSON encodings.
func jsonSame(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// viewDiff is the set of changed keys between the whole views of two documents.
func viewDiff(prev, cur any) map[string][2]any {
	out := map[string][2]any{}
	pv, cv := auditView(prev), auditView(cur)
	for k, b := range cv {
		if a := pv[k]; !jsonSame(a, b) {
			out[k] = [2]any{a, b}
		}
	}
	for k, a := range pv {
		if _, ok := cv[k]; !ok {
			out[k] = [2]any{a, nil}
		}
	}
	return out
}

func diffOf(prev, cur any) (changed map[string][2]any, yielded int) {
	changed = map[string][2]any{}
	AuditDiff(prev, cur, func(k string, a, b any) {
		yielded++
		if !jsonSame(a, b) {
			changed[k] = [2]any{a, b}
		}
	})
	return changed, yielded
}

// TestAuditDiff: AuditDiff finds exactly the changes a comparison of the two
// whole audit views finds, for a change of every kind of attribute, and
// renders nothing for attributes whose stored values are equal.
func TestAuditDiff(t *testing.T) {
	paris := time.FixedZone("Paris", 3600)
	userChanges := map[string]func(u *User){
		"none":              func(*User) {},
		"userName":          func(u *User) { u.UserName = "other" },
		"externalId unset":  func(u *User) { u.ExternalID = "" },
		"name.givenName":    func(u *User) { u.Name.GivenName = "Augusta" },
		"name cleared":      func(u *User) { u.Name = Name{} },
		"email value":       func(u *User) { u.Emails[1].Value = "new@work.example" },
		"email added":       func(u *User) { u.Emails = append(u.Emails, Email{Value: "x@y.z"}) },
		"emails removed":    func(u *User) { u.Emails = nil },
		"verifiedAt zone":   func(u *User) { u.Emails[1].VerifiedAt = u.Emails[1].VerifiedAt.In(paris) }, // same instant
		"email verified":    func(u *User) { u.Emails[0].Verified = true },
		"phone":             func(u *User) { u.PhoneNumbers[0].Type = "work" },
		"address":           func(u *User) { u.Addresses[0].PostalCode = "SW1" },
		"address updated":   func(u *User) { u.Addresses[0].Updated = tCreated },
		"role":              func(u *User) { u.Roles[0].Display = "Admin" },
		"ims photos x509":   func(u *User) { u.IMs, u.Photos, u.X509Certificates = nil, u.Photos[:1], nil },
		"entitlements":      func(u *User) { u.Entitlements = append(u.Entitlements, MultiValue{Value: "e2"}) },
		"department":        func(u *User) { u.Enterprise.Department = "Sales" },
		"enterprise gone":   func(u *User) { u.Enterprise = nil },
		"manager":           func(u *User) { u.Enterprise.Manager = &Manager{Value: "u-0003"} },
		"manager same copy": func(u *User) { m := *u.Enterprise.Manager; u.Enterprise.Manager = &m },
		"status":            func(u *User) { u.Status = StatusDisabled },
		"custom data":       func(u *User) { u.CustomData["tier"] = "Silver" },
		"custom data number": func(u *User) {
			u.CustomData["level"] = 3.0 // the same JSON value in another Go type
		},
		"custom data nested": func(u *User) { u.CustomData["nested"].(map[string]any)["deep"] = "flat" },
		"custom data nil":    func(u *User) { u.CustomData = nil },
		"app data":           func(u *User) { u.Apps["app1"].CustomAppData["seats"] = json.Number("6") },
		"app account":        func(u *User) { u.Apps["app2"].ExternalAccountID = "acct-2" },
		"app added":          func(u *User) { u.Apps["app3"] = &AppLink{AssignedAt: tCreated} },
		"app removed":        func(u *User) { delete(u.Apps, "app1") },
		"app login":          func(u *User) { u.Apps["app1"].LastLogin = tCreated },
		"not audited":        func(u *User) { u.GroupIDs, u.Password, u.LastAuth, u.Version = nil, nil, time.Time{}, 9 },
		"birthday, locale":   func(u *User) { u.Birthday, u.Locale = "1816-01-01", "" },
	}
	for name, change := range userChanges {
		prev := sampleUser(t)
		cur := prev.Clone()
		change(cur)
		got, yielded := diffOf(prev, cur)
		want := viewDiff(prev, cur)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: AuditDiff found %v, the whole views %v", name, got, want)
		}
		if name == "none" || name == "not audited" {
			if yielded != 0 {
				t.Errorf("%s: %d attributes rendered for a document whose audited values are unchanged", name, yielded)
			}
		} else if yielded > max(len(want), 1) {
			t.Errorf("%s: %d attributes rendered for %d changed", name, yielded, len(want))
		}
		// created and deleted: every value
		for _, pair := range [][2]*User{{nil, cur}, {cur, nil}} {
			got, _ := diffOf(pair[0], pair[1])
			if want := viewDiff(pair[0], pair[1]); !reflect.DeepEqual(got, want) {
				t.Errorf("%s created/deleted: AuditDiff found %v, the whole views %v", name, got, want)
			}
		}
	}
	groupChanges := map[string]func(g *Group){
		"none":        func(*Group) {},
		"displayName": func(g *Group) { g.DisplayName = "Sales" },
		"externalId":  func(g *Group) { g.ExternalID = "" },
		"custom data": func(g *Group) { g.CustomData["size"] = 13 },
		"version":     func(g *Group) { g.Version++ },
	}
	for name, change := range groupChanges {
		prev := sampleGroup(t)
		cur := *prev
		cur.CustomData = CloneJSONObject(prev.CustomData)
		change(&cur)
		got, _ := diffOf(prev, &cur)
		if want := viewDiff(prev, &cur); !reflect.DeepEqual(got, want) {
			t.Errorf("group %s: AuditDiff found %v, the whole views %v", name, got, want)
		}
		got, _ = diffOf((*Group)(nil), &cur)
		if want := viewDiff((*Group)(nil), &cur); !reflect.DeepEqual(got, want) || len(got) == 0 {
			t.Errorf("group %s created: AuditDiff found %v, the whole views %v", name, got, want)
		}
	}
}
