package embedded

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// The id bounds of the search rows' blocks.
//
// A page of a search is in id order (on both backends: storagetest), and
// the postings give the matches as rows. A row is given to a user at its
// creation (nextRow, one more each time) and the ids the directory makes
// are time-ordered (UUIDv7), so row order is nearly id order: concurrent
// creates commit a little out of the order of their ids, an import of
// another system's ids, or a clock set back between two starts, puts
// lower ids after higher ones. The idBounds bucket holds, for each block
// of blockRows rows (the postings' blocks), the lowest and the highest id
// ever given to a row of the block (4-byte block → uvarint length of the
// lowest, the lowest, the highest): a delete leaves them as they are, so
// they bound the ids of the block's users. Meta idBoundsTo is the first row
// whose id is not in its block's bounds yet.
//
// The writer extends the bounds of the block of every row it gives
// (batch.boundRow); a binary from before this layout gives rows without
// doing so, and the next Open adds those (boundRows: a walk of their search
// records, 0.8 s for a million rows, warm; no new file format is needed,
// since an older binary only leaves rows uncovered). A search whose rows
// are not all covered sorts their ids, as before.
//
// A page of the matches then reads the ids of the blocks it takes and not
// many more (pageByBounds): the blocks are taken in the order of their
// lowest ids, and a match read is placed once no block still to be read
// can hold a lower id — when its id is below the next block's lowest. With
// ids in row order, the page of 100 of 1,600 matches at a million users
// (about 6.5 a block) reads the ids of about 17 blocks' matches, where
// sorting the ids of every match read 1,600 search records (~1.1 µs each:
// 1.8 ms of a 4 ms search); blocks whose highest id is not above a cursor
// are skipped unread.
var (
	bucketIDBounds = []byte("idBounds")   // 4-byte block → the lowest and highest id given to its rows
	keyIDBoundsTo  = []byte("idBoundsTo") // meta: 4-byte first row not in its block's bounds
)

// encodeBounds is the value of a block in idBounds, in b.
func encodeBounds(b []byte, lo, hi string) []byte {
	b = binary.AppendUvarint(b, uint64(len(lo)))
	return append(append(b, lo...), hi...)
}

// decodeBounds reads a value of idBounds (views of v).
func decodeBounds(v []byte) (lo, hi string, err error) {
	n, size := binary.Uvarint(v)
	if size <= 0 || uint64(len(v)-size) < n {
		return "", "", fmt.Errorf("embedded: id bounds %x cannot be read", v)
	}
	return view(v[size : size+int(n)]), view(v[size+int(n):]), nil
}

// blockBounds is the bounds of one block as rows of ascending blocks extend
// them: read at the block's first row, written (when changed) at a row of
// the next block or at flush.
type blockBounds struct {
	block  uint32
	lo, hi string
	have   bool // lo and hi are block's (read, or set by a row)
	change bool // and not written yet
}

// extend extends the bounds of row's block, in bk (idBounds), by id; id
// must stay valid until the bounds are flushed (a view of the memory map
// must be cloned).
func (o *blockBounds) extend(bk *kvBucket, row uint32, id string) error {
	if block := row / blockRows; !o.have || o.block != block {
		if err := o.flush(bk); err != nil {
			return err
		}
		o.block, o.have = block, false
		key := rowKey(block)
		if v := bk.Get(key[:]); v != nil {
			lo, hi, err := decodeBounds(v)
			if err != nil {
				return err
			}
			o.lo, o.hi, o.have = strings.Clone(lo), strings.Clone(hi), true
		}
	}
	switch {
	case !o.have:
		o.lo, o.hi, o.have, o.change = id, id, true, true
	case id < o.lo:
		o.lo, o.change = id, true
	case id > o.hi:
		o.hi, o.change = id, true
	}
	return nil
}

// flush writes the bounds into bk when they changed.
func (o *blockBounds) flush(bk *kvBucket) error {
	if !o.change {
		return nil
	}
	kv := encodeBounds(scratchRow(bk, o.block), o.lo, o.hi)
	o.change = false
	return bk.Put(kv[:4], kv[4:])
}

// idBounds is a batch's bounds of the block of the rows it gives.
type idBounds struct {
	loaded bool
	to     uint32 // the first row not covered
	dirty  bool   // to moved: meta idBoundsTo must be written
	blockBounds
}

// boundRow extends the bounds of row's block by id, the id of the user it
// was just given to. A row after uncovered ones is left uncovered too
// (Open covers them).
func (b *batch) boundRow(row uint32, id string) error {
	o := &b.bounds
	if !o.loaded {
		o.to, o.loaded = decodeRow(b.u.bucket(fbMeta).Get(keyIDBoundsTo)), true
	}
	if o.to != row {
		return nil
	}
	if err := o.extend(b.u.bucket(fbIDBounds), row, id); err != nil {
		return err
	}
	o.to, o.dirty = row+1, true
	return nil
}

// finishBounds writes the batch's bounds and meta idBoundsTo.
func (b *batch) finishBounds() error {
	if err := b.bounds.flush(b.u.bucket(fbIDBounds)); err != nil {
		return err
	}
	if !b.bounds.dirty {
		return nil
	}
	meta := b.u.bucket(fbMeta)
	return meta.Put(keyIDBoundsTo, scratchRow(meta, b.bounds.to))
}

// rowsBounded reports whether every row of the file is in its block's bounds.
func rowsBounded(meta *bolt.Bucket) bool {
	return decodeRow(meta.Get(keyIDBoundsTo)) >= decodeRow(meta.Get(keyNextRow))
}

// boundRows adds the rows an older binary gave to their blocks' bounds
// (see the top of this file), in one transaction: it reads the search
// record of each.
func boundRows(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if rowsBounded(meta) {
			return nil
		}
		to, next := decodeRow(meta.Get(keyIDBoundsTo)), decodeRow(meta.Get(keyNextRow))
		bk := tx.Bucket(bucketIDBounds)
		bk.FillPercent = fileBucketSpecs[fbIDBounds].fill
		bounds := rawBucket(bk)
		var o blockBounds
		c := tx.Bucket(bucketSearchRecords).Cursor()
		for k, v := c.Seek(encodeRow(to)); k != nil; k, v = c.Next() {
			row := decodeRow(k)
			if row >= next {
				return fmt.Errorf("search row %d is at or above the next row %d", row, next)
			}
			if err := o.extend(bounds, row, strings.Clone(searchRecordID(v))); err != nil {
				return err
			}
		}
		if err := o.flush(bounds); err != nil {
			return err
		}
		return meta.Put(keyIDBoundsTo, encodeRow(next))
	})
}

// idReader reads the ids of search rows from their records.
type idReader struct {
	c *kvCursor
	// reads counts the records read (for the tests).
	reads int
}

// id returns the id of row's user (a view of the memory map), or false
// when the row has no search record.
func (ir *idReader) id(row uint32) (string, bool) {
	ir.reads++
	key := rowKey(row)
	k, v := ir.c.Seek(key[:])
	if k == nil || !bytes.Equal(k, key[:]) {
		return "", false
	}
	return searchRecordID(v), true
}

// boundedBlock is the candidates of one block, and the block's bounds.
type boundedBlock struct {
	rows   []uint32
	lo, hi string
}

// blocksOf splits rows (ascending) by block and reads each block's bounds,
// or returns ok == false when rows up to the last are not all covered.
func (r *users) blocksOf(rows []uint32) (blocks []boundedBlock, ok bool, err error) {
	if decodeRow(r.bucket(fbMeta).Get(keyIDBoundsTo)) <= rows[len(rows)-1] {
		return nil, false, nil
	}
	bk := r.bucket(fbIDBounds)
	if bk == nil {
		return nil, false, nil
	}
	c := bk.Cursor()
	first := rowKey(rows[0] / blockRows)
	k, v := c.Seek(first[:])
	for len(rows) > 0 {
		block := rows[0] / blockRows
		n := 1
		for n < len(rows) && rows[n]/blockRows == block {
			n++
		}
		for k != nil && decodeRow(k) < block {
			k, v = c.Next()
		}
		if k == nil || decodeRow(k) != block {
			return nil, false, fmt.Errorf("embedded: search block %d has rows but no id bounds", block)
		}
		lo, hi, err := decodeBounds(v)
		if err != nil {
			return nil, false, err
		}
		blocks = append(blocks, boundedBlock{rows: rows[:n], lo: lo, hi: hi})
		rows = rows[n:]
	}
	return blocks, true, nil
}

// idRow is a match read, for the page: its row and id.
type idRow struct {
	id  string
	row uint32
}

// idHeap is the matches read and not placed yet, lowest id first (a
// binary heap; container/heap would box each match).
type idHeap []idRow

func (h *idHeap) push(m idRow) {
	*h = append(*h, m)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].id <= a[i].id {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *idHeap) pop() idRow {
	a := *h
	m := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && a[c+1].id < a[c].id {
			c++
		}
		if a[i].id <= a[c].id {
			break
		}
		a[i], a[c] = a[c], a[i]
		i = c
	}
	*h = a
	return m
}

// pageByBounds cuts the page [from, to) of rows — the matches, ascending —
// in id order after the id after (nil: from the start), reading the ids of the blocks the page
// takes, in the order of their lowest ids (see the top of this file). It
// returns the page's rows and ids, whether a match follows the page, and
// ok == false when rows are not all covered by their blocks' bounds.
func pageByBounds(r *users, ir *idReader, rows []uint32, after []byte, from, to int) (page []idRow, more, ok bool, err error) {
	if len(rows) == 0 {
		return nil, false, true, nil
	}
	blocks, ok, err := r.blocksOf(rows)
	if !ok || err != nil {
		return nil, false, ok, err
	}
	if after != nil {
		// A block whose ids are not above the cursor holds no match after it.
		blocks = slices.DeleteFunc(blocks, func(b boundedBlock) bool { return b.hi <= string(after) })
	}
	slices.SortStableFunc(blocks, func(a, b boundedBlock) int { return cmp.Compare(a.lo, b.lo) })
	var pending idHeap
	pos := 0
	// place takes the pending matches below limit (all, when last) in id
	// order; done once the match after the page is reached.
	place := func(limit string, last bool) (done bool) {
		for len(pending) > 0 && (last || pending[0].id < limit) {
			if pos == to {
				more = true
				return true
			}
			m := pending.pop()
			if pos >= from {
				page = append(page, m)
			}
			pos++
		}
		return false
	}
	for _, b := range blocks {
		if place(b.lo, false) {
			return page, more, true, nil
		}
		for _, row := range b.rows {
			id, found := ir.id(row)
			if !found || (after != nil && id <= string(after)) {
				continue // a row without a record: no user
			}
			pending.push(idRow{id, row})
		}
	}
	place("", true)
	return page, more, true, nil
}
