package overlay

import (
	"bytes"
	"math"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestTableBasics(t *testing.T) {
	tb := New(0)
	if tb.Len() != 0 || tb.MaxSeq() != 0 || tb.Bytes() != 0 {
		t.Fatalf("new table: len %d maxSeq %d bytes %d", tb.Len(), tb.MaxSeq(), tb.Bytes())
	}
	key, val := []byte("k"), []byte("v1")
	tb.Put(1, key, val, false, 5)
	key[0], val[0] = 'x', 'x' // Put copied them
	tb.Put(1, []byte("e"), nil, false, 5)
	tb.Put(1, []byte("k"), []byte("v2"), false, 5) // same key, same seq: the last wins
	big := bytes.Repeat([]byte{7}, byteChunk)
	tb.Put(2, []byte("big"), big, false, 6)
	if tb.Len() != 4 || tb.MaxSeq() != 6 {
		t.Fatalf("len %d maxSeq %d", tb.Len(), tb.MaxSeq())
	}
	if min := byteChunk + byteChunk + nodeChunk*sizeofNode; tb.Bytes() < min {
		t.Fatalf("Bytes %d < %d", tb.Bytes(), min)
	}
	v := tb.View(0, math.MaxUint64)
	if got, del, ok := v.Get(1, []byte("k")); !ok || del || string(got) != "v2" {
		t.Fatalf("Get k = %q %v %v", got, del, ok)
	}
	if got, _, ok := v.Get(1, []byte("e")); !ok || got == nil || len(got) != 0 {
		t.Fatalf("present empty value: %#v %v", got, ok)
	}
	if got, _, ok := v.Get(2, []byte("big")); !ok || !bytes.Equal(got, big) {
		t.Fatal("big value")
	}
	if _, _, ok := tb.View(5, 6).Get(1, []byte("k")); ok {
		t.Fatal("view (5,6] sees seq 5")
	}
	tb.Abort(5)
	if _, _, ok := v.Get(1, []byte("k")); ok {
		t.Fatal("aborted seq visible to an open view")
	}
	if _, _, ok := v.Get(2, []byte("big")); !ok {
		t.Fatal("Abort(5) hid seq 6")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Put below MaxSeq did not panic")
		}
	}()
	tb.Put(0, []byte("a"), nil, false, 4)
}

// TestBboltEdges pins bbolt v1.5's cursor behaviour at the ends, which Merged copies (the
// differential test checks it move for move; this spells it out).
func TestBboltEdges(t *testing.T) {
	db := openDB(t)
	tb := New(0)
	tb.Put(0, []byte("b"), []byte("2"), false, 1)
	tb.Put(0, []byte("d"), nil, true, 1) // hides under's d
	if err := db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucket([]byte("u"))
		if err != nil {
			return err
		}
		for _, k := range []string{"a", "c", "d"} {
			if err := bk.Put([]byte(k), []byte(k)); err != nil {
				return err
			}
		}
		x, err := tx.CreateBucket([]byte("x"))
		if err != nil {
			return err
		}
		for _, kv := range [][2]string{{"a", "a"}, {"b", "2"}, {"c", "c"}} {
			if err := x.Put([]byte(kv[0]), []byte(kv[1])); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ op, arg, want string }{
		{"Seek", "z", ""}, {"Next", "", ""}, {"Prev", "", "c"}, // Prev after a Seek past the end: the last key
		{"Last", "", "c"}, {"Next", "", ""}, {"Next", "", ""}, {"Prev", "", "b"}, // Next at the end stays on the last key
		{"First", "", "a"}, {"Prev", "", ""}, {"Prev", "", ""}, {"Next", "", "b"}, // Prev at the start stays on the first
		{"Seek", "bb", "c"}, {"Prev", "", "b"}, {"Seek", "", "a"},
	}
	err := db.View(func(tx *bolt.Tx) error {
		var m Merged
		m.Reset(tx.Bucket([]byte("u")).Cursor(), 0, tb.View(0, 1))
		x := tx.Bucket([]byte("x")).Cursor()
		for i, s := range steps {
			var gk, wk []byte
			switch s.op {
			case "Seek":
				gk, _ = m.Seek([]byte(s.arg))
				wk, _ = x.Seek([]byte(s.arg))
			case "First":
				gk, _ = m.First()
				wk, _ = x.First()
			case "Last":
				gk, _ = m.Last()
				wk, _ = x.Last()
			case "Next":
				gk, _ = m.Next()
				wk, _ = x.Next()
			case "Prev":
				gk, _ = m.Prev()
				wk, _ = x.Prev()
			}
			if string(gk) != s.want || string(wk) != s.want {
				t.Errorf("step %d %s(%q): merged %q bbolt %q, want %q", i, s.op, s.arg, gk, wk, s.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
