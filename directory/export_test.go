package directory

import (
	"os"
	"testing"
	"time"
)

// hashesAtStart is how many hash computations had run when the tests began,
// that is during package initialisation.
var hashesAtStart int64

func TestMain(m *testing.M) {
	hashesAtStart = gate().peak.Load()
	os.Exit(m.Run())
}

// Hooks for the external tests (package directory_test) that drive the
// hashing limit through a real listener.

// SetHashGate installs a hashing gate of n slots waiting at most wait, and
// returns the function that restores the previous one.
func SetHashGate(n int, wait time.Duration) (restore func()) {
	prev := gate()
	hashing.Store(newHashGate(n, wait))
	return func() { hashing.Store(prev) }
}

// HoldHashSlots takes every slot of the current gate until release is called.
func HoldHashSlots() (release func()) {
	g := gate()
	for range cap(g.slots) {
		g.slots <- struct{}{}
	}
	return func() {
		for range cap(g.slots) {
			<-g.slots
		}
	}
}

// HashPeak returns the most hash computations the current gate ran at once,
// and how many run now.
func HashPeak() (peak, inFlight int64) {
	g := gate()
	return g.peak.Load(), g.inFlight.Load()
}
