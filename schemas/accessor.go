package schemas

// accessor reads attribute values; filled in by the catalog.
type accessor struct{}
