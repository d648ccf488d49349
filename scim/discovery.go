package scim

import "net/http"

// SCIM message and meta-schema URNs.
const (
	listResponseURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	searchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	patchOpURN       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	bulkRequestURN   = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseURN  = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	spcURN           = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
)

// serviceProviderConfig serves /ServiceProviderConfig. The wrapper serves it
// because the library hard-codes bulk, sort and etag as unsupported: these
// flags say what this server really does.
func (c *call) serviceProviderConfig() {
	o := c.h.opts
	bulk := map[string]any{"supported": true, "maxOperations": o.BulkMaxOperations, "maxPayloadSize": o.BulkMaxPayloadBytes}
	if c.sem().usersOnly {
		bulk = map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0}
	}
	c.writeJSON(http.StatusOK, map[string]any{
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
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": c.baseURL() + "/ServiceProviderConfig"},
	})
}
