package sqlite

import (
	"context"
	"fmt"
	"strconv"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

const (
	// qPrunable pages, by (received_at, id), through messages received
	// before the cutoff that retention may drop: every delivery final, no
	// open quarantine entry.
	qPrunable = `SELECT id, received_at FROM messages m
		WHERE received_at < ?1 AND (received_at, id) > (?2, ?3)
		AND NOT EXISTS (SELECT 1 FROM deliveries d
			WHERE d.message_id = m.id AND d.state NOT IN ('delivered', 'dead', 'skipped'))
		AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.message_id = m.id AND q.status = 'open')
		ORDER BY received_at, id LIMIT ?4`

	// The ids of a batch travel as one JSON array parameter.
	qPruneAttempts = `DELETE FROM attempts WHERE delivery_id IN
		(SELECT id FROM deliveries WHERE message_id IN (SELECT value FROM json_each(?)))`
	qPruneDeliveries = `DELETE FROM deliveries WHERE message_id IN (SELECT value FROM json_each(?))`
	// qPruneFinal counts, per route, the delivered and skipped deliveries
	// a batch is about to delete (route_totals, migration 007).
	qPruneFinal = `SELECT flow, route, state, count(*) FROM deliveries
		WHERE message_id IN (SELECT value FROM json_each(?)) AND state IN ('delivered', 'skipped')
		GROUP BY flow, route, state`
	qPruneQuarantine = `DELETE FROM quarantine WHERE message_id IN (SELECT value FROM json_each(?))`
	qPruneMessages   = `DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))`
)

// Prune implements store.Store. Each batch of at most Limit rows is its own
// write transaction, queued like any other write, so intake keeps flowing
// between batches while a large backlog of history is dropped.
func (s *Store) Prune(ctx context.Context, p *store.PruneParams) (*store.PruneResult, error) {
	if p == nil {
		p = &store.PruneParams{}
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 10_000
	}
	res := &store.PruneResult{}
	if !p.MessagesBefore.IsZero() {
		cutoff := nanos(p.MessagesBefore)
		var afterAt, afterID int64 = -1 << 63, 0
		for more := true; more; {
			// The closure may run twice (see txFunc), so it only sets
			// these, and the position advances after the commit.
			var (
				b              struct{ messages, deliveries, attempts int64 }
				lastAt, lastID int64
				found          int
			)
			err := s.w.do(ctx, func(tx *wtx) error {
				b.messages, b.deliveries, b.attempts = 0, 0, 0
				ids, at, id, err := tx.prunable(cutoff, afterAt, afterID, limit)
				if err != nil {
					return err
				}
				found, lastAt, lastID = len(ids), at, id
				if len(ids) == 0 {
					return nil
				}
				arg := jsonIDs(ids)
				if err := tx.uncountPruned(arg); err != nil {
					return err
				}
				for _, step := range []struct {
					q string
					n *int64
				}{
					{qPruneAttempts, &b.attempts},
					{qPruneDeliveries, &b.deliveries},
					{qPruneQuarantine, nil},
					{qPruneMessages, &b.messages},
				} {
					r, err := tx.st.conn.ExecContext(context.Background(), step.q, arg)
					if err != nil {
						return err
					}
					if step.n != nil {
						if *step.n, err = r.RowsAffected(); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				return res, fmt.Errorf("prune messages: %w", err)
			}
			more, afterAt, afterID = found == limit, lastAt, lastID
			res.Messages += b.messages
			res.Deliveries += b.deliveries
			res.Attempts += b.attempts
		}
	}
	if !p.EvidenceBefore.IsZero() {
		cutoff := nanos(p.EvidenceBefore)
		// Resolved incidents are evidence too; PruneResult does not count
		// them, as it predates them.
		var incidents int64
		for _, e := range []struct {
			table, col string
			n          *int64
			only       string // an extra condition, ending in AND
		}{
			{"effects", "at", &res.Effects, ""},
			{"xrefs", "created_at", &res.XRefs, ""},
			{"audit", "at", &res.Audit, ""},
			// An open incident has resolved_at 0: it must never match.
			{"incidents", "resolved_at", &incidents, "state = 'resolved' AND "},
		} {
			q := "DELETE FROM " + e.table + " WHERE id IN (SELECT id FROM " + e.table +
				" WHERE " + e.only + e.col + " < ? ORDER BY " + e.col + " LIMIT ?)"
			for n := int64(limit); n == int64(limit); {
				err := s.w.do(ctx, func(tx *wtx) error {
					r, err := tx.st.conn.ExecContext(context.Background(), q, cutoff, limit)
					if err != nil {
						return err
					}
					n, err = r.RowsAffected()
					return err
				})
				if err != nil {
					return res, fmt.Errorf("prune %s: %w", e.table, err)
				}
				*e.n += n
			}
		}
	}
	return res, nil
}

func (tx *wtx) prunable(cutoff, afterAt, afterID int64, limit int) (ids []int64, lastAt, lastID int64, err error) {
	rows, err := tx.st.conn.QueryContext(context.Background(), qPrunable, cutoff, afterAt, afterID, limit)
	if err != nil {
		return nil, 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&lastID, &lastAt); err != nil {
			return nil, 0, 0, err
		}
		ids = append(ids, lastID)
	}
	return ids, lastAt, lastID, rows.Err()
}

func jsonIDs(ids []int64) string {
	b := make([]byte, 0, len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// uncountPruned takes the delivered and skipped deliveries of the messages
// in ids (a JSON array) out of route_totals before they are deleted.
func (tx *wtx) uncountPruned(ids string) error {
	rows, err := tx.st.conn.QueryContext(context.Background(), qPruneFinal, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			flow, route, state string
			n                  int64
		)
		if err := rows.Scan(&flow, &route, &state, &n); err != nil {
			return err
		}
		tx.countFinal(flow, route, seam.DeliveryState(state), -n, 0)
	}
	return rows.Err()
}
