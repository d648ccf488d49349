// Command boltstats prints what each top-level bucket of a bbolt file takes:
// its keys, and the bytes its leaf and branch pages hold in use and take
// allocated (bbolt's Bucket.Stats), largest first, with the file's size —
// for measuring the composition of a data directory's scimd.db:
//
//	go run ./internal/boltstats /path/to/data/scimd.db
//
// The file is opened read-only (no server may be writing it meanwhile: a
// running one holds its lock, and boltstats then waits up to 5 s and fails).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	bolt "go.etcd.io/bbolt"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: boltstats FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "boltstats:", err)
		os.Exit(1)
	}
}

type row struct {
	name string
	st   bolt.BucketStats
}

// run writes the table of the bbolt file at path to out.
func run(out io.Writer, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	var rows []row
	var freePages, pageSize int
	err = db.View(func(tx *bolt.Tx) error {
		freePages = tx.DB().Stats().FreePageN
		pageSize = tx.DB().Info().PageSize
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			rows = append(rows, row{string(name), b.Stats()})
			return nil
		})
	})
	if err != nil {
		return err
	}
	sort.Slice(rows, func(i, j int) bool { return alloc(rows[i].st) > alloc(rows[j].st) })
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "bucket\tkeys\tleaf in use MB\tleaf alloc MB\tbranch alloc MB\talloc MB\tfill %\tB/key\t")
	var total bolt.BucketStats
	for _, r := range rows {
		total.Add(r.st)
		line(w, r.name, r.st)
	}
	line(w, "all buckets", total)
	fmt.Fprintf(w, "free pages\t\t\t\t\t%.1f\t\t\t\n", mb(freePages*pageSize))
	fmt.Fprintf(w, "file\t\t\t\t\t%.1f\t\t\t\n", mb(int(fi.Size())))
	return w.Flush()
}

func alloc(st bolt.BucketStats) int { return st.LeafAlloc + st.BranchAlloc }

func line(w *tabwriter.Writer, name string, st bolt.BucketStats) {
	fill, per := 0.0, 0.0
	if a := alloc(st); a > 0 {
		fill = 100 * float64(st.LeafInuse+st.BranchInuse) / float64(a)
	}
	if st.KeyN > 0 {
		per = float64(alloc(st)) / float64(st.KeyN)
	}
	fmt.Fprintf(w, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t\n", name, st.KeyN, mb(st.LeafInuse), mb(st.LeafAlloc),
		mb(st.BranchAlloc), mb(alloc(st)), fill, per)
}

func mb(n int) float64 { return float64(n) / 1e6 }
