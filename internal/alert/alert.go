// Package alert evaluates the catalog's alert rules and reconciliation
// checks continuously, keeps their incidents in the ledger, and tells each
// flow's owner: one notice when an incident opens, reminders while it
// lasts, one when it clears.
//
// Rules read the ledger (dead letters, backlog age, quarantine, the last
// record received), so every node sees the same numbers; the error rate and
// open circuits come from this node's engine (the Evaluator is an
// engine.Observer). Incidents and notices are arbitrated by the ledger
// (store.Incidents): however many nodes evaluate, an incident is opened
// once and each notice is claimed, and sent, by one node. On a store that
// elects a leader (store.Leaser), only the leader evaluates.
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/reconcile"
	"github.com/seamhq/seam/internal/store"
)

// Defaults of Options.
const (
	DefaultInterval          = 15 * time.Second
	DefaultReconcileInterval = time.Minute
	DefaultRemind            = time.Hour
	DefaultNoticeLease       = 2 * time.Minute
	// leaderName is the leadership the evaluator asks a store.Leaser for.
	leaderName = "alerts"
)

// Store is what the evaluator reads and writes: the ledger's state, and
// the incidents.
type Store interface {
	RouteStats(ctx context.Context, p *store.StatsParams) ([]*store.RouteStats, error)
	MessageList(ctx context.Context, f *store.MessageFilter) ([]*seam.Message, error)
	DeliveryList(ctx context.Context, f *store.DeliveryFilter) ([]*seam.Delivery, error)
	QuarantineList(ctx context.Context, f *store.QuarantineFilter) ([]*seam.Quarantined, error)
	store.Incidents
}

// Options configure an Evaluator; zero values take the defaults.
type Options struct {
	Store Store
	// Catalog returns the catalog now running (it changes on reload).
	Catalog func() *catalog.Catalog
	// Env resolves the channels' ${…} references (default os.LookupEnv).
	Env catalog.Lookup
	// Node names this process in notice claims (and leadership).
	Node string
	// Now is the clock; tests inject one, so nothing sleeps.
	Now func() time.Time
	// Interval between evaluations of the rules (default 15s).
	Interval time.Duration
	// ReconcileInterval is how often checks that are due are looked for
	// (default 1m); each runs every its own every: (default 1h).
	ReconcileInterval time.Duration
	// NoticeLease bounds how long a node that died while notifying keeps
	// others from retrying (default 2m).
	NoticeLease time.Duration
	// DashboardURL is the base of the links in notices when the catalog
	// sets no alerts.dashboard_url (default http:// and the listen address).
	DashboardURL string
	// HTTPClient sends webhooks and reconciliation requests.
	HTTPClient *http.Client
	// SleepFunc waits between webhook retries; tests make it instant.
	SleepFunc func(ctx context.Context, d time.Duration) error
	Logger    *slog.Logger
}

// Evaluator evaluates rules and checks and sends their notices. It is
// safe for concurrent use.
type Evaluator struct {
	opts    Options
	log     *slog.Logger
	started time.Time
	leaser  store.Leaser // nil: this node always evaluates

	attempts *attempts
	breakers breakers
	runner   *reconcile.Runner

	evalMu  sync.Mutex // one evaluation at a time
	reconMu sync.Mutex // one reconciliation round at a time

	mu       sync.Mutex
	warned   map[string]bool      // log once: "nobody to tell about …"
	lastRun  map[string]time.Time // reconciliation check → last run
	lastSeen map[string]time.Time // flow → newest record received, as last read

	notices    *prometheus.CounterVec
	evalErrors prometheus.Counter
	reconRuns  *prometheus.CounterVec

	lifeMu sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds an evaluator; nothing runs until Start.
func New(opts Options) (*Evaluator, error) {
	if opts.Store == nil || opts.Catalog == nil {
		return nil, errors.New("alert: a store and a catalog are required")
	}
	if opts.Node == "" {
		opts.Node = "seam"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.ReconcileInterval <= 0 {
		opts.ReconcileInterval = DefaultReconcileInterval
	}
	if opts.NoticeLease <= 0 {
		opts.NoticeLease = DefaultNoticeLease
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Evaluator{
		opts:     opts,
		log:      opts.Logger.With("component", "alerts", "node", opts.Node),
		started:  opts.Now(),
		attempts: newAttempts(),
		warned:   map[string]bool{},
		lastRun:  map[string]time.Time{},
		lastSeen: map[string]time.Time{},
		runner:   &reconcile.Runner{Ledger: opts.Store, Env: opts.Env, HTTP: opts.HTTPClient, Now: opts.Now},
	}
	if l, ok := opts.Store.(store.Leaser); ok {
		e.leaser = l
	}
	e.notices = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seam_alert_notifications_total",
		Help: "Alert notices by channel, kind (firing, reminder, resolved) and result: sent, or failed (retried at the next evaluation).",
	}, []string{"channel", "kind", "result"})
	e.evalErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "seam_alert_evaluation_errors_total",
		Help: "Alert rules that could not be evaluated (the ledger could not be read); their incidents keep their state.",
	})
	e.reconRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seam_reconcile_runs_total",
		Help: "Reconciliation runs by flow, check and result: match, mismatch, or error (the check could not run).",
	}, []string{"flow", "check", "result"})
	return e, nil
}

// Collectors returns the evaluator's metrics, for the /metrics registry.
func (e *Evaluator) Collectors() []prometheus.Collector {
	return []prometheus.Collector{e.notices, e.evalErrors, e.reconRuns}
}

// Received implements engine.Observer; silence is read from the ledger,
// which every node shares, so intake needs no counting here.
func (e *Evaluator) Received(string, string) {}

// Attempted implements engine.Observer: it counts attempts for the error
// rate. A postponed attempt (open circuit) was not tried and is not counted.
func (e *Evaluator) Attempted(flow, _ string, outcome string, _ time.Duration) {
	switch outcome {
	case "delivered":
		e.attempts.add(flow, true, e.opts.Now())
	case "retry", "dead":
		e.attempts.add(flow, false, e.opts.Now())
	}
}

// BreakerChanged implements engine.Observer.
func (e *Evaluator) BreakerChanged(flow, route string, open bool) {
	e.breakers.set(flow, route, open)
}

// Start runs the evaluations and reconciliations in the background until
// Stop.
func (e *Evaluator) Start(ctx context.Context) {
	e.lifeMu.Lock()
	defer e.lifeMu.Unlock()
	if e.cancel != nil {
		return
	}
	ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	e.wg.Add(2)
	go e.every(ctx, e.opts.Interval, func(ctx context.Context) error { return e.Evaluate(ctx) })
	go e.every(ctx, e.opts.ReconcileInterval, func(ctx context.Context) error { return e.Reconcile(ctx) })
}

// Stop stops the background work, waits for a round in progress, and
// gives up the leadership so another node takes over at once. It is
// idempotent and safe on an evaluator that never started.
func (e *Evaluator) Stop(ctx context.Context) {
	e.lifeMu.Lock()
	cancel := e.cancel
	e.cancel = nil
	e.lifeMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	e.wg.Wait()
	if e.leaser != nil {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := e.leaser.LeaderResign(rctx, &store.LeaderParams{Name: leaderName, Node: e.opts.Node}); err != nil {
			e.log.Warn("resign alert leadership", "err", err)
		}
	}
}

func (e *Evaluator) every(ctx context.Context, d time.Duration, round func(context.Context) error) {
	defer e.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := round(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("alert round", "err", err)
		}
	}
}

// leads reports whether this node evaluates now: always without a
// leader-electing store, else while it holds the leadership.
func (e *Evaluator) leads(ctx context.Context) bool {
	if e.leaser == nil {
		return true
	}
	ok, err := e.leaser.LeaderAttemptElect(ctx, &store.LeaderParams{Name: leaderName, Node: e.opts.Node,
		TTL: 4 * e.opts.Interval, Now: e.opts.Now()})
	if err != nil {
		e.log.Error("elect the alert leader", "err", err)
		return false
	}
	return ok
}

// Evaluate runs one round: every rule of every flow is checked, incidents
// are opened and resolved accordingly, and the notices that are due are
// sent. A rule whose state cannot be read keeps its incident as it is;
// the error is returned after the others were evaluated.
func (e *Evaluator) Evaluate(ctx context.Context) error {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	if !e.leads(ctx) {
		return nil
	}
	c := e.opts.Catalog()
	now := e.opts.Now()
	open, err := e.openIncidents(ctx)
	if err != nil {
		return err
	}
	var errs []error
	var longest time.Duration
	rs := &roundState{}
	for _, name := range c.FlowNames() {
		f := c.Flows[name]
		for _, a := range f.Alerts {
			if a == nil || a.Kind() == "" {
				continue
			}
			if a.ErrorRate != nil {
				longest = max(longest, a.ErrorRate.Over.Or(defaultErrorWindow))
			}
			cond, err := e.check(ctx, f, a, rs, now)
			if err != nil {
				e.evalErrors.Inc()
				errs = append(errs, fmt.Errorf("flow %s rule %s: %w", f.Name, a.RuleName(), err))
				continue
			}
			key := f.Name + "\x00" + a.RuleName()
			if err := e.apply(ctx, f.Name, a.RuleName(), a.Kind(), a.Severity, cond, open[key], now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	e.attempts.setKeep(longest)
	// An incident whose rule left the catalog (a reload) can no longer
	// clear by itself.
	for _, in := range open {
		if !ruleExists(c, in) {
			if err := e.apply(ctx, in.Flow, in.Rule, in.Kind, in.Severity,
				&condition{resolution: "the rule was removed from the catalog"}, in, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := e.notifyAll(ctx, c, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// openIncidents returns the open incidents by flow and rule.
func (e *Evaluator) openIncidents(ctx context.Context) (map[string]*seam.Incident, error) {
	list, err := e.opts.Store.IncidentList(ctx, &store.IncidentFilter{State: seam.IncidentOpen, Limit: 10_000})
	if err != nil {
		return nil, fmt.Errorf("list open incidents: %w", err)
	}
	out := make(map[string]*seam.Incident, len(list))
	for _, in := range list {
		out[in.Flow+"\x00"+in.Rule] = in
	}
	return out, nil
}

// apply opens, updates or resolves the incident of one rule. It writes
// only when something changed, so a quiet landscape costs no writes.
func (e *Evaluator) apply(ctx context.Context, flow, rule, kind, severity string, cond *condition, cur *seam.Incident, now time.Time) error {
	if severity == "" {
		severity = "warning"
	}
	if !cond.firing {
		if cur == nil {
			return nil
		}
		in, err := e.opts.Store.IncidentResolve(ctx, &store.IncidentResolveParams{Flow: flow, Rule: rule,
			Resolution: cond.resolution, Now: now})
		if errors.Is(err, store.ErrNotFound) {
			return nil // another node resolved it first
		}
		if err != nil {
			return fmt.Errorf("resolve incident %s/%s: %w", flow, rule, err)
		}
		e.log.Info("incident resolved", "flow", flow, "rule", rule, "incident", in.ID, "after", now.Sub(in.OpenedAt).Round(time.Second))
		return nil
	}
	details, err := cond.detailsJSON()
	if err != nil {
		return err
	}
	if cur != nil && cur.Summary == cond.summary && cur.Severity == severity && cur.Kind == kind && string(cur.Details) == string(details) {
		return nil
	}
	in, opened, err := e.opts.Store.IncidentOpen(ctx, &store.IncidentOpenParams{Flow: flow, Rule: rule, Kind: kind,
		Severity: severity, Summary: cond.summary, Details: details, Now: now})
	if err != nil {
		return fmt.Errorf("open incident %s/%s: %w", flow, rule, err)
	}
	if opened {
		e.log.Warn("incident opened", "flow", flow, "rule", rule, "incident", in.ID, "summary", in.Summary)
	}
	return nil
}

// ruleExists reports whether the incident's rule is still in the catalog.
func ruleExists(c *catalog.Catalog, in *seam.Incident) bool {
	f := c.Flows[in.Flow]
	if f == nil {
		return false
	}
	for _, a := range f.Alerts {
		if a != nil && a.Kind() != "" && a.RuleName() == in.Rule {
			return true
		}
	}
	for _, x := range f.Reconcile {
		if x != nil && x.RuleName() == in.Rule {
			return true
		}
	}
	return false
}

// warnOnce logs a problem the first time it is seen, so that a rule that
// fires for hours does not repeat it every 15 seconds.
func (e *Evaluator) warnOnce(key, msg string, args ...any) {
	if e.firstTime(key) {
		e.log.Warn(msg, args...)
	}
}

// firstTime reports whether key is seen for the first time. The set grows
// with incidents and is small: a few keys per incident.
func (e *Evaluator) firstTime(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := e.warned[key]
	e.warned[key] = true
	return !seen
}
