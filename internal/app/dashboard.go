package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/seamhq/seam/internal/audit"
	"github.com/seamhq/seam/internal/docsgen"
	"github.com/seamhq/seam/internal/engine"
	"github.com/seamhq/seam/internal/httpapi"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/ui"
)

// newDashboard builds the dashboard over the same ledger and the same
// operator service as the API, authenticating with the API's tokens. The
// store's optional capabilities turn on the charts (store.Series) and the
// alert incidents (store.Incidents).
func newDashboard(st store.Store, svc *ops.Service, e *engine.Engine, srv *httpapi.Server, log *slog.Logger) (*ui.UI, error) {
	opts := ui.Options{
		Ledger: st, Ops: svc, Catalog: e.Catalog,
		Authenticate: srv.Authenticate, SessionKey: srv.SessionKey(),
		Logger: log,
		Audit: func(ctx context.Context) (*audit.Report, error) {
			return audit.Run(ctx, e.Catalog(), audit.Options{Ledger: st})
		},
	}
	// The generated docs, with the live facts and the audit, rendered at
	// most every 30 s.
	opts.Docs = ui.StaticSite(func(ctx context.Context) (map[string][]byte, error) {
		c, now := e.Catalog(), time.Now()
		facts, err := audit.Gather(ctx, st, c, now)
		if err != nil {
			return nil, err
		}
		rep, err := audit.Run(ctx, c, audit.Options{Ledger: st, Now: now})
		if err != nil {
			return nil, err
		}
		return docsgen.Render(c, docsgen.Options{Facts: facts, Audit: rep})
	}, 30*time.Second)
	if s, ok := st.(store.Series); ok {
		opts.Series = s
	}
	if in, ok := st.(ui.IncidentLister); ok {
		opts.Incidents = in
	}
	return ui.New(opts)
}
