package portal

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/nativewire"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// userRow is one line of the users list: everything comes from the user
// document itself, so a page costs one store query, not one read per row.
type userRow struct {
	ID, Email, Phone, UserName, Name, Status string
	Created, LastAuth                        time.Time
}

func rowOf(u *schemas.User) userRow {
	r := userRow{ID: u.ID, UserName: u.UserName, Status: u.Status, Created: u.Created, LastAuth: u.LastAuth}
	if e, ok := u.PrimaryEmail(); ok {
		r.Email = e.Value
	}
	if p, ok := u.PrimaryPhone(); ok {
		r.Phone = p.Value
	}
	r.Name = displayName(u)
	return r
}

func displayName(u *schemas.User) string {
	if n := strings.TrimSpace(u.Name.GivenName + " " + u.Name.FamilyName); n != "" {
		return n
	}
	return u.DisplayName
}

type usersData struct {
	Q, Filter, Status, Sort, Dir string
	Per                          int
	Pager                        pager
	Users                        []userRow
	Apps                         []*schemas.App
	// ListError is why the list could not be shown when the filter is not
	// the reason (a paging cursor that is not valid): shown in the list's
	// place, with a link to the first page of the same search.
	ListError string
}

// SortLink is the address of the list sorted by key (a userSorts key): the
// same search, status and page size from the first page, ascending, or the
// other direction when the list is sorted by key already. The column
// headers are these links, so sorting needs no script.
func (d *usersData) SortLink(key string) string {
	dir := "asc"
	if key == d.Sort && d.Dir == "asc" {
		dir = "desc"
	}
	return d.firstPage(key, dir)
}

// FirstPage is the address of the first page of this list: the same search,
// status, sort and page size.
func (d *usersData) FirstPage() string { return d.firstPage(d.Sort, d.Dir) }

// firstPage is the address of the first page of the list sorted by key in
// direction dir, with the same search, status and page size.
func (d *usersData) firstPage(key, dir string) string {
	v := url.Values{}
	for k, s := range map[string]string{"q": d.Q, "filter": d.Filter, "status": d.Status} {
		if s != "" {
			v.Set(k, s)
		}
	}
	v.Set("sort", key)
	v.Set("dir", dir)
	if d.Per != 0 {
		v.Set("per", strconv.Itoa(d.Per))
	}
	return "/portal/users?" + v.Encode()
}

// AriaSort is the aria-sort value of the column of key: "ascending" or
// "descending" when the list is sorted by it, else "".
func (d *usersData) AriaSort(key string) string {
	if key != d.Sort {
		return ""
	}
	if d.Dir == "desc" {
		return "descending"
	}
	return "ascending"
}

// usersCountLimit is where the users list stops counting: past it the
// count reads "more than 1000", so that a search many users match costs a
// bounded number of checks in the store (storage.Query.CountLimit): each
// match of a search the postings answer only as a superset is checked on
// its search record, 1.5–2.5 µs at 1,000,000 users, so a count of 10,000
// took 15–25 ms of the page's 50. Exact answers (no filter, a status, a
// search of up to three characters) are counted in full whatever this is.
var usersCountLimit = 1_000 // a variable for the tests

// userSorts are the sort choices of the users list: query value → SCIM path
// ("" is creation order, the store's natural order).
var userSorts = map[string]string{"created": "", "userName": "userName", "name": "name.familyName", "email": "emails.value", "updated": "meta.lastModified"}

var scimUsers = schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}

// searchPaths are what the search box matches by prefix. Every term costs a
// comparison per user the store scans, so the text's shape narrows them: an
// "@" is looked for in addresses, usernames and external ids, a phone-like
// text in phone numbers, usernames and external ids, anything else everywhere.
var searchPaths = []string{"userName", "emails.value", "phoneNumbers.value", "name.givenName", "name.familyName", "displayName", "externalId"}

var (
	emailSearch = []string{"emails.value", "userName", "externalId"}
	phoneSearch = []string{"phoneNumbers.value", "userName", "externalId"}
	phoneLike   = regexp.MustCompile(`^\+?[0-9][0-9 ().-]*$`)
)

func searchPathsFor(s string) []string {
	switch {
	case strings.Contains(s, "@"):
		return emailSearch
	case phoneLike.MatchString(s):
		return phoneSearch
	}
	return searchPaths
}

// usersQuery builds the store query of the users list from the page's
// parameters. User input never becomes filter text: the search box builds a
// filter tree, and the advanced field is parsed as a filter of its own.
func usersQuery(d *usersData) (storage.Query, error) {
	var q storage.Query
	var terms []schemas.Filter
	if s := strings.TrimSpace(d.Q); s != "" {
		var or schemas.Filter
		for _, name := range searchPathsFor(s) {
			path, err := schemas.ParsePath(name, scimUsers)
			if err != nil {
				return q, err
			}
			var c schemas.Filter = &schemas.Compare{Path: path, Op: schemas.OpSw, Value: schemas.Value{Kind: schemas.KindString, Str: s}}
			if or == nil {
				or = c
			} else {
				or = &schemas.Or{Left: or, Right: c}
			}
		}
		terms = append(terms, or)
	}
	if f := strings.TrimSpace(d.Filter); f != "" {
		pf, err := schemas.ParseFilter(f, scimUsers)
		if err != nil {
			return q, directory.FieldError(directory.KindInvalidFilter, "filter", "%s", err.Error())
		}
		terms = append(terms, pf)
	}
	switch d.Status {
	case schemas.StatusActive, schemas.StatusDisabled, schemas.StatusPending:
		path, err := schemas.ParsePath("status", schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect})
		if err != nil {
			return q, err
		}
		terms = append(terms, &schemas.Compare{Path: path, Op: schemas.OpEq, Value: schemas.Value{Kind: schemas.KindString, Str: d.Status}})
	default:
		d.Status = ""
	}
	for _, t := range terms {
		if q.Filter == nil {
			q.Filter = t
		} else {
			q.Filter = &schemas.And{Left: q.Filter, Right: t}
		}
	}
	sortPath, ok := userSorts[d.Sort]
	if !ok {
		d.Sort = "created"
	}
	if d.Dir != "desc" {
		d.Dir = "asc"
	}
	if sortPath != "" {
		path, err := schemas.ParsePath(sortPath, scimUsers)
		if err != nil {
			return q, err
		}
		q.Sort = &schemas.SortKey{Path: path, Descending: d.Dir == "desc"}
	} else if d.Dir == "desc" {
		path, err := schemas.ParsePath("meta.created", scimUsers)
		if err != nil {
			return q, err
		}
		q.Sort = &schemas.SortKey{Path: path, Descending: true}
	}
	return q, nil
}

func (h *Handler) users(c *call) {
	qv := c.r.URL.Query()
	d := &usersData{Q: qv.Get("q"), Filter: qv.Get("filter"), Status: qv.Get("status"), Sort: qv.Get("sort"), Dir: qv.Get("dir")}
	page, per := pageParams(c, 25)
	d.Per = per
	v := &view{Title: "Users", Nav: "users", Data: d}
	q, err := usersQuery(d)
	if err == nil {
		// The Next link carries the store's cursor: the page after it
		// costs what the first does, however deep. Without one (the first
		// pages, a typed page number) the page is an offset.
		q.Limit, q.CountLimit = per, usersCountLimit
		if q.After = qv.Get("after"); q.After == "" {
			q.Offset = (page - 1) * per
		}
		var res storage.Page[*schemas.User]
		res, err = h.svc.ListUsers(c.r.Context(), c.p, q)
		if err == nil {
			d.Pager = newCursorPager(page, per, len(res.Items), res.Total, res.Capped, res.Next)
			d.Users = make([]userRow, len(res.Items))
			for i, u := range res.Items {
				d.Users[i] = rowOf(u)
			}
		}
	}
	d.Apps, _ = h.svc.ListApps(c.r.Context(), c.p, schemas.AppRegular)
	if err != nil {
		st := status(err)
		if st >= 500 {
			h.fail(c, err)
			return
		}
		// A filter's error goes under the filter field; any other (a bad
		// cursor) where the list would be.
		if directory.KindOf(err) == directory.KindInvalidFilter {
			v.Errors = map[string]string{"filter": message(err)}
		} else {
			d.ListError = message(err)
		}
		d.Pager = newPager(page, per, 0)
		h.render(c, st, "users", v)
		return
	}
	h.render(c, http.StatusOK, "users", v)
}

// createUser creates a user from the form, through the native projection
// (the same field rules as POST /cis/v1/users).
func (h *Handler) createUser(c *call) {
	f := c.r.PostForm
	d := &usersData{Sort: "created"}
	d.Apps, _ = h.svc.ListApps(c.r.Context(), c.p, schemas.AppRegular)
	d.Pager = newPager(1, 25, 0)
	v := &view{Title: "Users", Nav: "users", Data: d}
	body := map[string]any{}
	for _, k := range []string{"email", "phone_number", "username", "external_user_id"} {
		if s := strings.TrimSpace(f.Get(k)); s != "" {
			body[k] = s
		}
	}
	name := map[string]any{}
	for _, k := range []string{"first_name", "last_name"} {
		if s := strings.TrimSpace(f.Get(k)); s != "" {
			name[k] = s
		}
	}
	if len(name) > 0 {
		body["name"] = name
	}
	if ids := f["app_ids"]; len(ids) > 0 {
		a := make([]any, len(ids))
		for i, id := range ids {
			a[i] = id
		}
		body["app_ids"] = a
	}
	if body["email"] == nil && body["phone_number"] == nil {
		h.formError(c, "users", v, directory.FieldError(directory.KindInvalid, "email", "a new user needs an email address or a phone number"))
		return
	}
	u := &schemas.User{}
	if err := nativewire.MergeNativeUser(u, body, nativewire.NativeOptions{Now: h.svc.Now()}, true); err != nil {
		h.formError(c, "users", v, valueFieldError(err))
		return
	}
	var pw *directory.PasswordInput
	if p := f.Get("password"); p != "" {
		pw = &directory.PasswordInput{Password: p, Temporary: true}
	}
	created, err := h.svc.CreateUser(c.r.Context(), c.p, u, pw)
	if err != nil {
		h.formError(c, "users", v, err)
		return
	}
	c.done(h, "/portal/users/"+created.ID, "User created.")
}

// userData is the user detail page.
type userData struct {
	U          *schemas.User
	Email      string
	Phone      string
	Name       string
	CustomData string
	Apps       []appLink
	OtherApps  []*schemas.App
	Groups     []*schemas.Group
	GroupHints []*schemas.Group
	Events     []eventRow
	HasMore    bool
	MaxCustom  int
}

type appLink struct {
	App  *schemas.App
	Link *schemas.AppLink
	Data string // custom_app_data as indented JSON
}

func prettyJSON(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "{}"
	}
	return string(b)
}

// userPage gathers the user detail page: the user (one read), the
// applications (one list, joined in memory), the user's groups (one read
// each, a user has few), group suggestions (one page) and the user's audit
// trail (one query).
func (h *Handler) userPage(c *call, id string) (*view, error) {
	ctx := c.r.Context()
	u, err := h.svc.GetUser(ctx, c.p, id)
	if err != nil {
		return nil, err
	}
	d := &userData{U: u, Name: displayName(u), CustomData: prettyJSON(u.CustomData), MaxCustom: directory.MaxCustomDataBytes / 1024}
	if e, ok := u.PrimaryEmail(); ok {
		d.Email = e.Value
	}
	if p, ok := u.PrimaryPhone(); ok {
		d.Phone = p.Value
	}
	apps, err := h.svc.ListApps(ctx, c.p, schemas.AppRegular)
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		if l, ok := u.Apps[a.ID]; ok {
			d.Apps = append(d.Apps, appLink{App: a, Link: l, Data: prettyJSON(l.CustomAppData)})
		} else {
			d.OtherApps = append(d.OtherApps, a)
		}
	}
	if d.Groups, err = h.svc.UserGroups(ctx, c.p, id); err != nil {
		return nil, err
	}
	hints, err := h.svc.ListGroups(ctx, c.p, storage.Query{Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, g := range hints.Items {
		if !slices.Contains(u.GroupIDs, g.ID) {
			d.GroupHints = append(d.GroupHints, g)
		}
	}
	ev, err := h.svc.ListEvents(ctx, c.p, storage.EventQuery{TargetID: id, Limit: 20})
	if err != nil {
		return nil, err
	}
	d.Events, d.HasMore = eventRows(ev.Items), ev.Total > len(ev.Items)
	return &view{Title: d.Name + " · User", Nav: "users", Data: d}, nil
}

func (h *Handler) user(c *call) {
	v, err := h.userPage(c, c.r.PathValue("id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	if d := v.Data.(*userData); d.Name == "" {
		v.Title = "User"
	}
	h.render(c, http.StatusOK, "user", v)
}

// statusMessage is the flash after enabling or disabling u: the status it
// now has and, for a Pending user, why.
func statusMessage(u *schemas.User) string {
	switch u.Status {
	case schemas.StatusDisabled:
		return "User disabled."
	case schemas.StatusPending:
		return "User enabled: Pending until the first sign-in (never signed in)."
	}
	if u.LastAuth.IsZero() {
		return "User enabled: " + u.Status + "."
	}
	return "User enabled: " + u.Status + " (last login " + u.LastAuth.UTC().Format("2006-01-02 15:04 UTC") + ")."
}

// userAction performs one change from the user detail page and comes back to it.
func (h *Handler) userAction(c *call) {
	ctx, id, f := c.r.Context(), c.r.PathValue("id"), c.r.PostForm
	back := "/portal/users/" + id
	var msg string
	var err error
	switch c.r.PathValue("action") {
	case "profile":
		msg, err = "Profile saved.", h.saveProfile(c, id)
	case "custom-data":
		var m map[string]any
		if m, err = jsonObject(f, "custom_data", `, such as {"plan": "gold"}`); err != nil {
			break
		}
		_, err = h.svc.UpdateUser(ctx, c.p, id, 0, directory.UserChange{Apply: func(u *schemas.User) error {
			u.CustomData = m
			return nil
		}})
		msg = "Custom data saved."
	case "status":
		// Enable and disable are the administrative on/off switch, the
		// directory's lifecycle rule (directory.SetActive): enabling a user
		// who never signed in makes it Pending, one who has, Active.
		var on bool
		switch f.Get("active") {
		case "true":
			on = true
		case "false":
		default:
			err = directory.FieldError(directory.KindInvalid, "active", "active must be true or false")
		}
		if err != nil {
			break
		}
		var u *schemas.User
		u, err = h.svc.UpdateUser(ctx, c.p, id, 0, directory.UserChange{Apply: func(u *schemas.User) error {
			directory.SetActive(u, on)
			return nil
		}})
		if err == nil {
			msg = statusMessage(u)
		}
	case "password":
		err = h.svc.SetPassword(ctx, c.p, id, directory.PasswordInput{Password: f.Get("password"), Temporary: true}, false)
		msg = "Temporary password set: the user must replace it at the next login."
	case "assign":
		err = h.svc.AssignUserToApp(ctx, c.p, id, f.Get("app_id"))
		msg = "Application assigned."
	case "unassign":
		err = h.svc.UnassignUserFromApp(ctx, c.p, id, f.Get("app_id"))
		msg = "Application removed from the user."
	case "app-data":
		appID := f.Get("app_id")
		var m map[string]any
		if m, err = jsonObject(f, "custom_app_data", ""); err != nil {
			break
		}
		ext := strings.TrimSpace(f.Get("external_account_id"))
		_, err = h.svc.UpdateUser(ctx, c.p, id, 0, directory.UserChange{Apply: func(u *schemas.User) error {
			l, ok := u.Apps[appID]
			if !ok {
				return directory.Errorf(directory.KindNotFound, "the user is not assigned to this application")
			}
			c := *l
			c.ExternalAccountID, c.CustomAppData = ext, m
			u.Apps[appID] = &c
			return nil
		}})
		msg = "Application data saved."
	case "add-group":
		gid, gerr := h.groupByName(c, strings.TrimSpace(f.Get("group")))
		if gerr != nil {
			err = gerr
			break
		}
		err = h.svc.AddMembers(ctx, c.p, gid, []string{id})
		msg = "Added to the group."
	case "remove-group":
		err = h.svc.RemoveMembers(ctx, c.p, f.Get("group_id"), []string{id})
		msg = "Removed from the group."
	case "contact":
		msg, err = h.contact(c, id)
	case "delete":
		u, gerr := h.svc.GetUser(ctx, c.p, id)
		if gerr != nil {
			err = gerr
			break
		}
		want := u.UserName
		if e, ok := u.PrimaryEmail(); ok {
			want = e.Value
		} else if p, ok := u.PrimaryPhone(); ok && want == "" {
			want = p.Value
		}
		if !strings.EqualFold(strings.TrimSpace(f.Get("confirm")), want) {
			err = directory.FieldError(directory.KindInvalid, "confirm", "type %s to confirm the deletion", want)
			break
		}
		if err = h.svc.DeleteUser(ctx, c.p, id); err == nil {
			c.done(h, "/portal/users", "User "+want+" deleted.")
			return
		}
	default:
		h.errorPage(c, http.StatusNotFound, "There is no such action.")
		return
	}
	h.actionDone(c, err, "user", h.userPage, id, back, msg)
}

// jsonObject reads the form field name as one JSON object (numbers kept as
// written); otherwise it is an invalid-field error, its message ending with
// example.
func jsonObject(f url.Values, name, example string) (map[string]any, error) {
	var m map[string]any
	if err := schemas.DecodeJSON([]byte(f.Get(name)), &m); err != nil {
		return nil, directory.FieldError(directory.KindInvalid, name, "%s must be one JSON object%s", name, example)
	}
	return m, nil
}

// profileFields are the profile form's fields, by native name.
var profileFields = []string{"username", "email", "phone_number", "external_user_id", "birthday", "language", "picture"}
var nameFields = []string{"title", "first_name", "last_name", "middle_name"}

// saveProfile applies the profile form through the native projection:
// changed fields only, an emptied field removed.
func (h *Handler) saveProfile(c *call, id string) error {
	f := c.r.PostForm
	_, err := h.svc.UpdateUser(c.r.Context(), c.p, id, 0, directory.UserChange{Apply: func(u *schemas.User) error {
		cur := nativewire.NativeUser(u, nativewire.NativeOptions{})
		body := map[string]any{}
		str := func(m map[string]any, k string) string {
			switch v := m[k].(type) {
			case string:
				return v
			case map[string]any:
				s, _ := v["value"].(string)
				return s
			}
			return ""
		}
		for _, k := range profileFields {
			if !f.Has(k) {
				continue
			}
			if nv := strings.TrimSpace(f.Get(k)); nv != str(cur, k) {
				if nv == "" {
					body[k] = nil
				} else {
					body[k] = nv
				}
			}
		}
		// The native name is one object, written whole: when any part
		// changed, send every part the form has.
		curName, _ := cur["name"].(map[string]any)
		name, changed := map[string]any{}, false
		for _, k := range nameFields {
			nv := strings.TrimSpace(f.Get(k))
			if !f.Has(k) {
				nv = str(curName, k)
			}
			changed = changed || nv != str(curName, k)
			if nv != "" {
				name[k] = nv
			}
		}
		if changed {
			body["name"] = name
		}
		if len(body) == 0 {
			return nil
		}
		return valueFieldError(nativewire.MergeNativeUser(u, body, nativewire.NativeOptions{Now: h.svc.Now()}, false))
	}})
	return err
}

// contact adds an email or phone number, changes one, marks one verified,
// makes one primary, or removes a secondary one.
func (h *Handler) contact(c *call, id string) (string, error) {
	ctx, f := c.r.Context(), c.r.PostForm
	value, phone := f.Get("value"), f.Get("kind") == "phone"
	switch f.Get("op") {
	case "add", "edit":
		return h.saveContact(c, id, phone)
	case "verify", "primary":
		primary := f.Get("op") == "primary"
		var err error
		if phone {
			_, err = h.svc.VerifyPhoneNumber(ctx, c.p, id, value, primary)
		} else {
			_, err = h.svc.VerifyEmail(ctx, c.p, id, value, primary)
		}
		if primary {
			return value + " is now primary (and verified).", err
		}
		return value + " marked verified.", err
	case "remove":
		if phone {
			return value + " removed.", h.svc.RemoveSecondaryPhoneNumber(ctx, c.p, id, value)
		}
		return value + " removed.", h.svc.RemoveSecondaryEmail(ctx, c.p, id, value)
	}
	return "", directory.Errorf(directory.KindInvalid, "unknown contact operation")
}

// contactLine is one row of the contact card: an email address or phone
// number with its forms.
type contactLine struct {
	View                                *view
	UserID, Kind, Value, InputID, Field string
	Primary, Verified                   bool
	Editing                             bool // the change form was posted for this row and failed
}

// contactRow is the template function that makes a contactLine; kind is
// "email" or "phone", i the row's index among them.
func contactRow(v *view, kind string, i int, value string, primary, verified bool) contactLine {
	l := contactLine{View: v, Kind: kind, Value: value, Primary: primary, Verified: verified,
		InputID: "edit-" + kind + "-" + strconv.Itoa(i), Field: contactField("edit", kind == "phone")}
	if d, ok := v.Data.(*userData); ok {
		l.UserID = d.U.ID
	}
	l.Editing = v.Form != nil && v.Form.Get("op") == "edit" && v.Form.Get("kind") == kind && v.Form.Get("old") == value
	return l
}

// contactField names the form field of the contact card's add (op "add") or
// change ("edit") form for an email or a phone number: where its error shows.
func contactField(op string, phone bool) string {
	if phone {
		return op + "_phone"
	}
	return op + "_email"
}

// saveContact adds an email address or phone number to the user (op "add";
// primary=on makes it the primary, the old primary staying as a secondary
// with its verification), or changes one (op "edit": the address old
// becomes value). It goes through the native projection, as PATCH
// /cis/v1/users/{id} with email or secondary_emails (phone_number,
// secondary_phone_numbers) would: the same format checks, a new or changed
// address starts unverified, and the others keep their verification. An
// error names the form's field (contactField).
func (h *Handler) saveContact(c *call, id string, phone bool) (string, error) {
	f := c.r.PostForm
	op, old, value := f.Get("op"), strings.TrimSpace(f.Get("old")), strings.TrimSpace(f.Get("value"))
	field := contactField(op, phone)
	primaryKey, secondaryKey, noun := "email", "secondary_emails", "email address"
	same := func(a, b string) bool { return schemas.Fold(a) == schemas.Fold(b) } // as the unique index compares
	if phone {
		primaryKey, secondaryKey, noun = "phone_number", "secondary_phone_numbers", "phone number"
		same = func(a, b string) bool { return a == b }
	}
	if value == "" {
		return "", directory.FieldError(directory.KindInvalid, field, "enter the %s", noun)
	}
	if op == "edit" && old == value {
		return "Nothing changed.", nil
	}
	makePrimary := op == "add" && f.Get("primary") == "on"
	_, err := h.svc.UpdateUser(c.r.Context(), c.p, id, 0, directory.UserChange{Apply: func(u *schemas.User) error {
		cur := nativewire.NativeUser(u, nativewire.NativeOptions{})
		valueOf := func(v any) string {
			m, _ := v.(map[string]any)
			s, _ := m["value"].(string)
			return s
		}
		body := map[string]any{}
		var secondaries []any
		found := op == "add"
		for _, e := range asSlice(cur[secondaryKey]) {
			v := valueOf(e)
			if op == "edit" && !found && same(v, old) {
				v, found = value, true
			}
			secondaries = append(secondaries, v)
		}
		switch {
		case op == "add":
			body[secondaryKey] = append(secondaries, value)
		case found:
			body[secondaryKey] = secondaries
		case cur[primaryKey] != nil && same(valueOf(cur[primaryKey]), old):
			body[primaryKey] = value
		default:
			return directory.FieldError(directory.KindNotFound, field, "the user has no %s %q", noun, old)
		}
		if err := nativewire.MergeNativeUser(u, body, nativewire.NativeOptions{Now: h.svc.Now()}, false); err != nil {
			return asField(valueFieldError(err), field)
		}
		if makePrimary {
			if phone {
				directory.SetPrimaryPhoneNumber(u, value)
			} else {
				directory.SetPrimaryEmail(u, value)
			}
		}
		return nil
	}})
	if err != nil {
		return "", asField(err, field)
	}
	switch {
	case makePrimary:
		return value + " added as the primary " + noun + ".", nil
	case op == "add":
		return value + " added.", nil
	}
	return old + " changed to " + value + ".", nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// asField puts an error about a one-field form at that field, where it
// shows; a server fault stays as it is.
func asField(err error, field string) error {
	var de *directory.Error
	if errors.As(err, &de) && de.Kind != directory.KindInternal && de.Kind != directory.KindUnavailable && de.Field != field {
		moved := *de
		moved.Field = field
		return &moved
	}
	return err
}
