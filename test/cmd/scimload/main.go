// Command scimload measures SCIM servers over HTTP. It has two modes:
//
//   - without -target, issue 4's figures of scimd's SCIM face on the embedded
//     store, served in this process (runInProcess);
//   - with one or more -target name=url[,token], the side-by-side mode of
//     issue 12: the same phases (create, GET by id, userName eq and co
//     filters, PATCH, PUT, a 1,000-member group PATCH, DELETE) against every
//     target, each phase run on every target before the next phase starts,
//     and a table of throughput and p50/p99 per phase per target, with each
//     target's throughput as a multiple of a reference target's
//     (runSideBySide);
//   - with -bulk N and -target, N users created on each target through SCIM
//     /Bulk in requests of its bulk.maxOperations (or, with -bulk-native,
//     through the native face's POST /cis/v1/users/bulk), -clients at once,
//     with the rate per -bulk-segment users (runBulkSeed).
//
// Figures are reported, not asserted. See README.md next to this file.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	users := flag.Int("users", 0, "users to create (default 100,000 in process, 2,000 side by side)")
	clients := flag.Int("clients", 8, "concurrent clients")
	dur := flag.Duration("duration", 5*time.Second, "duration of each throughput measurement")
	dir := flag.String("dir", "", "in process: data directory (default: a temporary one)")
	var targets targetList
	flag.Var(&targets, "target", "side by side: name=url[,token] of a SCIM base URL (http://host/scim/v2) and its bearer token (@file: read from file); repeat for each target")
	ref := flag.String("ref", "", "side by side: the target the others' throughput is divided by (default: the last -target)")
	var co []string
	flag.Func("co", "side by side: a substring filter (default `"+defaultCoFilter+"`), with {userName}, {given}, {family}, {i}, {tail} (userName after its first dot), {phone} and {externalId} of a user this run created; repeat for more filters, each measured as a phase of its own", func(v string) error {
		co = append(co, v)
		return nil
	})
	groups := flag.Int("groups", 5, "side by side: groups to which one PATCH each adds -members members")
	members := flag.Int("members", 1000, "side by side: members added by each group PATCH")
	pause := flag.Duration("pause", time.Second, "side by side: idle time before each measurement, so a target's background work from the one before is over")
	flag.Func("pid", "side by side and bulk: name=PID of a target's server process on this host, to report its CPU time per request", func(v string) error {
		name, pid, ok := strings.Cut(v, "=")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || n <= 0 {
			return fmt.Errorf("want name=PID, not %q", v)
		}
		for _, t := range targets {
			if t.name == name {
				t.pid = n
				return nil
			}
		}
		return fmt.Errorf("no -target %q before -pid", name)
	})
	bulk := flag.Int("bulk", 0, "bulk mode: create this many users on each -target through SCIM /Bulk, -clients requests at once, and report users/s")
	bulkOps := flag.Int("bulk-ops", 0, "bulk mode: operations per Bulk request (default: the target's bulk.maxOperations)")
	bulkSeg := flag.Int("bulk-segment", 0, "bulk mode: also report users/s (and, with -pid, server CPU per user and RSS) for every this many users created")
	bulkNative := flag.Bool("bulk-native", false, "bulk mode: create the users through the native face's POST /cis/v1/users/bulk (-target URLs are then the servers' roots, http://host:port)")
	only := flag.String("phases", "", "side by side: comma-separated phases to run (create always runs): get, filter, patch, put, group, delete (default: all)")
	flag.Parse()
	if len(co) == 0 {
		co = []string{defaultCoFilter}
	}
	var err error
	switch {
	case *bulk > 0:
		if len(targets) == 0 {
			log.Fatal("-bulk needs at least one -target")
		}
		err = runBulkSeed(os.Stdout, bulkSeed{targets: targets, users: *bulk, clients: *clients, ops: *bulkOps, segment: *bulkSeg, native: *bulkNative})
	case len(targets) == 0:
		err = runInProcess(cmp.Or(*users, 100_000), *clients, *dur, *dir)
	default:
		err = runSideBySide(os.Stdout, sideBySide{targets: targets, ref: *ref, users: cmp.Or(*users, 2000), clients: *clients,
			duration: *dur, coFilters: co, groups: *groups, members: *members, pause: *pause, only: phaseList(*only)})
	}
	if err != nil {
		log.Fatal(err)
	}
}

// phaseList splits the -phases value ("" → nil: all phases).
func phaseList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}
