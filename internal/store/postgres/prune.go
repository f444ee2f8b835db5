package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seamhq/seam/internal/store"
)

// Prune implements store.Store. Each batch of at most Limit messages is one
// transaction of its own, so intake and delivery keep flowing between
// batches while a large backlog of history is dropped, and an interrupted
// prune loses nothing it had not finished.
func (s *Store) Prune(ctx context.Context, p *store.PruneParams) (*store.PruneResult, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if p == nil {
		p = &store.PruneParams{}
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 10_000
	}
	res := &store.PruneResult{}
	if err := s.foldRouteTotals(ctx); err != nil {
		return res, err
	}
	if !p.MessagesBefore.IsZero() {
		cutoff := nanos(p.MessagesBefore)
		var afterAt, afterID int64 = -1 << 63, 0
		for {
			ids, lastAt, lastID, err := s.prunable(ctx, cutoff, afterAt, afterID, limit)
			if err != nil {
				return res, fmt.Errorf("prune messages: %w", mapErr(err))
			}
			if len(ids) == 0 {
				break
			}
			b := &pgx.Batch{}
			for _, step := range []struct {
				q string
				n *int64
			}{
				{qPruneAttempts, &res.Attempts},
				{qPruneDeliveries, &res.Deliveries},
				{qPruneQuarantine, nil},
				{qPruneMessages, &res.Messages},
			} {
				b.Queue(step.q, ids).Exec(func(tag pgconn.CommandTag) error {
					if step.n != nil {
						*step.n += tag.RowsAffected()
					}
					return nil
				})
			}
			if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
				return res, fmt.Errorf("prune messages: %w", mapErr(err))
			}
			if len(ids) < limit {
				break
			}
			afterAt, afterID = lastAt, lastID
		}
	}
	if !p.EvidenceBefore.IsZero() {
		cutoff := nanos(p.EvidenceBefore)
		// Resolved incidents are evidence too; PruneResult does not count
		// them, as it predates them (the SQLite driver does the same).
		var incidents int64
		for _, e := range []struct {
			table, q string
			n        *int64
		}{
			{"effects", qPruneEffects, &res.Effects},
			{"xrefs", qPruneXRefs, &res.XRefs},
			{"audit", qPruneAudit, &res.Audit},
			{"incidents", qPruneIncidents, &incidents},
		} {
			for {
				tag, err := s.pool.Exec(ctx, e.q, cutoff, limit)
				if err != nil {
					return res, fmt.Errorf("prune %s: %w", e.table, mapErr(err))
				}
				*e.n += tag.RowsAffected()
				if tag.RowsAffected() < int64(limit) {
					break
				}
			}
		}
	}
	return res, nil
}

// prunable returns the next page of messages retention may drop, and the
// (received_at, id) position after which the following page starts.
func (s *Store) prunable(ctx context.Context, cutoff, afterAt, afterID int64, limit int) (ids []int64, lastAt, lastID int64, err error) {
	rows, err := s.pool.Query(ctx, qPrunable, cutoff, afterAt, afterID, limit)
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
