// Package testbin builds the scimd binary for the tests that run it as a
// process (cmd/scimd's, and the test module's).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Main is a TestMain: it builds cmd/scimd of the root module (with the root
// module's dependencies, wherever the calling test lives) into a temporary
// directory, sets *binary to its path, runs the tests and removes the
// directory. Use it as os.Exit(testbin.Main(m, &binary)).
func Main(m *testing.M, binary *string) int {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dir, err := os.MkdirTemp("", "scimd-bin")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	*binary = filepath.Join(dir, "scimd")
	build := exec.Command("go", "build", "-o", *binary, "./cmd/scimd")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		panic(fmt.Sprintf("go build: %v\n%s", err, out))
	}
	return m.Run()
}
