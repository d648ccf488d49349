package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// bulkSeed is the -bulk mode: it creates users through SCIM /Bulk, as a
// migration or an IdP's initial load seeds a directory (issue 12's "bulk
// load ≥ 10,000 users/s"), and reports users/s per target.
type bulkSeed struct {
	targets []*target
	users   int // users to create on each target
	clients int // concurrent Bulk requests
	ops     int // operations per request (0: the target's bulk.maxOperations)
	segment int // report the rate every this many users created (0: only at the end)
	// native sends the users to the native face's POST /cis/v1/users/bulk
	// (a JSON array of native users, up to 1,000) instead of SCIM /Bulk; the
	// targets' URLs are then the servers' roots.
	native bool
}

// nativeBulkMax is the native bulk endpoint's maximum array length (its
// OpenAPI document's BulkCreate maxItems).
const nativeBulkMax = 1000

// nativeBody is u's representation on the native face: the same values as
// body(0) under the native field names.
func (u genUser) nativeBody() map[string]any {
	return map[string]any{
		"username":         u.userName,
		"external_user_id": u.externalID,
		"email":            u.userName + "@load.example",
		"phone_number":     u.phone,
		"name":             map[string]any{"first_name": u.given, "last_name": u.family},
		"enterprise":       map[string]any{"department": u.department, "employee_number": strconv.Itoa(u.i), "title": u.title},
	}
}

// sendBulk sends users [from, to) to t in one Bulk request and returns how
// many the server created, and for those it did not a failure message.
func (c bulkSeed) sendBulk(t *target, k int, tag string, run int64, from, to int) (created int, failure string) {
	if c.native {
		users := make([]any, 0, to-from)
		for i := from; i < to; i++ {
			users = append(users, newGenUser(fmt.Sprintf("%s%d", tag, k), run+int64(k), i).nativeBody())
		}
		status, body, err := t.send("POST", "/cis/v1/users/bulk", users)
		if err != nil || status != http.StatusCreated {
			return 0, fmt.Sprintf("POST /cis/v1/users/bulk: %d %v %.200s", status, err, body)
		}
		var res struct {
			Result struct {
				Created int `json:"created_count"`
				Results []struct {
					Status int             `json:"status"`
					Error  json.RawMessage `json:"error"`
				} `json:"results"`
			} `json:"result"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return 0, "native bulk response: " + err.Error()
		}
		for _, r := range res.Result.Results {
			if r.Status != http.StatusCreated {
				failure = fmt.Sprintf("status %d: %.300s", r.Status, r.Error)
				break
			}
		}
		return res.Result.Created, failure
	}
	ops := make([]any, 0, to-from)
	for i := from; i < to; i++ {
		u := newGenUser(fmt.Sprintf("%s%d", tag, k), run+int64(k), i)
		ops = append(ops, map[string]any{"method": "POST", "path": "/Users", "bulkId": strconv.Itoa(i), "data": u.body(0)})
	}
	status, body, err := t.send("POST", "/Bulk", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": ops})
	if err != nil || status != http.StatusOK {
		return 0, fmt.Sprintf("POST /Bulk: %d %v %.200s", status, err, body)
	}
	var res struct {
		Operations []struct {
			Status string `json:"status"`
		}
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return 0, "Bulk response: " + err.Error()
	}
	for _, o := range res.Operations {
		if o.Status == "201" {
			created++
		} else if failure == "" {
			failure = fmt.Sprintf("operation status %s: %.300s", o.Status, body)
		}
	}
	return created, failure
}

// segmentReporter writes a line each time the users created cross a multiple
// of every: that segment's users/s and, when the target's server process is
// known, its CPU per user and RSS, with the load average — whether the rate
// falls as the store grows.
type segmentReporter struct {
	w     io.Writer
	t     *target
	every int64

	mu      sync.Mutex
	next    int64 // the count that ends the current segment
	at      time.Time
	cpu     time.Duration
	created int64 // at the start of the current segment
}

func newSegmentReporter(w io.Writer, t *target, every int) *segmentReporter {
	return &segmentReporter{w: w, t: t, every: int64(every), next: int64(every), at: time.Now(), cpu: processCPU(t.pid)}
}

// add is called with the running count of users created.
func (s *segmentReporter) add(created int64) {
	if s == nil || s.every <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if created < s.next {
		return
	}
	now, cpu := time.Now(), processCPU(s.t.pid)
	n := created - s.created
	el := now.Sub(s.at)
	line := fmt.Sprintf("%-10s segment %d–%d: %d users in %v, %.0f users/s", s.t.name, s.created+1, created, n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	if s.t.pid != 0 {
		line += fmt.Sprintf(", server CPU %v a user, RSS %s", (cpu-s.cpu)/time.Duration(n), processRSS(s.t.pid))
	}
	fmt.Fprintf(s.w, "%s, load average %s\n", line, loadAvg())
	s.at, s.cpu, s.created = now, cpu, created
	for s.next <= created {
		s.next += s.every
	}
}

// runBulkSeed creates c.users users on every target in Bulk requests of up to
// c.ops POST /Users operations, c.clients requests at once, and writes one
// line per target: users created, failures, elapsed time, users/s.
func runBulkSeed(w io.Writer, c bulkSeed) error {
	if c.users < 1 || c.clients < 1 {
		return errors.New("-bulk and -clients must be at least 1")
	}
	run := time.Now().UnixMilli() % 1e9
	tag := "bl" + strconv.FormatInt(run, 36)
	face := "SCIM /Bulk"
	if c.native {
		face = "native /cis/v1/users/bulk"
	}
	fmt.Fprintf(w, "scimload bulk (%s): %d users per target (run %s), %d concurrent Bulk requests, GOMAXPROCS %d, load average %s\n",
		face, c.users, tag, c.clients, runtime.GOMAXPROCS(0), loadAvg())
	for k, t := range c.targets {
		t.cl = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: c.clients, MaxConnsPerHost: c.clients}}
		per := c.ops
		if per == 0 && c.native {
			per = nativeBulkMax
		}
		if per == 0 {
			var err error
			if per, err = t.bulkMaxOperations(); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		var next, created, failed atomic.Int64
		var seg *segmentReporter
		if c.segment > 0 {
			seg = newSegmentReporter(w, t, c.segment)
		}
		cpu0 := processCPU(t.pid)
		var firstErr atomic.Value
		fail := func(n int, msg string) {
			failed.Add(int64(n))
			firstErr.CompareAndSwap(nil, msg)
		}
		start := time.Now()
		var wg sync.WaitGroup
		for range c.clients {
			wg.Go(func() {
				for {
					from := int(next.Add(int64(per))) - per
					if from >= c.users {
						return
					}
					to := min(from+per, c.users)
					n, msg := c.sendBulk(t, k, tag, run, from, to)
					if n > 0 {
						seg.add(created.Add(int64(n)))
					}
					if msg != "" {
						fail(to-from-n, msg)
					}
				}
			})
		}
		wg.Wait()
		el := time.Since(start)
		fmt.Fprintf(w, "%-10s %d users created in Bulk requests of %d, %d failed, %v: %.0f users/s\n",
			t.name, created.Load(), per, failed.Load(), el.Round(time.Millisecond), float64(created.Load())/el.Seconds())
		if n := created.Load(); t.pid != 0 && n > 0 {
			fmt.Fprintf(w, "           server CPU %v a user, RSS %s\n", (processCPU(t.pid)-cpu0)/time.Duration(n), processRSS(t.pid))
		}
		if m, ok := firstErr.Load().(string); ok {
			fmt.Fprintf(w, "           first failure: %s\n", m)
		}
	}
	fmt.Fprintf(w, "load average at the end: %s\n", loadAvg())
	return nil
}

// bulkMaxOperations reads bulk.maxOperations from the target's
// ServiceProviderConfig.
func (t *target) bulkMaxOperations() (int, error) {
	status, body, err := t.send("GET", "/ServiceProviderConfig", nil)
	if err != nil || status != http.StatusOK {
		return 0, fmt.Errorf("ServiceProviderConfig: %d %v", status, err)
	}
	var spc struct {
		Bulk struct {
			Supported     bool `json:"supported"`
			MaxOperations int  `json:"maxOperations"`
		} `json:"bulk"`
	}
	if err := json.Unmarshal(body, &spc); err != nil {
		return 0, fmt.Errorf("ServiceProviderConfig: %w", err)
	}
	if !spc.Bulk.Supported || spc.Bulk.MaxOperations < 1 {
		return 0, errors.New("the target does not support Bulk")
	}
	return spc.Bulk.MaxOperations, nil
}
