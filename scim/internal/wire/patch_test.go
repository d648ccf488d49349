package wire

import (
	"context"
	"errors"
	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/schematest"
	"github.com/scimd/scimd/schemas"
	"reflect"
	"strings"
	"testing"
)

// decodeOps reads a PatchOp "Operations" array as the SCIM face normalises it.
func decodeOps(t testing.TB, data []byte) ([]PatchOp, bool) {
	body, ok := schematest.DecodeBody(append(append([]byte(`{"Operations":`), data...), '}'))
	if !ok {
		return nil, false
	}
	raw, ok := body["Operations"].([]any)
	if !ok {
		return nil, false
	}
	ops := make([]PatchOp, 0, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, false
		}
		op, _ := m["op"].(string)
		o := PatchOp{Op: strings.ToLower(op)}
		o.Path, _ = m["path"].(string)
		o.Value, o.HasValue = m["value"]
		if o.Op != "add" && o.Op != "remove" && o.Op != "replace" {
			return nil, false
		}
		ops = append(ops, o)
	}
	return ops, true
}

// checkPatchRejected checks that a refused PATCH returned a typed error (the
// document is the caller's to discard: see PatchSCIMUser).
func checkPatchRejected(t *testing.T, err error) {
	t.Helper()
	var pe *directory.Error
	var ve *schemas.ValueError
	var fe *schemas.FilterError
	if !errors.As(err, &pe) && !errors.As(err, &ve) && !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a directory.Error, ValueError or FilterError", err, err)
	}
}

// FuzzPatchSCIMUser applies arbitrary operations (paths through the PATCH
// path parser, value filters through the filter parser) to a sample user and
// a group: every outcome is a typed error, or a
// document that renders, holds at most directory.MaxValues elements per attribute and
// one primary.
func FuzzPatchSCIMUser(f *testing.F) {
	for _, s := range []string{
		`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y.org"}]`,
		`[{"op":"add","value":{"name.givenName":"A","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"x"}}}]`,
		`[{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}]`,
		`[{"op":"add","path":"roles[primary eq \"True\"].display","value":"Admin"}]`,
		`[{"op":"add","path":"urn:scimd:schemas:extension:CustomData:2.0:User:a.b","value":{"c":[1,2]}}]`,
		`[{"op":"add","path":"emails","value":[{"value":"b@x.org","primary":true}]},{"op":"remove","path":"emails[value ew \".org\"]"}]`,
		`[{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"Paris"},{"op":"remove","path":"name.familyName"}]`,
		`[{"op":"replace","value":{"id":"u-0001","active":"False","userName":""}}]`,
		`[{"op":"add","path":"members","value":[{"value":"u1"},"u2"]},{"op":"replace","path":"displayName","value":"G"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ops, ok := decodeOps(t, data)
		if !ok {
			return
		}
		ctx := context.Background()
		if _, err := SCIMPatchPassword(ops); err != nil {
			var ve *schemas.ValueError
			if !errors.As(err, &ve) {
				t.Fatalf("password: %v (%T)", err, err)
			}
		}
		for _, opt := range []SCIMOptions{scimOpt, {Now: schematest.Created}} {
			u := schematest.SampleUser(t)
			if err := PatchSCIMUser(ctx, u, ops, opt); err != nil {
				checkPatchRejected(t, err)
				continue
			}
			userMap(t, u, opt)
			for _, n := range []int{len(u.Emails), len(u.PhoneNumbers), len(u.Roles), len(u.Addresses), len(u.Photos)} {
				if n > directory.MaxValues {
					t.Fatalf("%d values kept", n)
				}
			}
			if schematest.Primaries(u.Emails, func(e schemas.Email) bool { return e.Primary }) > 1 {
				t.Fatalf("two primary emails: %+v", u.Emails)
			}
			if u.UserName == "" {
				t.Fatalf("userName erased")
			}
		}
		attrs, _, err := SplitSCIMGroupPatch(ops)
		if err != nil {
			return
		}
		g := &schemas.Group{ID: "g1", DisplayName: "Group", ExternalID: "x"}
		if err := PatchSCIMGroup(ctx, g, attrs); err != nil {
			checkPatchRejected(t, err)
			return
		}
		groupMap(t, g, nil, SCIMOptions{})
	})
}

func TestPatchSCIMUserStopsWhenCancelled(t *testing.T) {
	u := schematest.SampleUser(t)
	before := u.Clone()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := PatchSCIMUser(ctx, u, []PatchOp{{Op: "replace", Path: "title", Value: "X", HasValue: true}}, scimOpt)
	if !errors.Is(err, context.Canceled) || !reflect.DeepEqual(u, before) {
		t.Fatalf("err %v; user changed: %v", err, !reflect.DeepEqual(u, before))
	}
}

func TestPatchSCIMUserCapBeforeConversion(t *testing.T) {
	u := schematest.SampleUser(t)
	list := make([]any, directory.MaxValues+1) // nils: nothing to convert, only to count
	err := PatchSCIMUser(context.Background(), u, []PatchOp{{Op: "add", Path: "roles", Value: list, HasValue: true}}, scimOpt)
	var ve *schemas.ValueError
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "at most") {
		t.Fatalf("err %v", err)
	}
}

// TestResolvePatchPathCache: a resolution kept by resolvePatchPath is the
// one resolvePatchPathOnce gives, for each resource type and application
// (the same path resolves differently for another caller's app data); a
// path that does not resolve is refused every time, and not kept.
func TestResolvePatchPathCache(t *testing.T) {
	cases := []struct {
		rt          schemas.ResourceType
		path, appID string
		ok          bool
	}{
		{schemas.UserResource, `emails[type eq "work"].value`, "", true},
		{schemas.UserResource, `emails[type eq "work"].value`, "app1", true},
		{schemas.UserResource, `name.familyName`, "", true},
		{schemas.GroupResource, `members`, "", true},
		{schemas.UserResource, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, "", true},
		{schemas.UserResource, `emails[type eq "work"`, "", false},
		{schemas.UserResource, `nosuch`, "", false},
		{schemas.GroupResource, `emails`, "", false},
	}
	for range 2 { // the second round is answered from the cache
		for _, c := range cases {
			want, wantErr := resolvePatchPathOnce(c.rt, c.path, c.appID)
			got, err := resolvePatchPath(c.rt, c.path, c.appID)
			if (err == nil) != c.ok || (wantErr == nil) != c.ok {
				t.Fatalf("%s: errors %v / %v, want ok=%v", c.path, err, wantErr, c.ok)
			}
			if c.ok && !reflect.DeepEqual(got, want) {
				t.Errorf("%s (%s): %+v, want %+v", c.path, c.appID, got, want)
			}
			patchPaths.mu.RLock()
			_, kept := patchPaths.m[patchPathKey{c.rt, c.appID, c.path}]
			patchPaths.mu.RUnlock()
			if kept != c.ok {
				t.Errorf("%s: kept %v, want %v", c.path, kept, c.ok)
			}
		}
	}
}
