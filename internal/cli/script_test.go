package cli_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/seamhq/seam/internal/cli"
)

// TestMain makes the test binary double as the seam command, so that the
// scripts run `seam` exactly as a user would: its own process, arguments,
// environment, working directory and exit code.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"seam": func() { os.Exit((&cli.Main{}).Run(context.Background(), os.Args[1:])) },
		// exit-code N seam ARGS… runs seam and succeeds only if it exits
		// with N: scripts that check the exit-code contract.
		"exit-code": func() {
			if len(os.Args) < 3 || os.Args[2] != "seam" {
				fmt.Fprintln(os.Stderr, "usage: exit-code N seam [args…]")
				os.Exit(100)
			}
			want, err := strconv.Atoi(os.Args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, "exit-code:", err)
				os.Exit(100)
			}
			if got := (&cli.Main{}).Run(context.Background(), os.Args[3:]); got != want {
				fmt.Fprintf(os.Stderr, "exit-code: seam exited with %d, want %d\n", got, want)
				os.Exit(100)
			}
			os.Exit(0)
		},
	})
}

func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
	})
}
