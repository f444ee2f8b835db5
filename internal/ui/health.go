package ui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/store"
)

// The health rules. They are deliberately simple and documented in
// docs/dashboard.md, so that "why is this flow amber?" has one answer.
const (
	healthWindow  = 15 * time.Minute
	warnErrorRate = 0.05
	failErrorRate = 0.20
	// minAttempts keeps one failure out of two attempts from turning a
	// quiet flow red: fewer attempts than this in the window judge no rate.
	minAttempts = 5
	warnBacklog = 2 * time.Minute
	failBacklog = 15 * time.Minute
)

// Health levels, worst last.
const (
	levelOK = iota
	levelWarn
	levelFail
)

// health is a status as every page shows it: a word and an icon, so it
// reads without colour, the colour, and the reasons.
type health struct {
	Level string // ok, warn, fail: the CSS class
	Label string // OK, WARN, FAIL
	Icon  string
	Why   string // every reason
	Brief string // the first reasons, for a table cell or a tile
}

// briefReasons is how many reasons a cell shows before "and N more".
const briefReasons = 2

func healthOf(level int, why []string) health {
	h := health{Level: "ok", Label: "OK", Icon: "✓"}
	switch level {
	case levelWarn:
		h = health{Level: "warn", Label: "WARN", Icon: "▲"}
	case levelFail:
		h = health{Level: "fail", Label: "FAIL", Icon: "✕"}
	}
	h.Why = strings.Join(why, "; ")
	h.Brief = h.Why
	if len(why) > briefReasons {
		h.Brief = strings.Join(why[:briefReasons], "; ") + fmt.Sprintf(" and %d more", len(why)-briefReasons)
	}
	return h
}

// assessor accumulates the worst level and every reason for it.
type assessor struct {
	level int
	why   []string
}

func (a *assessor) add(level int, format string, args ...any) {
	if level > a.level {
		a.level = level
	}
	if level > levelOK {
		a.why = append(a.why, fmt.Sprintf(format, args...))
	}
}

func (a *assessor) health() health { return healthOf(a.level, a.why) }

// routeFacts are one route's live numbers.
type routeFacts struct {
	Flow, Name, To                    string
	Pending, InFlight, Retrying, Dead int64
	Delivered, Skipped                int64
	OldestDue, LastDelivered          time.Time
}

func (r *routeFacts) assess(now time.Time) health {
	var a assessor
	r.judge(&a, now)
	return a.health()
}

func (r *routeFacts) judge(a *assessor, now time.Time) {
	if r.Dead > 0 {
		a.add(levelFail, "%s dead %s", count(r.Dead), plural(r.Dead, "letter", "letters"))
	}
	if !r.OldestDue.IsZero() {
		switch age := now.Sub(r.OldestDue); {
		case age >= failBacklog:
			a.add(levelFail, "oldest waiting %s", humanDuration(age))
		case age >= warnBacklog:
			a.add(levelWarn, "oldest waiting %s", humanDuration(age))
		}
	}
	if r.Retrying > 0 {
		a.add(levelWarn, "%s retrying", count(r.Retrying))
	}
}

// flowFacts are one flow's live numbers, from the ledger.
type flowFacts struct {
	Name   string
	Routes []*routeFacts
	// Over the last healthWindow (only when the store has series).
	Received, Refused, Delivered, Failed int64
	Quarantined                          int // open entries
	Incidents                            []*seam.Incident
	Hour                                 []bucket // the last hour per minute, for the sparkline
}

func (f *flowFacts) dead() (n int64) {
	for _, r := range f.Routes {
		n += r.Dead
	}
	return n
}

func (f *flowFacts) lastSuccess() (t time.Time) {
	for _, r := range f.Routes {
		if r.LastDelivered.After(t) {
			t = r.LastDelivered
		}
	}
	return t
}

func (f *flowFacts) oldestDue() (t time.Time) {
	for _, r := range f.Routes {
		if !r.OldestDue.IsZero() && (t.IsZero() || r.OldestDue.Before(t)) {
			t = r.OldestDue
		}
	}
	return t
}

func (f *flowFacts) errorRate() string {
	return percent(f.Failed, f.Failed+f.Delivered)
}

func (f *flowFacts) assess(now time.Time, series bool) health {
	var a assessor
	if d := f.dead(); d > 0 {
		a.add(levelFail, "%s dead %s", count(d), plural(d, "letter", "letters"))
	}
	if series {
		if att := f.Failed + f.Delivered; att >= minAttempts {
			switch rate := float64(f.Failed) / float64(att); {
			case rate >= failErrorRate:
				a.add(levelFail, "%s of attempts failed in 15 min", f.errorRate())
			case rate >= warnErrorRate:
				a.add(levelWarn, "%s of attempts failed in 15 min", f.errorRate())
			}
		}
	}
	if t := f.oldestDue(); !t.IsZero() {
		switch age := now.Sub(t); {
		case age >= failBacklog:
			a.add(levelFail, "oldest waiting %s", humanDuration(age))
		case age >= warnBacklog:
			a.add(levelWarn, "oldest waiting %s", humanDuration(age))
		}
	}
	var retrying int64
	for _, r := range f.Routes {
		retrying += r.Retrying
	}
	if retrying > 0 {
		a.add(levelWarn, "%s retrying", count(retrying))
	}
	if f.Quarantined > 0 {
		a.add(levelWarn, "%d in quarantine", f.Quarantined)
	}
	for _, in := range f.Incidents {
		level := levelWarn
		if in.Severity == "critical" {
			level = levelFail
		}
		// An incident of what the dashboard measures itself (dead letters,
		// errors, backlog, quarantine) counts, but is not said twice.
		if measured[in.Kind] {
			a.level = max(a.level, level)
			continue
		}
		a.add(level, "alert: %s", in.Summary)
	}
	return a.health()
}

// measured are the alert kinds whose condition the health rules already
// describe in their own words.
var measured = map[string]bool{"dead_letters": true, "error_rate": true, "backlog_age": true, "quarantine": true}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// landscape is the live state of every flow of the catalog.
type landscape struct {
	now    time.Time
	series bool // the store draws series: rates and charts are known
	flows  map[string]*flowFacts
	names  []string
}

// gather reads the ledger for every flow of c (or only flow): route
// stats, the last hour's series, open quarantine entries and open
// incidents.
func (u *UI) gather(ctx context.Context, c *catalog.Catalog, flow string) (*landscape, error) {
	now := u.opts.Now()
	l := &landscape{now: now, flows: map[string]*flowFacts{}}
	get := func(name string) *flowFacts {
		f, ok := l.flows[name]
		if !ok {
			f = &flowFacts{Name: name}
			l.flows[name] = f
		}
		return f
	}
	for _, name := range c.FlowNames() {
		if flow != "" && name != flow {
			continue
		}
		f := get(name)
		for _, rt := range c.Flows[name].Routes {
			f.Routes = append(f.Routes, &routeFacts{Flow: name, Name: routeName(rt), To: rt.To})
		}
	}
	stats, err := u.opts.Ledger.RouteStats(ctx, &store.StatsParams{Flow: flow, Now: now})
	if err != nil {
		return nil, err
	}
	for _, st := range stats {
		f := get(st.Flow)
		var r *routeFacts
		for _, x := range f.Routes {
			if x.Name == st.Route {
				r = x
			}
		}
		if r == nil { // a route no longer in the catalog, with history
			r = &routeFacts{Flow: st.Flow, Name: st.Route, To: "?"}
			f.Routes = append(f.Routes, r)
		}
		r.Pending, r.InFlight, r.Retrying = st.Counts[seam.DeliveryPending], st.Counts[seam.DeliveryInFlight], st.Counts[seam.DeliveryRetrying]
		r.Delivered, r.Dead, r.Skipped = st.Counts[seam.DeliveryDelivered], st.Counts[seam.DeliveryDead], st.Counts[seam.DeliverySkipped]
		r.OldestDue, r.LastDelivered = st.OldestDue, st.LastDeliveredAt
	}
	if u.opts.Series != nil {
		hour := spans[0]
		since, until := hour.window(now)
		pts, err := u.opts.Series.FlowSeries(ctx, &store.SeriesParams{Flow: flow, Since: since, Until: until, Step: hour.Step})
		if err != nil {
			return nil, err
		}
		l.series = true
		from := now.Add(-healthWindow)
		for _, p := range pts {
			f := get(p.Flow)
			if !p.At.Add(hour.Step).Before(from) {
				f.Received += p.Received
				f.Refused += p.Refused
				f.Delivered += p.Delivered
				f.Failed += p.Failed
			}
		}
		for _, f := range l.flows {
			f.Hour = hour.buckets(now, f.Name, pts)
		}
	}
	q, err := u.opts.Ledger.QuarantineList(ctx, &store.QuarantineFilter{Flow: flow, Status: seam.QuarantineOpen, Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, e := range q {
		get(e.Flow).Quarantined++
	}
	if u.opts.Incidents != nil {
		ins, err := u.opts.Incidents.IncidentList(ctx, &store.IncidentFilter{Flow: flow, State: seam.IncidentOpen, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			f := get(in.Flow)
			f.Incidents = append(f.Incidents, in)
		}
	}
	for name := range l.flows {
		l.names = append(l.names, name)
	}
	sort.Strings(l.names)
	return l, nil
}

// routeName is a route's name, defaulting to its destination as the
// catalog does.
func routeName(rt *catalog.Route) string {
	if rt.Name != "" {
		return rt.Name
	}
	return rt.To
}
