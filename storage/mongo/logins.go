package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Login identifiers (storage.LoginIDs: userName, primary email, primary
// phone) are unique across the three fields of all users. Separate sparse
// unique indexes cannot say that, and unique indexes on an array of a user's
// identifiers are not enforced by FerretDB v1, so each identifier a user holds
// is claimed by a document of collLogins whose _id is the identifier's key:
// only inserts are atomic on every server of the portable subset, and the _id
// index is unique everywhere.
//
// A writer that gives a user identifiers it did not hold inserts their claims
// first (a claim held by another user is a conflict), then checks that no
// other user holds them (users stored before claims existed have none), then
// writes the user; claims of identifiers a write dropped are deleted after it.
// A claim whose user does not hold the identifier belongs to a writer that is
// still working (it is waited for, briefly) or that crashed: such a claim is
// taken over once it is older than ClaimStaleAfter.

// loginClaim is the claim of one login identifier by one user.
type loginClaim struct {
	Key   string    `bson:"_id"`
	User  string    `bson:"user"`
	At    time.Time `bson:"at"`
	Nonce string    `bson:"nonce"` // this insert, so that a writer deletes only its own claim
}

// loginWaits bounds how often a claimer waits for a young claim whose user
// does not hold the identifier (a writer between its claim and its write).
const loginWaits = 20

// claimLogins claims ids for user id. It returns the claims it inserted (to be
// released if the write does not happen), or a *storage.ConflictError naming
// the field of the first identifier another user holds or claims; it then
// leaves no claim of its own behind.
func (s *Store) claimLogins(ctx context.Context, id string, ids []storage.LoginID) ([]loginClaim, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var mine []loginClaim
	fail := func(err error) ([]loginClaim, error) {
		s.releaseLogins(ctx, mine)
		return nil, err
	}
	// Usually every identifier is free: claim them all in one round trip, then
	// look closer at the ones that were not.
	now := time.Now().UTC().Truncate(time.Millisecond)
	docs := make([]any, len(ids))
	for i, l := range ids {
		docs[i] = loginClaim{Key: l.Key, User: id, At: now, Nonce: nonce()}
	}
	taken := make([]bool, len(ids))
	_, err := s.logins.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err != nil {
		var bwe mdb.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
			return nil, wrap(err, "claim login identifiers of user %s", id)
		}
		for _, we := range bwe.WriteErrors {
			if !isDuplicateKey(we) && we.Code != 11000 {
				for i := range ids { // which of the others were inserted is unknown: release all
					mine = append(mine, docs[i].(loginClaim))
				}
				return fail(wrap(err, "claim login identifiers of user %s", id))
			}
			if we.Index >= 0 && we.Index < len(ids) {
				taken[we.Index] = true
			}
		}
	}
	for i, l := range ids {
		if !taken[i] {
			mine = append(mine, docs[i].(loginClaim))
			continue
		}
		c, err := s.claimLogin(ctx, id, l)
		if err != nil {
			return fail(err)
		}
		if c != nil {
			mine = append(mine, *c)
		}
	}
	// Users written before claims existed hold identifiers without a claim.
	keys := make(bson.A, len(ids))
	for i, l := range ids {
		keys[i] = l.Key
	}
	in := bson.D{{Key: "$in", Value: keys}}
	var other userDoc
	err = s.users.FindOne(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$ne", Value: id}}},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "norm.userName", Value: in}}, bson.D{{Key: "norm.email", Value: in}}, bson.D{{Key: "norm.phone", Value: in}},
		}},
	}).Decode(&other)
	switch {
	case errors.Is(err, mdb.ErrNoDocuments):
		return mine, nil
	case err != nil:
		return fail(wrap(err, "check login identifiers of user %s", id))
	}
	u, err := other.user()
	if err != nil {
		return fail(err)
	}
	for _, l := range ids {
		if holds(u, l.Key) {
			return fail(storage.Conflict(l.Field))
		}
	}
	return fail(storage.Conflict(ids[0].Field)) // matched through a normalization the keys do not share
}

// claimLogin claims one identifier: it returns the claim it inserted, nil
// when user id already holds the claim, or a conflict.
func (s *Store) claimLogin(ctx context.Context, id string, l storage.LoginID) (*loginClaim, error) {
	for attempt := 0; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return nil, wrap(err, "claim login identifier")
		}
		c := loginClaim{Key: l.Key, User: id, At: time.Now().UTC().Truncate(time.Millisecond), Nonce: nonce()}
		_, err := s.logins.InsertOne(ctx, c)
		if err == nil {
			return &c, nil
		}
		if !isDuplicateKey(err) {
			return nil, wrap(err, "claim login identifier")
		}
		var cur loginClaim
		if err := s.logins.FindOne(ctx, bson.D{{Key: "_id", Value: l.Key}}).Decode(&cur); err != nil {
			if errors.Is(err, mdb.ErrNoDocuments) {
				continue // released meanwhile
			}
			return nil, wrap(err, "read login claim")
		}
		held, err := s.userHolds(ctx, cur.User, l.Key)
		if err != nil {
			return nil, err
		}
		switch {
		case held && cur.User == id:
			return nil, nil // ours already (a concurrent write of the same user)
		case held:
			return nil, storage.Conflict(l.Field)
		case time.Since(cur.At) > ClaimStaleAfter:
			// Its writer crashed or dropped the identifier without releasing it.
			if _, err := s.logins.DeleteOne(ctx, bson.D{{Key: "_id", Value: l.Key}, {Key: "nonce", Value: cur.Nonce}}); err != nil {
				return nil, wrap(err, "take over login claim")
			}
		case attempt >= loginWaits:
			return nil, storage.Conflict(l.Field) // another writer is taking it right now
		}
	}
}

// userHolds reports whether the user with the id currently holds the login identifier key.
func (s *Store) userHolds(ctx context.Context, id, key string) (bool, error) {
	d, err := s.getUserDoc(ctx, bson.D{{Key: "_id", Value: id}})
	if errors.Is(err, mdb.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, wrap(err, "read claiming user %s", id)
	}
	u, err := d.user()
	if err != nil {
		return false, err
	}
	return holds(u, key), nil
}

func holds(u *schemas.User, key string) bool {
	for _, l := range storage.LoginIDs(u) {
		if l.Key == key {
			return true
		}
	}
	return false
}

// releaseLogins deletes claims this writer inserted, even when ctx is canceled.
func (s *Store) releaseLogins(ctx context.Context, claims []loginClaim) {
	if len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, c := range claims {
		_, _ = s.logins.DeleteOne(ctx, bson.D{{Key: "_id", Value: c.Key}, {Key: "nonce", Value: c.Nonce}})
	}
}

// dropLogins deletes user id's claims of identifiers it no longer holds (a
// claim left behind is harmless: it is taken over once stale).
func (s *Store) dropLogins(ctx context.Context, id string, ids []storage.LoginID) {
	if len(ids) == 0 {
		return
	}
	keys := make(bson.A, len(ids))
	for i, l := range ids {
		keys[i] = l.Key
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = s.logins.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}, {Key: "user", Value: id}})
}

func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Failed logins (Store.AddLoginFailure) are one document each in
// collLoginFailures — {_id, user, at} — because an insert is atomic on every
// server of the portable subset, where an $inc or $push on one counter
// document loses updates on FerretDB v1.
type loginFailure struct {
	ID   string    `bson:"_id"`
	User string    `bson:"user"`
	At   time.Time `bson:"at"`
}

// AddLoginFailure records a failed login (an insert), forgets the user's
// failures at or before t-window (a delete) and counts the rest (a count):
// three round trips.
func (s *Store) AddLoginFailure(ctx context.Context, userID string, t time.Time, window time.Duration) (int, error) {
	t = t.UTC().Truncate(time.Millisecond)
	if _, err := s.failures.InsertOne(ctx, loginFailure{ID: nonce() + nonce(), User: userID, At: t}); err != nil {
		return 0, wrap(err, "record failed login of user %s", userID)
	}
	cutoff := t.Add(-window)
	if _, err := s.failures.DeleteMany(ctx, bson.D{{Key: "user", Value: userID}, {Key: "at", Value: bson.D{{Key: "$lte", Value: cutoff}}}}); err != nil {
		return 0, wrap(err, "forget old failed logins of user %s", userID)
	}
	n, err := s.failures.CountDocuments(ctx, bson.D{{Key: "user", Value: userID}, {Key: "at", Value: bson.D{{Key: "$gt", Value: cutoff}}}})
	if err != nil {
		return 0, wrap(err, "count failed logins of user %s", userID)
	}
	return int(n), nil
}

// LoginFailures counts the user's failed logins after since (one round trip).
func (s *Store) LoginFailures(ctx context.Context, userID string, since time.Time) (int, error) {
	n, err := s.failures.CountDocuments(ctx, bson.D{{Key: "user", Value: userID},
		{Key: "at", Value: bson.D{{Key: "$gt", Value: since.UTC().Truncate(time.Millisecond)}}}})
	if err != nil {
		return 0, wrap(err, "count failed logins of user %s", userID)
	}
	return int(n), nil
}

// ClearLoginFailures deletes the user's failed logins (one round trip).
func (s *Store) ClearLoginFailures(ctx context.Context, userID string) error {
	if _, err := s.failures.DeleteMany(ctx, bson.D{{Key: "user", Value: userID}}); err != nil {
		return wrap(err, "clear failed logins of user %s", userID)
	}
	return nil
}
