package httpx

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
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
