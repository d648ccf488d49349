package storage

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/mongo"
)

// TestLoginClaims covers what the conformance suite cannot reach through the
// Store interface: users stored before login identifier claims existed (no
// claim documents), and claims left behind by a crashed writer.
func TestLoginClaims(t *testing.T) {
	uri, db := freshDatabase(t)
	ctx := t.Context()
	s, err := mongo.Open(ctx, uri, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	claims := rawDatabase(t, uri, db).Collection("loginIds")
	user := func(id, userName, email string) *schemas.User {
		u := &schemas.User{ID: id, UserName: userName, Status: schemas.StatusActive}
		if email != "" {
			u.Emails = []schemas.Email{{Value: email, Primary: true}}
		}
		return u
	}

	// A user from before claims: its identifiers still count.
	if _, err := s.CreateUser(ctx, user("legacy", "old", "old@example.com"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := claims.DeleteMany(ctx, bson.D{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, user("new1", "OLD@example.com", ""), nil); storage.ConflictField(err) != storage.FieldUserName {
		t.Fatalf("create with a legacy user's email as userName: %v, want a userName conflict", err)
	}
	if _, err := s.CreateUser(ctx, user("new2", "x", "old"), nil); storage.ConflictField(err) != storage.FieldEmail {
		t.Fatalf("create with a legacy user's userName as email: %v, want an email conflict", err)
	}
	if n, _ := claims.CountDocuments(ctx, bson.D{}); n != 0 {
		t.Fatalf("refused writes left %d claims", n)
	}
	// The legacy user can still be updated (its identifiers are not new to it).
	if _, err := s.UpdateUser(ctx, "legacy", 0, func(u *schemas.User) error { u.NickName = "n"; return nil }, nil); err != nil {
		t.Fatal(err)
	}

	// A stale claim of a user that does not hold the identifier is taken over;
	// a fresh one (a writer at work) is respected.
	stale := bson.D{{Key: "_id", Value: "stale@example.com"}, {Key: "user", Value: "ghost"},
		{Key: "at", Value: time.Now().Add(-time.Hour)}, {Key: "nonce", Value: "n1"}}
	fresh := bson.D{{Key: "_id", Value: "busy@example.com"}, {Key: "user", Value: "ghost"},
		{Key: "at", Value: time.Now()}, {Key: "nonce", Value: "n2"}}
	if _, err := claims.InsertMany(ctx, []any{stale, fresh}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, user("taker", "stale@example.com", ""), nil); err != nil {
		t.Fatalf("create over a stale claim: %v", err)
	}
	if _, err := s.CreateUser(ctx, user("blocked", "busy@example.com", ""), nil); storage.ConflictField(err) != storage.FieldUserName {
		t.Fatalf("create over a fresh claim: %v, want a userName conflict", err)
	}
	// Deleting a user releases its claims.
	if err := s.DeleteUser(ctx, "taker", nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := claims.CountDocuments(ctx, bson.D{{Key: "user", Value: "taker"}}); n != 0 {
		t.Fatalf("%d claims outlive their deleted user", n)
	}
}
