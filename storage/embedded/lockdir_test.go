package embedded

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockDir checks that LockDir and Open exclude each other through the
// one file lock, that LockDir leaves the file as it was (even one that is no
// store), and that it creates no store where there is none.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDir(dir); err == nil || !strings.Contains(err.Error(), "in use by another scimd process") {
		t.Fatalf("LockDir of an open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	unlock, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); err == nil {
		s.Close()
		t.Fatal("Open succeeded while LockDir held the directory")
	} else if !strings.Contains(err.Error(), "in use by another scimd process") {
		t.Fatalf("Open while locked: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatalf("Open after unlock: %v", err)
	}
	s.Close()

	junk := t.TempDir()
	path := filepath.Join(junk, FileName)
	if err := os.WriteFile(path, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	unlock, err = LockDir(junk)
	if err != nil {
		t.Fatalf("LockDir of a file that is no store: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, []byte("not a database")) {
		t.Fatalf("LockDir changed the file: %q", b)
	}

	empty := t.TempDir()
	if _, err := LockDir(empty); err == nil {
		t.Fatal("LockDir of a directory without a store succeeded")
	}
	if _, err := os.Stat(filepath.Join(empty, FileName)); err == nil {
		t.Fatal("LockDir created a store file")
	}
}
