package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/embedded"
)

// benchExport is an export of n users with bcrypt hashes (as a migration
// brings them), made in memory.
func benchExport(b *testing.B, n int) []byte {
	b.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.Encode(record{Type: recHeader, Data: mustJSON(exportHeader{Format: exportFormat, Version: 1, Counts: map[string]int{recUser: n}})})
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		u := &schemas.User{ID: fmt.Sprintf("0190%04x-%04x-7000-8000-%012x", i>>16, i&0xffff, i), UserName: fmt.Sprintf("user%d", i),
			Emails: []schemas.Email{{Value: fmt.Sprintf("user%d@example.org", i), Type: "work", Primary: true}},
			Name:   schemas.Name{GivenName: "U", FamilyName: fmt.Sprintf("N%d", i)}, Status: schemas.StatusActive,
			Password: &schemas.PasswordCredential{Hash: "$2a$04$rix0i6k8bR6zuyikzwrQaOmIlhLcfF748eysgKbYDE13EcwhXSZPC", Updated: t},
			Created:  t, Updated: t}
		enc.Encode(record{Type: recUser, Data: mustJSON(u)})
	}
	return buf.Bytes()
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
	const n = 20000
	data := benchExport(b, n)
	for b.Loop() {
		b.StopTimer()
		s, err := embedded.OpenWithOptions(b.TempDir(), embedded.Options{NoSync: os.Getenv("NOSYNC") != ""})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := importRecords(context.Background(), s, bytes.NewReader(data), io.Discard, 64)
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
	const n = 20000
	s, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := importRecords(context.Background(), s, bytes.NewReader(benchExport(b, n)), io.Discard, 64); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := export(context.Background(), s, io.Discard, io.Discard, false, false, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
}
