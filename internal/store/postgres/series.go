package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/seamhq/seam/internal/store"
)

// FlowSeries implements store.Series in one statement (qSeries): the
// received and the attempts sides are grouped by (flow, bucket) in the
// database and joined there, so one row per point comes back, in order.
func (s *Store) FlowSeries(ctx context.Context, p *store.SeriesParams) ([]*store.SeriesPoint, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if p == nil || !p.Until.After(p.Since) {
		return nil, nil
	}
	step := p.Step
	if step <= 0 {
		step = time.Minute
	}
	since := p.Since.UnixNano()
	q, args := qSeries, []any{since, int64(step), p.Until.UnixNano()}
	if p.Flow != "" {
		q, args = qSeriesFlow, append(args, p.Flow)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("flow series: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*store.SeriesPoint
	for rows.Next() {
		var (
			pt store.SeriesPoint
			b  int64
		)
		if err := rows.Scan(&pt.Flow, &b, &pt.Received, &pt.Refused, &pt.Delivered, &pt.Failed, &pt.Dead); err != nil {
			return nil, fmt.Errorf("flow series: %w", err)
		}
		pt.At = time.Unix(0, since+b*int64(step)).UTC()
		out = append(out, &pt)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow series: %w", mapErr(err))
	}
	return out, nil
}
