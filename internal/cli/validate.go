package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/catalog"
)

func (m *Main) validateCmd() *cobra.Command {
	var asJSON, strict bool
	cmd := &cobra.Command{
		Use:   "validate [dir]",
		Short: "Check a project's catalog and report every problem with file:line:col",
		Long: `Check seam.yaml, systems/, models/ and flows/ in dir (default: the current
folder): unknown keys, wrong types, owners, references between files, names,
paths, durations, schedules and every mapping expression. All problems are
reported at once, each as file:line:col: message, with a hint where one helps.

Exit status: 0 when the catalog is valid (warnings allowed unless --strict),
1 when it has errors, 2 on a usage error.`,
		Example: `  seam validate
  seam validate shop --json | jq '.diagnostics[] | .message'
  seam validate shop --strict   # warnings (e.g. unset secrets) fail too`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := dirArg(a)
			c, diags := catalog.Load(dir, &catalog.Options{Env: m.lookupEnv})
			failed := diags.Errors() > 0 || (strict && diags.Warnings() > 0)
			out := cmd.OutOrStdout()
			if asJSON {
				if diags == nil {
					diags = catalog.Diagnostics{}
				}
				if err := writeJSON(out, map[string]any{
					"valid":       !failed,
					"errors":      diags.Errors(),
					"warnings":    diags.Warnings(),
					"diagnostics": diags,
					"counts":      counts(c),
				}); err != nil {
					return err
				}
			} else {
				for _, d := range diags {
					fmt.Fprintln(out, d.String())
				}
				n := counts(c)
				name := dir
				if c.Project != nil && c.Project.Name != "" {
					name = c.Project.Name
				}
				if failed {
					fmt.Fprintf(out, "✗ %s: %s, %s\n", name, plural(diags.Errors(), "error"), plural(diags.Warnings(), "warning"))
				} else {
					fmt.Fprintf(out, "✓ %s is valid: %s, %s, %s, %s, %s",
						name, plural(n["systems"], "system"), plural(n["flows"], "flow"), plural(n["routes"], "route"),
						plural(n["models"], "model"), plural(n["owners"], "owner"))
					if w := diags.Warnings(); w > 0 {
						fmt.Fprintf(out, " (%s)", plural(w, "warning"))
					}
					fmt.Fprintln(out)
				}
			}
			if failed {
				return errFindings
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().BoolVar(&strict, "strict", false, "fail on warnings too")
	return cmd
}

// lookupEnv resolves ${…} references through m.Getenv, so that a Main
// with its own environment (a test's) validates against that one. An
// empty variable counts as unset, as it does at run time.
func (m *Main) lookupEnv(name string) (string, bool) {
	v := m.Getenv(name)
	return v, v != ""
}

func counts(c *catalog.Catalog) map[string]int {
	routes := 0
	for _, f := range c.Flows {
		routes += len(f.Routes)
	}
	owners := 0
	if c.Project != nil {
		owners = len(c.Project.Owners)
	}
	return map[string]int{"systems": len(c.Systems), "flows": len(c.Flows), "routes": routes, "models": len(c.Models), "owners": owners}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
