package cli

import (
	"slices"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/plan"
)

func (m *Main) planCmd() *cobra.Command {
	var dir, format string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan OLD NEW",
		Short: "Show what a catalog change changes and breaks, and the owners to tell",
		Long: `Compare two versions of a catalog before the new one is applied: what changes
(systems, models, flows, routes, mappings, policies, owners, docs), which
changes break a consumer, and which owners to tell.

OLD and NEW are each a project folder or a git revision. A revision (main,
HEAD~1, a tag, a commit) is read from the git repository that holds --dir
(default: the current folder), as the project at --dir's place in it; write
REV:PATH for a project elsewhere in the repository. Revisions are extracted
with git archive into a temporary folder; the work tree is not touched.

A change breaks a consumer when:
  - a field a route wrote into a system is no longer written, or is written
    with another type, while a flow still reads it out of that system;
  - a canonical field a route reads is no longer mapped, or is removed from
    or retyped in its model;
  - a flow's key or model changes;
  - a system's conventions change while flows read from it or write to it;
  - a webhook's path or signature changes (the sender must change too);
  - the new catalog has a validation error the old one did not have.

Exit status: 0 when nothing breaks, 1 when something does, 2 on a usage error.`,
		Example: `  seam plan main HEAD                 # in a pull request's CI
  seam plan ../shop-before ../shop    # two folders
  seam plan HEAD . --format markdown  # the last commit against the work tree
  seam plan v1.4:catalog v1.5:catalog --json`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if asJSON {
				format = "json"
			}
			if !slices.Contains([]string{"text", "markdown", "json"}, format) {
				return usageErrorf("--format %q: use text, markdown or json", format)
			}
			ctx := cmd.Context()
			oldDir, cleanOld, err := plan.Resolve(ctx, nil, a[0], dir)
			if err != nil {
				return usageErrorf("OLD: %v", err)
			}
			defer cleanOld()
			newDir, cleanNew, err := plan.Resolve(ctx, nil, a[1], dir)
			if err != nil {
				return usageErrorf("NEW: %v", err)
			}
			defer cleanNew()
			oldC, oldD := catalog.Load(oldDir, nil)
			if oldC.Project == nil || oldC.Project.At.File == "" {
				return usageErrorf("OLD: %s is not a Seam project (no seam.yaml)", a[0])
			}
			newC, newD := catalog.Load(newDir, nil)
			if newC.Project == nil || newC.Project.At.File == "" {
				return usageErrorf("NEW: %s is not a Seam project (no seam.yaml)", a[1])
			}
			p := plan.Diff(oldC, oldD, newC, newD)
			p.Old, p.New = a[0], a[1]
			if err := plan.Write(cmd.OutOrStdout(), p, format); err != nil {
				return err
			}
			if p.Breaking > 0 {
				return errFindings
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "project folder inside the git repository, for OLD or NEW given as revisions")
	cmd.Flags().StringVar(&format, "format", "text", "text, markdown or json")
	cmd.Flags().BoolVar(&asJSON, "json", false, "same as --format json")
	return cmd
}
