package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/internal/wire"
)

// bulkOp is one operation of a Bulk request.
type bulkOp struct {
	method, path, bulkID, version string
	data                          any
	hasData                       bool
}

// bulk serves POST /Bulk (RFC 7644 §3.7): operations run in order with the
// caller's credentials, each through the same code as its single request;
// "bulkId:<id>" references (in paths and data) are resolved to the ids of
// resources created earlier in the request, and an operation that refers to
// one created later waits for it. Processing stops after failOnErrors errors.
// Without failOnErrors, a run of consecutive user creates without references
// is one bulk creation in the directory (runBulkUserCreates): the store
// commits them together, with the answers of running them one by one.
func (c *call) bulk() {
	o := c.h.opts
	if c.r.ContentLength > o.BulkMaxPayloadBytes {
		c.fail(newError(http.StatusRequestEntityTooLarge, "", "the bulk request is larger than maxPayloadSize (%d bytes)", o.BulkMaxPayloadBytes))
		return
	}
	body, err := c.decodeBody(o.BulkMaxPayloadBytes)
	if err != nil {
		if errors.Is(err, httpx.ErrBodyTooLarge) {
			err = newError(http.StatusRequestEntityTooLarge, "", "the bulk request is larger than maxPayloadSize (%d bytes)", o.BulkMaxPayloadBytes)
		}
		c.fail(err)
		return
	}
	if !hasSchema(body, bulkRequestURN) {
		c.fail(invalidSyntax("a bulk request must have schemas [%q]", bulkRequestURN))
		return
	}
	failOnErrors := 0
	if v := lookupFold(body, "failOnErrors"); v != nil {
		if failOnErrors, err = asInt("failOnErrors", v); err != nil || failOnErrors < 0 {
			c.fail(invalidValue("failOnErrors must be a non-negative integer"))
			return
		}
	}
	raw, ok := lookupFold(body, "Operations").([]any)
	if !ok {
		c.fail(invalidSyntax("a bulk request needs Operations: an array"))
		return
	}
	if len(raw) > o.BulkMaxOperations {
		c.fail(newError(http.StatusRequestEntityTooLarge, "", "the bulk request has %d operations; maxOperations is %d", len(raw), o.BulkMaxOperations))
		return
	}
	ops := make([]bulkOp, len(raw))
	for i, r := range raw {
		if ops[i], err = parseBulkOp(i, r); err != nil {
			c.fail(err)
			return
		}
	}
	if err := directory.CheckMemberCount(bulkMemberCount(ops)); err != nil {
		c.fail(err) // one request: its group operations together, as for a PATCH
		return
	}
	c.writeJSON(http.StatusOK, map[string]any{"schemas": []string{bulkResponseURN}, "Operations": c.runBulk(ops, failOnErrors)})
}

// bulkMemberCount is how many members the group operations of a bulk
// request name together (members of POST and PUT, membership operations of
// PATCH). An operation that cannot be read counts nothing: it fails alone.
func bulkMemberCount(ops []bulkOp) int {
	n := 0
	for _, op := range ops {
		data, ok := op.data.(map[string]any)
		if !ok || !strings.HasPrefix(strings.ToLower(op.path), "/groups") {
			continue
		}
		switch op.method {
		case http.MethodPost, http.MethodPut:
			ids, _ := wire.MemberIDs(lookupFold(data, "members"))
			n += len(ids)
		case http.MethodPatch:
			patch, err := decodePatch(data)
			if err != nil {
				continue
			}
			_, members, _ := wire.SplitSCIMGroupPatch(patch)
			for _, m := range members {
				n += len(m.IDs)
			}
		}
	}
	return n
}

func parseBulkOp(i int, r any) (bulkOp, error) {
	m, ok := r.(map[string]any)
	if !ok {
		return bulkOp{}, invalidSyntax("bulk operation %d is not an object", i+1)
	}
	var b bulkOp
	b.method, _ = lookupFold(m, "method").(string)
	b.method = strings.ToUpper(b.method)
	b.path, _ = lookupFold(m, "path").(string)
	b.bulkID, _ = lookupFold(m, "bulkId").(string)
	b.version, _ = lookupFold(m, "version").(string)
	for k, v := range m {
		if strings.EqualFold(k, "data") {
			b.data, b.hasData = v, true
		}
	}
	switch b.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return b, invalidValue("bulk operation %d: method must be POST, PUT, PATCH or DELETE", i+1)
	}
	lp := strings.ToLower(b.path)
	if !strings.HasPrefix(lp, "/users") && !strings.HasPrefix(lp, "/groups") || strings.Contains(b.path, "?") {
		return b, invalidValue("bulk operation %d: path must be /Users… or /Groups…", i+1)
	}
	if b.method == http.MethodPost && b.bulkID == "" {
		return b, invalidValue("bulk operation %d: a POST needs a bulkId", i+1)
	}
	return b, nil
}

// runBulk runs the operations and returns their results in request order.
func (c *call) runBulk(ops []bulkOp, failOnErrors int) []any {
	results := make([]map[string]any, len(ops))
	created := map[string]string{} // bulkId → resource id
	defined := map[string]bool{}
	for _, op := range ops {
		if op.bulkID != "" {
			defined[op.bulkID] = true
		}
	}
	errs, done := 0, 0
	for progress := true; progress && done < len(ops); {
		progress = false
		for i, op := range ops {
			if results[i] != nil {
				continue
			}
			if waitsFor(op, created, defined) {
				continue
			}
			if failOnErrors == 0 && userCreate(op) {
				// A run of user creates without references: one bulk
				// creation in the directory, committed together.
				j := i + 1
				for j < len(ops) && j-i < directory.MaxBulkUsers && results[j] == nil && userCreate(ops[j]) {
					j++
				}
				if j-i > 1 {
					copy(results[i:j], c.runBulkUserCreates(ops[i:j], created))
					done += j - i
					progress = true
					continue
				}
			}
			if ref := undefinedRef(op, defined); ref != "" {
				// RFC 7644 §3.7.2: an unresolvable bulkId is a 409 invalidValue
				// for that operation (never a 404 about a "bulkId:…" id).
				ae := newError(http.StatusConflict, "invalidValue", "bulkId:%s is not the bulkId of any operation in this request", ref)
				results[i] = bulkResult(op, http.StatusConflict, "", "", ae.ScimError)
			} else {
				results[i] = c.runBulkOp(op, created)
			}
			done++
			progress = true
			if st, _ := strconv.Atoi(results[i]["status"].(string)); st >= 400 {
				errs++
				if failOnErrors > 0 && errs >= failOnErrors {
					return compact(results)
				}
			}
		}
	}
	for i, op := range ops {
		if results[i] == nil {
			ae := newError(http.StatusConflict, "invalidValue", "bulkId reference cannot be resolved (circular or to a failed operation)")
			results[i] = bulkResult(op, http.StatusConflict, "", "", ae.ScimError)
		}
	}
	return compact(results)
}

func compact(results []map[string]any) []any {
	out := []any{}
	for _, r := range results {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// waitsFor reports whether op refers to a bulkId that another operation will
// define but has not yet created.
func waitsFor(op bulkOp, created map[string]string, defined map[string]bool) bool {
	wait := false
	visitBulkRefs(op.path, op.data, func(ref string) {
		if _, ok := created[ref]; !ok && defined[ref] {
			wait = true
		}
	})
	return wait
}

// undefinedRef returns a bulkId op refers to that no operation defines ("" if none).
func undefinedRef(op bulkOp, defined map[string]bool) string {
	ref := ""
	visitBulkRefs(op.path, op.data, func(r string) {
		if !defined[r] && ref == "" {
			ref = r
		}
	})
	return ref
}

// visitBulkRefs calls fn for every "bulkId:x" reference in path and data.
func visitBulkRefs(path string, data any, fn func(string)) {
	if i := strings.Index(path, "bulkId:"); i >= 0 {
		fn(strings.SplitN(path[i+len("bulkId:"):], "/", 2)[0])
	}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			if strings.HasPrefix(t, "bulkId:") {
				fn(t[len("bulkId:"):])
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		case map[string]any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(data)
}

// resolveRefs replaces "bulkId:x" references with created ids.
func resolveRefs(v any, created map[string]string) any {
	switch t := v.(type) {
	case string:
		if strings.HasPrefix(t, "bulkId:") {
			if id, ok := created[t[len("bulkId:"):]]; ok {
				return id
			}
		}
		return t
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = resolveRefs(e, created)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = resolveRefs(e, created)
		}
		return out
	}
	return v
}

// userCreate reports whether op is a POST /Users without bulkId references.
func userCreate(op bulkOp) bool {
	if op.method != http.MethodPost || !strings.EqualFold(op.path, "/Users") {
		return false
	}
	refs := false
	visitBulkRefs(op.path, op.data, func(string) { refs = true })
	return !refs
}

// runBulkOp runs one operation through the handler as an internal request.
func (c *call) runBulkOp(op bulkOp, created map[string]string) map[string]any {
	sub, rec, res := c.bulkSub(op, created)
	if res != nil {
		return res
	}
	sub.route()
	sub.releaseBody()
	return rec.result(op, created)
}

// runBulkUserCreates runs POST /Users operations without references (see
// userCreate) as one directory.BulkProvisionUsers: each body is read as its
// single POST reads it (userToCreate) and each answer rendered as it renders
// it, and the directory creates them together, with the result of creating
// them one by one in order.
func (c *call) runBulkUserCreates(ops []bulkOp, created map[string]string) []map[string]any {
	subs := make([]*call, len(ops))
	recs := make([]*recorder, len(ops))
	items := make([]directory.BulkUser, len(ops))
	results := make([]map[string]any, len(ops))
	for i, op := range ops {
		body, isObject := op.data.(map[string]any)
		bare := op
		if isObject {
			bare.hasData = false // read from op.data below, not encoded again
		}
		sub, rec, res := c.bulkSub(bare, created)
		if res != nil {
			results[i] = res
			items[i].Err = errors.New("not run")
			continue
		}
		subs[i], recs[i] = sub, rec
		if !isObject { // what the single POST answers to such a body
			var err error
			body, err = sub.decodeBody(0)
			sub.releaseBody() // decoded: nothing refers to it
			if err != nil {
				items[i].Err = err
				continue
			}
		}
		items[i].User, items[i].Password, items[i].Err = sub.userToCreate(body)
	}
	out, err := c.h.svc.BulkProvisionUsers(c.r.Context(), c.p, items)
	for i, op := range ops {
		if results[i] != nil {
			continue
		}
		switch {
		case err != nil:
			subs[i].fail(err)
		case out[i].Err != nil:
			subs[i].fail(out[i].Err)
		default:
			// What recorder.result makes of writeUser's answer, without
			// rendering the user only to read its id back: a successful
			// operation's result carries no response.
			u := out[i].User
			if op.bulkID != "" {
				created[op.bulkID] = u.ID
			}
			results[i] = bulkResult(op, http.StatusCreated, schemas.ETag(u.Version), subs[i].location(schemas.UserResource, u.ID), nil)
			continue
		}
		results[i] = recs[i].result(op, created)
	}
	return results
}

// bulkSub makes the internal request of an operation, its "bulkId:"
// references replaced, and the recorder of its answer; or, when the
// operation cannot be made into a request, its result.
func (c *call) bulkSub(op bulkOp, created map[string]string) (*call, *recorder, map[string]any) {
	path := op.path
	if i := strings.Index(path, "bulkId:"); i >= 0 {
		ref := strings.SplitN(path[i+len("bulkId:"):], "/", 2)[0]
		if id, ok := created[ref]; ok {
			path = strings.Replace(path, "bulkId:"+ref, id, 1)
		}
	}
	var body []byte
	if op.hasData {
		body, _ = json.Marshal(resolveRefs(op.data, created))
	}
	req, err := http.NewRequestWithContext(c.r.Context(), op.method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, bulkResult(op, http.StatusBadRequest, "", "", invalidValue("invalid path %q", op.path).ScimError)
	}
	req.Header.Set("Content-Type", "application/scim+json")
	if op.version != "" {
		req.Header.Set("If-Match", op.version)
	}
	req.RemoteAddr, req.Host = c.r.RemoteAddr, c.r.Host
	rec := &recorder{header: http.Header{}}
	return &call{h: c.h, w: rec, r: req, base: c.base, rest: path, p: c.p, internal: true}, rec, nil
}

// result is the Bulk result of the operation whose answer rec recorded; a
// POST's created id is recorded under its bulkId.
func (rec *recorder) result(op bulkOp, created map[string]string) map[string]any {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	location := rec.header.Get("Location")
	var res map[string]any
	_ = json.Unmarshal(rec.body.Bytes(), &res)
	if rec.status < 300 && res != nil {
		if id, _ := res["id"].(string); id != "" {
			if op.bulkID != "" && op.method == http.MethodPost {
				created[op.bulkID] = id
			}
			if m, _ := res["meta"].(map[string]any); m != nil && location == "" {
				location, _ = m["location"].(string)
			}
		}
	}
	if rec.status >= 400 {
		return bulkResult(op, rec.status, "", location, res)
	}
	return bulkResult(op, rec.status, rec.header.Get("ETag"), location, nil)
}

func bulkResult(op bulkOp, status int, version, location string, response any) map[string]any {
	r := map[string]any{"method": op.method, "status": strconv.Itoa(status)}
	if op.bulkID != "" {
		r["bulkId"] = op.bulkID
	}
	if version != "" {
		r["version"] = version
	}
	if location != "" {
		r["location"] = location
	}
	if response != nil {
		r["response"] = response
	}
	return r
}

// recorder is a minimal in-memory http.ResponseWriter for a Bulk operation
// run through the router.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
