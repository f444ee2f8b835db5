package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/alert"
	"github.com/seamhq/seam/internal/app"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/reconcile"
	"github.com/seamhq/seam/internal/store"
)

// reconcileOutcome is one check's line of `seam reconcile --json`.
type reconcileOutcome struct {
	*reconcile.Result
	Flow  string `json:"flow"`
	Check string `json:"check"`
	Error string `json:"error,omitempty"`
}

func (m *Main) reconcileCmd() *cobra.Command {
	var storeDSN, flow, check string
	var asJSON, record bool
	cmd := &cobra.Command{
		Use:   "reconcile [dir]",
		Short: "Run the reconciliation checks now: do the counts and sums agree between systems?",
		Long: `Run the reconciliation checks the flows of the catalog in dir declare (reconcile:
on a flow), or only --flow's or --check's, and show both numbers of each, the
difference, the tolerance and, where both sides list their keys, the keys only
one side has (up to 100).

It needs no running Seam: it reads the ledger itself (--store, else SEAM_STORE,
else the catalog's store), and only when a check has a ledger side. SQL sides
run in read-only transactions.

seam run runs the same checks on their schedule (every:) and notifies the
owner of a mismatch. With --record, this run leaves the same trace: a mismatch
opens (or updates) the check's incident in the ledger, which a running Seam then
notifies, and a match resolves it.

Exit status: 1 when a check does not match or cannot run, else 0.`,
		Example: `  seam reconcile
  seam reconcile shop --check orders-reach-erp
  seam reconcile --json | jq '.[] | select(.match == false) | .only_left'
  SEAM_STORE=postgres://seam@db/seam seam reconcile --record`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := dirArg(a)
			c, err := m.loadValid(dir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			type item struct {
				f *catalog.Flow
				x *catalog.Reconcile
			}
			var items []item
			for _, name := range c.FlowNames() {
				f := c.Flows[name]
				if flow != "" && f.Name != flow {
					continue
				}
				for _, x := range f.Reconcile {
					if x != nil && (check == "" || x.Name == check) {
						items = append(items, item{f, x})
					}
				}
			}
			if len(items) == 0 {
				if flow != "" || check != "" {
					return usageErrorf("no reconciliation check matches --flow %q --check %q", flow, check)
				}
				fmt.Fprintln(cmd.OutOrStdout(), "no reconciliation checks: declare them with reconcile: on a flow")
				return nil
			}

			ctx := cmd.Context()
			runner := &reconcile.Runner{Env: m.lookupEnv}
			var incidents store.Incidents
			if record || reconcile.NeedsLedger(c, flow, check) {
				st, err := m.openReconcileLedger(ctx, c, dir, storeDSN)
				if err != nil {
					return err
				}
				defer st.Close()
				runner.Ledger = st
				if record {
					inc, ok := st.(store.Incidents)
					if !ok {
						return &exitError{code: ExitFindings, err: fmt.Errorf("--record: this store keeps no incidents")}
					}
					incidents = inc
				}
			}

			var outcomes []*reconcileOutcome
			failed := false
			for _, it := range items {
				o := &reconcileOutcome{Flow: it.f.Name, Check: it.x.Name}
				res, err := runner.Run(ctx, c, it.f, it.x)
				if err != nil {
					o.Error, failed = err.Error(), true
				} else {
					o.Result = res
					failed = failed || !res.Match
					if incidents != nil {
						if _, _, err := alert.RecordReconcile(ctx, incidents, it.f, it.x, res, time.Now()); err != nil {
							o.Error, failed = err.Error(), true
						}
					}
				}
				outcomes = append(outcomes, o)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, outcomes); err != nil {
					return err
				}
			} else {
				printReconcile(out, outcomes)
			}
			if failed {
				return errFindings
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&storeDSN, "store", "", "the ledger, for ledger sides: sqlite:PATH (relative to the project) or postgres://… (default: SEAM_STORE, else seam.yaml's store)")
	f.StringVar(&flow, "flow", "", "only the checks of this flow")
	f.StringVar(&check, "check", "", "only the check of this name")
	f.BoolVar(&asJSON, "json", false, "print the results as JSON")
	f.BoolVar(&record, "record", false, "open or resolve the checks' incidents in the ledger, as seam run does")
	return cmd
}

// openReconcileLedger opens the ledger a reconciliation reads. A SQLite
// ledger that does not exist is an error, not a new empty file whose zero
// counts would look like a mismatch.
func (m *Main) openReconcileLedger(ctx context.Context, c *catalog.Catalog, dir, dsn string) (store.Store, error) {
	if dsn == "" {
		dsn = m.Getenv("SEAM_STORE")
	}
	if dsn == "" {
		v, err := c.Project.Store.Value(m.lookupEnv)
		if err != nil {
			return nil, &exitError{code: ExitFindings, err: fmt.Errorf("store: %w", err)}
		}
		dsn = v
	}
	if dsn == "" {
		dsn = "sqlite:./seam.db"
	}
	if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		path, _, _ := strings.Cut(p, "?")
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, &exitError{code: ExitFindings, err: fmt.Errorf("no ledger at %s (from %s); point --store at it", path, app.RedactDSN(dsn))}
		}
	}
	st, err := app.OpenStore(ctx, dsn, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, &exitError{code: ExitFindings, err: err}
	}
	return st, nil
}

func printReconcile(w io.Writer, outcomes []*reconcileOutcome) {
	rows := make([][]string, 0, len(outcomes))
	for _, o := range outcomes {
		if o.Result == nil {
			rows = append(rows, []string{o.Flow, o.Check, "-", "-", "-", "-", "ERROR"})
			continue
		}
		r := o.Result
		verdict := "ok"
		if !r.Match {
			verdict = "MISMATCH"
		}
		rows = append(rows, []string{o.Flow, o.Check, r.Left.Label + " " + r.Left.Value, r.Right.Label + " " + r.Right.Value,
			r.Difference, r.Tolerance, verdict})
	}
	table(w, "FLOW\tCHECK\tLEFT\tRIGHT\tDIFFERENCE\tTOLERANCE\tRESULT", rows)
	for _, o := range outcomes {
		switch {
		case o.Error != "" && o.Result == nil:
			fmt.Fprintf(w, "\n%s / %s could not run: %s\n", o.Flow, o.Check, o.Error)
		case o.Result != nil && !o.Result.Match:
			r := o.Result
			fmt.Fprintf(w, "\n%s / %s, %s – %s UTC:\n", o.Flow, o.Check, r.From.UTC().Format("2006-01-02 15:04"), r.To.UTC().Format("2006-01-02 15:04"))
			fmt.Fprintf(w, "  %s: %s (%s)\n  %s: %s (%s)\n", r.Left.Label, r.Left.Value, r.Left.Source, r.Right.Label, r.Right.Value, r.Right.Source)
			for _, k := range []struct {
				label string
				keys  []string
			}{{r.Left.Label, r.OnlyLeft}, {r.Right.Label, r.OnlyRight}} {
				if len(k.keys) > 0 {
					fmt.Fprintf(w, "  only in %s (%d): %s\n", k.label, len(k.keys), strings.Join(k.keys, ", "))
				}
			}
			if listed := len(r.OnlyLeft) + len(r.OnlyRight); r.KeysDiffer > listed {
				fmt.Fprintf(w, "  %d keys differ in all; the first %d are listed\n", r.KeysDiffer, listed)
			}
			if o.Error != "" {
				fmt.Fprintf(w, "  not recorded: %s\n", o.Error)
			}
		}
	}
}
