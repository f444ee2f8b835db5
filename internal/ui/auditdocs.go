package ui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/seamhq/seam/internal/audit"
	"github.com/seamhq/seam/internal/store"
)

// auditView is the landscape audit report and the operator audit log.
type auditView struct {
	layout
	Report     template.HTML
	ReportNote string
	Events     []auditRow
	NextURL    string
}

type auditRow struct {
	ID                int64
	At                stamp
	Actor, Action     string
	Target, TargetURL string
	Reason, Detail    string
	DetailURL         string
}

// auditDetail says in words what an event's JSON detail holds: the
// deliveries a replay sent, the message a quarantine replay created.
func auditDetail(raw []byte) (text, href string) {
	if len(raw) == 0 {
		return "", ""
	}
	var d struct {
		DeliveryIDs []int64 `json:"delivery_ids"`
		Changed     *int    `json:"changed"`
		MessageID   int64   `json:"message_id"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return short(string(raw), 120), ""
	}
	switch {
	case len(d.DeliveryIDs) > 0:
		var ids []string
		for _, id := range d.DeliveryIDs[:min(len(d.DeliveryIDs), 8)] {
			ids = append(ids, "#"+strconv.FormatInt(id, 10))
		}
		text = fmt.Sprintf("%d %s (%s", len(d.DeliveryIDs), plural(int64(len(d.DeliveryIDs)), "delivery", "deliveries"), strings.Join(ids, ", "))
		if len(d.DeliveryIDs) > 8 {
			text += ", …"
		}
		text += ")"
		if d.Changed != nil {
			text += fmt.Sprintf(", %d with a changed payload", *d.Changed)
		}
		return text, ""
	case d.MessageID != 0:
		return "became message #" + strconv.FormatInt(d.MessageID, 10), messageURL(d.MessageID)
	}
	return short(string(raw), 120), ""
}

func (u *UI) auditPage(w http.ResponseWriter, r *http.Request, s *session) error {
	v := &auditView{layout: u.layoutFor(r, s, "Audit")}
	if u.opts.Audit == nil {
		v.ReportNote = "The landscape audit is not available in this build."
	} else if rep, err := u.opts.Audit(r.Context()); err != nil {
		u.log.ErrorContext(r.Context(), "landscape audit", "err", err)
		v.ReportNote = "The landscape audit could not run: " + err.Error()
	} else {
		frag, err := audit.HTMLFragment(rep, flowURL, func(string) string { return "/" })
		if err != nil {
			return err
		}
		v.Report = frag
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	evs, err := u.opts.Ledger.AuditList(r.Context(), &store.AuditFilter{BeforeID: before, Limit: pageSize})
	if err != nil {
		return err
	}
	for _, e := range evs {
		row := auditRow{ID: e.ID, At: u.stamp(e.At), Actor: e.Actor, Action: e.Action, Target: e.Target, Reason: e.Reason}
		row.Detail, row.DetailURL = auditDetail(e.Detail)
		row.TargetURL = targetURL(e.Target)
		v.Events = append(v.Events, row)
	}
	if len(evs) == pageSize {
		v.NextURL = "/audit?before=" + strconv.FormatInt(evs[len(evs)-1].ID, 10) + "#log"
	}
	u.render(w, http.StatusOK, "audit", v)
	return nil
}

// targetURL links an audit target to its page where there is one.
func targetURL(t string) string {
	kind, val, ok := strings.Cut(t, ":")
	if !ok || val == "" {
		return ""
	}
	switch kind {
	case "flow":
		return flowURL(val)
	case "key":
		return traceURL(val)
	case "quarantine":
		if id, err := strconv.ParseInt(val, 10, 64); err == nil {
			return quarantineURL(id)
		}
	}
	return ""
}

// docsView is the placeholder shown while no docs site is wired in.
type docsView struct{ layout }

func (u *UI) docs(w http.ResponseWriter, r *http.Request, s *session) error {
	if u.opts.Docs != nil {
		http.StripPrefix("/docs", u.opts.Docs).ServeHTTP(w, r)
		return nil
	}
	u.render(w, http.StatusOK, "docs", &docsView{layout: u.layoutFor(r, s, "Docs")})
	return nil
}
