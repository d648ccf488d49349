//go:build unix

package wal

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const killChildEnv = "WAL_KILL_CHILD_DIR"

// TestMain runs the child of TestKill9 when the environment asks for it.
func TestMain(m *testing.M) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		killChild(dir)
		return
	}
	os.Exit(m.Run())
}

// killChild appends to the log in dir until killed: batches of 1..8
// records, each synced, then every acknowledged seq printed on stdout; now
// and then it releases the older half.
func killChild(dir string) {
	l, err := Open(dir, Options{SegmentBytes: 16 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	seq := l.LastSeq()
	for i := 0; ; i++ {
		first := seq + 1
		for range 1 + i%8 {
			seq++
			if err := l.Append(seq, payloadFor(seq)); err != nil {
				fmt.Fprintln(os.Stderr, "child append:", err)
				os.Exit(2)
			}
		}
		if err := l.Sync(); err != nil {
			fmt.Fprintln(os.Stderr, "child sync:", err)
			os.Exit(2)
		}
		for s := first; s <= seq; s++ {
			fmt.Fprintln(out, s)
		}
		out.Flush()
		if i%50 == 49 {
			// Announced before: the kill may come during or right after.
			fmt.Fprintln(out, "releasing", seq/2)
			out.Flush()
			if err := l.Release(seq / 2); err != nil {
				fmt.Fprintln(os.Stderr, "child release:", err)
				os.Exit(2)
			}
		}
	}
}

// TestKill9 kills a process appending to the log at a random moment, with
// SIGKILL, and checks that every seq it reported as synced is in the log
// with its payload, in order, and that the log then appends on. This
// covers a process crash (the kernel keeps what was written); a power loss
// is left to fdatasync's contract.
func TestKill9(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var released atomic.Uint64 // the largest upTo the child may have released
	for round := range 5 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := make(chan uint64, 1)
		started := make(chan struct{})
		go func() {
			var last uint64
			defer close(started) // also when the child dies before any ack
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				line := sc.Text()
				if r, ok := strings.CutPrefix(line, "releasing "); ok {
					n, err := strconv.ParseUint(r, 10, 64)
					if err != nil {
						panic(line)
					}
					released.Store(max(released.Load(), n))
					continue
				}
				n, err := strconv.ParseUint(line, 10, 64)
				if err != nil {
					panic(line)
				}
				if last == 0 {
					started <- struct{}{}
				}
				last = n
			}
			acked <- last
		}()
		// Kill at a random moment after the child's first acknowledgement
		// (however slow its start on a loaded machine).
		<-started
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		last := <-acked
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Fatalf("round %d: child: %s", round, stderr.String())
		}
		if last == 0 {
			t.Fatalf("round %d: child acknowledged nothing", round)
		}
		l, err := Open(dir, Options{SegmentBytes: 16 << 10})
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		var got []uint64
		err = l.Replay(0, func(seq uint64, payload []byte) error {
			if !bytes.Equal(payload, payloadFor(seq)) {
				return fmt.Errorf("seq %d: wrong payload", seq)
			}
			got = append(got, seq)
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: Replay: %v", round, err)
		}
		if len(got) == 0 || got[len(got)-1] < last {
			t.Fatalf("round %d: acknowledged up to %d, log ends at %v", round, last, got[max(0, len(got)-1):])
		}
		// Contiguous from the first one not released on.
		if got[0] > released.Load()+1 {
			t.Fatalf("round %d: log starts at %d, only up to %d may have been released", round, got[0], released.Load())
		}
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]+1 {
				t.Fatalf("round %d: seq %d follows %d", round, got[i], got[i-1])
			}
		}
		t.Logf("round %d: acknowledged %d, log holds %d..%d", round, last, got[0], got[len(got)-1])
		l.Close()
	}
}
