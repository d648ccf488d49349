package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/schematest"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

func checkUserLine(t *testing.T, line []byte) {
	t.Helper()
	want, werr := stdUserRecord(line)
	got, gerr := decodeUserRecord(line)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("%s: error %v, encoding/json's %v", line, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", line, got, want)
	}
	if data, ok := strings.CutPrefix(string(line), string(userPrefix)); ok {
		data = strings.TrimSuffix(data, "}")
		want, werr := stdUserData([]byte(data))
		got, gerr := decodeUserData([]byte(data))
		if (werr != nil) != (gerr != nil) || werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("data %s: got %+v, %v; encoding/json's %+v, %v", data, got, gerr, want, werr)
		}
	}
}

func userLineOf(t testing.TB, u *schemas.User) []byte {
	b, err := json.Marshal(record{Type: recUser, Data: mustJSON(u)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUserJSONLikeEncodingJSON: the import's user decoder gives what
// encoding/json gives for the lines export writes — users with every field
// set (so that a field added to schemas.User and not to the decoder fails
// here), the generator's users, odd strings — and reads those lines itself
// (the fast path is taken); for lines it does not read the same way (keys in
// another case or given twice, values of another kind, syntax errors, cut
// lines) the result or the failure is encoding/json's.
func TestUserJSONLikeEncodingJSON(t *testing.T) {
	var full schemas.User
	schematest.Fill(t, &full)
	full.Apps["k2"] = nil
	full.Name.Formatted = "Zoë \"Q\" O'Neil\n\t\u2028 <&> \U0001F389"
	users := []*schemas.User{&full, {}, {ID: "x", Emails: []schemas.Email{}, Apps: map[string]*schemas.AppLink{}, CustomData: map[string]any{}}}
	for i := range 50 {
		users = append(users, storagetest.NewUser(i))
	}
	for _, u := range users {
		line := userLineOf(t, u)
		if _, err := fastUserRecord(line); err != nil {
			t.Fatalf("the fast decoder gave up (%v) on a line export writes: %s", err, line)
		}
		checkUserLine(t, line)
		// Cut anywhere, the line fails as it does for encoding/json.
		for i := 0; i < len(line); i += 7 {
			checkUserLine(t, line[:i])
		}
	}
	u := storagetest.NewUser(1)
	u.Password = &schemas.PasswordCredential{Hash: "$2a$04$x", Updated: u.Created}
	base := string(userLineOf(t, u))
	edits := [][2]string{
		{`"UserName":`, `"username":`},                  // another case: encoding/json matches it
		{`"UserName":`, `"UserName":"dup","UserName":`}, // twice
		{`"Name":{`, `"Name":{"GivenName":"a",`},        // a struct field twice
		{`"Emails":[`, `"Emails":null,"Emails":[`},      // a list twice
		{`"CustomData":{`, `"CustomData":{"x":1},"CustomData":{`},
		{`"UserName":`, `"Unknown":[1,{"a":null}],"UserName":`}, // ignored
		{`"UserName":`, `"K\u0065y":1,"UserName":`},             // an escaped key
		{`"UserName":`, `"\u0055serName":`},                     // an escaped field name
		{`"UserName":`, `"ſtatus":"x","UserName":`},             // non-ASCII: folds in encoding/json
		{`"Version":0`, `"Version":1.5`},
		{`"Version":0`, `"Version":"1"`},
		{`"Version":0`, `"Version":null`},
		{`"Title":"`, `"Title":null,"Nick":"`},
		{`"Title":`, `"Title":5,"X":`},
		{`"Primary":true`, `"Primary":"true"`},
		{`"Primary":true`, `"Primary":null`},
		{`"Created":"`, `"Created":null,"C":"`},
		{`"Created":"`, `"Created":"bad`},
		{`"Created":"`, `"Created":1,"C":"`},
		{`"Emails":[`, `"Emails":[null,`},
		{`"Emails":[`, `"Emails":{"a":1},"E":[`},
		{`"Enterprise":{`, `"Enterprise":null,"E":{`},
		{`"Enterprise":{`, `"Enterprise":"x","E":{`},
		{`"Apps":null`, `"Apps":{"a":null,"b":{"ExternalAccountID":"e","CustomAppData":{"n":1e400}},"a":{}}`},
		{`"Apps":null`, `"Apps":{"a":1}`},
		{`"GroupIDs":null`, `"GroupIDs":["g",null]`},
		{`"GroupIDs":null`, `"GroupIDs":[1]`},
		{`"CustomData":{`, `"CustomData":[],"C":{`},
		{`"CustomData":{`, `"CustomData":null,"C":{`},
		{`"type":"user"`, `"type":"group"`},
		{`"type":"user"`, `"type":"user","type":"user"`},
		{`"type":"user"`, `"Type":"user"`},
		{`"data":{`, `"data":null,"d":{`},
		{`"Name":{`, `"Name":null,"N":{`},
		{`"Name":{`, `"Name":[],"N":{`},
		{`"Hash":"`, `"Hash":"\ud800\u00e9\\\/`},
		{`"Locale":"`, "\"Locale\":\"\xff\xfe"},
	}
	for _, e := range edits {
		if !strings.Contains(base, e[0]) {
			t.Fatalf("the line has no %s", e[0])
		}
		checkUserLine(t, []byte(strings.Replace(base, e[0], e[1], 1)))
	}
	for _, s := range []string{base + " \n", base + "x", base + "{}", " " + base, ""} {
		checkUserLine(t, []byte(s))
	}
}

func FuzzUserJSON(f *testing.F) {
	f.Add(userLineOf(f, storagetest.NewUser(3)))
	f.Add([]byte(`{"type":"user","data":{"ID":"a","Apps":{"x":null},"Emails":[null,{"Value":"\u00e9"}],"Version":1}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkUserLine(t, line)
	})
}
