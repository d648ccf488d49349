#!/bin/bash
# The quiet run of docs/performance.md ("Quiet run, 10:04 UTC"): scimd beside the in-memory peer at
# 2,000 users, 1,000,000 users seeded through /Bulk, the filters and the writes at 1M, a read pass,
# a cold restart, and the compacted store under a 1 GiB memory limit (a memory cgroup, when this
# runs as root on cgroup v1 or v2; skipped otherwise).
# Run from the repository root: test/cmd/scimload/quiet-run.sh [DIR] > out.txt 2>&1 (DIR: ~4 GB free).
# SCIMPLY_BIN=path puts a third server beside them in section 1: the in-memory example server of
# cerberauth/scimply (examples/basic, which listens on :8080), built from a clone of its repository.
set -u
D=$(realpath -m "${1:-/tmp/scimd-quiet-run}"); mkdir -p "$D"
cd "$(git rev-parse --show-toplevel)"
git log --oneline -1
go build -o $D/scimd ./cmd/scimd && (cd test && go build -o $D/scimload ./cmd/scimload && go build -o $D/scimpeer ./cmd/scimpeer) || exit 1
export SCIMD_BOOTSTRAP_CLIENT_ID=loadadmin SCIMD_BOOTSTRAP_CLIENT_SECRET=loadsecret-0123456789abcdef0123456789
TOK=test/cmd/scimload/scimd-token.sh
ready() { until curl -sf -o /dev/null http://127.0.0.1:$1/readyz; do sleep 0.01; done; }
rss() { grep -E 'VmRSS|RssAnon|RssFile' /proc/$1/status | tr '\n' ' '; echo; }
# pair2k starts a fresh scimd (P2, its token in $D/token2k) and a fresh peer (PP) for 2,000 users.
pair2k() {
  rm -rf $D/d2k
  $D/scimd serve -addr 127.0.0.1:28080 -data-dir $D/d2k 2>>$D/scimd2k.log & P2=$!
  $D/scimpeer -addr 127.0.0.1:29090 2>/dev/null & PP=$!
  ready 28080; sleep 0.5
  $TOK http://127.0.0.1:28080 $SCIMD_BOOTSTRAP_CLIENT_ID $SCIMD_BOOTSTRAP_CLIENT_SECRET > $D/token2k
}
rm -rf $D/d1m $D/scimd2k.log
echo "== 1. side by side at 2k, 8 clients $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
SCIMPLY=() PS=
if [ -n "${SCIMPLY_BIN:-}" ]; then
  # A port already taken would make the new server exit and scimload measure the old one.
  if curl -s -o /dev/null http://127.0.0.1:8080/; then echo "port 8080 is taken: stop what listens there" >&2; exit 1; fi
  $SCIMPLY_BIN >/dev/null 2>&1 & PS=$!
  until curl -s -o /dev/null http://127.0.0.1:8080/scim/v2/ServiceProviderConfig; do
    kill -0 $PS 2>/dev/null || { echo "$SCIMPLY_BIN exited" >&2; exit 1; }; sleep 0.01
  done
  SCIMPLY=(-target scimply=http://127.0.0.1:8080/scim/v2 -pid scimply=$PS)
fi
pair2k
# 30 group PATCHes of +1,000 members (not scimload's 5): the p99 of five is their slowest.
$D/scimload -users 2000 -duration 5s -groups 30 -target scimd=http://127.0.0.1:28080/scim/v2,@$D/token2k -pid scimd=$P2 \
  "${SCIMPLY[@]}" -target elimity=http://127.0.0.1:29090/scim/v2 -pid elimity=$PP
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"; rss $P2
kill $P2 $PP $PS; wait $P2 $PP $PS 2>/dev/null
# A write phase at 2k is 2,000 requests, 0.3-0.5 s: one background apply of the overlay or one seal
# of audit blocks falls into it or not, and its ratio moves by +-0.1 from run to run. Three more
# rounds of the writes alone, each on fresh servers: the figure is the median of the four.
for r in 1 2 3; do
  echo "== 1w. the writes at 2k, round $r of 3, fresh servers $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  pair2k
  $D/scimload -users 2000 -phases patch,put,delete -target scimd=http://127.0.0.1:28080/scim/v2,@$D/token2k -pid scimd=$P2 \
    -target elimity=http://127.0.0.1:29090/scim/v2 -pid elimity=$PP | grep -E '^ +(phase|create|patch|put|delete| +elimity)'
  kill $P2 $PP; wait $P2 $PP 2>/dev/null
done
echo "== 2. /Bulk seeding 1M, 4 clients $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
$D/scimd serve -addr 127.0.0.1:28090 -data-dir $D/d1m 2>$D/scimd1m.log & P=$!
ready 28090; sleep 0.5
$TOK http://127.0.0.1:28090 $SCIMD_BOOTSTRAP_CLIENT_ID $SCIMD_BOOTSTRAP_CLIENT_SECRET > $D/token1m
$D/scimload -bulk 1000000 -clients 4 -bulk-segment 250000 -target scimd=http://127.0.0.1:28090/scim/v2,@$D/token1m -pid scimd=$P
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"; rss $P; du -sh $D/d1m
echo "== 3. filters at 1M (userName eq, userName co, emails.value eq), 8 clients $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
T="-target scimd-1m=http://127.0.0.1:28090/scim/v2,@$D/token1m -pid scimd-1m=$P"
$D/scimload -users 2000 -clients 8 -phases filter $T -co 'userName co "{tail}"' -co 'emails.value eq "{userName}@load.example"'
echo "== 3a. co, sw and ew on every attribute issue 12 names, at 1M, 8 clients $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
$D/scimload -users 2000 -clients 8 -phases filter -duration 3s $T \
  -co 'userName co "{tail}"' -co 'userName sw "{userName}"' -co 'userName ew "{tail}"' \
  -co 'emails.value co "{tail}@"' -co 'emails.value sw "{userName}@"' -co 'emails.value ew "{tail}@load.example"' \
  -co 'phoneNumbers.value co "{phone}"' -co 'phoneNumbers.value sw "{phone}"' -co 'phoneNumbers.value ew "{phone}"' \
  -co 'name.givenName co "{given}"' -co 'name.givenName sw "{given}"' -co 'name.givenName ew "{given}"' \
  -co 'name.familyName co "opp"' -co 'name.familyName sw "{family}"' -co 'name.familyName ew "{family}"' \
  -co 'displayName co "{family}"' -co 'displayName sw "{given} {family}"' -co 'displayName ew "{family} v0"' \
  -co 'externalId co "{externalId}"' -co 'externalId sw "{externalId}"' -co 'externalId ew "{externalId}"'
# 20,000 writes a phase (4-5 s): at 1M one apply of the overlay into the 3 GB file costs more than
# at 2k, and a phase of 2,000 writes (0.4 s) is inflated by as much as 50 % when one falls into it.
echo "== 3b. writes at 1M, 8 clients, 20,000 each (beside section 1's at 2k) $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
$D/scimload -users 20000 -clients 8 -phases patch,put,delete $T
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%T)"
echo "== 3c. +10,000 members in one PATCH at 1M, 10 groups one after the other $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
$D/scimload -users 10000 -phases group -groups 10 -members 10000 $T | grep -E '^ +(phase|group)'
echo "== 4. a read pass at 1M $(date -u +%T)"
A=$(cat $D/token1m)
/usr/bin/time -f '%e s' curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $A" 'http://127.0.0.1:28090/scim/v2/Users?filter=title%20eq%20%22nobody%22&count=1'
rss $P
kill $P; wait $P 2>/dev/null
echo "== 5. restart to /readyz at 1M (file cold) $(date -u +%T)"
python3 -c 'import os; fd = os.open("'$D'/d1m/scimd.db", os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)'
t0=$(date +%s.%N); $D/scimd serve -addr 127.0.0.1:28090 -data-dir $D/d1m 2>>$D/scimd1m.log & P=$!
ready 28090; echo "ready after $(echo "$(date +%s.%N) - $t0" | bc) s"; rss $P
kill $P; wait $P 2>/dev/null
echo "== 6. compacted, then a read pass and 8 readers under a 1 GiB memory limit $(date -u +%T)"
$D/scimd compact --data-dir $D/d1m 2>&1 | tail -1
CG=/sys/fs/cgroup/memory/scimd-quiet-run LIMIT=memory.limit_in_bytes PEAK=memory.max_usage_in_bytes
if [ ! -w /sys/fs/cgroup/memory ]; then
  CG=/sys/fs/cgroup/scimd-quiet-run LIMIT=memory.max PEAK=memory.peak # cgroup v2
fi
if mkdir -p $CG 2>/dev/null && echo 1073741824 > $CG/$LIMIT; then
  python3 -c 'import os; fd = os.open("'$D'/d1m/scimd.db", os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)'
  (echo $BASHPID > $CG/cgroup.procs && exec $D/scimd serve -addr 127.0.0.1:28090 -data-dir $D/d1m 2>>$D/scimd1m.log) & P=$!
  ready 28090
  /usr/bin/time -f '%e s' curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $A" 'http://127.0.0.1:28090/scim/v2/Users?filter=title%20eq%20%22nobody%22&count=1'
  rss $P
  $D/scimload -users 2000 -clients 8 -phases get,filter -duration 3s -co 'name.givenName co "{given}"' -co 'phoneNumbers.value co "{phone}"' \
    -target scimd-1m=http://127.0.0.1:28090/scim/v2,@$D/token1m -pid scimd-1m=$P
  rss $P; echo "cgroup peak $(( $(cat $CG/$PEAK 2>/dev/null || echo 0) / 1048576 )) MB"
  kill $P; wait $P 2>/dev/null; rmdir $CG
else
  echo "no writable memory cgroup: skipped"
fi
echo "== done $(date -u +%T)"
