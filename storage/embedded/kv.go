package embedded

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/storage/embedded/internal/overlay"
)

// kvBucket is one bucket of the file as one transaction of the store sees
// it (txBuckets.bucket): the bucket in bbolt's file under the writes of the
// overlay not yet applied to it (see overlay.go). A kvBucket of a raw
// transaction — one of Open's, or the overlay's apply — is the bbolt bucket
// itself. Writes go where the transaction writes: into the overlay for the
// writer's batches, into the file for a raw write transaction.
//
// Values returned by Get and by cursors are valid for the transaction only
// (they alias bbolt's memory map or the overlay's arenas) and must not be
// modified.
type kvBucket struct {
	b  *bolt.Bucket
	id fileBucket
	t  *txBuckets
	// get is the writer's cursor for Get (nil until its first): bbolt's
	// Get makes a cursor and grows its stack (an allocation per level of
	// the tree) at every call, and the writer keeps its buckets from batch
	// to batch (writerTx).
	get *bolt.Cursor
}

// Get returns the value of key, or nil when the bucket has none.
func (k *kvBucket) Get(key []byte) []byte {
	if k.t.w == nil {
		return k.getAt(nil, key)
	}
	if k.get == nil {
		k.get = k.b.Cursor()
	}
	return k.getAt(k.get, key)
}

// getAt is Get, looking the file's bucket up with bc, a bbolt cursor of it
// the caller keeps (bbolt's Get makes a cursor, with allocations, at every
// call; nil: bbolt's Get).
func (k *kvBucket) getAt(bc *bolt.Cursor, key []byte) []byte {
	if ov := &k.t.ov; ov.n > 0 {
		if v, del, ok := ov.get(k.id, key); ok {
			if del {
				return nil
			}
			return v
		}
	}
	if bc == nil {
		return k.b.Get(key)
	}
	// What bbolt's Get returns: the value of key itself (nil for a nested
	// bucket's key, as Seek gives it).
	if fk, v := bc.Seek(key); bytes.Equal(fk, key) {
		return v
	}
	return nil
}

// scratch is t.scratch of k's transaction.
func (k *kvBucket) scratch(n int) []byte { return k.t.scratch(n) }

// Put sets key to value (value must not be nil).
func (k *kvBucket) Put(key, value []byte) error {
	if w := k.t.w; w != nil {
		return w.put(k.id, key, value, false)
	}
	return k.b.Put(key, value)
}

// Delete removes key (a key that is not there is no error).
func (k *kvBucket) Delete(key []byte) error {
	if w := k.t.w; w != nil {
		// No delete of a key that is not there: its tombstone would cost
		// every later walk of the bucket in the overlay (without this check
		// BenchmarkWrites8's deletes took 170–183 µs of CPU, not 91–101).
		if k.Get(key) == nil {
			return nil
		}
		return w.put(k.id, key, nil, true)
	}
	return k.b.Delete(key)
}

// DeletePresent removes key, which the caller knows the bucket holds (an
// index entry of the image a write replaces, a key it has just read):
// unlike Delete it does not look the key up first. A key the bucket does
// not hold after all is still no error, only a tombstone in the overlay
// until the next apply.
func (k *kvBucket) DeletePresent(key []byte) error {
	if w := k.t.w; w != nil {
		return w.put(k.id, key, nil, true)
	}
	return k.b.Delete(key)
}

// Cursor returns a cursor on the bucket. Writes through the same
// transaction while iterating are allowed; see kvCursor.
func (k *kvBucket) Cursor() *kvCursor {
	c := new(kvCursor)
	k.initCursor(c)
	return c
}

// initCursor makes c, a cursor kept by value, iterate k, unpositioned. A
// bbolt cursor of k's bucket that c holds already (the writer's, kept from
// batch to batch: writerTx) is kept: bbolt's cursors restart at every
// First, Last and Seek.
func (k *kvBucket) initCursor(c *kvCursor) {
	bc := c.c
	if bc == nil || bc.Bucket() != k.b {
		bc = k.b.Cursor()
	}
	*c = kvCursor{c: bc}
	if k.t.ov.n > 0 {
		c.merged = true
		c.m.Reset(c.c, uint8(k.id), k.t.ov.views[:k.t.ov.n]...)
	}
}

// ForEach calls fn for every key and value of the bucket in key order,
// stopping at the first error.
func (k *kvBucket) ForEach(fn func(k, v []byte) error) error {
	c := k.Cursor()
	for key, v := c.First(); key != nil; key, v = c.Next() {
		if err := fn(key, v); err != nil {
			return err
		}
	}
	return nil
}

// kvCursor iterates a kvBucket in key order, as bbolt's cursor does (a nil
// key: past either end): over the overlay's writes merged with the file's.
type kvCursor struct {
	c      *bolt.Cursor
	merged bool
	m      overlay.Merged
}

func (c *kvCursor) First() (k, v []byte) {
	if c.merged {
		return c.m.First()
	}
	return c.c.First()
}

func (c *kvCursor) Last() (k, v []byte) {
	if c.merged {
		return c.m.Last()
	}
	return c.c.Last()
}

func (c *kvCursor) Seek(seek []byte) (k, v []byte) {
	if c.merged {
		return c.m.Seek(seek)
	}
	return c.c.Seek(seek)
}

// SeekBelow is Seek for an iteration of the keys before limit alone (nil:
// no limit): in the overlay, it and the Nexts after it return nil at the
// first key ≥ limit, without walking the deleted keys that follow (see
// overlay.Merged.SeekBelow). Without the overlay it is Seek: the caller
// checks its bound either way.
func (c *kvCursor) SeekBelow(seek, limit []byte) (k, v []byte) {
	if c.merged {
		return c.m.SeekBelow(seek, limit)
	}
	return c.c.Seek(seek)
}

func (c *kvCursor) Next() (k, v []byte) {
	if c.merged {
		return c.m.Next()
	}
	return c.c.Next()
}

func (c *kvCursor) Prev() (k, v []byte) {
	if c.merged {
		return c.m.Prev()
	}
	return c.c.Prev()
}

// rawBucket is b, a bucket of a raw transaction that is not one of the
// file's current buckets (a migration's old bucket), as a kvBucket; nil
// when b is.
func rawBucket(b *bolt.Bucket) *kvBucket {
	if b == nil {
		return nil
	}
	return &kvBucket{b: b, t: &txBuckets{}}
}
