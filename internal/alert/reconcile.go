package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/reconcile"
	"github.com/seamhq/seam/internal/store"
)

var defaultEnv catalog.Lookup = os.LookupEnv

// Reconcile runs the reconciliation checks that are due (each every its
// every:, 1h by default; all of them on the first round), and opens or
// resolves their incidents. Their notices go out with the next Evaluate.
// A check that cannot run (a database down) keeps its incident as it is;
// the error is returned after the other checks ran.
func (e *Evaluator) Reconcile(ctx context.Context) error {
	e.reconMu.Lock()
	defer e.reconMu.Unlock()
	if !e.leads(ctx) {
		return nil
	}
	c := e.opts.Catalog()
	var errs []error
	for _, name := range c.FlowNames() {
		f := c.Flows[name]
		for _, x := range f.Reconcile {
			if x == nil {
				continue
			}
			key := f.Name + "\x00" + x.Name
			now := e.opts.Now()
			e.mu.Lock()
			last := e.lastRun[key]
			due := last.IsZero() || now.Sub(last) >= x.Every.Or(reconcile.DefaultEvery)
			if due {
				e.lastRun[key] = now
			}
			e.mu.Unlock()
			if !due {
				continue
			}
			res, err := e.runner.Run(ctx, c, f, x)
			if err != nil {
				e.reconRuns.WithLabelValues(f.Name, x.Name, "error").Inc()
				e.log.Error("reconciliation could not run", "flow", f.Name, "check", x.Name, "err", err)
				errs = append(errs, err)
				continue
			}
			result := "match"
			if !res.Match {
				result = "mismatch"
			}
			e.reconRuns.WithLabelValues(f.Name, x.Name, result).Inc()
			if _, _, err := RecordReconcile(ctx, e.opts.Store, f, x, res, e.opts.Now()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// RecordReconcile turns a result into the check's incident: a mismatch
// opens it (or brings its numbers up to date), a match resolves it. It
// returns the incident touched, if any, and whether it was opened now.
// `seam reconcile --record` and the evaluator share it, so an on-demand
// run and a scheduled one leave the same trace.
func RecordReconcile(ctx context.Context, st store.Incidents, f *catalog.Flow, x *catalog.Reconcile, res *reconcile.Result, now time.Time) (*seam.Incident, bool, error) {
	if res.Match {
		in, err := st.IncidentResolve(ctx, &store.IncidentResolveParams{Flow: f.Name, Rule: x.RuleName(),
			Resolution: "the numbers agree again: " + res.Summary(), Now: now})
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("resolve reconciliation %s/%s: %w", f.Name, x.Name, err)
		}
		return in, false, nil
	}
	// The details hold the window, which moves with every run: that is one
	// write per run (hourly by default), and the incident always shows the
	// latest evidence.
	details, err := json.Marshal(map[string]any{"detail": res.Detail(), "result": res})
	if err != nil {
		return nil, false, err
	}
	severity := x.Severity
	if severity == "" {
		severity = "warning"
	}
	in, opened, err := st.IncidentOpen(ctx, &store.IncidentOpenParams{Flow: f.Name, Rule: x.RuleName(), Kind: "reconcile",
		Severity: severity, Summary: "reconciliation " + res.Summary(), Details: details, Now: now})
	if err != nil {
		return nil, false, fmt.Errorf("open reconciliation incident %s/%s: %w", f.Name, x.Name, err)
	}
	return in, opened, nil
}
