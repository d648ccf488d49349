package mongo

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// userCursor is a Query.After of ListUsers. Every cursor names the sort it
// belongs to (Sort, the canonical path of Query.Sort, empty for id order,
// and Desc, its direction); beside that, for a listing the server can sort
// (serverSort), it holds the position of the last user listed — the sort
// field, that user's value of it and id — so that the next page is a range
// of the field's index whatever its depth; for any other sort, the offset
// of the next page in the listing sorted in memory.
type userCursor struct {
	Sort   string     `json:"p,omitempty"`
	Desc   bool       `json:"d,omitempty"`
	Field  string     `json:"f,omitempty"`
	Str    string     `json:"s,omitempty"`
	Time   *time.Time `json:"t,omitempty"`
	ID     string     `json:"i,omitempty"`
	Offset int        `json:"o,omitempty"`
}

// encode is the cursor as Query.After of a listing sorted by k (nil: id
// order), naming that sort.
func (c *userCursor) encode(k *schemas.SortKey) string {
	c.Sort, c.Desc = sortOf(k)
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sortOf is the sort k as a cursor names it: its canonical path and
// direction; empty for id order.
func sortOf(k *schemas.SortKey) (path string, desc bool) {
	if k == nil {
		return "", false
	}
	return k.Path.String(), k.Descending
}

// parseUserCursor reads q.After for a listing sorted by sort (the server's
// sort of q.Sort, nil when it has none): a position in the sort's first
// field, or an offset for a sort the server cannot run. A cursor made for
// another sort attribute or direction, or not by encode, is ErrBadCursor.
func parseUserCursor(q storage.Query, sort bson.D) (*userCursor, error) {
	if q.After == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(q.After)
	var c userCursor
	if err != nil || json.Unmarshal(b, &c) != nil {
		return nil, storage.ErrBadCursor
	}
	path, desc := sortOf(q.Sort)
	switch {
	case c.Sort != path || c.Desc != desc:
		return nil, storage.ErrBadCursor
	case sort != nil && c.Field == sort[0].Key && c.ID != "" && (c.Time != nil) == timeField(c.Field):
	case sort == nil && c.Field == "" && c.Offset > 0:
	default:
		return nil, storage.ErrBadCursor
	}
	return &c, nil
}

// timeField reports a sort field holding times.
func timeField(f string) bool { return f == "created" || f == "updated" }

// cursorAt is the position of u in a listing sorted by the server on field.
func cursorAt(u *schemas.User, field string) *userCursor {
	c := &userCursor{Field: field, ID: u.ID}
	if timeField(field) {
		t := timeOf(u, field)
		c.Time = &t
	} else if field != "_id" {
		c.Str = sortKeyOf(u, sortPathOf(field))
	}
	return c
}

// timeOf is u's value of the time field (created or updated), in UTC.
func timeOf(u *schemas.User, field string) time.Time {
	if field == "updated" {
		return utc(u.Updated)
	}
	return utc(u.Created)
}

// compare orders u against the cursor's position in a listing sorted on
// its field in direction dir (1 or -1), ties by id ascending: > 0 when u
// comes after it.
func (c *userCursor) compare(u *schemas.User, dir int) int {
	var d int
	switch {
	case c.Field == "_id":
		return dir * strings.Compare(u.ID, c.ID)
	case c.Time != nil:
		d = timeOf(u, c.Field).Compare(*c.Time)
	default:
		d = strings.Compare(sortKeyOf(u, sortPathOf(c.Field)), c.Str)
	}
	return cmp.Or(dir*d, strings.Compare(u.ID, c.ID))
}

// after is the condition "comes after the cursor's position" of a find
// sorted on its field in direction dir, ties by _id ascending. Beside the
// $or that says it exactly, it bounds the field itself ($gte or $lte of
// the cursor's value): a bound the planner turns into the start of the
// range of the field's sort index, so that the find reads from the
// position whatever else the filter says, where an $or alone (contained
// in the filter's $and) may leave it scanning the index from its start.
func (c *userCursor) after(dir int) bson.D {
	op, from := "$gt", "$gte"
	if dir < 0 {
		op, from = "$lt", "$lte"
	}
	if c.Field == "_id" {
		return bson.D{{Key: "_id", Value: bson.D{{Key: op, Value: c.ID}}}}
	}
	var v any = c.Str
	if c.Time != nil {
		v = *c.Time
	}
	return bson.D{
		{Key: c.Field, Value: bson.D{{Key: from, Value: v}}},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: c.Field, Value: bson.D{{Key: op, Value: v}}}},
			bson.D{{Key: c.Field, Value: v}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: c.ID}}}},
		}},
	}
}

// listUsersServer pages users on the server from the cursor's position: a
// find of Limit+1 (the one more tells whether a next page exists), and a
// count of the filter (without the position) bounded by q.CountLimit.
func listUsersServer(ctx context.Context, c *mdb.Collection, filter, sort bson.D, cur *userCursor, q storage.Query) (storage.Page[*schemas.User], error) {
	var page storage.Page[*schemas.User]
	dir, _ := sort[0].Value.(int)
	find := filter
	if cur != nil {
		find = bson.D{{Key: "$and", Value: bson.A{filter, cur.after(dir)}}}
	}
	offset := max(q.Offset, 0)
	var docs []userDoc
	if q.Limit != 0 {
		o := options.Find().SetSort(sort)
		if offset > 0 {
			o.SetSkip(int64(offset))
		}
		if q.Limit > 0 {
			o.SetLimit(int64(q.Limit) + 1)
		}
		var err error
		if docs, err = findAll[userDoc](ctx, c, find, o); err != nil {
			return page, wrap(err, "list users")
		}
	}
	more := q.Limit > 0 && len(docs) > q.Limit
	if more {
		docs = docs[:q.Limit]
	}
	items, err := decodeAll(docs, (*userDoc).user)
	if err != nil {
		return page, err
	}
	page.Items = items
	switch {
	case cur == nil && !more && (len(docs) > 0 || offset == 0) && q.Limit != 0:
		// A last page not past the end tells the total by itself.
		page.Total = offset + len(docs)
	default:
		o := options.Count()
		if q.CountLimit > 0 {
			o.SetLimit(int64(q.CountLimit) + 1)
		}
		n, err := c.CountDocuments(ctx, filter, o)
		if err != nil {
			return page, wrap(err, "count users")
		}
		page.Total = int(n)
		if q.CountLimit > 0 && page.Total > q.CountLimit {
			page.Total, page.Capped = q.CountLimit, true
		}
	}
	if more && len(items) > 0 {
		page.Next = cursorAt(items[len(items)-1], sort[0].Key).encode(q.Sort)
	}
	return page, nil
}

// pageUsersInMemory cuts the page of q from every match, sorted: after the
// cursor's position (sort is the server's sort of q.Sort) or offset, with
// the Next cursor of the same kind.
func pageUsersInMemory(all []*schemas.User, sort bson.D, cur *userCursor, q storage.Query) storage.Page[*schemas.User] {
	start := 0
	switch {
	case cur != nil && sort != nil:
		// all is in the order of the server's sort (sortKeyOf): the users
		// after the position are a suffix of it.
		dir, _ := sort[0].Value.(int)
		start, _ = slices.BinarySearchFunc(all, cur, func(u *schemas.User, c *userCursor) int {
			if c.compare(u, dir) > 0 {
				return 1
			}
			return -1
		})
	case cur != nil:
		start = min(cur.Offset, len(all))
	}
	rest := all[start:]
	items := pageOf(rest, q.Offset, q.Limit)
	page := storage.Page[*schemas.User]{Items: items, Total: len(all)}
	end := min(max(q.Offset, 0), len(rest)) + len(items)
	if q.Limit > 0 && len(items) > 0 && end < len(rest) {
		if sort != nil {
			page.Next = cursorAt(items[len(items)-1], sort[0].Key).encode(q.Sort)
		} else {
			page.Next = (&userCursor{Offset: start + end}).encode(q.Sort)
		}
	}
	return page
}
