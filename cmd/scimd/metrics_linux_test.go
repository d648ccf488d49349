package main

import (
	"net/url"
	"testing"
	"time"
)

// TestMapDropsMetric: scimd_embedded_map_drops_total counts the store's
// drops of its file mappings: some after a read pass over a file larger
// than SCIMD_MAPPED_MIB=1, none with SCIMD_MAPPED_MIB=0 (no bound).
func TestMapDropsMetric(t *testing.T) {
	dir := usersDir(t, 3000) // a file of several MiB
	// drops returns the counter after a read pass (a filter no index
	// answers decodes every user) and a wait of up to 3 s for it to move,
	// on a server started with env.
	drops := func(env string) float64 {
		p := start(t, append(append([]string{"SCIMD_DATA_DIR=" + dir}, opsEnv...), env))
		defer p.stop(t)
		base := "http://" + p.addr
		q := url.Values{"filter": {`title eq "nobody"`}, "count": {"1"}}
		if code, out := call(t, "GET", base+"/scim/v2/Users?"+q.Encode(), adminToken(t, base), "", ""); code != 200 || out["totalResults"] != 0.0 {
			t.Fatalf("read pass: %d %v", code, out["totalResults"])
		}
		var got float64
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got = metricValue(t, scrape(t, base+"/metrics"), "scimd_embedded_map_drops_total"); got > 0 {
				break
			}
		}
		return got
	}
	if got := drops("SCIMD_MAPPED_MIB=1"); got < 1 {
		t.Errorf("scimd_embedded_map_drops_total = %v after a read pass of a file over -mapped-mib 1, want 1 or more", got)
	}
	if got := drops("SCIMD_MAPPED_MIB=0"); got != 0 {
		t.Errorf("scimd_embedded_map_drops_total = %v with no bound, want 0", got)
	}
}
