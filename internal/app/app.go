// Package app is the composition root: it builds the store, the engine,
// the operator service and the HTTP server from a project folder, and runs
// them with one lifecycle. `seam run`, `seam demo` and the end-to-end
// tests all start Seam through it.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/alert"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/engine"
	"github.com/seamhq/seam/internal/httpapi"
	"github.com/seamhq/seam/internal/metrics"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/postgres"
	"github.com/seamhq/seam/internal/store/sqlite"
)

// Options configure an App; zero values take the defaults.
type Options struct {
	Dir string
	// Store overrides seam.yaml's store (SEAM_STORE).
	Store string
	// Listen overrides seam.yaml's listen address (SEAM_LISTEN).
	Listen string
	Env    catalog.Lookup
	Logger *slog.Logger
	Node   string
	// PollInterval of the engine (tests shorten it).
	PollInterval time.Duration
	// Lease is how long a delivery claimed by this node stays its own; a
	// node that dies has its deliveries taken over by the others once it
	// ends (default: the engine's, 2m; env SEAM_LEASE).
	Lease time.Duration
	// LeaderLease is how long the leadership of the once-per-cluster work
	// lasts without renewal, on a store several nodes share: a dead
	// leader is replaced within it (default 30s; env SEAM_LEADER_LEASE).
	LeaderLease time.Duration
	// MaintenanceInterval is how often the leader applies the retention
	// (default 1h; env SEAM_MAINTENANCE_INTERVAL).
	MaintenanceInterval time.Duration
	// LogRecords and LogPersonal: see engine.Options.
	LogRecords, LogPersonal bool
}

// App is a running Seam.
type App struct {
	opts    Options
	log     *slog.Logger
	store   store.Store
	engine  *engine.Engine
	metrics *metrics.Metrics
	alerts  *alert.Evaluator // nil when the store keeps no incidents
	server  *http.Server
	ln      net.Listener
	mu      sync.Mutex // serialises reloads
	// Token is the operator token generated when the catalog declares
	// none; empty otherwise.
	Token  string
	errc   chan error
	cancel context.CancelFunc // stops background maintenance
	done   chan struct{}
}

// Retention defaults: what SPEC promises a user who sets nothing.
const (
	DefaultMessageRetention  = 90 * 24 * time.Hour
	DefaultEvidenceRetention = 2 * 365 * 24 * time.Hour
	pruneEvery               = time.Hour
)

// New loads the project and opens the store; nothing is served yet.
func New(ctx context.Context, opts Options) (*App, error) {
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &App{opts: opts, log: opts.Logger, errc: make(chan error, 1)}
	if err := a.durations(); err != nil {
		return nil, err
	}
	c, err := a.load()
	if err != nil {
		return nil, err
	}
	dsn := opts.Store
	if dsn == "" {
		if dsn, err = c.Project.Store.Value(opts.Env); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	if dsn == "" {
		dsn = "sqlite:./seam.db"
	}
	st, err := OpenStore(ctx, dsn, opts.Dir, opts.Logger)
	if err != nil {
		return nil, err
	}
	a.store = st
	// A single-node store has no other node whose leases could be live:
	// deliveries leased by a previous process of ours are due again now.
	// On a shared store (one that elects a leader) the other nodes' leases
	// are live; a dead node's expire and are taken over.
	if _, shared := st.(store.Leaser); !shared {
		if err := st.DeliveryReleaseLeases(ctx, ""); err != nil {
			st.Close()
			return nil, fmt.Errorf("release leases of the previous run: %w", err)
		}
	}
	a.metrics = metrics.New(st, opts.Logger)
	observed := &observers{a.metrics} // the alert evaluator joins below, before the engine starts
	e, err := engine.New(c, st, engine.Options{Node: opts.Node, Env: opts.Env, Logger: opts.Logger, PollInterval: opts.PollInterval, Lease: a.opts.Lease, Observer: observed,
		LogRecords: opts.LogRecords, LogPersonal: opts.LogPersonal})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.engine = e
	tokens, generated, err := tokensOf(c, opts.Env)
	if err != nil {
		st.Close()
		return nil, err
	}
	a.Token = generated
	svc := &ops.Service{Store: st, Catalog: e.Catalog, Now: time.Now}
	srv := &httpapi.Server{
		Intake: e, Ledger: st, Ops: svc, Tokens: tokens, Logger: opts.Logger,
		Reload:  func(ctx context.Context, actor string) error { return a.Reload(ctx, actor) },
		Ready:   func() error { return nil },
		Metrics: a.metrics.Handler(),
	}
	if srv.UI, err = newDashboard(st, svc, e, srv, opts.Logger); err != nil {
		st.Close()
		return nil, err
	}
	listen := opts.Listen
	if listen == "" {
		listen = c.Project.Listen
	}
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", listen, err)
	}
	a.ln = ln
	if incidents, ok := st.(alert.Store); ok {
		ev, err := alert.New(alert.Options{Store: incidents, Catalog: e.Catalog, Env: opts.Env, Node: e.Node(),
			Logger: opts.Logger, DashboardURL: "http://" + ln.Addr().String()})
		if err == nil {
			err = a.metrics.Register(ev.Collectors()...)
		}
		if err != nil {
			ln.Close()
			st.Close()
			return nil, err
		}
		*observed = append(*observed, ev)
		a.alerts, srv.Alerts = ev, incidents
	} else {
		opts.Logger.Warn("this store keeps no alert incidents: alert rules and reconciliation checks are not evaluated")
	}
	a.server = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return a, nil
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Store returns the ledger.
func (a *App) Store() store.Store { return a.store }

// Engine returns the engine.
func (a *App) Engine() *engine.Engine { return a.engine }

func (a *App) load() (*catalog.Catalog, error) {
	c, diags := catalog.Load(a.opts.Dir, &catalog.Options{Env: a.opts.Env})
	if n := diags.Errors(); n > 0 {
		var lines []string
		for _, d := range diags {
			if d.Severity == catalog.SevError {
				lines = append(lines, d.String())
			}
		}
		return nil, seam.Errorf(seam.EINVALID, "the catalog has %d errors:\n%s", n, strings.Join(lines, "\n")).
			WithHint("fix them (seam validate " + a.opts.Dir + ") and start again")
	}
	return c, nil
}

// Start starts delivery and serving.
func (a *App) Start(ctx context.Context) error {
	if err := a.engine.Start(ctx); err != nil {
		return err
	}
	go func() {
		if err := a.server.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errc <- err
		}
	}()
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel, a.done = cancel, make(chan struct{})
	go a.maintain(mctx)
	if a.alerts != nil {
		a.alerts.Start(ctx)
	}
	return nil
}

func (a *App) prune(ctx context.Context) {
	r := a.engine.Catalog().Project.Retention
	now := time.Now()
	res, err := a.store.Prune(ctx, &store.PruneParams{
		MessagesBefore: now.Add(-r.Messages.Or(DefaultMessageRetention)),
		EvidenceBefore: now.Add(-r.Evidence.Or(DefaultEvidenceRetention)),
	})
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("prune the ledger", "err", err)
		}
		return
	}
	if res.Messages+res.Effects+res.XRefs+res.Audit > 0 {
		a.log.Info("ledger pruned to the retention", "messages", res.Messages, "deliveries", res.Deliveries,
			"attempts", res.Attempts, "effects", res.Effects, "xrefs", res.XRefs, "audit", res.Audit)
	}
}

// Err reports a fatal serving error.
func (a *App) Err() <-chan error { return a.errc }

// Reload re-reads the project and swaps the catalog if it is valid; the
// running one stays otherwise. It says which happened.
func (a *App) Reload(ctx context.Context, actor string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := a.load()
	if err == nil {
		err = a.engine.Reload(c)
	}
	ev := &seam.AuditEvent{At: time.Now(), Actor: actor, Action: "reload", Target: "catalog"}
	a.metrics.Reloaded(err == nil, ev.At)
	if err != nil {
		ev.Reason = "refused: " + err.Error()
		a.log.Error("reload refused; the running catalog stays", "err", err)
	} else {
		a.log.Info("catalog reloaded", "flows", len(c.Flows))
	}
	if aerr := a.store.AuditAppend(ctx, ev); aerr != nil {
		a.log.Error("record reload in the audit log", "err", aerr)
	}
	return err
}

// Stop stops intake first, then delivery (attempts in flight finish), and
// closes the store.
func (a *App) Stop(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if a.cancel != nil {
		a.cancel()
		<-a.done
	}
	if a.alerts != nil {
		a.alerts.Stop(ctx)
	}
	// Intake closes while the engine drains, not before it: http.Server's
	// Shutdown counts a connection accepted but not yet used as busy for
	// five seconds, which would add to the engine's grace period. A request
	// still open when Shutdown gives up is cut; it was not acknowledged
	// (2xx comes only after the commit), so its sender sends it again.
	served := make(chan error, 1)
	go func() {
		err := a.server.Shutdown(sctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = a.server.Close()
		}
		served <- err
	}()
	errs := []error{a.engine.Stop(ctx), <-served}
	errs = append(errs, a.store.Close())
	return errors.Join(errs...)
}

// OpenStore opens the ledger a DSN names (sqlite:PATH, relative to dir;
// postgres://…), for `seam run` and for the commands that read a ledger
// directly (audit, docs).
func OpenStore(ctx context.Context, dsn, dir string, log *slog.Logger) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		// A relative path is relative to the project, not to wherever the
		// command happens to run.
		if p, _, _ := strings.Cut(path, "?"); !filepath.IsAbs(p) && !strings.HasPrefix(p, "file:") {
			path = filepath.Join(dir, path)
		}
		st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open ledger %s: %w", dsn, err)
		}
		return st, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		st, err := postgres.Open(ctx, dsn, postgres.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open ledger %s: %w", RedactDSN(dsn), err)
		}
		return st, nil
	}
	return nil, seam.Errorf(seam.EINVALID, "unknown store %q", dsn).WithHint("use sqlite:./seam.db or postgres://…")
}

// tokensOf resolves the catalog's API tokens. With none declared, it
// generates one operator token for this run, so the API is never open.
func tokensOf(c *catalog.Catalog, env catalog.Lookup) ([]httpapi.Token, string, error) {
	var out []httpapi.Token
	for _, t := range c.Project.API.Tokens {
		v, err := t.Token.Value(env)
		if err != nil {
			return nil, "", fmt.Errorf("api token %s: %w", t.Name, err)
		}
		if len(v) < 16 {
			return nil, "", seam.Errorf(seam.EINVALID, "api token %s is shorter than 16 characters", t.Name).WithHint("generate one: openssl rand -base64 24")
		}
		out = append(out, httpapi.Token{Name: t.Name, Value: v, Role: httpapi.Role(t.Role)})
	}
	if len(out) > 0 {
		return out, "", nil
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	return []httpapi.Token{{Name: "generated", Value: tok, Role: httpapi.RoleOperator}}, tok, nil
}
