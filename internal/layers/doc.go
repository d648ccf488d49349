// Package layers holds no code: its test enforces the dependency rules of
// docs/architecture.md ("Layers") on the import graph that `go list -deps`
// reports, so that a change that breaks them fails `go test ./...` instead
// of waiting for a reviewer to notice.
package layers
