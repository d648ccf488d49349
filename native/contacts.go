package native

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/scimd/scimd/directory"
)

// changeToPrimary reads the verify body {"change_to_primary": bool}; an empty
// body means false.
func (h *Handler) changeToPrimary(r *http.Request) (bool, error) {
	body, err := h.optionalObject(r)
	if err != nil {
		return false, err
	}
	f := fields(body)
	if err := f.only("change_to_primary"); err != nil {
		return false, err
	}
	return f.boolean("change_to_primary", false)
}

func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	primary, err := h.changeToPrimary(r)
	if err != nil {
		return err
	}
	v := mux.Vars(r)
	if _, err := h.svc.VerifyEmail(r.Context(), p, v["user_id"], v["email"], primary); err != nil {
		return err
	}
	return noContent(w, http.StatusAccepted)
}

func (h *Handler) verifyPhone(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	primary, err := h.changeToPrimary(r)
	if err != nil {
		return err
	}
	v := mux.Vars(r)
	if _, err := h.svc.VerifyPhoneNumber(r.Context(), p, v["user_id"], v["phone_number"], primary); err != nil {
		return err
	}
	return noContent(w, http.StatusAccepted)
}

func (h *Handler) removeSecondaryEmail(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	v := mux.Vars(r)
	if err := h.svc.RemoveSecondaryEmail(r.Context(), p, v["user_id"], v["email"]); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}

func (h *Handler) removeSecondaryPhone(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	v := mux.Vars(r)
	if err := h.svc.RemoveSecondaryPhoneNumber(r.Context(), p, v["user_id"], v["phone_number"]); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}
