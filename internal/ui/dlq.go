package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/store"
)

// dlqView lists the dead letters, with what an operator can do to them.
type dlqView struct {
	layout
	Flows, Sinces     []option
	Route, Key, Error string
	Filter            []hidden // the filter again, for "redrive all matching"
	Filtered          bool
	Rows              []*deliveryRow
	Heading           string
	More              bool
	NextURL           string
}

type hidden struct{ Name, Value string }

func (u *UI) dlq(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	v := &dlqView{layout: u.layoutFor(r, s, "Dead letters"), Flows: u.flowOptions(q.Get("flow")), Sinces: sinceOptions(q.Get("since")),
		Route: q.Get("route"), Key: strings.TrimSpace(q.Get("key")), Error: q.Get("error")}
	for _, k := range []string{"flow", "route", "key", "error", "since"} {
		if val := strings.TrimSpace(q.Get(k)); val != "" {
			v.Filter = append(v.Filter, hidden{Name: k, Value: val})
			v.Filtered = true
		}
	}
	if n, _ := strconv.Atoi(q.Get("replayed")); q.Has("replayed") {
		refused, _ := strconv.Atoi(q.Get("refused"))
		v.Flash = &flash{Level: "ok", Text: fmt.Sprintf("Redrive done: %d %s sent again, %d refused.", n, plural(int64(n), "delivery", "deliveries"), refused)}
		if refused > 0 {
			v.Flash.Level = "warn"
		}
		if a := q.Get("audit"); a != "" {
			v.Flash.Link, v.Flash.More = "/audit#log", "Recorded in the audit log as #"+a
		}
	}
	since, until, err := u.timeFilter(r)
	if err != nil {
		return err
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	ds, err := u.opts.Ledger.DeliveryList(r.Context(), &store.DeliveryFilter{Flow: q.Get("flow"), Route: v.Route, Key: v.Key,
		ErrorContains: v.Error, Since: since, Until: until, States: []seam.DeliveryState{seam.DeliveryDead}, BeforeID: before, Limit: pageSize})
	if err != nil {
		return err
	}
	v.Rows = u.deliveryRows(ds)
	v.Heading = fmt.Sprintf("%d dead %s", len(ds), plural(int64(len(ds)), "letter", "letters"))
	if len(ds) == pageSize {
		v.More = true
		nq := r.URL.Query()
		nq.Set("before", strconv.FormatInt(ds[len(ds)-1].ID, 10))
		v.NextURL = "/dlq?" + nq.Encode()
		v.Heading = fmt.Sprintf("Newest %d of more dead letters", len(ds))
		// Filtered by flow and route at most, the ledger's counts say
		// how many there are in all.
		if v.Key == "" && v.Error == "" && q.Get("since") == "" && q.Get("from") == "" && q.Get("to") == "" {
			if total, err := u.deadCount(r, q.Get("flow"), v.Route); err == nil {
				v.Heading = fmt.Sprintf("Newest %d of %s dead letters", len(ds), count(total))
			}
		}
	}
	u.render(w, http.StatusOK, "dlq", v)
	return nil
}

// deadCount is how many dead letters a flow (and route) holds, from the
// ledger's per-route counts.
func (u *UI) deadCount(r *http.Request, flow, route string) (int64, error) {
	stats, err := u.opts.Ledger.RouteStats(r.Context(), &store.StatsParams{Flow: flow, Now: u.opts.Now()})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, st := range stats {
		if route == "" || st.Route == route {
			n += st.Counts[seam.DeliveryDead]
		}
	}
	return n, nil
}

// reviewView is the dry run of a redrive: what would be sent now, and how
// it differs from what was sent before, with the button that does it.
type reviewView struct {
	layout
	Matched, Replay, Refused, Changed int
	Items                             []reviewItem
	IDs                               []int64
	Back, BackLabel                   string
	Reason                            string
	ForceOffered, Force               bool
}

type reviewItem struct {
	DeliveryID    int64
	Flow, FlowURL string
	Route, Key    string
	TraceURL      string
	Action        health
	Why           string
	Changes       []changeRow
}

// changeRow is one field of a diff; a field that is not there at all
// reads "absent" rather than a blank.
type changeRow struct {
	Field, Before, After      string
	BeforeAbsent, AfterAbsent bool
}

// dlqReplay is both steps of a redrive: the dry run, which selects the
// deliveries (by the ones ticked, or by the filter) and shows the diff,
// and the confirmation, which sends exactly the deliveries reviewed.
func (u *UI) dlqReplay(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := r.ParseForm(); err != nil {
		return seam.Errorf(seam.EINVALID, "the form could not be read")
	}
	f := r.PostForm
	back := safeNext(f.Get("back"))
	if f.Get("back") == "" {
		back = "/dlq"
	}
	p := &ops.ReplayParams{Actor: s.Name, Reason: strings.TrimSpace(f.Get("reason")), Force: f.Get("force") == "1"}
	for _, raw := range f["delivery_id"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			return seam.Errorf(seam.EINVALID, "%q is not a delivery id", raw)
		}
		p.DeliveryIDs = append(p.DeliveryIDs, id)
	}
	switch f.Get("step") {
	case "dry-run":
		p.DryRun = true
		if f.Get("all") == "1" {
			// "All matching" means the filter, whatever rows were ticked.
			p.DeliveryIDs = nil
		} else if len(p.DeliveryIDs) == 0 {
			return seam.Errorf(seam.EINVALID, "tick at least one dead letter, or choose “all matching the filter”")
		}
		if len(p.DeliveryIDs) == 0 {
			p.Flow, p.Route, p.Key, p.ErrorContains = f.Get("flow"), f.Get("route"), f.Get("key"), f.Get("error")
			p.State = seam.DeliveryDead
			if d := f.Get("since"); d != "" {
				dur, err := time.ParseDuration(d)
				if err != nil || dur <= 0 {
					return seam.Errorf(seam.EINVALID, "%q is not a time range such as 1h", d)
				}
				p.Since = u.opts.Now().Add(-dur)
			}
			if p.Flow == "" && p.Key == "" && p.ErrorContains == "" && p.Since.IsZero() {
				return seam.Errorf(seam.EINVALID, "filter by flow, key, error or time before redriving “all matching”").
					WithHint("a redrive of every dead letter at once is refused on purpose: narrow it down first")
			}
		}
		res, err := u.opts.Ops.Replay(r.Context(), p)
		if err != nil {
			return err
		}
		v := &reviewView{layout: u.layoutFor(r, s, "Review the redrive"), Matched: res.Matched, Refused: res.Refused, Changed: res.Changed,
			Back: back, BackLabel: "Dead letters", Reason: p.Reason, Force: p.Force}
		if strings.HasPrefix(back, "/messages/") {
			v.BackLabel = "Message"
		}
		for _, it := range res.Items {
			ri := reviewItem{DeliveryID: it.DeliveryID, Flow: it.Flow, FlowURL: flowURL(it.Flow), Route: it.Route, Key: it.Key,
				TraceURL: traceURL(it.Key), Why: it.Why}
			if it.Action == "replay" {
				v.Replay++
				v.IDs = append(v.IDs, it.DeliveryID)
				ri.Action = health{Level: "ok", Label: "will be sent", Icon: "↻"}
				if len(it.Changes) == 0 {
					ri.Action.Label = "will be sent, unchanged"
				}
			} else {
				ri.Action = health{Level: "fail", Label: "refused", Icon: "✕"}
				if strings.Contains(it.Why, "force") {
					v.ForceOffered = true
				}
			}
			for _, ch := range it.Changes {
				ri.Changes = append(ri.Changes, changeRow{Field: ch.Field, Before: jsonValue(ch.Before), After: jsonValue(ch.After),
					BeforeAbsent: ch.Before == nil, AfterAbsent: ch.After == nil})
			}
			v.Items = append(v.Items, ri)
		}
		u.render(w, http.StatusOK, "review", v)
		return nil
	case "confirm":
		if len(p.DeliveryIDs) == 0 {
			return seam.Errorf(seam.EINVALID, "nothing to send: the review listed no delivery that can be sent")
		}
		res, err := u.opts.Ops.Replay(r.Context(), p)
		if err != nil {
			return err
		}
		http.Redirect(w, r, withQuery(back, "replayed", itoa(res.Replayed), "refused", itoa(res.Refused), "audit", i64(res.AuditID)), http.StatusSeeOther)
		return nil
	}
	return seam.Errorf(seam.EINVALID, "unknown step %q", f.Get("step"))
}

// withQuery adds parameters to a local path that may already have some.
func withQuery(p string, kv ...string) string {
	u, err := url.Parse(p)
	if err != nil {
		return p
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func i64(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}
