// Package wal is the write-ahead log of the embedded store: a batch of
// writes is appended to it and synced, which is the point at which the
// batch is acknowledged, and is applied to the bbolt file later; once
// applied and committed there, the log before it is released.
//
// # Format
//
// The log is a directory of segment files, each named by the seq of its
// first record as 16 lowercase hex digits and ".wal"
// (0000000000000001.wal); other files there are ignored. A segment is a
// header,
//
//	magic   uint32  little endian: 0x314c4157 ("WAL1")
//	crc     uint32  little endian: CRC-32C (Castagnoli) of prev
//	prev    uint64  little endian: seq of the last record before the segment
//
// then a sequence of records, each
//
//	length  uint32  little endian: bytes of payload, at most MaxRecord
//	crc     uint32  little endian: CRC-32C of seq and payload
//	seq     uint64  little endian: > 0, greater than the record before it
//	payload [length]byte
//
// followed by zeros up to the end of the file. The first segment a Log
// starts closes at 1 MiB, each after it at twice the size of the one
// before, up to Options.SegmentBytes. A new segment is a spare file
// (spare.tmp) that a goroutine filled with as many zeros as its size and
// synced once the segment before it was half full, renamed, so that
// appending within it overwrites blocks already written and fdatasync
// flushes data alone (on ext4, an append into blocks that fallocate
// reserved converts an unwritten extent, metadata each fdatasync journals:
// ~20 % more CPU and ~40 % more wall time per sync, BenchmarkSegmentKinds);
// when no spare is ready (the log's first segment, one after a segment
// released before it was half full, or a spare not filled in time) the
// segment is preallocated to its size on Linux (fallocate) instead, so that
// appending within it changes no file size for fdatasync to write. Each
// segment's prev is the last seq of the segment before it, so that a
// segment missing from the middle of the log is seen; the oldest segment's
// prev is not checked (the segments before it were released). The first 16
// bytes that are not a valid header or record (too short, length above
// MaxRecord or past the end of the file, seq 0, checksum mismatch) end the
// segment's records; all zeros there is a clean end.
//
// # Guarantees
//
// When Sync returns nil, every record appended before it is durable: it
// was written with pwrite and the file fdatasynced, and when the Sync
// started a segment file, the directory was fsynced after it. Such a
// record is found by Open and Replay after the process is killed at any
// moment (TestKill9 kills a writer with SIGKILL at random moments and
// checks every acknowledged seq) and, as far as the file system and disk
// honour fdatasync and fsync, after a power loss (not tested here).
//
// A crash during a Sync leaves a torn tail in the last segment: some of the
// batch's records, the last possibly cut short (or the header of a segment
// the Sync started, or part of it), or, after a power loss, garbage. Open keeps the valid records before it — which may include
// records of the interrupted batch, never acknowledged: the caller must
// accept that Replay returns records past the last one it saw acknowledged
// — and truncates the rest durably, so that what is appended next follows
// the last valid record. A last segment with no valid record is removed.
//
// Open never silently drops a record after a valid-looking gap: a bad
// record with a valid record anywhere after it in its segment, a bad
// record or an empty file in a segment that is not the last, seqs that do
// not increase, a segment whose first seq is not its name, or a segment
// whose prev is not the last seq of the one before (a segment missing),
// make Open fail with an error wrapping ErrCorrupt, and the operator
// decides.
//
// # Limits
//
//   - The oldest segments vanishing is not detected: it looks like a
//     release. A caller whose seqs are contiguous knows which seq it
//     applied last and can check that Replay starts right after it.
//   - A power loss that persists the pages of an unacknowledged multi-page
//     batch out of order (a later page on disk, an earlier one not) reads
//     as a bad record followed by a valid one: Open reports ErrCorrupt
//     although no acknowledged record was lost. This errs on the safe side.
//   - The length field is not covered by the checksum; a damaged length
//     makes the checksum over what it frames fail instead.
//   - Release does not make its last removal durable: after a crash that
//     segment may reappear; Replay(after) skips its records. The removals
//     before it are (see Release), or a reappearing older segment would not
//     link up with the newer ones.
//   - Open reads every segment whole, preallocated zeros included (about
//     20-60 ms for one 64 MiB segment, BenchmarkOpen), and Replay reads the
//     records again; memory use is one read window of 1 MiB, grown to the
//     largest record when one is larger. Append's buffer is kept across
//     Syncs up to 16 MiB.
//   - One process, one goroutine: see Log.
package wal
