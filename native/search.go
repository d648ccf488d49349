package native

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/directory"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Paging of GET /cis/v1/users, /groups and /groups/{group_id}/members.
const (
	// DefaultPageLimit is the page size when page_limit is absent (Transmit
	// documents none; 1000 is the default of its SCIM `count`).
	DefaultPageLimit = 1000
	// MaxPageLimit is the largest page_limit accepted (Transmit's maximum).
	MaxPageLimit = 10000
)

// nativeParse returns the parse options of native search for p; now is the
// directory's time, at which password_information.expired is decided.
func nativeParse(p directory.Principal, now time.Time) schemas.ParseOptions {
	return schemas.ParseOptions{Resource: schemas.UserResource, Dialect: schemas.NativeDialect, AppID: p.AppID, Now: now}
}

// searchFilter builds the filter of the `search` and `search_prefix`
// parameters. search_prefix matches the primary email or phone number that
// starts with the prefix; it is built as a filter tree, never by splicing
// user input into filter text.
func searchFilter(q url.Values, p directory.Principal, now time.Time) (schemas.Filter, error) {
	opt := nativeParse(p, now)
	var f schemas.Filter
	if s := q.Get("search"); strings.TrimSpace(s) != "" {
		var err error
		if f, err = schemas.ParseFilter(s, opt); err != nil {
			return nil, err
		}
	}
	if q.Has("search_prefix") {
		prefix := q.Get("search_prefix")
		// An unencoded "+" in a query string arrives as a space: "+1212" sent
		// as-is reads " 1212"; a phone prefix never starts with a space.
		if strings.HasPrefix(prefix, " ") && len(prefix) > 1 && prefix[1] >= '0' && prefix[1] <= '9' {
			prefix = "+" + prefix[1:]
		}
		if prefix == "" {
			return nil, badRequest("search_prefix must not be empty")
		}
		var terms []schemas.Filter
		for _, name := range []string{"email", "phone_number"} {
			path, err := schemas.ParsePath(name, opt)
			if err != nil {
				return nil, err
			}
			terms = append(terms, &schemas.Compare{Path: path, Op: schemas.OpSw, Value: schemas.Value{Kind: schemas.KindString, Str: prefix}})
		}
		var pf schemas.Filter = &schemas.Or{Left: terms[0], Right: terms[1]}
		if f == nil {
			f = pf
		} else {
			f = &schemas.And{Left: f, Right: pf}
		}
	}
	return f, nil
}

// intParam reads a non-negative integer query parameter, def when absent.
func intParam(q url.Values, name string, def, max int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badRequest("%s must be a non-negative integer", name)
	}
	if max > 0 && n > max {
		return 0, badRequest("%s must be at most %d", name, max)
	}
	return n, nil
}

// pageParams reads page_offset (default 0) and page_limit (default
// DefaultPageLimit, at most MaxPageLimit; 0 returns only the total), the
// paging of every native list.
func pageParams(q url.Values) (offset, limit int, err error) {
	if offset, err = intParam(q, "page_offset", 0, 0); err != nil {
		return 0, 0, err
	}
	limit, err = intParam(q, "page_limit", DefaultPageLimit, MaxPageLimit)
	return offset, limit, err
}

// userQuery reads the list parameters of GET /cis/v1/users.
func userQuery(q url.Values, p directory.Principal, now time.Time) (storage.Query, error) {
	f, err := searchFilter(q, p, now)
	if err != nil {
		return storage.Query{}, err
	}
	offset, limit, err := pageParams(q)
	if err != nil {
		return storage.Query{}, err
	}
	query := storage.Query{Filter: f, Offset: offset, Limit: limit}
	desc := false
	switch strings.ToLower(q.Get("sort_order")) {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return storage.Query{}, badRequest("sort_order must be asc or desc")
	}
	if field := q.Get("sort_field"); field != "" {
		path, err := schemas.ParsePath(field, nativeParse(p, now))
		if err != nil {
			return storage.Query{}, err
		}
		query.Sort = &schemas.SortKey{Path: path, Descending: desc}
	} else if desc {
		path, _ := schemas.ParsePath("created_at", nativeParse(p, now))
		query.Sort = &schemas.SortKey{Path: path, Descending: true}
	}
	return query, nil
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	q, err := userQuery(r.URL.Query(), p, h.svc.Now())
	if err != nil {
		return err
	}
	page, err := h.svc.ListUsers(r.Context(), p, q)
	if err != nil {
		return err
	}
	return h.writeUsers(w, r, p, page, q.Offset)
}

// writeUsers answers 200 with a page of users (starting at offset), each as
// the caller's projection shows it.
func (h *Handler) writeUsers(w http.ResponseWriter, r *http.Request, p directory.Principal, page storage.Page[*schemas.User], offset int) error {
	o, err := h.projection(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(page.Items))
	for i, u := range page.Items {
		out[i] = projectUser(u, o)
	}
	writeJSON(w, http.StatusOK, listEnvelope(page.Total, offset, len(out), out))
	return nil
}

// listEnvelope is the paged list body {total_count, page_info, result}.
func listEnvelope(total, offset, n int, items any) map[string]any {
	return map[string]any{
		"total_count": total,
		"page_info":   map[string]any{"has_next_page": offset+n < total, "has_previous_page": offset > 0 && total > 0},
		"result":      items,
	}
}

func (h *Handler) countUsers(w http.ResponseWriter, r *http.Request, p directory.Principal) error {
	f, err := searchFilter(r.URL.Query(), p, h.svc.Now())
	if err != nil {
		return err
	}
	page, err := h.svc.ListUsers(r.Context(), p, storage.Query{Filter: f, Limit: 0})
	if err != nil {
		return err
	}
	return result(w, http.StatusOK, map[string]any{"user_count": page.Total})
}
