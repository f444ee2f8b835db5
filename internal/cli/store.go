package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/app"
	"github.com/seamhq/seam/internal/store"
)

func (m *Main) storeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Work on a ledger directly: copy it between SQLite and PostgreSQL",
		Args:  args(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(m.storeCopyCmd())
	return cmd
}

func (m *Main) storeCopyCmd() *cobra.Command {
	var (
		batch  int
		resume bool
	)
	cmd := &cobra.Command{
		Use:   "copy FROM TO",
		Short: "Copy a whole ledger to another store, keeping every id, then check the counts",
		Long: `Copy the ledger FROM into the ledger TO, table by table, keeping every id (so
traces, replays and links stay the same), in batches of --batch rows, each its
own transaction. Each is sqlite:PATH or postgres://… (TO is created and
migrated if new). This is how a SQLite installation grows into PostgreSQL for
several nodes, or comes back.

Stop every seam node that uses FROM or TO first: a record taken in during the
copy may be left behind.

TO must be empty. A copy that was interrupted can be continued into the same
TO with --resume: each table goes on after the largest id already there.

At the end the rows of every table are counted on both sides; the command
exits 1 if any count differs. Progress goes to stderr (one updating line on a
terminal), the final counts to stdout.`,
		Example: `  seam store copy sqlite:./seam.db postgres://seam@db.example/seam
  seam store copy --resume sqlite:./seam.db postgres://seam@db.example/seam
  seam store copy postgres://seam@db.example/seam sqlite:./back.db`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if batch <= 0 {
				return usageErrorf("--batch must be positive")
			}
			for _, dsn := range a {
				if !strings.HasPrefix(dsn, "sqlite:") && !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
					return usageErrorf("store copy: %q is neither sqlite:PATH nor postgres://…", dsn)
				}
			}
			c := &ledgerCopy{from: a[0], to: a[1], batch: batch, resume: resume,
				out: cmd.OutOrStdout(), progress: cmd.ErrOrStderr(), live: isTerminal(cmd.ErrOrStderr())}
			return c.run(cmd.Context())
		},
	}
	cmd.Flags().IntVar(&batch, "batch", 5000, "rows per transaction")
	cmd.Flags().BoolVar(&resume, "resume", false, "continue an interrupted copy into a TO that already holds part of it")
	return cmd
}

// ledgerCopy is one run of `seam store copy`.
type ledgerCopy struct {
	from, to      string
	batch         int
	resume        bool
	out, progress io.Writer
	live          bool // progress rewrites one line (a terminal)
}

func (c *ledgerCopy) run(ctx context.Context) error {
	fail := func(err error) error { return &exitError{code: ExitFindings, err: err} }
	quiet := slog.New(slog.DiscardHandler)
	src, err := app.OpenStore(ctx, c.from, ".", quiet)
	if err != nil {
		return fail(err)
	}
	defer src.Close()
	dst, err := app.OpenStore(ctx, c.to, ".", quiet)
	if err != nil {
		return fail(err)
	}
	defer dst.Close()
	exp, ok := src.(store.Exporter)
	if !ok {
		return fail(fmt.Errorf("store copy: %s cannot be read in bulk", app.RedactDSN(c.from)))
	}
	imp, ok := dst.(store.Importer)
	if !ok {
		return fail(fmt.Errorf("store copy: %s cannot be written in bulk", app.RedactDSN(c.to)))
	}
	dstExp, ok := dst.(store.Exporter)
	if !ok {
		return fail(fmt.Errorf("store copy: %s cannot be counted", app.RedactDSN(c.to)))
	}

	// Where each table starts: after the largest id already in TO, which
	// is 0 for an empty TO. A TO with rows is refused without --resume, so
	// a typo in TO never mixes two ledgers.
	start := make(map[string]int64, len(store.CopyTables))
	var existing []string
	for _, t := range store.CopyTables {
		n, err := imp.ImportMaxID(ctx, t.Name)
		if err != nil {
			return fail(err)
		}
		start[t.Name] = n
		if n > 0 {
			existing = append(existing, t.Name)
		}
	}
	if len(existing) > 0 && !c.resume {
		return fail(fmt.Errorf("store copy: %s is not empty (it has %s); to continue an interrupted copy into it, add --resume",
			app.RedactDSN(c.to), strings.Join(existing, ", ")))
	}

	fmt.Fprintf(c.progress, "copying %s → %s\n", app.RedactDSN(c.from), app.RedactDSN(c.to))
	began := time.Now()
	var total int64
	for _, t := range store.CopyTables {
		n, err := c.copyTable(ctx, exp, imp, t.Name, start[t.Name])
		total += n
		if err != nil {
			return fail(fmt.Errorf("store copy: %w (rerun with --resume to continue)", err))
		}
	}
	if err := imp.ImportDone(ctx); err != nil {
		return fail(err)
	}

	// The check: every table counted on both sides.
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tFROM\tTO\t")
	mismatch := false
	for _, t := range store.CopyTables {
		a, err := exp.ExportCount(ctx, t.Name)
		if err != nil {
			return fail(err)
		}
		b, err := dstExp.ExportCount(ctx, t.Name)
		if err != nil {
			return fail(err)
		}
		verdict := "ok"
		if a != b {
			verdict, mismatch = "DIFFERS", true
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", t.Name, a, b, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	took := time.Since(began)
	fmt.Fprintf(c.out, "copied %d rows in %s (%.0f rows/s)\n", total, took.Round(time.Millisecond), float64(total)/max(took.Seconds(), 1e-9))
	if mismatch {
		return fail(errors.New("store copy: the counts differ: was a seam node still running on FROM or TO?"))
	}
	return nil
}

// copyTable copies the rows of table above afterID and returns how many.
func (c *ledgerCopy) copyTable(ctx context.Context, exp store.Exporter, imp store.Importer, table string, afterID int64) (int64, error) {
	total, err := exp.ExportCount(ctx, table)
	if err != nil {
		return 0, err
	}
	var (
		copied     int64
		began      = time.Now()
		lastReport time.Time
	)
	report := func(final bool) {
		rate := float64(copied) / max(time.Since(began).Seconds(), 1e-9)
		line := fmt.Sprintf("  %-10s %10d / %d rows  %8.0f rows/s", table, copied, total, rate)
		switch {
		case c.live && final:
			fmt.Fprintf(c.progress, "\r%s\033[K\n", line)
		case c.live:
			fmt.Fprintf(c.progress, "\r%s\033[K", line)
		case final:
			fmt.Fprintln(c.progress, line)
		}
		lastReport = time.Now()
	}
	if afterID > 0 {
		fmt.Fprintf(c.progress, "  %-10s resuming after id %d\n", table, afterID)
	}
	for {
		rows, err := exp.ExportRows(ctx, table, afterID, c.batch)
		if err != nil {
			return copied, err
		}
		if len(rows) == 0 {
			break
		}
		if err := imp.ImportRows(ctx, table, rows); err != nil {
			return copied, err
		}
		id, ok := rows[len(rows)-1][0].(int64)
		if !ok {
			return copied, fmt.Errorf("export %s: id is %T", table, rows[len(rows)-1][0])
		}
		afterID = id
		copied += int64(len(rows))
		if time.Since(lastReport) > 200*time.Millisecond {
			report(false)
		}
	}
	report(true)
	return copied, nil
}
