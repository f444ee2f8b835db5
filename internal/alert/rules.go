package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/notify"
	"github.com/seamhq/seam/internal/store"
)

// defaultErrorWindow is error_rate's over: when not written.
const defaultErrorWindow = 15 * time.Minute

// condition is the state of one rule at one evaluation.
type condition struct {
	firing bool
	// summary is the incident's one line, e.g. "no records for 2h". It
	// avoids numbers that change every evaluation (an age), so an incident
	// is rewritten only when something really moved.
	summary string
	// detail explains, in a sentence or two, what was measured.
	detail string
	// numbers are stored with the incident, for the API and the CLI.
	numbers map[string]any
	// resolution says why a resolved incident cleared.
	resolution string
}

// detailsJSON is what the incident keeps: the detail and the numbers.
func (c *condition) detailsJSON() ([]byte, error) {
	m := map[string]any{"detail": c.detail}
	for k, v := range c.numbers {
		m[k] = v
	}
	return json.Marshal(m) // map keys come out sorted: equal numbers, equal bytes
}

// roundState caches what several rules read in one evaluation: the route
// statistics of every flow, read once (as one metrics scrape reads them)
// rather than once per flow.
type roundState struct {
	stats map[string][]*store.RouteStats
	err   error
	read  bool
}

func (e *Evaluator) routeStats(ctx context.Context, flow string, rs *roundState) ([]*store.RouteStats, error) {
	if !rs.read {
		rs.read = true
		all, err := e.opts.Store.RouteStats(ctx, &store.StatsParams{Now: e.opts.Now()})
		rs.stats, rs.err = map[string][]*store.RouteStats{}, err
		for _, s := range all {
			rs.stats[s.Flow] = append(rs.stats[s.Flow], s)
		}
	}
	return rs.stats[flow], rs.err
}

// check evaluates one rule of flow f.
func (e *Evaluator) check(ctx context.Context, f *catalog.Flow, a *catalog.Alert, rs *roundState, now time.Time) (*condition, error) {
	switch {
	case a.Silence != nil:
		return e.silence(ctx, f, a.Silence, now)
	case a.ErrorRate != nil:
		return e.errorRate(f, a.ErrorRate, now), nil
	case a.DeadLetters != nil:
		stats, err := e.routeStats(ctx, f.Name, rs)
		if err != nil {
			return nil, err
		}
		return deadLetters(stats, a.DeadLetters.Above), nil
	case a.BacklogAge != nil:
		stats, err := e.routeStats(ctx, f.Name, rs)
		if err != nil {
			return nil, err
		}
		return backlogAge(stats, a.BacklogAge.Above.D, now), nil
	case a.Quarantine != nil:
		return e.quarantine(ctx, f, a.Quarantine.Above)
	case a.CircuitOpen != nil:
		return e.circuitOpen(f), nil
	}
	return nil, fmt.Errorf("rule has no condition")
}

// silence: no record for For, counting only time inside During. A flow
// that never received anything is measured from when this evaluator
// started, so a new flow does not fire the moment Seam starts.
func (e *Evaluator) silence(ctx context.Context, f *catalog.Flow, r *catalog.SilenceRule, now time.Time) (*condition, error) {
	last, err := e.lastReceived(ctx, f.Name, now)
	if err != nil {
		return nil, err
	}
	from := last
	if from.IsZero() {
		from = e.started
	}
	quiet := activeWithin(r.During, from, now, r.For.D)
	c := &condition{
		firing:  quiet >= r.For.D,
		summary: "no records for " + human(r.For.D),
		numbers: map[string]any{"for": human(r.For.D)},
	}
	within := ""
	if scheduled(r.During) {
		within = " within " + r.During.Raw
		c.numbers["during"] = r.During.Raw
	}
	if last.IsZero() {
		c.detail = fmt.Sprintf("No record arrived for %s%s; none has arrived since Seam started watching at %s. Is %s sending?",
			human(r.For.D), within, stamp(e.started), f.Source.System)
		c.resolution = "records are arriving"
	} else {
		c.numbers["last_received_at"] = last.UTC()
		c.detail = fmt.Sprintf("No record arrived for %s%s; the last came at %s. Is %s sending?",
			human(r.For.D), within, stamp(last), f.Source.System)
		c.resolution = "a record arrived at " + stamp(last)
	}
	return c, nil
}

// lastReceived returns when flow last received a record; zero when it has
// received none in the last three years.
//
// The newest record is looked for in windows growing back from now (1m,
// 10m, 100m, …), and afterwards only among records received since the one
// found: the ledger lists messages by id, so an unbounded "newest message
// of this flow" would read every message of a busy flow, every 15 seconds.
func (e *Evaluator) lastReceived(ctx context.Context, flow string, now time.Time) (time.Time, error) {
	e.mu.Lock()
	known := e.lastSeen[flow]
	e.mu.Unlock()
	newest := func(since time.Time) (time.Time, bool, error) {
		ms, err := e.opts.Store.MessageList(ctx, &store.MessageFilter{Flow: flow, Since: since, Limit: 1})
		if err != nil || len(ms) == 0 {
			return time.Time{}, false, err
		}
		return ms[0].ReceivedAt, true, nil
	}
	var (
		last  time.Time
		found bool
		err   error
	)
	if !known.IsZero() {
		// A minute of slack: another node's clock may be a little behind.
		if last, found, err = newest(known.Add(-time.Minute)); err != nil {
			return time.Time{}, err
		}
		if !found || last.Before(known) {
			last = known
		}
	} else {
		for d := time.Minute; d <= 3*365*24*time.Hour && !found; d *= 10 {
			if last, found, err = newest(now.Add(-d)); err != nil {
				return time.Time{}, err
			}
		}
	}
	if !last.IsZero() {
		e.mu.Lock()
		e.lastSeen[flow] = last
		e.mu.Unlock()
	}
	return last, nil
}

// errorRate: the share of this node's failed attempts over the window.
func (e *Evaluator) errorRate(f *catalog.Flow, r *catalog.ErrorRateRule, now time.Time) *condition {
	over := r.Over.Or(defaultErrorWindow)
	ok, fail := e.attempts.count(f.Name, now.Add(-over))
	total := ok + fail
	rate := 0.0
	if total > 0 {
		rate = float64(fail) / float64(total)
	}
	c := &condition{
		firing:  total > 0 && rate > r.Above.Ratio,
		summary: fmt.Sprintf("error rate %s over %s", pct(rate), human(over)),
		detail: fmt.Sprintf("%d of %d delivery attempts failed in the last %s (%s); the rule fires above %s.",
			fail, total, human(over), pct(rate), pct(r.Above.Ratio)),
		numbers: map[string]any{"attempts": total, "failed": fail, "rate": rate, "above": r.Above.Ratio, "over": human(over)},
	}
	if total == 0 {
		c.resolution = fmt.Sprintf("no delivery attempts in the last %s", human(over))
	} else {
		c.resolution = fmt.Sprintf("error rate down to %s over %s", pct(rate), human(over))
	}
	return c
}

// deadLetters: deliveries that ran out of attempts, waiting for an operator.
func deadLetters(stats []*store.RouteStats, above int) *condition {
	var total int64
	var per []string
	for _, s := range stats {
		if n := s.Counts[seam.DeliveryDead]; n > 0 {
			total += n
			per = append(per, fmt.Sprintf("%s: %d", s.Route, n))
		}
	}
	c := &condition{
		firing:     total > int64(above),
		summary:    plural(total, "dead letter"),
		numbers:    map[string]any{"dead": total, "above": above},
		resolution: fmt.Sprintf("dead letters down to %d", total),
	}
	c.detail = fmt.Sprintf("%s ran out of attempts and wait for an operator", plural(total, "delivery"))
	if len(per) > 0 {
		c.detail += " (" + strings.Join(per, ", ") + ")"
	}
	c.detail += fmt.Sprintf("; the rule fires above %d.", above)
	return c
}

// backlogAge: the oldest delivery that is due but not delivered.
func backlogAge(stats []*store.RouteStats, above time.Duration, now time.Time) *condition {
	var oldest time.Time
	var route string
	for _, s := range stats {
		if !s.OldestDue.IsZero() && (oldest.IsZero() || s.OldestDue.Before(oldest)) {
			oldest, route = s.OldestDue, s.Route
		}
	}
	c := &condition{
		firing:     !oldest.IsZero() && now.Sub(oldest) > above,
		summary:    "backlog older than " + human(above),
		numbers:    map[string]any{"above": human(above)},
		resolution: "the backlog is younger than " + human(above) + " again",
	}
	if oldest.IsZero() {
		c.detail = "Nothing is waiting to be delivered."
		return c
	}
	c.numbers["oldest_due"], c.numbers["route"] = oldest.UTC(), route
	c.detail = fmt.Sprintf("The oldest undelivered record (route %s) has been waiting since %s; the rule fires above %s.",
		route, stamp(oldest), human(above))
	return c
}

// quarantine: open quarantine entries of the flow.
func (e *Evaluator) quarantine(ctx context.Context, f *catalog.Flow, above int) (*condition, error) {
	limit := max(above+1, 100)
	qs, err := e.opts.Store.QuarantineList(ctx, &store.QuarantineFilter{Flow: f.Name, Status: seam.QuarantineOpen, Limit: limit})
	if err != nil {
		return nil, err
	}
	n := len(qs)
	count := plural(int64(n), "record")
	if n == limit {
		count = "at least " + count
	}
	c := &condition{
		firing:     n > above,
		summary:    count + " in quarantine",
		numbers:    map[string]any{"quarantined": n, "above": above},
		resolution: fmt.Sprintf("quarantine down to %d", n),
		detail:     fmt.Sprintf("%s could not be decoded, mapped or validated and wait for a fix; the rule fires above %d.", count, above),
	}
	if n > 0 {
		c.detail += " Latest reason: " + firstReason(qs[0]) + "."
	}
	return c, nil
}

func firstReason(q *seam.Quarantined) string {
	if len(q.Reasons) == 0 {
		return string(q.Stage)
	}
	return q.Reasons[0].String()
}

// circuitOpen: this node's circuit breakers of the flow's routes.
func (e *Evaluator) circuitOpen(f *catalog.Flow) *condition {
	routes := e.breakers.routes(f.Name)
	slices.Sort(routes)
	c := &condition{
		firing:     len(routes) > 0,
		numbers:    map[string]any{"routes": routes},
		resolution: "every circuit is closed again",
	}
	if len(routes) == 1 {
		c.summary = "circuit open to " + routes[0]
	} else {
		c.summary = "circuits open to " + strings.Join(routes, ", ")
	}
	c.detail = fmt.Sprintf("Deliveries to %s wait instead of failing, after failures in a row; they resume when a probe gets through.",
		strings.Join(routes, ", "))
	return c
}

// human writes a duration the way the catalog does: 2h, 1h30m, 15m, 45s, 2d.
func human(d time.Duration) string {
	if d%(24*time.Hour) == 0 && d >= 24*time.Hour {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return notify.Since(time.Time{}, time.Time{}.Add(d))
}

// pct writes a ratio as a percentage: 12%, 0.5%.
func pct(r float64) string {
	p := r * 100
	if p != 0 && p < 1 {
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(what, "y"))
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
