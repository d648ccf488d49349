package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded/internal/wal"
)

// FileName is the name of the database file inside the data directory.
const FileName = "scimd.db"

// formatVersion is the version of the file layout, stored in the meta bucket.
// Version "1" kept each user's version and group ids in its JSON record and
// had no index buckets (every index was rebuilt in memory at open); Open
// migrates such a file to the current one (see migrateV1: in chunks,
// resumable). Version "2" (trigram postings keyed trigram first) existed only
// during development. Version "3" had three more unique user indexes
// (ix.userName, ix.email, ix.phone) holding the keys ix.login holds; Open
// migrates it in one transaction (see migrateV3). Version 4 also keeps each
// user's membership count in userGroups (memberKey; a file without it reads
// as 0). Version 5 has the pendingPosts bucket (the search index's postings
// not yet written into the postings bucket): a binary of version 4 would
// read the postings without it, and its writes would leave the pending rows
// stale, so it must refuse the file; Open migrates a version-4 file by
// creating the bucket, empty, and writing the version. Version 6 keeps a
// user's record version in its record (userCodecV2) instead of the
// userVersions bucket, which it no longer has: a write of a user touches
// one bucket and one page fewer. Open migrates a version-5 file (and a
// version-3 or -4 file after bringing it to 5) with migrateV5: in chunks,
// resumable. Version 7 has one event index (ix.events) where 6 had two
// (ix.eventTarget, ix.eventActor): Open copies those into it
// (mergeEventIndexesV6: in chunks, resumable). Version 8 has the memberLag
// bucket (membership changes not yet in userGroups, memberlag.go): a binary
// of version 7 would read a user's groups and version from userGroups
// alone, so it must refuse the file; Open migrates a version-7 file by
// creating the bucket, empty — no lag — and writing the version (older
// files get the bucket the same way, in the first step). Version 9 seals
// audit events into compressed blocks (eventBlocks, eventBlockEnds and the
// block lists of ix.events; eventblocks.go): a binary of version 8
// would list only the tail of the log, so it must refuse the file; Open
// migrates a version-8 file by creating the two buckets, empty — its whole
// log is the tail — and writing the version: the writer seals that tail
// over time as it seals new events (older files get the buckets the same
// way, in the first step). A file of any other version is refused.
const formatVersion = "9"

// formatV1, formatV3, formatV4, formatV5, formatV6, formatV7 and formatV8
// are the layouts Open migrates from.
const (
	formatV1 = "1"
	formatV3 = "3"
	formatV4 = "4"
	formatV5 = "5"
	formatV6 = "6"
	formatV7 = "7"
	formatV8 = "8"
)

// ErrClosed is returned by every method of a Store after Close.
var ErrClosed = errors.New("embedded: store is closed")

var (
	bucketMeta   = []byte("meta")
	bucketUsers  = []byte("users")
	bucketGroups = []byte("groups")
	bucketApps   = []byte("apps")
	bucketTokens = []byte("tokens")
	bucketEvents = []byte("events")
	// Portal administrators and their sessions are read from the file (they
	// are few, and read once per portal request), never kept in memory.
	bucketAdmins   = []byte("admins")
	bucketSessions = []byte("sessions")

	// Users live only in the file (since format 2). Next to their records:
	// their memberships in both directions and their application
	// assignments (pairKey(a, b) → empty), and one bucket per unique user
	// index (normalized value → id). Formats 2 to 5 also had userVersions
	// (id → the record's version, 8 bytes big-endian), which migrateV5 moves
	// into the records.
	bucketUserVersions = []byte("userVersions")
	bucketUserGroups   = []byte("userGroups")   // pairKey(user, group)
	bucketGroupMembers = []byte("groupMembers") // pairKey(group, user)
	bucketAppUsers     = []byte("appUsers")     // pairKey(app, user)
	// Every email value of every user, folded: pairKey(schemas.Fold(value), user).
	// Added within format 3: Open builds it when the meta bucket lacks
	// keyEmailsIndexed (see indexAllEmails).
	bucketUserEmails = []byte("ix.emails")
	// The unique user indexes that are buckets: externalId and the login
	// identifiers (userName, primary email and primary phone, one key space;
	// see loginKind).
	bucketUserIndex = [numKinds][]byte{
		kExtID: []byte("ix.externalId"),
		kLogin: []byte("ix.login"),
	}
	// bucketLoginClash holds the userName, email and phone keys (kind byte,
	// key → id) that ix.login gives to another user: clashes stored before
	// login identifiers were unique, kept by migrateV3. Empty in any file
	// written since.
	bucketLoginClash = []byte("ix.loginClash")
	// bucketsV3 are the indexes of format 3 that migrateV3 drops.
	bucketsV3 = map[uniqueKind][]byte{kUserName: []byte("ix.userName"), kEmail: []byte("ix.email"), kPhone: []byte("ix.phone")}

	keyUserCount   = []byte("userCount") // 8-byte big-endian number of users
	keyFormat      = []byte("format")
	keySigningKeys = []byte("signingKeys")
	keyProbe       = []byte("writeProbe") // written by Ping after a failed commit
)

// lockTimeout is how long Open waits for the file lock held by another process.
const lockTimeout = time.Second

var _ storage.Store = (*Store)(nil)

// Options are the knobs of OpenWithOptions. The zero value is the default.
type Options struct {
	// NoSync skips the fsync of every commit. A crash of the machine (not only
	// of the process) may then lose acknowledged writes or corrupt the file.
	// It exists for benchmarks and bulk loads only; never set it in production.
	NoSync bool
	// MaxSize caps the size of the database file in bytes; zero means no cap.
	// When the overlay's apply would grow the file beyond it, it fails as on a
	// full disk: Ping fails (storage.ErrUnavailable) until an apply succeeds
	// again, and once the overlay has grown to its stall size meanwhile,
	// writes fail with an error wrapping storage.ErrUnavailable (nothing of
	// them written) instead of waiting.
	MaxSize int
	// OnCommit, when set, is called by the writer after each committed
	// transaction with the number of writes it held (metrics: batch sizes).
	OnCommit func(writes int)
	// keepLag stops the idle writer from draining the membership lag
	// (memberlag.go) and from sealing audit events (eventblocks.go): tests
	// read memberships through the lag, and Compact copies a file nothing
	// writes meanwhile.
	keepLag bool
	// seal are the knobs of sealing audit events (zero: the defaults).
	seal sealOptions
	// OverlayBytes is the size of the overlay's table of writes not yet in
	// the file at which the writer hands it to the applier (overlay.go);
	// writes wait for the applier when the next table reaches four times
	// it. Zero means 32 MiB (and 128 MiB). Smaller makes the file catch up
	// sooner and bounds the memory lower, at the cost of more, smaller
	// bbolt transactions.
	OverlayBytes int
	// SearchCacheBytes is the most the search cache (copies of the index
	// values substring searches read, postcache.go) holds: zero means
	// DefaultSearchCacheBytes, a negative number none (every search reads
	// the file).
	SearchCacheBytes int
	// MappedBytes is how much of the file's mapped pages the process may
	// keep resident before the store drops its mappings (maptrim.go): zero
	// means DefaultMappedBytes, a negative number never (the kernel alone
	// decides, and the RSS grows with the part of the file read).
	MappedBytes int
}

// Store is the embedded storage backend: a bbolt file, with users read from it
// on demand and the few groups, applications and tokens decoded in memory. It
// is safe for concurrent use.
type Store struct {
	dir string
	db  *bolt.DB

	// mu guards the committed in-memory state below. Readers take it shared;
	// the writer goroutine takes it exclusively only to apply a committed batch.
	// The writer goroutine also reads the state without mu: it is the only
	// goroutine that changes it.
	mu     sync.RWMutex
	closed bool
	// shut is set by Close before the file closes: user reads, which run in
	// their own read transactions without mu, check it.
	shut atomic.Bool

	groups     map[string]*schemas.Group
	groupOrder []*schemas.Group

	apps   map[string]*schemas.App
	tokens map[string]*schemas.APIToken

	keys    []*schemas.SigningKey
	keysVer int64 // bumped by every UpdateSigningKeys, for compare-and-swap

	// idx are the unique indexes of groups, apps and tokens: normalized value
	// → id, one map per uniqueKind. The user indexes are buckets of the file.
	idx [numKinds]map[string]string
	// clashFree is set by Open when ix.loginClash is empty, as in every file
	// written since login identifiers are unique: nothing adds a clash after
	// migrateV3, so the users of every transaction skip that bucket.
	clashFree bool

	// writeErr holds the failure of the last commit (nil after a successful
	// one) and when it happened: Ping reports it.
	writeErr atomic.Pointer[writeFailure]

	onCommit func(writes int)
	keepLag  bool // Options.keepLag
	// sealer is the writer's state of sealing audit events (eventblocks.go).
	sealer sealer

	// opBufs are the writer's two buffers of posting changes (a flush's
	// changes and the radix sort's scratch), kept from batch to batch: a
	// batch of creates fills hundreds of thousands, which growing anew each
	// time cost the writer more than sorting them. Only the writer uses them.
	opBufs [2][]postOp
	// sortBuf is the writer's buffer of sort-index changes (batch.sorts),
	// kept from batch to batch as opBufs are: each batch grew it anew,
	// about six allocations for a single write.
	sortBuf sortWrites

	// pendRows are the rows pendingPosts holds (see the search index),
	// ascending: read at open, then kept by the writer goroutine alone
	// (a batch's finishSearch builds the next list in pendSpare), so that
	// neither a write nor a flush looks them up in the bucket — whose walk
	// in the overlay steps over every row flushed since the last apply.
	pendRows, pendSpare []uint32
	// lagged is the number of membership lag entries (memberlag.go), which
	// the writer drains when idle: read at open, then kept by the writer.
	lagged int
	// drainedTo is the lag entry the writer's last drain chunk ended at,
	// where the next one begins (batch.drainLag). Only the writer uses it.
	drainedTo lagPosition

	// The overlay (overlay.go): its tables (replaced under ovMu), the
	// highest committed sequence number, the writer's last used one and its
	// staging, the log (its calls under walMu), and the applier's channels.
	ov          atomic.Pointer[ovState]
	ovMu        sync.Mutex
	committed   atomic.Uint64
	seq         uint64
	ww          walWriter
	wtx         writerTx // the writer's kept transaction (writer.go)
	log         *wal.Log
	walMu       sync.Mutex
	applyReq    chan struct{}
	appliedSig  chan struct{}
	applierDone chan struct{}
	// applyErr holds the failure of the applier's last apply (nil after a
	// successful one): Ping reports it.
	applyErr atomic.Pointer[writeFailure]
	// freezeBytes and stallBytes are overlayFreezeBytes and
	// overlayStallBytes, or what Options.overlayBytes makes them.
	freezeBytes, stallBytes int

	// vocab is the vocabulary of the searched attributes (vocab.go);
	// vocabDone is closed when buildVocabulary has returned.
	vocab     *vocabulary
	vocabDone chan struct{}
	// trimDone is closed when trimMap has returned; mapCheck (one slot)
	// asks it to look at the mapped pages now (checkMap).
	trimDone chan struct{}
	mapCheck chan struct{}
	// maps are the block maps searches learn (blockmaps.go); newPairs is
	// the writer's buffer of the keys a flush posts in new blocks.
	maps     *blockMaps
	newPairs []uint64
	// posts is the cache of the posting values searches read (postcache.go).
	posts *postCache

	reqs      chan *request
	quit      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// initialMmapSize is bbolt's InitialMmapSize (see OpenWithOptions).
const initialMmapSize = 1 << 30

// Open opens (creating it if needed) the store in dir. The directory is created
// with mode 0700 if it does not exist. Only one process may have a data
// directory open; Open fails after about a second if another process holds it.
func Open(dir string) (*Store, error) { return OpenWithOptions(dir, Options{}) }

// OpenWithOptions is Open with non-default options.
func OpenWithOptions(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: open %s: create data directory: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	bopts := &bolt.Options{
		Timeout:      lockTimeout,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
		// The free list is written with every commit, so that Open reads it
		// instead of walking every page of the file to rebuild it: that walk
		// took seconds and made the whole file resident at a million users.
		// Its cost is a commit that sorts and writes it whole: small in a file
		// grown by ordinary writes, large after a migration, which is why
		// Open compacts a file it migrated (compactAfterMigration).
		NoFreelistSync: false,
		MaxSize:        opts.MaxSize,
	}
	if opts.MaxSize == 0 {
		// The map starts at 1 GiB of address space (no memory until pages
		// are read): growing it remaps the file, which makes bbolt copy
		// every key and value of the transaction's nodes off the old map
		// (node.dereference: 70 % of a create's allocations when a large
		// apply grew a small file) and wait for every read transaction.
		// Not with MaxSize, which bbolt checks only when it remaps.
		bopts.InitialMmapSize = initialMmapSize
	}
	db, err := bolt.Open(path, 0o600, bopts)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, inUseError(path, dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	s := &Store{
		dir:       dir,
		db:        db,
		onCommit:  opts.OnCommit,
		keepLag:   opts.keepLag,
		sealer:    newSealer(opts.seal),
		groups:    make(map[string]*schemas.Group),
		apps:      make(map[string]*schemas.App),
		tokens:    make(map[string]*schemas.APIToken),
		reqs:      make(chan *request, maxBatch),
		quit:      make(chan struct{}),
		stopped:   make(chan struct{}),
		vocab:     newVocabulary(vocabBits),
		vocabDone: make(chan struct{}),
		trimDone:  make(chan struct{}),
		mapCheck:  make(chan struct{}, 1),
		maps:      newBlockMaps(),
		posts:     newPostCache(opts.SearchCacheBytes),
	}
	for k := range s.idx {
		s.idx[k] = make(map[string]string)
	}
	log, seq, err := openLog(db, dir)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	s.log, s.seq = log, seq
	s.freezeBytes, s.stallBytes = overlayFreezeBytes, overlayStallBytes
	if opts.OverlayBytes > 0 {
		s.freezeBytes, s.stallBytes = opts.OverlayBytes, 4*opts.OverlayBytes
	}
	s.committed.Store(seq)
	s.ov.Store(&ovState{active: s.newTable(), applied: seq})
	s.applyReq, s.appliedSig, s.applierDone = make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{})
	migrating, err := migrates(db)
	if err == nil {
		err = s.init()
	}
	if err != nil {
		log.Close()
		db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	if migrating {
		if s.db, err = compactAfterMigration(db, path, bopts); err != nil {
			return nil, fmt.Errorf("embedded: open %s: the file was migrated to format %s but compacting it failed "+
				"(the next start opens it uncompacted; `scimd compact` compacts it offline): %w", path, formatVersion, err)
		}
	}
	if err := s.load(); err != nil {
		log.Close()
		s.db.Close()
		return nil, fmt.Errorf("embedded: open %s: load: %w", path, err)
	}
	go s.applier()
	go s.run()
	go s.buildVocabulary()
	go s.trimMap(opts.MappedBytes)
	return s, nil
}

// init creates the buckets and checks the format version, migrating a file
// of an older format (see formatVersion) step by step to the current one.
func (s *Store) init() error {
	// A current file needs no write at open, and gets none: every Update
	// commits (free list, meta page, fsync) even when it changes nothing, and
	// the steps below are one Update each.
	var current bool
	if err := s.db.View(func(tx *bolt.Tx) error { current = isCurrent(tx); return nil }); err != nil {
		return err
	}
	if current {
		return nil
	}
	var from []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			from = bytes.Clone(meta.Get(keyFormat))
		}
		switch string(from) {
		case "", formatVersion, formatV1, formatV3, formatV4, formatV5, formatV6, formatV7, formatV8:
		default:
			return fmt.Errorf("unsupported file format version %q (this scimd reads %q and migrates %q, %q, %q, %q, %q, %q and %q)",
				from, formatVersion, formatV1, formatV3, formatV4, formatV5, formatV6, formatV7, formatV8)
		}
		if err := createBuckets(tx); err != nil {
			return err
		}
		switch string(from) {
		case formatV4: // the bucket it lacked is created; then migrateV5
			return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV5))
		case formatV7, formatV8: // memberLag (7), the event blocks (8 and 7) are created, empty
			return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatVersion))
		}
		if from == nil {
			meta := tx.Bucket(bucketMeta)
			if err := meta.Put(keyEmailsIndexed, present); err != nil {
				return err
			}
			if err := meta.Put(keyEventsIndexed, present); err != nil {
				return err
			}
			if err := meta.Put(keySearchFormat, []byte(searchFormat)); err != nil {
				return err
			}
			return meta.Put(keyFormat, []byte(formatVersion))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if string(from) == formatV1 {
		if _, err := migrateV1(s.db); err != nil {
			return fmt.Errorf("migrate file format %s to %s: %w", formatV1, formatVersion, err)
		}
		err := s.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if err := meta.Delete(keyMigrated); err != nil {
				return err
			}
			if err := meta.Put(keyEmailsIndexed, present); err != nil { // migrateV1 wrote it
				return err
			}
			if err := meta.Put(keySearchFormat, []byte(searchFormat)); err != nil { // and the search index
				return err
			}
			return meta.Put(keyFormat, []byte(formatVersion))
		})
		if err != nil {
			return err
		}
	}
	if err := indexAllEmails(s.db); err != nil {
		return fmt.Errorf("index every email: %w", err)
	}
	if err := mergeEventIndexesV6(s.db); err != nil {
		return fmt.Errorf("migrate the event indexes of format %s: %w", formatV6, err)
	}
	if err := indexAllEvents(s.db); err != nil {
		return fmt.Errorf("index the audit events: %w", err)
	}
	if string(from) == formatV3 {
		if err := s.db.Update(migrateV3); err != nil {
			return fmt.Errorf("migrate file format %s to %s: %w", formatV3, formatVersion, err)
		}
	}
	if err := rebuildSearch(s.db); err != nil {
		return fmt.Errorf("rebuild the search index: %w", err)
	}
	if err := migrateV5(s.db); err != nil {
		return fmt.Errorf("migrate file format %s to %s: %w", formatV5, formatV6, err)
	}
	if err := boundRows(s.db); err != nil {
		return fmt.Errorf("bound the ids of the search blocks: %w", err)
	}
	// Format 6 to 9: its event indexes were merged above, memberLag created
	// (empty) by the first step.
	return s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if string(meta.Get(keyFormat)) != formatV6 {
			return nil
		}
		return meta.Put(keyFormat, []byte(formatVersion))
	})
}

// keyRecordVersions (meta) says that migrateV5 wrote every user's version
// into its record; keyRecordVersionsTo is the last user it did (its
// progress, see inChunks).
var (
	keyRecordVersions   = []byte("recordVersions")
	keyRecordVersionsTo = []byte("recordVersionsUpTo")
)

// migrateV5 brings a file of format 5 to the current format (it does
// nothing to any other; the buckets format 5 lacks besides, such as
// memberLag, were created empty before it runs): it rewrites each user record of codec userCodecV1 as a
// userCodecV2 record holding the version the userVersions bucket held for
// the user, in transactions of migrateChunk users that each record how far
// they got (inChunks), so that a crash resumes it; then, in one last
// transaction, it deletes userVersions and writes the format.
func migrateV5(db *bolt.DB) error {
	var is5 bool
	if err := db.View(func(tx *bolt.Tx) error {
		is5 = string(tx.Bucket(bucketMeta).Get(keyFormat)) == formatV5
		return nil
	}); err != nil || !is5 {
		return err
	}
	err := inChunks(db, keyRecordVersions, keyRecordVersionsTo, func(tx *bolt.Tx) (*kvBucket, func(k, v []byte) error) {
		recs, versions := tx.Bucket(bucketUsers), tx.Bucket(bucketUserVersions)
		recs.FillPercent = fileBucketSpecs[fbUsers].fill
		return rawBucket(recs), func(id, rec []byte) error {
			if len(rec) == 0 || rec[0] != userCodecV1 {
				return fmt.Errorf("user %s: not a record of format %s (first byte %#x)", id, formatV5, rec[:min(1, len(rec))])
			}
			var version []byte
			if versions != nil {
				version = versions.Get(id)
			}
			nu := make([]byte, recordHeader, recordHeader+len(rec)-1)
			nu[0] = userCodecV2
			setRecordVersion(nu, decodeVersion(version))
			return recs.Put(id, append(nu, rec[1:]...))
		}
	})
	if err != nil {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketUserVersions); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Delete(keyRecordVersions); err != nil {
			return err
		}
		return meta.Put(keyFormat, []byte(formatV6))
	})
}

// migrateV3 drops the userName, email and phone indexes of a format-3 file:
// ix.login holds the same keys. A key whose owner there is another user (a
// clash stored before login identifiers were unique) is kept in
// ix.loginClash, so that it still finds its user. One transaction: a crash
// leaves the file in format 3, and the next Open migrates it again.
func migrateV3(tx *bolt.Tx) error {
	login := tx.Bucket(bucketUserIndex[kLogin])
	clash := tx.Bucket(bucketLoginClash)
	for kind, name := range bucketsV3 {
		old := tx.Bucket(name)
		if old == nil {
			continue
		}
		err := old.ForEach(func(k, id []byte) error {
			if bytes.Equal(login.Get(k), id) {
				return nil
			}
			return clash.Put(clashKey(kind, string(k)), bytes.Clone(id))
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketMeta).Put(keyFormat, []byte(formatV5)) // then migrateV5
}

// createBuckets creates every bucket of the file that does not exist yet.
func createBuckets(tx *bolt.Tx) error {
	for _, name := range fileBuckets() {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// formatCurrent reports whether the file, of meta, is of formatVersion
// and its email, event and search indexes of the current layouts, complete:
// what the records of a log of this format assume (openLog). What a binary
// of the same format may lack — the idBounds bucket and the bounds of its
// rows, added within format 9 — the replay creates (the bucket) and init
// adds (the bounds).
func formatCurrent(meta *bolt.Bucket) bool {
	return meta != nil && string(meta.Get(keyFormat)) == formatVersion && meta.Get(keyEmailsIndexed) != nil &&
		meta.Get(keyEventsIndexed) != nil && string(meta.Get(keySearchFormat)) == searchFormat
}

// isCurrent reports whether the file needs nothing of init: it is of the
// current format (formatCurrent), has every bucket, and its rows are in
// their blocks' id bounds.
func isCurrent(tx *bolt.Tx) bool {
	meta := tx.Bucket(bucketMeta)
	if !formatCurrent(meta) || !rowsBounded(meta) {
		return false
	}
	for _, name := range fileBuckets() {
		if tx.Bucket(name) == nil {
			return false
		}
	}
	return true
}

// load decodes the groups, applications, tokens and signing keys into memory
// and lists the pending search rows.
// Users stay in the file: nothing about them is read at open.
func (s *Store) load() error {
	return s.db.View(func(tx *bolt.Tx) error {
		var err error
		if s.pendRows, err = pendingRows(rawBucket(tx.Bucket(bucketPending))); err != nil {
			return err
		}
		var lag lagIndex
		if err := decodeLagIndex(tx.Bucket(bucketUserGroups).Get(lagIndexKey), &lag); err != nil {
			return err
		}
		s.lagged = lag.total
		groups, err := decodeAll(rawBucket(tx.Bucket(bucketGroups)), decodeGroup)
		if err != nil {
			return fmt.Errorf("groups: %w", err)
		}
		for _, g := range groups {
			s.groups[g.ID] = g
			s.groupOrder = append(s.groupOrder, g)
			s.indexGroup(g.ID, nil, g)
		}
		apps, err := decodeAll(rawBucket(tx.Bucket(bucketApps)), decodeApp)
		if err != nil {
			return fmt.Errorf("apps: %w", err)
		}
		for _, a := range apps {
			s.apps[a.ID] = a
			s.indexApp(a.ID, nil, a)
		}
		tokens, err := decodeAll(rawBucket(tx.Bucket(bucketTokens)), decodeToken)
		if err != nil {
			return fmt.Errorf("api tokens: %w", err)
		}
		for _, t := range tokens {
			s.tokens[t.ID] = t
			s.indexToken(t.ID, nil, t)
		}
		if b := tx.Bucket(bucketMeta).Get(keySigningKeys); b != nil {
			if s.keys, err = decodeKeys(b); err != nil {
				return fmt.Errorf("signing keys: %w", err)
			}
		}
		k, _ := tx.Bucket(bucketLoginClash).Cursor().First()
		s.clashFree = k == nil
		return nil
	})
}

// decodeAll decodes every value of the bucket, in key order, on all CPUs.
func decodeAll[T any](b *kvBucket, decode func([]byte) (T, error)) ([]T, error) {
	var raw [][]byte // valid for the read transaction
	var keys [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		keys = append(keys, k)
		raw = append(raw, v)
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]T, len(raw))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(raw)/256))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(raw); i += workers {
				v, err := decode(raw[i])
				if err != nil {
					errs[w] = fmt.Errorf("record %q: %w", keys[i], err)
					return
				}
				out[i] = v
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Close stops the writer, waits for the write in progress, and closes the file.
// Writes that were queued but not started fail with ErrClosed. Every method
// returns ErrClosed afterwards.
func (s *Store) Close() error {
	err := ErrClosed
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.stopped
		<-s.vocabDone
		<-s.trimDone
		close(s.applyReq)
		<-s.applierDone
		// Every committed write into the file, so that the log is empty and
		// the next Open reads the file alone. Readers may still be reading:
		// the file closes after them.
		applyErr := s.applyAll()
		s.shut.Store(true)
		s.posts.drop()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		err = errors.Join(applyErr, s.log.Close(), s.db.Close())
		if err != nil {
			err = fmt.Errorf("embedded: close %s: %w", s.dir, err)
		}
	})
	return err
}

// writeFailure is a failed commit.
type writeFailure struct {
	err error
	at  time.Time
}

// probeAfter is how long Ping reports a failed commit before it tries a write
// of its own to see whether the condition has passed.
const probeAfter = 5 * time.Second

// Ping reports whether the store is open, its file readable and writable. It
// fails with the error of the last commit when that failed (a full disk, an
// I/O error); once that is older than probeAfter, it commits a small probe
// write and reports its outcome instead, so that the store recovers its
// readiness without other traffic.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f := s.applyErr.Load(); f != nil {
		return f.err
	}
	if f := s.writeErr.Load(); f != nil {
		if time.Since(f.at) < probeAfter {
			return f.err
		}
		probe := []byte(time.Now().UTC().Format(time.RFC3339Nano))
		if err := s.submit(func(b *batch) error { b.staged++; return b.u.bucket(fbMeta).Put(keyProbe, probe) }); err != nil {
			return err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("embedded: ping %s: meta bucket missing", s.dir)
		}
		return nil
	})
}

// rlock takes the read lock and reports ErrClosed (releasing it) after Close.
func (s *Store) rlock() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// findGroupIndex returns the position of id in order, or where it would go.
func findGroupIndex(order []*schemas.Group, id string) (int, bool) {
	return slices.BinarySearchFunc(order, id, func(g *schemas.Group, id string) int {
		switch {
		case g.ID < id:
			return -1
		case g.ID > id:
			return 1
		}
		return 0
	})
}
