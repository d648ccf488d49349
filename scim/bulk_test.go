package scim_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage/embedded"
)

// The user creates of a Bulk request reach the store together: a few
// commits (fsyncs) for the request instead of one per operation, with the
// answers of running the operations one by one in order — a later operation
// that clashes with an earlier one fails, an operation referring to a created
// user by bulkId sees it.
func TestBulkUserCreatesShareCommits(t *testing.T) {
	var commits atomic.Int64
	f := newFixtureStore(t, scim.Options{}, embedded.Options{NoSync: true, OnCommit: func(int) { commits.Add(1) }})
	const n = 200
	var opsIn []any
	for i := range n {
		name := fmt.Sprintf("bulk%03d@b.org", i)
		if i == 150 {
			name = "BULK005@b.org" // op 5's userName, folded
		}
		opsIn = append(opsIn, map[string]any{"method": "POST", "path": "/Users", "bulkId": fmt.Sprintf("u%d", i), "data": user(name)})
	}
	opsIn = append(opsIn, map[string]any{"method": "POST", "path": "/Groups", "bulkId": "g", "data": map[string]any{
		"displayName": "Bulk", "members": []any{map[string]any{"value": "bulkId:u7"}}}})
	before := commits.Load()
	r := f.do("POST", "/Bulk", f.admin, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": opsIn}).want(t, 200)
	got := commits.Load() - before
	ops := r.body["Operations"].([]any)
	if len(ops) != n+1 {
		t.Fatalf("%d results for %d operations", len(ops), n+1)
	}
	for i, o := range ops {
		want := "201"
		if i == 150 {
			want = "409"
		}
		if s := get(o, "status"); s != want {
			t.Fatalf("operation %d: status %v, want %s: %v", i, s, want, o)
		}
		if want == "201" && (get(o, "location") == nil || get(o, "version") == nil) {
			t.Fatalf("operation %d: no location or version: %v", i, o)
		}
	}
	if get(ops[150], "response", "scimType") != "uniqueness" {
		t.Fatalf("clash: %v", ops[150])
	}
	g := f.do("GET", get(ops[n], "location").(string), f.admin, nil).want(t, 200)
	if len(memberSet(g.body)) != 1 {
		t.Fatalf("bulkId member not resolved: %s", g.raw)
	}
	if got > n/5 {
		t.Fatalf("%d operations took %d commits; want at most %d", n+1, got, n/5)
	}
}

// A Bulk request may hold more user creates than one directory bulk
// creation takes (maxOperations is the operator's): they run in runs of at
// most directory.MaxBulkUsers, and every one is created.
func TestBulkMoreUserCreatesThanOneDirectoryBulk(t *testing.T) {
	n := directory.MaxBulkUsers + 50
	f := newFixtureOpts(t, scim.Options{BulkMaxOperations: n})
	var opsIn []any
	for i := range n {
		opsIn = append(opsIn, map[string]any{"method": "POST", "path": "/Users", "bulkId": fmt.Sprintf("u%d", i),
			"data": user(fmt.Sprintf("many%04d@b.org", i))})
	}
	r := f.do("POST", "/Bulk", f.admin, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": opsIn}).want(t, 200)
	ops := r.body["Operations"].([]any)
	if len(ops) != n {
		t.Fatalf("%d results for %d operations", len(ops), n)
	}
	for i, o := range ops {
		if s := get(o, "status"); s != "201" {
			t.Fatalf("operation %d: status %v: %v", i, s, o)
		}
	}
}
