package embedded

import (
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// uniqueKind names one unique index. The user kinds (kUserName..kExtID and
// kLogin) are in the file — kUserName, kEmail and kPhone answered by ix.login
// (see loginKind) —; the others are maps in memory.
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

// loginKind reports whether the unique user index kind is answered by
// ix.login: the userName, primary email and primary phone keys are login
// identifiers (storage.LoginIDs, the same folded values), which one key space
// keeps unique across the three fields. The owner of such a key is the
// owner of the login key when that user holds it in that field.
func loginKind(kind uniqueKind) bool { return kind == kUserName || kind == kEmail || kind == kPhone }

// clashKey is the key of a kept clash (see bucketLoginClash).
func clashKey(kind uniqueKind, key string) []byte { return append([]byte{byte(kind)}, key...) }

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

func (s *Store) indexGroup(id string, old, nu *schemas.Group) {
	s.reindex(kGroupName, id, keyOfGroup(old), keyOfGroup(nu))
}

func (s *Store) indexApp(id string, old, nu *schemas.App) {
	s.reindex(kClientID, id, keyOfApp(old), keyOfApp(nu))
}

func (s *Store) indexToken(id string, old, nu *schemas.APIToken) {
	s.reindex(kTokenHash, id, keyOfToken(old), keyOfToken(nu))
}

// loginKeys returns the keys of the login identifiers of u.
func loginKeys(u *schemas.User) []string {
	var out []string
	for _, l := range storage.LoginIDs(u) {
		out = append(out, l.Key)
	}
	return out
}
