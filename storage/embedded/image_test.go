package embedded

import (
	"reflect"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
)

// TestImageAfter checks that the image imageAfter derives from the previous
// version's image (sharing what it may) is the image imageOf computes from
// scratch, for changes of every part an image is made of and of none, and
// that computing it leaves the previous image as it was.
func TestImageAfter(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	base := func() *schemas.User {
		return &schemas.User{
			ID: "u1", UserName: "Alice.Example", ExternalID: "ext-1", DisplayName: "Alice",
			Name:         schemas.Name{GivenName: "Alice", FamilyName: "Éxample"},
			Emails:       []schemas.Email{{Value: "Alice@Example.org", Type: "work", Primary: true}, {Value: "a@home.org", Type: "home"}},
			PhoneNumbers: []schemas.PhoneNumber{{Value: "+1 555", Primary: true}},
			Status:       schemas.StatusActive, GroupIDs: []string{"g1", "g2"},
			Created: t0, Updated: t0, Title: "Engineer",
		}
	}
	changes := map[string]func(u *schemas.User){
		"nothing":       func(u *schemas.User) {},
		"lastModified":  func(u *schemas.User) { u.Updated = t0.Add(time.Second) },
		"title":         func(u *schemas.User) { u.Title, u.Updated = "Lead", t0.Add(time.Second) },
		"userName":      func(u *schemas.User) { u.UserName = "Bob" },
		"userName case": func(u *schemas.User) { u.UserName = "alice.example" },
		"externalId":    func(u *schemas.User) { u.ExternalID = "ext-2" },
		"familyName":    func(u *schemas.User) { u.Name.FamilyName = "Other" },
		"email value": func(u *schemas.User) {
			u.Emails = []schemas.Email{{Value: "new@example.org", Type: "work", Primary: true}, u.Emails[1]}
		},
		"primary email": func(u *schemas.User) {
			u.Emails = []schemas.Email{{Value: u.Emails[0].Value}, {Value: u.Emails[1].Value, Primary: true}}
		},
		"no emails":    func(u *schemas.User) { u.Emails = nil },
		"three emails": func(u *schemas.User) { u.Emails = append(u.Emails, schemas.Email{Value: "c@x.org"}) },
		"primary phone": func(u *schemas.User) {
			u.PhoneNumbers = []schemas.PhoneNumber{{Value: "+1 555"}, {Value: "+1 666", Primary: true}}
		},
		"status":          func(u *schemas.User) { u.Status = schemas.StatusDisabled },
		"groups":          func(u *schemas.User) { u.GroupIDs = []string{"g2"} },
		"userName=email":  func(u *schemas.User) { u.UserName = "alice@example.org" },
		"created changed": func(u *schemas.User) { u.Created = t0.Add(-time.Hour) },
	}
	fields := func(im *userImage) []any {
		return []any{im.keys, im.logins, im.emails, im.groups, im.apps, im.search, im.values, im.posts, im.sorts}
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			old := base()
			oldImg := imageOf(old)
			before := fields(imageOf(base()))
			nu := base()
			change(nu)
			got, want := imageAfter(oldImg, nu), imageOf(nu)
			if g, w := fields(got), fields(want); !reflect.DeepEqual(g, w) {
				t.Errorf("imageAfter:\n%#v\nimageOf:\n%#v", g, w)
			}
			if !reflect.DeepEqual(fields(oldImg), before) {
				t.Errorf("the previous image changed")
			}
		})
	}
}
