package embedded

import bolt "go.etcd.io/bbolt"

// ovView is the overlay as one transaction sees it (placeholder until the
// overlay lands: nil everywhere).
type ovView struct{}

func (o *ovView) get(id fileBucket, key []byte) (v []byte, del, ok bool)        { return nil, false, false }
func (o *ovView) active(id fileBucket) bool                                     { return false }
func (o *ovView) initMerged(m *mergedCursor, under *bolt.Cursor, id fileBucket) {}

// walWriter stages the writer's batch into the overlay (placeholder).
type walWriter struct{}

func (w *walWriter) put(id fileBucket, key, value []byte, del bool) error { return nil }

type mergedCursor struct{}

func (m *mergedCursor) First() (k, v []byte)           { return nil, nil }
func (m *mergedCursor) Last() (k, v []byte)            { return nil, nil }
func (m *mergedCursor) Seek(seek []byte) (k, v []byte) { return nil, nil }
func (m *mergedCursor) Next() (k, v []byte)            { return nil, nil }
func (m *mergedCursor) Prev() (k, v []byte)            { return nil, nil }

// readView runs fn in a read transaction of the file, with the overlay's
// committed writes over it.
func (s *Store) readView(fn func(t *txBuckets) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return fn(&txBuckets{tx: tx})
	})
}
