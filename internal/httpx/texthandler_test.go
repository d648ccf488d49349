package httpx

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTextLineLikeSlog: appendTextLine writes, byte for byte, the line
// slog.TextHandler writes for the same record, for the values a request
// line holds (paths and principals may hold anything a client sends).
func TestTextLineLikeSlog(t *testing.T) {
	strs := []string{"", "GET", "/scim/v2/Users/0193a5b2-1234", "/a b", "a=b", `q"uote`, `back\slash`,
		"tab\there", "nl\n", "del\x7f", "é", "\u00a0nbsp", "\u200bzero-width", "bad\xffutf8", "日本", "{id}"}
	times := []time.Time{
		time.Date(2026, 11, 30, 8, 8, 49, 123456789, time.UTC),
		time.Date(2026, 11, 30, 8, 8, 49, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.FixedZone("x", 3600+1800)),
		time.Date(2026, 11, 30, 8, 8, 49, 100000, time.Local),
		{},
	}
	for i, s := range strs {
		attrs := []slog.Attr{slog.String("method", s), slog.String(s+"k", "v"), slog.Int("status", 200+i),
			slog.Int("bytes", -i), slog.Duration("duration", time.Duration(i)*1234567*time.Nanosecond), slog.String("path", s)}
		for _, tm := range times {
			for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelError, slog.LevelInfo + 2} {
				var want bytes.Buffer
				r := slog.NewRecord(tm, level, "request "+s, 0)
				r.AddAttrs(attrs...)
				if err := slog.NewTextHandler(&want, &slog.HandlerOptions{Level: slog.LevelDebug}).Handle(context.Background(), r); err != nil {
					t.Fatal(err)
				}
				got, ok := appendTextLine(nil, tm, level, "request "+s, attrs)
				if !ok || string(got) != want.String() {
					t.Errorf("got  %q (%v)\nwant %q", got, ok, want.String())
				}
			}
		}
	}
	if _, ok := appendTextLine(nil, time.Now(), slog.LevelInfo, "m", []slog.Attr{slog.Bool("b", true)}); ok {
		t.Error("a bool attribute was taken: slog's formatting of it is not appendTextLine's")
	}
}

// TestTextHandlerLikeSlog: through AccessLog, a TextHandler writes the
// request line slog.TextHandler writes (the time and duration apart), and
// serves every other record as slog.TextHandler.
func TestTextHandlerLikeSlog(t *testing.T) {
	var fast, slow bytes.Buffer
	for _, h := range []slog.Handler{NewTextHandler(&fast, nil), slog.NewTextHandler(&slow, nil)} {
		log := slog.New(LogHandler(h))
		front := AccessLog(log, Options{Requests: true}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			SetRoute(r, "/p/{id}")
			SetPrincipal(r, "app:x y")
			log.WarnContext(r.Context(), "inside", "err", "boom")
			w.WriteHeader(http.StatusNoContent)
		}))
		req := httptest.NewRequest("GET", "/p%20a/th", nil)
		req.Header.Set(RequestIDHeader, "rid-1")
		front.ServeHTTP(httptest.NewRecorder(), req)
		log.With("k", "v").Info("other", "n", 1, "ok", true)
	}
	varying := regexp.MustCompile(`time=\S+ |duration=\S+ `)
	got, want := varying.ReplaceAllString(fast.String(), ""), varying.ReplaceAllString(slow.String(), "")
	if got != want || strings.Count(got, "\n") != 3 {
		t.Errorf("TextHandler wrote\n%s\nslog.TextHandler\n%s", fast.String(), slow.String())
	}
	if textHandlerOf(slog.New(LogHandler(NewTextHandler(&fast, nil)))) == nil {
		t.Error("AccessLog does not find the TextHandler behind LogHandler")
	}
}
