// Package cli is the `seam` command: one file per subcommand. Exit codes
// are a contract with scripts: 0 ok, 1 findings or failure, 2 usage error.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFindings = 1 // validation errors, failed tests, rejected records, runtime failures
	ExitUsage    = 2 // bad flags or arguments
)

// Main runs the command line with its own streams, so tests run it
// in-process exactly as a user would.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Version is set by the build (-ldflags "-X …cli.Version=v1.2.3").
var Version = "dev"

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error // nil when the command already printed what went wrong
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// errFindings reports findings that were already printed.
var errFindings = &exitError{code: ExitFindings}

// Run executes args (without the program name) and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if m.Stdin == nil {
		m.Stdin = os.Stdin
	}
	if m.Stdout == nil {
		m.Stdout = os.Stdout
	}
	if m.Stderr == nil {
		m.Stderr = os.Stderr
	}
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	root := m.root()
	root.SetArgs(args)
	root.SetIn(m.Stdin)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(m.Stderr, "seam: %v\n", ee.err)
			if ee.code == ExitUsage {
				fmt.Fprintln(m.Stderr, "Run 'seam --help' for usage.")
			}
		}
		return ee.code
	}
	// Cobra reports unknown commands and flags as plain errors.
	fmt.Fprintf(m.Stderr, "seam: %v\n", err)
	if isUsage(err) {
		fmt.Fprintln(m.Stderr, "Run 'seam --help' for usage.")
		return ExitUsage
	}
	return ExitFindings
}

func isUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func (m *Main) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "seam",
		Short: "Seam: every data flow declared, owned, documented, monitored, tested and lossless",
		Long: `Seam is an integration hub. Systems, canonical models and flows are declared
as YAML in a project folder (the catalog); Seam validates them, maps records
between the systems' conventions and the canonical model, delivers them
durably with retries, and shows where every record went.`,
		Example: `  seam init shop          # scaffold a working project in ./shop
  seam validate shop      # check it: every problem with file:line:col
  seam schema --out .seam/schema   # JSON Schemas for editor completion`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	var reference bool
	root.Flags().BoolVar(&reference, "markdown-reference", false, "print the command-line reference as Markdown")
	_ = root.Flags().MarkHidden("markdown-reference")
	root.RunE = func(cmd *cobra.Command, a []string) error {
		if reference {
			m.Reference(cmd.OutOrStdout())
			return nil
		}
		return cmd.Help()
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v", err)
	})
	root.AddCommand(
		m.initCmd(),
		m.validateCmd(),
		m.schemaCmd(),
		m.tryCmd(),
		m.testCmd(),
		m.runCmd(),
		m.messagesCmd(),
		m.dlqCmd(),
		m.replayCmd(),
		m.quarantineCmd(),
		m.traceCmd(),
		m.demoCmd(),
		m.mapCmd(),
		m.docsCmd(),
		m.impactCmd(),
		m.planCmd(),
		m.auditCmd(),
		m.alertsCmd(),
		m.reconcileCmd(),
		m.storeCmd(),
	)
	return root
}

// args wraps a cobra positional-argument check so its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageErrorf("%s: %v", cmd.CommandPath(), err)
		}
		return nil
	}
}

// dirArg returns the project folder argument, defaulting to the current one.
func dirArg(a []string) string {
	if len(a) > 0 {
		return a[0]
	}
	return "."
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
