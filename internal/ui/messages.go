package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// option is one <option> of a <select>.
type option struct {
	Value, Label string
	Selected     bool
}

func options(selected string, pairs ...string) []option {
	var out []option
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, option{Value: pairs[i], Label: pairs[i+1], Selected: pairs[i] == selected})
	}
	return out
}

func (u *UI) flowOptions(selected string) []option {
	out := []option{{Value: "", Label: "Any flow", Selected: selected == ""}}
	for _, name := range u.opts.Catalog().FlowNames() {
		out = append(out, option{Value: name, Label: name, Selected: name == selected})
	}
	return out
}

// sinceOptions are the quick time ranges of the search forms.
func sinceOptions(selected string) []option {
	return options(selected, "", "Any time", "15m", "Last 15 minutes", "1h", "Last hour", "24h", "Last 24 hours", "168h", "Last 7 days")
}

// timeFilter reads since (a duration back from now), from and to (the
// datetime-local inputs, in the dashboard's zone).
func (u *UI) timeFilter(r *http.Request) (since, until time.Time, err error) {
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 {
			return since, until, seam.Errorf(seam.EINVALID, "%q is not a time range such as 1h", v)
		}
		since = u.opts.Now().Add(-d)
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &since}, {"to", &until}} {
		v := q.Get(f.name)
		if v == "" {
			continue
		}
		t, perr := time.ParseInLocation("2006-01-02T15:04", v, u.opts.Location)
		if perr != nil {
			return since, until, seam.Errorf(seam.EINVALID, "%s: %q is not a date and time", f.name, v)
		}
		*f.dst = t
	}
	return since, until, nil
}

// messagesView is the message search.
type messagesView struct {
	layout
	Key, From, To   string
	Flows, Statuses []option
	Sinces          []option
	Table           messageTable
	NextURL         string
	Error           string
	Filtered        bool
	KeyIsID         string // the key looks like a message id: offer a link
	TraceURL        string
}

const pageSize = 50

func (u *UI) messages(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	v := &messagesView{layout: u.layoutFor(r, s, "Messages"), Key: strings.TrimSpace(q.Get("key")), From: q.Get("from"), To: q.Get("to"),
		Flows: u.flowOptions(q.Get("flow")), Sinces: sinceOptions(q.Get("since")),
		Statuses: options(q.Get("status"), "", "Any status", "accepted", "Accepted", "quarantined", "Quarantined")}
	v.Filtered = v.Key != "" || q.Get("flow") != "" || q.Get("status") != "" || q.Get("since") != "" || v.From != "" || v.To != ""
	since, until, err := u.timeFilter(r)
	if err != nil {
		v.Error = seam.ErrorMessage(err)
		u.render(w, http.StatusBadRequest, "messages", v)
		return nil
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	f := &store.MessageFilter{Key: v.Key, Flow: q.Get("flow"), Status: seam.MessageStatus(q.Get("status")),
		Since: since, Until: until, BeforeID: before, Limit: pageSize}
	msgs, err := u.opts.Ledger.MessageList(r.Context(), f)
	if err != nil {
		return err
	}
	if v.Table.Rows, err = u.messageRows(r.Context(), msgs); err != nil {
		return err
	}
	if len(msgs) == pageSize {
		nq := r.URL.Query()
		nq.Set("before", strconv.FormatInt(msgs[len(msgs)-1].ID, 10))
		v.NextURL = "/messages?" + nq.Encode()
	}
	if v.Key != "" {
		v.TraceURL = traceURL(v.Key)
		if _, err := strconv.ParseInt(v.Key, 10, 64); err == nil && len(msgs) == 0 {
			v.KeyIsID = messageURL(mustInt(v.Key))
		}
	}
	u.render(w, http.StatusOK, "messages", v)
	return nil
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// messageView is one message's journey.
type messageView struct {
	layout
	ID                  int64
	URL, ReplayLabel    string
	Key, TraceURL       string
	Flow, FlowURL       string
	System, SystemTitle string
	Intake              string
	Status              health
	Received            stamp
	TraceID             string
	ReplayOf            int64
	ReplayOfURL         string
	Routes              []*journeyRoute
	Reasons             []reasonView
	QuarantineURL       string
	Canonical, Body     string
	ContentType         string
	DeadIDs             []int64 // dead deliveries an operator may replay
	Done                string  // the outcome of a replay that led here
}

type journeyRoute struct {
	Name, To, ToTitle string
	DeliveryID        int64
	State             health
	IdempotencyKey    string
	Events            []journeyEvent
	End               string
	EndHealth         health
	Payload           string
	Dead              bool
}

// journeyEvent is one step of a route: an attempt or an operator action.
type journeyEvent struct {
	t        time.Time
	At       stamp
	Kind     string // attempt, operator
	Number   int
	Status   string
	Duration string
	Outcome  health
	Detail   string
	Actor    string
}

type reasonView struct {
	Stage, Field, Value, Rule, Message string
}

func (u *UI) message(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return seam.Errorf(seam.ENOTFOUND, "%q is not a message id", r.PathValue("id"))
	}
	md, err := u.opts.Ops.Message(r.Context(), id)
	if err != nil {
		return err
	}
	m := md.Message
	c := u.opts.Catalog()
	v := &messageView{layout: u.layoutFor(r, s, fmt.Sprintf("Message %d", id)), ID: id, URL: messageURL(id), Key: m.Key, TraceURL: traceURL(m.Key),
		Flow: m.Flow, FlowURL: flowURL(m.Flow), System: m.System, SystemTitle: m.System, Status: messageHealth(m.Status),
		Received: u.stamp(m.ReceivedAt), TraceID: m.TraceID, ReplayOf: m.ReplayOf, Canonical: prettyJSON(m.Canonical),
		Body: prettyJSON(m.Body), ContentType: m.ContentType}
	if sys, ok := c.Systems[m.System]; ok && sys.Title != "" {
		v.SystemTitle = sys.Title
	}
	if def, ok := c.Flows[m.Flow]; ok && def.Source.Webhook != nil {
		v.Intake = "POST " + def.Source.Webhook.Path
	}
	if m.ReplayOf != 0 {
		v.ReplayOfURL = messageURL(m.ReplayOf)
	}
	if q := r.URL.Query(); q.Has("replayed") {
		n, _ := strconv.Atoi(q.Get("replayed"))
		refused, _ := strconv.Atoi(q.Get("refused"))
		v.Flash = &flash{Level: "ok", Text: fmt.Sprintf("%d %s sent again; the journey below shows the new attempts as they happen.", n, plural(int64(n), "delivery", "deliveries"))}
		if refused > 0 {
			v.Flash.Level, v.Flash.Text = "warn", v.Flash.Text+fmt.Sprintf(" %d refused.", refused)
		}
		if a := q.Get("audit"); a != "" {
			v.Flash.Link, v.Flash.More = "/audit#log", "Audit log #"+a
		}
		v.Live = true
	}
	if q := r.URL.Query().Get("from_quarantine"); q != "" {
		v.Flash = &flash{Level: "ok", Text: "Quarantine entry #" + q + " was accepted by the current catalog and is now this message.", Link: "/quarantine/" + url.PathEscape(q), More: "See the entry"}
		v.Live = true
	}
	for _, q := range md.Quarantine {
		v.QuarantineURL = quarantineURL(q.ID)
		for _, re := range q.Reasons {
			v.Reasons = append(v.Reasons, reasonView{Stage: string(re.Stage), Field: re.Field, Value: re.Value, Rule: re.Rule, Message: re.Message})
		}
	}
	for _, d := range md.Deliveries {
		jr := &journeyRoute{Name: d.Route, DeliveryID: d.ID, State: stateHealth(d.State), IdempotencyKey: d.IdempotencyKey,
			Payload: prettyJSON(d.Payload), Dead: d.State == seam.DeliveryDead}
		if def, ok := c.Flows[m.Flow]; ok {
			for _, rt := range def.Routes {
				if routeName(rt) == d.Route {
					jr.To, jr.ToTitle = rt.To, rt.To
					if sys, ok := c.Systems[rt.To]; ok && sys.Title != "" {
						jr.ToTitle = sys.Title
					}
				}
			}
		}
		for i, a := range d.AttemptLog {
			ev := journeyEvent{t: a.StartedAt, At: u.stamp(a.StartedAt), Kind: "attempt", Number: a.Number, Status: "no answer", Duration: latency(a.Duration)}
			if a.Status != 0 {
				ev.Status = strconv.Itoa(a.Status)
			}
			switch {
			case a.Error == "":
				ev.Outcome = health{Level: "ok", Label: "delivered", Icon: "✓"}
			case i == len(d.AttemptLog)-1 && d.State == seam.DeliveryDead:
				ev.Outcome = health{Level: "fail", Label: "dead", Icon: "✕"}
			default:
				ev.Outcome = health{Level: "warn", Label: "failed, retried", Icon: "▲"}
			}
			ev.Detail = a.Error
			// The error often quotes the answer already; say it once.
			if resp := strings.TrimSpace(string(a.Response)); resp != "" && !strings.Contains(a.Error, resp[:min(len(resp), 40)]) {
				if ev.Detail != "" {
					ev.Detail += " — "
				}
				ev.Detail += short(resp, 300)
			}
			jr.Events = append(jr.Events, ev)
		}
		audits, err := u.opts.Ledger.AuditList(r.Context(), &store.AuditFilter{Target: fmt.Sprintf("delivery:%d", d.ID), Limit: 20})
		if err != nil {
			return err
		}
		for _, e := range audits {
			jr.Events = append(jr.Events, journeyEvent{t: e.At, At: u.stamp(e.At), Kind: "operator", Actor: e.Actor, Detail: e.Reason,
				Outcome: health{Level: "info", Label: e.Action, Icon: "↻"}})
		}
		sort.SliceStable(jr.Events, func(i, j int) bool { return jr.Events[i].t.Before(jr.Events[j].t) })
		jr.End, jr.EndHealth = u.journeyEnd(d.Delivery)
		if jr.Dead {
			v.DeadIDs = append(v.DeadIDs, d.ID)
		}
		if !d.State.Final() {
			v.Live = true // still moving: keep the journey up to date
		}
		v.Routes = append(v.Routes, jr)
	}
	v.ReplayLabel = "Replay the dead " + plural(int64(len(v.DeadIDs)), "delivery", "deliveries") + "…"
	u.render(w, http.StatusOK, "message", v)
	return nil
}

// journeyEnd says where a delivery stands now, in words.
func (u *UI) journeyEnd(d *seam.Delivery) (string, health) {
	h := stateHealth(d.State)
	switch d.State {
	case seam.DeliveryDelivered:
		return "Delivered " + u.stamp(d.DeliveredAt).Text, h
	case seam.DeliveryDead:
		return fmt.Sprintf("Dead after %d %s: waiting for an operator", d.Attempts, plural(int64(d.Attempts), "attempt", "attempts")), h
	case seam.DeliveryRetrying:
		return "Next attempt " + u.stamp(d.NextAt).Text, h
	case seam.DeliverySkipped:
		return "Skipped: the route's when: was false for this record", h
	case seam.DeliveryInFlight:
		return "Being sent now", h
	}
	return "Waiting to be sent", h
}
