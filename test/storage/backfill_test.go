package storage

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/mongo"
	"github.com/scimd/scimd/storage/storagetest"
)

// TestBackfillNorm checks that users stored before the norm sort keys and
// search copies existed get them when a store opens the database: sorted
// listings and sw on the name parts, which the server now answers from
// them, then equal the reference evaluator's.
func TestBackfillNorm(t *testing.T) {
	uri, db := freshDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := mongo.Open(ctx, uri, db)
	if err != nil {
		t.Fatal(err)
	}
	var all []*schemas.User
	for i := 1; i <= 30; i++ {
		u, err := s.CreateUser(ctx, storagetest.NewUser(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, u)
	}
	s.Close()
	// As a database written before them: no norm.sort, no search copies.
	unset := bson.D{}
	for _, f := range []string{"norm.sort", "norm.givenName", "norm.familyName", "norm.displayName", "norm.emails", "norm.phones"} {
		unset = append(unset, bson.E{Key: f, Value: ""})
	}
	if _, err := rawDatabase(t, uri, db).Collection("users").UpdateMany(ctx, bson.D{}, bson.D{{Key: "$unset", Value: unset}}); err != nil {
		t.Fatal(err)
	}
	if s, err = mongo.Open(ctx, uri, db); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opt := schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.SCIMDialect}
	for _, c := range []struct{ filter, sort string }{
		{"", "name.familyName"}, {"", "userName"}, {"", "emails.value"},
		{`name.givenName sw "gr" or name.familyName sw "lov" or emails.value sw "ada"`, ""},
	} {
		q := storage.Query{Limit: storage.Unlimited}
		if c.filter != "" {
			if q.Filter, err = schemas.ParseFilter(c.filter, opt); err != nil {
				t.Fatal(err)
			}
		}
		if c.sort != "" {
			p, err := schemas.ParsePath(c.sort, opt)
			if err != nil {
				t.Fatal(err)
			}
			q.Sort = &schemas.SortKey{Path: p, Descending: true}
		}
		var want []string
		ref := slices.Clone(all)
		if q.Sort != nil {
			schemas.SortUsers(ref, q.Sort)
		}
		for _, u := range ref {
			if schemas.MatchUser(q.Filter, u) {
				want = append(want, u.ID)
			}
		}
		page, err := s.ListUsers(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range page.Items {
			got = append(got, u.ID)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s sorted by %s desc after the backfill:\n got  %v\n want %v", c.filter, c.sort, got, want)
		}
	}
}
