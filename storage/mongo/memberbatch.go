package mongo

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Concurrent membership changes of one group in one process are made
// together. Each PatchGroup that only adds and removes members (no Check,
// no Apply, no replace or clear) joins its group's queue; one goroutine per
// group takes everything queued, reads the group and the named users once,
// plans each change in turn on the membership the earlier ones leave (so
// each is refused or audited on its own), writes their events, changes the
// users' memberships once (the net effect) and bumps the group's version
// once, then answers them all and takes what queued meanwhile. A hundred
// concurrent single-member adds thus cost a few group bumps instead of a
// hundred, and the per-user writes are those of the users that change.

// memberBatcher holds the queues of the groups with a batch in progress.
type memberBatcher struct {
	mu     sync.Mutex
	queues map[string][]*memberReq // by group id; present while its goroutine runs
}

// memberReq is one queued membership change and, once done is closed, its
// answer.
type memberReq struct {
	ctx   context.Context
	ch    storage.GroupChange
	audit storage.GroupAudit
	done  chan struct{}
	out   *schemas.Group
	err   error
}

// batchable reports whether a PatchGroup may join a batch.
func batchable(ch storage.GroupChange) bool {
	if ch.Check != nil || ch.Apply != nil {
		return false
	}
	for _, m := range ch.Members {
		if m.Op != "add" && m.Op != "remove" {
			return false
		}
	}
	return true
}

// patchMembers queues a batchable PatchGroup and waits for its answer. Once
// queued it is made even if ctx ends (a write must not be reported as failed
// when it was in fact made).
func (s *Store) patchMembers(ctx context.Context, id string, ch storage.GroupChange, audit storage.GroupAudit) (*schemas.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &memberReq{ctx: ctx, ch: ch, audit: audit, done: make(chan struct{})}
	b := &s.batches
	b.mu.Lock()
	if b.queues == nil {
		b.queues = make(map[string][]*memberReq)
	}
	q, running := b.queues[id]
	b.queues[id] = append(q, r)
	b.mu.Unlock()
	if !running {
		s.bg.Add(1) // Close waits for the batch in progress
		go func() {
			defer s.bg.Done()
			s.runMemberBatches(context.WithoutCancel(ctx), id)
		}()
	}
	<-r.done
	return r.out, r.err
}

// runMemberBatches makes the queued changes of group id, a batch at a time,
// until none is queued.
func (s *Store) runMemberBatches(ctx context.Context, id string) {
	b := &s.batches
	for {
		b.mu.Lock()
		reqs := b.queues[id]
		if len(reqs) == 0 {
			delete(b.queues, id)
			b.mu.Unlock()
			return
		}
		b.queues[id] = reqs[:0:0]
		b.mu.Unlock()
		s.memberBatch(ctx, id, reqs)
		for _, r := range reqs {
			close(r.done)
		}
	}
}

// memberBatch makes the changes reqs (in order) as PatchGroup does, once
// for all of them (steps 2–4 by commitPatch), and sets each one's answer.
func (s *Store) memberBatch(ctx context.Context, id string, reqs []*memberReq) {
	failAll := func(err error, rs []*memberReq) {
		for _, r := range rs {
			r.out, r.err = nil, err
		}
	}
	d, alike, err := s.readGroup(ctx, id)
	if err != nil {
		failAll(err, reqs)
		return
	}
	prev, err := d.group()
	if err != nil {
		failAll(err, reqs)
		return
	}
	var all []storage.MemberOp
	for _, r := range reqs {
		all = append(all, r.ch.Members...)
	}
	exists, stored, err := s.memberState(ctx, id, all)
	if err != nil {
		failAll(err, reqs)
		return
	}
	// Plan each change on the membership the earlier ones leave, with its
	// events encoded (a change whose events cannot be stored is refused
	// alone, before anything is written).
	state := maps.Clone(stored)
	cur := prev.Clone()
	cur.Version = prev.Version + 1
	var rs []*memberReq // the changes to make
	var events []*eventDoc
	for _, r := range reqs {
		added, removed, err := storage.PlanMembers(r.ch.Members, func(u string) bool { return exists[u] },
			func(u string) bool { return state[u] }, nil)
		if err != nil {
			r.err = err
			continue
		}
		if len(added)+len(removed) == 0 {
			r.out = prev.Clone() // nothing to write
			continue
		}
		c := cur.Clone()
		if r.ch.At.After(c.Updated) {
			c.Updated = r.ch.At
		}
		evs, err := groupEvents(r.audit, prev, c, added, removed)
		if err != nil {
			r.err = err
			continue
		}
		for _, u := range added {
			state[u] = true
		}
		for _, u := range removed {
			state[u] = false
		}
		cur = c
		rs = append(rs, r)
		events = append(events, evs...)
	}
	if len(rs) == 0 {
		return
	}
	// The net change, in id order: the writes (and a failure part way
	// through them) are the same whatever order the map gives.
	var netAdded, netRemoved []string
	for u, in := range state {
		switch {
		case in && !stored[u]:
			netAdded = append(netAdded, u)
		case !in && stored[u]:
			netRemoved = append(netRemoved, u)
		}
	}
	slices.Sort(netAdded)
	slices.Sort(netRemoved)
	out, err := s.commitPatch(ctx, id, alike, events, netAdded, netRemoved, prev, cur, func() (*schemas.Group, error) {
		return s.bumpGroup(ctx, id, storage.GroupChange{}, prev, cur)
	})
	if err != nil {
		failAll(err, rs)
		return
	}
	for _, r := range rs {
		r.out = out.Clone()
	}
}
