// Package testbin builds the scimd binary for the tests that run it as a
// process (cmd/scimd's, deploy's and the test module's).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once     sync.Once
	dir      string // the temporary directory of the binary, once built
	binary   string
	buildErr error
)

// Path returns the path of the scimd binary: cmd/scimd of the root module,
// built with the root module's dependencies (wherever the calling test
// lives) on the first call of the test binary, into a temporary directory
// that Main removes. Tests that never call it build nothing. A failed build
// fails t, and every later caller, with the compiler's output.
func Path(t testing.TB) string {
	t.Helper()
	once.Do(build)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func build() {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if dir, buildErr = os.MkdirTemp("", "scimd-bin"); buildErr != nil {
		return
	}
	bin := filepath.Join(dir, "scimd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/scimd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/scimd: %v\n%s", err, out)
		return
	}
	binary = bin
}

// Main is a TestMain for packages that use Path: it runs the tests and then
// removes the binary Path built, if any. Use it as os.Exit(testbin.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	return code
}
