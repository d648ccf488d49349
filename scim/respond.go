package scim

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/internal/jsonw"
)

// writeJSON answers status with v as the body. The body is encoded whole
// before anything is written, so that an encoding error is answered as one;
// it is written by jsonw (what encoding/json writes, without its reflection).
// A rendered resource (groupResource) is appended by its
// renderer straight into the body.
func (c *call) writeJSON(status int, v any) {
	c.writeBody(status, func(dst []byte) ([]byte, error) { return appendValue(dst, v) })
}

// rendered is a resource its renderer (wire.AppendSCIMGroup)
// appends where the response needs it, instead of into a buffer of its own.
type rendered func(dst []byte) ([]byte, error)

// appendValue appends v: a rendered resource, or a value jsonw encodes.
func appendValue(dst []byte, v any) ([]byte, error) {
	if r, ok := v.(rendered); ok {
		return r(dst)
	}
	return jsonw.Append(dst, v, false)
}

// writeBody answers status with the JSON body encode appends to a pooled
// buffer; an encoding error is answered instead.
func (c *call) writeBody(status int, encode func(dst []byte) ([]byte, error)) {
	bp := bodyBuffers.Get().(*[]byte)
	defer putBodyBuffer(bp)
	b, err := encode((*bp)[:0])
	if err != nil {
		c.fail(toAPIError(err))
		return
	}
	b = append(b, '\n')
	*bp = b
	c.w.Header()["Content-Type"] = scimContentTypeValue
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
}

// bodyBuffers holds the buffers responses are encoded into, so that a
// response reuses the memory of an earlier one instead of allocating its own.
var bodyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody is the largest buffer kept for reuse: a page of 100 users
// fits; one that held a larger page or a large group is let go rather than
// held by the pool.
const maxPooledBody = 256 << 10

func putBodyBuffer(b *[]byte) {
	if cap(*b) > maxPooledBody {
		return
	}
	*b = (*b)[:0]
	bodyBuffers.Put(b)
}

// fail answers err as a SCIM error body.
func (c *call) fail(err error) { c.h.writeError(c.w, c.r, c.base, err) }

// writeError answers err as the SCIM error body of the base the request came
// in on, records err as the cause of the answer (for the log) and sets the
// headers that go with it (Retry-After). A client that went away is answered
// (to nobody) 499.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, base string, err error) {
	ae := toAPIError(err)
	if httpx.ClientGone(r, err) {
		ae = newError(httpx.StatusClientClosedRequest, "", "client closed request")
	}
	httpx.Fail(h.log, r, ae.Status, err)
	httpx.SetRetryAfter(w.Header(), ae.Status, directory.RetryAfterOf(err))
	var body []byte
	if baseSemantics[base].transmitErrors {
		body, _ = json.Marshal(transmitError{Schemas: errorURN, Status: ae.Status, Detail: ae.Detail})
	} else {
		body, _ = json.Marshal(ae.ScimError)
	}
	w.Header().Set("Content-Type", scimContentType)
	w.WriteHeader(ae.Status)
	_, _ = w.Write(body)
}

// decodeBody reads a JSON object request body of at most limit bytes.
func (c *call) decodeBody(limit int64) (map[string]any, error) {
	raw, err := c.readBody(limit)
	if err != nil {
		return nil, err
	}
	return decodeObject(raw)
}

// readBody reads a JSON request body of at most limit bytes (the face's
// MaxBodyBytes when limit <= 0), undecoded, into a pooled buffer that is
// the request's until it is answered (releaseBody): what is decoded from it
// must not keep views of it (jsonw's values never do).
func (c *call) readBody(limit int64) ([]byte, error) {
	if !httpx.IsJSONMediaType(c.r.Header.Get("Content-Type")) {
		return nil, newError(http.StatusUnsupportedMediaType, "",
			"the request body must be application/scim+json or application/json")
	}
	if limit <= 0 {
		limit = c.h.opts.MaxBodyBytes
	}
	if c.body == nil {
		c.body = bodyBuffers.Get().(*[]byte)
	}
	b, err := httpx.ReadJSONBody((*c.body)[:0], c.r, limit)
	if b != nil {
		*c.body = b // keep what it grew to
	}
	return b, err
}

// releaseBody gives the request body's buffer back to the pool, once the
// request is answered.
func (c *call) releaseBody() {
	if c.body != nil {
		putBodyBuffer(c.body)
		c.body = nil
	}
}

// decodeObject decodes a request body that must be a JSON object.
func decodeObject(raw []byte) (map[string]any, error) {
	v, err := httpx.DecodeJSONValue(raw)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, invalidSyntax("the request body must be a JSON object")
	}
	return m, nil
}
