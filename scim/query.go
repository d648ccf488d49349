package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scimd/scimd/internal/jsonw"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/internal/wire"
	"github.com/scimd/scimd/storage"
)

// listParams are the query parameters of a list or search (RFC 7644 §3.4.2),
// from the URL or from a SearchRequest body.
type listParams struct {
	filter, sortBy, sortOrder string
	startIndex, count         int
	attributes, excluded      []string
}

// projection is the attributes / excludedAttributes pair of a request.
type projection struct{ attributes, excluded []string }

// whole reports whether the projection keeps a resource of type rt as
// rendered: no attributes, no excludedAttributes, and no returned:request
// attribute in the type's catalog for projectSCIM to drop.
func (pr projection) whole(rt schemas.ResourceType) bool {
	return len(pr.attributes) == 0 && len(pr.excluded) == 0 && len(requestOnly[rt]) == 0
}

// requestOnly lists, by resource type, the top-level attributes
// returned:request (RFC 7643 §7): projectSCIM drops them unless attributes
// names them.
var requestOnly = func() map[schemas.ResourceType][]*schemas.Attribute {
	m := map[schemas.ResourceType][]*schemas.Attribute{}
	for _, rt := range []schemas.ResourceType{schemas.UserResource, schemas.GroupResource} {
		urns := schemas.SchemaURNs(rt)
		for _, list := range [][]*schemas.Attribute{schemas.CommonAttributes(rt), schemas.SchemaAttributes(urns[0])} {
			for _, a := range list {
				if a.Returned == schemas.ReturnedRequest {
					m[rt] = append(m[rt], a)
				}
			}
		}
	}
	return m
}()

// queryProjection reads attributes / excludedAttributes from the URL.
func (c *call) queryProjection() projection {
	q := c.query()
	return projection{attributes: splitList(q["attributes"]), excluded: splitList(q["excludedAttributes"])}
}

// query is the request's URL query, parsed once (url.URL.Query parses it
// anew on each call); nil when the request has none.
func (c *call) query() url.Values {
	if c.q == nil && c.r.URL.RawQuery != "" {
		c.q = c.r.URL.Query()
	}
	return c.q
}

// splitList splits comma-separated parameter values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// queryParams reads list parameters from the URL query.
func (c *call) queryParams() (listParams, error) {
	q := c.query()
	lp := listParams{filter: q.Get("filter"), sortBy: q.Get("sortBy"), sortOrder: q.Get("sortOrder"),
		startIndex: 1, count: c.h.opts.MaxResults}
	pr := c.queryProjection()
	lp.attributes, lp.excluded = pr.attributes, pr.excluded
	var err error
	if lp.startIndex, err = queryInt(q, "startIndex", lp.startIndex); err != nil {
		return lp, err
	}
	if lp.count, err = queryInt(q, "count", lp.count); err != nil {
		return lp, err
	}
	return lp, nil
}

// queryInt is the integer parameter name of q, def when it is absent or blank.
func queryInt(q url.Values, name string, def int) (int, error) {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, invalidValue("%s must be an integer, not %q", name, v)
	}
	return n, nil
}

// searchParams reads list parameters from a SearchRequest body (RFC 7644 §3.4.3).
func (c *call) searchParams() (listParams, error) {
	body, err := c.decodeBody(0)
	if err != nil {
		return listParams{}, err
	}
	if !hasSchema(body, searchRequestURN) {
		return listParams{}, invalidSyntax("a search request must have schemas [%q]", searchRequestURN)
	}
	lp := listParams{startIndex: 1, count: c.h.opts.MaxResults}
	for k, v := range body {
		switch strings.ToLower(k) {
		case "filter":
			lp.filter, err = asString(k, v)
		case "sortby":
			lp.sortBy, err = asString(k, v)
		case "sortorder":
			lp.sortOrder, err = asString(k, v)
		case "startindex":
			lp.startIndex, err = asInt(k, v)
		case "count":
			lp.count, err = asInt(k, v)
		case "attributes":
			lp.attributes, err = asStrings(k, v)
		case "excludedattributes":
			lp.excluded, err = asStrings(k, v)
		}
		if err != nil {
			return lp, err
		}
	}
	return lp, nil
}

func asString(name string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalidValue("%s must be a string", name)
	}
	return s, nil
}

func asInt(name string, v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, invalidValue("%s must be an integer", name)
	}
	i, err := strconv.Atoi(n.String())
	if err != nil {
		return 0, invalidValue("%s must be an integer", name)
	}
	return i, nil
}

func asStrings(name string, v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		return splitList([]string{t}), nil
	case []any:
		var out []string
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, invalidValue("%s must be a list of attribute names", name)
			}
			out = append(out, splitList([]string{s})...)
		}
		return out, nil
	}
	return nil, invalidValue("%s must be a list of attribute names", name)
}

// hasSchema reports whether a request body's schemas list contains urn.
func hasSchema(body map[string]any, urn string) bool {
	for k, v := range body {
		if !strings.EqualFold(k, "schemas") {
			continue
		}
		list, _ := v.([]any)
		for _, s := range list {
			if str, ok := s.(string); ok && strings.EqualFold(str, urn) {
				return true
			}
		}
	}
	return false
}

// storageQuery builds the storage query of a list for one resource type.
func (c *call) storageQuery(rt schemas.ResourceType, lp listParams) (storage.Query, error) {
	opt := schemas.ParseOptions{Resource: rt, Dialect: schemas.SCIMDialect, AppID: c.p.AppID, Now: c.h.svc.Now()}
	q := storage.Query{}
	if f := strings.TrimSpace(lp.filter); f != "" {
		parsed, err := schemas.ParseFilter(f, opt)
		if err != nil {
			return q, err
		}
		q.Filter = parsed
	}
	if lp.sortBy != "" {
		p, err := schemas.ParsePath(lp.sortBy, opt)
		if native, ok := transmitSortKeys[strings.ToLower(lp.sortBy)]; ok && c.sem().transmitSort && rt == schemas.UserResource {
			p, err = schemas.ParsePath(native, schemas.ParseOptions{Resource: rt, Dialect: schemas.NativeDialect, AppID: c.p.AppID, Now: opt.Now})
		}
		if err != nil {
			return q, err
		}
		q.Sort = &schemas.SortKey{Path: p}
		switch strings.ToLower(lp.sortOrder) {
		case "", "ascending", "asc":
		case "descending", "desc":
			q.Sort.Descending = true
		default:
			return q, invalidValue("sortOrder must be ascending or descending, not %q", lp.sortOrder)
		}
	}
	q.Offset, q.Limit = pageBounds(lp, c.h.opts.MaxResults)
	return q, nil
}

// transmitSortKeys are the sortBy values of Transmit's SCIM API (Users API
// field names), served on /cis/scim.
var transmitSortKeys = map[string]string{"email": "email", "created_at": "created_at", "phone_number": "phone_number", "last_auth": "last_auth"}

// pageBounds turns 1-based startIndex/count into an offset and a limit
// (RFC 7644 §3.4.2.4: startIndex < 1 is 1, count < 0 is 0, count is capped).
func pageBounds(lp listParams, max int) (offset, limit int) {
	start, count := lp.startIndex, lp.count
	if start < 1 {
		start = 1
	}
	if count < 0 {
		count = 0
	}
	if count > max {
		count = max
	}
	return start - 1, count
}

// list serves GET /Users and GET /Groups.
func (c *call) list(rt schemas.ResourceType) {
	lp, err := c.queryParams()
	if err != nil {
		c.fail(err)
		return
	}
	c.runList(rt, lp)
}

// search serves POST /Users/.search and /Groups/.search.
func (c *call) search(rt schemas.ResourceType) {
	lp, err := c.searchParams()
	if err != nil {
		c.fail(err)
		return
	}
	c.runList(rt, lp)
}

// runList answers a ListResponse for one resource type.
func (c *call) runList(rt schemas.ResourceType, lp listParams) {
	q, err := c.storageQuery(rt, lp)
	if err != nil {
		c.fail(err)
		return
	}
	pr := projection{lp.attributes, lp.excluded}
	resources, total, err := c.fetch(rt, q, pr)
	if err != nil {
		c.fail(err)
		return
	}
	c.writeList(resources, total, q.Offset+1)
}

// fetch runs a query and renders its page.
func (c *call) fetch(rt schemas.ResourceType, q storage.Query, pr projection) ([]any, int, error) {
	ctx := c.r.Context()
	resources := []any{}
	if rt == schemas.GroupResource {
		page, err := c.h.svc.ListGroups(ctx, c.p, q)
		if err != nil {
			return nil, 0, err
		}
		for _, g := range page.Items {
			res, err := c.groupResource(g, pr)
			if err != nil {
				return nil, 0, err
			}
			resources = append(resources, res)
		}
		return resources, page.Total, nil
	}
	page, err := c.h.svc.ListUsers(ctx, c.p, q)
	if err != nil {
		return nil, 0, err
	}
	resources = slices.Grow(resources, len(page.Items))
	for _, u := range page.Items {
		if pr.whole(schemas.UserResource) {
			resources = append(resources, u) // rendered by writeList, straight into the body
			continue
		}
		res, err := c.projectedUser(u, pr)
		if err != nil {
			return nil, 0, err
		}
		resources = append(resources, res)
	}
	return resources, page.Total, nil
}

// writeList answers a ListResponse of resources: each a *schemas.User,
// rendered whole (wire.AppendSCIMUser with the call's options) straight
// into the body, or a value appendValue writes (a projected resource, a
// rendered group).
func (c *call) writeList(resources []any, total, startIndex int) {
	// A ListResponse, its members in key order as jsonw writes a map.
	c.writeBody(http.StatusOK, func(dst []byte) ([]byte, error) {
		dst = append(dst, `{"Resources":[`...)
		for i, r := range resources {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if u, ok := r.(*schemas.User); ok {
				dst, err = wire.AppendSCIMUser(dst, u, c.opts())
			} else {
				dst, err = appendValue(dst, r)
			}
			if err != nil {
				return dst, err
			}
		}
		dst = strconv.AppendInt(append(dst, `],"itemsPerPage":`...), int64(len(resources)), 10)
		dst = append(jsonw.AppendString(append(dst, `,"schemas":[`...), listResponseURN, false), ']')
		dst = strconv.AppendInt(append(dst, `,"startIndex":`...), int64(startIndex), 10)
		dst = strconv.AppendInt(append(dst, `,"totalResults":`...), int64(total), 10)
		return append(dst, '}'), nil
	})
}

// rootQuery serves GET on the base: a query across Users and Groups.
func (c *call) rootQuery() {
	lp, err := c.queryParams()
	if err != nil {
		c.fail(err)
		return
	}
	c.runRoot(lp)
}

// rootSearch serves POST /.search.
func (c *call) rootSearch() {
	lp, err := c.searchParams()
	if err != nil {
		c.fail(err)
		return
	}
	c.runRoot(lp)
}

// runRoot queries every resource type the filter applies to (a filter naming
// attributes of only one type selects only that type), users first, and
// pages over the concatenation.
func (c *call) runRoot(lp listParams) {
	offset, limit := pageBounds(lp, c.h.opts.MaxResults)
	var (
		resources = []any{}
		total     int
		applied   int
		firstErr  error
	)
	for _, rt := range []schemas.ResourceType{schemas.UserResource, schemas.GroupResource} {
		all := lp
		all.startIndex, all.count = 1, 0
		q, err := c.storageQuery(rt, all)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		applied++
		// Count this type's matches, then fetch the part of the page it covers.
		_, n, err := c.fetch(rt, q, projection{})
		if err != nil {
			c.fail(err)
			return
		}
		from, to := max(offset-total, 0), min(offset+limit-total, n)
		if from < to {
			q.Offset, q.Limit = from, to-from
			items, _, err := c.fetch(rt, q, projection{lp.attributes, lp.excluded})
			if err != nil {
				c.fail(err)
				return
			}
			resources = append(resources, items...)
		}
		total += n
	}
	if applied == 0 {
		c.fail(firstErr)
		return
	}
	c.writeList(resources, total, offset+1)
}
