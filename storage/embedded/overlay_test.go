package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/scimd/scimd/storage/storagetest"
)

// consistentView checks, in one transaction t, what every batch keeps
// consistent: the user count in meta is the number of user records.
func consistentView(t *txBuckets) error {
	n := 0
	if err := t.bucket(fbUsers).ForEach(func(k, v []byte) error { n++; return nil }); err != nil {
		return err
	}
	if c := countUsers(t); c != n {
		return fmt.Errorf("the user count says %d, the records are %d", c, n)
	}
	return nil
}

// TestReaderViewAcrossApply delays a reader between loading the overlay's
// state and beginning its bbolt transaction (the scheduler may do so at any
// time) while a write commits and the applier applies the table it went
// into: the reader must see one batch's state, not the file of after the
// write under the overlay of before it (the count of one user next to two
// user records).
func TestReaderViewAcrossApply(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if _, err := s.CreateUser(ctx, storagetest.NewUser(1), nil); err != nil {
		t.Fatal(err)
	}
	st := s.ov.Load() // readView's first step
	if _, err := s.CreateUser(ctx, storagetest.NewUser(2), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.catchUp(ctx); err != nil { // the applier wrote both into the file
		t.Fatal(err)
	}
	if err := s.viewAt(st, consistentView); err != nil { // readView's second step
		t.Fatal(err)
	}
}

// TestPanicRetryWhileApplying has a batch fail half-way (a panic) after
// writes that make the overlay freeze and stall: the writer runs each write
// again on its own, and must not do so inside the failed batch's read
// transaction, for which the applier's commit that grows the file waits
// (bbolt remaps it only once no read transaction is open) while the writer
// waits for the applier.
func TestPanicRetryWhileApplying(t *testing.T) {
	s, err := OpenWithOptions(t.TempDir(), Options{OverlayBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	deadlocked := false
	t.Cleanup(func() {
		if !deadlocked { // (Close would wait for the writer for ever)
			s.Close()
		}
	})
	big := func(key string, size int) func(b *batch) error {
		return func(b *batch) error {
			b.staged++
			return b.u.bucket(fbMeta).Put([]byte(key), bytes.Repeat([]byte{'x'}, size))
		}
	}
	// Hold the writer so that the three writes below are one batch.
	hold, held := make(chan struct{}), make(chan struct{})
	r0, err := s.enqueue(func(b *batch) error { close(held); <-hold; return nil })
	if err != nil {
		t.Fatal(err)
	}
	<-held
	var reqs []*request
	for _, exec := range []func(b *batch) error{
		big("test-big1", 2<<20), // its commit freezes the table: the applier grows the file
		big("test-big2", 5<<20), // its commit reaches the stall size: the writer waits for the applier
		func(b *batch) error {
			b.staged++
			b.u.bucket(fbMeta).Put([]byte("test-half"), []byte("x"))
			panic("half-way")
		},
	} {
		r, err := s.enqueue(exec)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	close(hold)
	if err := s.wait(r0); err != nil {
		t.Fatal(err)
	}
	done := make(chan []error)
	go func() {
		var errs []error
		for _, r := range reqs {
			errs = append(errs, s.wait(r))
		}
		done <- errs
	}()
	select {
	case errs := <-done:
		if errs[0] != nil || errs[1] != nil || errs[2] == nil {
			t.Fatalf("the writes answered %v; want nil, nil and the panic", errs)
		}
	case <-time.After(20 * time.Second): // a hang guard, not a timing target
		deadlocked = true
		t.Fatal("the writer deadlocked with the applier")
	}
	err = s.readView(func(tx *txBuckets) error {
		m := tx.bucket(fbMeta)
		if len(m.Get([]byte("test-big1"))) != 2<<20 || len(m.Get([]byte("test-big2"))) != 5<<20 {
			return errors.New("a write of the batch is missing")
		}
		if m.Get([]byte("test-half")) != nil {
			return errors.New("the failed write's staged put is visible")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
