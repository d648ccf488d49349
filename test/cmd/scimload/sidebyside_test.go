package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/scim"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/embedded"
)

func TestParseTarget(t *testing.T) {
	files := map[string]string{"tok": " scimd_secret\n"}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, errors.New("no such file")
	}
	for _, c := range []struct {
		in, name, base, token, err string
	}{
		{in: "scimd=http://127.0.0.1:8080/scim/v2,abc", name: "scimd", base: "http://127.0.0.1:8080/scim/v2", token: "abc"},
		{in: "peer=http://127.0.0.1:9090/scim/v2/", name: "peer", base: "http://127.0.0.1:9090/scim/v2"},
		{in: "s=https://h/scim/v2,@tok", name: "s", base: "https://h/scim/v2", token: "scimd_secret"},
		{in: "s=https://h/scim/v2,@missing", err: "token"},
		{in: "http://127.0.0.1:8080/scim/v2", err: "want name=url"},
		{in: "=http://h/", err: "want name=url"},
		{in: "s=", err: "want name=url"},
		{in: "s=ftp://h/x", err: "not an http"},
		{in: "s=127.0.0.1:8080", err: "not an http"},
	} {
		tg, err := parseTarget(c.in, read)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseTarget(%q) = %v, want an error with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseTarget(%q): %v", c.in, err)
			continue
		}
		if tg.name != c.name || tg.base != c.base || tg.token != c.token {
			t.Errorf("parseTarget(%q) = %q %q %q, want %q %q %q", c.in, tg.name, tg.base, tg.token, c.name, c.base, c.token)
		}
	}
	var l targetList
	if err := l.Set("a=http://h/"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("a=http://other/"); err == nil {
		t.Error("a second target with the same name was accepted")
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[int]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 1: time.Millisecond} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%d = %v, want %v", p, got, want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one sample = %v", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %v", got)
	}
	if d[0] != 100*time.Millisecond {
		t.Error("percentile sorted its argument in place")
	}
}

func TestFill(t *testing.T) {
	u := newGenUser("run1", 7, 42)
	got := u.fill(`userName co "{tail}" or name.familyName eq "{family}" or userName eq "{userName}" or x eq "{i}{given}" or p eq "{phone}" or e eq "{externalId}"`)
	want := `userName co "` + u.tail + `" or name.familyName eq "` + u.family + `" or userName eq "run1-` + strings.ToLower(u.given) + "." + u.tail +
		`" or x eq "42` + u.given + `" or p eq "` + phoneNumber(7, 42) + `" or e eq "run1-ext-42"`
	if got != want {
		t.Errorf("fill = %s\nwant   %s", got, want)
	}
	if !strings.HasSuffix(u.tail, ".42") {
		t.Errorf("tail %q does not end in the user's number", u.tail)
	}
	if u.phone != phoneNumber(7, 42) {
		t.Errorf("phone %q, want phoneNumber(7, 42) = %q", u.phone, phoneNumber(7, 42))
	}
}

// TestPhoneNumbers checks that the numbers of two runs are distinct and
// that a run's users share no prefix: their first three digits spread
// over most of the thousand values.
func TestPhoneNumbers(t *testing.T) {
	seen := map[string]bool{}
	firsts := map[string]bool{}
	for run := int64(7); run <= 8; run++ {
		for i := range 20000 {
			p := phoneNumber(run, i)
			if len(p) != 16 || !strings.HasPrefix(p, "+1") || strings.Trim(p[1:], "0123456789") != "" {
				t.Fatalf("phoneNumber(%d, %d) = %q, want +1 and 14 digits", run, i, p)
			}
			if seen[p] {
				t.Fatalf("phoneNumber(%d, %d) = %q, given twice", run, i, p)
			}
			seen[p] = true
			if run == 8 && i < 2000 {
				firsts[p[2:5]] = true
			}
		}
	}
	if len(firsts) < 800 {
		t.Errorf("2,000 users of a run begin with %d distinct three digits, want ≥ 800 (no shared prefix)", len(firsts))
	}
}

// TestWriteReport checks the table's figures: rate, percentiles, the ratio to
// the reference target and the failures listed under the table.
func TestWriteReport(t *testing.T) {
	targets := []*target{{name: "scimd"}, {name: "peer"}}
	phases := []phase{{name: "create"}, {name: "get"}}
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	results := []map[string]result{
		{"scimd": {n: 4, elapsed: 2 * time.Second, lat: ms(1, 2, 3, 40)}, "peer": {n: 4, elapsed: time.Second, lat: ms(1, 1, 1, 1)}},
		{"scimd": {n: 3, errs: 1, firstErr: "GET /Users/x: 500", elapsed: time.Second, lat: ms(1, 1, 2)}, "peer": {}},
	}
	var b bytes.Buffer
	writeReport(&b, targets, "peer", phases, results)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want a header, 4 rows and a failure:\n%s", len(lines), b.String())
	}
	for i, want := range [][]string{
		{"phase", "target", "n", "errors", "req/s", "p50", "p99", "×", "peer"},
		{"create", "scimd", "4", "0", "2", "2.00ms", "40.0ms", "0.50"},
		{"peer", "4", "0", "4", "1.00ms", "1.00ms", "1.00"},
		{"get", "scimd", "3", "1", "3", "1.00ms", "2.00ms", "-"}, // the reference measured nothing
		{"peer", "0", "0", "0", "-", "-", "-"},
		{"failure:", "get", "on", "scimd:", "1", "failed,", "first:", "GET", "/Users/x:", "500"},
	} {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("line %d = %q, want %q", i, got, want)
		}
	}
}

// TestSideBySideAgainstScimd runs every phase, tiny, against scimd's SCIM face
// on the embedded store: each request of each phase gets the status the phase
// expects (no figure is checked).
func TestSideBySideAgainstScimd(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := directory.New(st, directory.Options{Logger: quiet})
	ctx := context.Background()
	if err := svc.EnsureSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.CreateAPIToken(ctx, directory.System, "load", "", nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	scim.New(svc, scim.Options{PublicURL: srv.URL, Logger: quiet}).Register(mux)

	var b bytes.Buffer
	tg, err := parseTarget("scimd="+srv.URL+"/scim/v2,"+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = runSideBySide(&b, sideBySide{targets: []*target{tg}, users: 30, clients: 4, duration: 50 * time.Millisecond,
		coFilters: []string{defaultCoFilter, `phoneNumbers.value ew "{phone}" or externalId sw "{externalId}"`}, groups: 2, members: 10, loadAvg: func() string { return "n/a" }})
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "filter co2: phoneNumbers.value ew ") {
		t.Errorf("no legend of the filters:\n%s", out)
	}
	if strings.Contains(out, "failure:") {
		t.Errorf("requests failed:\n%s", out)
	}
	for _, p := range []string{"create", "get", "filter eq", "filter co1", "filter co2", "patch", "put", "group +10", "delete"} {
		if !strings.Contains(out, p+"  ") {
			t.Errorf("no row for phase %q:\n%s", p, out)
		}
	}
	if page, err := svc.ListUsers(ctx, directory.System, storage.Query{}); err != nil || page.Total != 0 {
		t.Errorf("after the delete phase: %d users left, %v", page.Total, err)
	}
}

// TestWriteReportCPU checks the CPU column, shown when a target's process is known.
func TestWriteReportCPU(t *testing.T) {
	targets := []*target{{name: "scimd", pid: 1}, {name: "peer"}}
	results := []map[string]result{{"scimd": {n: 100, elapsed: time.Second, cpu: 50 * time.Millisecond}, "peer": {n: 100, elapsed: time.Second}}}
	var b bytes.Buffer
	writeReport(&b, targets, "peer", []phase{{name: "get"}}, results)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "CPU/req") || !strings.HasSuffix(lines[1], " 500µs") || !strings.HasSuffix(lines[2], " -") {
		t.Errorf("report:\n%s", b.String())
	}
	// Reading /proc costs CPU: within a few thousand reads the process has
	// used more than a clock tick.
	var cpu time.Duration
	for i := 0; i < 100_000 && cpu == 0; i++ {
		cpu = processCPU(os.Getpid())
	}
	if cpu <= 0 {
		t.Error("no CPU time read for this process")
	}
	if rss := processRSS(os.Getpid()); !strings.Contains(rss, " MB (anonymous ") {
		t.Errorf("RSS of this process: %q", rss)
	}
}
