package httpx

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestBearerToken(t *testing.T) {
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "": "", "Bearer": "", "non-token": ""} {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got := BearerToken(r); got != want {
			t.Errorf("BearerToken(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	var v map[string]any
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"n": 12345678901234567890, "s": "x"}`))
	if err := DecodeJSON(r, &v, 1024); err != nil {
		t.Fatal(err)
	}
	if n, ok := v["n"].(json.Number); !ok || n.String() != "12345678901234567890" {
		t.Fatalf("number decoded as %#v", v["n"])
	}
	for body, want := range map[string]string{"": "empty", "{": "unexpected EOF", `{"a":1} {"b":2}`: "after the JSON value", `[1,`: "unexpected EOF"} {
		var v any
		err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(body)), &v, 1024)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), want) {
			t.Errorf("body %q: %v, want a SyntaxError with %q", body, err, want)
		}
	}
	// Into a typed value (encoding/json's path), anything after the value
	// is refused too, a closing bracket included.
	for _, body := range []string{`{"a":1} {"b":2}`, `{"a":1}}`, `{"a":1}]`, `{"a":1} x`} {
		var m map[string]any
		err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(body)), &m, 1024)
		if se := (*SyntaxError)(nil); !errors.As(err, &se) || !strings.Contains(err.Error(), "after the JSON value") {
			t.Errorf("typed, body %q: %v, want a SyntaxError about trailing data", body, err)
		}
	}
	var s struct{ A int }
	err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`{"A":"x"}`)), &s, 1024)
	if se := (*SyntaxError)(nil); !errors.As(err, &se) || !strings.Contains(err.Error(), `"A" must be int`) {
		t.Errorf("type error: %v", err)
	}
	err = DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`{"a":"`+strings.Repeat("x", 2000)+`"}`)), &v, 1024)
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("large body: %v", err)
	}
}

func TestIsJSONMediaType(t *testing.T) {
	for ct, want := range map[string]bool{"": true, "application/json": true, "application/scim+json; charset=utf-8": true,
		"Application/JSON;charset=UTF-8": true, "text/plain": false, "application/x-www-form-urlencoded": false, "garbage;;": false} {
		if got := IsJSONMediaType(ct); got != want {
			t.Errorf("IsJSONMediaType(%q) = %v", ct, got)
		}
	}
}

func TestClientIP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := ClientIP(r); got != "192.0.2.7" {
		t.Fatalf("ClientIP = %q", got)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestAppendBody: a body of exactly the limit is read whole, after what
// dst held; one byte more is ErrBodyTooLarge naming the limit, with at most
// one byte past the limit read from the client; a smaller limit already on
// the body names its own; a body cut short is the client gone.
func TestAppendBody(t *testing.T) {
	const limit = 1000
	for _, size := range []int{0, 1, 511, 512, 513, limit} {
		body := strings.Repeat("y", size)
		got, err := AppendBody([]byte("x"), httptest.NewRequest("POST", "/", strings.NewReader(body)), limit)
		if err != nil || string(got) != "x"+body {
			t.Fatalf("%d bytes: %d bytes, %v", size, len(got), err)
		}
	}
	src := &countingReader{r: strings.NewReader(strings.Repeat("y", 10*limit))}
	r := httptest.NewRequest("POST", "/", nil)
	r.Body = io.NopCloser(src)
	if _, err := AppendBody(make([]byte, 0, 4*limit), r, limit); !errors.Is(err, ErrBodyTooLarge) || !strings.Contains(err.Error(), "1000 bytes") {
		t.Errorf("over the limit: %v", err)
	}
	if src.n > limit+1 {
		t.Errorf("read %d bytes of a body over the limit of %d", src.n, limit)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("y", 600)))
	r.Body = http.MaxBytesReader(nil, r.Body, 500)
	if _, err := AppendBody(nil, r, limit); !errors.Is(err, ErrBodyTooLarge) || !strings.Contains(err.Error(), "500 bytes") {
		t.Errorf("a smaller limit on the body: %v", err)
	}
	r = httptest.NewRequest("POST", "/", nil)
	r.Body = io.NopCloser(io.MultiReader(strings.NewReader("{\"a\":"), iotest.ErrReader(io.ErrUnexpectedEOF)))
	if _, err := AppendBody(nil, r, limit); !errors.Is(err, ErrClientGone) {
		t.Errorf("a body cut short: %v", err)
	}
}
