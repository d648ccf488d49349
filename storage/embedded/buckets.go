package embedded

import bolt "go.etcd.io/bbolt"

// fileBucket names one bucket of the file (see fileBucketSpecs).
type fileBucket uint8

const (
	fbMeta fileBucket = iota
	fbUsers
	fbGroups
	fbApps
	fbTokens
	fbEvents
	fbAdmins
	fbSessions
	fbLoginFailures
	fbUserGroups
	fbGroupMembers
	fbMemberLag
	fbAppUsers
	fbUserRows
	fbSearchRecords
	fbPostings
	fbPending
	fbSortKeys
	fbUserEmails
	fbLoginClash
	fbEventIndex
	fbEventBlocks
	fbEventBlockEnds
	// fbIndex + kind is the unique user index of kind, for the kinds that
	// are buckets (bucketUserIndex); the other slots have no bucket.
	fbIndex
	// fbIDBounds comes after the index kinds: the log names buckets by
	// number (overlay.go), so a bucket added later takes a new one.
	fbIDBounds     = fbIndex + fileBucket(numKinds)
	numFileBuckets = fbIDBounds + 1
)

// bucketSpec is a bucket of the file and the fill of its pages (bbolt's
// FillPercent; 0: bbolt's default, half-full splits) for the writes of the
// running store. Buckets whose keys are time-ordered (ids, event keys, search
// rows) get new keys at the end: full pages waste less of the file. The
// event index gets 0.7: its target entries land all over it (an event's
// target is any user), and a page split at 0.9 leaves a 90 % page that the
// next insert splits again and a near-empty one, so that at 0.9 a year of
// events took 266 B an event in it, at 0.7 216 B (0.5: 249; compacted: 140;
// BenchmarkAuditYear). The events bucket stays at 0.9, not 1.0: events of
// concurrent writes can commit slightly out of time order, and a full page
// split by one late key leaves a page of one.
type bucketSpec struct {
	name []byte
	fill float64
}

// fileBucketSpecs is every bucket of a current file.
var fileBucketSpecs = func() [numFileBuckets]bucketSpec {
	s := [numFileBuckets]bucketSpec{
		fbMeta:          {bucketMeta, 0},
		fbUsers:         {bucketUsers, 0.9},
		fbGroups:        {bucketGroups, 0.9},
		fbApps:          {bucketApps, 0},
		fbTokens:        {bucketTokens, 0},
		fbEvents:        {bucketEvents, 0.9},
		fbAdmins:        {bucketAdmins, 0},
		fbSessions:      {bucketSessions, 0},
		fbLoginFailures: {bucketLoginFailures, 0},
		fbUserGroups:    {bucketUserGroups, 0},
		fbGroupMembers:  {bucketGroupMembers, 0},
		fbMemberLag:     {bucketMemberLag, 0},
		fbAppUsers:      {bucketAppUsers, 0},
		fbUserRows:      {bucketUserRows, 0.9},
		fbSearchRecords: {bucketSearchRecords, 0.9},
		fbPostings:      {bucketPostings, 0},
		fbPending:       {bucketPending, 0},
		fbSortKeys:      {bucketSortKeys, 0},
		fbUserEmails:    {bucketUserEmails, 0},
		fbLoginClash:    {bucketLoginClash, 0},
		fbEventIndex:    {bucketEventIndex, 0.7},
		// Blocks are sealed in key order (and sequence): appended at the
		// end; a straggler rewrites a block in place, larger.
		fbEventBlocks:    {bucketEventBlocks, 0.9},
		fbEventBlockEnds: {bucketEventBlockEnds, 0.9},
		// Blocks are written in row order: appended at the end.
		fbIDBounds: {bucketIDBounds, 0.9},
	}
	for k, n := range bucketUserIndex {
		s[fbIndex+fileBucket(k)] = bucketSpec{n, 0}
	}
	return s
}()

// fileBuckets returns the names of every bucket of a current file.
func fileBuckets() [][]byte {
	var names [][]byte
	for _, s := range fileBucketSpecs {
		if s.name != nil {
			names = append(names, s.name)
		}
	}
	return names
}

// txBuckets opens the buckets of one transaction on first use and keeps
// them, with their fill (fileBucketSpecs) in a write transaction. Opening a
// bucket allocates (about seven times in a write transaction, and again at
// every tx.Bucket in a read one), and a read or a write touches a few of the
// file's twenty-odd buckets: a read by id three, a user PATCH about a dozen.
// Not safe for concurrent use. A bucket deleted and created again in the
// transaction must not have been opened before.
type txBuckets struct {
	tx *bolt.Tx
	// ov is the overlay this transaction reads over the file (none, as in
	// Open's transactions and the overlay's apply, when it has no view), w
	// where the writer's batch writes (nil: into tx, which is then writable).
	ov   ovView
	w    *walWriter
	open [numFileBuckets]kvBucket
}

// scratch returns an empty buffer with room for n bytes, for a key (and a
// value) built to be passed to one Put or Delete of t's buckets and kept by
// no one after it: in the writer's batch the writer's own, which the next
// call reuses (the overlay and the log copy what Put and Delete are given);
// else a new one (bbolt's Put keeps its arguments until its transaction
// ends). Longer contents grow out of it, as append does.
func (t *txBuckets) scratch(n int) []byte {
	w := t.w
	if w == nil {
		return make([]byte, 0, n)
	}
	if cap(w.scratch) < n {
		w.scratch = make([]byte, 0, max(n, 256))
	}
	return w.scratch[:0]
}

// bucket returns the bucket, or nil when the file has none.
func (t *txBuckets) bucket(i fileBucket) *kvBucket {
	if b := &t.open[i]; b.t != nil {
		if b.b == nil {
			return nil
		}
		return b
	}
	spec := fileBucketSpecs[i]
	if spec.name == nil {
		return nil
	}
	b := t.tx.Bucket(spec.name)
	if b != nil && spec.fill != 0 && t.tx.Writable() {
		b.FillPercent = spec.fill
	}
	t.open[i] = kvBucket{b: b, id: i, t: t}
	if b == nil {
		return nil
	}
	return &t.open[i]
}
