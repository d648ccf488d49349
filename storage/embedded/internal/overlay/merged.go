package overlay

import "bytes"

// Cursor is the layer under the views: what *bbolt.Cursor satisfies. A nil key means the
// cursor is past either end.
type Cursor interface {
	First() (k, v []byte)
	Last() (k, v []byte)
	Seek(seek []byte) (k, v []byte)
	Next() (k, v []byte)
	Prev() (k, v []byte)
}

// MaxViews is how many views a Merged stacks over its under layer.
const MaxViews = 3

// Merged iterates one bucket of a stack of layers, newest first: views[0] overrides
// views[1] … which override under. For each key the newest layer holding it decides: a
// value is returned, a tombstone hides the key in every older layer and is itself never
// returned. Keys come in bbolt's byte order (bytes.Compare).
//
// Merged behaves exactly like a *bbolt.Cursor over a bucket holding the merged state:
// Seek returns the first key ≥ seek; Next at the last key returns nil and stays on it (a
// Prev then returns the key before the last); Prev at the first key returns nil and stays
// on it (a Next then returns the second key); after a Seek past the end, Next returns nil
// and Prev returns the last key. Keys and values alias the tables' memory (immutable) or
// under's (valid as long as under's transaction).
//
// Writes during an iteration: every Next and Prev computes its answer from the table as it
// stands at the call. A forward iteration therefore returns a key inserted (at a seq its
// view sees) during the iteration if and only if the key is greater than the current
// position when the Next that reaches it is called; it never returns again the key it is
// on, whatever is put for that key, nor any key behind it. Likewise backwards. Each call
// is only as atomic as a single Get: a Put concurrent with the call itself may or may not
// be seen. Seqs above a view's high are never seen, so a reader whose views end at a
// committed seq is undisturbed by the writer. Cost: a step normally follows a link; after
// the table changed (a Put at a seq the view may see, or any Abort, since the previous
// step) each view of it searches again from the current key, O(log n).
//
// A Merged is used by one goroutine. The zero Merged is empty until Reset; Reset reuses it
// without allocating.
type Merged struct {
	under  Cursor
	uk, uv []byte // under's current entry; uk nil = exhausted in udir
	udir   int8
	b      uint8
	n      int
	views  [MaxViews]viewIter
	cur    []byte // the current position when state == onEntry
	state  uint8
	limit  []byte // SeekBelow's bound (nil: none)
}

const (
	stateNone    = iota // nothing to be on: empty bucket or not positioned
	stateOnEntry        // on cur
	statePastEnd        // after a Seek past the last key
)

// viewIter is one view's position: head is the visible version of the key this layer
// offers next in direction dir (nil: none left), computed when the table's gen was gen
// and it had aborts aborted seqs; sealed: its MaxSeq was then above the view's high.
type viewIter struct {
	v      View
	head   *node
	dir    int8
	sealed bool
	gen    uint64
	aborts int
}

// mark records the table's state before head is searched from scratch for direction dir.
func (it *viewIter) mark(dir int8) {
	t := it.v.t
	it.dir, it.gen, it.aborts = dir, t.gen.Load(), t.abortCount()
	it.sealed = t.maxSeq.Load() > it.v.high
}

// stale reports whether head must be searched again from the current key to move in
// direction dir: the direction changes, or the table changed since head was computed (an
// insert between the current key and head, a newer version of head's key, an Abort). Puts
// cannot change a sealed view's answers: seqs only rise, so they are all above its high.
func (it *viewIter) stale(dir int8) bool {
	if it.dir != dir {
		return true
	}
	t := it.v.t
	if t.gen.Load() == it.gen {
		return false
	}
	return !it.sealed || t.abortCount() != it.aborts
}

// Reset re-initialises m, without allocating, to iterate bucket b of views (newest first,
// at most MaxViews) over under (a nil interface — not a typed nil *bbolt.Cursor — stands
// for an empty bucket). m is then unpositioned: Next and
// Prev return nil until First, Last or Seek.
func (m *Merged) Reset(under Cursor, b uint8, views ...View) {
	if len(views) > MaxViews {
		panic("overlay: too many views")
	}
	m.under, m.uk, m.uv, m.udir = under, nil, nil, 0
	m.b, m.n = b, len(views)
	for i := range m.views {
		m.views[i] = viewIter{}
	}
	for i, v := range views {
		m.views[i].v = v
	}
	m.cur, m.state, m.limit = nil, stateNone, nil
}

// First moves to the first key and returns it, or nil if the bucket is empty.
func (m *Merged) First() ([]byte, []byte) {
	m.limit = nil
	for i := 0; i < m.n; i++ {
		it := &m.views[i]
		it.mark(1)
		it.head = it.v.seekGE(m.b, nil, nil)
	}
	m.udir = 1
	if m.under != nil {
		m.uk, m.uv = m.under.First()
	}
	k, v, ok := m.pickFwd()
	return m.settle(k, v, ok, stateNone)
}

// Last moves to the last key and returns it, or nil if the bucket is empty.
func (m *Merged) Last() ([]byte, []byte) {
	m.limit = nil
	for i := 0; i < m.n; i++ {
		it := &m.views[i]
		it.mark(-1)
		it.head = it.v.seekLT(m.b, nil, true)
	}
	m.udir = -1
	if m.under != nil {
		m.uk, m.uv = m.under.Last()
	}
	k, v, ok := m.pickBwd()
	return m.settle(k, v, ok, stateNone)
}

// Seek moves to the first key ≥ seek and returns it, or nil if there is none.
func (m *Merged) Seek(seek []byte) ([]byte, []byte) {
	m.limit = nil
	return m.seek(seek)
}

// SeekBelow is Seek for a forward iteration that ends before limit: it, and
// every Next after it, returns nil (as at the end) instead of a key ≥ limit.
// Unlike a Seek and Nexts stopped by the caller at its bound, it never steps
// over the tombstones at or after limit: skipping to the next key that is
// there, a Seek or Next walks every deleted key in its way, and after many
// deletes (a group's memberships, the rows a flush posted) those can be
// thousands. First, Last and Seek drop the limit; Prev is not bounded.
func (m *Merged) SeekBelow(seek, limit []byte) ([]byte, []byte) {
	m.limit = limit
	return m.seek(seek)
}

func (m *Merged) seek(seek []byte) ([]byte, []byte) {
	for i := 0; i < m.n; i++ {
		it := &m.views[i]
		it.mark(1)
		it.head = it.v.seekGE(m.b, seek, m.limit)
	}
	m.udir = 1
	if m.under != nil {
		m.uk, m.uv = m.under.Seek(seek)
	}
	k, v, ok := m.pickFwd()
	return m.settle(k, v, ok, statePastEnd)
}

// Next moves to the next key and returns it; at the end it returns nil and stays.
func (m *Merged) Next() (k, v []byte) {
	if m.state != stateOnEntry {
		return nil, nil
	}
	m.fwd(m.cur)
	if k, v, ok := m.pickFwd(); ok {
		m.cur = k
		return k, v
	}
	return nil, nil
}

// Prev moves to the previous key and returns it; at the first key it returns nil and
// stays there (bbolt's behaviour); after a Seek past the end it returns the last key.
func (m *Merged) Prev() (k, v []byte) {
	switch m.state {
	case statePastEnd:
		return m.Last()
	case stateNone:
		return nil, nil
	}
	m.bwd(m.cur)
	if k, v, ok := m.pickBwd(); ok {
		m.cur = k
		return k, v
	}
	return nil, nil // still on cur, the first key
}

// settle positions m on k (returning k, v), or in state miss if ok is false.
func (m *Merged) settle(k, v []byte, ok bool, miss uint8) ([]byte, []byte) {
	if !ok {
		m.cur, m.state = nil, miss
		return nil, nil
	}
	m.cur, m.state = k, stateOnEntry
	return k, v
}

// pickFwd returns the smallest key the layers offer (the newest layer's entry wins a
// tie), skipping the keys whose winning entry is a tombstone.
func (m *Merged) pickFwd() (k, v []byte, ok bool) {
	for {
		var best []byte
		bi := -1
		for i := 0; i < m.n; i++ {
			if h := m.views[i].head; h != nil && (bi < 0 || bytes.Compare(h.key, best) < 0) {
				best, bi = h.key, i
			}
		}
		if m.uk != nil && (bi < 0 || bytes.Compare(m.uk, best) < 0) {
			if m.limit != nil && bytes.Compare(m.uk, m.limit) >= 0 {
				return nil, nil, false
			}
			return m.uk, m.uv, true
		}
		if bi < 0 || m.limit != nil && bytes.Compare(best, m.limit) >= 0 {
			return nil, nil, false
		}
		if h := m.views[bi].head; !h.del {
			return h.key, h.value, true
		}
		m.fwd(best)
	}
}

// pickBwd is pickFwd backwards: the largest key.
func (m *Merged) pickBwd() (k, v []byte, ok bool) {
	for {
		var best []byte
		bi := -1
		for i := 0; i < m.n; i++ {
			if h := m.views[i].head; h != nil && (bi < 0 || bytes.Compare(h.key, best) > 0) {
				best, bi = h.key, i
			}
		}
		if m.uk != nil && (bi < 0 || bytes.Compare(m.uk, best) > 0) {
			return m.uk, m.uv, true
		}
		if bi < 0 {
			return nil, nil, false
		}
		if h := m.views[bi].head; !h.del {
			return h.key, h.value, true
		}
		m.bwd(best)
	}
}

// fwd makes every layer offer its first key > k.
func (m *Merged) fwd(k []byte) {
	for i := 0; i < m.n; i++ {
		it := &m.views[i]
		switch {
		case it.stale(1):
			it.mark(1)
			it.head = it.v.seekGE(m.b, k, m.limit)
			if it.head != nil && bytes.Equal(it.head.key, k) {
				it.head = it.v.nextKey(m.b, it.head, m.limit)
			}
		case it.head != nil && bytes.Compare(it.head.key, k) <= 0:
			it.head = it.v.nextKey(m.b, it.head, m.limit)
		}
	}
	if m.under == nil {
		return
	}
	switch {
	case m.udir != 1:
		m.udir = 1
		m.uk, m.uv = m.under.Seek(k)
		if m.uk != nil && bytes.Equal(m.uk, k) {
			m.uk, m.uv = m.under.Next()
		}
	case m.uk != nil && bytes.Compare(m.uk, k) <= 0:
		m.uk, m.uv = m.under.Next()
	}
}

// bwd makes every layer offer its last key < k.
func (m *Merged) bwd(k []byte) {
	for i := 0; i < m.n; i++ {
		it := &m.views[i]
		switch {
		case it.stale(-1):
			it.mark(-1)
			it.head = it.v.seekLT(m.b, k, false)
		case it.head != nil && bytes.Compare(it.head.key, k) >= 0:
			it.head = it.v.seekLT(m.b, it.head.key, false)
		}
	}
	if m.under == nil {
		return
	}
	switch {
	case m.udir != -1:
		m.udir = -1
		// Seek then Prev: bbolt's Prev after a Seek past the end gives the last key,
		// after a Seek to the first key nil.
		m.under.Seek(k)
		m.uk, m.uv = m.under.Prev()
	case m.uk != nil && bytes.Compare(m.uk, k) >= 0:
		m.uk, m.uv = m.under.Prev()
	}
}
