package cli

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/diagram"
	"github.com/seamhq/seam/internal/lineage"
)

func (m *Main) mapCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "map [dir]",
		Short: "Draw the systems and flows as a graph: SVG, DOT or Mermaid",
		Long: `Draw the catalog in dir (default: the current folder) as a map: systems as
boxes, flows as pills between them labelled with their entity and owner, an
edge from each flow's source to the flow and from the flow to each route's
destination. Dashed edges are routes with a condition (when:); orange ones go
back to an earlier column, which is what a loop looks like; red borders mark
what has no owner.

SVG is laid out by seam itself (no Graphviz needed). DOT is for Graphviz,
Mermaid for Markdown pages that render it (GitHub, GitLab, wikis).

The format comes from --format, else from the extension of --out (.svg,
.dot or .gv, .mmd or .mermaid), else SVG. Without --out the map goes to
standard output. A catalog with validation errors is drawn as far as it
could be read, with a warning.`,
		Example: `  seam map shop --out map.svg
  seam map shop --format mermaid > map.mmd
  seam map --format dot | dot -Tpng > map.png`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if format == "" {
				format = formatFromExt(out)
			}
			if !slices.Contains(diagram.Formats, format) {
				return usageErrorf("--format %q: use %s", format, strings.Join(diagram.Formats, ", "))
			}
			dir := dirArg(a)
			c, _, err := m.loadLenient(dir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if err := diagram.Write(&b, lineage.Build(c, nil), format, nil); err != nil {
				return err
			}
			if err := writeOut(cmd.OutOrStdout(), out, b.Bytes()); err != nil {
				return &exitError{code: ExitFindings, err: fmt.Errorf("write the map: %w", err)}
			}
			if out != "" && out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote the map of %s to %s\n", c.Project.Name, out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "svg, dot or mermaid (default: from --out's extension, else svg)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write (default: standard output)")
	return cmd
}

func formatFromExt(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".dot", ".gv":
		return "dot"
	case ".mmd", ".mermaid":
		return "mermaid"
	}
	return "svg"
}
