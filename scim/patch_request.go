package scim

import (
	"strings"

	"github.com/scimd/scimd/scim/internal/wire"
)

// decodePatch validates a PatchOp body (RFC 7644 §3.5.2) and normalises its
// operations (op lower-cased: Entra sends "Add", "Replace", "Remove").
func decodePatch(body map[string]any) ([]wire.PatchOp, error) {
	if !hasSchema(body, patchOpURN) {
		return nil, invalidSyntax("a PATCH request must have schemas [%q]", patchOpURN)
	}
	raw, ok := lookupFold(body, "Operations").([]any)
	if !ok || len(raw) == 0 {
		return nil, invalidSyntax("a PATCH request needs Operations: an array of one or more operations")
	}
	ops := make([]wire.PatchOp, 0, len(raw))
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, invalidSyntax("operation %d is not an object", i+1)
		}
		raw, _ := lookupFold(m, "op").(string)
		op := patchOpName(raw)
		if op == "" {
			return nil, invalidSyntax("operation %d: op must be add, remove or replace, not %q", i+1, strings.ToLower(strings.TrimSpace(raw)))
		}
		o := wire.PatchOp{Op: op}
		if p := lookupFold(m, "path"); p != nil {
			s, ok := p.(string)
			if !ok {
				return nil, invalidPath("operation %d: path must be a string", i+1)
			}
			o.Path = strings.TrimSpace(s)
		}
		for k, v := range m {
			if strings.EqualFold(k, "value") {
				o.Value, o.HasValue = v, true
			}
		}
		if op != "remove" && !o.HasValue {
			return nil, invalidValue("operation %d: %s needs a value", i+1, op)
		}
		if op != "remove" && o.Path == "" {
			if _, ok := o.Value.(map[string]any); !ok {
				return nil, invalidValue("operation %d: %s without a path needs an object value", i+1, op)
			}
		}
		if op == "remove" && o.Path == "" {
			return nil, noTarget("operation %d: remove needs a path", i+1)
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// patchOpName is the lower-case name of a PATCH operation given in any case
// and with surrounding space, or "" when it is not add, remove or replace.
func patchOpName(s string) string {
	s = strings.TrimSpace(s)
	for _, op := range [...]string{"add", "remove", "replace"} {
		if strings.EqualFold(s, op) {
			return op
		}
	}
	return ""
}
