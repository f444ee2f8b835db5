package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// txFunc is one write request's work inside the writer's transaction.
//
// It may run twice: when a batch fails, its requests are retried one by one
// in transactions of their own, so a txFunc keeps its results in variables
// it overwrites, never appends to. It must return a *seam.Error only before
// it has written anything (the batch goes on without it); any other error
// rolls the whole batch back.
type txFunc func(tx *wtx) error

type request struct {
	ctx  context.Context
	fn   txFunc
	err  error
	done chan error // buffered: the writer never waits for a caller
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan error, 1)} }}

// writer owns the one write connection. Requests queue on reqs; the loop
// takes every request waiting (up to max) into one transaction, so
// concurrent callers share one fsync.
type writer struct {
	conn *sql.Conn
	st   *stmts
	max  int

	mu     sync.RWMutex // held for reading while sending, so close cannot close reqs under a sender
	closed bool
	reqs   chan *request
	exited chan struct{}
	err    error // from closing the connection, read after exited

	totals map[totalKey]*totalDelta // reused by each transaction's wtx

	// What WriterStats reports; written by the loop only.
	transactions, requests atomic.Uint64
	busy, commitTime       atomic.Int64 // nanoseconds
}

func newWriter(ctx context.Context, conn *sql.Conn, maxBatch int) (*writer, error) {
	st, err := prepare(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("prepare statements: %w", err)
	}
	w := &writer{
		conn:   conn,
		st:     st,
		max:    maxBatch,
		reqs:   make(chan *request, maxBatch),
		exited: make(chan struct{}),
		totals: map[totalKey]*totalDelta{},
	}
	go w.loop()
	return w, nil
}

// do runs fn in a write transaction and returns once that transaction is
// committed (and so fsync'd) or has failed.
//
// If ctx ends while the request waits, do returns ctx.Err() at once; the
// writer then skips the request if it has not started it, but a request
// already in a transaction may still commit. Callers treat a context error
// as "outcome unknown", as a sender treats a timeout.
func (w *writer) do(ctx context.Context, fn txFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := requestPool.Get().(*request)
	r.ctx, r.fn, r.err = ctx, fn, nil

	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		requestPool.Put(r)
		return store.ErrClosed
	}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		w.mu.RUnlock()
		requestPool.Put(r)
		return ctx.Err()
	}
	w.mu.RUnlock()

	select {
	case err := <-r.done:
		r.ctx, r.fn = nil, nil
		requestPool.Put(r)
		return err
	case <-ctx.Done():
		// r stays out of the pool: the writer still holds it and will
		// send on its channel.
		return ctx.Err()
	}
}

// close stops accepting requests, waits for the writer to finish the ones
// queued, and closes the write connection.
func (w *writer) close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.exited
	return w.err
}

func (w *writer) loop() {
	defer close(w.exited)
	batch := make([]*request, 0, w.max)
	for r := range w.reqs {
		batch = append(batch[:0], r)
	fill:
		for len(batch) < w.max {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.run(batch)
		clear(batch) // drop references so finished requests can be collected
	}
	w.err = errors.Join(w.st.close(), w.conn.Close())
}

// run commits batch and answers every request in it.
func (w *writer) run(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	defer func() { w.busy.Add(int64(time.Since(start))) }()
	err := w.commit(live)
	if err != nil && len(live) > 1 {
		// One bad request must not fail the innocent ones that shared its
		// transaction: retry each alone, so only the culprit sees an error.
		for _, r := range live {
			if err := w.commit([]*request{r}); err != nil {
				r.err = err
			}
			r.done <- r.err
		}
		return
	}
	for _, r := range live {
		if err != nil {
			r.err = err
		}
		r.done <- r.err
	}
}

// commit runs reqs in one transaction. Each request's own *seam.Error is
// left in r.err; any other failure rolls everything back and is returned.
func (w *writer) commit(reqs []*request) error {
	ctx := context.Background() // a nil Done channel spares the driver a watcher goroutine per statement
	if _, err := w.st.begin.ExecContext(ctx); err != nil {
		w.rollback()
		return fmt.Errorf("begin: %w", err)
	}
	clear(w.totals)
	tx := &wtx{st: w.st, totals: w.totals}
	for _, r := range reqs {
		r.err = r.fn(tx)
		var se *seam.Error
		if r.err != nil && !errors.As(r.err, &se) {
			w.rollback()
			return r.err
		}
	}
	if err := tx.flushTotals(); err != nil {
		w.rollback()
		return fmt.Errorf("count route totals: %w", err)
	}
	start := time.Now()
	_, err := w.st.commit.ExecContext(ctx)
	w.commitTime.Add(int64(time.Since(start)))
	if err != nil {
		w.rollback()
		return fmt.Errorf("commit: %w", err)
	}
	w.transactions.Add(1)
	w.requests.Add(uint64(len(reqs)))
	return nil
}

func (w *writer) stats() store.WriterStats {
	return store.WriterStats{
		Transactions: w.transactions.Load(),
		Requests:     w.requests.Load(),
		Busy:         time.Duration(w.busy.Load()),
		Commit:       time.Duration(w.commitTime.Load()),
	}
}

// rollback ends a failed transaction. Its own error is ignored on purpose:
// SQLite has often rolled back already (I/O error, disk full), and when it
// has not and ROLLBACK fails too, the next BEGIN fails and reports it.
func (w *writer) rollback() {
	_, _ = w.st.rollback.ExecContext(context.Background())
}

// wtx is what a txFunc sees: the writer's prepared statements, inside the
// batch's transaction.
type wtx struct {
	st     *stmts
	totals map[totalKey]*totalDelta
}

// totalKey is one row of route_totals.
type totalKey struct {
	flow, route string
	state       seam.DeliveryState
}

type totalDelta struct{ n, lastAt int64 }

// countFinal records that one delivery of flow and route entered (delta
// +1) or left (-1) state, if that is one of the final states route_totals
// counts (delivered, skipped); at is its delivered_at. The changes are
// added up per route and written when the transaction ends (flushTotals),
// in it, so they commit or roll back with what they count.
func (tx *wtx) countFinal(flow, route string, state seam.DeliveryState, delta, at int64) {
	if state != seam.DeliveryDelivered && state != seam.DeliverySkipped {
		return
	}
	k := totalKey{flow, route, state}
	d := tx.totals[k]
	if d == nil {
		d = &totalDelta{}
		tx.totals[k] = d
	}
	d.n += delta
	d.lastAt = max(d.lastAt, at)
}

func (tx *wtx) flushTotals() error {
	for k, d := range tx.totals {
		if _, err := tx.st.routeTotal.ExecContext(context.Background(), k.flow, k.route, string(k.state), d.n, d.lastAt); err != nil {
			return err
		}
	}
	return nil
}
