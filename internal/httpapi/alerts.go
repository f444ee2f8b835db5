package httpapi

import (
	"net/http"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// alerts lists incidents, newest first: ?state=open|resolved|all, ?flow,
// ?since, ?before, ?limit.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request, _ string) error {
	if s.Alerts == nil {
		return seam.Errorf(seam.EUNAVAILABLE, "this Seam keeps no alert incidents").
			WithHint("alerts need a store that keeps incidents (the SQLite ledger does)")
	}
	q := &query{r: r}
	f := &store.IncidentFilter{Flow: q.str("flow"), Since: q.time("since"), BeforeID: q.int("before"), Limit: int(q.int("limit"))}
	switch st := q.str("state"); st {
	case "", "all":
	case "open", "resolved":
		f.State = seam.IncidentState(st)
	default:
		return seam.Errorf(seam.EINVALID, "state=%q is not open, resolved or all", st)
	}
	if q.err != nil {
		return q.err
	}
	list, err := s.Alerts.IncidentList(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*seam.Incident{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list})
	return nil
}
