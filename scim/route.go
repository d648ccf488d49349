package scim

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/scim/internal/wire"
)

// call is one request being served.
type call struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	base string // the base the request came in on, e.g. "/cis/scim"
	rest string // the path below the base, e.g. "/Users/123"
	// mount is what the base's requests share (nil for Bulk's operations,
	// which set no route label).
	mount *mount
	// sw is w for a request served by Handler.serve.
	sw scimWriter
	p  directory.Principal
	// internal is set for Bulk operations, which run with the Bulk request's principal.
	internal bool
	// groupNames caches GroupDisplay for the request.
	groupNames map[string]string
	// body is the buffer the request body was read into (readBody).
	body *[]byte
	// wireOpts caches opts (built once the caller is authenticated).
	wireOpts     wire.SCIMOptions
	haveWireOpts bool
	// etag holds the ETag header's value (setETag).
	etag [1]string
	// q is the URL query once parsed (query).
	q url.Values
}

// endpoint is one SCIM endpoint below a base, routed by the first path
// segment. SCIM clients spell resource names in any case (`/users` and
// `/Users` are one endpoint), so names match ignoring case, except the base
// itself ("") and ".search", which match exactly.
type endpoint struct {
	name   string
	whole  bool // nothing below the name: a longer path is not found
	search bool // the endpoint has a /.search below it (its route label)
	// methods, when set, are the methods allowed, and serve runs after
	// authentication; without them serve authenticates itself (Users and
	// Groups, per method) or needs no credential (discovery).
	methods []string
	serve   func(c *call, head, tail string)
	// users: served on a usersOnly base too (the Users endpoints and the
	// discovery documents describing them).
	users bool
}

// endpoints is the SCIM face's route table: the dispatch and the route
// labels of the request log and metrics are derived from it. (It is set in
// init because Bulk routes its operations through it.)
var endpoints []endpoint

func init() {
	endpoints = []endpoint{
		{name: "", whole: true, methods: []string{http.MethodGet}, serve: func(c *call, _, _ string) { c.rootQuery() }},
		{name: "ServiceProviderConfig", whole: true, users: true, serve: func(c *call, _, _ string) { c.discovery(c.serviceProviderConfig) }},
		{name: "ResourceTypes", users: true, serve: (*call).discoveryDocs},
		{name: "ResourceType", users: true, serve: (*call).discoveryDocs},
		{name: "Schemas", users: true, serve: (*call).discoveryDocs},
		{name: ".search", whole: true, methods: []string{http.MethodPost}, serve: func(c *call, _, _ string) { c.rootSearch() }},
		{name: "Bulk", whole: true, methods: []string{http.MethodPost}, serve: func(c *call, _, _ string) { c.bulk() }},
		{name: "Me", methods: []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete}, serve: func(c *call, _, tail string) { c.me(tail) }},
		{name: "Users", search: true, users: true, serve: func(c *call, _, tail string) { c.resource(schemas.UserResource, tail) }},
		{name: "Groups", search: true, serve: func(c *call, _, tail string) { c.resource(schemas.GroupResource, tail) }},
	}
}

func (c *call) discoveryDocs(head, tail string) {
	c.discovery(func() { c.libraryDiscovery(head, tail) })
}

// findEndpoint returns the endpoint the first segment head names, or nil.
func findEndpoint(head string) *endpoint {
	if i := endpointIndex(head); i >= 0 {
		return &endpoints[i]
	}
	return nil
}

// endpointIndex is the index in endpoints of the endpoint head names, or -1.
func endpointIndex(head string) int {
	for i := range endpoints {
		e := &endpoints[i]
		if e.name == head || e.name != "" && e.name != ".search" && strings.EqualFold(e.name, head) {
			return i
		}
	}
	return -1
}

// route dispatches the request. Discovery needs no credentials; everything
// else does.
func (c *call) route() {
	rest := strings.TrimPrefix(c.rest, "/")
	head, tail, _ := strings.Cut(rest, "/")
	if !c.internal {
		if p := c.mount.routes.label(head, tail); p != "" {
			httpx.SetRoute(c.r, p)
		}
	}
	e := findEndpoint(head)
	switch {
	case e == nil || e.whole && tail != "":
		c.fail(notFound("no SCIM endpoint at %s", c.r.URL.Path))
	case c.sem().usersOnly && !e.users:
		c.fail(newError(http.StatusNotImplemented, "", "%s is not served: %s is Transmit's SCIM API, which serves Users only; "+
			"groups, Bulk, /Me and queries across resource types are served under %s (RFC 7644), e.g. %s",
			c.r.URL.Path, c.base, rfcBase, rfcBase+c.rest))
	case e.methods != nil:
		c.auth(func() { e.serve(c, head, tail) }, e.methods...)
	default:
		e.serve(c, head, tail)
	}
}

// routeLabels are the route labels of one base, made once when the base is
// mounted: for each endpoint (by its index in endpoints), the endpoint
// itself, its /.search and a resource below it (routeKind's kinds) — a
// bounded set of templates, never an id.
type routeLabels [][3]string

// The kinds of route label of an endpoint (routeLabels' columns).
const (
	labelEndpoint = iota // base/Name
	labelSearch          // base/Name/.search
	labelResource        // base/Name/{id}
)

func newRouteLabels(base string) routeLabels {
	l := make(routeLabels, len(endpoints))
	for i, e := range endpoints {
		name := base + "/" + e.name
		l[i] = [3]string{labelEndpoint: name, labelSearch: name + "/.search", labelResource: name + "/{id}"}
	}
	return l
}

// label is the route label of a path below the base ("" for no SCIM
// endpoint).
func (l routeLabels) label(head, tail string) string {
	if i, kind := routeKind(head, tail); i >= 0 {
		return l[i][kind]
	}
	return ""
}

// routeKind is the endpoint (its index in endpoints, -1 for none) and the
// kind of route label of a path below a base.
func routeKind(head, tail string) (int, int) {
	i := endpointIndex(head)
	switch {
	case i < 0:
		return -1, 0
	case tail == "":
		return i, labelEndpoint
	case endpoints[i].name == "" || endpoints[i].name == ".search":
		return -1, 0 // nothing below them
	case tail == ".search" && endpoints[i].search:
		return i, labelSearch
	}
	return i, labelResource
}

// resource dispatches /Users… and /Groups….
func (c *call) resource(rt schemas.ResourceType, tail string) {
	switch {
	case tail == "":
		c.auth(func() {
			if c.r.Method == http.MethodPost {
				c.create(rt)
			} else {
				c.list(rt)
			}
		}, http.MethodGet, http.MethodPost)
	case tail == ".search":
		c.auth(func() { c.search(rt) }, http.MethodPost)
	default:
		id := tail
		c.auth(func() {
			switch c.r.Method {
			case http.MethodGet:
				c.get(rt, id)
			case http.MethodPut:
				c.replace(rt, id)
			case http.MethodPatch:
				c.patch(rt, id)
			case http.MethodDelete:
				c.deleteResponse(rt, id)
			}
		}, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
	}
}

// auth checks the method, authenticates the caller and runs next.
func (c *call) auth(next func(), methods ...string) {
	if !c.allow(methods...) {
		return
	}
	if !c.internal {
		p, err := c.h.svc.Authenticate(c.r.Context(), httpx.BearerToken(c.r))
		if err != nil {
			c.w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
			c.fail(err)
			return
		}
		p.IP, p.UserAgent = httpx.ClientIP(c.r), c.r.UserAgent()
		httpx.SetPrincipal(c.r, p.ActorType+":"+p.ActorID)
		c.p = p
	}
	next()
}

// allow answers 405 unless the request uses one of methods.
func (c *call) allow(methods ...string) bool {
	for _, m := range methods {
		if c.r.Method == m {
			return true
		}
	}
	c.w.Header().Set("Allow", strings.Join(methods, ", "))
	c.fail(newError(http.StatusMethodNotAllowed, "", "%s is not allowed on %s", c.r.Method, c.r.URL.Path))
	return false
}

// discovery serves a discovery endpoint: GET only, no credentials needed, and
// a filter is refused with 403 (RFC 7644 §4).
func (c *call) discovery(next func()) {
	if !c.allow(http.MethodGet) {
		return
	}
	if c.query().Has("filter") {
		c.fail(newError(http.StatusForbidden, "", "discovery endpoints do not support filtering"))
		return
	}
	next()
}

// opts returns the projection options for the caller and base. They are
// built once per request (after authentication: they name the caller's
// application), so a write and the answer that renders its result share
// them, Now included: the request's time.
func (c *call) opts() wire.SCIMOptions {
	if c.haveWireOpts {
		return c.wireOpts
	}
	o := wire.SCIMOptions{AppID: c.p.AppID, BaseURL: c.baseURL(), GroupDisplay: c, Now: c.h.svc.Now()}
	if c.sem().usersOnly {
		o.GroupsURL = c.publicURL() + rfcBase // the groups are served there
	}
	c.wireOpts, c.haveWireOpts = o, true
	return o
}

// sem is the semantics of the base the request came in on.
// (A base not in baseSemantics has RFC 7644's.)
func (c *call) sem() semantics { return baseSemantics[c.base] }

// GroupDisplay is a group's displayName, for a user's groups.display (Okta
// reads it); each group is read once per request. It makes the call the
// wire.GroupNamer of its renderings.
func (c *call) GroupDisplay(id string) string {
	if d, ok := c.groupNames[id]; ok {
		return d
	}
	d := ""
	if g, err := c.h.svc.GetGroup(c.r.Context(), c.p, id); err == nil {
		d = g.DisplayName
	}
	if c.groupNames == nil {
		c.groupNames = map[string]string{}
	}
	c.groupNames[id] = d
	return d
}

// baseURL is the absolute URL of the base the request came in on.
func (c *call) baseURL() string {
	if c.mount != nil && c.mount.url != "" {
		return c.mount.url
	}
	return c.publicURL() + c.base
}

// publicURL is the server's scheme://host[:port] as clients reach it.
func (c *call) publicURL() string {
	if pub := c.h.opts.PublicURL; pub != "" {
		return pub
	}
	return httpx.Scheme(c.r) + "://" + c.r.Host
}
