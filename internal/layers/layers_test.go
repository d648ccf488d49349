package layers

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/scimd/scimd"

// faces are the HTTP faces: each is a client of directory, and none imports another.
var faces = []string{"scim", "native", "portal"}

// backends are the storage implementations; only the composition root (cmd/...) names one.
var backends = []string{"storage/embedded", "storage/mongo"}

// packages returns every package of the module with the module-relative
// paths of its (transitive, non-test) dependencies inside the module, and
// whether it links net/http. dirs gives each package's directory.
func packages(t *testing.T) (deps map[string][]string, http map[string]bool, dirs map[string]string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .Deps \" \"}}", module+"/...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	deps, http, dirs = map[string][]string{}, map[string]bool{}, map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 3)
		if len(f) != 3 {
			t.Fatalf("go list line %q", sc.Text())
		}
		p := rel(f[0])
		dirs[p] = f[1]
		deps[p] = nil
		for _, d := range strings.Fields(f[2]) {
			if d == "net/http" {
				http[p] = true
			}
			if d == module || strings.HasPrefix(d, module+"/") {
				deps[p] = append(deps[p], rel(d))
			}
		}
	}
	if len(deps) < 10 {
		t.Fatalf("go list found only %d packages: %s", len(deps), out)
	}
	return deps, http, dirs
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

// under reports whether package p is root or one of its sub-packages.
func under(p string, roots ...string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// TestLayers holds the import graph to the rules of docs/architecture.md:
// faces → directory → storage → schemas, nothing upward, no face on another.
func TestLayers(t *testing.T) {
	deps, http, _ := packages(t)
	for p, ds := range deps {
		for _, d := range ds {
			switch {
			case p == "schemas":
				t.Errorf("schemas imports %s: the model, catalog and filter language import nothing of scimd", d)
			case under(p, "storage") && (under(d, faces...) || under(d, "directory", "cmd")):
				t.Errorf("%s imports %s: storage imports no face and not directory", p, d)
			case under(d, backends...) && !under(p, "cmd") && !under(p, backends...):
				t.Errorf("%s imports the backend %s: only cmd/... chooses a backend", p, d)
			case under(p, faces...) && under(d, faces...) && !under(d, strings.SplitN(p, "/", 2)[0]):
				t.Errorf("face %s imports face %s: what two faces share goes below them (directory, schemas, internal/...)", p, d)
			case under(p, "directory") && (under(d, faces...) || under(d, "cmd", "internal/httpx")):
				t.Errorf("directory imports %s: the service knows no HTTP face", d)
			case under(p, "internal") && (under(d, faces...) || under(d, "directory", "cmd")):
				t.Errorf("%s imports %s: internal/... is shared by the faces and sits below them", p, d)
			}
		}
	}
	for _, p := range []string{"directory", "schemas", "storage", "storage/embedded", "storage/storagetest"} {
		if _, ok := deps[p]; !ok {
			t.Errorf("package %s not found: update the rules of this test with the layout", p)
		}
		if http[p] {
			t.Errorf("%s links net/http: %s", p, "it knows nothing of HTTP")
		}
	}
}

// faceStorage is what a face may use of package storage: the shapes of a
// query and its answer, which the faces build from request parameters. Every
// read and write goes through directory.
var faceStorage = []string{"Query", "EventQuery", "Page"}

// TestFacesUseStorageTypesOnly holds the faces to faceStorage and the
// storage.Field* names: a face that calls the store, or takes its errors,
// bypasses the rules and the error classification of directory.
func TestFacesUseStorageTypesOnly(t *testing.T) {
	_, _, dirs := packages(t)
	for p, dir := range dirs {
		if !under(p, faces...) {
			continue
		}
		fset, files := sources(t, dir)
		for _, f := range files {
			name := ""
			for _, im := range f.Imports {
				if path, _ := strconv.Unquote(im.Path.Value); path == module+"/storage" {
					name = "storage"
					if im.Name != nil {
						name = im.Name.Name
					}
				}
			}
			if name == "" {
				continue
			}
			uses(f, name, func(sel *ast.SelectorExpr) {
				if s := sel.Sel.Name; !slices.Contains(faceStorage, s) && !strings.HasPrefix(s, "Field") {
					t.Errorf("%s: face %s uses storage.%s; a face may use only storage.%s and storage.Field*",
						fset.Position(sel.Pos()), p, s, strings.Join(faceStorage, ", storage."))
				}
			})
		}
	}
}

// sources parses the non-test Go files of dir.
func sources(t *testing.T, dir string) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatalf("no Go source in %s", dir)
	}
	return fset, files
}

// uses calls fn with every selector ident.X of f.
func uses(f *ast.File, ident string, fn func(sel *ast.SelectorExpr)) {
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == ident {
				fn(sel)
			}
		}
		return true
	})
}

// TestSchemasReadsNoClock: schemas reads no clock of its own; the time of a
// write or of a time-dependent value (passwordInformation.expired) comes from
// directory's injected clock, through the projections' options
// (SCIMOptions.Now, NativeOptions.Now) and the filters' (ParseOptions.Now).
func TestSchemasReadsNoClock(t *testing.T) {
	_, _, dirs := packages(t)
	fset, files := sources(t, dirs["schemas"])
	for _, f := range files {
		n := 0
		uses(f, "time", func(sel *ast.SelectorExpr) {
			if sel.Sel.Name == "Now" {
				n++
			}
		})
		if file := fset.Position(f.Pos()).Filename; n > 0 {
			t.Errorf("%s calls time.Now %d times: take the time from the caller (directory's clock)", file, n)
		}
	}
}

// TestSchemasHasNoWireFormat: schemas holds the model, the catalog and the
// filter language, and no face's JSON format. A projection converts a
// document to or from a JSON object, so no function of schemas may take a
// *User or *Group together with a map[string]any (as a parameter or a
// result): SCIMUser, ReplaceSCIMUser, NativeUser and MergeNativeUser live
// with their faces (scim/internal/wire, internal/nativewire). And no file
// names a SCIM protocol message (urn:ietf:params:scim:api:…: PatchOp,
// ListResponse, Error, Bulk), which only the SCIM face speaks.
func TestSchemasHasNoWireFormat(t *testing.T) {
	_, _, dirs := packages(t)
	fset, files := sources(t, dirs["schemas"])
	typeText := func(e ast.Expr) string {
		var b strings.Builder
		if err := printer.Fprint(&b, fset, e); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, f := range files {
		file := fset.Position(f.Pos()).Filename
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.Contains(lit.Value, "urn:ietf:params:scim:api:") {
				t.Errorf("%s: %s names a SCIM protocol message: that is the SCIM face's", fset.Position(lit.Pos()), lit.Value)
			}
			fn, ok := n.(*ast.FuncDecl)
			if !ok {
				return true
			}
			doc, object := false, false
			var fields []*ast.Field
			fields = append(fields, fn.Type.Params.List...)
			if fn.Type.Results != nil {
				fields = append(fields, fn.Type.Results.List...)
			}
			for _, fl := range fields {
				switch typeText(fl.Type) {
				case "*User", "*Group", "User", "Group":
					doc = true
				case "map[string]any", "map[string]interface{}":
					object = true
				}
			}
			if doc && object {
				t.Errorf("%s: %s converts a document to or from a JSON object: a projection belongs with its face", file, fn.Name.Name)
			}
			return true
		})
	}
}
