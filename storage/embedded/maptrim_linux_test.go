package embedded

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

// mappedRSS returns the resident bytes of the process's mappings of the
// file at path (/proc/self/smaps).
func mappedRSS(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			in = fields[len(fields)-1] == path // a mapping's header: address range, perms, …, path
		case in && len(fields) == 3 && fields[0] == "Rss:":
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// mappedStore is a store of 2,000 users, reopened with opts so that every
// user is read from the file's map, its vocabulary walk over.
func mappedStore(t *testing.T, opts Options) (s *Store, path string, ids []string) {
	t.Helper()
	dir, s := openDir(t, opts)
	users := make([]*schemas.User, 2000)
	for i := range users {
		users[i] = storagetest.NewUser(i)
	}
	ids = createAll(t, s, users)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, opts)
	t.Cleanup(func() { s.Close() })
	<-s.vocabDone
	return s, filepath.Join(dir, FileName), ids
}

// readAll reads every user of ids.
func readAll(t *testing.T, s *Store, ids []string) []*schemas.User {
	t.Helper()
	out := make([]*schemas.User, len(ids))
	for i, id := range ids {
		u, err := s.GetUser(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = u
	}
	return out
}

// TestDropMapped checks that dropMapped unmaps the file's pages the reads
// mapped, and that the reads after it see the same users.
func TestDropMapped(t *testing.T) {
	s, path, ids := mappedStore(t, Options{MappedBytes: -1})
	first := readAll(t, s, ids)
	before := mappedRSS(t, path)
	if before < 512<<10 {
		t.Fatalf("%d bytes of the file mapped after reading %d users, want 512 KiB or more", before, len(ids))
	}
	if err := s.dropMapped(); err != nil {
		t.Fatal(err)
	}
	if after := mappedRSS(t, path); after > before/4 {
		t.Errorf("%d bytes of the file mapped after dropMapped, %d before", after, before)
	}
	if again := readAll(t, s, ids); !reflect.DeepEqual(again, first) {
		t.Error("the users read after dropMapped differ from those read before")
	}
	if mappedRSS(t, path) < before/2 {
		t.Error("reading every user again did not map the file again")
	}
}

// TestTrimMapKeepsBudget checks that a store whose reads map more of its
// file than Options.MappedBytes drops the mappings by itself.
func TestTrimMapKeepsBudget(t *testing.T) {
	s, path, ids := mappedStore(t, Options{MappedBytes: 64 << 10})
	drops := MapDrops()
	readAll(t, s, ids)
	deadline := time.Now().Add(10 * time.Second)
	for MapDrops() == drops {
		if time.Now().After(deadline) {
			t.Fatalf("no drop within 10 s; %d bytes of the file mapped, budget 64 KiB", mappedRSS(t, path))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := mappedRSS(t, path); got > 1<<20 {
		t.Errorf("%d bytes of the file mapped after the drop, want far less than the 2,000 users' pages", got)
	}
}

// TestDropMappedUnderReads drops the mappings again and again while eight
// readers read every user and a writer grows the file: each read returns
// the user as first read, whether its pages were mapped or dropped under
// it, and no drop fails. With MaxSize bbolt maps the file without room to
// grow (see OpenWithOptions), and a small overlay makes the applier write
// often, so its applies remap the file, which must wait for the drop's
// read transaction.
func TestDropMappedUnderReads(t *testing.T) {
	s, _, ids := mappedStore(t, Options{MappedBytes: -1, MaxSize: 1 << 30, OverlayBytes: 256 << 10})
	want := readAll(t, s, ids)
	stop := make(chan struct{})
	drops := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				drops <- n
				return
			default:
			}
			if err := s.dropMapped(); err != nil {
				t.Error(err)
			}
			n++
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() {
		for b := range 8 {
			users := make([]*schemas.User, 1000)
			for i := range users {
				users[i] = storagetest.NewUser(len(ids) + 1000*b + i)
			}
			for _, err := range s.CreateUsers(context.Background(), users) {
				if err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	for r := range 8 {
		wg.Go(func() {
			for pass := range 3 {
				for i := r; i < len(ids); i += 8 {
					u, err := s.GetUser(context.Background(), ids[i])
					if err != nil {
						t.Error(err)
						return
					}
					if !reflect.DeepEqual(u, want[i]) {
						t.Errorf("pass %d: user %s differs from its first read", pass, ids[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if n := <-drops; n < 2 {
		t.Errorf("%d drops during the reads, want several", n)
	}
}
