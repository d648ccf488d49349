package native

import (
	"net/http"
	"net/url"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Paging of GET /cis/v1/manage/audit-events.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 10000
)

// eventObject is the native form of an audit event, named after the fields of
// Transmit's admin activity entries.
func eventObject(e *schemas.Event) map[string]any {
	changes := e.Changes
	if changes == nil {
		changes = map[string]schemas.Change{}
	}
	o := map[string]any{
		"event_id": e.ID, "timestamp": isoTime(e.Time), "activity": e.Action,
		"actor_id": e.ActorID, "actor_type": e.ActorType,
		"target_resource_id": e.TargetID, "target_resource_type": e.TargetType,
		"ip": e.IP, "user_agent": e.UserAgent, "changes": changes,
	}
	if e.Damaged != "" {
		o["damaged"] = e.Damaged // the stored record was only partly readable
	}
	return o
}

func timeParam(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest("%s must be an RFC 3339 date-time such as 2026-01-01T00:00:00Z", name)
	}
	return t, nil
}

// listAuditEvents serves GET /cis/v1/manage/audit-events, newest first.
func (h *Handler) listAuditEvents(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	q := r.URL.Query()
	eq := storage.EventQuery{TargetID: q.Get("target_id"), ActorID: q.Get("actor_id"), Action: q.Get("action")}
	var err error
	if eq.Since, err = timeParam(q, "from"); err != nil {
		return err
	}
	if eq.Until, err = timeParam(q, "to"); err != nil {
		return err
	}
	if eq.Offset, err = intParam(q, "offset", 0, 0); err != nil {
		return err
	}
	if eq.Limit, err = intParam(q, "limit", DefaultAuditLimit, MaxAuditLimit); err != nil {
		return err
	}
	page, err := h.svc.ListEvents(r.Context(), p, eq)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(page.Items))
	for i, e := range page.Items {
		out[i] = eventObject(e)
	}
	writeJSON(w, http.StatusOK, listEnvelope(page.Total, eq.Offset, len(out), out))
	return nil
}
