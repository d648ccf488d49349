package native

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// Register reaches every route and every out-of-scope path of the native
// face through the mounts it derives from the table, and nothing else.
func TestRegisterReachesEveryRoute(t *testing.T) {
	h := &Handler{}
	mux := http.NewServeMux()
	h.Register(mux)
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	var paths []string
	for _, rt := range h.routes() {
		paths = append(paths, param.ReplaceAllString(rt.path, "x"))
	}
	for _, o := range outOfScope {
		paths = append(paths, param.ReplaceAllString(o.path, "x")+"x")
	}
	for _, p := range paths {
		if got, _ := mux.Handler(httptest.NewRequest("GET", p, nil)); got != h {
			t.Errorf("%s is not mounted on the native face", p)
		}
	}
	for _, p := range []string{"/scim/v2/Users", "/cis/scim/Users", "/portal/", "/healthz", "/cis/other"} {
		if got, _ := mux.Handler(httptest.NewRequest("GET", p, nil)); got == h {
			t.Errorf("%s is mounted on the native face", p)
		}
	}
}
