package storage

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scimd/scimd/storage/mongo"
)

// TestFerretDBDropsReplacedIndexes: a database made before the events'
// targetId_time and actorId_time indexes has a plain targetId index; Open
// creates the new ones and drops that one (every event write paid for it).
func TestFerretDBDropsReplacedIndexes(t *testing.T) {
	uri, db := freshDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events := rawDatabase(t, uri, db).Collection("events")
	if _, err := events.Indexes().CreateOne(ctx, driver.IndexModel{Keys: bson.D{{Key: "targetId", Value: 1}},
		Options: options.Index().SetName("targetId")}); err != nil {
		t.Fatal(err)
	}
	s, err := mongo.OpenOptions(ctx, uri, db, mongo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	specs, err := events.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, sp := range specs {
		have[sp.Name] = true
	}
	if have["targetId"] || !have["targetId_time"] || !have["actorId_time"] {
		t.Fatalf("indexes on events after Open: %v; want targetId_time and actorId_time, not targetId", have)
	}
}
