package scim

import (
	"net/http"

	"github.com/scimd/scimd/schemas"
)

// me serves /Me (RFC 7644 §3.11): the user of a user access token. Other
// tokens do not stand for a user, so /Me is not implemented for them.
func (c *call) me(tail string) {
	if c.p.UserID == "" {
		c.fail(newError(http.StatusNotImplemented, "", "/Me needs a user access token; this token belongs to an application or connector, not a user"))
		return
	}
	if tail != "" {
		c.fail(notFound("no SCIM endpoint at %s", c.r.URL.Path))
		return
	}
	id := c.p.UserID
	switch c.r.Method {
	case http.MethodGet:
		c.get(schemas.UserResource, id)
	case http.MethodPut:
		c.replace(schemas.UserResource, id)
	case http.MethodPatch:
		c.patch(schemas.UserResource, id)
	case http.MethodDelete:
		c.deleteResponse(schemas.UserResource, id)
	}
}
