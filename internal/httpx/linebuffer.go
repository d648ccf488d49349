package httpx

import (
	"io"
	"sync"
	"time"
)

// lineBufferSize is how many bytes a LineBuffer holds before it writes them
// out without waiting for its next flush.
const lineBufferSize = 64 << 10

// LineBuffer batches the whole lines (log records) written to it and passes
// them on to its writer in one write: at the latest every flush interval, as
// soon as lineBufferSize bytes are held, and on Close. It saves the access
// log one write(2) per request; the price is that a crash (not a graceful
// stop, which calls Close) loses the lines of the last interval. Only request
// lines go through it: error records and the audit trail are never buffered.
// Writes after Close go straight to the writer. Safe for concurrent use.
type LineBuffer struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

// NewLineBuffer returns a LineBuffer writing to w, flushed every interval by
// a goroutine that Close stops.
func NewLineBuffer(w io.Writer, every time.Duration) *LineBuffer {
	b := &LineBuffer{w: w, buf: make([]byte, 0, lineBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				_ = b.Flush()
			}
		}
	}()
	return b
}

// Write holds p (one whole record) until the next flush; p goes out at once
// when the buffer is closed. An error is the failure of a write it triggered.
func (b *LineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.w.Write(p)
	}
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > cap(b.buf) {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes out the lines held.
func (b *LineBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *LineBuffer) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0] // a failed write's lines are dropped, as an unbuffered log drops its line
	return err
}

// Close stops the flushing goroutine and writes out the lines held; later
// writes go straight to the writer. Calling it again does nothing.
func (b *LineBuffer) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	// Flushed under the same lock that closes it: a write after Close goes
	// straight to the writer, so it must find the held lines already out.
	b.closed = true
	err := b.flushLocked()
	b.mu.Unlock()
	close(b.stop)
	<-b.done
	return err
}
