package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
	"github.com/scimd/scimd/storage/storagetest"
)

// benchExport is an export of n users with bcrypt hashes (as a migration
// brings them), made in memory: storagetest.NewUser's realistic users, as
// internal/genexport writes them for the measurements at scale.
func benchExport(b *testing.B, n int) []byte {
	b.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.Encode(record{Type: recHeader, Data: mustJSON(exportHeader{Format: exportFormat, Version: 1, Counts: map[string]int{recUser: n}})})
	for i := range n {
		u := storagetest.NewUser(i)
		u.Password = &schemas.PasswordCredential{Hash: "$2a$04$rix0i6k8bR6zuyikzwrQaOmIlhLcfF748eysgKbYDE13EcwhXSZPC", Updated: u.Created}
		enc.Encode(record{Type: recUser, Data: mustJSON(u)})
	}
	return buf.Bytes()
}

// benchUsers is the number of users of the import and export benchmarks
// (SCIMD_BENCH_USERS overrides it, e.g. 100000 to profile at that size).
func benchUsers(b *testing.B) int {
	if v := os.Getenv("SCIMD_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("SCIMD_BENCH_USERS=%q: want a positive number", v)
		}
		return n
	}
	return 20000
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkImportUsers imports 20,000 users with password hashes into a
// fresh embedded store (as `scimd import` does); users/s is the figure to
// compare with the 20,000 users/s target.
func BenchmarkImportUsers(b *testing.B) {
	n := benchUsers(b)
	data := benchExport(b, n)
	for b.Loop() {
		b.StopTimer()
		s, err := embedded.OpenWithOptions(b.TempDir(), embedded.Options{NoSync: os.Getenv("NOSYNC") != ""})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := importRecords(context.Background(), s, bytes.NewReader(data), io.Discard, defaultImportWorkers)
		if err != nil || st.created[recUser] != n {
			b.Fatalf("import: %v, %v", err, st.errs)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
}

// BenchmarkExportUsers exports 20,000 users from an embedded store; compare
// users/s with the 50,000 users/s target.
func BenchmarkExportUsers(b *testing.B) {
	n := benchUsers(b)
	s, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := importRecords(context.Background(), s, bytes.NewReader(benchExport(b, n)), io.Discard, defaultImportWorkers); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := export(context.Background(), s, io.Discard, io.Discard, false, false, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
}
