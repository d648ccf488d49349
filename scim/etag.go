package scim

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
)

// condition is a parsed If-Match or If-None-Match header (RFC 7232): a list
// of entity tags (weak or strong, compared weakly) or "*".
type condition struct {
	present bool
	any     bool
	tags    []int64 // versions; entity tags that are not versions never match
}

func parseCondition(h string) condition {
	h = strings.TrimSpace(h)
	if h == "" {
		return condition{}
	}
	c := condition{present: true}
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			c.any = true
			continue
		}
		t = strings.TrimPrefix(strings.TrimPrefix(t, "W/"), "w/")
		t = strings.Trim(t, `"`)
		if v, err := strconv.ParseInt(t, 10, 64); err == nil {
			c.tags = append(c.tags, v)
		}
	}
	return c
}

// matches reports whether the condition holds for version.
func (c condition) matches(version int64) bool {
	if c.any {
		return true
	}
	for _, v := range c.tags {
		if v == version {
			return true
		}
	}
	return false
}

// ifVersion returns the version to pass to a compare-and-swap update for the
// request's If-Match header, given the current version (0 when the header is
// absent or "*"), or a 412.
func (c *call) ifVersion(current int64) (int64, error) {
	m := parseCondition(c.r.Header.Get("If-Match"))
	switch {
	case !m.present || m.any:
		return 0, nil
	case m.matches(current):
		return current, nil
	}
	return 0, newError(http.StatusPreconditionFailed, "",
		"the resource has changed: If-Match does not match its current version %s", schemas.ETag(current))
}

// ifMatch is the request's If-Match condition.
func (c *call) ifMatch() condition { return parseCondition(c.r.Header.Get("If-Match")) }

// check is If-Match as a predicate on the version an update finds (it runs
// inside the compare-and-swap, so no pre-read is needed): nil when the
// header is absent, "*" or lists the version, else a precondition failure.
func (c condition) check(version int64) error {
	if !c.present || c.matches(version) {
		return nil
	}
	return directory.Errorf(directory.KindPrecondition,
		"the resource has changed: If-Match does not match its current version %s", schemas.ETag(version))
}

// hasIfMatch reports whether the request carries a version precondition.
func (c *call) hasIfMatch() bool {
	m := parseCondition(c.r.Header.Get("If-Match"))
	return m.present && !m.any
}

// notModified answers 304 when If-None-Match matches the version.
func (c *call) notModified(version int64) bool {
	m := parseCondition(c.r.Header.Get("If-None-Match"))
	if !m.present || !m.matches(version) {
		return false
	}
	c.setETag(version)
	c.w.WriteHeader(http.StatusNotModified)
	return true
}

// setETag sets the response's ETag header to the version's. It does what
// Header().Set("ETag", …) does, with the value's slice kept in the call
// rather than allocated (its capacity of 1 makes a later Add copy).
func (c *call) setETag(version int64) {
	c.etag[0] = schemas.ETag(version)
	c.w.Header()["Etag"] = c.etag[:] // "ETag" in canonical form
}
