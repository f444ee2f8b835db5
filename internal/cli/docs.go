package cli

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/audit"
	"github.com/seamhq/seam/internal/docsgen"
)

func (m *Main) docsCmd() *cobra.Command {
	var out, storeDSN string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "docs [dir] --out DIR",
		Short: "Write the catalog's documentation as a static HTML site",
		Long: `Write a static site documenting the catalog in dir (default: the current
folder) into the folder --out: an index with the map, every system, flow and
owner, and a search box; one page per system (owner and contact, conventions,
flows out and in, the fields flows read and write); one page per flow (owner,
description, runbook, source, each route with its policy and a field-by-field
table source field → canonical field → target field with the conventions
applied, alerts, tests, upstream and downstream flows); one page per model;
and the audit report.

The pages are plain HTML with one local style sheet: they open from the file
system, print well, and need JavaScript only for the search box. Only files
whose content changed are rewritten, and pages of flows or systems that are
gone are removed (only pages seam docs wrote), so the site can live in git.

With --store, pages add live facts from the ledger: last record and last
success, volume, error rate, dead letters, delivery times, and health
colours on the map. Without it the output depends only on the catalog.`,
		Example: `  seam docs shop --out site && open site/index.html
  seam docs --out /var/www/integrations --store sqlite:./seam.db`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if out == "" {
				return usageErrorf("--out is required: the folder to write the site into")
			}
			dir := dirArg(a)
			c, diags, err := m.loadLenient(dir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			opts := docsgen.Options{}
			aopts := audit.Options{Diagnostics: diags}
			if storeDSN != "" {
				l, closeLedger, err := openLedger(ctx, storeDSN, dir)
				if err != nil {
					return err
				}
				defer closeLedger()
				now := time.Now()
				if opts.Facts, err = audit.Gather(ctx, l, c, now); err != nil {
					return &exitError{code: ExitFindings, err: err}
				}
				aopts.Ledger, aopts.Now = l, now
			}
			if opts.Audit, err = audit.Run(ctx, c, aopts); err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			res, err := docsgen.Generate(c, out, opts)
			if err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "✓ docs of %s in %s: %s written, %s unchanged, %s removed\n  open %s\n",
				c.Project.Name, out, plural(len(res.Written), "file"), plural(len(res.Unchanged), "file"), plural(len(res.Removed), "file"),
				filepath.Join(out, "index.html"))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "folder to write the site into (required)")
	cmd.Flags().StringVar(&storeDSN, "store", "", "ledger for live facts: sqlite:PATH (relative to the project) or postgres://…")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the files written, unchanged and removed as JSON")
	return cmd
}
