// Command seam is the Seam integration hub: catalog tools, the engine, the
// dashboard and the operator commands in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/seamhq/seam/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := (&cli.Main{}).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
