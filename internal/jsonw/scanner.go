package jsonw

import (
	"encoding/json"
	"errors"
)

// ErrKind is a Scanner's error when the next value is not of the kind read.
var ErrKind = errors.New("jsonw: the value is not of the kind read")

// A Scanner reads one JSON text value by value, for a decoder that knows the
// shape it expects (a struct's fields) and wants it without encoding/json's
// reflection. Each method reads the next value after white space, with
// Decode's rules (what it accepts and refuses, strings with invalid UTF-8
// and unpaired surrogates as U+FFFD, numbers as json.Number); reading a
// value of another kind is ErrKind. After an error the Scanner's position is
// undefined: a caller gives up the text (typically to decode it with
// encoding/json, whose errors are the ones to report).
type Scanner struct{ d decoder }

// NewScanner returns a Scanner at the start of b.
func NewScanner(b []byte) *Scanner { return &Scanner{d: decoder{b: b}} }

// peek returns the first byte of the next value, 0 at the end.
func (s *Scanner) peek() byte {
	s.d.space()
	if s.d.i >= len(s.d.b) {
		return 0
	}
	return s.d.b[s.d.i]
}

// Null reads the next value if it is null and reports whether it was.
func (s *Scanner) Null() bool {
	if s.peek() != 'n' {
		return false
	}
	return s.d.literal("null") == nil
}

// String reads a string.
func (s *Scanner) String() (string, error) {
	if s.peek() != '"' {
		return "", ErrKind
	}
	return s.d.str()
}

// Bool reads true or false.
func (s *Scanner) Bool() (bool, error) {
	switch s.peek() {
	case 't':
		return true, s.d.literal("true")
	case 'f':
		return false, s.d.literal("false")
	}
	return false, ErrKind
}

// Number reads a number.
func (s *Scanner) Number() (json.Number, error) {
	if c := s.peek(); c != '-' && !isDigit(c) {
		return "", ErrKind
	}
	v, err := s.d.number()
	if err != nil {
		return "", err
	}
	return v.(json.Number), nil
}

// Raw reads a value of any kind and returns its text (a view of the input).
func (s *Scanner) Raw() ([]byte, error) {
	s.d.space()
	start := s.d.i
	if _, err := s.d.value(); err != nil {
		return nil, err
	}
	return s.d.b[start:s.d.i], nil
}

// Value reads a value of any kind as Decode decodes it.
func (s *Scanner) Value() (any, error) { return s.d.value() }

// Object reads an object, calling member for each member with its key (a
// view valid until member returns); member must read the member's value.
func (s *Scanner) Object(member func(key []byte) error) error {
	if s.peek() != '{' {
		return ErrKind
	}
	return s.d.members(member)
}

// Array reads an array, calling elem for each element; elem must read it.
func (s *Scanner) Array(elem func() error) error {
	if s.peek() != '[' {
		return ErrKind
	}
	return s.d.elems(elem)
}

// End returns ErrTrailingData unless only white space is left.
func (s *Scanner) End() error {
	if s.peek() != 0 || s.d.i < len(s.d.b) {
		return ErrTrailingData
	}
	return nil
}
