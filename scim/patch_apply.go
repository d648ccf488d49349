package scim

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/schemas"
)

// patcher applies PATCH operations to a resource document (the SCIM
// projection as plain JSON). The result goes back through the schemas
// package's Replace functions, so the attribute mapping stays in one place.
type patcher struct {
	rs    resourceSchemas
	appID string
	doc   map[string]any
}

// apply applies one operation.
func (pt *patcher) apply(o patchOp) error {
	if o.path == "" {
		return pt.pathless(o.op, o.value.(map[string]any), "")
	}
	t, err := resolvePath(pt.rs, o.path, pt.appID)
	if err != nil {
		return err
	}
	return pt.applyTarget(o.op, t, o.value, o.hasValue)
}

// pathless applies an add or replace without a path: each key of the value
// is itself a path — a simple name, a dotted sub-attribute path, a
// URN-qualified path or a schema URN holding an object (the forms Entra and
// Okta send). Read-only keys equal to the current value (Okta re-sends the
// group id) are ignored; meta and schemas are always ignored.
func (pt *patcher) pathless(op string, value map[string]any, prefix string) error {
	keys := make([]string, 0, len(value))
	for k := range value {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := value[k]
		if prefix == "" && (strings.EqualFold(k, "schemas") || strings.EqualFold(k, "meta")) {
			continue
		}
		path := k
		if prefix != "" {
			path = prefix + ":" + k
		}
		if urn, rest := pt.rs.splitURN(path); urn != "" && rest == "" && !pt.rs.isFreeform(urn) {
			inner, ok := v.(map[string]any)
			if !ok {
				return invalidValue("the value of %s must be an object", k)
			}
			sub := urn
			if urn == pt.rs.core {
				sub = ""
			}
			if err := pt.pathless(op, inner, sub); err != nil {
				return err
			}
			continue
		}
		t, err := resolvePath(pt.rs, path, pt.appID)
		if err != nil {
			return err
		}
		if t.attr != nil && isReadOnly(t) {
			if pt.equalsCurrent(t, v) {
				continue
			}
			return mutability("%s is read-only", path)
		}
		if err := pt.applyTarget(op, t, v, true); err != nil {
			return err
		}
	}
	return nil
}

func isReadOnly(t target) bool {
	if t.attr.Mutability == schemas.ReadOnly {
		return true
	}
	return t.sub != nil && t.sub.Mutability == schemas.ReadOnly
}

// equalsCurrent reports whether v equals the current value at t (for read-only echoes).
func (pt *patcher) equalsCurrent(t target, v any) bool {
	if t.filter != nil {
		return false
	}
	cont := pt.container(t, false)
	if cont == nil {
		return v == nil
	}
	cur := cont[t.attr.Name]
	if t.sub != nil {
		m, _ := cur.(map[string]any)
		if m == nil {
			return v == nil
		}
		cur = m[t.sub.Name]
	}
	if isEmpty(cur) && isEmpty(v) {
		return true
	}
	return reflect.DeepEqual(cur, v)
}

// container returns the map holding t's attribute (the document or an
// extension object), creating an extension object when create is set.
func (pt *patcher) container(t target, create bool) map[string]any {
	if !t.ext {
		return pt.doc
	}
	m, _ := pt.doc[t.urn].(map[string]any)
	if m == nil && create {
		m = map[string]any{}
		pt.doc[t.urn] = m
	}
	return m
}

// applyTarget applies one operation to a resolved path.
func (pt *patcher) applyTarget(op string, t target, v any, hasValue bool) error {
	if t.freeform {
		return pt.applyFreeform(op, t, v)
	}
	if t.attr == nil { // a whole extension
		if op == "remove" {
			delete(pt.doc, t.urn)
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return invalidValue("the value of %s must be an object", t.urn)
		}
		return pt.pathless(op, m, t.urn)
	}
	if isReadOnly(t) {
		return mutability("%s is read-only", pathName(t))
	}
	if op == "remove" && t.filter == nil && t.sub == nil && t.attr.Required {
		return mutability("%s is required and cannot be removed", pathName(t))
	}
	if op == "remove" && t.attr.Mutability == schemas.WriteOnly {
		return mutability("%s cannot be removed", pathName(t))
	}
	switch {
	case t.filter != nil:
		return pt.applyFiltered(op, t, v)
	case t.sub != nil:
		return pt.applySub(op, t, v)
	}
	return pt.applyWhole(op, t, v, hasValue)
}

func pathName(t target) string {
	n := t.attr.Name
	if t.sub != nil {
		n += "." + t.sub.Name
	}
	return n
}

func isManager(a *schemas.Attribute) bool {
	return a.SchemaURN == schemas.EnterpriseUserURN && a.Name == "manager"
}

// applyWhole applies an operation to a whole attribute.
func (pt *patcher) applyWhole(op string, t target, v any, hasValue bool) error {
	a := t.attr
	if op == "remove" {
		cont := pt.container(t, false)
		if cont == nil {
			return nil
		}
		list, isList := v.([]any)
		if a.MultiValued && hasValue && isList && len(list) > 0 {
			// Entra: remove with a value list removes only those values.
			arr, _ := cont[a.Name].([]any)
			kept := arr[:0:0]
			for _, e := range arr {
				if !containsElem(list, e) {
					kept = append(kept, e)
				}
			}
			setOrDelete(cont, a.Name, kept)
			return nil
		}
		delete(cont, a.Name)
		return nil
	}
	cv, err := coerce(a, v, true)
	if err != nil {
		return err
	}
	cont := pt.container(t, true)
	switch {
	case isManager(a):
		m, _ := cv.(map[string]any)
		if id, _ := m["value"].(string); m == nil || id == "" {
			delete(cont, a.Name) // Entra's "remove manager" as a replace with an empty value
			return nil
		}
		cont[a.Name] = m
	case a.MultiValued:
		list, _ := cv.([]any)
		if op == "replace" {
			setOrDelete(cont, a.Name, list)
			fixPrimaries(list, -1)
			return nil
		}
		arr, _ := cont[a.Name].([]any)
		for _, e := range list {
			if !containsElem(arr, e) {
				arr = append(arr, e)
				fixPrimaries(arr, len(arr)-1)
			}
		}
		setOrDelete(cont, a.Name, arr)
	case a.Type == schemas.TypeComplex:
		m, _ := cv.(map[string]any)
		cur, _ := cont[a.Name].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		for k, x := range m {
			if x == nil {
				delete(cur, k)
			} else {
				cur[k] = x
			}
		}
		setOrDelete(cont, a.Name, cur)
	default:
		if cv == nil {
			delete(cont, a.Name)
		} else {
			cont[a.Name] = cv
		}
	}
	return nil
}

// applySub applies an operation to attr.sub without a value filter.
func (pt *patcher) applySub(op string, t target, v any) error {
	a, s := t.attr, t.sub
	cont := pt.container(t, op != "remove")
	if cont == nil {
		return nil
	}
	var cv any
	if op != "remove" {
		var err error
		if cv, err = coerce(s, v, false); err != nil {
			return err
		}
	}
	if !a.MultiValued {
		m, _ := cont[a.Name].(map[string]any)
		if m == nil {
			if op == "remove" {
				return nil
			}
			m = map[string]any{}
		}
		if op == "remove" || cv == nil {
			delete(m, s.Name)
		} else {
			m[s.Name] = cv
		}
		if isManager(a) && strings.EqualFold(s.Name, "value") {
			if id, _ := m["value"].(string); id == "" {
				delete(cont, a.Name)
				return nil
			}
		}
		setOrDelete(cont, a.Name, m)
		return nil
	}
	arr, _ := cont[a.Name].([]any)
	if len(arr) == 0 {
		if op == "remove" {
			return nil
		}
		arr = []any{map[string]any{s.Name: cv}}
	}
	for i, e := range arr {
		m, _ := e.(map[string]any)
		if m == nil {
			continue
		}
		if op == "remove" || cv == nil {
			delete(m, s.Name)
		} else {
			m[s.Name] = cv
			if isTrue(cv) && strings.EqualFold(s.Name, "primary") {
				fixPrimaries(arr, i)
			}
		}
	}
	setOrDelete(cont, a.Name, arr)
	return nil
}

// applyFiltered applies an operation to attr[filter] or attr[filter].sub.
// An add (or a replace whose filter selects a type, as Entra sends for
// attributes it believes exist) that matches nothing creates the element
// from the filter's equality terms: emails[type eq "work"].value → {type: work, value: …}.
func (pt *patcher) applyFiltered(op string, t target, v any) error {
	a := t.attr
	cont := pt.container(t, op != "remove")
	var arr []any
	if cont != nil {
		arr, _ = cont[a.Name].([]any)
	}
	var hits []int
	for i, e := range arr {
		if m, ok := e.(map[string]any); ok && matchElem(t.filter, m) {
			hits = append(hits, i)
		}
	}
	if op == "remove" {
		if len(hits) == 0 {
			return noTarget("no value of %s matches the filter", a.Name)
		}
		if t.sub != nil {
			for _, i := range hits {
				delete(arr[i].(map[string]any), t.sub.Name)
			}
			return nil
		}
		kept := arr[:0:0]
		for i, e := range arr {
			if !containsInt(hits, i) {
				kept = append(kept, e)
			}
		}
		setOrDelete(cont, a.Name, kept)
		return nil
	}
	var cv any
	var err error
	if t.sub != nil {
		cv, err = coerce(t.sub, v, false)
	} else {
		cv, err = coerce(a, v, false)
	}
	if err != nil {
		return err
	}
	if len(hits) == 0 {
		fields, ok := eqFields(t.filter)
		if !ok || (op == "replace" && !hasTypeEq(t.filter)) {
			return noTarget("no value of %s matches the filter", a.Name)
		}
		elem := fields
		if t.sub != nil {
			elem[t.sub.Name] = cv
		} else if m, ok := cv.(map[string]any); ok {
			for k, x := range m {
				elem[k] = x
			}
		} else {
			return invalidValue("the value for %s must be an object", a.Name)
		}
		arr = append(arr, elem)
		fixPrimaries(arr, len(arr)-1)
		cont[a.Name] = arr
		return nil
	}
	for _, i := range hits {
		m := arr[i].(map[string]any)
		switch {
		case t.sub != nil:
			if cv == nil {
				delete(m, t.sub.Name)
			} else {
				m[t.sub.Name] = cv
			}
		default:
			nm, ok := cv.(map[string]any)
			if !ok {
				return invalidValue("the value for %s must be an object", a.Name)
			}
			if op == "replace" {
				m = map[string]any{}
				arr[i] = m
			}
			for k, x := range nm {
				m[k] = x
			}
		}
		if isTrue(m["primary"]) {
			fixPrimaries(arr, i)
		}
	}
	cont[a.Name] = arr
	return nil
}

// applyFreeform applies an operation to a free-form extension or a key in it.
func (pt *patcher) applyFreeform(op string, t target, v any) error {
	root, _ := pt.doc[t.urn].(map[string]any)
	if root == nil {
		root = map[string]any{}
	}
	if len(t.keys) == 0 {
		switch op {
		case "remove":
			pt.doc[t.urn] = map[string]any{} // an empty object clears the data
			return nil
		case "replace":
			m, ok := v.(map[string]any)
			if !ok {
				return invalidValue("the value of %s must be an object", t.urn)
			}
			pt.doc[t.urn] = m
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			return invalidValue("the value of %s must be an object", t.urn)
		}
		for k, x := range m {
			root[k] = x
		}
		pt.doc[t.urn] = root
		return nil
	}
	m := root
	for _, k := range t.keys[:len(t.keys)-1] {
		next, _ := m[k].(map[string]any)
		if next == nil {
			if op == "remove" {
				return nil
			}
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	last := t.keys[len(t.keys)-1]
	if op == "remove" || v == nil {
		delete(m, last)
	} else {
		m[last] = v
	}
	pt.doc[t.urn] = root
	return nil
}

// coerce brings a client value into the attribute's JSON form: booleans sent
// as strings ("True", "false") become booleans, sub-attribute names get the
// catalog's spelling, a bare string stands for {"value": …} of a complex
// attribute (manager, emails), a single element of a multi-valued attribute
// becomes a list (when whole is set).
func coerce(a *schemas.Attribute, v any, whole bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.MultiValued && whole {
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			c, err := coerce(a, e, false)
			if err != nil {
				return nil, err
			}
			if c != nil {
				out = append(out, c)
			}
		}
		return out, nil
	}
	switch a.Type {
	case schemas.TypeComplex:
		switch t := v.(type) {
		case string:
			return map[string]any{"value": t}, nil
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, x := range t {
				s := findAttr(a.SubAttributes, k)
				if s == nil {
					out[k] = x // unknown sub-attributes are ignored downstream
					continue
				}
				c, err := coerce(s, x, false)
				if err != nil {
					return nil, err
				}
				out[s.Name] = c
			}
			return out, nil
		}
		return nil, invalidValue("%s must be an object", a.Name)
	case schemas.TypeBoolean:
		switch t := v.(type) {
		case bool:
			return t, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(t)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, invalidValue("%s must be true or false", a.Name)
	case schemas.TypeString, schemas.TypeReference, schemas.TypeDateTime, schemas.TypeBinary:
		switch t := v.(type) {
		case string:
			return t, nil
		case json.Number:
			return t.String(), nil
		}
		return nil, invalidValue("%s must be a string", a.Name)
	}
	return v, nil
}

// matchElem evaluates a value filter on one element of a multi-valued attribute.
func matchElem(f schemas.Filter, elem map[string]any) bool {
	switch n := f.(type) {
	case *schemas.And:
		return matchElem(n.Left, elem) && matchElem(n.Right, elem)
	case *schemas.Or:
		return matchElem(n.Left, elem) || matchElem(n.Right, elem)
	case *schemas.Not:
		return !matchElem(n.X, elem)
	case *schemas.Compare:
		raw := lookupFold(elem, n.Path.Attr.Name)
		if n.Op == schemas.OpPr {
			return !isEmpty(raw)
		}
		v, ok := toValue(raw, n.Path.Attr)
		eq := ok && v.Kind == n.Value.Kind
		exact := n.Path.Attr.CaseExact
		switch n.Op {
		case schemas.OpEq:
			return eq && schemas.CompareValues(v, n.Value, exact) == 0
		case schemas.OpNe:
			return !(eq && schemas.CompareValues(v, n.Value, exact) == 0)
		case schemas.OpCo, schemas.OpSw, schemas.OpEw:
			if !eq || v.Kind != schemas.KindString {
				return false
			}
			s, w := v.Str, n.Value.Str
			if !exact {
				s, w = schemas.Fold(s), schemas.Fold(w)
			}
			switch n.Op {
			case schemas.OpCo:
				return strings.Contains(s, w)
			case schemas.OpSw:
				return strings.HasPrefix(s, w)
			}
			return strings.HasSuffix(s, w)
		}
		if !eq {
			return false
		}
		c := schemas.CompareValues(v, n.Value, exact)
		switch n.Op {
		case schemas.OpGt:
			return c > 0
		case schemas.OpGe:
			return c >= 0
		case schemas.OpLt:
			return c < 0
		case schemas.OpLe:
			return c <= 0
		}
	}
	return false
}

// toValue types an element's sub-attribute value for comparison.
func toValue(raw any, a *schemas.Attribute) (schemas.Value, bool) {
	switch t := raw.(type) {
	case string:
		switch a.Type {
		case schemas.TypeBoolean:
			switch strings.ToLower(t) {
			case "true":
				return schemas.Value{Kind: schemas.KindBool, Bool: true}, true
			case "false":
				return schemas.Value{Kind: schemas.KindBool}, true
			}
			return schemas.Value{}, false
		case schemas.TypeDateTime:
			tm, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return schemas.Value{}, false
			}
			return schemas.Value{Kind: schemas.KindTime, Time: tm.UTC()}, true
		}
		return schemas.Value{Kind: schemas.KindString, Str: t}, true
	case bool:
		return schemas.Value{Kind: schemas.KindBool, Bool: t}, true
	case json.Number:
		f, err := t.Float64()
		return schemas.Value{Kind: schemas.KindNumber, Num: f}, err == nil
	}
	return schemas.Value{}, false
}

// eqFields returns the element a filter made only of `sub eq value` terms
// joined by and describes; ok is false for any other filter.
func eqFields(f schemas.Filter) (map[string]any, bool) {
	switch n := f.(type) {
	case *schemas.And:
		l, ok1 := eqFields(n.Left)
		r, ok2 := eqFields(n.Right)
		if !ok1 || !ok2 {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	case *schemas.Compare:
		if n.Op != schemas.OpEq {
			return nil, false
		}
		var v any
		switch n.Value.Kind {
		case schemas.KindString:
			v = n.Value.Str
		case schemas.KindBool:
			v = n.Value.Bool
		case schemas.KindNumber:
			v = json.Number(strconv.FormatFloat(n.Value.Num, 'g', -1, 64))
		case schemas.KindTime:
			v = n.Value.Time.Format(time.RFC3339Nano)
		default:
			return nil, false
		}
		return map[string]any{n.Path.Attr.Name: v}, true
	}
	return nil, false
}

// hasTypeEq reports whether the filter pins the element's type.
func hasTypeEq(f schemas.Filter) bool {
	switch n := f.(type) {
	case *schemas.And:
		return hasTypeEq(n.Left) || hasTypeEq(n.Right)
	case *schemas.Compare:
		return n.Op == schemas.OpEq && strings.EqualFold(n.Path.Attr.Name, "type")
	}
	return false
}

// fixPrimaries keeps at most one primary element: the one at keep (or the
// last primary when keep < 0).
func fixPrimaries(arr []any, keep int) {
	if keep < 0 {
		for i, e := range arr {
			if m, ok := e.(map[string]any); ok && isTrue(m["primary"]) {
				keep = i
			}
		}
	}
	if keep < 0 || keep >= len(arr) {
		return
	}
	if m, ok := arr[keep].(map[string]any); !ok || !isTrue(m["primary"]) {
		return
	}
	for i, e := range arr {
		if m, ok := e.(map[string]any); ok && i != keep && isTrue(m["primary"]) {
			m["primary"] = false
		}
	}
}

func isTrue(v any) bool { b, ok := v.(bool); return ok && b }

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

// containsElem reports whether list holds e: the same value (compared
// case-insensitively) and type for complex elements, else an equal value.
func containsElem(list []any, e any) bool {
	em, isMap := e.(map[string]any)
	for _, x := range list {
		xm, ok := x.(map[string]any)
		if isMap && ok {
			ev, _ := lookupFold(em, "value").(string)
			xv, _ := lookupFold(xm, "value").(string)
			if ev == "" && xv == "" {
				if reflect.DeepEqual(em, xm) {
					return true
				}
				continue
			}
			et, _ := lookupFold(em, "type").(string)
			xt, _ := lookupFold(xm, "type").(string)
			if strings.EqualFold(ev, xv) && (et == "" || xt == "" || strings.EqualFold(et, xt)) {
				return true
			}
			continue
		}
		if reflect.DeepEqual(x, e) {
			return true
		}
	}
	return false
}

func containsInt(list []int, i int) bool {
	for _, x := range list {
		if x == i {
			return true
		}
	}
	return false
}

// setOrDelete stores v, or deletes the key when v is empty.
func setOrDelete(m map[string]any, k string, v any) {
	if isEmpty(v) {
		delete(m, k)
		return
	}
	m[k] = v
}
