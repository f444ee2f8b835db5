package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/component"
	"github.com/seamhq/seam/connector/httpdest"
	"github.com/seamhq/seam/connector/webhook"
	"github.com/seamhq/seam/internal/breaker"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/mapping"
)

// Defaults of a route's delivery policy.
const (
	DefaultAttempts    = 10
	DefaultWorkers     = 16
	DefaultTimeout     = 10 * time.Second
	DefaultMaxBody     = 1 << 20
	DefaultDedupe      = 24 * time.Hour
	routeQueueCapacity = 1024
)

// graph is everything built from one catalog: what Reload swaps.
type graph struct {
	e       *Engine
	cat     *catalog.Catalog
	flows   map[string]*flow // by name
	byPath  map[string]*flow
	routes  map[string]*route // by flow + "/" + route
	closing atomic.Bool
}

type flow struct {
	spec         *catalog.Flow
	verifier     webhook.Verifier
	maxBody      int64
	dedupe       time.Duration
	dedupeHeader string
	contentTypes []string
}

type route struct {
	e        *Engine
	g        *graph
	flow     *catalog.Flow
	spec     *catalog.Route
	compiled *catalog.CompiledRoute
	dest     *httpdest.Destination
	breaker  *breaker.Breaker
	limiter  *rate.Limiter
	backoff  component.Backoff
	attempts int
	workers  int
	queue    chan *seam.Delivery
	quit     chan struct{}
	wg       sync.WaitGroup
	// mu guards closed: once drain has closed the route, nothing more may
	// enter its queue, or it would wait there with nobody to send it.
	mu     sync.RWMutex
	closed bool
}

func routeID(flow, route string) string { return flow + "/" + route }

// build constructs a graph without side effects on the running one; all
// that can fail (secrets, URLs, signatures) fails here.
func (e *Engine) build(c *catalog.Catalog) (*graph, error) {
	g := &graph{e: e, cat: c, flows: map[string]*flow{}, byPath: map[string]*flow{}, routes: map[string]*route{}}
	env := e.opts.Env
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, name := range c.FlowNames() {
		spec := c.Flows[name]
		if spec.Compiled == nil {
			fail("flow %s did not compile (run seam validate)", name)
			continue
		}
		fl := &flow{spec: spec, maxBody: DefaultMaxBody, dedupe: c.Project.Dedupe.Or(DefaultDedupe)}
		if w := spec.Source.Webhook; w != nil {
			if w.MaxBody.Bytes > 0 {
				fl.maxBody = w.MaxBody.Bytes
			}
			fl.contentTypes = w.ContentTypes
			if s := w.Signature; s != nil {
				secret, err := s.Secret.Value(env)
				if err != nil {
					fail("flow %s: signature secret: %v", name, err)
					continue
				}
				v, err := webhook.NewVerifier(webhook.SignatureConfig{
					Scheme: s.Scheme, Header: s.Header, Secret: []byte(secret),
					Encoding: s.Encoding, Prefix: s.Prefix, Tolerance: s.Tolerance.D,
				})
				if err != nil {
					fail("flow %s: signature: %v", name, err)
					continue
				}
				fl.verifier = v
			}
			g.byPath[w.Path] = fl
		}
		fl.dedupe = spec.Dedupe.Window.Or(fl.dedupe)
		if spec.Dedupe.Off {
			fl.dedupe = 0
		}
		fl.dedupeHeader = spec.Dedupe.Header
		g.flows[name] = fl
		for _, rs := range spec.Routes {
			rt, err := e.buildRoute(g, spec, rs)
			if err != nil {
				fail("flow %s, route %s: %v", name, rs.Name, err)
				continue
			}
			g.routes[routeID(name, rs.Name)] = rt
		}
	}
	if len(problems) > 0 {
		for _, rt := range g.routes {
			rt.dest.Close()
		}
		return nil, seam.Errorf(seam.EINVALID, "%s", strings.Join(problems, "; ")).
			WithHint("set the missing environment variables, or fix the catalog and run seam validate")
	}
	return g, nil
}

func (e *Engine) buildRoute(g *graph, f *catalog.Flow, rs *catalog.Route) (*route, error) {
	env := e.opts.Env
	cr := f.Compiled.Routes[rs.Name]
	dst := cr.Dest
	url, err := rs.HTTP.URL.Value(env)
	if err != nil {
		return nil, err
	}
	if url == "" {
		base, err := dst.BaseURL.Value(env)
		if err != nil {
			return nil, fmt.Errorf("base_url of %s: %w", dst.Name, err)
		}
		url = strings.TrimRight(base, "/") + rs.HTTP.Path
	}
	auth, err := resolveAuth(dst.Auth, env)
	if err != nil {
		return nil, fmt.Errorf("auth of %s: %w", dst.Name, err)
	}
	workers := rs.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	dest, err := httpdest.New(httpdest.Config{
		Method: strings.ToUpper(rs.HTTP.Method), URL: url, Headers: rs.HTTP.Headers, Auth: auth,
		Timeout: rs.Timeout.Or(DefaultTimeout), MaxConns: workers,
	})
	if err != nil {
		return nil, err
	}
	rt := &route{
		e: e, g: g, flow: f, spec: rs, compiled: cr, dest: dest, workers: workers,
		attempts: DefaultAttempts,
		backoff: component.Backoff{
			Kind: rs.Retry.Backoff, Initial: rs.Retry.Initial.D, Max: rs.Retry.Max.Or(10 * time.Minute), Jitter: 0.2,
		},
		queue: make(chan *seam.Delivery, routeQueueCapacity),
		quit:  make(chan struct{}),
	}
	if rs.Retry.Attempts != nil {
		rt.attempts = *rs.Retry.Attempts
	}
	bc := breaker.Config{OnChange: func(_, to breaker.State) {
		e.opts.Observer.BreakerChanged(f.Name, rs.Name, to != breaker.Closed)
		if to == breaker.Open {
			e.log.Warn("circuit opened: deliveries wait instead of failing", "flow", f.Name, "route", rs.Name)
		} else if to == breaker.Closed {
			e.log.Info("circuit closed: deliveries resume", "flow", f.Name, "route", rs.Name)
		}
	}}
	if b := rs.Breaker; b != nil {
		bc.Failures, bc.CoolDown = b.Failures, b.CoolDown.D
	}
	rt.breaker = breaker.New(bc, e.opts.Now)
	if rs.Rate.PerSecond > 0 {
		rt.limiter = rate.NewLimiter(rate.Limit(rs.Rate.PerSecond), max(1, int(rs.Rate.PerSecond)))
	}
	return rt, nil
}

func resolveAuth(a *catalog.Auth, env catalog.Lookup) (httpdest.Auth, error) {
	var out httpdest.Auth
	if a == nil {
		return out, nil
	}
	var err error
	switch {
	case a.Bearer.Set():
		out.Bearer, err = a.Bearer.Value(env)
	case a.Basic != nil:
		b := &httpdest.BasicAuth{}
		if b.User, err = a.Basic.User.Value(env); err == nil {
			b.Password, err = a.Basic.Password.Value(env)
		}
		out.Basic = b
	case a.APIKey != nil:
		k := &httpdest.APIKey{Header: a.APIKey.Header, Query: a.APIKey.Query}
		k.Value, err = a.APIKey.Value.Value(env)
		out.APIKey = k
	case a.OAuth2 != nil:
		o := &httpdest.OAuth2{Scopes: a.OAuth2.Scopes}
		if o.TokenURL, err = a.OAuth2.TokenURL.Value(env); err == nil {
			if o.ClientID, err = a.OAuth2.ClientID.Value(env); err == nil {
				o.ClientSecret, err = a.OAuth2.ClientSecret.Value(env)
			}
		}
		out.OAuth2 = o
	}
	return out, err
}

func (g *graph) start(ctx context.Context) {
	for _, rt := range g.routes {
		for range rt.workers {
			rt.wg.Add(1)
			go rt.work(ctx)
		}
	}
}

// drain stops the graph's workers after their current attempt and returns
// what they still had queued, for the caller to hand on (after a reload)
// or give back (on stop).
func (g *graph) drain() []*seam.Delivery {
	for _, rt := range g.routes {
		close(rt.quit)
		rt.mu.Lock()
		rt.closed = true
		rt.mu.Unlock()
	}
	var left []*seam.Delivery
	for _, rt := range g.routes {
		rt.wg.Wait()
		for len(rt.queue) > 0 {
			left = append(left, <-rt.queue)
		}
		rt.dest.Close()
	}
	return left
}

// offer queues a claimed delivery for its route's workers; false when the
// route is gone, closed by a reload, or its queue is full.
func (g *graph) offer(d *seam.Delivery) bool {
	rt, ok := g.routes[routeID(d.Flow, d.Route)]
	if !ok {
		return false
	}
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	if rt.closed {
		return false
	}
	select {
	case rt.queue <- d:
		return true
	default:
		return false
	}
}

// dispatch hands a delivery leased to this node to the running graph's
// workers. When none can take it now (a burst beyond the queue, a reload
// in between, a route no longer in the catalog) the lease is given back at
// once, so the poller claims it again as soon as there is room: a leased
// delivery never waits for its lease to expire.
func (e *Engine) dispatch(d *seam.Delivery) {
	g := e.graph.Load()
	if !g.closing.Load() && g.offer(d) {
		return
	}
	next := e.opts.Now()
	if _, ok := g.routes[routeID(d.Flow, d.Route)]; !ok && !g.closing.Load() {
		// Not in the running catalog: look again in a minute, not in a
		// tight loop (the delivery is visible in the ledger meanwhile).
		e.log.Warn("delivery for a route that is not in the catalog; it waits until the route is back", "flow", d.Flow, "route", d.Route, "delivery_id", d.ID)
		next = next.Add(time.Minute)
	}
	e.traceparents.Delete(d.ID)
	err := e.store.DeliveryPostpone(context.Background(), &store.PostponeParams{DeliveryID: d.ID, Node: e.opts.Node, NextAt: next, Now: e.opts.Now()})
	if err != nil {
		// The lease then expires by itself and the delivery is claimed
		// again; later, but never lost.
		e.log.Error("give back a delivery no worker could take", "delivery_id", d.ID, "err", err)
	}
}

func (g *graph) freeSlots() int {
	n := 0
	for _, rt := range g.routes {
		n += cap(rt.queue) - len(rt.queue)
	}
	return n
}

func (rt *route) work(ctx context.Context) {
	defer rt.wg.Done()
	for {
		select {
		case <-rt.quit:
			return
		case <-ctx.Done():
			return
		case d := <-rt.queue:
			rt.deliver(ctx, d)
		}
	}
}

// deliver makes one attempt and records its outcome.
func (rt *route) deliver(ctx context.Context, d *seam.Delivery) {
	e := rt.e
	if ok, retryAt := rt.breaker.Allow(); !ok {
		err := e.store.DeliveryPostpone(context.WithoutCancel(ctx), &store.PostponeParams{
			DeliveryID: d.ID, Node: e.opts.Node, NextAt: retryAt, Now: e.opts.Now(),
		})
		if err != nil {
			e.log.Error("postpone delivery while the circuit is open", "flow", d.Flow, "route", d.Route, "delivery_id", d.ID, "err", err)
		}
		e.opts.Observer.Attempted(d.Flow, d.Route, "postponed", 0)
		return
	}
	if rt.limiter != nil {
		if err := rt.limiter.Wait(ctx); err != nil {
			return // stopping: the lease is released by Stop
		}
	}
	// The attempt itself is not cut short by Stop: it finishes within
	// the route's timeout, so the destination's answer is recorded.
	actx, span, hdr := e.startAttempt(context.WithoutCancel(ctx), d)
	started := e.opts.Now()
	res, err := rt.dest.Deliver(actx, httpdest.Request{
		Body: d.Payload, IdempotencyKey: d.IdempotencyKey, Vars: map[string]string{"key": d.Key}, Header: hdr,
	})
	att := &seam.Attempt{
		DeliveryID: d.ID, Number: d.Attempts + 1, StartedAt: started,
		Duration: res.Duration, Status: res.Status, Response: res.Body,
	}
	p := &store.CompleteParams{Attempt: att}
	outcome := "delivered"
	switch {
	case err == nil:
		rt.breaker.Success()
		p.State = seam.DeliveryDelivered
		p.Effect = &seam.Effect{Flow: d.Flow, Route: d.Route, Key: d.IdempotencyKey, DeliveryID: d.ID, At: e.opts.Now()}
		p.XRefs = rt.remember(d, res.Body)
	case component.Retryable(err):
		rt.breaker.Failure()
		att.Error = err.Error()
		if att.Number >= rt.attempts {
			p.State, outcome = seam.DeliveryDead, "dead"
		} else {
			wait := max(rt.backoff.Next(att.Number, rand.Float64), component.RetryAfter(err))
			p.State, p.NextAt, outcome = seam.DeliveryRetrying, e.opts.Now().Add(wait), "retry"
		}
	default:
		// The destination answered and refused the record: it is up, and
		// retrying the same payload would only be refused again. Its own
		// explanation is what the operator needs to read first.
		rt.breaker.Success()
		att.Error = err.Error()
		if len(res.Body) > 0 {
			att.Error += " — " + oneLine(res.Body, 300)
		}
		p.State, outcome = seam.DeliveryDead, "dead"
	}
	e.opts.Observer.Attempted(d.Flow, d.Route, outcome, res.Duration)
	endSpan(span, outcome, res.Status, err)
	rt.complete(ctx, d, p, err)
}

// complete records an attempt's outcome without holding the worker: the
// write joins the ledger's next group commit while the worker already
// sends the next delivery. Waiting for it would bound a route to
// workers ÷ commit latency deliveries per second. It is safe because the
// outcome only records what already happened: if the process dies before
// the commit, the delivery is still leased to it and goes out again, with
// the same Idempotency-Key, as it would after any crash mid-attempt. The
// number of outcomes in flight is bounded, so a slow disk slows delivery
// down instead of growing memory.
func (rt *route) complete(ctx context.Context, d *seam.Delivery, p *store.CompleteParams, cause error) {
	e := rt.e
	e.completions <- struct{}{}
	e.completing.Add(1)
	go func() {
		defer func() { <-e.completions; e.completing.Done() }()
		rt.record(ctx, d, p, cause)
	}()
}

func (rt *route) record(ctx context.Context, d *seam.Delivery, p *store.CompleteParams, cause error) {
	e := rt.e
	p.DeliveryID, p.Node, p.Lease, p.Now = d.ID, e.opts.Node, e.opts.Lease, e.opts.Now()
	res, err := e.store.DeliveryComplete(context.WithoutCancel(ctx), p)
	if err != nil {
		// The lease stays ours until it expires; the delivery is then due
		// again, so a failed write delays it but never loses it.
		e.log.Error("record delivery outcome", "flow", d.Flow, "route", d.Route, "delivery_id", d.ID, "err", err)
		return
	}
	if p.State == seam.DeliveryDead {
		e.log.Warn("delivery dead-lettered", "flow", d.Flow, "route", d.Route, "key", d.Key, "delivery_id", d.ID, "err", cause)
	}
	for _, next := range res.Next {
		e.dispatch(next)
	}
}

// oneLine shortens a response body for an error message.
func oneLine(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// remember turns a successful response into cross-references.
func (rt *route) remember(d *seam.Delivery, body []byte) []*seam.XRef {
	m := rt.compiled.Remember
	if m == nil || len(body) == 0 {
		return nil
	}
	var resp any
	if err := json.Unmarshal(body, &resp); err != nil {
		rt.e.log.Warn("response is not JSON; nothing to remember", "flow", d.Flow, "route", d.Route, "delivery_id", d.ID)
		return nil
	}
	out, reasons := m.Apply(&mapping.Env{Record: map[string]any{"response": resp}})
	if len(reasons) > 0 {
		rt.e.log.Warn("cannot remember from the response", "flow", d.Flow, "route", d.Route, "delivery_id", d.ID, "reason", reasons[0].String())
	}
	var refs []*seam.XRef
	for _, fe := range rt.spec.Remember {
		v, ok := out[fe.Target]
		if !ok || v == nil {
			continue
		}
		refs = append(refs, &seam.XRef{
			Entity: rt.flow.Model, Key: d.Key, System: rt.spec.To, Name: fe.Target,
			Value: fmt.Sprint(v), CreatedAt: rt.e.opts.Now(),
		})
	}
	return refs
}
