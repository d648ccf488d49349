package scim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

// serve runs one request through the SCIM handler in-process (no socket),
// so that allocations and time are the server's own.
func (f *fixture) serve(_ testing.TB, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, f.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.admin)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	w := httptest.NewRecorder()
	f.srv.Config.Handler.ServeHTTP(w, req)
	return w
}

// entraPatch is the PATCH Entra ID sends most: a replace of the work email.
func entraPatch(i int) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+
		`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w%d@bench.org"}]}`, i)
}

// BenchmarkUserGet is the reference for BenchmarkUserPatch: a GET of the
// same user through the same handler.
func BenchmarkUserGet(b *testing.B) {
	f := newFixture(b)
	id := f.createUser("get@bench.org")
	b.ReportAllocs()
	for b.Loop() {
		if w := f.serve(b, "GET", "/Users/"+id, ""); w.Code != 200 {
			b.Fatalf("GET: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkUserPatch measures one Entra email replace, in-process: the
// allocations per PATCH are to stay within 2× those of BenchmarkUserGet.
// allocs/op counts every goroutine's; caller-allocs/op and writer-allocs/op
// split them between the request's goroutine and the store's write
// transaction (see reportAllocSplit).
func BenchmarkUserPatch(b *testing.B) {
	f := newFixture(b)
	id := f.createUser("patch@bench.org")
	b.ReportAllocs()
	i := 0
	patch := func() {
		i++
		if w := f.serve(b, "PATCH", "/Users/"+id, entraPatch(i)); w.Code != 200 {
			b.Fatalf("PATCH: %d %s", w.Code, w.Body)
		}
	}
	for b.Loop() {
		patch()
	}
	reportAllocSplit(b, "github.com/scimd/scimd/scim_test.BenchmarkUserPatch", func(n int) {
		for range n {
			patch()
		}
	})
}

// pathlessPatch is a path-less replace, the shape Okta's PATCHes take
// ({"op":"replace","value":{...}}): each key of the value is a path.
func pathlessPatch(i int) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+
		`{"op":"replace","value":{"name.familyName":"F%d","displayName":"D%d"}}]}`, i, i)
}

// BenchmarkUserPatchPathless measures one path-less replace of two
// attributes, in-process (BenchmarkUserPatch's counterpart for Okta's shape).
func BenchmarkUserPatchPathless(b *testing.B) {
	f := newFixture(b)
	id := f.createUser("pathless@bench.org")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if w := f.serve(b, "PATCH", "/Users/"+id, pathlessPatch(i)); w.Code != 200 {
			b.Fatalf("PATCH: %d %s", w.Code, w.Body)
		}
	}
}

// oktaPut is the PUT Okta sends on a profile change: the whole user.
func oktaPut(i int) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"put@bench.org",`+
		`"name":{"givenName":"Ada","familyName":"L%d"},"displayName":"Ada L%d","active":true,`+
		`"emails":[{"value":"put@bench.org","type":"work","primary":true}],`+
		`"phoneNumbers":[{"value":"+1555%07d","type":"mobile","primary":true}],`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D%d"}}`, i, i, i, i)
}

// BenchmarkUserPut measures one Okta whole-user PUT, in-process, on the
// RFC 7644 base (/scim/v2, full replace) and on Transmit's (/cis/scim,
// merge): the body is to be read once per PUT.
func BenchmarkUserPut(b *testing.B) {
	for _, base := range []string{"/scim/v2", "/cis/scim"} {
		b.Run(strings.TrimPrefix(strings.ReplaceAll(base, "/", "_"), "_"), func(b *testing.B) {
			f := newFixture(b)
			id := f.createUser("put@bench.org")
			f.base = f.srv.URL + base
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if w := f.serve(b, "PUT", "/Users/"+id, oktaPut(i)); w.Code != 200 {
					b.Fatalf("PUT: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// oktaCreate is the POST Okta sends to provision a user.
func oktaCreate(i int) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new%d@bench.org",`+
		`"name":{"givenName":"Ada","familyName":"L%d"},"displayName":"Ada L%d","active":true,"externalId":"00u%d",`+
		`"emails":[{"value":"new%d@bench.org","type":"work","primary":true}],"password":null,"groups":[],`+
		`"phoneNumbers":[{"value":"+1555%07d","type":"mobile","primary":true}],"locale":"en-US",`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D%d","employeeNumber":"E%d"}}`, i, i, i, i, i, i, i, i)
}

// BenchmarkUserCreate measures one Okta create (POST /Users), in-process:
// the body read, the directory's rules, the audit event, the answer.
func BenchmarkUserCreate(b *testing.B) {
	f := newFixture(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if w := f.serve(b, "POST", "/Users", oktaCreate(i)); w.Code != 201 {
			b.Fatalf("POST: %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkUserPatchConcurrent8 is PATCH throughput with 8 concurrent
// clients, each patching its own user (the store's writer is shared).
func BenchmarkUserPatchConcurrent8(b *testing.B) {
	const clients = 8
	f := newFixture(b)
	ids := make([]string, clients)
	for c := range ids {
		ids[c] = f.createUser(fmt.Sprintf("c%d@bench.org", c))
	}
	var n atomic.Int64
	run := func(count int) { // count PATCHes by the clients together
		end := n.Load() + int64(count)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				for {
					i := n.Add(1)
					if i > end {
						return
					}
					if w := f.serve(b, "PATCH", "/Users/"+ids[c], entraPatch(int(i))); w.Code != 200 {
						b.Errorf("PATCH: %d %s", w.Code, w.Body)
						return
					}
				}
			})
		}
		wg.Wait()
		n.Store(end)
	}
	b.ReportAllocs()
	b.ResetTimer()
	run(b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "patches/s")
	reportAllocSplit(b, "github.com/scimd/scimd/scim_test.BenchmarkUserPatchConcurrent8", run)
}

// rolesPatch is one PATCH adding n roles; n < 0 fills the body limit.
func rolesPatch(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"roles","value":[`)
	for i := 0; n < 0 || i < n; i++ {
		el, _ := json.Marshal(map[string]string{"value": fmt.Sprintf("role-%07d", i)})
		if n < 0 && sb.Len()+len(el)+8 > httpx.DefaultMaxBody {
			break
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.Write(el)
	}
	sb.WriteString(`]}]}`)
	return sb.String()
}

// largestBodies are the most expensive PATCH bodies up to the body limit:
// one value list (8,000 roles took 12 s before the cap was checked first; a
// full body about an hour), one small operation after another, and value
// filters of the longest length over a full attribute.
func largestBodies() map[string]struct {
	body   string
	status int
} {
	const head = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	fill := func(first string, next func(i int) string) string {
		var sb strings.Builder
		sb.WriteString(head + first)
		for i := 0; ; i++ {
			op := next(i)
			if sb.Len()+len(op)+8 > httpx.DefaultMaxBody {
				break
			}
			sb.WriteString("," + op)
		}
		sb.WriteString("]}")
		return sb.String()
	}
	roles := make([]string, 100)
	for i := range roles {
		roles[i] = fmt.Sprintf(`{"value":"r%d"}`, i)
	}
	addRoles := `{"op":"add","path":"roles","value":[` + strings.Join(roles, ",") + `]}`
	// a filter that matches only the last role, tested against all 100
	var terms []string
	for i := 0; len(strings.Join(terms, " or ")) < 3900; i++ {
		terms = append(terms, fmt.Sprintf(`value eq "nope%d"`, i))
	}
	filter := strings.ReplaceAll(strings.Join(terms, " or ")+` or value eq "r99"`, `"`, `\"`)
	return map[string]struct {
		body   string
		status int
	}{
		"values=8000": {rolesPatch(8000), http.StatusBadRequest},
		"values=max":  {rolesPatch(-1), http.StatusBadRequest},
		"ops=max": {fill(`{"op":"add","path":"title","value":"t"}`, func(i int) string {
			return fmt.Sprintf(`{"op":"replace","path":"title","value":"t%d"}`, i)
		}), http.StatusOK},
		"filters=max": {fill(addRoles, func(i int) string {
			return `{"op":"replace","path":"roles[` + filter + `].display","value":"d"}`
		}), http.StatusBadRequest}, // past MaxPatchWork
		"subs=max": {fill(addRoles, func(i int) string {
			return `{"op":"replace","path":"roles.display","value":"d"}`
		}), http.StatusBadRequest},
	}
}

// BenchmarkUserPatchLargest sends the most expensive PATCH bodies up to the
// body limit; each must be answered within a second (issue 7 item 2).
func BenchmarkUserPatchLargest(b *testing.B) {
	for name, c := range largestBodies() {
		b.Run(fmt.Sprintf("%s/bytes=%d", name, len(c.body)), func(b *testing.B) {
			f := newFixture(b)
			id := f.createUser("big@bench.org")
			for b.Loop() {
				if w := f.serve(b, "PATCH", "/Users/"+id, c.body); w.Code != c.status {
					b.Fatalf("PATCH: %d %.300s", w.Code, w.Body)
				}
			}
		})
	}
}

// membersPatch is one group PATCH adding the users in ids, filling at most
// the body limit; it returns the body and how many members it carries.
func membersPatch(ids []string) (string, int) {
	var sb strings.Builder
	sb.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[`)
	n := 0
	for _, id := range ids {
		el := `{"value":"` + id + `"}`
		if sb.Len()+len(el)+8 > httpx.DefaultMaxBody {
			break
		}
		if n > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(el)
		n++
	}
	sb.WriteString(`]}]}`)
	return sb.String(), n
}

// seedUsers creates n users through the directory (not the listener: only
// the PATCH is measured) and returns their ids.
func seedUsers(tb testing.TB, f *fixture, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				u, err := f.svc.CreateUser(tb.Context(), directory.System, &schemas.User{UserName: fmt.Sprintf("m%06d@bench.org", i)}, nil)
				if err != nil {
					failed.Add(1)
					return
				}
				ids[i] = u.ID
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		tb.Fatal("seeding users failed")
	}
	return ids
}

// BenchmarkGroupPatchMembers is a membership PATCH of 1,000 members (issue
// 12's target: ≤ 20 ms), at the cap (10,000 members, 200) and at the body limit (~43,000 members, refused with 400
// tooMany before any member is looked at). Issue 7 item 2: the latter took
// 1.8–3.3 s before the cap, in writing each member's record; each must be
// answered within a second.
func BenchmarkGroupPatchMembers(b *testing.B) {
	f := newFixture(b)
	ids := seedUsers(b, f, directory.MaxMembersPerRequest)
	thousand, k := membersPatch(ids[:1000])
	capped, n := membersPatch(ids)
	for len(ids) < 45_000 { // ids that need not exist: the count is checked first
		ids = append(ids, directory.NewID())
	}
	largest, max := membersPatch(ids)
	for _, c := range []struct {
		members int
		body    string
		status  int
		query   string
	}{
		{k, thousand, http.StatusOK, "?excludedAttributes=members"},
		{k, thousand, http.StatusOK, ""}, // the answer lists the members with their names
		{n, capped, http.StatusOK, "?excludedAttributes=members"},
		{max, largest, http.StatusBadRequest, "?excludedAttributes=members"},
	} {
		b.Run(fmt.Sprintf("members=%d/bytes=%d/answer=%t", c.members, len(c.body), c.query == ""), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				g, err := f.svc.CreateGroup(b.Context(), directory.System, &schemas.Group{DisplayName: directory.NewID()}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if w := f.serve(b, "PATCH", "/Groups/"+g.ID+c.query, c.body); w.Code != c.status {
					b.Fatalf("PATCH: %d %.300s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkGroupsByMember is Entra's membership check on a group of 100,000
// members: GET /Groups?filter=members[value eq "u"] and id eq "g" with
// excludedAttributes=members. It is answered from the user's own groups, so
// it costs the same whatever the size of the group.
func BenchmarkGroupsByMember(b *testing.B) {
	f := newFixture(b)
	ids := seedUsers(b, f, 100_000)
	g, err := f.svc.CreateGroup(b.Context(), directory.System, &schemas.Group{DisplayName: "everyone"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(ids); i += directory.MaxMembersPerRequest {
		if err := f.svc.AddMembers(b.Context(), directory.System, g.ID, ids[i:min(i+directory.MaxMembersPerRequest, len(ids))]); err != nil {
			b.Fatal(err)
		}
	}
	u := ids[len(ids)/2]
	for name, filter := range map[string]string{
		"member":        `members[value eq "` + u + `"]`,
		"member+id":     `members[value eq "` + u + `"] and id eq "` + g.ID + `"`,
		"members.value": `members.value eq "` + u + `"`,
	} {
		b.Run(name, func(b *testing.B) {
			path := "/Groups?excludedAttributes=members&filter=" + url.QueryEscape(filter)
			for b.Loop() {
				if w := f.serve(b, "GET", path, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"totalResults":1`) {
					b.Fatalf("GET: %d %.300s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkBulkUsers posts Bulk requests of 1,000 user creates, as
// scimload -bulk does (users with a name, two emails, a phone number and an
// externalId), to the SCIM face on the embedded store (NoSync: this measures
// the CPU, not the disk). users/s is one goroutine's; allocs/op (with
// -benchmem) counts every goroutine's, the writer's included, per request.
func BenchmarkBulkUsers(b *testing.B) {
	f := newFixture(b)
	n := 0
	var body strings.Builder
	for b.Loop() {
		b.StopTimer()
		body.Reset()
		body.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[`)
		for i := range 1000 {
			if i > 0 {
				body.WriteByte(',')
			}
			k := n + i
			fmt.Fprintf(&body, `{"method":"POST","path":"/Users","bulkId":"b%d","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],`+
				`"userName":"user%d@bench.example","externalId":"ext-%d","displayName":"Given%d Family%d","active":true,`+
				`"name":{"givenName":"Given%d","familyName":"Family%d"},`+
				`"emails":[{"value":"user%d@bench.example","type":"work","primary":true},{"value":"u%d@home.example","type":"home"}],`+
				`"phoneNumbers":[{"value":"+1555%07d","type":"work"}]}}`, k, k, k, k, k, k, k, k, k, k)
		}
		body.WriteString(`]}`)
		n += 1000
		b.StartTimer()
		if w := f.serve(b, "POST", "/Bulk", body.String()); w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"status":"4`) {
			b.Fatalf("Bulk: %d %.300s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "users/s")
}

// BenchmarkUserList answers a page of 100 users out of 300 generated ones
// (storagetest.NewUser: name, emails, phone, address, enterprise
// extension, custom data), in-process: a filtered list (`emails.value ew`,
// every user matches, as `name.familyName co "opp"` at scale gives a full
// page) and the same page unfiltered. It measures the face's cost of a list
// page: the store's search and the users' decoding included, so compare it
// with the store benchmarks in storage/embedded for the rest.
func BenchmarkUserList(b *testing.B) {
	f := newFixture(b)
	ctx := b.Context()
	for i := range 300 {
		u := storagetest.NewUser(i)
		u.ID = ""
		if _, err := f.svc.CreateUser(ctx, directory.System, u, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct{ name, path string }{
		{"filtered", "/Users?count=100&filter=" + url.QueryEscape(`emails.value ew "@example.com"`)},
		{"all", "/Users?count=100"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := &pageWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", f.base+bc.path, nil)
				req.Header.Set("Authorization", "Bearer "+f.admin)
				w.reset()
				f.srv.Config.Handler.ServeHTTP(w, req)
				if w.code != 200 || !bytes.Contains(w.body, []byte(`"itemsPerPage":100,`)) {
					b.Fatalf("list: %d %.300s", w.code, w.body)
				}
			}
			b.ReportMetric(float64(len(w.body)), "body-bytes")
		})
	}
}

// pageWriter is a ResponseWriter that keeps its buffer from one request to
// the next, so that a benchmark's allocations are the server's own (an
// httptest.ResponseRecorder grows a new body each time).
type pageWriter struct {
	h    http.Header
	code int
	body []byte
}

func (w *pageWriter) Header() http.Header { return w.h }

func (w *pageWriter) WriteHeader(code int) { w.code = code }

func (w *pageWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body = append(w.body, b...)
	return len(b), nil
}

func (w *pageWriter) reset() { clear(w.h); w.code, w.body = 0, w.body[:0] }
