package directory

import (
	"context"
	"sync"

	"github.com/scimd/scimd/schemas"
)

// MaxBulkUsers caps the users one bulk request may create.
const MaxBulkUsers = 1000

// bulkWorkers is how many elements of a bulk creation are created at once:
// all of a wave. The store commits concurrent writes together (the embedded
// store: one transaction and one fsync for all that are queued), so a bulk
// request costs about one commit instead of one per user; with fewer
// workers than elements, a commit waited for the next fsync's worth of them.
const bulkWorkers = MaxBulkUsers

// BulkUser is one element of a bulk creation: a user and its optional
// password, or the error that made the element unusable before it reached the
// directory (a face's decoding error), which is reported as that element's result.
// BulkCreateUsers and BulkProvisionUsers take User (they set its id and
// timestamps): the caller must not use it afterwards.
type BulkUser struct {
	User     *schemas.User
	Password *PasswordInput
	Err      error
}

// BulkResult is the outcome of one element of a bulk creation: the created
// user or the error, at the element's index in the request.
type BulkResult struct {
	Index int
	User  *schemas.User
	Err   error
}

// BulkCreateUsers creates users, each as CreateUser would. It is not atomic:
// every element succeeds or fails on its own, and the results say which. More
// than MaxBulkUsers elements is KindTooMany, and nothing is created.
//
// The result is the one of creating the elements one by one in order — an
// element whose identifiers clash with an earlier element's fails, never the
// earlier one, and ids ascend in element order — but elements whose
// identifiers cannot clash are created concurrently, so that the store
// commits them together.
func (s *Service) BulkCreateUsers(ctx context.Context, p Principal, items []BulkUser) ([]BulkResult, error) {
	return s.bulkCreate(ctx, p, items, false)
}

// BulkProvisionUsers is BulkCreateUsers with ProvisionUser's rule for each
// element (SCIM Bulk): an application's create of a user who already exists
// in the tenant adopts that user.
func (s *Service) BulkProvisionUsers(ctx context.Context, p Principal, items []BulkUser) ([]BulkResult, error) {
	return s.bulkCreate(ctx, p, items, true)
}

func (s *Service) bulkCreate(ctx context.Context, p Principal, items []BulkUser, adopt bool) ([]BulkResult, error) {
	if !p.manages() {
		return nil, forbiddenToManage
	}
	if len(items) > MaxBulkUsers {
		return nil, Errorf(KindTooMany, "at most %d users can be created in one bulk request", MaxBulkUsers)
	}
	if len(items) == 0 {
		return nil, Errorf(KindInvalid, "the bulk request holds no users")
	}
	results := make([]BulkResult, len(items))
	ids := make([]string, len(items)) // in element order: ids are time-ordered
	for i := range items {
		results[i].Index = i
		ids[i] = s.newID()
	}
	// hashers bounds the elements hashing a clear-text password at once to
	// the slots of the process's hashing gate, so that none of them waits
	// there long enough to fail as busy.
	hashers := make(chan struct{}, MaxDefaultHashConcurrency)
	create := func(i int) {
		it := items[i]
		if it.Err != nil {
			results[i].Err = it.Err
			return
		}
		if err := ctx.Err(); err != nil {
			results[i].Err = &Error{Kind: KindInternal, Msg: "the request was cancelled", Err: err}
			return
		}
		if it.Password != nil && it.Password.Password != "" {
			hashers <- struct{}{}
			defer func() { <-hashers }()
		}
		results[i].User, results[i].Err = s.createUser(ctx, p, it.User, it.Password, adopt, ids[i])
	}
	for _, wave := range bulkWaves(items) {
		next := make(chan int)
		var wg sync.WaitGroup
		for range min(bulkWorkers, len(wave)) {
			wg.Go(func() {
				for i := range next {
					create(i)
				}
			})
		}
		for _, i := range wave {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	return results, nil
}

// bulkWaves splits the elements, in order, into waves that can each be
// created concurrently with the result of creating them one by one: an
// element goes into the wave after the last one holding an element that
// shares one of its identifier keys (bulkKeys). Within a wave no two
// elements can clash, so the order they reach the store in does not matter.
func bulkWaves(items []BulkUser) [][]int {
	var waves [][]int
	last := map[string]int{} // key → the last wave holding an element with it
	for i, it := range items {
		w := 0
		keys := bulkKeys(it.User)
		for _, k := range keys {
			if lw, ok := last[k]; ok && lw+1 > w {
				w = lw + 1
			}
		}
		for len(waves) <= w {
			waves = append(waves, nil)
		}
		waves[w] = append(waves[w], i)
		for _, k := range keys {
			last[k] = w
		}
	}
	return waves
}

// bulkKeys are keys that two users share whenever their unique identifiers
// could clash: every userName, email and phone value folded (login
// identifiers are compared folded across the three fields, and a user without
// a userName takes its email or phone), and the externalId. They are a
// superset of the keys the store checks, so elements with disjoint keys never
// clash with each other.
func bulkKeys(u *schemas.User) []string {
	if u == nil {
		return nil
	}
	var keys []string
	add := func(v string) {
		if v != "" {
			keys = append(keys, "l"+schemas.Fold(v))
		}
	}
	add(u.UserName)
	for _, e := range u.Emails {
		add(e.Value)
	}
	for _, ph := range u.PhoneNumbers {
		add(ph.Value)
	}
	if u.ExternalID != "" {
		keys = append(keys, "x"+u.ExternalID)
	}
	return keys
}
