// Package testclock is the settable clock of tests that move time forward
// (session idle limits, token expiry, key rotation) without sleeping.
package testclock

import (
	"sync"
	"time"
)

// Clock is a time that only the test moves; safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// At returns a clock standing at t.
func At(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time (a func() time.Time for the service's Options.Now).
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
