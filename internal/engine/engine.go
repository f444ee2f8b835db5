// Package engine runs a catalog: it takes records in at the flows' webhook
// intakes, stores them in the ledger before answering, and delivers them to
// every route with retries, backoff, a circuit breaker, rate limits and
// per-key ordering.
//
// The hot path never waits for a poll: intake leases the deliveries it
// creates and hands them straight to the route's workers; a completion
// that unblocks the next delivery of an ordered key hands that one over
// too. The poller only picks up what is due later (retries) and what a
// dead node left behind (expired leases).
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/store"
)

// Options tune an engine; zero values take the defaults.
type Options struct {
	// Node names this process in leases; default a random id.
	Node string
	// Lease is how long a claimed delivery belongs to this node before
	// another may take it over (default 2m). It must outlast an attempt.
	Lease time.Duration
	// PollInterval is how often due retries and orphaned deliveries are
	// claimed (default 500ms).
	PollInterval time.Duration
	// ShutdownGrace bounds how long Stop waits for attempts in flight.
	ShutdownGrace time.Duration
	// Env resolves ${…} references (default os.LookupEnv).
	Env    catalog.Lookup
	Logger *slog.Logger
	Now    func() time.Time
	// Observer receives events for metrics; nil means none.
	Observer Observer
	// LogRecords logs every accepted record's canonical form at info level,
	// with the model's personal fields masked unless LogPersonal is set.
	LogRecords, LogPersonal bool
	// TracerProvider makes the intake and attempt spans; nil means the
	// global one (a no-op unless telemetry.Setup enabled tracing).
	TracerProvider trace.TracerProvider
}

// Observer is told what the engine does, for metrics and alerts.
type Observer interface {
	// Received is told the outcome of one intake request: accepted,
	// duplicate, refused_<stage>, or the error code of a refused request.
	Received(flow, outcome string)
	// Attempted is told the outcome of one delivery attempt: delivered,
	// retry, dead, or postponed (not tried: the circuit is open).
	Attempted(flow, route, outcome string, d time.Duration)
	// BreakerChanged is told when a route's circuit opens or closes.
	BreakerChanged(flow, route string, open bool)
}

type nopObserver struct{}

func (nopObserver) Received(string, string)                         {}
func (nopObserver) Attempted(string, string, string, time.Duration) {}
func (nopObserver) BreakerChanged(string, string, bool)             {}

// Engine runs one catalog at a time and swaps it on reload.
type Engine struct {
	store store.Store
	opts  Options
	log   *slog.Logger

	graph atomic.Pointer[graph]

	tracer trace.Tracer
	// recording is true when the tracer records spans (tracing is on).
	recording bool
	// traceparents carries an intake's trace context to the first attempt
	// of the deliveries it created, without a read of the ledger.
	traceparents sync.Map // delivery id → traceparent

	mu      sync.Mutex // serialises Start, Reload and Stop
	started bool
	stopped bool
	ctx     context.Context // lifecycle context, cancelled by Stop
	cancel  context.CancelFunc
	poller  sync.WaitGroup

	// completions bounds the attempt outcomes being written; completing
	// lets Stop wait for them before it releases this node's leases.
	completions chan struct{}
	completing  sync.WaitGroup
}

// New builds an engine for catalog c over store s. It validates that every
// flow compiled and every secret resolves, but starts nothing.
func New(c *catalog.Catalog, s store.Store, opts Options) (*Engine, error) {
	if opts.Node == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		opts.Node = "node-" + hex.EncodeToString(b)
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	e := &Engine{store: s, opts: opts, log: opts.Logger.With("node", opts.Node), completions: make(chan struct{}, maxPendingCompletions),
		tracer: opts.TracerProvider.Tracer("github.com/seamhq/seam/internal/engine")}
	// A span for the engine's start tells whether spans are recorded at
	// all (tracing on), which decides whether a retry looks its trace up.
	_, start := e.tracer.Start(context.Background(), "seam.engine.start")
	e.recording = start.IsRecording()
	start.End()
	g, err := e.build(c)
	if err != nil {
		return nil, err
	}
	e.graph.Store(g)
	return e, nil
}

// Node returns this engine's node id.
func (e *Engine) Node() string { return e.opts.Node }

// Catalog returns the catalog now running.
func (e *Engine) Catalog() *catalog.Catalog { return e.graph.Load().cat }

// Start starts the route workers and the poller. Intake works only after
// Start.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("engine already started")
	}
	e.started = true
	// The lifecycle context outlives the call's: Stop ends it.
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	e.graph.Load().start(e.ctx)
	e.poller.Add(1)
	go e.poll()
	return nil
}

// Reload builds the new catalog's graph completely, then swaps it in. On
// any error the running catalog is kept, untouched. Workers of the old
// graph finish what they hold, with the payloads computed when the records
// came in, and stop.
func (e *Engine) Reload(c *catalog.Catalog) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return errors.New("engine stopped")
	}
	g, err := e.build(c)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if e.started {
		g.start(e.ctx)
	}
	old := e.graph.Swap(g)
	for _, d := range old.drain() {
		e.dispatch(d)
	}
	e.log.Info("catalog reloaded", "flows", len(g.flows))
	return nil
}

// Stop stops intake and delivery: attempts in flight finish within the
// grace period, deliveries not yet started are released so that they are
// due again at once (on this node's next start or on another node). It is
// idempotent and safe on an engine that never started.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped || !e.started {
		e.stopped = true
		return nil
	}
	e.stopped = true
	g := e.graph.Load()
	g.closing.Store(true)
	e.cancel()
	e.poller.Wait()
	done := make(chan struct{})
	// What the workers had queued stays leased to this node and is
	// released below with the rest of its leases.
	go func() { g.drain(); e.completing.Wait(); close(done) }()
	grace, cancel := context.WithTimeout(ctx, e.opts.ShutdownGrace)
	defer cancel()
	select {
	case <-done:
	case <-grace.Done():
		e.log.Warn("shutdown grace period over; attempts still in flight stay leased until their lease expires")
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if err := e.store.DeliveryReleaseLeases(rctx, e.opts.Node); err != nil {
		return fmt.Errorf("release leases: %w", err)
	}
	return nil
}

// poll claims due deliveries: retries whose time has come, and deliveries
// whose lease expired on a node that died.
func (e *Engine) poll() {
	defer e.poller.Done()
	t := time.NewTicker(e.opts.PollInterval)
	defer t.Stop()
	// A store that can tell when deliveries became due elsewhere (another
	// node's intake, a replay, leases given back) wakes the poller at
	// once; the ticker stays as the fallback. Nil blocks forever.
	var wake <-chan struct{}
	if n, ok := e.store.(store.Notifier); ok {
		wake = n.DeliveryWakeups()
	}
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		for {
			g := e.graph.Load()
			n, err := e.claimOnce(g)
			if err != nil {
				if e.ctx.Err() == nil {
					e.log.Error("claim due deliveries", "err", err)
				}
				break
			}
			if n < claimBatch {
				break
			}
		}
	}
}

const claimBatch = 256

// maxPendingCompletions bounds attempt outcomes not yet committed.
const maxPendingCompletions = 4096

func (e *Engine) claimOnce(g *graph) (int, error) {
	free := g.freeSlots()
	if free == 0 {
		return 0, nil
	}
	ds, err := e.store.DeliveryClaim(e.ctx, &store.ClaimParams{
		Node: e.opts.Node, Limit: min(free, claimBatch), Lease: e.opts.Lease, Now: e.opts.Now(),
	})
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		e.dispatch(d)
	}
	return len(ds), nil
}
