package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
)

// The export format: JSON Lines, one record a line, {"type": …, "data": …}.
// The first line is the header; then, in this order so that an import can
// create each record after what it refers to: signing keys, applications
// (regular and management, with hashed client secrets), groups, users (with
// password hashes, per-app data and group memberships as GroupIDs), API tokens
// (hashed) and, with --audit, audit events. data is the stored document as
// package schemas defines it, with Version 0: versions are a store's own
// concurrency counters, and an import starts them at 1.
//
// Every record holds secrets or their hashes (signing keys in clear): treat
// an export file like the database itself.
const (
	recHeader     = "header"
	recSigningKey = "signing_key"
	recApp        = "app"
	recGroup      = "group"
	recUser       = "user"
	recAPIToken   = "api_token"
	recEvent      = "event"

	exportFormat = "scimd-export"
)

type record struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// exportHeader is the first record: what follows, and how many of each.
type exportHeader struct {
	Format  string         `json:"format"`
	Version int            `json:"version"`
	Created time.Time      `json:"created"`
	Counts  map[string]int `json:"counts"`
}

// storeFlags select the store a maintenance command works on, with the
// flags, environment variables and defaults of `scimd serve` (config.flags).
type storeFlags struct{ c config }

func (sf *storeFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	for _, f := range sf.c.backendFlags() {
		f.register(fs, getenv)
	}
}

func (sf *storeFlags) open(ctx context.Context) (storage.Store, string, error) {
	return openStore(ctx, &sf.c)
}

// progress is a progress bar on stderr when stderr is a terminal, else nothing.
type progress struct{ bar *progressbar.ProgressBar }

func newProgress(stderr io.Writer, total int64, what string) *progress {
	if !isTerminal(stderr) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(total, progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(what), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("records"), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish())}
}

func (p *progress) add(n int) {
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// parseSince reads --since: an RFC 3339 time, a date (YYYY-MM-DD, UTC) or a
// duration back from now (720h).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := parseDays(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("invalid --since %q: want an RFC 3339 time, a date (2026-01-31) or a duration (720h, 30d)", s)
}

// runExport is `scimd export`.
func runExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs, getenv)
	out := fs.String("out", "-", "file to write the JSON Lines to (- for stdout)")
	audit := fs.Bool("audit", false, "include audit events")
	auditOnly := fs.Bool("audit-only", false, "export audit events only (for a SIEM): one event a line, no header")
	since := fs.String("since", "", "with --audit or --audit-only: only events at or after this time (RFC 3339, a date, or a duration back from now such as 720h or 30d)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	from, err := parseSince(*since, time.Now().UTC())
	if err != nil {
		fmt.Fprintf(stderr, "scimd: %v\n", err)
		return exitUsage
	}
	store, _, err := sf.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
		return exitFailure
	}
	defer store.Close()
	w := stdout
	var file *os.File
	if *out != "-" {
		if file, err = os.OpenFile(*out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600); err != nil {
			fmt.Fprintf(stderr, "scimd: %v\n", err)
			return exitFailure
		}
		w = file
	}
	start := time.Now()
	counts, err := export(ctx, store, w, stderr, *audit || *auditOnly, *auditOnly, from)
	if err == nil && file != nil {
		err = errors.Join(file.Sync(), file.Close())
	}
	if err != nil {
		fmt.Fprintf(stderr, "scimd: export: %s\n", oneLine(err))
		return exitFailure
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	el := time.Since(start)
	fmt.Fprintf(stderr, "scimd: exported %s in %s (%.0f records/s)\n", countLine(counts), el.Round(time.Millisecond), float64(total)/max(el.Seconds(), 1e-9))
	return exitOK
}

func countLine(counts map[string]int) string {
	var s string
	for _, k := range []string{recSigningKey, recApp, recGroup, recUser, recAPIToken, recEvent} {
		if n, ok := counts[k]; ok {
			s += fmt.Sprintf("%s%d %ss", map[bool]string{true: ", ", false: ""}[s != ""], n, k)
		}
	}
	return s
}

// exportPage is how many users export reads at once.
var exportPage = 50_000

// export writes the store's contents as JSON Lines (see the format above).
// It reads each kind whole except users, which it reads exportPage at a time
// in id order and encodes on every CPU. Paging assumes nothing writes users
// meanwhile: a page that sees another total than the first fails the export
// (on the embedded store nothing can write while export holds the file).
func export(ctx context.Context, store storage.Store, w io.Writer, stderr io.Writer, audit, auditOnly bool, since time.Time) (map[string]int, error) {
	var (
		keys   []*schemas.SigningKey
		apps   []*schemas.App
		groups storage.Page[*schemas.Group]
		users  int
		tokens []*schemas.APIToken
		events storage.Page[*schemas.Event]
		err    error
	)
	if !auditOnly {
		if keys, err = store.SigningKeys(ctx); err != nil {
			return nil, err
		}
		if apps, err = store.ListApps(ctx, ""); err != nil {
			return nil, err
		}
		if groups, err = store.ListGroups(ctx, storage.Query{Limit: storage.Unlimited}); err != nil {
			return nil, err
		}
		page, err := store.ListUsers(ctx, storage.Query{Limit: 0})
		if err != nil {
			return nil, err
		}
		users = page.Total
		if tokens, err = store.ListAPITokens(ctx); err != nil {
			return nil, err
		}
	}
	if audit {
		if events, err = store.ListEvents(ctx, storage.EventQuery{Since: since, Limit: storage.Unlimited}); err != nil {
			return nil, err
		}
		slices.Reverse(events.Items) // oldest first, as a SIEM reads a log
	}
	counts := map[string]int{}
	if !auditOnly {
		counts = map[string]int{recSigningKey: len(keys), recApp: len(apps), recGroup: len(groups.Items),
			recUser: users, recAPIToken: len(tokens)}
	}
	if audit {
		counts[recEvent] = len(events.Items)
	}
	var total int64
	for _, n := range counts {
		total += int64(n)
	}
	bar := newProgress(stderr, total, "export")
	defer bar.done()
	bw := bufio.NewWriterSize(w, 1<<20)
	var line []byte
	put := func(typ string, v any) error {
		var err error
		if line, err = appendRecord(line[:0], typ, v, auditOnly); err != nil {
			return err
		}
		bar.add(1)
		_, err = bw.Write(line)
		return err
	}
	if !auditOnly {
		if err := put(recHeader, exportHeader{Format: exportFormat, Version: 1, Created: time.Now().UTC(), Counts: counts}); err != nil {
			return nil, err
		}
		bar.add(-1)
	}
	for _, k := range keys {
		if err := put(recSigningKey, k); err != nil {
			return nil, err
		}
	}
	for _, a := range apps {
		a.Version = 0
		if err := put(recApp, a); err != nil {
			return nil, err
		}
	}
	for _, g := range groups.Items {
		g.Version = 0
		if err := put(recGroup, g); err != nil {
			return nil, err
		}
	}
	// The next page is read while this one is encoded.
	type pageResult struct {
		items []*schemas.User
		err   error
	}
	pages := make(chan pageResult, 1)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() {
		defer close(pages)
		for offset := 0; offset < users; offset += exportPage {
			page, err := store.ListUsers(readCtx, storage.Query{Offset: offset, Limit: exportPage})
			if err == nil && (page.Total != users || len(page.Items) != min(exportPage, users-offset)) {
				err = fmt.Errorf("the store changed during the export (%d users at the start, %d now): export a store nothing writes to", users, page.Total)
			}
			select {
			case pages <- pageResult{page.Items, err}:
			case <-readCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for p := range pages {
		if p.err != nil {
			return nil, p.err
		}
		if err := writeUsers(bw, p.items); err != nil {
			return nil, err
		}
		bar.add(len(p.items))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, t := range tokens {
		if err := put(recAPIToken, t); err != nil {
			return nil, err
		}
	}
	for _, e := range events.Items {
		if err := put(recEvent, e); err != nil {
			return nil, err
		}
	}
	return counts, bw.Flush()
}

// appendRecord appends the line of one record: {"type":typ,"data":v}, or
// with bare v alone. The bytes are those json.Encoder gives for a record.
func appendRecord(b []byte, typ string, v any, bare bool) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	if !bare {
		b = append(append(append(b, `{"type":"`...), typ...), `","data":`...)
	}
	b = append(b, data...)
	if !bare {
		b = append(b, '}')
	}
	return append(b, '\n'), nil
}

// writeUsers writes the user records of us (with Version 0), encoded on
// every CPU, in order.
func writeUsers(w io.Writer, us []*schemas.User) error {
	workers := runtime.GOMAXPROCS(0)
	bufs := make([][]byte, workers)
	errs := make([]error, workers)
	per := (len(us) + workers - 1) / workers
	var wg sync.WaitGroup
	for i := range workers {
		part := us[min(i*per, len(us)):min((i+1)*per, len(us))]
		wg.Go(func() {
			b := make([]byte, 0, len(part)*2048)
			for _, u := range part {
				u.Version = 0
				if b, errs[i] = appendRecord(b, recUser, u, false); errs[i] != nil {
					return
				}
			}
			bufs[i] = b
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, b := range bufs {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// importStats counts what an import did.
type importStats struct {
	mu      sync.Mutex
	created map[string]int
	skipped map[string]int
	failed  map[string]int
	errs    []string // the first maxImportErrors failures
}

const maxImportErrors = 20

func (s *importStats) add(typ string, err error, skipped bool, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		s.failed[typ]++
		if len(s.errs) < maxImportErrors {
			s.errs = append(s.errs, fmt.Sprintf("%s %s: %v", typ, id, err))
		}
	case skipped:
		s.skipped[typ]++
	default:
		s.created[typ]++
	}
}

// runImport is `scimd import`.
func runImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet("scimd import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs, getenv)
	in := fs.String("in", "-", "JSON Lines file to read (- for stdin)")
	workers := fs.Int("workers", defaultImportWorkers, "users decoded and written at once")
	fast := fs.Bool("no-sync", false, "embedded store only: skip the fsync of every batch and sync once at the end (a crash during the import may corrupt the file: import into a fresh data directory)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	r := stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			fmt.Fprintf(stderr, "scimd: %v\n", err)
			return exitFailure
		}
		defer f.Close()
		r = f
	}
	// --no-sync is an option of the embedded store (the backend registry
	// passes embedded.Options to it alone): refused with any other.
	if b := backendOf(&sf.c); *fast && b.name != "embedded" {
		fmt.Fprintf(stderr, "scimd: import: --no-sync applies to the embedded store only, not to %s\n", b.label)
		return exitUsage
	}
	store, _, err := openStoreWith(ctx, &sf.c, embedded.Options{NoSync: *fast})
	if err != nil {
		fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
		return exitFailure
	}
	defer store.Close()
	// Thousands of users in flight make garbage fast: collecting less often
	// saves about a fifth of the import's CPU for twice the memory (about
	// 1 GB at the default workers).
	collectLessOften(getenv)
	start := time.Now()
	st, err := importRecords(ctx, store, r, stderr, max(*workers, 1))
	if unsynced, ok := store.(*embedded.Store); ok && *fast { // synced once, before Close
		if serr := unsynced.Sync(); serr != nil {
			err = errors.Join(err, fmt.Errorf("sync: %w", serr))
		}
	}
	el := time.Since(start)
	sum := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	fmt.Fprintf(stderr, "scimd: import: created %s; skipped (already there) %s; failed %s; in %s (%.0f records/s)\n",
		orNone(countLine(st.created)), orNone(countLine(st.skipped)), orNone(countLine(st.failed)),
		el.Round(time.Millisecond), float64(sum(st.created)+sum(st.skipped))/max(el.Seconds(), 1e-9))
	for _, e := range st.errs {
		fmt.Fprintf(stderr, "scimd: import: %s\n", e)
	}
	if n := sum(st.failed); n > len(st.errs) {
		fmt.Fprintf(stderr, "scimd: import: … and %d more failures\n", n-len(st.errs))
	}
	if err != nil {
		hint := " (re-run the same import to resume: what is already there is skipped)"
		var fe formatError
		if errors.As(err, &fe) {
			hint = ""
		}
		fmt.Fprintf(stderr, "scimd: import: %s%s\n", oneLine(err), hint)
		return exitFailure
	}
	if sum(st.failed) > 0 {
		return exitFailure
	}
	return exitOK
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// defaultImportWorkers is how many users an import has in flight at once
// (in chunks of importChunk, one goroutine each): twice as many as the
// embedded store commits in one transaction (8,192, whose cost — rewriting
// the index pages it touches, one fsync — they share), so that while its
// single writer commits one batch the next is decoded and queued. With one
// batch's worth, the workers waited for each commit with nothing to do and
// the writer then waited for them (1.33 of 2 cores busy at 1,000,000 users).
const defaultImportWorkers = 16384

// importChunk is how many users one import worker decodes and hands to
// the store at once (fewer when --workers is smaller).
const importChunk = 256

// maxCreatesInFlight bounds the CreateUser calls an import has running at
// once on a store without CreateUsers (MongoDB: each one a round trip), over
// all its workers: enough to hide the round trips' latency, few enough that
// the goroutines and the connection pool stay small whatever --workers says.
const maxCreatesInFlight = 64

// createUsersOf returns how users are created in store: together when the
// store can (the embedded store queues them all for its writer, see
// embedded.Store.CreateUsers), else each by its own CreateUser, at most
// maxCreatesInFlight at once over every call of the function returned.
func createUsersOf(store storage.Store) func(context.Context, []*schemas.User) []error {
	if bc, ok := store.(interface {
		CreateUsers(context.Context, []*schemas.User) []error
	}); ok {
		return bc.CreateUsers
	}
	slots := make(chan struct{}, maxCreatesInFlight)
	return func(ctx context.Context, us []*schemas.User) []error {
		errs := make([]error, len(us))
		var wg sync.WaitGroup
		for i, u := range us {
			slots <- struct{}{} // a goroutine only once it has a slot
			wg.Go(func() {
				defer func() { <-slots }()
				_, errs[i] = store.CreateUser(ctx, u, nil)
			})
		}
		wg.Wait()
		return errs
	}
}

// importCPUs is how many import workers decode at once: one core fewer
// than Go runs on, the store's writer — the import's limit — having the
// other (at least one).
func importCPUs() int { return max(runtime.GOMAXPROCS(0)-1, 1) }

// userPrefix starts every user line export writes.
var userPrefix = []byte(`{"type":"user","data":`)

// userLine is a user to import: a whole line starting with userPrefix, or
// the data of a record read already.
type userLine struct {
	b     []byte
	whole bool
}

// decode reads the user (see decodeUserRecord).
func (l userLine) decode() (*schemas.User, error) {
	if !l.whole {
		return decodeUserData(l.b)
	}
	return decodeUserRecord(l.b)
}

// formatError is an input that is not a scimd export (nothing to resume).
type formatError struct{ error }

// importRecords reads an export and creates what the store does not hold
// yet, through the storage contract's create methods, so the store's
// invariants hold as for any write: unique identifiers are checked
// atomically, versions start at 1. A record whose id (for an API token, its
// hash; for a signing key, its kid) is already there is skipped, so an
// interrupted import resumes by running it again. A record that conflicts
// with a different entity (a userName another user holds) fails and is
// reported; the import goes on, as does a user whose password hash is not
// one directory.ParseHash accepts. Records are stored without audit events of
// their own: the events of the source come along with --audit.
func importRecords(ctx context.Context, store storage.Store, r io.Reader, stderr io.Writer, workers int) (*importStats, error) {
	st := &importStats{created: map[string]int{}, skipped: map[string]int{}, failed: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var bar *progress
	// Users are decoded and created by the workers, so that the store's writer
	// gets many creates at once (one transaction and one fsync for all of
	// them) and decoding runs on every CPU. A line in the layout export writes
	// ({"type":"user","data":…}) goes to a worker whole, read once there; any
	// other line is read here first.
	users := make(chan userLine, workers)
	var wg sync.WaitGroup
	create := createUsersOf(store)
	// Workers take importChunk users at a time and hand them to the store
	// together, so that a few dozen goroutines keep the store's writer fed;
	// they decode importCPUs() at a time. With one goroutine per user in
	// flight, each commit woke thousands at once, and the writer — the
	// import's limit — once preempted waited behind all of them in the
	// scheduler's queue: half the time, half a core idle.
	cpu := make(chan struct{}, importCPUs())
	startWorkers := func() {
		chunk := min(importChunk, workers)
		for range (workers + chunk - 1) / chunk {
			wg.Go(func() {
				lines := make([]userLine, 0, chunk)
				for {
					lines = lines[:0]
					for l := range users {
						lines = append(lines, l)
						if len(lines) == chunk {
							break
						}
					}
					if len(lines) == 0 {
						return
					}
					us := make([]*schemas.User, 0, len(lines))
					cpu <- struct{}{}
					for _, l := range lines {
						u, err := l.decode()
						if err == nil && u.Password != nil {
							_, err = directory.ParseHash(u.Password.Hash)
						}
						if err != nil {
							id := ""
							if u != nil {
								id = u.ID
							}
							st.add(recUser, err, false, id)
							bar.add(1)
							continue
						}
						us = append(us, u)
					}
					<-cpu
					for i, err := range create(ctx, us) {
						skipped := false
						if errors.Is(err, storage.ErrConflict) {
							if _, gerr := store.GetUser(ctx, us[i].ID); gerr == nil {
								err, skipped = nil, true
							}
						}
						st.add(recUser, err, skipped, us[i].ID)
						bar.add(1)
					}
				}
			})
		}
	}
	usersOpen := false
	flushUsers := func() {
		if usersOpen {
			close(users)
			wg.Wait()
			usersOpen = false
		}
	}
	defer flushUsers()
	line := 0
	for sc.Scan() {
		line++
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if line > 1 && bytes.HasPrefix(sc.Bytes(), userPrefix) {
			if !usersOpen {
				users = make(chan userLine, workers)
				usersOpen = true
				startWorkers()
			}
			select {
			case users <- userLine{b: bytes.Clone(sc.Bytes()), whole: true}:
			case <-ctx.Done():
				return st, ctx.Err()
			}
			continue
		}
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return st, formatError{fmt.Errorf("line %d: not a JSON record: %v", line, err)}
		}
		if line == 1 {
			var h exportHeader
			if rec.Type != recHeader || json.Unmarshal(rec.Data, &h) != nil || h.Format != exportFormat {
				return st, formatError{fmt.Errorf("line 1: not a scimd export (want a %q header)", exportFormat)}
			}
			if h.Version != 1 {
				return st, formatError{fmt.Errorf("line 1: export format version %d is not supported (want 1)", h.Version)}
			}
			var total int64
			for _, n := range h.Counts {
				total += int64(n)
			}
			bar = newProgress(stderr, total, "import")
			defer bar.done()
			continue
		}
		if rec.Type != recUser {
			flushUsers() // users refer to apps and groups; tokens and events come after users
		}
		var err error
		skipped := false
		id := ""
		switch rec.Type {
		case recSigningKey:
			var k schemas.SigningKey
			if err = json.Unmarshal(rec.Data, &k); err == nil {
				id = k.ID
				err = store.UpdateSigningKeys(ctx, func(keys []*schemas.SigningKey) ([]*schemas.SigningKey, error) {
					skipped = slices.ContainsFunc(keys, func(o *schemas.SigningKey) bool { return o.ID == k.ID })
					if skipped {
						return keys, nil
					}
					keys = append(slices.Clone(keys), &k)
					slices.SortStableFunc(keys, func(a, b *schemas.SigningKey) int { return a.Created.Compare(b.Created) })
					return keys, nil
				})
			}
		case recApp:
			var a schemas.App
			if err = json.Unmarshal(rec.Data, &a); err == nil {
				id = a.ID
				if _, err = store.CreateApp(ctx, &a, nil); errors.Is(err, storage.ErrConflict) {
					if _, gerr := store.GetApp(ctx, a.ID); gerr == nil {
						err, skipped = nil, true
					}
				}
			}
		case recGroup:
			var g schemas.Group
			if err = json.Unmarshal(rec.Data, &g); err == nil {
				id = g.ID
				if _, err = store.CreateGroup(ctx, &g, nil); errors.Is(err, storage.ErrConflict) {
					if _, gerr := store.GetGroup(ctx, g.ID); gerr == nil {
						err, skipped = nil, true
					}
				}
			}
		case recUser:
			if !usersOpen {
				users = make(chan userLine, workers)
				usersOpen = true
				startWorkers()
			}
			select {
			case users <- userLine{b: rec.Data}: // a fresh slice per line (json.RawMessage copies)
			case <-ctx.Done():
				return st, ctx.Err()
			}
			continue
		case recAPIToken:
			var t schemas.APIToken
			if err = json.Unmarshal(rec.Data, &t); err == nil {
				id = t.ID
				if err = store.CreateAPIToken(ctx, &t, nil); errors.Is(err, storage.ErrConflict) {
					if _, gerr := store.FindAPIToken(ctx, t.Hash); gerr == nil {
						err, skipped = nil, true
					}
				}
			}
		case recEvent:
			var e schemas.Event
			if err = json.Unmarshal(rec.Data, &e); err == nil {
				id = e.ID
				if err = store.AppendEvent(ctx, &e); errors.Is(err, storage.ErrConflict) {
					err, skipped = nil, true // the same id: written by an earlier run
				}
			}
		default:
			err = fmt.Errorf("line %d: unknown record type %q", line, rec.Type)
		}
		st.add(rec.Type, err, skipped, id)
		bar.add(1)
	}
	if line == 0 {
		return st, formatError{errors.New("empty input: not a scimd export")}
	}
	flushUsers()
	return st, sc.Err()
}
