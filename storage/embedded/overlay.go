package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded/internal/overlay"
	"github.com/scimd/scimd/storage/embedded/internal/wal"
)

// The overlay: how a write becomes durable without a bbolt transaction.
//
// The writer does not write a batch into the file's B-trees. It stages the
// batch's puts and deletes into the active overlay table (an in-memory,
// ordered, multi-version table; internal/overlay) at the batch's sequence
// number, appends them as one record to the write-ahead log in <dir>/scimd.wal
// (internal/wal), syncs the log (the fsync every write of the batch waits
// for: the durability point), and only then publishes the sequence number as
// committed, which makes the batch visible to readers. A reader reads the
// file in a bbolt read transaction with the overlay's committed writes over
// it (ovView): for every key the newest write wins, a delete hides the key.
//
// When the active table holds overlayFreezeBytes, or the writer has been idle
// for overlayIdle, the writer freezes it (a new empty table becomes the
// active one) and the applier goroutine writes the frozen table into the file
// in one bbolt transaction, with the sequence number it reaches (meta
// walApplied), then drops the table and releases the log up to that number.
// A bbolt transaction thus carries thousands of writes instead of one batch:
// the pages they share are materialised, spilled and written once. If the
// active table reaches overlayStallBytes while the frozen one is still being
// applied, the writer waits for the apply (the memory is bounded).
//
// The file thus changes only when an apply commits: the writer stages its
// batches over one read transaction of the file that it keeps from batch
// to batch while no table is frozen, and ends when it freezes one (writerTx
// in writer.go), so that no apply ever waits for it.
//
// Open applies what the log holds beyond walApplied to the file before
// anything else reads it (after a crash; a clean Close applies everything and
// leaves the log empty), so Open's migrations and loads see the file whole.
//
// A reader's view must be the state after some batch, with every batch
// acknowledged before the read began: the file of its bbolt transaction,
// which holds the writes up to the walApplied W of that transaction, under
// the committed writes of the overlay's tables. The reader loads the
// overlay's state (its tables and its applied number A) before the
// transaction begins, and again once it has begun; when the two differ (a
// freeze or an apply in between) it ends the transaction and begins again
// under the newer state (overlaidView). With one state throughout, at most the
// state's frozen table was applied meanwhile (an apply beyond it needs a
// freeze, which would have published a new state), so A ≤ W ≤ the frozen
// table's last sequence number, and the file holds no write newer than the
// state's tables. The reader then loads the committed number H
// (committedOverlay: W ≤ H, a write is applied only after it was committed)
// and sees the tables' writes in (A, H]: those up to W are the file's values
// again, those after W are newer, and every committed write up to H is in the
// file or a table of the state — or, if the writer froze the active table
// after the check, in a newer table, which means that the state's tables end
// with a whole batch: the view is the state after it. Without the second
// load, tables frozen and applied after the state was loaded would be in the
// file but not in the view, their writes under the older values of the
// state's tables (TestReaderViewAcrossTwoApplies). The writer needs no
// second load: it alone freezes, so only the state's frozen table can be
// applied between its load and its transaction's begin.

const (
	// overlayFreezeBytes is the size of the active table at which the writer
	// freezes it for the applier.
	overlayFreezeBytes = 32 << 20
	// overlayStallBytes is the size at which the writer waits for the
	// applier rather than let the active table grow further.
	overlayStallBytes = 128 << 20
	// overlayIdle is how long the writer waits without a write before it
	// freezes whatever the active table holds.
	overlayIdle = time.Second
	// LogDirName is the write-ahead log's directory in the data directory,
	// next to FileName: the two together are the store.
	LogDirName = "scimd.wal"
)

// newTable returns a new active table, its point-lookup filter sized for
// the entries it holds up to its freeze (an entry takes 150 bytes or more
// of the table: a node of 136 and its key and value), with room for the
// four times as many it may reach while a stall waits: 1 MiB for a 32 MiB
// table, 1 of 32 bytes. Most of the writer's lookups (the index keys it
// moves, the keys a delete checks) and of a reader's are of keys the file
// holds, which the filter answers without a search of the table.
func (s *Store) newTable() *overlay.Table { return overlay.New(s.freezeBytes / 32) }

// keyWALApplied (meta) is the sequence number up to which the log's writes
// are in the file: 8 bytes, big-endian.
var keyWALApplied = []byte("walApplied")

// ovState is the overlay's tables: the active one, which the writer stages
// into, and the frozen one being applied to the file (nil: none). It is
// immutable; the writer and the applier replace it under Store.ovMu.
type ovState struct {
	active, frozen *overlay.Table
	applied        uint64 // every write of a sequence number ≤ applied is in the file
}

// ovView is the overlay as one transaction sees it: up to two views (the
// active table's, then the frozen one's), newest first; n == 0: none.
type ovView struct {
	views [2]overlay.View
	n     int
	// high is the sequence number of the newest write the transaction
	// sees (committedOverlay's): it sees every write up to it.
	high uint64
	// writer: the writer's transaction (attachWriter), views[0] the
	// active table it writes into: its lookups there go through the
	// table's writer finger (overlay.View.WriterGet), so that a lookup
	// before a write of the same key — a posting flush's, in key order —
	// makes the write's search free.
	writer bool
}

// get returns the overlay's newest write of key in bucket id: ok is false
// when the overlay has none (the file's value stands), del when it is a delete.
func (o *ovView) get(id fileBucket, key []byte) (v []byte, del, ok bool) {
	for i := range o.n {
		if i == 0 && o.writer {
			v, del, ok = o.views[0].WriterGet(uint8(id), key)
		} else {
			v, del, ok = o.views[i].Get(uint8(id), key)
		}
		if ok {
			return v, del, ok
		}
	}
	return nil, false, false
}

// committedOverlay is the overlay of a reader over the file of its read
// transaction: the committed writes of st's tables. st must be the
// overlay's state both before the transaction began and once it had
// (overlaidView), and committedOverlay must be called after that (see the
// package comment above).
func (s *Store) committedOverlay(st *ovState) ovView {
	high := s.committed.Load()
	o := ovView{high: high}
	if st == nil {
		return o
	}
	if st.active.Len() > 0 {
		o.views[o.n] = st.active.View(st.applied, high)
		o.n++
	}
	if st.frozen != nil {
		o.views[o.n] = st.frozen.View(st.applied, high)
		o.n++
	}
	return o
}

// readView runs fn in a read transaction of the file, with the overlay's
// committed writes over it.
func (s *Store) readView(fn func(t *txBuckets) error) error {
	return s.viewAt(s.ov.Load(), fn)
}

// viewAt is readView with st, the overlay's state loaded before the call.
func (s *Store) viewAt(st *ovState, fn func(t *txBuckets) error) error {
	return s.overlaidView(st, func(tx *bolt.Tx, ov ovView) error {
		return fn(&txBuckets{tx: tx, ov: ov})
	})
}

// overlaidView runs fn in a read transaction of the file, with ov, the
// overlay's committed writes not in that file. st is the overlay's state,
// loaded before the call: when it is no longer the state once the
// transaction has begun, overlaidView begins another under the newer one (see
// the package comment).
func (s *Store) overlaidView(st *ovState, fn func(tx *bolt.Tx, ov ovView) error) error {
	for {
		again := false
		err := s.db.View(func(tx *bolt.Tx) error {
			if cur := s.ov.Load(); cur != st {
				st, again = cur, true
				return nil
			}
			return fn(tx, s.committedOverlay(st))
		})
		if !again {
			return err
		}
	}
}

// walWriter stages the writes of the writer's batch: into the active table
// at the batch's sequence number, and into the batch's log record.
type walWriter struct {
	table *overlay.Table
	seq   uint64
	rec   []byte // the batch's log record (see "Log record" below)
	// scratch is the room txBuckets.scratch hands out.
	scratch []byte
}

// Log record: the batch's writes in order, each a bucket byte, an op byte
// (opPut, opDelete), the key (uvarint length, bytes) and for a put the value
// (uvarint length, bytes).
const (
	opPut    = 1
	opDelete = 2
)

func (w *walWriter) put(id fileBucket, key, value []byte, del bool) error {
	w.table.Put(uint8(id), key, value, del, w.seq)
	op := byte(opPut)
	if del {
		op = opDelete
	}
	w.rec = append(w.rec, byte(id), op)
	w.rec = binary.AppendUvarint(w.rec, uint64(len(key)))
	w.rec = append(w.rec, key...)
	if !del {
		w.rec = binary.AppendUvarint(w.rec, uint64(len(value)))
		w.rec = append(w.rec, value...)
	}
	return nil
}

// attachWriter makes t the writer's transaction for the batch of sequence
// number seq: it reads the file under every committed write and the batch's
// own, and writes into the active table. st must have been loaded before
// t's bbolt transaction began (as committedOverlay's state is): a table
// applied in between would otherwise be in neither.
func (s *Store) attachWriter(t *txBuckets, st *ovState, seq uint64) {
	t.ov = ovView{n: 1, writer: true}
	t.ov.views[0] = st.active.View(st.applied, seq)
	if st.frozen != nil {
		t.ov.views[1] = st.frozen.View(st.applied, seq)
		t.ov.n = 2
	}
	s.ww.table, s.ww.seq, s.ww.rec = st.active, seq, s.ww.rec[:0]
	t.w = &s.ww
}

// commitBatch makes the staged batch visible, and durable when sync is
// set (its log record synced). On failure the batch's writes are
// withdrawn from the table.
//
// A batch committed without sync (derived writes only, see request) is
// visible before it is durable. That is safe because its record stays in
// the log's buffer, ahead of every later record: the next Sync (the next
// client's batch, an apply's Release does not drop it, Close) writes and
// syncs it with them, so no later write is ever durable without it. A
// crash before then loses it alone, and the state before it holds the
// same directory: the audit events in the tail instead of a block, the
// memberships in the lag instead of userGroups. An apply may write its
// effects into the file first; Open then numbers on from the file's
// walApplied, above the log's last record (openLog).
func (s *Store) commitBatch(sync bool) error {
	seq := s.ww.seq
	s.walMu.Lock()
	err := s.log.Append(seq, s.ww.rec)
	if err == nil && sync {
		err = logSync(s.log)
	}
	s.walMu.Unlock()
	if err != nil {
		s.abortBatch() // (before the record goes: abortBatch goes by it)
	} else {
		s.seq = seq
		s.committed.Store(seq)
	}
	if len(s.ww.rec) > 1<<20 {
		s.ww.rec = nil // a bulk batch's record: do not keep its memory
	}
	return err
}

// logSync is wal.Log.Sync, a variable so that tests can fail it.
var logSync = (*wal.Log).Sync

// abortBatch withdraws the staged writes of the current batch, if it staged
// any: its sequence number is then never used again.
func (s *Store) abortBatch() {
	if len(s.ww.rec) == 0 {
		return
	}
	s.ww.table.Abort(s.ww.seq)
	s.seq = s.ww.seq
}

// maybeFreeze freezes the active table for the applier when it is large
// enough, or (idle) when it holds anything and no table is frozen; when it is
// too large and a frozen one is still being applied, it waits for that apply.
func (s *Store) maybeFreeze(idle bool) {
	st := s.ov.Load()
	size := st.active.Bytes()
	switch {
	case st.active.Len() == 0:
		return
	case idle:
		if st.frozen != nil {
			return
		}
	case size < s.freezeBytes:
		return
	case st.frozen != nil:
		if size < s.stallBytes || s.applyErr.Load() != nil {
			return // (a failing apply: the writes fail instead, see stalled)
		}
		s.endWriterTx() // the apply waited for may need it ended (see writerTx)
		s.waitApplied()
	}
	s.endWriterTx() // before the applier may start (see writerTx)
	s.ovMu.Lock()
	st = s.ov.Load()
	if st.frozen != nil { // an apply failed and the stall waited for nothing: keep staging
		s.ovMu.Unlock()
		return
	}
	s.ov.Store(&ovState{active: s.newTable(), frozen: st.active, applied: st.applied})
	s.ovMu.Unlock()
	select {
	case s.applyReq <- struct{}{}:
	default: // the applier has a request pending already
	}
}

// stalled returns the applier's failure once the overlay has grown to its
// stall size behind it: the writer then fails writes rather than let the
// memory grow or wait without end.
func (s *Store) stalled() error {
	st := s.ov.Load()
	if st.frozen == nil || st.active.Bytes() < s.stallBytes {
		return nil
	}
	if f := s.applyErr.Load(); f != nil {
		return f.err
	}
	return nil
}

// waitApplied waits until no table is frozen (the writer waits meanwhile,
// which bounds the overlay's memory), the apply fails (the applier retries
// it every second, and the writes fail meanwhile: see stalled) or the store
// closes.
func (s *Store) waitApplied() {
	for s.ov.Load().frozen != nil && s.applyErr.Load() == nil {
		select {
		case <-s.appliedSig:
		case <-s.quit:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// applier applies each frozen table to the file, retrying every second
// after a failure (a full disk) until it succeeds or the store closes.
func (s *Store) applier() {
	defer close(s.applierDone)
	for range s.applyReq {
		for {
			err := s.applyFrozen()
			s.checkMap() // an apply touches pages all over the file at once
			if err == nil {
				s.applyErr.Store(nil)
				break
			}
			s.applyErr.Store(&writeFailure{err: storage.Unavailable(err), at: time.Now()})
			select {
			case <-time.After(time.Second):
				continue
			case <-s.quit:
			}
			break
		}
	}
}

// applyFrozen writes the frozen table into the file in one transaction,
// drops it and releases the log up to the sequence number it reached.
func (s *Store) applyFrozen() error {
	st := s.ov.Load()
	f := st.frozen
	if f == nil {
		return nil
	}
	upTo := f.MaxSeq()
	err := s.db.Update(func(tx *bolt.Tx) error {
		t := &txBuckets{tx: tx}
		err := f.Entries(upTo, func(b uint8, k, v []byte, del bool) error {
			bk := t.bucket(fileBucket(b))
			if bk == nil {
				return fmt.Errorf("bucket %d missing", b)
			}
			if del {
				return bk.Delete(k)
			}
			return bk.Put(k, v)
		})
		if err != nil {
			return err
		}
		return t.bucket(fbMeta).Put(keyWALApplied, encodeVersion(int64(upTo)))
	})
	if err != nil {
		return fmt.Errorf("embedded: apply the overlay to the file: %w", err)
	}
	s.ovMu.Lock()
	cur := s.ov.Load()
	s.ov.Store(&ovState{active: cur.active, applied: upTo})
	s.ovMu.Unlock()
	select {
	case s.appliedSig <- struct{}{}:
	default:
	}
	s.walMu.Lock()
	err = s.log.Release(upTo)
	s.walMu.Unlock()
	if err != nil {
		return fmt.Errorf("embedded: release the log: %w", err)
	}
	return nil
}

// catchUp returns once the file holds every write committed before it was
// called (the overlay's tables applied): a backup's first step.
func (s *Store) catchUp(ctx context.Context) error {
	target := s.committed.Load()
	for st := s.ov.Load(); st.applied < target && (st.active.Len() > 0 || st.frozen != nil); st = s.ov.Load() {
		if err := s.submit(func(b *batch) error { b.freeze = true; return nil }); err != nil {
			return err
		}
		for st := s.ov.Load(); st.frozen != nil && st.applied < target; st = s.ov.Load() {
			if f := s.applyErr.Load(); f != nil {
				return f.err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

// applyAll applies every committed write to the file: Close's last step,
// and a backup's first. The writer must not be running or must be the
// caller.
func (s *Store) applyAll() error {
	if err := s.applyFrozen(); err != nil {
		return err
	}
	s.ovMu.Lock()
	st := s.ov.Load()
	if st.active.Len() > 0 {
		s.ov.Store(&ovState{active: s.newTable(), frozen: st.active, applied: st.applied})
	}
	s.ovMu.Unlock()
	return s.applyFrozen()
}

// openLog opens the log of dir and applies to db, in one transaction, every
// write it holds beyond the file's walApplied (those of a store that did not
// close), which must then be a file of the current format (formatCurrent;
// the buckets added within it are created first). It returns the log,
// empty, and the last sequence number.
func openLog(db *bolt.DB, dir string) (*wal.Log, uint64, error) {
	l, err := wal.Open(filepath.Join(dir, LogDirName), wal.Options{})
	if err != nil {
		return nil, 0, err
	}
	var applied uint64
	var current bool
	if err := db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			applied = uint64(decodeVersion(meta.Get(keyWALApplied)))
		}
		current = formatCurrent(tx.Bucket(bucketMeta))
		return nil
	}); err != nil {
		l.Close()
		return nil, 0, err
	}
	last := l.LastSeq()
	if last > applied {
		if !current {
			l.Close()
			return nil, 0, fmt.Errorf("the log %s holds writes the file has not applied, but the file is not of format %s: "+
				"a log of another file (move it away if the file was restored on purpose)", LogDirName, formatVersion)
		}
		if err := replayLog(db, l, applied); err != nil {
			l.Close()
			return nil, 0, err
		}
	}
	if err := l.Release(last); err != nil {
		l.Close()
		return nil, 0, err
	}
	return l, max(applied, last), nil
}

// replayLog applies the records of l after applied to db in one transaction.
// Sequence numbers may skip (a batch that failed before its record was
// written leaves its number unused).
func replayLog(db *bolt.DB, l *wal.Log, applied uint64) error {
	return db.Update(func(tx *bolt.Tx) error {
		if err := createBuckets(tx); err != nil { // a bucket added within the format (idBounds)
			return err
		}
		t := &txBuckets{tx: tx}
		last := applied
		err := l.Replay(applied, func(seq uint64, rec []byte) error {
			last = seq
			return applyRecord(t, rec)
		})
		if err != nil {
			return fmt.Errorf("apply the log: %w", err)
		}
		return t.bucket(fbMeta).Put(keyWALApplied, encodeVersion(int64(last)))
	})
}

// applyRecord writes the puts and deletes of one log record into t.
func applyRecord(t *txBuckets, rec []byte) error {
	for len(rec) > 0 {
		if len(rec) < 2 {
			return errBadRecord
		}
		id, op := fileBucket(rec[0]), rec[1]
		rec = rec[2:]
		key, rest, ok := lenPrefixed(rec)
		if !ok || id >= numFileBuckets {
			return errBadRecord
		}
		rec = rest
		bk := t.bucket(id)
		if bk == nil {
			return fmt.Errorf("%w: bucket %d missing", errBadRecord, id)
		}
		switch op {
		case opDelete:
			if err := bk.Delete(key); err != nil {
				return err
			}
		case opPut:
			v, rest, ok := lenPrefixed(rec)
			if !ok {
				return errBadRecord
			}
			rec = rest
			if err := bk.Put(key, v); err != nil {
				return err
			}
		default:
			return errBadRecord
		}
	}
	return nil
}

var errBadRecord = errors.New("a log record that cannot be read")

// lenPrefixed splits b into a uvarint-length-prefixed field and the rest.
func lenPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	return b[w : w+int(n)], b[w+int(n):], true
}
