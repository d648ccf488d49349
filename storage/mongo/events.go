package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// eventDoc is the stored form of a schemas.Event. Changes are an array of
// {field, prev, current} (field names such as "name.givenName" cannot be
// document keys in the portable subset); the values are stored as free-form JSON.
type eventDoc struct {
	Head    eventHeadDoc `bson:",inline"` // a named field: the codec skips unexported embedded types
	Changes []changeDoc  `bson:"changes,omitempty"`
}

// event is the event the head tells, without changes.
func (h *eventHeadDoc) event() *schemas.Event {
	return &schemas.Event{ID: h.ID, Time: utc(h.Time), ActorID: h.ActorID, ActorType: h.ActorType, Action: h.Action,
		TargetID: h.TargetID, TargetType: h.TargetType, IP: h.IP, UserAgent: h.UserAgent}
}

type changeDoc struct {
	Field   string `bson:"field"`
	Prev    any    `bson:"prev"`
	Current any    `bson:"current"`
}

// AppendEvent stores an audit event that is not part of a change (one round trip).
func (s *Store) AppendEvent(ctx context.Context, e *schemas.Event) error {
	d, err := eventToDoc(e)
	if err != nil {
		return err
	}
	return s.insert(ctx, s.events, d, "event "+e.ID, []conflictCheck{{storage.FieldID, "_id", d.Head.ID}})
}

// Audit events of changes. Without multi-document transactions a change and
// its event cannot be written atomically, so the event is written first
// (durable as the deployment's write concern makes it) and the change after
// it; when the change is refused (refused reports which failures are
// refusals), the event is deleted again. A change is thus never stored without
// its event; a crash, or a failure other than a refusal, between the two
// writes can leave an event whose change was not made.

// audited makes the change under its event e (nil: no event), as above.
func (s *Store) audited(ctx context.Context, e *schemas.Event, change func() error) error {
	if e == nil {
		return change()
	}
	d, err := eventToDoc(e)
	if err != nil {
		return err
	}
	if err := s.writeEvents(ctx, d); err != nil {
		return err
	}
	err = change()
	if refused(err) {
		s.dropEvent(ctx, d.Head.ID)
	}
	return err
}

// refused reports whether err is a refusal of a change that was then not
// made: the store's domain errors, which every method returns only before it
// writes.
func refused(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrVersionMismatch)
}

// writeEvents stores the events of a change about to be made, in order (one
// round trip; none without events). Each replaces an event with the same id:
// a compare-and-swap that lost its race writes the events of its next
// attempt over those of the last one.
func (s *Store) writeEvents(ctx context.Context, ds ...*eventDoc) error {
	if len(ds) == 0 {
		return nil
	}
	models := make([]mdb.WriteModel, len(ds))
	for i, d := range ds {
		models[i] = mdb.NewReplaceOneModel().SetFilter(bson.D{{Key: "_id", Value: d.Head.ID}}).SetReplacement(d).SetUpsert(true)
	}
	if _, err := s.events.BulkWrite(ctx, models); err != nil {
		return wrap(err, "write %s", eventsNamed(ds, err))
	}
	return nil
}

// eventsNamed names the events of a failed write of ds in its error: the
// one the server reports failing, else the one event, else the range.
func eventsNamed(ds []*eventDoc, err error) string {
	var bwe mdb.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 {
		if i := bwe.WriteErrors[0].Index; i >= 0 && i < len(ds) {
			return fmt.Sprintf("audit event %s (%d of %d)", ds[i].Head.ID, i+1, len(ds))
		}
	}
	if len(ds) == 1 {
		return "audit event " + ds[0].Head.ID
	}
	return fmt.Sprintf("%d audit events %s … %s", len(ds), ds[0].Head.ID, ds[len(ds)-1].Head.ID)
}

// dropEvent deletes the event of a refused change, even when ctx is canceled.
// If that fails, the event stays (see audited).
func (s *Store) dropEvent(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = s.events.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
}

// eventToDoc converts an event to its stored form.
func eventToDoc(e *schemas.Event) (*eventDoc, error) {
	if e == nil || e.ID == "" {
		return nil, errors.New("mongo: audit event: no id")
	}
	d := &eventDoc{Head: eventHeadDoc{ID: e.ID, Time: e.Time.UTC(), ActorID: e.ActorID, ActorType: e.ActorType,
		Action: e.Action, TargetID: e.TargetID, TargetType: e.TargetType, IP: e.IP, UserAgent: e.UserAgent}}
	fields := make([]string, 0, len(e.Changes))
	for f := range e.Changes {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		ch := e.Changes[f]
		prev, err := jsonToBSON(ch.Prev)
		if err != nil {
			return nil, fmt.Errorf("mongo: audit event %s: change %s: %w", e.ID, f, err)
		}
		cur, err := jsonToBSON(ch.Current)
		if err != nil {
			return nil, fmt.Errorf("mongo: audit event %s: change %s: %w", e.ID, f, err)
		}
		d.Changes = append(d.Changes, changeDoc{Field: f, Prev: prev, Current: cur})
	}
	return d, nil
}

func (d *eventDoc) event() (*schemas.Event, error) {
	e := d.Head.event()
	if len(d.Changes) > 0 {
		e.Changes = make(map[string]schemas.Change, len(d.Changes))
		for _, c := range d.Changes {
			prev, err := bsonToJSON(c.Prev)
			if err != nil {
				return nil, fmt.Errorf("mongo: event %s: change %s: %w", d.Head.ID, c.Field, err)
			}
			cur, err := bsonToJSON(c.Current)
			if err != nil {
				return nil, fmt.Errorf("mongo: event %s: change %s: %w", d.Head.ID, c.Field, err)
			}
			e.Changes[c.Field] = schemas.Change{Prev: prev, Current: cur}
		}
	}
	return e, nil
}

// ListEvents returns one page of the matching events, newest first, paged by
// the server (a find and a count).
func (s *Store) ListEvents(ctx context.Context, q storage.EventQuery) (storage.Page[*schemas.Event], error) {
	var page storage.Page[*schemas.Event]
	filter := bson.D{}
	if q.TargetID != "" {
		filter = append(filter, bson.E{Key: "targetId", Value: q.TargetID})
	}
	if q.ActorID != "" {
		filter = append(filter, bson.E{Key: "actorId", Value: q.ActorID})
	}
	if q.Action != "" {
		filter = append(filter, bson.E{Key: "action", Value: q.Action})
	}
	var tr bson.D
	if !q.Since.IsZero() {
		tr = append(tr, bson.E{Key: "$gte", Value: q.Since.UTC()})
	}
	if !q.Until.IsZero() {
		tr = append(tr, bson.E{Key: "$lt", Value: q.Until.UTC()})
	}
	if tr != nil {
		filter = append(filter, bson.E{Key: "time", Value: tr})
	}
	docs, total, err := listServer[bson.Raw](ctx, s.events, filter,
		bson.D{{Key: "time", Value: -1}, {Key: "_id", Value: -1}}, q.Offset, q.Limit)
	if err != nil {
		return page, wrap(err, "list events")
	}
	page.Total = total
	for _, raw := range docs {
		page.Items = append(page.Items, readEvent(raw))
	}
	return page, nil
}

// eventHeadDoc is an eventDoc without its changes.
type eventHeadDoc struct {
	ID         string    `bson:"_id"`
	Time       time.Time `bson:"time"`
	ActorID    string    `bson:"actorId,omitempty"`
	ActorType  string    `bson:"actorType,omitempty"`
	Action     string    `bson:"action,omitempty"`
	TargetID   string    `bson:"targetId,omitempty"`
	TargetType string    `bson:"targetType,omitempty"`
	IP         string    `bson:"ip,omitempty"`
	UserAgent  string    `bson:"userAgent,omitempty"`
}

// readEvent decodes a stored event. A document that cannot be decoded in full
// (written by a bug or another version) comes back with what its head tells
// and Damaged set, so that one bad document never breaks reading the log.
func readEvent(raw bson.Raw) *schemas.Event {
	var d eventDoc
	err := bson.Unmarshal(raw, &d)
	if err == nil {
		var e *schemas.Event
		if e, err = d.event(); err == nil {
			return e
		}
	}
	var h eventHeadDoc
	if herr := bson.Unmarshal(raw, &h); herr != nil {
		// Even the head is unreadable: keep the id, if that can be read.
		h = eventHeadDoc{}
		if v, lerr := raw.LookupErr("_id"); lerr == nil {
			h.ID, _ = v.StringValueOK()
		}
	}
	e := h.event()
	e.Damaged = "the stored record could not be decoded: " + err.Error()
	return e
}

// PruneEvents deletes up to limit events older than before, oldest first
// (see storage.Store): the ids of the oldest are read, then deleted with the
// time condition repeated, so an event is never deleted unless it is old.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	old := bson.D{{Key: "time", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}}
	cur, err := s.events.Find(ctx, old, options.Find().SetSort(bson.D{{Key: "time", Value: 1}, {Key: "_id", Value: 1}}).
		SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, wrap(err, "prune events")
	}
	var ids []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &ids); err != nil {
		return 0, wrap(err, "prune events")
	}
	if len(ids) == 0 {
		return 0, nil
	}
	in := make(bson.A, len(ids))
	for i, d := range ids {
		in[i] = d.ID
	}
	res, err := s.events.DeleteMany(ctx, append(old, bson.E{Key: "_id", Value: bson.D{{Key: "$in", Value: in}}}))
	if err != nil {
		return 0, wrap(err, "prune events")
	}
	return int(res.DeletedCount), nil
}
