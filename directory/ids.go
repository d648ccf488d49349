package directory

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/scimd/scimd/internal/uuidfmt"
)

// idGen produces UUIDv7-formatted ids: 48 bits of Unix milliseconds, then a
// counter and randomness. Ids from one process are strictly increasing, so id
// order is creation order — the default, stable list order that SCIM clients
// page through.
type idGen struct {
	mu     sync.Mutex
	lastMS int64
	seq    uint16 // 12-bit sequence within one millisecond
}

var ids idGen

// NewID returns a new time-ordered id in UUID text form (version 7), stamped
// by the wall clock: for tools and tests that have no Service. The directory
// makes its ids with Service.newID, on its injected clock.
func NewID() string { return ids.next(time.Now()) }

func (g *idGen) next(now time.Time) string {
	g.mu.Lock()
	ms := now.UnixMilli()
	if ms <= g.lastMS {
		// Same millisecond (or the clock went back): keep order with the sequence.
		g.seq++
		if g.seq >= 1<<12 {
			g.lastMS++
			g.seq = 0
		}
		ms = g.lastMS
	} else {
		g.lastMS, g.seq = ms, 0
	}
	seq := g.seq
	g.mu.Unlock()

	var b [16]byte
	if _, err := rand.Read(b[8:]); err != nil {
		panic("directory: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = 0x70 | byte(seq>>8) // version 7
	b[7] = byte(seq)
	b[8] = 0x80 | b[8]&0x3f // RFC 9562 variant
	return uuidfmt.Format(b)
}
