package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/scaffold"
)

func (m *Main) initCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [dir]",
		Short: "Create a working example project to start from",
		Long: `Create a Seam project in dir (default: the current folder): an e-shop whose
orders go to an ERP and a mailing tool, with owners, conventions, mappings,
alerts and tests, commented so that the files teach the format. It also writes
JSON Schemas under .seam/schema so editors complete and check the files.`,
		Example: `  seam init shop
  seam init . --force     # rewrite the scaffold files in the current folder`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := dirArg(a)
			files, err := scaffold.Write(dir, force)
			if err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created a Seam project in %s:\n", dir)
			for _, f := range files {
				fmt.Fprintf(out, "  %s\n", filepath.ToSlash(f))
			}
			fmt.Fprintf(out, "\nNext:\n  seam validate %s       # check the catalog\n", dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite the scaffold files if the folder already has a project")
	return cmd
}
