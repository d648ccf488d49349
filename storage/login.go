package storage

import "github.com/scimd/scimd/schemas"

// LoginID is one login identifier of a user: a value a person logs in with.
type LoginID struct {
	// Field is the user's field it comes from: FieldUserName, FieldEmail or FieldPhoneNumber.
	Field string
	// Key is the value as the login identifier space compares it: userName and
	// primary email folded with schemas.Fold, the primary phone number as it is.
	Key string
}

// LoginIDs returns the login identifiers of u — its userName, primary email
// and primary phone number, in that order — each key once (a user whose
// userName is its email has one key for both). A nil user has none.
//
// Login identifiers form one key space: no two users may hold the same key,
// whichever fields it comes from (see Store).
func LoginIDs(u *schemas.User) []LoginID { return AppendLoginIDs(nil, u) }

// AppendLoginIDs appends the login identifiers of u (as LoginIDs lists them)
// to dst, for callers that keep them in an array of their own (a user has at
// most three).
func AppendLoginIDs(dst []LoginID, u *schemas.User) []LoginID {
	if u == nil {
		return dst
	}
	from := len(dst)
	add := func(field, key string) {
		if key == "" {
			return
		}
		for _, l := range dst[from:] {
			if l.Key == key {
				return
			}
		}
		dst = append(dst, LoginID{field, key})
	}
	add(FieldUserName, schemas.Fold(u.UserName))
	if e, ok := u.PrimaryEmail(); ok {
		add(FieldEmail, schemas.Fold(e.Value))
	}
	if p, ok := u.PrimaryPhone(); ok {
		add(FieldPhoneNumber, p.Value)
	}
	return dst
}

// AddedLoginIDs returns the identifiers of cur whose keys are not in prev: for
// a write that changes a user's identifiers from prev to cur, the ones it must
// claim (and, swapped, the ones it gives up).
func AddedLoginIDs(prev, cur []LoginID) []LoginID {
	var out []LoginID
next:
	for _, l := range cur {
		for _, h := range prev {
			if h.Key == l.Key {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}
