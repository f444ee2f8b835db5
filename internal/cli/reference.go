package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Reference writes the command-line reference as Markdown from the
// commands themselves, so docs/cli-reference.md cannot drift from --help.
func (m *Main) Reference(w io.Writer) {
	root := m.root()
	fmt.Fprintln(w, "# Command-line reference")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated from `seam --help` by `make generate`; do not edit by hand.")
	fmt.Fprintln(w, "Exit codes everywhere: `0` ok, `1` findings or failure, `2` usage error.")
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		writeCommand(w, c)
	}
}

func writeCommand(w io.Writer, c *cobra.Command) {
	fmt.Fprintf(w, "\n## seam %s\n\n%s\n\n```\n%s\n```\n", c.Name(), c.Short, c.UseLine())
	if c.Long != "" {
		fmt.Fprintf(w, "\n%s\n", c.Long)
	}
	if c.Example != "" {
		fmt.Fprintf(w, "\nExamples:\n\n```sh\n%s\n```\n", strings.TrimRight(c.Example, "\n"))
	}
	if fl := c.NonInheritedFlags().FlagUsages(); strings.TrimSpace(fl) != "" {
		fmt.Fprintf(w, "\nFlags:\n\n```\n%s```\n", fl)
	}
	for _, sub := range c.Commands() {
		if !sub.Hidden {
			writeCommand(w, sub)
		}
	}
}
