package ui

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/store"
)

// flowView is one flow's page: who owns it, what it does, how it is doing.
type flowView struct {
	layout
	Name, Title                   string
	Description, Runbook          []block
	Missing                       bool // the flow has history but is no longer in the catalog
	Health                        health
	Owner                         ownerView
	Source                        sourceView
	Model, Key                    string
	Tiles                         []tile
	Ranges                        []rangeLink
	Throughput, Errors            *chart
	Routes                        []*routeView
	Alerts                        []alertView
	Incidents                     []incidentView
	IncidentsKnown                bool
	Messages                      messageTable
	Dead                          []*deliveryRow
	MessagesURL, DeadURL, DocsURL string
}

type ownerView struct {
	ID, Name, Email, Chat string
}

type sourceView struct {
	System, SystemTitle, Webhook, Signature string
}

type rangeLink struct {
	Label, Href string
	Current     bool
}

type routeView struct {
	Name, To, ToTitle, Request, When   string
	Ordering, Retry, Timeout, Limits   string
	Health                             health
	Delivered, Pending, Retrying, Dead string
	LastSuccess                        stamp
	DeadURL                            string
}

type alertView struct{ Name, Rule, Severity string }

type incidentView struct {
	Health           health
	State, Rule      string
	Summary          string
	Opened, Resolved stamp
	Resolution       string
}

func (u *UI) flow(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("name")
	c := u.opts.Catalog()
	def, ok := c.Flows[name]
	l, err := u.gather(r.Context(), c, name)
	if err != nil {
		return err
	}
	f := l.flows[name]
	if !ok && (f == nil || len(f.Routes) == 0) {
		return seam.Errorf(seam.ENOTFOUND, "there is no flow %q", name).WithHint("the overview lists every flow")
	}
	if f == nil {
		f = &flowFacts{Name: name}
	}
	v := &flowView{layout: u.layoutFor(r, s, name), Name: name, Missing: !ok, Health: f.assess(l.now, l.series),
		MessagesURL: link("/messages", "flow", name), DeadURL: link("/dlq", "flow", name), DocsURL: "/docs/"}
	v.Live = true
	if ok {
		v.Title, v.Description, v.Runbook = def.Title, prose(def.Description), prose(def.Runbook)
		v.Model, v.Key = def.Model, def.Key.Src
		v.Owner = ownerOf(c, def.Owner)
		v.Source = sourceOf(c, def)
		for _, a := range def.Alerts {
			v.Alerts = append(v.Alerts, describeAlert(a))
		}
	}

	// Tiles: the same numbers as the overview's row, larger.
	backlog := "—"
	if t := f.oldestDue(); !t.IsZero() {
		backlog = humanDuration(l.now.Sub(t))
	}
	v.Tiles = []tile{{Label: "Status", Value: v.Health.Icon + " " + v.Health.Label, Sub: orDash(v.Health.Brief), Level: v.Health.Level}}
	if l.series {
		v.Tiles = append(v.Tiles,
			tile{Label: "Received", Value: count(f.Received), Sub: "last 15 min"},
			tile{Label: "Error rate", Value: f.errorRate(), Sub: count(f.Failed) + " failed " + plural(f.Failed, "attempt", "attempts") + ", 15 min"})
	}
	deadTile := tile{Label: "Dead letters", Value: count(f.dead()), Sub: "waiting for an operator", Href: v.DeadURL}
	if f.dead() > 0 {
		deadTile.Level = "fail"
	}
	v.Tiles = append(v.Tiles,
		tile{Label: "Backlog age", Value: backlog, Sub: "oldest not yet delivered"},
		deadTile,
		tile{Label: "Last success", Value: u.ago(f.lastSuccess()).Text, Sub: u.stamp(f.lastSuccess()).Text})

	// Charts over the chosen range.
	sp := spanOf(r.URL.Query().Get("range"))
	for _, x := range spans {
		v.Ranges = append(v.Ranges, rangeLink{Label: x.Label, Href: link(flowURL(name), "range", x.Key), Current: x.Key == sp.Key})
	}
	if u.opts.Series != nil {
		since, until := sp.window(l.now)
		pts, err := u.opts.Series.FlowSeries(r.Context(), &store.SeriesParams{Flow: name, Since: since, Until: until, Step: sp.Step})
		if err != nil {
			return err
		}
		bs := sp.buckets(l.now, name, pts)
		tc, ec := throughputChart("tp", bs, sp, u.opts.Location), errorChart("er", bs, sp, u.opts.Location)
		v.Throughput, v.Errors = &tc, &ec
	}

	for _, rf := range f.Routes {
		rv := &routeView{Name: rf.Name, To: rf.To, ToTitle: rf.To, Health: rf.assess(l.now),
			Delivered: count(rf.Delivered), Pending: count(rf.Pending + rf.InFlight), Retrying: count(rf.Retrying), Dead: count(rf.Dead),
			LastSuccess: u.ago(rf.LastDelivered), DeadURL: link("/dlq", "flow", name, "route", rf.Name)}
		if sys, ok := c.Systems[rf.To]; ok && sys.Title != "" {
			rv.ToTitle = sys.Title
		}
		if ok {
			for _, rt := range def.Routes {
				if routeName(rt) == rf.Name {
					describeRoute(rv, rt)
				}
			}
		}
		v.Routes = append(v.Routes, rv)
	}

	if u.opts.Incidents != nil {
		v.IncidentsKnown = true
		ins, err := u.opts.Incidents.IncidentList(r.Context(), &store.IncidentFilter{Flow: name, Limit: 10})
		if err != nil {
			return err
		}
		for _, in := range ins {
			iv := incidentView{State: string(in.State), Rule: in.Rule, Summary: in.Summary, Opened: u.stamp(in.OpenedAt),
				Resolved: u.stamp(in.ResolvedAt), Resolution: in.Resolution}
			switch {
			case in.State != seam.IncidentOpen:
				iv.Health = healthOf(levelOK, nil)
				iv.Health.Label = "RESOLVED"
			case in.Severity == "critical":
				iv.Health = healthOf(levelFail, nil)
			default:
				iv.Health = healthOf(levelWarn, nil)
			}
			v.Incidents = append(v.Incidents, iv)
		}
	}

	msgs, err := u.opts.Ledger.MessageList(r.Context(), &store.MessageFilter{Flow: name, Limit: 10})
	if err != nil {
		return err
	}
	v.Messages.HideFlow = true
	if v.Messages.Rows, err = u.messageRows(r.Context(), msgs); err != nil {
		return err
	}
	dead, err := u.opts.Ledger.DeliveryList(r.Context(), &store.DeliveryFilter{Flow: name, States: []seam.DeliveryState{seam.DeliveryDead}, Limit: 10})
	if err != nil {
		return err
	}
	v.Dead = u.deliveryRows(dead)
	u.render(w, http.StatusOK, "flow", v)
	return nil
}

func ownerOf(c *catalog.Catalog, id string) ownerView {
	o := ownerView{ID: id, Name: id}
	if c.Project != nil {
		if d, ok := c.Project.Owners[id]; ok {
			o.Name, o.Email, o.Chat = d.Name, d.Email, d.Chat
		}
	}
	return o
}

func ownerName(c *catalog.Catalog, id string) string { return ownerOf(c, id).Name }

func sourceOf(c *catalog.Catalog, f *catalog.Flow) sourceView {
	s := sourceView{System: f.Source.System, SystemTitle: f.Source.System}
	if sys, ok := c.Systems[f.Source.System]; ok && sys.Title != "" {
		s.SystemTitle = sys.Title
	}
	if wh := f.Source.Webhook; wh != nil {
		s.Webhook = "POST " + wh.Path
		if wh.Signature != nil {
			s.Signature = wh.Signature.Scheme + " signature"
			if wh.Signature.Header != "" {
				s.Signature += " in " + wh.Signature.Header
			}
		} else {
			s.Signature = "no signature"
		}
	}
	return s
}

// The delivery policy defaults, as the catalog reference documents them.
const (
	defaultAttempts = 10
	defaultBackoff  = "exponential"
	defaultInitial  = time.Second
	defaultMaxWait  = 10 * time.Minute
	defaultTimeout  = 10 * time.Second
)

func describeRoute(v *routeView, rt *catalog.Route) {
	if rt.HTTP != nil {
		method := rt.HTTP.Method
		if method == "" {
			method = "POST"
		}
		target := rt.HTTP.Path
		if rt.HTTP.URL.Raw != "" {
			target = rt.HTTP.URL.Raw
		}
		v.Request = method + " " + target
	}
	v.When = rt.When.Src
	v.Ordering = "none"
	if rt.Ordering == "by-key" {
		v.Ordering = "by key"
	}
	attempts := defaultAttempts
	if rt.Retry.Attempts != nil {
		attempts = *rt.Retry.Attempts
	}
	backoff := rt.Retry.Backoff
	if backoff == "" {
		backoff = defaultBackoff
	}
	v.Retry = fmt.Sprintf("%d attempts, %s %s → %s", attempts, backoff,
		compactDuration(rt.Retry.Initial.Or(defaultInitial)), compactDuration(rt.Retry.Max.Or(defaultMaxWait)))
	v.Timeout = compactDuration(rt.Timeout.Or(defaultTimeout))
	var limits []string
	if rt.Rate.PerSecond > 0 {
		limits = append(limits, fmt.Sprintf("%g/s", rt.Rate.PerSecond))
	}
	if rt.Workers > 0 {
		limits = append(limits, fmt.Sprintf("%d at once", rt.Workers))
	}
	if b := rt.Breaker; b != nil {
		limits = append(limits, fmt.Sprintf("breaker after %d failures", max(b.Failures, 5)))
	}
	v.Limits = strings.Join(limits, ", ")
}

func describeAlert(a *catalog.Alert) alertView {
	v := alertView{Name: a.Name, Severity: a.Severity}
	if v.Severity == "" {
		v.Severity = "warning"
	}
	switch {
	case a.Silence != nil:
		v.Rule = "no records for " + compactDuration(a.Silence.For.D)
		if a.Silence.During.Raw != "" {
			v.Rule += " during " + a.Silence.During.Raw
		}
		v.Name = or(v.Name, "silence")
	case a.ErrorRate != nil:
		v.Rule = fmt.Sprintf("more than %s of attempts fail over %s", percentOf(a.ErrorRate.Above.Ratio), compactDuration(a.ErrorRate.Over.Or(15*time.Minute)))
		v.Name = or(v.Name, "error_rate")
	case a.DeadLetters != nil:
		v.Rule = fmt.Sprintf("more than %d dead letters", a.DeadLetters.Above)
		v.Name = or(v.Name, "dead_letters")
	case a.BacklogAge != nil:
		v.Rule = "oldest undelivered record older than " + compactDuration(a.BacklogAge.Above.D)
		v.Name = or(v.Name, "backlog_age")
	case a.Quarantine != nil:
		v.Rule = fmt.Sprintf("more than %d records in quarantine", a.Quarantine.Above)
		v.Name = or(v.Name, "quarantine")
	case a.CircuitOpen != nil:
		v.Rule = "a route's circuit breaker is open"
		v.Name = or(v.Name, "circuit_open")
	}
	return v
}

// compactDuration writes 2h, 15m, 1h30m, 500ms: how a catalog spells it.
func compactDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func percentOf(ratio float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", ratio*100), "0"), ".0") + " %"
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orDash(s string) string { return or(s, "—") }

// messageTable is a list of messages; a flow's page leaves out the flow.
type messageTable struct {
	Rows     []*messageRow
	HideFlow bool
}

// messageRow is one message in a list, with where each of its routes
// stands.
type messageRow struct {
	ID            int64
	URL           string
	Received      stamp
	Flow, FlowURL string
	Key, TraceURL string
	Status        string
	StatusHealth  health
	Routes        []routeState
	ReplayOf      int64
	ReplayOfURL   string
}

type routeState struct {
	Name, State string
	Health      health
}

// stateHealth shows a delivery state with the health vocabulary; states
// that are neither good nor bad yet get a neutral look.
func stateHealth(st seam.DeliveryState) health {
	switch st {
	case seam.DeliveryDelivered:
		return health{Level: "ok", Label: "delivered", Icon: "✓"}
	case seam.DeliveryDead:
		return health{Level: "fail", Label: "dead", Icon: "✕"}
	case seam.DeliveryRetrying:
		return health{Level: "warn", Label: "retrying", Icon: "▲"}
	case seam.DeliverySkipped:
		return health{Level: "muted", Label: "skipped", Icon: "–"}
	case seam.DeliveryInFlight:
		return health{Level: "info", Label: "sending", Icon: "→"}
	}
	return health{Level: "info", Label: string(st), Icon: "…"}
}

func messageHealth(st seam.MessageStatus) health {
	switch st {
	case seam.MessageQuarantined:
		return health{Level: "warn", Label: "quarantined", Icon: "▲"}
	case seam.MessageAccepted:
		return health{Level: "muted", Label: "accepted", Icon: "·"}
	}
	return health{Level: "muted", Label: string(st), Icon: "·"}
}

// messageRows reads each message's deliveries: one indexed query per row,
// for lists of at most a page.
func (u *UI) messageRows(ctx context.Context, msgs []*seam.Message) ([]*messageRow, error) {
	var out []*messageRow
	for _, m := range msgs {
		row := &messageRow{ID: m.ID, URL: messageURL(m.ID), Received: u.stamp(m.ReceivedAt), Flow: m.Flow, FlowURL: flowURL(m.Flow),
			Key: m.Key, TraceURL: traceURL(m.Key), Status: string(m.Status), StatusHealth: messageHealth(m.Status), ReplayOf: m.ReplayOf}
		if m.ReplayOf != 0 {
			row.ReplayOfURL = messageURL(m.ReplayOf)
		}
		if m.Status == seam.MessageAccepted {
			ds, err := u.opts.Ledger.DeliveryList(ctx, &store.DeliveryFilter{MessageID: m.ID, Limit: 50})
			if err != nil {
				return nil, err
			}
			for i := len(ds) - 1; i >= 0; i-- { // oldest (first route) first
				row.Routes = append(row.Routes, routeState{Name: ds[i].Route, State: string(ds[i].State), Health: stateHealth(ds[i].State)})
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// deliveryRow is one delivery in a list of dead letters.
type deliveryRow struct {
	ID            int64
	MessageURL    string
	Flow, FlowURL string
	Route, Key    string
	TraceURL      string
	Attempts      int
	LastStatus    string
	LastError     string
	LastErrorFull string
	Updated       stamp
	Health        health
}

// requestPrefix is how a delivery error starts: the request it made
// ("POST http://erp/api/orders: "), which a table need not repeat.
var requestPrefix = regexp.MustCompile(`^[A-Z]+ [a-z]+://\S+: `)

// answerOf is the part of a delivery error that says what went wrong.
func answerOf(err string) string { return requestPrefix.ReplaceAllString(err, "") }

func (u *UI) deliveryRows(ds []*seam.Delivery) []*deliveryRow {
	var out []*deliveryRow
	for _, d := range ds {
		row := &deliveryRow{ID: d.ID, MessageURL: messageURL(d.MessageID), Flow: d.Flow, FlowURL: flowURL(d.Flow), Route: d.Route,
			Key: d.Key, TraceURL: traceURL(d.Key), Attempts: d.Attempts, LastError: short(answerOf(d.LastError), 90),
			LastErrorFull: d.LastError, Updated: u.stamp(d.UpdatedAt), Health: stateHealth(d.State)}
		// The status, unless the answer already starts with it.
		if st := itoa(d.LastStatus); d.LastStatus != 0 && !strings.HasPrefix(row.LastError, st) {
			row.LastStatus = st
		}
		out = append(out, row)
	}
	return out
}
