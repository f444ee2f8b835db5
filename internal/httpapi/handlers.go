package httpapi

import (
	"net/http"
	"sort"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/store"
)

func (s *Server) flows(w http.ResponseWriter, r *http.Request, _ string) error {
	st, err := s.Ledger.RouteStats(r.Context(), &store.StatsParams{Flow: r.URL.Query().Get("flow")})
	if err != nil {
		return err
	}
	sort.Slice(st, func(i, j int) bool {
		if st[i].Flow != st[j].Flow {
			return st[i].Flow < st[j].Flow
		}
		return st[i].Route < st[j].Route
	})
	writeJSON(w, http.StatusOK, map[string]any{"routes": st})
	return nil
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request, _ string) error {
	q := &query{r: r}
	f := &store.MessageFilter{
		Flow: q.str("flow"), Key: q.str("key"), Status: seam.MessageStatus(q.str("status")),
		Since: q.time("since"), Until: q.time("until"), BeforeID: q.int("before"), Limit: int(q.int("limit")),
	}
	if q.err != nil {
		return q.err
	}
	list, err := s.Ledger.MessageList(r.Context(), f)
	return writeList(w, "messages", list, err)
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, _ string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := s.Ops.Message(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) deliveries(w http.ResponseWriter, r *http.Request, _ string) error {
	q := &query{r: r}
	f := &store.DeliveryFilter{
		MessageID: q.int("message"), Flow: q.str("flow"), Route: q.str("route"), Key: q.str("key"),
		Since: q.time("since"), Until: q.time("until"), ErrorContains: q.str("error"),
		BeforeID: q.int("before"), Limit: int(q.int("limit")),
	}
	for _, st := range r.URL.Query()["state"] {
		f.States = append(f.States, seam.DeliveryState(st))
	}
	if q.err != nil {
		return q.err
	}
	list, err := s.Ledger.DeliveryList(r.Context(), f)
	return writeList(w, "deliveries", list, err)
}

func (s *Server) delivery(w http.ResponseWriter, r *http.Request, _ string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Ops.Delivery(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) quarantineList(w http.ResponseWriter, r *http.Request, _ string) error {
	q := &query{r: r}
	f := &store.QuarantineFilter{
		Flow: q.str("flow"), Key: q.str("key"), Status: seam.QuarantineStatus(q.str("status")),
		Since: q.time("since"), Until: q.time("until"), BeforeID: q.int("before"), Limit: int(q.int("limit")),
	}
	if q.err != nil {
		return q.err
	}
	list, err := s.Ledger.QuarantineList(r.Context(), f)
	return writeList(w, "quarantine", list, err)
}

func (s *Server) quarantineGet(w http.ResponseWriter, r *http.Request, _ string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := s.Ledger.QuarantineGet(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entry": q, "body": string(q.Body)})
	return nil
}

type actionBody struct {
	Reason string `json:"reason"`
	DryRun bool   `json:"dry_run"`
}

func (s *Server) quarantineReplay(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var b actionBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	res, err := s.Ops.QuarantineReplay(r.Context(), id, actor, b.Reason, b.DryRun)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) quarantineDiscard(w http.ResponseWriter, r *http.Request, actor string) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var b actionBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if err := s.Ops.QuarantineDiscard(r.Context(), id, actor, b.Reason); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"discarded": id})
	return nil
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request, actor string) error {
	var p ops.ReplayParams
	if err := decodeBody(r, &p); err != nil {
		return err
	}
	p.Actor = actor
	res, err := s.Ops.Replay(r.Context(), &p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, _ string) error {
	q := &query{r: r}
	f := &store.AuditFilter{
		Actor: q.str("actor"), Action: q.str("action"), Target: q.str("target"),
		Since: q.time("since"), Until: q.time("until"), BeforeID: q.int("before"), Limit: int(q.int("limit")),
	}
	if q.err != nil {
		return q.err
	}
	list, err := s.Ledger.AuditList(r.Context(), f)
	return writeList(w, "audit", list, err)
}

// writeList answers a list under its name; an empty list is [], never
// null, so that clients can iterate without a check.
func writeList[T any](w http.ResponseWriter, name string, list []T, err error) error {
	if err != nil {
		return err
	}
	if list == nil {
		list = []T{}
	}
	writeJSON(w, http.StatusOK, map[string]any{name: list})
	return nil
}
