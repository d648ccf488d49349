package scim

import (
	"bytes"
	"errors"
	"strings"

	"github.com/scimd/scimd/internal/jsonw"
	"github.com/scimd/scimd/scim/internal/wire"
)

// readPatch reads a PatchOp body (RFC 7644 §3.5.2): decodePatch of the
// decoded object. The usual shape is read straight from the text
// (scanPatch: the same operations, without a map per object and a list per
// array); whatever scanPatch does not take — a repeated key, a value of an
// unexpected kind, an escaped op or schema, a malformed text, an invalid
// operation — is decoded and goes through decodePatch, whose answer
// (the operations or the error) it is.
func readPatch(raw []byte) ([]wire.PatchOp, error) {
	if ops, ok := scanPatch(raw); ok {
		return ops, nil
	}
	body, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	return decodePatch(body)
}

// decodePatch validates a decoded PatchOp body and normalises its
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
		if err := checkPatchOp(i, o); err != nil {
			return nil, err
		}
		ops = append(ops, o)
	}
	return ops, nil
}

// checkPatchOp checks what operation i (from 0) needs besides its op.
func checkPatchOp(i int, o wire.PatchOp) error {
	if o.Op != "remove" && !o.HasValue {
		return invalidValue("operation %d: %s needs a value", i+1, o.Op)
	}
	if o.Op != "remove" && o.Path == "" {
		if _, ok := o.Value.(map[string]any); !ok {
			return invalidValue("operation %d: %s without a path needs an object value", i+1, o.Op)
		}
	}
	if o.Op == "remove" && o.Path == "" {
		return noTarget("operation %d: remove needs a path", i+1)
	}
	return nil
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

// errNotScanned gives a body up to decodePatch.
var errNotScanned = errors.New("scim: not the usual PATCH shape")

// scanPatch reads the operations of a PATCH body that decodePatch would
// take, straight from the text, and reports whether it did: an object
// whose members are named (in any case) schemas and Operations at most once
// each, and others that decodePatch ignores; schemas an array, its strings
// free of escapes; Operations a non-empty array of objects naming op, path
// and value at most once each, op an escape-free string. Each value is
// decoded as Decode decodes it. It never answers an error: a body it does
// not take, valid or not, is decodePatch's.
func scanPatch(raw []byte) ([]wire.PatchOp, bool) {
	s := jsonw.NewScanner(raw)
	var ops []wire.PatchOp
	seenSchemas, seenOps, hasURN := false, false, false
	err := s.Object(func(key []byte) error {
		switch {
		case bytes.EqualFold(key, []byte("schemas")):
			if seenSchemas {
				return errNotScanned
			}
			seenSchemas = true
			return s.Array(func() error {
				v, err := s.Raw()
				if err != nil || len(v) == 0 || v[0] != '"' {
					return err // another kind: not a schema
				}
				inner, ok := plainString(v)
				if !ok {
					return errNotScanned
				}
				hasURN = hasURN || bytes.EqualFold(inner, []byte(patchOpURN))
				return nil
			})
		case bytes.EqualFold(key, []byte("Operations")):
			if seenOps {
				return errNotScanned
			}
			seenOps = true
			return s.Array(func() error {
				o, err := scanPatchOp(s)
				if err != nil {
					return err
				}
				if checkPatchOp(len(ops), o) != nil {
					return errNotScanned
				}
				ops = append(ops, o)
				return nil
			})
		}
		_, err := s.Raw()
		return err
	})
	if err != nil || s.End() != nil || !hasURN || len(ops) == 0 {
		return nil, false
	}
	return ops, true
}

// scanPatchOp reads one operation object for scanPatch.
func scanPatchOp(s *jsonw.Scanner) (wire.PatchOp, error) {
	var o wire.PatchOp
	seenPath := false
	err := s.Object(func(key []byte) error {
		switch {
		case bytes.EqualFold(key, []byte("op")):
			if o.Op != "" {
				return errNotScanned
			}
			v, err := s.Raw()
			if err != nil {
				return err
			}
			inner, ok := plainString(v)
			if !ok {
				return errNotScanned
			}
			if o.Op = patchOpName(string(inner)); o.Op == "" {
				return errNotScanned
			}
			return nil
		case bytes.EqualFold(key, []byte("path")):
			if seenPath {
				return errNotScanned
			}
			seenPath = true
			if s.Null() {
				return nil
			}
			p, err := s.String()
			o.Path = strings.TrimSpace(p)
			return err
		case bytes.EqualFold(key, []byte("value")):
			if o.HasValue {
				return errNotScanned
			}
			v, err := s.Value()
			o.Value, o.HasValue = v, true
			return err
		}
		_, err := s.Raw()
		return err
	})
	if err == nil && o.Op == "" {
		err = errNotScanned
	}
	return o, err
}

// plainString returns the characters of a string literal's text v (its
// quotes included) when it has no escape, and whether it had none.
func plainString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return nil, false
	}
	return v[1 : len(v)-1], true
}
