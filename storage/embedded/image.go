package embedded

import (
	"slices"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// userImage is what the indexes hold for one version of a user: its unique
// keys, login identifiers, email keys, memberships, assignments, search
// record, postings and sort keys. It is computed outside the writer goroutine (folding,
// encoding and collecting trigrams are pure work on one user), so that the
// single writer only compares images and looks up and puts keys: a write
// stages the difference between the image of the version it replaces and
// the image of the version it writes.
type userImage struct {
	keys   userKeys
	logins []storage.LoginID
	emails []string // folded email values, each once
	groups []string // group ids, as the user's GroupIDs
	apps   []string // ids of the applications the user has a link to
	search []byte   // the search record (encodeSearchRecord)
	values int      // the length of search before its times (encodeSearchRecordN)
	posts  []uint64 // the posting keys and masks (postingsOf)
	sorts  sortKeys // the keys in the sort indexes (sortKeysOf)
}

// imageOf computes the image of u (nil for nil).
func imageOf(u *schemas.User) *userImage {
	if u == nil {
		return nil
	}
	im := &userImage{
		keys:   keysOfUser(u),
		logins: storage.LoginIDs(u),
		emails: emailKeys(u),
		groups: slices.Clone(u.GroupIDs),
		posts:  postingsOf(u),
		sorts:  sortKeysOf(u),
	}
	im.search, im.values = encodeSearchRecordN(u)
	for a, l := range u.Apps {
		if l != nil {
			im.apps = append(im.apps, a)
		}
	}
	return im
}

// imageAfter computes the image of nu, a changed copy of the user whose
// image is old, sharing old's postings when the values they are made of are
// the same (most updates change none of them, but every update changes the
// record's lastModified) and old's sort keys when the whole record is.
func imageAfter(old *userImage, nu *schemas.User) *userImage {
	if old == nil || nu == nil {
		return imageOf(nu)
	}
	im := &userImage{
		keys:   keysOfUser(nu),
		logins: storage.LoginIDs(nu),
		emails: emailKeys(nu),
		groups: slices.Clone(nu.GroupIDs),
	}
	im.search, im.values = encodeSearchRecordN(nu)
	if string(im.search[:im.values]) == string(old.search[:old.values]) {
		im.posts = old.posts
	} else {
		im.posts = postingsOf(nu)
	}
	if string(im.search) == string(old.search) {
		im.sorts = old.sorts
	} else {
		im.sorts = sortKeysOf(nu)
	}
	for a, l := range nu.Apps {
		if l != nil {
			im.apps = append(im.apps, a)
		}
	}
	return im
}
