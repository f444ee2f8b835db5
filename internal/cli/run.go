package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/seamhq/seam/internal/app"
	"github.com/seamhq/seam/internal/telemetry"
)

func (m *Main) runCmd() *cobra.Command {
	var storeDSN, listen, node, logLevel, logFormat, pprofAddr string
	var logRecords, logPersonal bool
	cmd := &cobra.Command{
		Use:   "run [dir]",
		Short: "Serve the flows' webhooks and deliver every record",
		Long: `Run the catalog in dir (default: the current folder): serve each flow's webhook
intake, store every record in the ledger before answering 2xx, and deliver it
to every route with retries, backoff, a circuit breaker and per-key ordering.
Also serves the JSON API under /api (behind a token), /healthz and /readyz.

SIGHUP (or POST /api/reload) reloads the catalog: the new one is built in full
and swapped in only if it is valid; otherwise the running one stays.
SIGINT/SIGTERM stop intake, let attempts in flight finish, and keep the rest
pending for the next start.

Environment: SEAM_STORE and SEAM_LISTEN override seam.yaml's store and listen;
secrets are read from the variables the catalog names. OpenTelemetry traces
(a span per intake and per attempt, traceparent passed to destinations) are
off unless OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER=otlp is set.`,
		Example: `  seam run
  SEAM_STORE=sqlite:/var/lib/seam/seam.db seam run /etc/seam
  seam run shop --listen 127.0.0.1:9090 --log-format json`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := dirArg(a)
			logger, err := newLogger(cmd.ErrOrStderr(), logLevel, logFormat)
			if err != nil {
				return usageErrorf("%v", err)
			}
			if storeDSN == "" {
				storeDSN = m.Getenv("SEAM_STORE")
			}
			if listen == "" {
				listen = m.Getenv("SEAM_LISTEN")
			}
			ctx := cmd.Context()
			shutdownTraces, err := telemetry.Setup(ctx, m.Getenv, Version)
			if err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			defer func() { _ = shutdownTraces(context.WithoutCancel(ctx)) }()
			a2, err := app.New(ctx, app.Options{Dir: dir, Store: storeDSN, Listen: listen, Node: node, Logger: logger,
				LogRecords: logRecords, LogPersonal: logPersonal})
			if err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			if err := a2.Start(ctx); err != nil {
				return &exitError{code: ExitFindings, err: err}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "seam is running on http://%s (Ctrl-C to stop)\n", a2.Addr())
			if a2.Token != "" {
				fmt.Fprintf(out, "API token for this run (no api.tokens in seam.yaml): %s\n", a2.Token)
			}
			if pprofAddr != "" {
				go servePprof(pprofAddr, logger)
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			for {
				select {
				case <-hup:
					if err := a2.Reload(ctx, "signal:SIGHUP"); err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "reload refused, the running catalog stays: %v\n", err)
					} else {
						fmt.Fprintln(out, "catalog reloaded")
					}
				case err := <-a2.Err():
					_ = a2.Stop(context.WithoutCancel(ctx))
					return &exitError{code: ExitFindings, err: err}
				case <-ctx.Done():
					fmt.Fprintln(out, "stopping: intake closed, finishing attempts in flight…")
					sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
					defer cancel()
					if err := a2.Stop(sctx); err != nil {
						return &exitError{code: ExitFindings, err: err}
					}
					fmt.Fprintln(out, "stopped; undelivered records stay pending for the next start")
					return nil
				}
			}
		},
	}
	cmd.Flags().StringVar(&storeDSN, "store", "", "ledger: sqlite:PATH or postgres://… (default: seam.yaml's store, or SEAM_STORE)")
	cmd.Flags().StringVar(&listen, "listen", "", "HTTP address (default: seam.yaml's listen, or SEAM_LISTEN, else 127.0.0.1:8080)")
	cmd.Flags().StringVar(&node, "node", "", "node name in leases and logs (default: random)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "text or json")
	cmd.Flags().BoolVar(&logRecords, "log-records", false, "log every accepted record's canonical form (personal fields masked)")
	cmd.Flags().BoolVar(&logPersonal, "log-personal", false, "with --log-records: do not mask the fields the model marks personal")
	cmd.Flags().StringVar(&pprofAddr, "pprof", "", "serve Go's profiler on this address (e.g. 127.0.0.1:6060), for performance work")
	return cmd
}

func newLogger(w interface{ Write([]byte) (int, error) }, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("pprof server", "err", err)
	}
}
