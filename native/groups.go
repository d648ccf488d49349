package native

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	body, err := h.object(r)
	if err != nil {
		return err
	}
	g := &schemas.Group{}
	if err := mergeGrp(g, body); err != nil {
		return err
	}
	created, err := h.svc.CreateGroup(r.Context(), p, g, nil)
	if err != nil {
		return err
	}
	return result(w, http.StatusCreated, projectGrp(created))
}

// listGroups serves GET /cis/v1/groups with page_offset/page_limit, as
// GET /cis/v1/users: {total_count, page_info, result}, in creation order.
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	offset, limit, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := h.svc.ListGroups(r.Context(), p, storage.Query{Offset: offset, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(page.Items))
	for i, g := range page.Items {
		out[i] = projectGrp(g)
	}
	writeJSON(w, http.StatusOK, listEnvelope(page.Total, offset, len(out), out))
	return nil
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	g, err := h.svc.GetGroup(r.Context(), p, mux.Vars(r)["group_id"])
	if err != nil {
		return err
	}
	return result(w, http.StatusOK, projectGrp(g))
}

func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	body, err := h.object(r)
	if err != nil {
		return err
	}
	g, err := h.svc.UpdateGroup(r.Context(), p, mux.Vars(r)["group_id"], 0, func(g *schemas.Group) error {
		return mergeGrp(g, schemas.CloneJSONObject(body))
	})
	if err != nil {
		return err
	}
	return result(w, http.StatusOK, projectGrp(g))
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	if err := h.svc.DeleteGroup(r.Context(), p, mux.Vars(r)["group_id"]); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}

// addMembers serves POST /groups/{group_id}/members {"user_ids": [...]}.
func (h *Handler) addMembers(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	body, err := h.object(r)
	if err != nil {
		return err
	}
	f := fields(body)
	if err := f.only("user_ids"); err != nil {
		return err
	}
	ids, ok, err := f.strings("user_ids")
	if err != nil {
		return err
	}
	if !ok {
		return badRequest("user_ids is required")
	}
	if err := h.svc.AddMembers(r.Context(), p, mux.Vars(r)["group_id"], ids); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}

// groupMembers serves GET /cis/v1/groups/{group_id}/members with
// page_offset/page_limit: {total_count, page_info, result: [User]}, the
// members the caller may see in creation order.
func (h *Handler) groupMembers(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	offset, limit, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := h.svc.ListGroupMembers(r.Context(), p, mux.Vars(r)["group_id"], storage.Query{Offset: offset, Limit: limit})
	if err != nil {
		return err
	}
	return h.writeUsers(w, r, p, page, offset)
}

// removeMember serves DELETE /groups/{group_id}/members/{user_id}: 404 when
// the group or the user does not exist (or is not visible); removing a user
// that is not a member succeeds.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	v := mux.Vars(r)
	if _, err := h.svc.GetGroup(r.Context(), p, v["group_id"]); err != nil {
		return err
	}
	if _, err := h.svc.GetUser(r.Context(), p, v["user_id"]); err != nil {
		return err
	}
	if err := h.svc.RemoveMembers(r.Context(), p, v["group_id"], []string{v["user_id"]}); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}
