package schemas

import "time"

// Group is the canonical group document. Its members are not stored here: each
// member user carries the group's id (see [User.GroupIDs]), so that reading or
// renaming a group of 100,000 members costs nothing.
type Group struct {
	ID          string
	Version     int64
	DisplayName string // SCIM displayName, native name; unique, case-insensitive
	ExternalID  string
	Description string
	CustomData  map[string]any
	Created     time.Time
	Updated     time.Time
}

// Clone returns a deep copy of g.
func (g *Group) Clone() *Group {
	if g == nil {
		return nil
	}
	c := *g
	c.CustomData = CloneJSONObject(g.CustomData)
	return &c
}
