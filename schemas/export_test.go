package schemas

// WritableOnly turns a native render into an update body: read-only fields
// and members dropped, objects with a scalar input given as that scalar.
func WritableOnly(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		f := userNative.byName[k]
		if f == nil || f.write == wReadOnly || f.kind == nAppName || f.kind == nIdentities {
			continue
		}
		out[k] = writableValue(f, v)
	}
	return out
}

func writableValue(f *nativeField, v any) any {
	switch f.kind {
	case nObject:
		obj := v.(map[string]any)
		if f.input != nil {
			return obj[f.input.name]
		}
		out := map[string]any{}
		for _, s := range f.subs {
			if x, ok := obj[s.name]; ok && s.write != wReadOnly {
				out[s.name] = writableValue(s, x) // nested objects (enterprise.manager) too
			}
		}
		return out
	case nArray:
		var out []any
		for _, e := range v.([]any) {
			out = append(out, writableValue(&nativeField{kind: nObject, subs: f.subs, input: f.input}, e))
		}
		return out
	}
	return v
}
