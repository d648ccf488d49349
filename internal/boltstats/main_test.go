package main

import (
	"bytes"
	stderrors "errors"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The table has a line per bucket with its key count, largest bucket first,
// and the totals.
func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for name, n := range map[string]int{"small": 3, "big": 5000} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for i := range n {
				if err := b.Put(fmt.Appendf(nil, "key-%06d", i), bytes.Repeat([]byte{'v'}, 100)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err = stderrors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(&out, path); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, re := range []string{`(?m)^\s+big\s+5000\s`, `(?m)^\s+small\s+3\s`, `(?m)^\s+all buckets\s+5003\s`, `(?m)^\s+file\s+[0-9.]+\s*$`} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("no line matching %s in\n%s", re, got)
		}
	}
	if bytes.Index(out.Bytes(), []byte("big")) > bytes.Index(out.Bytes(), []byte("small")) {
		t.Errorf("big listed after small:\n%s", got)
	}
}
