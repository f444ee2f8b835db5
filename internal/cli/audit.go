package cli

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/audit"
)

func (m *Main) auditCmd() *cobra.Command {
	var storeDSN, format, out, failOn, now string
	var asJSON, rules bool
	var maxChain int
	var silentAfter, slowAfter time.Duration
	cmd := &cobra.Command{
		Use:   "audit [dir]",
		Short: "Find what is risky in the landscape: owners, docs, tests, loops, duplicates, hot spots; a score",
		Long: `Audit the catalog in dir (default: the current folder) and report findings,
each with a severity (critical, high, medium, low), where to look and a fix,
and a score from 0 to 100: flows without owner, description, runbook, tests
or alerts; systems nobody owns or nothing uses; two flows doing the same job;
sync loops without echo suppression; an entity mastered in two systems;
chains of flows deeper than --max-chain; owners nobody can reach; and the
catalog's validation errors (the audit runs on a broken catalog too).

With --store it also reads the ledger: error hot spots, the slowest routes,
dead letters older than a day, and silent flows.

The score starts at 100 and each finding takes a share of what is left
(critical 15 %, high 8 %, medium 3 %, low 1 %). seam audit --rules lists the
rules.

Exit status: 1 when a finding is at least as severe as --fail-on (default
high; none never fails), else 0; 2 on a usage error.`,
		Example: `  seam audit shop
  seam audit --store sqlite:./seam.db --format html --out audit.html
  seam audit --format markdown > AUDIT.md
  seam audit --json | jq '.findings[] | select(.severity == "critical")'
  seam audit --fail-on medium   # stricter, in CI`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if rules {
				return printRules(cmd)
			}
			if asJSON {
				format = "json"
			}
			if format == "md" {
				format = "markdown"
			}
			if !slices.Contains(audit.Formats, format) {
				return usageErrorf("--format %q: use %s", format, strings.Join(audit.Formats, ", "))
			}
			var fail audit.Severity
			if failOn != "none" {
				s, err := audit.ParseSeverity(failOn)
				if err != nil {
					return usageErrorf("--fail-on: %v (or none)", err)
				}
				fail = s
			}
			dir := dirArg(a)
			c, diags, err := m.loadLenient(dir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			opts := audit.Options{Diagnostics: diags, MaxChain: maxChain, SilentAfter: silentAfter, SlowAfter: slowAfter}
			if now != "" {
				t, err := time.Parse(time.RFC3339, now)
				if err != nil {
					return usageErrorf("--now: %v (write RFC 3339, e.g. 2026-04-15T12:00:00Z)", err)
				}
				opts.Now = t
			}
			ctx := cmd.Context()
			if storeDSN != "" {
				l, closeLedger, err := openLedger(ctx, storeDSN, dir)
				if err != nil {
					return err
				}
				defer closeLedger()
				opts.Ledger = l
			}
			r, err := audit.Run(ctx, c, opts)
			if err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			var b bytes.Buffer
			if err := audit.Write(&b, r, format); err != nil {
				return err
			}
			if err := writeOut(cmd.OutOrStdout(), out, b.Bytes()); err != nil {
				return &exitError{code: ExitFindings, err: fmt.Errorf("write the report: %w", err)}
			}
			if out != "" && out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "audit of %s: score %d/100 (%s), %d findings; report in %s\n", r.Project, r.Score, r.Grade, len(r.Findings), out)
			}
			if fail != "" && r.Failed(fail) {
				return errFindings
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&storeDSN, "store", "", "ledger for the ledger rules: sqlite:PATH (relative to the project) or postgres://…")
	f.StringVar(&format, "format", "text", "text, markdown, html or json")
	f.BoolVar(&asJSON, "json", false, "same as --format json")
	f.StringVarP(&out, "out", "o", "", "file to write the report to (default: standard output)")
	f.StringVar(&failOn, "fail-on", "high", "exit 1 when a finding is this severe or more: critical, high, medium, low or none")
	f.IntVar(&maxChain, "max-chain", 3, "longest chain of flows allowed")
	f.DurationVar(&silentAfter, "silent-after", 7*24*time.Hour, "with --store: a flow without a record for this long is silent")
	f.DurationVar(&slowAfter, "slow-after", time.Minute, "with --store: a route whose 95th-percentile delivery time is this long is slow")
	f.StringVar(&now, "now", "", "with --store: judge the ledger as of this time (RFC 3339), e.g. to reproduce a report")
	f.BoolVar(&rules, "rules", false, "list the rules and exit")
	return cmd
}

func printRules(cmd *cobra.Command) error {
	rows := make([][]string, 0, len(audit.Rules))
	for _, r := range audit.Rules {
		what := r.Title
		if r.Ledger {
			what += " (with --store)"
		}
		rows = append(rows, []string{r.ID, string(r.Severity), what})
	}
	table(cmd.OutOrStdout(), "RULE\tSEVERITY\tCHECKS", rows)
	return nil
}
