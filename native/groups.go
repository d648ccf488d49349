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

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	page, err := h.svc.ListGroups(r.Context(), p, storage.Query{Limit: storage.Unlimited})
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(page.Items))
	for i, g := range page.Items {
		out[i] = projectGrp(g)
	}
	return result(w, http.StatusOK, out)
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

func (h *Handler) groupMembers(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	ids, err := h.svc.GroupMemberIDs(r.Context(), p, mux.Vars(r)["group_id"])
	if err != nil {
		return err
	}
	o, err := h.projection(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		u, err := h.svc.GetUser(r.Context(), p, id)
		if directory.KindOf(err) == directory.KindNotFound {
			continue // deleted since the membership was read
		}
		if err != nil {
			return err
		}
		out = append(out, projectUser(u, o))
	}
	return result(w, http.StatusOK, out)
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
