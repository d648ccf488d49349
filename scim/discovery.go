package scim

import (
	"maps"
	"net/http"
	"strings"
)

// SCIM message and meta-schema URNs.
const (
	listResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	searchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	patchOpURN       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	bulkRequestURN   = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseURN  = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	spcURN           = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
)

// discoveryDocs are the documents of the discovery endpoints for one kind of
// base, built once by New: they depend on the handler's options and the
// base's semantics only. A response adds meta, whose location holds the base
// URL (which may come from the request), to a shallow copy.
type discoveryDocs struct {
	spc           map[string]any
	schemas       []map[string]any
	resourceTypes []map[string]any
}

// newDiscoveryDocs builds the discovery documents of a base (usersOnly: a
// base that serves users only).
func newDiscoveryDocs(o Options, usersOnly bool) *discoveryDocs {
	// The wrapper serves /ServiceProviderConfig because the library
	// hard-codes bulk, sort and etag as unsupported: these flags say what
	// this server really does.
	bulk := map[string]any{"supported": true, "maxOperations": o.BulkMaxOperations, "maxPayloadSize": o.BulkMaxPayloadBytes}
	if usersOnly {
		bulk = map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0}
	}
	d := &discoveryDocs{
		spc: map[string]any{
			"schemas":          []string{spcURN},
			"documentationUri": "https://github.com/scimd/scimd/blob/main/docs/scim.md",
			"patch":            map[string]any{"supported": true},
			"bulk":             bulk,
			"filter":           map[string]any{"supported": true, "maxResults": o.MaxResults},
			"changePassword":   map[string]any{"supported": true},
			"sort":             map[string]any{"supported": true},
			"etag":             map[string]any{"supported": true},
			"authenticationSchemes": []map[string]any{{
				"type":        "oauthbearertoken",
				"name":        "OAuth Bearer Token",
				"description": "A scimd API token (POST /cis/v1/manage/api-tokens) or an access token from /oidc/token, sent as Authorization: Bearer <token>.",
				"specUri":     "https://www.rfc-editor.org/info/rfc6750",
				"primary":     true,
			}},
		},
		schemas:       schemaDocs(usersOnly),
		resourceTypes: resourceTypeDocs(usersOnly),
	}
	for _, doc := range d.schemas {
		id, _ := doc["id"].(string)
		if n, ok := metaSchemaNames[id]; ok {
			doc["name"] = n // the library spells them "Service Provider Config", "Resource Type"
		}
	}
	return d
}

// withMeta returns a shallow copy of doc with its meta.
func withMeta(doc map[string]any, resourceType, location string) map[string]any {
	out := maps.Clone(doc)
	out["meta"] = map[string]any{"resourceType": resourceType, "location": location}
	return out
}

// serviceProviderConfig serves /ServiceProviderConfig.
func (c *call) serviceProviderConfig() {
	c.writeJSON(http.StatusOK, withMeta(c.h.discovery[c.sem().usersOnly].spc, "ServiceProviderConfig", c.baseURL()+"/ServiceProviderConfig"))
}

// libraryDiscovery serves /Schemas[/urn] and /ResourceTypes[/name] (and the
// /ResourceType alias some suites use) from the library's definitions, with
// meta on each document. Discovery lists are never paginated (RFC 7644 §4).
func (c *call) libraryDiscovery(head, tail string) {
	d := c.h.discovery[c.sem().usersOnly]
	kind, endpoint, docs := "ResourceType", "/ResourceTypes", d.resourceTypes
	if strings.EqualFold(head, "Schemas") {
		kind, endpoint, docs = "Schema", "/Schemas", d.schemas
	}
	located := func(doc map[string]any) map[string]any {
		id, _ := doc["id"].(string)
		return withMeta(doc, kind, c.baseURL()+endpoint+"/"+id)
	}
	if tail == "" {
		res := make([]any, len(docs))
		for i, doc := range docs {
			res[i] = located(doc)
		}
		c.writeJSON(http.StatusOK, map[string]any{"schemas": []string{listResponseURN}, "totalResults": len(docs),
			"itemsPerPage": len(docs), "startIndex": 1, "Resources": res})
		return
	}
	for _, doc := range docs {
		if doc["id"] == tail {
			c.writeJSON(http.StatusOK, located(doc))
			return
		}
	}
	c.fail(notFound("no %s %q", strings.ToLower(kind), tail))
}
