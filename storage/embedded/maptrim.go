package embedded

import (
	"sync/atomic"
	"time"
)

// DefaultMappedBytes is how much of the file's mapped pages a store lets
// the process keep resident unless Options.MappedBytes says otherwise.
//
// bbolt maps the file, and every page a read touches stays in the
// process's page tables, counted in its RSS, until the kernel needs the
// memory: after a read pass of a million users' 3 GB file the RSS was
// 3.4 GB, of which the process's own memory (heap, stacks) was 0.6 GB. The
// pages are the kernel's page cache all the same; only their accounting
// is the process's. Beyond the budget the store drops its mappings of the
// file (madvise MADV_DONTNEED: the page cache keeps the data, the next
// read of a page maps it again, a minor fault), so that the process's RSS
// is its own memory plus about the budget of file pages, and reclaiming
// the file's cold pages is the kernel's ordinary page-cache work instead of
// unmapping pages of a live process first.
const DefaultMappedBytes = 256 << 20

// checkMap asks trimMap to compare the mapped pages with the budget now
// rather than at its next tick: the applier's transactions and the scans
// of every user map hundreds of MB in a burst.
func (s *Store) checkMap() {
	select {
	case s.mapCheck <- struct{}{}:
	default:
	}
}

// mapTrimEvery is how often a store compares the process's resident file
// pages with its budget: reading the count is a few microseconds
// (/proc/self/statm); dropping the mappings happens only past the budget.
// Reads of a warm file may map up to about 2 GB a second, so the RSS may
// pass the budget by a fifth of that between two looks; the bursts the
// store knows of (an apply, a scan of every user) ask for a look at once
// (checkMap).
const mapTrimEvery = 100 * time.Millisecond

// mapDrops counts the drops of the process's stores (MapDrops).
var mapDrops atomic.Int64

// MapDrops returns how many times the process's open stores dropped their
// mappings of the file's pages (see DefaultMappedBytes): a rate of several a
// second says that reads touch more of the file than the budget holds.
func MapDrops() int64 { return mapDrops.Load() }

// trimMap keeps the file pages the process has mapped resident within
// budget bytes (0: DefaultMappedBytes; negative: never drops them) until
// the store closes. The process's file-backed RSS counts other files too
// (the executable's text, other stores' files in one process): what it was
// right after the last drop, or at open, is taken as theirs.
func (s *Store) trimMap(budget int) {
	defer close(s.trimDone)
	if budget == 0 {
		budget = DefaultMappedBytes
	}
	base, ok := fileRSS()
	if budget < 0 || !ok {
		return
	}
	t := time.NewTicker(mapTrimEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		case <-s.mapCheck:
		}
		rss, ok := fileRSS()
		if !ok || rss-base <= int64(budget) {
			continue
		}
		if s.dropMapped() == nil {
			mapDrops.Add(1)
		}
		if after, ok := fileRSS(); ok {
			base = after
		}
	}
}

// dropMapped drops the process's mappings of the file's pages; the data
// stays in the page cache and the next read of a page maps it again. It
// holds a read transaction meanwhile: bbolt remaps the file (a growth)
// only when none is open, so the range dropped is the file's map and no
// other memory.
func (s *Store) dropMapped() error {
	tx, err := s.db.Begin(false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return dropPages(s.db.Info().Data, tx.Size())
}
