package directory

import (
	"context"

	"github.com/scimd/scimd/schemas"
)

// MaxBulkUsers caps the users one bulk request may create.
const MaxBulkUsers = 1000

// BulkUser is one element of a bulk creation: a user and its optional
// password, or the error that made the element unusable before it reached the
// directory (a face's decoding error), which is reported as that element's result.
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

// BulkCreateUsers creates users one by one, each as CreateUser would. It is
// not atomic: every element succeeds or fails on its own, and the results say
// which. More than MaxBulkUsers elements is KindTooMany, and nothing is created.
func (s *Service) BulkCreateUsers(ctx context.Context, p Principal, items []BulkUser) ([]BulkResult, error) {
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
	for i, it := range items {
		results[i].Index = i
		if it.Err != nil {
			results[i].Err = it.Err
			continue
		}
		if err := ctx.Err(); err != nil {
			results[i].Err = &Error{Kind: KindInternal, Msg: "the request was cancelled", Err: err}
			continue
		}
		results[i].User, results[i].Err = s.CreateUser(ctx, p, it.User, it.Password)
	}
	return results, nil
}
