package cli

import (
	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/demo"
)

func (m *Main) demoCmd() *cobra.Command {
	var o demo.Options
	var logLevel string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Seam with simulated systems, traffic and the dashboard",
		Long: `Start Seam on the embedded store with five simulated systems — an e-shop, a
CRM, an ERP, invoicing and a mailing tool — each a real HTTP service on this
machine with its own conventions and quirks (DD/MM vs MM/DD, gross vs net
prices, customer_name vs company_name, an ERP that goes down for a minute now
and then and refuses orders of unknown customers, a slow mailer, an e-shop
that sometimes sends the same webhook twice, an occasional malformed record),
a catalog of flows between them, traffic, and the dashboard.

It prints the dashboard's URL and tokens and a short tour. Works offline.
Ctrl-C stops everything cleanly.`,
		Example: `  seam demo
  go run ./cmd/seam demo                 # without installing seam
  seam demo --rate 5 --listen 127.0.0.1:9090
  seam demo --dir ./demo                 # keep the catalog and the ledger afterwards`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(cmd.ErrOrStderr(), logLevel, "text")
			if err != nil {
				return usageErrorf("%v", err)
			}
			o.Out, o.Logger = cmd.OutOrStdout(), logger
			if err := demo.Run(cmd.Context(), o); err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:8080", "dashboard and API address (a free port is used if it is taken)")
	cmd.Flags().StringVar(&o.Dir, "dir", "", "keep the demo's catalog and ledger in this folder (default: a temporary one)")
	cmd.Flags().Float64Var(&o.Rate, "rate", 1, "orders per second from the e-shop")
	cmd.Flags().DurationVar(&o.Outage, "outage", 0, "how long each ERP outage lasts (default 1m)")
	cmd.Flags().DurationVar(&o.FirstOutage, "first-outage", 0, "when the first ERP outage starts (default 45s)")
	cmd.Flags().StringVar(&logLevel, "log-level", "error", "Seam's log level: debug, info, warn or error")
	return cmd
}
