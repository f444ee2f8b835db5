package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/store"
)

// quarantineView lists the records the catalog refused.
type quarantineView struct {
	layout
	Flows, Statuses, Sinces []option
	Key                     string
	Rows                    []quarantineRow
	NextURL                 string
	Filtered                bool
}

type quarantineRow struct {
	ID            int64
	URL           string
	Received      stamp
	Flow, FlowURL string
	Key           string
	Stage         string
	Reason        string
	More          int
	Status        health
}

func quarantineHealth(st seam.QuarantineStatus) health {
	switch st {
	case seam.QuarantineOpen:
		return health{Level: "warn", Label: "open", Icon: "▲"}
	case seam.QuarantineReplayed:
		return health{Level: "ok", Label: "replayed", Icon: "✓"}
	}
	return health{Level: "muted", Label: string(st), Icon: "–"}
}

func (u *UI) quarantine(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	status := q.Get("status")
	if !q.Has("status") {
		status = string(seam.QuarantineOpen) // what needs someone, by default
	}
	v := &quarantineView{layout: u.layoutFor(r, s, "Quarantine"), Flows: u.flowOptions(q.Get("flow")), Sinces: sinceOptions(q.Get("since")),
		Key:      strings.TrimSpace(q.Get("key")),
		Statuses: options(status, "open", "Open", "replayed", "Replayed", "discarded", "Discarded", "", "Any status")}
	v.Filtered = v.Key != "" || q.Get("flow") != "" || q.Get("since") != ""
	if id := q.Get("discarded"); id != "" {
		v.Flash = &flash{Level: "ok", Text: "Entry #" + id + " was discarded; the reason is in the audit log.", Link: "/audit#log", More: "Audit log"}
	}
	since, until, err := u.timeFilter(r)
	if err != nil {
		return err
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	list, err := u.opts.Ledger.QuarantineList(r.Context(), &store.QuarantineFilter{Flow: q.Get("flow"), Key: v.Key,
		Status: seam.QuarantineStatus(status), Since: since, Until: until, BeforeID: before, Limit: pageSize})
	if err != nil {
		return err
	}
	for _, e := range list {
		row := quarantineRow{ID: e.ID, URL: quarantineURL(e.ID), Received: u.stamp(e.ReceivedAt), Flow: e.Flow, FlowURL: flowURL(e.Flow),
			Key: e.Key, Stage: string(e.Stage), Status: quarantineHealth(e.Status)}
		if len(e.Reasons) > 0 {
			row.Reason, row.More = short(e.Reasons[0].String(), 110), len(e.Reasons)-1
		}
		v.Rows = append(v.Rows, row)
	}
	if len(list) == pageSize {
		nq := r.URL.Query()
		nq.Set("before", strconv.FormatInt(list[len(list)-1].ID, 10))
		v.NextURL = "/quarantine?" + nq.Encode()
	}
	u.render(w, http.StatusOK, "quarantine", v)
	return nil
}

// quarantineEntryView is one refused record, with its replay and discard.
type quarantineEntryView struct {
	layout
	ID                 int64
	Flow, FlowURL, Key string
	Stage              string
	Status             health
	Open               bool
	Received           stamp
	MessageURL         string
	ContentType, Body  string
	Reasons            []reasonView
	Check              *replayCheck // the outcome of a dry run or of a refused replay
	Reason             string       // what the operator typed, kept on a refusal
	FormError          string
}

// replayCheck is what the current catalog makes of the record.
type replayCheck struct {
	DryRun    bool
	Accepted  bool
	Key       string
	Canonical string
	Reasons   []reasonView
}

func (u *UI) quarantineEntry(w http.ResponseWriter, r *http.Request, s *session) error {
	v, err := u.entryView(r, s)
	if err != nil {
		return err
	}
	u.render(w, http.StatusOK, "quarantine_entry", v)
	return nil
}

func (u *UI) entryView(r *http.Request, s *session) (*quarantineEntryView, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, seam.Errorf(seam.ENOTFOUND, "%q is not a quarantine entry", r.PathValue("id"))
	}
	e, err := u.opts.Ledger.QuarantineGet(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v := &quarantineEntryView{layout: u.layoutFor(r, s, fmt.Sprintf("Quarantine #%d", id)), ID: id, Flow: e.Flow, FlowURL: flowURL(e.Flow),
		Key: e.Key, Stage: string(e.Stage), Status: quarantineHealth(e.Status), Open: e.Status == seam.QuarantineOpen,
		Received: u.stamp(e.ReceivedAt), MessageURL: messageURL(e.MessageID), ContentType: e.ContentType, Body: prettyJSON(e.Body)}
	v.Reasons = reasonsOf(e.Reasons)
	return v, nil
}

func reasonsOf(rs []seam.Reason) []reasonView {
	var out []reasonView
	for _, re := range rs {
		out = append(out, reasonView{Stage: string(re.Stage), Field: re.Field, Value: re.Value, Rule: re.Rule, Message: re.Message})
	}
	return out
}

func checkOf(res *ops.QuarantineResult) *replayCheck {
	return &replayCheck{DryRun: res.DryRun, Accepted: res.Accepted, Key: res.Key, Canonical: prettyJSON(res.Canonical), Reasons: reasonsOf(res.Reasons)}
}

// quarantineReplay runs the record through the current catalog: as a dry
// run first (showing the canonical record it would become, or why it is
// still refused), then for real.
func (u *UI) quarantineReplay(w http.ResponseWriter, r *http.Request, s *session) error {
	v, err := u.entryView(r, s)
	if err != nil {
		return err
	}
	v.Reason = strings.TrimSpace(r.PostFormValue("reason"))
	dry := r.PostFormValue("step") != "confirm"
	res, err := u.opts.Ops.QuarantineReplay(r.Context(), v.ID, s.Name, v.Reason, dry)
	if err != nil {
		return err
	}
	if !dry && res.Accepted {
		http.Redirect(w, r, withQuery(messageURL(res.MessageID), "from_quarantine", itoa(int(v.ID))), http.StatusSeeOther)
		return nil
	}
	v.Check = checkOf(res)
	status := http.StatusOK
	if !dry {
		// Refused again: nothing changed, and the page says why.
		status = http.StatusConflict
	}
	u.render(w, status, "quarantine_entry", v)
	return nil
}

// quarantineDiscard closes an entry without replaying it; the reason is
// required because it is the audit log's only record of why.
func (u *UI) quarantineDiscard(w http.ResponseWriter, r *http.Request, s *session) error {
	v, err := u.entryView(r, s)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if err := u.opts.Ops.QuarantineDiscard(r.Context(), v.ID, s.Name, reason); err != nil {
		if seam.ErrorCode(err) != seam.EINVALID {
			return err
		}
		v.FormError = seam.ErrorMessage(err)
		u.render(w, http.StatusBadRequest, "quarantine_entry", v)
		return nil
	}
	http.Redirect(w, r, withQuery("/quarantine", "discarded", itoa(int(v.ID))), http.StatusSeeOther)
	return nil
}
