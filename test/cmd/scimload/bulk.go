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
	fmt.Fprintf(w, "scimload bulk: %d users per target (run %s), %d concurrent Bulk requests, GOMAXPROCS %d, load average %s\n",
		c.users, tag, c.clients, runtime.GOMAXPROCS(0), loadAvg())
	for k, t := range c.targets {
		t.cl = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: c.clients, MaxConnsPerHost: c.clients}}
		per := c.ops
		if per == 0 {
			var err error
			if per, err = t.bulkMaxOperations(); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		var next, created, failed atomic.Int64
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
					ops := make([]any, 0, to-from)
					for i := from; i < to; i++ {
						u := newGenUser(fmt.Sprintf("%s%d", tag, k), run+int64(k), i)
						ops = append(ops, map[string]any{"method": "POST", "path": "/Users", "bulkId": strconv.Itoa(i), "data": u.body(0)})
					}
					status, body, err := t.send("POST", "/Bulk", map[string]any{
						"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": ops})
					if err != nil || status != http.StatusOK {
						fail(to-from, fmt.Sprintf("POST /Bulk: %d %v %.200s", status, err, body))
						continue
					}
					var res struct {
						Operations []struct {
							Status string `json:"status"`
						}
					}
					if err := json.Unmarshal(body, &res); err != nil {
						fail(to-from, "Bulk response: "+err.Error())
						continue
					}
					for _, o := range res.Operations {
						if o.Status == "201" {
							created.Add(1)
						} else {
							fail(1, fmt.Sprintf("operation status %s: %.300s", o.Status, body))
						}
					}
				}
			})
		}
		wg.Wait()
		el := time.Since(start)
		fmt.Fprintf(w, "%-10s %d users created in Bulk requests of %d, %d failed, %v: %.0f users/s\n",
			t.name, created.Load(), per, failed.Load(), el.Round(time.Millisecond), float64(created.Load())/el.Seconds())
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
