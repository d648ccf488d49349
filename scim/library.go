package scim

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/schemas"
)

// What this face takes from github.com/elimity-com/scim: the schema
// definition types (schema.Schema, built from the catalog by
// buildLibSchemas and rendered by the library's ToMap), the RFC 7643 §7
// meta-schemas (schema.Definition, ResourceTypeSchema,
// ServiceProviderConfigSchema) and the error body type (errors.ScimError).
// The library's Server is not used: see docs/architecture.md for why.

// schemaDocs are the schema definitions served under /Schemas: the three
// meta-schemas, then each resource type's schema and its extensions (with
// usersOnly, the user's only).
func schemaDocs(usersOnly bool) []map[string]any {
	docs := []map[string]any{schema.Definition().ToMap(), schema.ResourceTypeSchema().ToMap(), schema.ServiceProviderConfigSchema().ToMap()}
	for _, sn := range schemaNames {
		if !usersOnly || sn.rt == schemas.UserResource {
			docs = append(docs, libSchemas[sn.urn].ToMap())
		}
	}
	return docs
}

// resourceTypeDocs are the RFC 7643 §6 resource type definitions (with
// usersOnly, User only).
func resourceTypeDocs(usersOnly bool) []map[string]any {
	rt := func(name, endpoint, desc string, t schemas.ResourceType) map[string]any {
		urns := schemas.SchemaURNs(t)
		core, exts := urns[0], urns[1:]
		ext := make([]any, len(exts))
		for i, e := range exts {
			ext[i] = map[string]any{"schema": e, "required": false}
		}
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": name, "name": name,
			"description": desc, "endpoint": endpoint, "schema": core, "schemaExtensions": ext}
	}
	docs := []map[string]any{rt("User", "/Users", "User Account", schemas.UserResource)}
	if !usersOnly {
		docs = append(docs, rt("Group", "/Groups", "Group", schemas.GroupResource))
	}
	return docs
}

// metaSchemaNames are the RFC 7643 §8.7.2 names of the meta-schemas.
var metaSchemaNames = map[string]string{
	"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig": "ServiceProviderConfig",
	"urn:ietf:params:scim:schemas:core:2.0:ResourceType":          "ResourceType",
	"urn:ietf:params:scim:schemas:core:2.0:Schema":                "Schema",
}

// deleteResponse serves DELETE /Users/{id} and /Groups/{id} (and /Me): 204,
// or the error as every other one.
func (c *call) deleteResponse(rt schemas.ResourceType, id string) {
	if err := c.deleteResource(rt, id); err != nil {
		c.fail(err)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

func endpointOf(rt schemas.ResourceType) string {
	if rt == schemas.GroupResource {
		return "/Groups"
	}
	return "/Users"
}

// libSchemas are the library's schema definitions, generated from the catalog.
var libSchemas = buildLibSchemas()

// schemaNames names the schemas served.
var schemaNames = []struct {
	urn, name, desc string
	rt              schemas.ResourceType // the resource type the schema describes
}{
	{schemas.UserSchemaURN, "User", "User Account", schemas.UserResource},
	{schemas.EnterpriseUserURN, "EnterpriseUser", "Enterprise User", schemas.UserResource},
	{schemas.UserExtendedURN, "UserExtended", "The user's status, last authentication and password state (read-only).", schemas.UserResource},
	{schemas.CustomAppDataURN, "CustomAppData", "The calling application's free-form data for the user (native custom_app_data); any JSON object.", schemas.UserResource},
	{schemas.CustomDataURN, "CustomData", "Tenant-level free-form data of the user (native custom_data); any JSON object.", schemas.UserResource},
	{schemas.GroupSchemaURN, "Group", "Group", schemas.GroupResource},
	{schemas.GroupExtendedURN, "GroupExtended", "The group's native description and custom_data (read-only on the SCIM face; written on the native face).", schemas.GroupResource},
}

// groupExtendedAttributes define GroupExtendedURN, which has no catalog
// attributes: wire.SCIMGroup renders it from the group's native fields.
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
