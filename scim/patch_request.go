package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scimd/scimd/schemas"
)

// patchOp is one normalised PATCH operation: op lower-cased (Entra sends
// "Add", "Replace", "Remove"), path as given ("" for none).
type patchOp struct {
	op    string
	path  string
	value any
	// hasValue distinguishes an absent value from a JSON null.
	hasValue bool
}

// decodePatch validates a PatchOp body (RFC 7644 §3.5.2) and normalises its
// operations.
func decodePatch(body map[string]any) ([]patchOp, error) {
	if !hasSchema(body, patchOpURN) {
		return nil, invalidSyntax("a PATCH request must have schemas [%q]", patchOpURN)
	}
	raw, ok := lookupFold(body, "Operations").([]any)
	if !ok || len(raw) == 0 {
		return nil, invalidSyntax("a PATCH request needs Operations: an array of one or more operations")
	}
	ops := make([]patchOp, 0, len(raw))
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, invalidSyntax("operation %d is not an object", i+1)
		}
		op, _ := lookupFold(m, "op").(string)
		op = strings.ToLower(strings.TrimSpace(op))
		if op != "add" && op != "remove" && op != "replace" {
			return nil, invalidSyntax("operation %d: op must be add, remove or replace, not %q", i+1, op)
		}
		o := patchOp{op: op}
		if p := lookupFold(m, "path"); p != nil {
			s, ok := p.(string)
			if !ok {
				return nil, invalidPath("operation %d: path must be a string", i+1)
			}
			o.path = strings.TrimSpace(s)
		}
		for k, v := range m {
			if strings.EqualFold(k, "value") {
				o.value, o.hasValue = v, true
			}
		}
		if op != "remove" && !o.hasValue {
			return nil, invalidValue("operation %d: %s needs a value", i+1, op)
		}
		if op != "remove" && o.path == "" {
			if _, ok := o.value.(map[string]any); !ok {
				return nil, invalidValue("operation %d: %s without a path needs an object value", i+1, op)
			}
		}
		if op == "remove" && o.path == "" {
			return nil, noTarget("operation %d: remove needs a path", i+1)
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// toDoc turns a projection into plain decoded JSON (maps, []any, json.Number),
// the form the PATCH engine and the schemas Replace functions work on.
func toDoc(v map[string]any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("scim: encode resource: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out map[string]any
	if err := d.Decode(&out); err != nil {
		return nil, fmt.Errorf("scim: decode resource: %w", err)
	}
	return out, nil
}

// resourceSchemas says which schema URNs a resource type has, split by how
// their attributes are stored in a resource document.
type resourceSchemas struct {
	rt       schemas.ResourceType
	core     string
	ext      []string // extensions with declared attributes, held in doc[urn]
	freeform []string // free-form extensions, doc[urn] is any JSON object
}

var (
	userSchemas = resourceSchemas{rt: schemas.UserResource, core: schemas.UserSchemaURN,
		ext:      []string{schemas.EnterpriseUserURN, schemas.UserExtendedURN},
		freeform: []string{schemas.CustomAppDataURN, schemas.CustomDataURN}}
	groupSchemas = resourceSchemas{rt: schemas.GroupResource, core: schemas.GroupSchemaURN}
)

func schemasFor(rt schemas.ResourceType) resourceSchemas {
	if rt == schemas.GroupResource {
		return groupSchemas
	}
	return userSchemas
}

// all lists every URN, longest first (so that prefix matching is unambiguous).
func (rs resourceSchemas) all() []string {
	out := append([]string{rs.core}, rs.ext...)
	out = append(out, rs.freeform...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (rs resourceSchemas) isFreeform(urn string) bool {
	for _, u := range rs.freeform {
		if u == urn {
			return true
		}
	}
	return false
}

// splitURN splits a URN-prefixed path into its schema URN (as the catalog
// spells it) and the rest; urn is "" when no known schema prefixes it.
func (rs resourceSchemas) splitURN(path string) (urn, rest string) {
	for _, u := range rs.all() {
		if len(path) >= len(u) && strings.EqualFold(path[:len(u)], u) && (len(path) == len(u) || path[len(u)] == ':') {
			return u, strings.TrimPrefix(path[len(u):], ":")
		}
	}
	return "", ""
}
