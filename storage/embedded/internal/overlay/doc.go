// Package overlay is the embedded store's in-memory, versioned overlay of its bbolt file:
// writes land in a Table (after the write-ahead log made them durable), readers merge the
// Table's Views over a bbolt cursor with Merged, and a background step applies the Table to
// bbolt in large transactions (Entries) and then drops it.
//
// # Table
//
// A Table is a skiplist in the style of the LevelDB/Pebble memtables: insert-only, one
// writer, any number of lock-free readers. Every Put adds a node — one version of one key
// in one bucket — ordered by (bucket, key) and, within a key, newest first: a new version
// is linked in front of the older ones, so a lookup stops at the first version its View
// sees. A node's tower has a random height (p = 1/4, at most 16 levels). The writer fills
// in a node completely, then publishes it with atomic stores of the links, bottom level
// first; readers follow links with atomic loads, so a reader sees either the list before
// or after an insert, never a half-written node.
//
// Memory comes from arenas the writer owns: nodes from chunks of 4096 (a node holds a
// 15-byte key prefix and its first 4 tower links, so a search step reads one cache line;
// the 1 in 256 taller towers take the rest from chunks of 4096 links), key and value bytes
// from 1 MiB chunks (an entry larger than a quarter of that gets its own allocation). Nothing is ever freed or reused while the Table lives;
// the garbage collector reclaims a dropped Table once no reader holds a View or a slice of
// it. Put therefore allocates only when a chunk fills up.
//
// A Table may carry a Bloom filter of its keys (New's filterBytes; one 64-bit word per key,
// 4 bits of it, set by the writer before it publishes the node): View.Get of a key the filter
// rules out — in the store most lookups are of keys only the file holds — costs a hash and
// one load instead of a search.
//
// Abort(seq) does not touch the nodes: it adds seq to a small copy-on-write set of aborted
// seqs that every reader consults, so an aborted batch disappears atomically from every
// View at once.
//
// # Views and Merged
//
// A View is (table, low, high]: the versions with low < seq ≤ high that are not aborted,
// the newest per key. The store stacks at most two (the active table over the frozen one
// being applied) over the bbolt bucket; Merged iterates the stack as one bbolt cursor would
// iterate the merged state, tombstones hiding older layers. Merged keeps one position per
// layer and moves only the layers it must; each view remembers the table's generation (a
// counter bumped by every Put and Abort) when it computed its position and searches again
// from the current key when the table has changed, so iterating while the writer puts is
// safe and its outcome is stated exactly (see Merged).
package overlay
