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

	// Room for logins and emails in the image's own allocation (a user
	// has at most three login identifiers and most have one or two emails).
	loginArr [3]storage.LoginID
	emailArr [2]string
}

// imageOf computes the image of u (nil for nil).
func imageOf(u *schemas.User) *userImage {
	if u == nil {
		return nil
	}
	im := &userImage{
		keys:   keysOfUser(u),
		groups: slices.Clone(u.GroupIDs),
		posts:  postingsOf(u),
	}
	im.logins = storage.AppendLoginIDs(im.loginArr[:0], u)
	im.emails = appendEmailKeys(im.emailArr[:0], u)
	buf := im.encode(u)
	im.sorts, _ = appendSortKeys(buf, u)
	im.apps = appsOf(u)
	return im
}

// encode sets im's search record, in an array with room for the sort keys
// after it, and returns that room (empty, with the rest of the array's
// capacity) for appendSortKeys: one allocation for both.
func (im *userImage) encode(u *schemas.User) []byte {
	// The record holds each of these values and a few bytes per value; the
	// sort keys hold the userName, familyName and one email, each folded
	// (rarely longer) and escaped, and two times.
	size := 96 + len(u.ID) + 2*len(u.UserName) + len(u.ExternalID) + len(u.DisplayName) +
		len(u.Name.GivenName) + 2*len(u.Name.FamilyName) + len(u.Status)
	for _, e := range u.Emails {
		size += 2*len(e.Value) + 3
	}
	for _, p := range u.PhoneNumbers {
		size += len(p.Value) + 3
	}
	rec, values := appendSearchRecordN(make([]byte, 0, size), u)
	im.search, im.values = rec[:len(rec):len(rec)], values
	return rec[len(rec):]
}

// appsOf returns the ids of the applications u has a link to.
func appsOf(u *schemas.User) []string {
	var apps []string
	for a, l := range u.Apps {
		if l != nil {
			apps = append(apps, a)
		}
	}
	return apps
}

// imageAfter computes the image of nu, a changed copy of the user whose
// image is old. Most updates change none of the values the search record
// holds before its times (see encodeSearchRecordN), but every update changes
// the record's lastModified: when those values are the same, nu shares old's
// unique keys, login identifiers, email keys and postings, which are made of
// them only (the primary email and phone number included: the record holds
// each element's primary flag); it shares old's sort keys when the whole
// record is the same, and old's group ids when they are equal. An image is
// never modified once computed, so sharing is safe. When values changed,
// nu's postings are old's with the changed attributes' pairs replaced
// (postingsAfter), not computed from scratch.
func imageAfter(old *userImage, nu *schemas.User) *userImage {
	if old == nil || nu == nil {
		return imageOf(nu)
	}
	im := &userImage{}
	buf := im.encode(nu)
	if string(im.search[:im.values]) == string(old.search[:old.values]) {
		im.keys, im.logins, im.emails, im.posts = old.keys, old.logins, old.emails, old.posts
	} else {
		im.keys, im.posts = keysOfUser(nu), postingsAfter(old.posts, changedPostings(old.search, im.search), nu)
		im.logins = storage.AppendLoginIDs(im.loginArr[:0], nu)
		im.emails = appendEmailKeys(im.emailArr[:0], nu)
	}
	if string(im.search) == string(old.search) {
		im.sorts = old.sorts
	} else {
		im.sorts, _ = appendSortKeys(buf, nu)
	}
	if slices.Equal(old.groups, nu.GroupIDs) {
		im.groups = old.groups
	} else {
		im.groups = slices.Clone(nu.GroupIDs)
	}
	im.apps = appsOf(nu)
	return im
}
