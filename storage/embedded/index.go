package embedded

import (
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// uniqueKind names one unique index.
type uniqueKind uint8

const (
	kUserName  uniqueKind = iota // schemas.Fold(userName)
	kEmail                       // schemas.Fold(primary email)
	kPhone                       // primary phone number, exact
	kExtID                       // user externalId, exact
	kGroupName                   // schemas.Fold(group displayName)
	kClientID                    // app clientId, exact
	kTokenHash                   // API token hash, exact
	kLogin                       // storage.LoginIDs keys of every user: several per user
	numKinds
)

// conflictField is the storage.Field* name of each unique index.
var conflictField = [numKinds]string{
	kUserName:  storage.FieldUserName,
	kEmail:     storage.FieldEmail,
	kPhone:     storage.FieldPhoneNumber,
	kExtID:     storage.FieldExternalID,
	kGroupName: storage.FieldDisplayName,
	kClientID:  storage.FieldClientID,
	kTokenHash: storage.FieldTokenHash,
}

// userKeys are the unique-index keys of a user ("" when the field is empty),
// indexed by kUserName..kExtID.
type userKeys [kExtID + 1]string

func keysOfUser(u *schemas.User) (k userKeys) {
	if u == nil {
		return k
	}
	if u.UserName != "" {
		k[kUserName] = schemas.Fold(u.UserName)
	}
	if e, ok := u.PrimaryEmail(); ok && e.Value != "" {
		k[kEmail] = schemas.Fold(e.Value)
	}
	if p, ok := u.PrimaryPhone(); ok && p.Value != "" {
		k[kPhone] = p.Value
	}
	k[kExtID] = u.ExternalID
	return k
}

func keyOfGroup(g *schemas.Group) string {
	if g == nil || g.DisplayName == "" {
		return ""
	}
	return schemas.Fold(g.DisplayName)
}

func keyOfApp(a *schemas.App) string {
	if a == nil {
		return ""
	}
	return a.ClientID
}

func keyOfToken(t *schemas.APIToken) string {
	if t == nil {
		return ""
	}
	return t.Hash
}

// reindex moves id's entry of one unique index from oldKey to newKey.
// It removes oldKey only while it still points at id, so that applying the
// changes of a batch in any order gives the same index.
func (s *Store) reindex(kind uniqueKind, id, oldKey, newKey string) {
	if oldKey == newKey {
		return // unchanged: the index already maps it to id
	}
	m := s.idx[kind]
	if oldKey != "" && m[oldKey] == id {
		delete(m, oldKey)
	}
	if newKey != "" {
		m[newKey] = id
	}
}

// indexUser updates the unique, membership and assignment indexes for the
// change of user id from old to nu (either may be nil). The caller holds mu
// exclusively (or is Open).
func (s *Store) indexUser(id string, old, nu *schemas.User) {
	ok, nk := keysOfUser(old), keysOfUser(nu)
	for k := range ok {
		s.reindex(uniqueKind(k), id, ok[k], nk[k])
	}
	moveLogins(old, nu, func(oldKey, newKey string) { s.reindex(kLogin, id, oldKey, newKey) })
	var oldGroups, newGroups []string
	if old != nil {
		oldGroups = old.GroupIDs
	}
	if nu != nil {
		newGroups = nu.GroupIDs
	}
	for _, g := range oldGroups {
		if !contains(newGroups, g) {
			removeFromSet(s.members, g, id)
		}
	}
	for _, g := range newGroups {
		if !contains(oldGroups, g) {
			addToSet(s.members, g, id)
		}
	}
	if old != nil {
		for a := range old.Apps {
			if nu == nil || nu.Apps[a] == nil {
				removeFromSet(s.assigned, a, id)
			}
		}
	}
	if nu != nil {
		for a, l := range nu.Apps {
			if l != nil && (old == nil || old.Apps[a] == nil) {
				addToSet(s.assigned, a, id)
			}
		}
	}
}

func (s *Store) indexGroup(id string, old, nu *schemas.Group) {
	s.reindex(kGroupName, id, keyOfGroup(old), keyOfGroup(nu))
}

func (s *Store) indexApp(id string, old, nu *schemas.App) {
	s.reindex(kClientID, id, keyOfApp(old), keyOfApp(nu))
}

func (s *Store) indexToken(id string, old, nu *schemas.APIToken) {
	s.reindex(kTokenHash, id, keyOfToken(old), keyOfToken(nu))
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func addToSet(m map[string]map[string]struct{}, key, id string) {
	set := m[key]
	if set == nil {
		set = make(map[string]struct{})
		m[key] = set
	}
	set[id] = struct{}{}
}

func removeFromSet(m map[string]map[string]struct{}, key, id string) {
	set := m[key]
	delete(set, id)
	if len(set) == 0 {
		delete(m, key)
	}
}

// moveLogins calls move(key, "") for each login identifier key old holds and
// nu does not, and move("", key) for each that nu holds and old does not.
func moveLogins(old, nu *schemas.User, move func(oldKey, newKey string)) {
	before, after := storage.LoginIDs(old), storage.LoginIDs(nu)
	for _, l := range storage.AddedLoginIDs(after, before) {
		move(l.Key, "")
	}
	for _, l := range storage.AddedLoginIDs(before, after) {
		move("", l.Key)
	}
}
