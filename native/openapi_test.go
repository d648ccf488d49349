package native

import (
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// TestOpenAPICoversRoutes walks the router and fails when a registered route
// (method and path) is missing from the served OpenAPI document.
func TestOpenAPICoversRoutes(t *testing.T) {
	e := newEnv(t)
	doc := e.call("GET", "/cis/openapi.json", "", nil).want(t, 200).body
	if doc["openapi"] != OpenAPIVersion {
		t.Fatalf("openapi %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	declared := map[string]bool{}
	for _, tag := range doc["tags"].([]any) {
		tm := tag.(map[string]any)
		if d, _ := tm["description"].(string); d == "" {
			t.Errorf("tag %v has no description", tm["name"])
		}
		declared[tm["name"].(string)] = true
	}
	h := New(e.svc, Options{})
	n := 0
	err := h.router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if rt.GetName() == "" {
			return nil // an out-of-scope path: not an operation
		}
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := rt.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			n++
			item, _ := paths[tpl].(map[string]any)
			op, _ := item[strings.ToLower(m)].(map[string]any)
			if op == nil {
				t.Errorf("route %s %s is missing from the OpenAPI document", m, tpl)
				continue
			}
			if op["operationId"] != rt.GetName() {
				t.Errorf("%s %s: operationId %v, route name %s", m, tpl, op["operationId"], rt.GetName())
			}
			if s, _ := op["summary"].(string); s == "" {
				t.Errorf("%s %s: no summary", m, tpl)
			}
			if d, _ := op["description"].(string); len(d) < 40 {
				t.Errorf("%s %s: no real description: %q", m, tpl, d)
			}
			tags, _ := op["tags"].([]any)
			for _, tag := range tags {
				if !declared[tag.(string)] {
					t.Errorf("%s %s: tag %v is not declared", m, tpl, tag)
				}
			}
			if len(tags) != 1 {
				t.Errorf("%s %s: tags %v", m, tpl, tags)
			}
			for _, p := range pathParam.FindAllStringSubmatch(tpl, -1) {
				if !strings.Contains(toJSON(op["parameters"]), `"name":"`+p[1]+`"`) {
					t.Errorf("%s %s: path parameter %s undocumented", m, tpl, p[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(h.routes()) || n != len(apiOps) {
		t.Fatalf("%d router routes, %d declared, %d documented", n, len(h.routes()), len(apiOps))
	}
	// Every $ref resolves.
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	raw := toJSON(doc)
	for _, part := range strings.Split(raw, `"$ref":"#/components/schemas/`)[1:] {
		name := part[:strings.IndexByte(part, '"')]
		if schemas[name] == nil {
			t.Errorf("dangling $ref %s", name)
		}
	}
}
