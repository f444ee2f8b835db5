package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/store"
)

// Ledger is what the audit and the docs read from the ledger: the few
// store methods they use, so tests can hand in a stub and any driver fits.
type Ledger interface {
	RouteStats(ctx context.Context, p *store.StatsParams) ([]*store.RouteStats, error)
	DeliveryList(ctx context.Context, f *store.DeliveryFilter) ([]*seam.Delivery, error)
	MessageList(ctx context.Context, f *store.MessageFilter) ([]*seam.Message, error)
}

// Bounds on what Gather reads, so a large ledger costs a bounded number of
// rows per flow: counts beyond them are shown as "at least".
const (
	volumeCap      = 5000 // messages counted per flow for the last 24 h
	latencySamples = 200  // latest deliveries per route for the delivery time
	deadCap        = 1000 // old dead letters counted per route
)

// Facts are the live facts of a catalog's flows, read from the ledger.
type Facts struct {
	Now time.Time `json:"now"`
	// Any says whether the ledger holds any message at all: a brand-new
	// ledger makes no flow "silent".
	Any   bool                  `json:"any"`
	Flows map[string]*FlowFacts `json:"flows"`
}

// FlowFacts are one flow's live facts.
type FlowFacts struct {
	Flow string `json:"flow"`
	// LastMessage is when the newest record arrived (zero: none retained).
	LastMessage time.Time `json:"last_message,omitzero"`
	// Last24h counts records received in the last 24 hours, at most
	// volumeCap (Last24hCapped then says there were more).
	Last24h       int           `json:"last_24h"`
	Last24hCapped bool          `json:"last_24h_capped,omitempty"`
	Routes        []*RouteFacts `json:"routes"`
}

// LastSuccess is the latest delivery of any of the flow's routes.
func (f *FlowFacts) LastSuccess() time.Time {
	var t time.Time
	for _, r := range f.Routes {
		if r.LastDelivered.After(t) {
			t = r.LastDelivered
		}
	}
	return t
}

// DeadLetters counts the flow's dead letters.
func (f *FlowFacts) DeadLetters() int64 {
	var n int64
	for _, r := range f.Routes {
		n += r.Dead
	}
	return n
}

// Retained is the number of records the ledger keeps for the flow: the
// deliveries of its busiest route (each record has one per route).
func (f *FlowFacts) Retained() int64 {
	var n int64
	for _, r := range f.Routes {
		n = max(n, r.Total)
	}
	return n
}

// RouteFacts are one route's live facts over what the ledger retains.
type RouteFacts struct {
	Route string `json:"route"`
	// Counts by state, and their sum.
	Delivered int64 `json:"delivered"`
	Dead      int64 `json:"dead"`
	Retrying  int64 `json:"retrying"`
	Pending   int64 `json:"pending"`
	InFlight  int64 `json:"in_flight"`
	Skipped   int64 `json:"skipped"`
	Total     int64 `json:"total"`
	// FailureRate is the share of decided deliveries that failed or are
	// failing: (dead + retrying) / (delivered + dead + retrying).
	FailureRate   float64   `json:"failure_rate"`
	LastDelivered time.Time `json:"last_delivered,omitzero"`
	LastDead      time.Time `json:"last_dead,omitzero"`
	// BacklogSince is when the oldest undelivered record arrived.
	BacklogSince time.Time `json:"backlog_since,omitzero"`
	// OldDead counts dead letters of records older than a day (at most
	// deadCap).
	OldDead int `json:"old_dead"`
	// P50 and P95 are the time from intake to delivery over the latest
	// Samples delivered records.
	P50     time.Duration `json:"p50_ns"`
	P95     time.Duration `json:"p95_ns"`
	Samples int           `json:"samples"`
}

// Decided is the number of deliveries that have succeeded, failed or are
// failing.
func (r *RouteFacts) Decided() int64 { return r.Delivered + r.Dead + r.Retrying }

// Gather reads the live facts of every flow of c from the ledger.
func Gather(ctx context.Context, l Ledger, c *catalog.Catalog, now time.Time) (*Facts, error) {
	facts := &Facts{Now: now.UTC(), Flows: map[string]*FlowFacts{}}
	stats, err := l.RouteStats(ctx, &store.StatsParams{Now: now})
	if err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	byRoute := map[string]*store.RouteStats{}
	for _, s := range stats {
		byRoute[s.Flow+"\x00"+s.Route] = s
	}
	for _, name := range c.FlowNames() {
		f := c.Flows[name]
		ff := &FlowFacts{Flow: name}
		facts.Flows[name] = ff
		last, err := l.MessageList(ctx, &store.MessageFilter{Flow: name, Limit: 1})
		if err != nil {
			return nil, fmt.Errorf("read the ledger: %w", err)
		}
		if len(last) > 0 {
			ff.LastMessage = last[0].ReceivedAt.UTC()
			facts.Any = true
			recent, err := l.MessageList(ctx, &store.MessageFilter{Flow: name, Since: now.Add(-24 * time.Hour), Until: now, Limit: volumeCap + 1})
			if err != nil {
				return nil, fmt.Errorf("read the ledger: %w", err)
			}
			ff.Last24h = min(len(recent), volumeCap)
			ff.Last24hCapped = len(recent) > volumeCap
		}
		for _, rt := range f.Routes {
			if rt == nil {
				continue
			}
			name := rt.Name
			if name == "" {
				name = rt.To
			}
			rf, err := routeFacts(ctx, l, f.Name, name, byRoute[f.Name+"\x00"+name], now)
			if err != nil {
				return nil, err
			}
			ff.Routes = append(ff.Routes, rf)
		}
	}
	return facts, nil
}

func routeFacts(ctx context.Context, l Ledger, flow, route string, s *store.RouteStats, now time.Time) (*RouteFacts, error) {
	rf := &RouteFacts{Route: route}
	if s == nil {
		return rf, nil
	}
	rf.Delivered = s.Counts[seam.DeliveryDelivered]
	rf.Dead = s.Counts[seam.DeliveryDead]
	rf.Retrying = s.Counts[seam.DeliveryRetrying]
	rf.Pending = s.Counts[seam.DeliveryPending]
	rf.InFlight = s.Counts[seam.DeliveryInFlight]
	rf.Skipped = s.Counts[seam.DeliverySkipped]
	rf.Total = rf.Delivered + rf.Dead + rf.Retrying + rf.Pending + rf.InFlight + rf.Skipped
	if d := rf.Decided(); d > 0 {
		rf.FailureRate = float64(rf.Dead+rf.Retrying) / float64(d)
	}
	rf.LastDelivered, rf.LastDead = s.LastDeliveredAt.UTC(), s.LastDeadAt.UTC()
	if !s.OldestDue.IsZero() {
		rf.BacklogSince = s.OldestDue.UTC()
	}
	if rf.Dead > 0 {
		old, err := l.DeliveryList(ctx, &store.DeliveryFilter{Flow: flow, Route: route, States: []seam.DeliveryState{seam.DeliveryDead}, Until: now.Add(-24 * time.Hour), Limit: deadCap})
		if err != nil {
			return nil, fmt.Errorf("read the ledger: %w", err)
		}
		rf.OldDead = len(old)
	}
	if rf.Delivered > 0 {
		ds, err := l.DeliveryList(ctx, &store.DeliveryFilter{Flow: flow, Route: route, States: []seam.DeliveryState{seam.DeliveryDelivered}, Limit: latencySamples})
		if err != nil {
			return nil, fmt.Errorf("read the ledger: %w", err)
		}
		var lat []time.Duration
		for _, d := range ds {
			if !d.DeliveredAt.IsZero() && !d.CreatedAt.IsZero() {
				lat = append(lat, max(0, d.DeliveredAt.Sub(d.CreatedAt)))
			}
		}
		if len(lat) > 0 {
			slices.Sort(lat)
			rf.Samples = len(lat)
			rf.P50 = percentile(lat, 0.50)
			rf.P95 = percentile(lat, 0.95)
		}
	}
	return rf, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ledger runs the ledger rules.
func (a *auditor) ledger(facts *Facts) {
	o := a.opts
	for _, name := range a.c.FlowNames() {
		ff := facts.Flows[name]
		f := a.c.Flows[name]
		if ff == nil {
			continue
		}
		subject := "flow " + name
		if facts.Any {
			switch {
			case ff.LastMessage.IsZero():
				a.add(Finding{Rule: "silent-flow", Subject: subject, Flows: []string{name}, Systems: []string{f.Source.System},
					Message: fmt.Sprintf("flow %s has no record in the ledger", name),
					Fix:     fmt.Sprintf("check that %s still sends to %s; if the flow is no longer needed, remove it", f.Source.System, webhookPath(f)),
					At:      f.At.String()})
			case o.Now.Sub(ff.LastMessage) > o.SilentAfter:
				a.add(Finding{Rule: "silent-flow", Subject: subject, Flows: []string{name}, Systems: []string{f.Source.System},
					Message: fmt.Sprintf("flow %s has had no record for %s (last at %s)", name, Age(o.Now.Sub(ff.LastMessage)), ff.LastMessage.Format(time.RFC3339)),
					Fix:     fmt.Sprintf("check that %s still sends to %s, and add a silence alert so the next gap is noticed", f.Source.System, webhookPath(f)),
					At:      f.At.String()})
			}
		}
		for _, rf := range ff.Routes {
			rsubject := fmt.Sprintf("route %s/%s", name, rf.Route)
			to := rf.Route
			if rt := routeDef(f, rf.Route); rt != nil {
				to = rt.To
			}
			if d := rf.Decided(); d >= int64(o.MinDeliveries) && rf.FailureRate >= o.HotSpot {
				sev := Medium
				if rf.FailureRate >= 0.20 {
					sev = High
				}
				a.add(Finding{Rule: "error-hot-spot", Severity: sev, Subject: rsubject, Flows: []string{name}, Systems: []string{to},
					Message: fmt.Sprintf("%s of %d deliveries of %s to %s failed or are failing (%d dead, %d retrying)", Percent(rf.FailureRate), d, name, to, rf.Dead, rf.Retrying),
					Fix:     fmt.Sprintf("look at the errors (seam dlq --flow %s) and the runbook; a destination that refuses records needs a mapping fix, one that is down needs its owner", name),
					At:      f.At.String()})
			}
			if rf.OldDead > 0 {
				n := fmt.Sprint(rf.OldDead)
				if rf.OldDead >= deadCap {
					n = "at least " + n
				}
				a.add(Finding{Rule: "old-dead-letters", Subject: rsubject, Flows: []string{name}, Systems: []string{to},
					Message: fmt.Sprintf("%s dead letters of %s to %s are older than a day", n, name, to),
					Fix:     fmt.Sprintf("fix the cause, then seam replay --flow %s --state dead (try --dry-run first), or discard them on purpose", name),
					At:      f.At.String()})
			}
			if rf.Samples >= 5 && rf.P95 >= o.SlowAfter {
				sev := Low
				if rf.P95 >= 10*o.SlowAfter {
					sev = Medium
				}
				a.add(Finding{Rule: "slow-route", Severity: sev, Subject: rsubject, Flows: []string{name}, Systems: []string{to},
					Message: fmt.Sprintf("records of %s take %s to reach %s (95th percentile; median %s, over the latest %d)", name, Age(rf.P95), to, Age(rf.P50), rf.Samples),
					Fix:     "check the destination's response times and the route's rate_limit, concurrency and retry backoff",
					At:      f.At.String()})
			}
		}
	}
}

func routeDef(f *catalog.Flow, name string) *catalog.Route {
	for _, r := range f.Routes {
		if r != nil && (r.Name == name || r.Name == "" && r.To == name) {
			return r
		}
	}
	return nil
}

func webhookPath(f *catalog.Flow) string {
	if f.Source.Webhook != nil && f.Source.Webhook.Path != "" {
		return f.Source.Webhook.Path
	}
	return "its intake"
}

// Percent formats a share as a whole percentage ("30 %"), or with one
// decimal below 10 %.
func Percent(x float64) string {
	p := x * 100
	if p < 10 && p != float64(int(p)) {
		return fmt.Sprintf("%.1f %%", p)
	}
	return fmt.Sprintf("%.0f %%", p)
}

// Age formats a duration the way people say it: 45s, 12m, 3h 20m, 4d 2h.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	}
	d = d.Round(time.Hour)
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd %dh", days, h)
}
