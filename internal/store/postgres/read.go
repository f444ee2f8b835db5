package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Reads run on the pool, each in its own snapshot, and never wait for a
// writer (MVCC).

const defaultLimit = 100

// where assembles the WHERE clause of a filtered list from the fixed
// fragments of query.go, numbering the parameters, so that each filter
// that is set can use its index (a static "($1 = ” OR flow = $1)" would
// defeat them).
type where struct {
	conds []string
	args  []any
}

func (w *where) add(frag string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, fmt.Sprintf(frag, len(w.args)))
}

// cond adds a fixed condition that takes no parameter.
func (w *where) cond(frag string) {
	w.conds = append(w.conds, frag)
}

// addString filters col on v when v is set.
func (w *where) addString(col, v string) {
	if v != "" {
		w.add(col+fEquals, v)
	}
}

func (w *where) addRange(col string, since, until time.Time) {
	if !since.IsZero() {
		w.add(col+fAtLeast, nanos(since))
	}
	if !until.IsZero() {
		w.add(col+fBefore, nanos(until))
	}
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func (w *where) limit(limit int) string {
	if limit <= 0 {
		limit = defaultLimit
	}
	w.args = append(w.args, limit)
	return fmt.Sprintf(fLimit, len(w.args))
}

// page finishes a keyset-paginated query: newest first, below beforeID.
func (w *where) page(col string, beforeID int64, limit int) string {
	if beforeID > 0 {
		w.add(col+fBefore, beforeID)
	}
	clause := w.sql()
	return clause + " ORDER BY " + col + " DESC" + w.limit(limit)
}

func scanDelivery(r pgx.Row) (*seam.Delivery, error) {
	var (
		d                                         seam.Delivery
		state                                     string
		nextAt, createdAt, updatedAt, deliveredAt int64
	)
	err := r.Scan(&d.ID, &d.MessageID, &d.Flow, &d.Route, &d.Key, &state, &d.IdempotencyKey, &d.Ordered,
		&d.Payload, &d.Attempts, &nextAt, &d.LastStatus, &d.LastError, &createdAt, &updatedAt, &deliveredAt)
	if err != nil {
		return nil, err
	}
	d.State, d.Seq = seam.DeliveryState(state), d.ID
	d.NextAt, d.CreatedAt, d.UpdatedAt, d.DeliveredAt = fromNanos(nextAt), fromNanos(createdAt), fromNanos(updatedAt), fromNanos(deliveredAt)
	return &d, nil
}

// scanDeliveries reads and closes rows of deliveryCols.
func scanDeliveries(rows pgx.Rows) ([]*seam.Delivery, error) { return scanAll(rows, scanDelivery) }

// scanAll reads every row with scan and closes rows. No rows is a nil
// slice, as in the SQLite driver (pgx.CollectRows would give an empty one).
func scanAll[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	return pgx.AppendRows([]T(nil), rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
}

// DeliveryGet implements store.Store.
func (s *Store) DeliveryGet(ctx context.Context, id int64) (*seam.Delivery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	d, err := scanDelivery(s.pool.QueryRow(ctx, qDeliveryGet, id))
	if err != nil {
		return nil, fmt.Errorf("get delivery %d: %w", id, mapErr(err))
	}
	return d, nil
}

// DeliveryList implements store.Store.
func (s *Store) DeliveryList(ctx context.Context, f *store.DeliveryFilter) ([]*seam.Delivery, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if f == nil {
		f = &store.DeliveryFilter{}
	}
	var w where
	if f.MessageID != 0 {
		w.add("message_id"+fEquals, f.MessageID)
	}
	w.addString("flow", f.Flow)
	w.addString("route", f.Route)
	w.addString("key", f.Key)
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		w.add(fStateIn, states)
	}
	w.addRange("created_at", f.Since, f.Until)
	if f.ErrorContains != "" {
		w.add(fErrorContains, f.ErrorContains)
	}
	rows, err := s.pool.Query(ctx, qDeliveryList+w.page("id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", mapErr(err))
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", mapErr(err))
	}
	return out, nil
}

// DeliveryPayload implements store.Store.
func (s *Store) DeliveryPayload(ctx context.Context, id int64) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var b []byte
	if err := s.pool.QueryRow(ctx, qDeliveryPayload, id).Scan(&b); err != nil {
		return nil, fmt.Errorf("get delivery %d payload: %w", id, mapErr(err))
	}
	return b, nil
}

// AttemptList implements store.Store: the attempts of one delivery, in
// the order they were made.
func (s *Store) AttemptList(ctx context.Context, deliveryID int64) ([]*seam.Attempt, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, qAttemptList, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", mapErr(err))
	}
	out, err := scanAll(rows, scanAttempt)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", mapErr(err))
	}
	return out, nil
}

func scanAttempt(r pgx.Row) (*seam.Attempt, error) {
	var (
		a                   seam.Attempt
		startedAt, duration int64
	)
	if err := r.Scan(&a.ID, &a.DeliveryID, &a.Number, &startedAt, &duration, &a.Status, &a.Error, &a.Response); err != nil {
		return nil, err
	}
	a.StartedAt, a.Duration = fromNanos(startedAt), time.Duration(duration)
	return &a, nil
}

func scanMessage(r pgx.Row) (*seam.Message, error) {
	var (
		m          seam.Message
		status     string
		receivedAt int64
		canonical  []byte
	)
	err := r.Scan(&m.ID, &m.Flow, &m.System, &m.Key, &status, &receivedAt, &m.ContentType, &m.Body, &canonical,
		&m.TraceID, &m.ReplayOf)
	if err != nil {
		return nil, err
	}
	m.Status, m.ReceivedAt = seam.MessageStatus(status), fromNanos(receivedAt)
	if len(canonical) > 0 {
		m.Canonical = canonical
	}
	return &m, nil
}

// MessageGet implements store.Store.
func (s *Store) MessageGet(ctx context.Context, id int64) (*seam.Message, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	m, err := scanMessage(s.pool.QueryRow(ctx, qMessageGet, id))
	if err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, mapErr(err))
	}
	return m, nil
}

// MessageList implements store.Store.
func (s *Store) MessageList(ctx context.Context, f *store.MessageFilter) ([]*seam.Message, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if f == nil {
		f = &store.MessageFilter{}
	}
	var w where
	w.addString("flow", f.Flow)
	w.addString("key", f.Key)
	w.addString("status", string(f.Status))
	w.addRange("received_at", f.Since, f.Until)
	rows, err := s.pool.Query(ctx, qMessageList+w.page("id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", mapErr(err))
	}
	out, err := scanAll(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", mapErr(err))
	}
	return out, nil
}

func scanQuarantined(r pgx.Row) (*seam.Quarantined, error) {
	var (
		q                      seam.Quarantined
		stage, status, reasons string
		receivedAt             int64
	)
	if err := r.Scan(&q.ID, &q.MessageID, &q.Flow, &q.Key, &stage, &reasons, &status, &receivedAt,
		&q.ContentType, &q.Body); err != nil {
		return nil, err
	}
	q.Stage, q.Status, q.ReceivedAt = seam.Stage(stage), seam.QuarantineStatus(status), fromNanos(receivedAt)
	if err := json.Unmarshal([]byte(reasons), &q.Reasons); err != nil {
		return nil, fmt.Errorf("decode reasons: %w", err)
	}
	return &q, nil
}

// QuarantineGet implements store.Store.
func (s *Store) QuarantineGet(ctx context.Context, id int64) (*seam.Quarantined, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	q, err := scanQuarantined(s.pool.QueryRow(ctx, qQuarantineGet, id))
	if err != nil {
		return nil, fmt.Errorf("get quarantine %d: %w", id, mapErr(err))
	}
	return q, nil
}

// QuarantineList implements store.Store.
func (s *Store) QuarantineList(ctx context.Context, f *store.QuarantineFilter) ([]*seam.Quarantined, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if f == nil {
		f = &store.QuarantineFilter{}
	}
	var w where
	w.addString("q.flow", f.Flow)
	w.addString("q.key", f.Key)
	w.addString("q.status", string(f.Status))
	w.addRange("q.received_at", f.Since, f.Until)
	rows, err := s.pool.Query(ctx, quarantineFrom+w.page("q.id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", mapErr(err))
	}
	out, err := scanAll(rows, scanQuarantined)
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", mapErr(err))
	}
	return out, nil
}

// XRefList implements store.Store, oldest first so a trace reads in order.
func (s *Store) XRefList(ctx context.Context, f *store.XRefFilter) ([]*seam.XRef, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if f == nil {
		f = &store.XRefFilter{}
	}
	var w where
	w.addString("entity", f.Entity)
	w.addString("key", f.Key)
	w.addString("system", f.System)
	w.addString("value", f.Value)
	clause := w.sql()
	rows, err := s.pool.Query(ctx, qXRefList+clause+" ORDER BY id"+w.limit(f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list xrefs: %w", mapErr(err))
	}
	out, err := scanAll(rows, scanXRef)
	if err != nil {
		return nil, fmt.Errorf("list xrefs: %w", mapErr(err))
	}
	return out, nil
}

func scanXRef(r pgx.Row) (*seam.XRef, error) {
	var (
		x         seam.XRef
		createdAt int64
	)
	if err := r.Scan(&x.Entity, &x.Key, &x.System, &x.Name, &x.Value, &createdAt); err != nil {
		return nil, err
	}
	x.CreatedAt = fromNanos(createdAt)
	return &x, nil
}

// EffectGet implements store.Store.
func (s *Store) EffectGet(ctx context.Context, flow, route, idempotencyKey string) (*seam.Effect, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	e := seam.Effect{Flow: flow, Route: route, Key: idempotencyKey}
	var at int64
	if err := s.pool.QueryRow(ctx, qEffectGet, flow, route, idempotencyKey).Scan(&e.DeliveryID, &at); err != nil {
		return nil, fmt.Errorf("get effect: %w", mapErr(err))
	}
	e.At = fromNanos(at)
	return &e, nil
}

// AuditList implements store.Store.
func (s *Store) AuditList(ctx context.Context, f *store.AuditFilter) ([]*seam.AuditEvent, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if f == nil {
		f = &store.AuditFilter{}
	}
	var w where
	w.addString("actor", f.Actor)
	w.addString("action", f.Action)
	w.addString("target", f.Target)
	w.addRange("at", f.Since, f.Until)
	rows, err := s.pool.Query(ctx, qAuditList+w.page("id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", mapErr(err))
	}
	out, err := scanAll(rows, scanAudit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", mapErr(err))
	}
	return out, nil
}

func scanAudit(r pgx.Row) (*seam.AuditEvent, error) {
	var (
		e      seam.AuditEvent
		at     int64
		detail []byte
	)
	if err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Reason, &detail); err != nil {
		return nil, err
	}
	e.At = fromNanos(at)
	if len(detail) > 0 {
		e.Detail = detail
	}
	return &e, nil
}

// RouteStats implements store.Store.
func (s *Store) RouteStats(ctx context.Context, p *store.StatsParams) ([]*store.RouteStats, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if p == nil {
		p = &store.StatsParams{}
	}
	if err := s.foldRouteTotals(ctx); err != nil {
		return nil, fmt.Errorf("route stats: %w", err)
	}
	rows, err := s.pool.Query(ctx, qRouteStats, p.Flow)
	if err != nil {
		return nil, fmt.Errorf("route stats: %w", mapErr(err))
	}
	defer rows.Close()
	var fold store.RouteStatsFolder
	for rows.Next() {
		var (
			flow, route, state            string
			n, oldest, delivered, updated int64
		)
		if err := rows.Scan(&flow, &route, &state, &n, &oldest, &delivered, &updated); err != nil {
			return nil, fmt.Errorf("route stats: %w", err)
		}
		fold.Add(flow, route, seam.DeliveryState(state), n, fromNanos(oldest), fromNanos(delivered), fromNanos(updated))
	}
	out := fold.Stats()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("route stats: %w", mapErr(err))
	}
	return out, nil
}

// foldRouteTotals adds the route_totals triggers' deltas into the totals.
// RouteStats runs it first, so its reads stay small whatever the retention;
// Prune runs it too, for a ledger nobody reads stats from.
func (s *Store) foldRouteTotals(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, qFoldRouteTotals); err != nil {
		return fmt.Errorf("fold route totals: %w", mapErr(err))
	}
	return nil
}
