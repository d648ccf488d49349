package httpx

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// TextHandler is a slog.TextHandler (every record it handles is formatted
// and written by one) that AccessLog can also give a request line to
// directly: the same text, written without a slog.Record (slog.Logger
// captures the caller's program counter and builds a record for every
// line, which cost more than formatting it).
type TextHandler struct {
	*slog.TextHandler
	w    *lockedWriter
	fast bool // no ReplaceAttr or AddSource: writeLine may format
}

// NewTextHandler returns a TextHandler writing to w with opts, as
// slog.NewTextHandler(w, opts).
func NewTextHandler(w io.Writer, opts *slog.HandlerOptions) *TextHandler {
	lw := &lockedWriter{w: w}
	h := &TextHandler{TextHandler: slog.NewTextHandler(lw, opts), w: lw, fast: true}
	if opts != nil && (opts.ReplaceAttr != nil || opts.AddSource) {
		h.fast = false
	}
	return h
}

// lockedWriter serializes the writes of a TextHandler's two paths.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// textHandlerOf returns the TextHandler under l (behind LogHandler), or nil.
func textHandlerOf(l *slog.Logger) *TextHandler {
	if l == nil {
		return nil
	}
	h := l.Handler()
	if rh, ok := h.(requestIDHandler); ok {
		h = rh.Handler
	}
	th, _ := h.(*TextHandler)
	if th == nil || !th.fast {
		return nil
	}
	return th
}

// writeLine writes the line slog.TextHandler writes for a record of the
// current time, level, msg and attrs, and reports whether it did: it takes
// attributes of kinds String, Int64 and Duration only (the caller logs any
// other record through slog). The caller has checked that level is enabled.
func (h *TextHandler) writeLine(level slog.Level, msg string, attrs []slog.Attr) bool {
	bp := lineBuffers.Get().(*[]byte)
	defer lineBuffers.Put(bp)
	b, ok := appendTextLine((*bp)[:0], time.Now(), level, msg, attrs)
	*bp = b
	if !ok {
		return false
	}
	_, _ = h.w.Write(b) // as slog.Logger, which drops the handler's error
	return true
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendTextLine appends slog.TextHandler's line for a record (see
// writeLine); false when an attribute is of another kind.
func appendTextLine(b []byte, t time.Time, level slog.Level, msg string, attrs []slog.Attr) ([]byte, bool) {
	if !t.IsZero() {
		b = append(b, "time="...)
		// slog's appendRFC3339Millis: RFC3339Nano of the time truncated to
		// the millisecond plus a tenth of one, its fourth digit dropped.
		const prefixLen = len("2006-01-02T15:04:05.000")
		n := len(b)
		b = t.Round(0).Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
		b = append(b[:n+prefixLen], b[n+prefixLen+1:]...)
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = appendTextString(b, level.String())
	b = append(b, " msg="...)
	b = appendTextString(b, msg)
	for _, a := range attrs {
		if a.Equal(slog.Attr{}) {
			continue // slog drops an empty attribute
		}
		b = append(b, ' ')
		b = appendTextString(b, a.Key)
		b = append(b, '=')
		switch v := a.Value; v.Kind() {
		case slog.KindString:
			b = appendTextString(b, v.String())
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindDuration:
			b = append(b, v.Duration().String()...)
		default:
			return b, false
		}
	}
	return append(b, '\n'), true
}

// appendTextString appends s as slog.TextHandler writes a key or a string
// value: quoted (strconv.Quote) when it is empty or holds a space, '=',
// '"', a control character, invalid UTF-8 or a non-printing rune.
func appendTextString(b []byte, s string) []byte {
	if textNeedsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// textNeedsQuoting is slog's needsQuoting.
func textNeedsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' || c == '=' || c == '"' || c < 0x20 {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
