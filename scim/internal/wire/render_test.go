package wire

import (
	"bytes"
	"testing"

	"github.com/scimd/scimd/internal/jsonw"
	"github.com/scimd/scimd/internal/schematest"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

// The renderer writes what jsonw (and encoding/json) write for the value it
// renders: members in key order, compact, the same escapes. Decoding its
// text and encoding the value again gives the same bytes.
func TestRenderIsCanonicalJSON(t *testing.T) {
	full := schematest.SampleUser(t)
	odd := schematest.SampleUser(t)
	odd.Enterprise = nil
	odd.Emails = append(odd.Emails, schemas.Email{Value: "<&>\u2028\"x\\"})
	odd.DisplayName = "tab\there"
	users := []*schemas.User{full, odd, {ID: "x"}, {}}
	display := groupNamerFunc(func(id string) string {
		if id == "g1" {
			return "Group <One>"
		}
		return ""
	})
	opts := []SCIMOptions{{}, {AppID: "app1", BaseURL: "https://h/scim/v2", GroupDisplay: display, Now: schematest.Created},
		{AppID: "app2", BaseURL: "https://h/cis/scim", GroupsURL: "https://h/scim/v2"}}
	check := func(what string, b []byte) {
		t.Helper()
		v, err := jsonw.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v in %s", what, err, b)
		}
		again, err := jsonw.Append(nil, v, false)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, again) {
			t.Errorf("%s:\nrendered %s\ncanonical %s", what, b, again)
		}
	}
	members := []SCIMMember{{Value: "u1"}, {Value: "u2", Display: "D<", Type: "User"}, {Value: "g9", Type: "Group"}}
	for _, o := range opts {
		for i, u := range users {
			b, err := AppendSCIMUser([]byte("prefix"), u, o)
			if err != nil || !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("user %d: %v %s", i, err, b)
			}
			check("user", b[len("prefix"):])
		}
		for _, g := range []*schemas.Group{schematest.SampleGroup(t), {ID: "g2", DisplayName: "x"}, {}, {ID: "g3", Description: "d"}} {
			for _, ms := range [][]SCIMMember{nil, members} {
				b, err := AppendSCIMGroup(nil, g, ms, o)
				if err != nil {
					t.Fatal(err)
				}
				check("group "+g.ID, b)
			}
		}
	}
}

// BenchmarkAppendSCIMUser renders a generated user (the load tests' kind)
// into a reused buffer, as a GET does.
func BenchmarkAppendSCIMUser(b *testing.B) {
	u := storagetest.NewUser(7)
	u.ID, u.Version = "01a22ae4-a731-7000-b498-0406307ff38c", 1
	o := SCIMOptions{BaseURL: "http://127.0.0.1:8080/scim/v2"}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendSCIMUser(buf[:0], u, o); err != nil {
			b.Fatal(err)
		}
	}
}

// The URLs and the ETag written in pieces (appendURL, meta.version) read
// back as the strings they stand for, escapes included.
func TestRenderURLsAndVersion(t *testing.T) {
	o := SCIMOptions{BaseURL: "https://h/<scim>\"v2\u2028", GroupsURL: "https://g/\\x"}
	for _, version := range []int64{0, 1, 1234567890123} {
		u := &schemas.User{ID: `u"<1>` + "\u2029\xff", UserName: "a", Version: version, GroupIDs: []string{`g"1`, "g\t2"}}
		b, err := AppendSCIMUser(nil, u, o)
		m, meta := decodeRendered(t, b, err)
		if got, want := meta["location"], o.BaseURL+"/Users/"+string([]rune(u.ID)); got != want {
			t.Errorf("location %q, want %q", got, want)
		}
		if got, ok := meta["version"]; version == 0 && ok || version != 0 && got != schemas.ETag(version) {
			t.Errorf("version %d: meta.version %v", version, got)
		}
		groups := m["groups"].([]any)
		for i, id := range u.GroupIDs {
			if got, want := groups[i].(map[string]any)["$ref"], o.GroupsURL+"/Groups/"+id; got != want {
				t.Errorf("$ref %q, want %q", got, want)
			}
		}
	}
	g := &schemas.Group{ID: `g"<1>`, DisplayName: "G", Version: 7}
	b, err := AppendSCIMGroup(nil, g, []SCIMMember{{Value: `u"1`}}, o)
	m, meta := decodeRendered(t, b, err)
	if meta["location"] != o.BaseURL+"/Groups/"+g.ID || meta["version"] != `W/"7"` {
		t.Errorf("group meta %v", meta)
	}
	if ref := m["members"].([]any)[0].(map[string]any)["$ref"]; ref != o.BaseURL+"/Users/"+`u"1` {
		t.Errorf("member $ref %v", ref)
	}
}

// groupNamerFunc is a GroupNamer made of a func.
type groupNamerFunc func(groupID string) string

func (f groupNamerFunc) GroupDisplay(groupID string) string { return f(groupID) }

// decodeRendered decodes b, a resource rendered with error err (which fails
// the test), and returns it and its meta.
func decodeRendered(t *testing.T, b []byte, err error) (m, meta map[string]any) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonw.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	m = v.(map[string]any)
	return m, m["meta"].(map[string]any)
}
