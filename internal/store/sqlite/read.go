package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Reads run on the query_only pool and never wait for the writer: WAL
// gives each one a consistent snapshot of the last commit.

const defaultLimit = 100

// where assembles the WHERE clause of a filtered list from fixed
// fragments, so that each filter that is set can use its index (a static
// "(? = ” OR flow = ?)" would defeat them).
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) addString(cond, v string) {
	if v != "" {
		w.add(cond, v)
	}
}

func (w *where) addRange(col string, since, until time.Time) {
	if !since.IsZero() {
		w.add(col+" >= ?", nanos(since))
	}
	if !until.IsZero() {
		w.add(col+" < ?", nanos(until))
	}
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// page finishes a keyset-paginated query: newest first, below beforeID.
func (w *where) page(col string, beforeID int64, limit int) string {
	if beforeID > 0 {
		w.add(col+" < ?", beforeID)
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	w.args = append(w.args, limit)
	return w.sql() + " ORDER BY " + col + " DESC LIMIT ?"
}

type scanner interface{ Scan(dest ...any) error }

func scanDelivery(r scanner) (*seam.Delivery, error) {
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
func scanDeliveries(rows *sql.Rows) ([]*seam.Delivery, error) { return scanAll(rows, scanDelivery) }

// scanAll reads every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// notFound turns "no rows" into store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// DeliveryGet implements store.Store.
func (s *Store) DeliveryGet(ctx context.Context, id int64) (*seam.Delivery, error) {
	d, err := scanDelivery(s.rdb.QueryRowContext(ctx, "SELECT "+deliveryCols+" FROM deliveries WHERE id = ?", id))
	if err != nil {
		return nil, fmt.Errorf("get delivery %d: %w", id, notFound(err))
	}
	return d, nil
}

// DeliveryList implements store.Store.
func (s *Store) DeliveryList(ctx context.Context, f *store.DeliveryFilter) ([]*seam.Delivery, error) {
	if f == nil {
		f = &store.DeliveryFilter{}
	}
	q, args := deliveryListQuery(f)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

func deliveryListQuery(f *store.DeliveryFilter) (string, []any) {
	var w where
	from := " FROM deliveries"
	if f.MessageID != 0 {
		w.add("message_id = ?", f.MessageID)
	}
	w.addString("flow = ?", f.Flow)
	w.addString("route = ?", f.Route)
	w.addString("key = ?", f.Key)
	switch {
	case len(f.States) == 1 && f.States[0] == seam.DeliveryInFlight && f.MessageID == 0:
		// A few dozen rows at most, which the planner cannot know: left
		// to it, it walks the whole table backwards by id to find them.
		from += " INDEXED BY deliveries_leased"
		w.add(leasedWhere)
	case len(f.States) > 0:
		in := "state IN (?" + strings.Repeat(", ?", len(f.States)-1) + ")"
		if !slices.Contains(f.States, seam.DeliveryInFlight) && !slices.Contains(f.States, seam.DeliveryDelivered) {
			in += " AND " + stateIndexWhere // lets SQLite seek deliveries_state
		}
		w.add(in, anys(f.States)...)
	}
	w.addRange("created_at", f.Since, f.Until)
	if f.ErrorContains != "" {
		// Case-insensitive (ASCII), because an operator types "timeout"
		// for "Timeout awaiting headers".
		w.add("instr(lower(last_error), lower(?)) > 0", f.ErrorContains)
	}
	return "SELECT " + deliveryCols + from + w.page("id", f.BeforeID, f.Limit), w.args
}

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprint(v)
	}
	return out
}

// DeliveryPayload implements store.Store.
func (s *Store) DeliveryPayload(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	if err := s.rdb.QueryRowContext(ctx, "SELECT payload FROM deliveries WHERE id = ?", id).Scan(&b); err != nil {
		return nil, fmt.Errorf("get delivery %d payload: %w", id, notFound(err))
	}
	return b, nil
}

// AttemptList implements store.Store: the attempts of one delivery, in
// the order they were made.
func (s *Store) AttemptList(ctx context.Context, deliveryID int64) ([]*seam.Attempt, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, delivery_id, number, started_at, duration, status, error, response
		FROM attempts WHERE delivery_id = ? ORDER BY number`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	out, err := scanAll(rows, scanAttempt)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	return out, nil
}

func scanAttempt(r scanner) (*seam.Attempt, error) {
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

const messageCols = `id, flow, system, key, status, received_at, content_type, body, canonical, trace_id, replay_of`

func scanMessage(r scanner) (*seam.Message, error) {
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
	m, err := scanMessage(s.rdb.QueryRowContext(ctx, "SELECT "+messageCols+" FROM messages WHERE id = ?", id))
	if err != nil {
		return nil, fmt.Errorf("get message %d: %w", id, notFound(err))
	}
	return m, nil
}

// MessageList implements store.Store.
func (s *Store) MessageList(ctx context.Context, f *store.MessageFilter) ([]*seam.Message, error) {
	if f == nil {
		f = &store.MessageFilter{}
	}
	var w where
	w.addString("flow = ?", f.Flow)
	w.addString("key = ?", f.Key)
	w.addString("status = ?", string(f.Status))
	w.addRange("received_at", f.Since, f.Until)
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+messageCols+" FROM messages"+w.page("id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	out, err := scanAll(rows, scanMessage)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

const quarantineSelect = `SELECT q.id, q.message_id, q.flow, q.key, q.stage, q.reasons, q.status, q.received_at,
	m.content_type, m.body
	FROM quarantine q JOIN messages m ON m.id = q.message_id`

func scanQuarantined(r scanner) (*seam.Quarantined, error) {
	var (
		q             seam.Quarantined
		stage, status string
		reasons       []byte
		receivedAt    int64
	)
	if err := r.Scan(&q.ID, &q.MessageID, &q.Flow, &q.Key, &stage, &reasons, &status, &receivedAt,
		&q.ContentType, &q.Body); err != nil {
		return nil, err
	}
	q.Stage, q.Status, q.ReceivedAt = seam.Stage(stage), seam.QuarantineStatus(status), fromNanos(receivedAt)
	if err := json.Unmarshal(reasons, &q.Reasons); err != nil {
		return nil, fmt.Errorf("decode reasons: %w", err)
	}
	return &q, nil
}

// QuarantineGet implements store.Store.
func (s *Store) QuarantineGet(ctx context.Context, id int64) (*seam.Quarantined, error) {
	q, err := scanQuarantined(s.rdb.QueryRowContext(ctx, quarantineSelect+" WHERE q.id = ?", id))
	if err != nil {
		return nil, fmt.Errorf("get quarantine %d: %w", id, notFound(err))
	}
	return q, nil
}

// QuarantineList implements store.Store.
func (s *Store) QuarantineList(ctx context.Context, f *store.QuarantineFilter) ([]*seam.Quarantined, error) {
	if f == nil {
		f = &store.QuarantineFilter{}
	}
	var w where
	w.addString("q.flow = ?", f.Flow)
	w.addString("q.key = ?", f.Key)
	w.addString("q.status = ?", string(f.Status))
	w.addRange("q.received_at", f.Since, f.Until)
	rows, err := s.rdb.QueryContext(ctx, quarantineSelect+w.page("q.id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	out, err := scanAll(rows, scanQuarantined)
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	return out, nil
}

// XRefList implements store.Store, oldest first so a trace reads in order.
func (s *Store) XRefList(ctx context.Context, f *store.XRefFilter) ([]*seam.XRef, error) {
	if f == nil {
		f = &store.XRefFilter{}
	}
	var w where
	w.addString("entity = ?", f.Entity)
	w.addString("key = ?", f.Key)
	w.addString("system = ?", f.System)
	w.addString("value = ?", f.Value)
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	w.args = append(w.args, limit)
	rows, err := s.rdb.QueryContext(ctx, "SELECT entity, key, system, name, value, created_at FROM xrefs"+
		w.sql()+" ORDER BY id LIMIT ?", w.args...)
	if err != nil {
		return nil, fmt.Errorf("list xrefs: %w", err)
	}
	out, err := scanAll(rows, scanXRef)
	if err != nil {
		return nil, fmt.Errorf("list xrefs: %w", err)
	}
	return out, nil
}

func scanXRef(r scanner) (*seam.XRef, error) {
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
	e := seam.Effect{Flow: flow, Route: route, Key: idempotencyKey}
	var at int64
	err := s.rdb.QueryRowContext(ctx, `SELECT delivery_id, at FROM effects
		WHERE flow = ? AND route = ? AND idempotency_key = ?`, flow, route, idempotencyKey).Scan(&e.DeliveryID, &at)
	if err != nil {
		return nil, fmt.Errorf("get effect: %w", notFound(err))
	}
	e.At = fromNanos(at)
	return &e, nil
}

// AuditList implements store.Store.
func (s *Store) AuditList(ctx context.Context, f *store.AuditFilter) ([]*seam.AuditEvent, error) {
	if f == nil {
		f = &store.AuditFilter{}
	}
	var w where
	w.addString("actor = ?", f.Actor)
	w.addString("action = ?", f.Action)
	w.addString("target = ?", f.Target)
	w.addRange("at", f.Since, f.Until)
	rows, err := s.rdb.QueryContext(ctx, "SELECT id, at, actor, action, target, reason, detail FROM audit"+
		w.page("id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	out, err := scanAll(rows, scanAudit)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

func scanAudit(r scanner) (*seam.AuditEvent, error) {
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

// routeStatsQuery counts deliveries per flow, route and state, for one
// flow (?1) or all. The final, large states (delivered, skipped) come from
// route_totals, kept by triggers (migration 007); in-flight deliveries
// and the rest from their own partial index each. Listing the indexed
// states lets SQLite seek deliveries_state by state, then by flow.
func routeStatsQuery(oneFlow bool) string {
	var flow string
	if oneFlow {
		flow = " AND flow = ?1"
	}
	const cols = `SELECT flow, route, state, count(*), min(created_at), max(delivered_at), max(updated_at) FROM deliveries`
	return cols + ` WHERE state IN (` + countedStates + `) AND ` + stateIndexWhere + flow + ` GROUP BY state, flow, route
		UNION ALL ` + cols + ` WHERE ` + leasedWhere + flow + ` GROUP BY flow, route
		UNION ALL SELECT flow, route, state, n, 0, last_at, 0 FROM route_totals WHERE n > 0` + flow + `
		ORDER BY flow, route`
}

// countedStates are the states route stats count row by row, from
// deliveries_state; in_flight has deliveries_leased, delivered and skipped
// route_totals (TestQueryPlans checks that every state has its source).
const countedStates = `'dead', 'pending', 'retrying'`

// RouteStats implements store.Store.
func (s *Store) RouteStats(ctx context.Context, p *store.StatsParams) ([]*store.RouteStats, error) {
	if p == nil {
		p = &store.StatsParams{}
	}
	var args []any
	if p.Flow != "" {
		args = []any{p.Flow}
	}
	rows, err := s.rdb.QueryContext(ctx, routeStatsQuery(p.Flow != ""), args...)
	if err != nil {
		return nil, fmt.Errorf("route stats: %w", err)
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
		return nil, fmt.Errorf("route stats: %w", err)
	}
	return out, nil
}
