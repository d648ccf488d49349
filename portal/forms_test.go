package portal_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/portal"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// The form tests drive the pages a browser test does not, with a plain HTTP
// client holding the session cookie and sending each page's CSRF token.

type client struct {
	t    *testing.T
	s    *server
	http *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signedIn(t *testing.T, s *server, email, password string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, s: s, http: &http.Client{Jar: jar}}
	st, body := c.post("/portal/signin", url.Values{"email": {email}, "password": {password}})
	if st != http.StatusOK || !strings.Contains(body, "Sign out") {
		t.Fatalf("sign-in of %s: %d", email, st)
	}
	return c
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.s.URL + path)
	return c.page(resp, err)
}

// post sends a form (with the last page's CSRF token) and follows the redirect.
func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	if c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	resp, err := c.http.PostForm(c.s.URL+path, form)
	return c.page(resp, err)
}

// page reads the page a request got and keeps its CSRF token for the next form.
func (c *client) page(resp *http.Response, err error) (int, string) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp.StatusCode, string(b)
}

func want(t *testing.T, what string, st, wantSt int, body string, texts ...string) {
	t.Helper()
	if st != wantSt {
		t.Fatalf("%s: status %d, want %d\n%s", what, st, wantSt, body)
	}
	for _, s := range texts {
		if !strings.Contains(body, s) {
			t.Fatalf("%s: the page lacks %q\n%s", what, s, body)
		}
	}
}

func TestFormsGroups(t *testing.T) {
	s := newServer(t)
	c := signedIn(t, s, adminEmail, adminPW)
	bg := context.Background()
	u, err := s.svc.CreateUser(bg, directory.System, &schemas.User{UserName: "kim", Emails: []schemas.Email{{Value: "kim@example.com", Primary: true}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.get("/portal/groups")
	st, body := c.post("/portal/groups", url.Values{"name": {""}})
	want(t, "a group without a name", st, http.StatusBadRequest, body, "a group needs a name")
	st, body = c.post("/portal/groups", url.Values{"name": {"Sales"}, "description": {"Field sales"}})
	want(t, "create group", st, http.StatusOK, body, "Group created.", "Field sales", "This group has no members yet.")
	st, body = c.post("/portal/groups", url.Values{"name": {"sales"}})
	want(t, "a duplicate group", st, http.StatusConflict, body, "already exists")
	page, _ := s.svc.ListGroups(bg, directory.System, storage.Query{Limit: 1})
	gid := page.Items[0].ID
	base := "/portal/groups/" + gid
	c.get(base)
	st, body = c.post(base+"/add-member", url.Values{"member": {"nobody@example.com"}})
	want(t, "adding an unknown member", st, http.StatusNotFound, body, "no user has")
	st, body = c.post(base+"/add-member", url.Values{"member": {"KIM@example.com"}})
	want(t, "add member", st, http.StatusOK, body, "Member added.", "kim@example.com", "1 member")
	st, body = c.post(base+"/edit", url.Values{"name": {"Inside sales"}, "description": {"Phones"}})
	want(t, "rename", st, http.StatusOK, body, "Group saved.", "Inside sales", "Phones")
	st, body = c.post(base+"/remove-member", url.Values{"user_id": {u.ID}})
	want(t, "remove member", st, http.StatusOK, body, "Member removed.", "no members yet")
	st, body = c.post(base+"/delete", url.Values{"confirm": {"Sales"}})
	want(t, "delete with the wrong name", st, http.StatusBadRequest, body, "to confirm the deletion")
	st, body = c.post(base+"/delete", url.Values{"confirm": {"inside sales"}})
	want(t, "delete", st, http.StatusOK, body, "Group Inside sales deleted.", "No groups yet")
	st, body = c.get(base)
	want(t, "a deleted group", st, http.StatusNotFound, body, "group not found")
}

func TestFormsApplications(t *testing.T) {
	s := newServer(t)
	c := signedIn(t, s, adminEmail, adminPW)
	c.get("/portal/apps")
	st, body := c.post("/portal/apps", url.Values{"name": {"Wiki"}, "login_uri": {"https://wiki.example.com/login"}, "redirect_uris": {"https://wiki.example.com/cb\n"}})
	want(t, "create app", st, http.StatusCreated, body, "was created", "you won't see it again", "https://wiki.example.com/cb")
	secret := regexp.MustCompile(`id="secret-value" class="mono grow" readonly value="([^"]+)"`).FindStringSubmatch(body)
	if secret == nil {
		t.Fatal("no secret shown at creation")
	}
	apps, _ := s.svc.ListApps(context.Background(), directory.System, schemas.AppRegular)
	base := "/portal/apps/" + apps[0].ID
	st, body = c.get(base)
	want(t, "app page", st, http.StatusOK, body, apps[0].ClientID)
	if strings.Contains(body, secret[1]) {
		t.Fatal("the secret is shown a second time")
	}
	st, body = c.post(base+"/edit", url.Values{"name": {"Team wiki"}, "description": {"Docs"}, "login_uri": {"https://wiki.example.com/login"}, "redirect_uris": {""}})
	want(t, "edit app", st, http.StatusOK, body, "Saved.", "Team wiki")
	st, body = c.post(base+"/rotate", url.Values{})
	want(t, "rotate", st, http.StatusOK, body, "A new client secret was issued")
	if strings.Contains(body, secret[1]) {
		t.Fatal("rotation showed the old secret")
	}
	st, body = c.post(base+"/delete", url.Values{"confirm": {"Team wiki"}})
	want(t, "delete app", st, http.StatusOK, body, "Team wiki deleted.")
}

func TestFormsAdministrators(t *testing.T) {
	s := newServer(t)
	c := signedIn(t, s, adminEmail, adminPW)
	other := signedIn(t, s, adminEmail, adminPW) // a second session of the same admin
	c.get("/portal/admins")
	st, body := c.post("/portal/admins", url.Values{"email": {"second@example.com"}, "password": {"short"}})
	want(t, "a short password", st, http.StatusBadRequest, body, "at least 12 characters")
	st, body = c.post("/portal/admins", url.Values{"email": {"second@example.com"}, "password": {"second admin password"}})
	want(t, "add admin", st, http.StatusOK, body, "Administrator second@example.com added.")
	second := signedIn(t, s, "second@example.com", "second admin password")

	st, body = c.post("/portal/account/password", url.Values{"current": {"wrong password!!"}, "new": {"a new password 123"}, "confirm": {"a new password 123"}})
	want(t, "a wrong current password", st, http.StatusBadRequest, body, "the current password is wrong")
	st, body = c.post("/portal/account/password", url.Values{"current": {adminPW}, "new": {"a new password 123"}, "confirm": {"a new password 124"}})
	want(t, "mismatched new passwords", st, http.StatusBadRequest, body, "the two new passwords differ")
	st, body = c.post("/portal/account/password", url.Values{"current": {adminPW}, "new": {"a new password 123"}, "confirm": {"a new password 123"}})
	want(t, "change own password", st, http.StatusOK, body, "Password changed.")
	st, body = other.get("/portal/users")
	want(t, "the other session after the change", st, http.StatusOK, body, "Sign in with your administrator account")

	// Removing an administrator ends its sessions at once.
	second.get("/portal/users")
	st, body = c.post("/portal/admins/second@example.com/remove", url.Values{})
	want(t, "remove admin", st, http.StatusOK, body, "Administrator removed")
	st, body = second.get("/portal/users")
	want(t, "the removed admin's session", st, http.StatusOK, body, "Sign in with your administrator account")
	// The last one cannot go.
	c.get("/portal/admins")
	st, body = c.post("/portal/admins/"+adminEmail+"/remove", url.Values{})
	want(t, "remove the last admin", st, http.StatusConflict, body, "the last administrator cannot be removed")
}

func TestFormsErrorsInWords(t *testing.T) {
	s := newServer(t)
	c := signedIn(t, s, adminEmail, adminPW)
	for _, tc := range []struct {
		path string
		st   int
		text string
	}{
		{"/portal/users?filter=" + url.QueryEscape(`nosuch eq "x"`), http.StatusBadRequest, "nosuch"},
		{"/portal/users?filter=" + url.QueryEscape(`userName eq`), http.StatusBadRequest, "Advanced"},
		{"/portal/users/no-such-user", http.StatusNotFound, "user not found"},
		{"/portal/audit?since=yesterday", http.StatusBadRequest, "a date, such as"},
		{"/portal/no/such/page", http.StatusNotFound, "There is no such page."},
		{"/portal/users?q=%3Cscript%3E", http.StatusOK, "&lt;script&gt;"},
	} {
		st, body := c.get(tc.path)
		want(t, tc.path, st, tc.st, body, tc.text)
		if strings.Contains(body, "goroutine") || strings.Contains(body, "<script>") {
			t.Fatalf("%s shows internals or unescaped input:\n%s", tc.path, body)
		}
	}
	// A user created with an application and a temporary password.
	c.get("/portal/users")
	app, _, _ := s.svc.CreateApp(context.Background(), directory.System, schemas.AppRegular, &schemas.App{Name: "Shop"})
	c.get("/portal/users")
	st, body := c.post("/portal/users", url.Values{"first_name": {"No"}, "last_name": {"Contact"}})
	want(t, "a user without email or phone", st, http.StatusBadRequest, body, "needs an email address or a phone number")
	st, body = c.post("/portal/users", url.Values{"email": {"not-an-email"}})
	want(t, "a bad email", st, http.StatusBadRequest, body, "email")
	st, body = c.post("/portal/users", url.Values{"phone_number": {"+12125550123"}, "app_ids": {app.ID}, "password": {"Temporary-pw-1"}})
	want(t, "create with app and password", st, http.StatusOK, body, "User created.", "Shop", "temporary, set")

	// The search box, by every kind of text it takes.
	if _, err := s.svc.CreateUser(context.Background(), directory.System, &schemas.User{UserName: "lee", ExternalID: "EXT-77",
		Name: schemas.Name{GivenName: "Morgan", FamilyName: "Lee"}, Emails: []schemas.Email{{Value: "mlee@corp.example", Primary: true}}}, nil); err != nil {
		t.Fatal(err)
	}
	for q, wantLee := range map[string]bool{"mlee@corp": true, "MLEE@": true, "+1212555": false, "morg": true, "lee": true, "EXT-7": true, "ext-7": false, "zzz": false} {
		st, body := c.get("/portal/users?q=" + url.QueryEscape(q))
		want(t, "search "+q, st, http.StatusOK, body)
		if got := strings.Contains(body, "mlee@corp.example"); got != wantLee {
			t.Errorf("search %q lists Morgan Lee: %v, want %v", q, got, wantLee)
		}
		if q == "+1212555" && !strings.Contains(body, "+12125550123") {
			t.Errorf("search %q does not list the user by phone", q)
		}
	}
}

func TestFormsUserContactsAndAppData(t *testing.T) {
	s := newServer(t)
	c := signedIn(t, s, adminEmail, adminPW)
	bg := context.Background()
	app, _, err := s.svc.CreateApp(bg, directory.System, schemas.AppRegular, &schemas.App{Name: "CRM"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.svc.CreateUser(bg, directory.System, &schemas.User{
		Emails: []schemas.Email{{Value: "one@example.com", Primary: true}, {Value: "two@example.com"}, {Value: "three@example.com"}},
		Apps:   map[string]*schemas.AppLink{app.ID: {}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := "/portal/users/" + u.ID
	c.get(base)
	st, body := c.post(base+"/contact", url.Values{"kind": {"email"}, "value": {"two@example.com"}, "op": {"primary"}})
	want(t, "make primary", st, http.StatusOK, body, "two@example.com is now primary")
	st, body = c.post(base+"/contact", url.Values{"kind": {"email"}, "value": {"three@example.com"}, "op": {"remove"}})
	want(t, "remove secondary", st, http.StatusOK, body, "three@example.com removed.")
	st, body = c.post(base+"/contact", url.Values{"kind": {"email"}, "value": {"one@example.com"}, "op": {"verify"}})
	want(t, "verify", st, http.StatusOK, body, "one@example.com marked verified.")
	st, body = c.post(base+"/app-data", url.Values{"app_id": {app.ID}, "external_account_id": {"crm-42"}, "custom_app_data": {`[1]`}})
	want(t, "custom_app_data not an object", st, http.StatusBadRequest, body, "custom_app_data must be one JSON object")
	st, body = c.post(base+"/app-data", url.Values{"app_id": {app.ID}, "external_account_id": {"crm-42"}, "custom_app_data": {`{"tier": "gold"}`}})
	want(t, "app data", st, http.StatusOK, body, "Application data saved.", "crm-42", "gold")

	got, _ := s.svc.GetUser(bg, directory.System, u.ID)
	primary, _ := got.PrimaryEmail()
	if primary.Value != "two@example.com" || len(got.Emails) != 2 || !got.Emails[0].Verified && !got.Emails[1].Verified ||
		got.Apps[app.ID].ExternalAccountID != "crm-42" || got.Apps[app.ID].CustomAppData["tier"] != "gold" {
		t.Fatalf("the user after the portal's changes: %+v", got)
	}
	// The user's audit trail is on its page, with the administrator as actor.
	_, body = c.get(base)
	want(t, "audit trail", http.StatusOK, http.StatusOK, body, "Audit trail", "adminUpdateUser", adminEmail)
}

// TestFormsUsersSortHeaders: the users table's column headers are links that
// sort by their column, keep the search, start from the first page, toggle
// the direction of the current sort, and mark it with aria-sort.
func TestFormsUsersSortHeaders(t *testing.T) {
	s := newServer(t)
	c := signedIn(t, s, adminEmail, adminPW)
	for _, n := range []string{"bravo", "alpha", "charlie"} {
		if _, err := s.svc.CreateUser(context.Background(), directory.System, &schemas.User{UserName: n,
			Emails: []schemas.Email{{Value: n + "@example.com", Primary: true}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	header := regexp.MustCompile(`<th scope="col" class="sortable"( aria-sort="(\w+)")?><a href="([^"]+)">(\w+)<`)
	order := regexp.MustCompile(`<td>(alpha|bravo|charlie)</td>`)
	check := func(path, wantOrder string, wantHeaders map[string][2]string) {
		t.Helper()
		st, body := c.get(path)
		want(t, path, st, http.StatusOK, body)
		var got []string
		for _, m := range order.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != wantOrder {
			t.Errorf("%s lists %v, want %s", path, got, wantOrder)
		}
		hs := header.FindAllStringSubmatch(body, -1)
		if len(hs) != len(wantHeaders) {
			t.Fatalf("%s: %d sortable headers, want %d", path, len(hs), len(wantHeaders))
		}
		for _, h := range hs {
			w, ok := wantHeaders[h[4]]
			link := html.UnescapeString(h[3])
			if !ok || h[2] != w[0] || link != w[1] {
				t.Errorf("%s: header %s has aria-sort %q and link %q, want %q and %q", path, h[4], h[2], link, w[0], w[1])
			}
		}
	}
	check("/portal/users", "bravo alpha charlie", map[string][2]string{
		"User":     {"", "/portal/users?dir=asc&per=25&sort=email"},
		"Username": {"", "/portal/users?dir=asc&per=25&sort=userName"},
		"Created":  {"ascending", "/portal/users?dir=desc&per=25&sort=created"},
	})
	check("/portal/users?sort=userName&dir=asc&page=1&per=10&filter=userName+pr", "alpha bravo charlie", map[string][2]string{
		"User":     {"", "/portal/users?dir=asc&filter=userName+pr&per=10&sort=email"},
		"Username": {"ascending", "/portal/users?dir=desc&filter=userName+pr&per=10&sort=userName"},
		"Created":  {"", "/portal/users?dir=asc&filter=userName+pr&per=10&sort=created"},
	})
	check("/portal/users?sort=email&dir=desc", "charlie bravo alpha", map[string][2]string{
		"User":     {"descending", "/portal/users?dir=asc&per=25&sort=email"},
		"Username": {"", "/portal/users?dir=asc&per=25&sort=userName"},
		"Created":  {"", "/portal/users?dir=asc&per=25&sort=created"},
	})
}

// TestFormsUserAddEditContacts: the user page adds, changes and removes
// secondary emails and phone numbers, through the native API's checks (an
// error next to the form's field, nothing changed), with the primary flag
// kept right and every change audited with the administrator as actor.
func TestFormsUserAddEditContacts(t *testing.T) {
	s := newServer(t)
	c := signedIn(t, s, adminEmail, adminPW)
	bg := context.Background()
	u, err := s.svc.CreateUser(bg, directory.System, &schemas.User{
		Emails:       []schemas.Email{{Value: "one@example.com", Primary: true, Verified: true}},
		PhoneNumbers: []schemas.PhoneNumber{{Value: "+12125550100", Primary: true}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A secondary address may be another user's primary one (only primary
	// addresses are unique).
	if _, err := s.svc.CreateUser(bg, directory.System, &schemas.User{Emails: []schemas.Email{{Value: "taken@example.com", Primary: true}}}, nil); err != nil {
		t.Fatal(err)
	}
	base := "/portal/users/" + u.ID
	fieldErr := func(what, body, text string) {
		t.Helper()
		if !regexp.MustCompile(`class="field-error" role="alert">[^<]*` + regexp.QuoteMeta(text)).MatchString(body) {
			t.Fatalf("%s: no field error %q\n%s", what, text, body)
		}
	}
	post := func(v url.Values) (int, string) {
		st, body := c.post(base+"/contact", v)
		return st, html.UnescapeString(body)
	}
	c.get(base)

	// Bad input: a clear 400 at the form's field, nothing changed.
	before, _ := s.svc.GetUser(bg, directory.System, u.ID)
	st, body := post(url.Values{"op": {"add"}, "kind": {"email"}, "value": {"not-an-email"}})
	want(t, "add a bad email", st, http.StatusBadRequest, body, `value="not-an-email"`)
	fieldErr("add a bad email", body, "email")
	st, body = post(url.Values{"op": {"add"}, "kind": {"phone"}, "value": {"555-0100"}})
	want(t, "add a bad phone", st, http.StatusBadRequest, body, `value="555-0100"`)
	fieldErr("add a bad phone", body, "E.164")
	st, body = post(url.Values{"op": {"add"}, "kind": {"email"}, "value": {"ONE@example.com"}})
	want(t, "add the primary again", st, http.StatusBadRequest, body)
	fieldErr("add the primary again", body, "listed twice")
	st, body = post(url.Values{"op": {"add"}, "kind": {"phone"}, "value": {" "}})
	want(t, "add nothing", st, http.StatusBadRequest, body)
	fieldErr("add nothing", body, "enter the phone number")
	st, body = post(url.Values{"op": {"edit"}, "kind": {"email"}, "old": {"nobody@example.com"}, "value": {"x@example.com"}})
	want(t, "change an address the user lacks", st, http.StatusNotFound, body, `class="flash error" role="alert">the user has no email address`)
	if after, _ := s.svc.GetUser(bg, directory.System, u.ID); after.Version != before.Version {
		t.Fatalf("a refused form changed the user: version %d → %d", before.Version, after.Version)
	}

	// Add secondaries; one phone number as the new primary.
	st, body = post(url.Values{"op": {"add"}, "kind": {"email"}, "value": {"two@example.com"}})
	want(t, "add an email", st, http.StatusOK, body, "two@example.com added.")
	st, body = post(url.Values{"op": {"add"}, "kind": {"phone"}, "value": {"+12125550111"}, "primary": {"on"}})
	want(t, "add a primary phone", st, http.StatusOK, body, "+12125550111 added as the primary phone number.")
	// Change a secondary, then the primary, from their rows.
	st, body = post(url.Values{"op": {"edit"}, "kind": {"email"}, "old": {"TWO@example.com"}, "value": {"deux@example.com"}})
	want(t, "change a secondary email", st, http.StatusOK, body, "TWO@example.com changed to deux@example.com.")
	st, body = post(url.Values{"op": {"edit"}, "kind": {"phone"}, "old": {"+12125550100"}, "value": {"bad"}})
	want(t, "change to a bad phone", st, http.StatusBadRequest, body, `<details class="edit-contact" open>`, `value="bad"`)
	fieldErr("change to a bad phone", body, "E.164")
	st, body = post(url.Values{"op": {"edit"}, "kind": {"phone"}, "old": {"+12125550100"}, "value": {"+12125550122"}})
	want(t, "change a secondary phone", st, http.StatusOK, body, "+12125550100 changed to +12125550122.")
	st, body = post(url.Values{"op": {"edit"}, "kind": {"email"}, "old": {"one@example.com"}, "value": {"uno@example.com"}})
	want(t, "change the primary email", st, http.StatusOK, body, "one@example.com changed to uno@example.com.")
	st, body = post(url.Values{"op": {"edit"}, "kind": {"email"}, "old": {"deux@example.com"}, "value": {"taken@example.com"}})
	want(t, "change to another user's address", st, http.StatusOK, body, "deux@example.com changed to taken@example.com.")

	got, _ := s.svc.GetUser(bg, directory.System, u.ID)
	type contact struct {
		v       string
		p, verf bool
	}
	var emails, phones []contact
	for _, e := range got.Emails {
		emails = append(emails, contact{e.Value, e.Primary, e.Verified})
	}
	for _, p := range got.PhoneNumbers {
		phones = append(phones, contact{p.Value, p.Primary, p.Verified})
	}
	if fmt.Sprint(emails) != "[{uno@example.com true false} {taken@example.com false false}]" ||
		fmt.Sprint(phones) != "[{+12125550111 true false} {+12125550122 false false}]" {
		t.Fatalf("after the changes: emails %v, phones %v", emails, phones)
	}
	// The primary cannot be removed; a secondary can.
	st, body = post(url.Values{"op": {"remove"}, "kind": {"phone"}, "value": {"+12125550111"}})
	want(t, "remove the primary phone", st, http.StatusBadRequest, body, "is the primary phone number")
	st, body = post(url.Values{"op": {"remove"}, "kind": {"phone"}, "value": {"+12125550122"}})
	want(t, "remove the secondary phone", st, http.StatusOK, body, "+12125550122 removed.")

	// Every change is audited with the administrator as actor.
	ev, err := s.svc.ListEvents(bg, directory.System, storage.EventQuery{TargetID: u.ID, ActorID: adminEmail, Limit: storage.Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ev.Items); n != 7 {
		t.Fatalf("%d audit events by %s, want 7 (one per change)", n, adminEmail)
	}
}

// TestFormsUsersCursorPaging: the users list's Next link carries the
// store's cursor and leads to the next page, with the count and position
// still shown; the Previous link is an offset; a count past the list's
// limit reads "more than"; a cursor that is not one is refused in words.
func TestFormsUsersCursorPaging(t *testing.T) {
	s := newServer(t)
	c := signedIn(t, s, adminEmail, adminPW)
	for i := range 25 {
		n := fmt.Sprintf("user%02d", i)
		if _, err := s.svc.CreateUser(context.Background(), directory.System, &schemas.User{UserName: n,
			Emails: []schemas.Email{{Value: n + "@example.com", Primary: true}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	link := func(body, rel string) string {
		m := regexp.MustCompile(`href="([^"]*)" rel="` + rel + `"`).FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}
	rows := regexp.MustCompile(`<td>(user\d\d)</td>`)
	listed := func(body string) string {
		var got []string
		for _, m := range rows.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		return strings.Join(got, " ")
	}
	st, body := c.get("/portal/users?sort=userName&dir=desc&per=10")
	want(t, "page 1", st, http.StatusOK, body, "Showing 1–10 of 25", "Page 1 of 3")
	next := link(body, "next")
	if !strings.Contains(next, "after=") || !strings.Contains(next, "page=2") {
		t.Fatalf("the Next link %q carries no cursor", next)
	}
	st, body = c.get(next)
	want(t, "page 2", st, http.StatusOK, body, "Showing 11–20 of 25", "Page 2 of 3")
	if got := listed(body); got != "user14 user13 user12 user11 user10 user09 user08 user07 user06 user05" {
		t.Errorf("page 2 by the cursor lists %s", got)
	}
	st, body = c.get(link(body, "next"))
	want(t, "page 3", st, http.StatusOK, body, "Showing 21–25 of 25", "Page 3 of 3")
	if got := listed(body); got != "user04 user03 user02 user01 user00" {
		t.Errorf("page 3 by the cursor lists %s", got)
	}
	if next := link(body, "next"); next != "" {
		t.Errorf("the last page links to %q", next)
	}
	if prev := link(body, "prev"); prev != "/portal/users?dir=desc&sort=userName&page=2&per=10" {
		t.Errorf("the Previous link of page 3 is %q, want the offset of page 2", prev)
	}

	defer portal.SetUsersCountLimit(20)()
	st, body = c.get("/portal/users?q=user&per=10")
	want(t, "a capped count", st, http.StatusOK, body, "more than 20", "Showing 1–10 of more than 20")
	st, body = c.get(link(body, "next"))
	want(t, "the next page of a capped count", st, http.StatusOK, body, "Showing 11–20 of more than 20")
	if got := listed(body); got != "user10 user11 user12 user13 user14 user15 user16 user17 user18 user19" {
		t.Errorf("page 2 of the search lists %s", got)
	}

	st, body = c.get("/portal/users?sort=userName&page=2&after=bm9wZQ")
	want(t, "a bad cursor", st, http.StatusBadRequest, body, "the paging cursor is not valid for this list")
	// Shown where the list would be, with the way back to its first page;
	// not under the filter field, whose value is not at fault.
	if regexp.MustCompile(`class="field-error"[^>]*>[^<]*paging cursor`).MatchString(body) {
		t.Error("the bad cursor's error is shown as the filter field's")
	}
	if m := regexp.MustCompile(`(?s)id="list-error">.*?paging cursor.*?<a href="([^"]*)">Go to the first page</a>`).FindStringSubmatch(body); m == nil {
		t.Errorf("no list error with a link to the first page:\n%s", body)
	} else if first := html.UnescapeString(m[1]); first != "/portal/users?dir=asc&per=25&sort=userName" {
		t.Errorf("the first page link is %q", first)
	}
}
