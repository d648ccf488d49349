package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/scimd/scimd/storage/storagetest"
)

// defaultCoFilter matches a handful of users: the ones whose userName holds
// "<family>.<i>" (at a million generated users, user i and the users whose
// number starts with i and share its family name).
const defaultCoFilter = `userName co "{tail}"`

const (
	userSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchOpSchema    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// target is one SCIM service under test.
type target struct {
	name  string
	base  string // SCIM base URL, without a trailing slash
	token string // bearer token ("": none sent)
	pid   int    // the server's process on this host, for its CPU time (0: unknown)
	cl    *http.Client

	users  []genUser // the users this run creates, by number
	ids    []string  // their ids once created ("" when the create failed)
	groups []string  // ids of the groups this run created
}

// parseTarget reads a -target value, "name=url[,token]". A token "@file" is
// read from file (surrounding white space removed), so that it does not
// appear in the process list.
func parseTarget(s string, readFile func(string) ([]byte, error)) (*target, error) {
	name, rest, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || rest == "" {
		return nil, fmt.Errorf("target %q: want name=url[,token]", s)
	}
	base, token, _ := strings.Cut(rest, ",")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q: %q is not an http(s) URL", name, base)
	}
	if f, ok := strings.CutPrefix(token, "@"); ok {
		b, err := readFile(f)
		if err != nil {
			return nil, fmt.Errorf("target %q: token: %w", name, err)
		}
		token = strings.TrimSpace(string(b))
	}
	return &target{name: name, base: strings.TrimRight(base, "/"), token: token}, nil
}

// targetList is the repeated -target flag.
type targetList []*target

func (l *targetList) String() string {
	var names []string
	for _, t := range *l {
		names = append(names, t.name+"="+t.base)
	}
	return strings.Join(names, " ")
}

func (l *targetList) Set(s string) error {
	t, err := parseTarget(s, os.ReadFile)
	if err != nil {
		return err
	}
	for _, o := range *l {
		if o.name == t.name {
			return fmt.Errorf("target name %q given twice", t.name)
		}
	}
	*l = append(*l, t)
	return nil
}

// genUser is the user number i of a run: storagetest.NewUser(i)'s values (the
// generator `make bench` and genexport use), its userName and externalId
// prefixed with the run's tag and its phone number drawn from the run's
// number (phoneNumber), so that runs against a server that keeps its data
// (or holds generated users) do not collide with it.
type genUser struct {
	i                    int
	userName, tail       string
	given, family, phone string
	title, department    string
	externalID           string
}

func newGenUser(tag string, run int64, i int) genUser {
	u := storagetest.NewUser(i)
	_, tail, _ := strings.Cut(u.UserName, ".")
	return genUser{i: i, userName: tag + "-" + u.UserName, tail: tail, given: u.Name.GivenName, family: u.Name.FamilyName,
		phone: phoneNumber(run, i), title: u.Title, department: u.Enterprise.Department, externalID: tag + "-" + u.ExternalID}
}

// phoneNumber is user i's phone number in run: "+1" and 14 digits, a
// permutation of the run's number and i (modulo 10^7 each), so that two
// users of any runs have different numbers while every number looks like
// any other — no digits the run's users share and other users lack, as a
// directory's numbers share their country code with everyone's and no
// prefix with the users created beside them. (A run's prefix let a store
// find the run's numbers in the blocks of its last users only: the search
// measured was not the one a directory makes.)
func phoneNumber(run int64, i int) string {
	l, r := uint64(run%1e7), uint64(i%1e7)
	for round := uint64(1); round <= 4; round++ { // a Feistel network on two halves modulo 10^7
		h := (r + round) * 0x9E3779B97F4A7C15
		l, r = r, (l+(h>>40))%1e7
	}
	return fmt.Sprintf("+1%07d%07d", l, r)
}

// body is the user's SCIM representation; a version > 0 changes the
// attributes a PUT replaces (title, displayName, active).
func (u genUser) body(version int) map[string]any {
	title, active := u.title, true
	if version > 0 {
		title, active = fmt.Sprintf("%s %d", u.title, version), version%2 == 0
	}
	return map[string]any{
		"schemas":        []string{userSchema, enterpriseSchema},
		"userName":       u.userName,
		"externalId":     u.externalID,
		"name":           map[string]any{"givenName": u.given, "familyName": u.family, "formatted": u.given + " " + u.family},
		"displayName":    fmt.Sprintf("%s %s v%d", u.given, u.family, version),
		"title":          title,
		"active":         active,
		"emails":         []any{map[string]any{"value": u.userName + "@load.example", "type": "work", "primary": true}},
		"phoneNumbers":   []any{map[string]any{"value": u.phone, "type": "mobile", "primary": true}},
		enterpriseSchema: map[string]any{"department": u.department, "employeeNumber": strconv.Itoa(u.i)},
	}
}

// fill replaces the placeholders of a filter template with u's values.
func (u genUser) fill(template string) string {
	return strings.NewReplacer("{userName}", u.userName, "{given}", u.given, "{family}", u.family,
		"{i}", strconv.Itoa(u.i), "{tail}", u.tail, "{phone}", u.phone, "{externalId}", u.externalID).Replace(template)
}

// sideBySide is the configuration of a side-by-side run.
type sideBySide struct {
	targets  []*target
	ref      string
	users    int
	clients  int
	duration time.Duration
	// coFilters are the substring filter templates (genUser.fill), each
	// a phase: "filter co" when there is one, else "filter co1", "filter co2"…
	coFilters []string
	groups    int
	members   int
	pause     time.Duration
	only      []string // phases to run ("create" always runs; nil: all)
	// loadAvg returns the host's load average for the report ("" when unknown).
	loadAvg func() string
}

// result is one phase's measurement on one target.
type result struct {
	n        int             // requests answered as expected
	errs     int             // requests that failed or got another status
	firstErr string          // the first failure, for the report
	elapsed  time.Duration   // wall time of the measured requests
	cpu      time.Duration   // the target process's CPU time during the measurement (0: unknown)
	lat      []time.Duration // latency of each request answered as expected
}

// rate is the answered requests per second.
func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.n) / r.elapsed.Seconds()
}

// request is one HTTP request of a phase and the status it must get.
type request struct {
	method, path string
	body         any
	want         int
}

// phase is one measurement, run on every target in turn.
type phase struct {
	name string
	// setup, if set, runs before the measurement, untimed.
	setup func(t *target) error
	// timed phases run for the configured duration, counted ones count requests.
	timed bool
	// serial phases send one request at a time: each one's own latency.
	serial bool
	count  func(t *target) int
	req    func(t *target, i int) request
	// after, if set, runs after the measurement, untimed (with its result).
	after func(t *target, r *result)
}

func (c sideBySide) phases() []phase {
	users := func(t *target) int { return len(t.users) }
	live := func(t *target, i int) string { return t.ids[i%len(t.ids)] }
	ps := []phase{
		{name: "create", count: users, req: func(t *target, i int) request {
			return request{"POST", "/Users", t.users[i].body(0), http.StatusCreated}
		}},
		{name: "get", timed: true, req: func(t *target, i int) request {
			return request{"GET", "/Users/" + live(t, i*7919), nil, http.StatusOK}
		}},
		{name: "filter eq", timed: true, req: func(t *target, i int) request {
			u := t.users[(i*7919)%len(t.users)]
			return request{"GET", "/Users?count=100&filter=" + url.QueryEscape(`userName eq "`+u.userName+`"`), nil, http.StatusOK}
		}},
	}
	for k, f := range c.coFilters {
		name := "filter co"
		if len(c.coFilters) > 1 {
			name = fmt.Sprintf("filter co%d", k+1)
		}
		ps = append(ps, phase{name: name, timed: true, req: func(t *target, i int) request {
			u := t.users[(i*7919)%len(t.users)]
			return request{"GET", "/Users?count=100&filter=" + url.QueryEscape(u.fill(f)), nil, http.StatusOK}
		}})
	}
	return append(ps, []phase{
		{name: "patch", count: users, req: func(t *target, i int) request {
			return request{"PATCH", "/Users/" + t.ids[i], map[string]any{"schemas": []string{patchOpSchema}, "Operations": []any{
				map[string]any{"op": "replace", "path": "displayName", "value": fmt.Sprintf("patched %d", i)},
				map[string]any{"op": "replace", "path": "active", "value": false},
			}}, http.StatusOK}
		}},
		{name: "put", count: users, req: func(t *target, i int) request {
			return request{"PUT", "/Users/" + t.ids[i], t.users[i].body(1), http.StatusOK}
		}},
		{name: fmt.Sprintf("group +%d", c.members), serial: true, setup: c.createGroups, count: func(t *target) int { return len(t.groups) },
			req: func(t *target, i int) request {
				m := make([]any, 0, c.members)
				for k := range min(c.members, len(t.ids)) {
					m = append(m, map[string]any{"value": t.ids[(i*c.members+k)%len(t.ids)]})
				}
				return request{"PATCH", "/Groups/" + t.groups[i], map[string]any{"schemas": []string{patchOpSchema},
					"Operations": []any{map[string]any{"op": "add", "path": "members", "value": m}}}, http.StatusOK}
			}, after: c.deleteGroups},
		{name: "delete", count: users, req: func(t *target, i int) request {
			return request{"DELETE", "/Users/" + t.ids[i], nil, http.StatusNoContent}
		}},
	}...)
}

// createGroups creates the groups of the group phase, untimed.
func (c sideBySide) createGroups(t *target) error {
	t.groups = t.groups[:0]
	for g := range c.groups {
		body := map[string]any{"schemas": []string{groupSchema}, "displayName": fmt.Sprintf("%s-group-%d", t.users[0].userName, g)}
		st, b, err := t.send("POST", "/Groups", body)
		if err != nil || st != http.StatusCreated {
			return fmt.Errorf("%s: create group: %d %s %v", t.name, st, b, err)
		}
		var g struct{ ID string }
		if err := json.Unmarshal(b, &g); err != nil || g.ID == "" {
			return fmt.Errorf("%s: create group: no id in %s", t.name, b)
		}
		t.groups = append(t.groups, g.ID)
	}
	return nil
}

// deleteGroups deletes the phase's groups, untimed, so that the delete phase
// measures users' deletes on every target alike (a peer without referential
// integrity leaves deleted users in its groups).
func (c sideBySide) deleteGroups(t *target, r *result) {
	for _, id := range t.groups {
		if st, b, err := t.send("DELETE", "/Groups/"+id, nil); err != nil || st != http.StatusNoContent {
			r.fail(fmt.Sprintf("delete group: %d %s %v", st, b, err))
		}
	}
}

func (r *result) fail(msg string) {
	if r.errs == 0 {
		r.firstErr = msg
	}
	r.errs++
}

// send sends one request to t and returns the status and body.
func (t *target) send(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, t.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	res, err := t.cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// measure runs phase p on t and returns what it measured.
func (c sideBySide) measure(p phase, t *target) result {
	var mu sync.Mutex
	var r result
	do := func(i int, lat *[]time.Duration) {
		q := p.req(t, i)
		start := time.Now()
		st, b, err := t.send(q.method, q.path, q.body)
		d := time.Since(start)
		if err != nil || st != q.want {
			mu.Lock()
			r.fail(fmt.Sprintf("%s %s: %d %.200s %v", q.method, q.path, st, b, err))
			mu.Unlock()
			return
		}
		if p.name == "create" {
			var u struct{ ID string }
			_ = json.Unmarshal(b, &u)
			t.ids[i] = u.ID
		}
		*lat = append(*lat, d)
	}
	var wg sync.WaitGroup
	lats := make([][]time.Duration, c.clients)
	cpu0 := processCPU(t.pid)
	start := time.Now()
	if p.timed {
		var next atomic.Int64
		deadline := start.Add(c.duration)
		for w := range c.clients {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					do(int(next.Add(1)-1), &lats[w])
				}
			})
		}
	} else {
		n := p.count(t)
		var next atomic.Int64
		workers := c.clients
		if p.serial {
			workers = 1
		}
		for w := range workers {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					do(i, &lats[w])
				}
			})
		}
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	if t.pid != 0 {
		r.cpu = processCPU(t.pid) - cpu0
	}
	for _, l := range lats {
		r.lat = append(r.lat, l...)
	}
	r.n = len(r.lat)
	return r
}

// runSideBySide runs every phase on every target and writes the report to w.
// The targets take turns within each phase (the first one first in even
// phases, last in odd ones), so that a change of the machine's load during
// the run falls on every target alike.
func runSideBySide(w io.Writer, c sideBySide) error {
	if c.loadAvg == nil {
		c.loadAvg = loadAvg
	}
	ref, err := c.refTarget()
	if err != nil {
		return err
	}
	if c.users < 1 || c.clients < 1 {
		return errors.New("-users and -clients must be at least 1")
	}
	run := time.Now().UnixMilli() % 1e9
	tag := "sl" + strconv.FormatInt(run, 36)
	for k, t := range c.targets {
		t.cl = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: c.clients, MaxConnsPerHost: c.clients}}
		t.users = make([]genUser, c.users)
		for i := range t.users {
			t.users[i] = newGenUser(fmt.Sprintf("%s%d", tag, k), run+int64(k), i)
		}
		t.ids = make([]string, c.users)
	}
	fmt.Fprintf(w, "scimload side by side: %d targets, %d users each (run %s), %d clients, %v per read phase, GOMAXPROCS %d, load average %s\n",
		len(c.targets), c.users, tag, c.clients, c.duration, runtime.GOMAXPROCS(0), c.loadAvg())
	if len(c.coFilters) > 1 {
		for k, f := range c.coFilters {
			fmt.Fprintf(w, "  filter co%d: %s\n", k+1, f)
		}
	}
	phases := slices.DeleteFunc(c.phases(), func(p phase) bool {
		return c.only != nil && p.name != "create" && !slices.Contains(c.only, strings.Fields(p.name)[0])
	})
	results := make([]map[string]result, len(phases))
	for pi, p := range phases {
		results[pi] = map[string]result{}
		order := slices.Clone(c.targets)
		if pi%2 == 1 {
			slices.Reverse(order)
		}
		for _, t := range order {
			if p.setup != nil {
				if err := p.setup(t); err != nil {
					return err
				}
			}
			time.Sleep(c.pause)
			r := c.measure(p, t)
			if p.after != nil {
				p.after(t, &r)
			}
			results[pi][t.name] = r
			if p.name == "create" {
				if r.n == 0 {
					return fmt.Errorf("%s: no user created: %s", t.name, r.firstErr)
				}
				t.keepCreated()
			}
		}
	}
	writeReport(w, c.targets, ref, phases, results)
	for _, t := range c.targets {
		if rss := processRSS(t.pid); rss != "" {
			fmt.Fprintf(w, "%s: RSS %s at the end\n", t.name, rss)
		}
	}
	fmt.Fprintf(w, "load average at the end: %s\n", c.loadAvg())
	return nil
}

// processRSS is process pid's resident set from /proc/PID/status, with its
// anonymous and file-mapped parts ("" when unknown): an embedded store's file
// pages count in it, and the kernel reclaims them under memory pressure.
func processRSS(pid int) string {
	if pid == 0 {
		return ""
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	kb := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if f := strings.Fields(v); ok && len(f) == 2 && f[1] == "kB" {
			kb[k], _ = strconv.Atoi(f[0])
		}
	}
	if _, ok := kb["VmRSS"]; !ok {
		return ""
	}
	return fmt.Sprintf("%d MB (anonymous %d MB, file %d MB)", kb["VmRSS"]>>10, kb["RssAnon"]>>10, kb["RssFile"]>>10)
}

// keepCreated drops the users whose create failed: the later phases patch,
// put and delete the created ones.
func (t *target) keepCreated() {
	var users []genUser
	var ids []string
	for i, id := range t.ids {
		if id != "" {
			users, ids = append(users, t.users[i]), append(ids, id)
		}
	}
	t.users, t.ids = users, ids
}

// refTarget is the target whose throughput the others' is divided by.
func (c sideBySide) refTarget() (string, error) {
	if c.ref == "" {
		return c.targets[len(c.targets)-1].name, nil
	}
	for _, t := range c.targets {
		if t.name == c.ref {
			return c.ref, nil
		}
	}
	return "", fmt.Errorf("-ref %q is none of the targets", c.ref)
}

// writeReport writes one row per phase and target: requests answered,
// failures, throughput, p50, p99, the throughput divided by the reference
// target's and, when a target's process is known, its CPU time per request;
// then the first failure of each phase that had any.
func writeReport(w io.Writer, targets []*target, ref string, phases []phase, results []map[string]result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	cpu := slices.ContainsFunc(targets, func(t *target) bool { return t.pid != 0 })
	fmt.Fprintf(tw, "phase\ttarget\tn\terrors\treq/s\tp50\tp99\t× %s\t", ref)
	if cpu {
		fmt.Fprint(tw, "CPU/req\t")
	}
	fmt.Fprintln(tw)
	var failures []string
	for pi, p := range phases {
		for k, t := range targets {
			r := results[pi][t.name]
			name := p.name
			if k > 0 {
				name = ""
			}
			ratio := "-"
			if rr := results[pi][ref].rate(); rr > 0 {
				ratio = fmt.Sprintf("%.2f", r.rate()/rr)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t", name, t.name, r.n, r.errs, r.rate(),
				fmtDur(percentile(r.lat, 50)), fmtDur(percentile(r.lat, 99)), ratio)
			if cpu {
				perReq := "-"
				if t.pid != 0 && r.n > 0 {
					perReq = fmtDur(r.cpu / time.Duration(r.n))
				}
				fmt.Fprint(tw, perReq+"\t")
			}
			fmt.Fprintln(tw)
			if r.errs > 0 {
				failures = append(failures, fmt.Sprintf("%s on %s: %d failed, first: %s", p.name, t.name, r.errs, r.firstErr))
			}
		}
	}
	tw.Flush()
	for _, f := range failures {
		fmt.Fprintln(w, "failure:", f)
	}
}

// percentile returns the p-th percentile of d (nearest rank), 0 for none.
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := (len(s)*p + 99) / 100 // ceil(len·p/100), 1-based
	return s[max(rank, 1)-1]
}

// fmtDur prints a latency with three significant digits ("-" for none).
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	}
}

// processCPU is the user and system CPU time process pid has used so far, to
// the kernel's clock tick (0 when it cannot be read).
func processCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (which is in parentheses and may hold spaces).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clockTick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * clockTick
}

// loadAvg is the host's 1, 5 and 15-minute load average ("?" when unknown).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
