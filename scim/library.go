package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	scimlib "github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// The parts of the API served by github.com/elimity-com/scim: /Schemas and
// /ResourceTypes (rendered by the library from schema definitions generated
// from the catalog) and DELETE of a resource (through its ResourceHandler
// interface). The wrapper adds what the library leaves out of its discovery
// documents (meta.location) and keeps paging parameters away from it
// (discovery lists are never paginated).

// libServer returns the library server for a base, built on first use.
func (h *Handler) libServer(baseURL string) scimlib.Server {
	h.libMu.Lock()
	defer h.libMu.Unlock()
	if s, ok := h.lib[baseURL]; ok {
		return s
	}
	ext := func(urn string) scimlib.SchemaExtension {
		return scimlib.SchemaExtension{Schema: libSchemas[urn]}
	}
	users := scimlib.ResourceType{
		ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
		Description: optional.NewString("User Account"),
		Schema:      libSchemas[schemas.UserSchemaURN],
		SchemaExtensions: []scimlib.SchemaExtension{ext(schemas.EnterpriseUserURN), ext(schemas.UserExtendedURN),
			ext(schemas.CustomAppDataURN), ext(schemas.CustomDataURN)},
		Handler: libResourceHandler{h: h, rt: schemas.UserResource},
	}
	groups := scimlib.ResourceType{
		ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups",
		Description:      optional.NewString("Group"),
		Schema:           libSchemas[schemas.GroupSchemaURN],
		SchemaExtensions: []scimlib.SchemaExtension{ext(schemas.GroupExtendedURN)},
		Handler:          libResourceHandler{h: h, rt: schemas.GroupResource},
	}
	s, err := scimlib.NewServer(&scimlib.ServerArgs{
		ServiceProviderConfig: &scimlib.ServiceProviderConfig{MaxResults: 1000, SupportFiltering: true, SupportPatch: true},
		ResourceTypes:         []scimlib.ResourceType{users, groups},
	}, scimlib.WithBaseURL(baseURL))
	if err != nil {
		panic(fmt.Sprintf("scim: library server: %v", err)) // static configuration: a bug
	}
	h.lib[baseURL] = s
	return s
}

// callKey carries the *call into the library's ResourceHandler callbacks.
type callKey struct{}

// libraryDiscovery lets the library serve /Schemas[/urn] and
// /ResourceTypes[/name] (and the /ResourceType alias some suites use), then
// adds meta to each document.
func (c *call) libraryDiscovery(head, tail string) {
	kind, endpoint := "ResourceType", "/ResourceTypes"
	if strings.EqualFold(head, "Schemas") {
		kind, endpoint = "Schema", "/Schemas"
	}
	path := endpoint
	if tail != "" {
		path += "/" + tail
	}
	rec := &recorder{header: http.Header{}}
	c.h.libServer(c.baseURL()).ServeHTTP(rec, c.libRequest(path))
	var doc map[string]any
	if err := json.Unmarshal(rec.body.Bytes(), &doc); err != nil || rec.status >= 300 {
		c.relay(rec)
		return
	}
	addMeta := func(m map[string]any) {
		id, _ := m["id"].(string)
		if n, ok := metaSchemaNames[id]; ok {
			m["name"] = n // the library spells them "Service Provider Config", "Resource Type"
		}
		m["meta"] = map[string]any{"resourceType": kind, "location": c.baseURL() + endpoint + "/" + id}
	}
	if res, ok := doc["Resources"].([]any); ok {
		for _, r := range res {
			if m, ok := r.(map[string]any); ok {
				addMeta(m)
			}
		}
		doc["itemsPerPage"] = len(res)
		doc["startIndex"] = 1
	} else {
		addMeta(doc)
	}
	c.writeJSON(rec.status, doc)
}

// metaSchemaNames are the RFC 7643 §8.7.2 names of the meta-schemas.
var metaSchemaNames = map[string]string{
	"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig": "ServiceProviderConfig",
	"urn:ietf:params:scim:schemas:core:2.0:ResourceType":          "ResourceType",
	"urn:ietf:params:scim:schemas:core:2.0:Schema":                "Schema",
}

// libraryDelete lets the library serve DELETE /Users/{id} and /Groups/{id}.
// A failure is answered by this face, as every other error: the library
// refuses to frame some statuses for DELETE (429, 503 — it turns them into a
// 500 that clients retry blindly).
func (c *call) libraryDelete(rt schemas.ResourceType, id string) {
	rec := &recorder{header: http.Header{}}
	c.h.libServer(c.baseURL()).ServeHTTP(rec, c.libRequest(endpointOf(rt)+"/"+url.PathEscape(id)))
	if c.deleteErr != nil {
		c.fail(c.deleteErr)
		return
	}
	c.relay(rec)
}

// libRequest is the request as the library expects it: the path below the
// base, no query (discovery is never paginated), the call in the context.
func (c *call) libRequest(path string) *http.Request {
	r2 := c.r.Clone(context.WithValue(c.r.Context(), callKey{}, c))
	r2.URL.Path, r2.URL.RawPath, r2.URL.RawQuery = path, "", ""
	return r2
}

// relay copies a recorded library response to the client.
func (c *call) relay(rec *recorder) {
	for k, v := range rec.header {
		c.w.Header()[k] = v
	}
	c.w.WriteHeader(rec.status)
	_, _ = c.w.Write(rec.body.Bytes())
}

func endpointOf(rt schemas.ResourceType) string {
	if rt == schemas.GroupResource {
		return "/Groups"
	}
	return "/Users"
}

// libResourceHandler is the library's view of a resource type. Only Delete is
// reached: the wrapper serves every other operation (see docs/scim.md).
type libResourceHandler struct {
	h  *Handler
	rt schemas.ResourceType
}

var errServedByWrapper = newError(http.StatusInternalServerError, "", "operation not routed to the library").ScimError

// Create is served by the wrapper (c.create).
func (libResourceHandler) Create(*http.Request, scimlib.ResourceAttributes) (scimlib.Resource, error) {
	return scimlib.Resource{}, errServedByWrapper
}

// Get is served by the wrapper (c.get).
func (libResourceHandler) Get(*http.Request, string) (scimlib.Resource, error) {
	return scimlib.Resource{}, errServedByWrapper
}

// GetAll is served by the wrapper (c.list).
func (libResourceHandler) GetAll(*http.Request, scimlib.ListRequestParams) (scimlib.Page, error) {
	return scimlib.Page{}, errServedByWrapper
}

// Replace is served by the wrapper (c.replace).
func (libResourceHandler) Replace(*http.Request, string, scimlib.ResourceAttributes) (scimlib.Resource, error) {
	return scimlib.Resource{}, errServedByWrapper
}

// Patch is served by the wrapper (c.patch).
func (libResourceHandler) Patch(*http.Request, string, []scimlib.PatchOperation) (scimlib.Resource, error) {
	return scimlib.Resource{}, errServedByWrapper
}

// Delete deletes the resource on behalf of the wrapper's authenticated caller.
func (l libResourceHandler) Delete(r *http.Request, id string) error {
	c, _ := r.Context().Value(callKey{}).(*call)
	if c == nil {
		return errServedByWrapper
	}
	if err := c.deleteResource(l.rt, id); err != nil {
		c.deleteErr = err // answered by libraryDelete
		return toAPIError(err).ScimError
	}
	return nil
}

// recorder is a minimal in-memory http.ResponseWriter.
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

// libSchemas are the library's schema definitions, generated from the catalog.
var libSchemas = buildLibSchemas()

// schemaNames names the schemas served.
var schemaNames = []struct{ urn, name, desc string }{
	{schemas.UserSchemaURN, "User", "User Account"},
	{schemas.EnterpriseUserURN, "EnterpriseUser", "Enterprise User"},
	{schemas.UserExtendedURN, "UserExtended", "The user's status, last authentication and password state (read-only)."},
	{schemas.CustomAppDataURN, "CustomAppData", "The calling application's free-form data for the user (native custom_app_data); any JSON object."},
	{schemas.CustomDataURN, "CustomData", "Tenant-level free-form data of the user (native custom_data); any JSON object."},
	{schemas.GroupSchemaURN, "Group", "Group"},
	{schemas.GroupExtendedURN, "GroupExtended", "The group's native description and custom_data (read-only on the SCIM face; written on the native face)."},
}

// groupExtendedAttributes define GroupExtendedURN, which has no catalog
// attributes: schemas.SCIMGroup renders it from the group's native fields.
var groupExtendedAttributes = []map[string]any{
	{"name": "description", "type": "string", "multiValued": false, "description": "The group's description (native description).",
		"required": false, "caseExact": false, "mutability": "readOnly", "returned": "default", "uniqueness": "none"},
	{"name": "customData", "type": "complex", "multiValued": false, "description": "The group's free-form data (native custom_data); any JSON object.",
		"required": false, "caseExact": false, "mutability": "readOnly", "returned": "default", "uniqueness": "none"},
}

func buildLibSchemas() map[string]schema.Schema {
	out := map[string]schema.Schema{}
	for _, sn := range schemaNames {
		attrs := []map[string]any{}
		for _, a := range schemas.SchemaAttributes(sn.urn) {
			attrs = append(attrs, attributeDoc(a))
		}
		if sn.urn == schemas.GroupExtendedURN {
			attrs = groupExtendedAttributes
		}
		raw, err := json.Marshal(map[string]any{"id": sn.urn, "name": sn.name, "description": sn.desc, "attributes": attrs})
		if err != nil {
			panic(err)
		}
		var s schema.Schema
		if err := json.Unmarshal(raw, &s); err != nil {
			panic(fmt.Sprintf("scim: schema %s from the catalog: %v", sn.urn, err))
		}
		out[sn.urn] = s
	}
	return out
}

// attributeDoc renders a catalog attribute as an RFC 7643 §7 attribute definition.
func attributeDoc(a *schemas.Attribute) map[string]any {
	m := map[string]any{
		"name": a.Name, "type": string(a.Type), "multiValued": a.MultiValued, "description": a.Description,
		"required": a.Required, "caseExact": a.CaseExact, "mutability": string(a.Mutability),
		"returned": string(a.Returned), "uniqueness": string(a.Uniqueness),
	}
	if len(a.CanonicalValues) > 0 {
		m["canonicalValues"] = a.CanonicalValues
	}
	if len(a.ReferenceTypes) > 0 {
		m["referenceTypes"] = a.ReferenceTypes
	}
	var subs []map[string]any
	for _, s := range a.SubAttributes {
		if s.SchemaURN == "" {
			continue // scimd-internal
		}
		subs = append(subs, attributeDoc(s))
	}
	if len(subs) > 0 {
		m["subAttributes"] = subs
	}
	return m
}
