package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/catalog"
)

func (m *Main) schemaCmd() *cobra.Command {
	var outDir string
	var markdown bool
	cmd := &cobra.Command{
		Use:   "schema [project|system|model|flow]",
		Short: "Print the JSON Schema of the catalog files, for editor completion",
		Long: `Print the JSON Schema of one kind of catalog file, or with --out write all four
(project, system, model, flow) into a folder. Point your editor's YAML
extension at them (seam init adds the modelines) to get completion,
descriptions and checks as you type.`,
		Example: `  seam schema flow > flow.schema.json
  seam schema --out .seam/schema
  seam schema --markdown > docs/catalog-reference.md`,
		Args:      args(cobra.MaximumNArgs(1)),
		ValidArgs: catalog.SchemaKinds,
		RunE: func(cmd *cobra.Command, a []string) error {
			if markdown {
				_, err := fmt.Fprint(cmd.OutOrStdout(), catalog.Reference())
				return err
			}
			if outDir != "" {
				if len(a) > 0 {
					return usageErrorf("give either a kind or --out, not both")
				}
				if err := os.MkdirAll(outDir, 0o755); err != nil {
					return &exitError{code: ExitFindings, err: err}
				}
				for _, k := range catalog.SchemaKinds {
					b, _ := catalog.Schema(k)
					p := filepath.Join(outDir, k+".schema.json")
					if err := os.WriteFile(p, b, 0o644); err != nil {
						return &exitError{code: ExitFindings, err: err}
					}
					fmt.Fprintln(cmd.OutOrStdout(), p)
				}
				return nil
			}
			kind := "flow"
			if len(a) > 0 {
				kind = a[0]
			}
			b, ok := catalog.Schema(kind)
			if !ok {
				return usageErrorf("unknown kind %q; choose one of %s", kind, strings.Join(catalog.SchemaKinds, ", "))
			}
			_, err := cmd.OutOrStdout().Write(b)
			return err
		},
	}
	cmd.Flags().StringVar(&outDir, "out", "", "write every schema into this folder")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the catalog reference as Markdown instead (docs/catalog-reference.md)")
	return cmd
}
