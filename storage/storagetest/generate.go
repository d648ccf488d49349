package storagetest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
)

var (
	givenNames = []string{
		"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
		"Radia", "Linus", "Sophie", "John", "Hedy", "Tim", "Katherine", "Niklaus", "Shafi", "Guido",
		"Zoë", "José", "Søren", "Łukasz", "Aiko",
	}
	familyNames = []string{
		"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie",
		"Perlman", "Torvalds", "Wilson", "McCarthy", "Lamarr", "Berners-Lee", "Johnson", "Wirth", "Goldwasser", "van Rossum",
		"Müller", "García", "Kierkegaard", "Nowak", "Tanaka",
	}
	departments = []string{"Engineering", "Sales", "Marketing", "Finance", "Support", "Legal", "Operations"}
	cities      = []struct{ city, region, country, postal string }{
		{"Springfield", "IL", "US", "62701"},
		{"Portland", "OR", "US", "97201"},
		{"Austin", "TX", "US", "73301"},
		{"Berlin", "BE", "DE", "10115"},
		{"Paris", "IDF", "FR", "75001"},
		{"Tokyo", "13", "JP", "100-0001"},
	}
	tiers = []string{"free", "pro", "enterprise"}
)

// generatedEpoch is the Created time of NewUser(0); user i is created i seconds later.
var generatedEpoch = ms(2024, time.January, 1, 0, 0, 0, 0)

// NewUser returns a deterministic, realistic user, unique per i (0 ≤ i < 10,000,000):
// userName, name, a primary work email (and for every other user a secondary home
// email), a primary mobile phone, an address, an enterprise extension with a
// department, a status, an externalId and tenant custom data. Its ID is
// fmt.Sprintf("u%08d", i), so id order is i order; Version is 0 (as the service
// hands it to CreateUser) and it belongs to no group. All times are UTC with
// millisecond precision, and the custom data is in the form
// schemas.NormalizeJSONObject produces, so the user round-trips exactly.
//
// Field values derive from i so that tests can predict them:
//   - UserName "<given>.<family>.<i>" lower-case, ExternalID "ext-<i>"
//   - Emails[0] "<given>.<family>.<i>@example.com" (work, primary);
//     for even i also Emails[1] "<given><i>@mail.test" (home)
//   - PhoneNumbers[0] "+1555" + 7-digit i (mobile, primary)
//   - Enterprise.Department departments[i%7]: Engineering, Sales, Marketing,
//     Finance, Support, Legal, Operations
//   - Status Disabled when i%10 == 9, Pending when i%10 == 8, otherwise Active
//   - CustomData "tier" free/pro/enterprise by i%3, "score" i%100 (integer),
//     "ratio" (i%1000)/4 (decimal), "beta" i%2 == 0, "tags", "prefs" (object)
func NewUser(i int) *schemas.User {
	given := givenNames[i%len(givenNames)]
	family := familyNames[(i/len(givenNames))%len(familyNames)]
	local := asciiLocal(given) + "." + asciiLocal(family) + "." + strconv.Itoa(i)
	created := generatedEpoch.Add(time.Duration(i) * time.Second)
	city := cities[i%len(cities)]

	u := &schemas.User{
		ID:         fmt.Sprintf("u%08d", i),
		UserName:   local,
		ExternalID: fmt.Sprintf("ext-%d", i),
		Name: schemas.Name{
			Formatted:  given + " " + family,
			FamilyName: family,
			GivenName:  given,
		},
		DisplayName:       given + " " + family,
		Title:             []string{"Engineer", "Manager", "Analyst", "Director", "Consultant"}[i%5],
		UserType:          "Employee",
		PreferredLanguage: []string{"en-US", "de-DE", "fr-FR", "ja-JP"}[i%4],
		Locale:            "en-US",
		Timezone:          []string{"America/Chicago", "Europe/Berlin", "Asia/Tokyo"}[i%3],
		Emails: []schemas.Email{{
			Value:      local + "@example.com",
			Type:       "work",
			Primary:    true,
			Verified:   i%4 != 3,
			VerifiedAt: verifiedAt(i, created),
		}},
		PhoneNumbers: []schemas.PhoneNumber{{
			Value:   fmt.Sprintf("+1555%07d", i),
			Type:    "mobile",
			Primary: true,
		}},
		Addresses: []schemas.Address{{
			Formatted:     fmt.Sprintf("%d Main St\n%s, %s %s\n%s", 100+i%900, city.city, city.region, city.postal, city.country),
			StreetAddress: fmt.Sprintf("%d Main St", 100+i%900),
			Locality:      city.city,
			Region:        city.region,
			PostalCode:    city.postal,
			Country:       city.country,
			Type:          "work",
			Primary:       true,
		}},
		Enterprise: &schemas.EnterpriseUser{
			EmployeeNumber: fmt.Sprintf("E%07d", i),
			CostCenter:     fmt.Sprintf("CC-%03d", i%50),
			Organization:   "Example Corp",
			Department:     departments[i%len(departments)],
		},
		Status:          StatusFor(i),
		StatusChangedAt: created,
		CustomData: mustNormalizeJSON(map[string]any{
			"tier":  tiers[i%3],
			"score": json.Number(strconv.Itoa(i % 100)),
			"ratio": json.Number(strconv.FormatFloat(float64(i%1000)/4, 'f', -1, 64)),
			"beta":  i%2 == 0,
			"tags":  []any{"team-" + strconv.Itoa(i%20), departments[i%len(departments)]},
			"prefs": map[string]any{"theme": []string{"dark", "light"}[i%2], "notifications": i%3 != 0},
		}),
		Created: created,
		Updated: created,
	}
	if i%2 == 0 {
		u.Emails = append(u.Emails, schemas.Email{
			Value: strings.ToLower(asciiLocal(given)) + strconv.Itoa(i) + "@mail.test",
			Type:  "home",
		})
	}
	if i%5 == 0 {
		u.Enterprise.Manager = &schemas.Manager{Value: fmt.Sprintf("u%08d", i/5), DisplayName: "Manager " + strconv.Itoa(i/5)}
	}
	return u
}

// StatusFor is the Status of NewUser(i): Disabled when i%10 == 9, Pending when
// i%10 == 8, Active otherwise.
func StatusFor(i int) string {
	switch i % 10 {
	case 9:
		return schemas.StatusDisabled
	case 8:
		return schemas.StatusPending
	}
	return schemas.StatusActive
}

func verifiedAt(i int, created time.Time) time.Time {
	if i%4 == 3 {
		return time.Time{}
	}
	return created.Add(time.Minute)
}

// asciiLocal turns a name into the lower-case ASCII form used in user names and
// email local parts.
func asciiLocal(s string) string {
	return asciiFold.Replace(strings.ToLower(s))
}

var asciiFold = strings.NewReplacer("ë", "e", "é", "e", "ø", "o", "ł", "l", "ü", "u", "í", "i", " ", "", "-", "")

// fullUser returns a user with every field of the canonical document set, for
// round-trip checks.
func fullUser(id string) *schemas.User {
	t0 := ms(2024, time.March, 14, 15, 9, 26, 535)
	return &schemas.User{
		ID:         id,
		UserName:   "Björk." + id,
		ExternalID: "ExT-" + id,
		Name: schemas.Name{
			Formatted:       "Dr. Björk Guðmundsdóttir Jr.",
			FamilyName:      "Guðmundsdóttir",
			GivenName:       "Björk",
			MiddleName:      "Gudmunds",
			HonorificPrefix: "Dr.",
			HonorificSuffix: "Jr.",
		},
		DisplayName:       "Björk",
		NickName:          "bjork",
		ProfileURL:        "https://example.com/u/" + id,
		Title:             "Composer",
		UserType:          "Contractor",
		PreferredLanguage: "is-IS",
		Locale:            "is-IS",
		Timezone:          "Atlantic/Reykjavik",
		Birthday:          "1965-11-21",
		Emails: []schemas.Email{
			{Value: "home." + id + "@example.net", Type: "home", Display: "Home"},
			{Value: "Bjork." + id + "@Example.COM", Type: "work", Primary: true, Display: "Work", Verified: true, VerifiedAt: t0.Add(time.Hour)},
		},
		PhoneNumbers: []schemas.PhoneNumber{
			{Value: "+354" + id, Type: "mobile", Primary: true, Verified: true, VerifiedAt: t0.Add(2 * time.Hour)},
			{Value: "+3545551234", Type: "work", Display: "desk"},
		},
		IMs:              []schemas.MultiValue{{Value: "bjork@xmpp.example", Type: "xmpp", Primary: true, Display: "chat"}},
		Photos:           []schemas.MultiValue{{Value: "https://example.com/p/" + id + ".jpg", Type: "photo"}, {Value: "https://example.com/t/" + id + ".jpg", Type: "thumbnail", Primary: true, Display: "Thumb"}},
		Addresses:        []schemas.Address{{Formatted: "Laugavegur 1\n101 Reykjavík\nIS", StreetAddress: "Laugavegur 1", Locality: "Reykjavík", Region: "Höfuðborgarsvæðið", PostalCode: "101", Country: "IS", Type: "home", Primary: true, Updated: t0}, {Locality: "London", Country: "GB", Type: "work"}},
		Entitlements:     []schemas.MultiValue{{Value: "studio-access", Display: "Studio", Type: "room", Primary: true}},
		Roles:            []schemas.MultiValue{{Value: "admin", Type: "tenant", Primary: true, Display: "Administrator"}, {Value: "viewer"}},
		X509Certificates: []schemas.MultiValue{{Value: "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", Type: "signing", Primary: true, Display: "Signing key"}},
		Enterprise: &schemas.EnterpriseUser{
			EmployeeNumber: "701984",
			CostCenter:     "4130",
			Organization:   "One Little Independent",
			Division:       "Music",
			Department:     "Vocals",
			Manager:        &schemas.Manager{Value: "u00000001", Ref: "https://example.com/scim/v2/Users/u00000001", DisplayName: "Derek"},
		},
		Status:          schemas.StatusActive,
		StatusChangedAt: t0.Add(-time.Hour),
		CustomData: mustNormalizeJSON(map[string]any{
			"tier":   "gold",
			"seats":  json.Number("12"),
			"nested": map[string]any{"a": []any{json.Number("1"), "two", true, nil, map[string]any{}}, "empty": []any{}},
		}),
		Apps: map[string]*schemas.AppLink{
			"app1": {ExternalAccountID: "acct-" + id, CustomAppData: mustNormalizeJSON(map[string]any{"plan": "pro", "limits": map[string]any{"api": json.Number("1000")}}), AssignedAt: t0, LastLogin: t0.Add(24 * time.Hour)},
			"app2": {AssignedAt: t0.Add(time.Minute)},
		},
		Password: &schemas.PasswordCredential{Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", Temporary: true, Updated: t0, Expires: t0.Add(90 * 24 * time.Hour)},
		DeviceKeys: []schemas.DeviceKey{{
			KeyID:       "dk1",
			DisplayName: "Phone",
			Status:      "Active",
			PublicKey:   "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
			CustomData:  mustNormalizeJSON(map[string]any{"model": "Pixel", "os": map[string]any{"version": json.Number("14")}}),
			PushConfig:  &schemas.PushConfig{DeviceToken: "tok-" + id, Type: "FCM"},
			Created:     t0,
			Updated:     t0.Add(time.Second),
		}},
		Created:  t0.Add(-48 * time.Hour),
		Updated:  t0,
		LastAuth: t0.Add(3 * time.Hour),
	}
}

// bigJSON returns a normalized JSON object of at least size bytes when encoded:
// nested objects, arrays, unicode strings, integers (including ones beyond
// float64 precision), decimals, booleans and nulls.
func bigJSON(size int) map[string]any {
	words := []string{"alpha", "Ωmega", "ünïcödé", "日本語テキスト", "emoji 🎉🚀", "quote \" and \\ backslash", "tab\tnewline\n", "<html>&amp;</html>", "\u00e9\u0301", "Ελληνικά"}
	root := map[string]any{}
	encoded := 0
	for i := 0; encoded < size; i++ {
		rec := map[string]any{
			"id":      json.Number(strconv.Itoa(i)),
			"name":    fmt.Sprintf("%s-%d", words[i%len(words)], i),
			"price":   json.Number(strconv.FormatFloat(float64(i)*1.25+0.5, 'f', -1, 64)),
			"neg":     json.Number(strconv.Itoa(-i * 7919)),
			"big":     json.Number("9007199254740993"), // 2^53+1: not exact in float64
			"small":   json.Number("0.000123"),
			"ok":      i%2 == 0,
			"missing": nil,
			"tags":    []any{words[(i+1)%len(words)], words[(i+2)%len(words)], json.Number(strconv.Itoa(i % 10)), false, nil},
			"deep": map[string]any{
				"level1": map[string]any{
					"level2": map[string]any{"level3": []any{map[string]any{"k": "v" + strconv.Itoa(i)}, []any{}, map[string]any{}}},
				},
			},
			"text": strings.Repeat(words[i%len(words)]+" ", 20),
		}
		root["rec"+strconv.Itoa(i)] = rec
		b, _ := json.Marshal(rec)
		encoded += len(b)
	}
	root["summary"] = map[string]any{"count": json.Number(strconv.Itoa(len(root))), "ratio": json.Number("3.14159"), "empty": ""}
	return mustNormalizeJSON(root)
}
