package sqlite

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/seamhq/seam/internal/store"
)

// The series queries bucket by integer division of unix nanoseconds, so
// each bucket is computed in SQL and only one row per (flow, bucket)
// comes back. Both read one index range: messages by received_at (or by
// flow and received_at) and attempts by started_at (004), joined to their
// delivery by primary key for the flow and the dead state.
const (
	qSeriesReceived = `SELECT flow, (received_at - ?1) / ?2 AS b, count(*),
		sum(status = 'quarantined')
		FROM messages WHERE received_at >= ?1 AND received_at < ?3 %s
		GROUP BY flow, b`

	qSeriesAttempts = `SELECT d.flow, (a.started_at - ?1) / ?2 AS b,
		sum(a.error = ''), sum(a.error <> ''),
		sum(a.error <> '' AND d.state = 'dead' AND a.number = d.attempts)
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
		WHERE a.started_at >= ?1 AND a.started_at < ?3 %s
		GROUP BY d.flow, b`
)

// FlowSeries implements store.Series.
func (s *Store) FlowSeries(ctx context.Context, p *store.SeriesParams) ([]*store.SeriesPoint, error) {
	step := p.Step
	if step <= 0 {
		step = time.Minute
	}
	if !p.Until.After(p.Since) {
		return nil, nil
	}
	since, until := p.Since.UnixNano(), p.Until.UnixNano()
	points := map[[2]any]*store.SeriesPoint{}
	point := func(flow string, b int64) *store.SeriesPoint {
		k := [2]any{flow, b}
		pt, ok := points[k]
		if !ok {
			pt = &store.SeriesPoint{Flow: flow, At: time.Unix(0, since+b*int64(step)).UTC()}
			points[k] = pt
		}
		return pt
	}
	args := []any{since, int64(step), until}
	recv, att := fmt.Sprintf(qSeriesReceived, ""), fmt.Sprintf(qSeriesAttempts, "")
	if p.Flow != "" {
		recv, att = fmt.Sprintf(qSeriesReceived, "AND flow = ?4"), fmt.Sprintf(qSeriesAttempts, "AND d.flow = ?4")
		args = append(args, p.Flow)
	}

	rows, err := s.rdb.QueryContext(ctx, recv, args...)
	if err != nil {
		return nil, fmt.Errorf("flow series: %w", err)
	}
	for rows.Next() {
		var (
			flow       string
			b, n, refd int64
		)
		if err := rows.Scan(&flow, &b, &n, &refd); err != nil {
			rows.Close()
			return nil, fmt.Errorf("flow series: %w", err)
		}
		pt := point(flow, b)
		pt.Received, pt.Refused = n, refd
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow series: %w", err)
	}

	rows, err = s.rdb.QueryContext(ctx, att, args...)
	if err != nil {
		return nil, fmt.Errorf("flow series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			flow                   string
			b, ok, failed, deadEnd int64
		)
		if err := rows.Scan(&flow, &b, &ok, &failed, &deadEnd); err != nil {
			return nil, fmt.Errorf("flow series: %w", err)
		}
		pt := point(flow, b)
		pt.Delivered, pt.Failed, pt.Dead = ok, failed, deadEnd
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("flow series: %w", err)
	}

	out := make([]*store.SeriesPoint, 0, len(points))
	for _, pt := range points {
		out = append(out, pt)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Flow != out[j].Flow {
			return out[i].Flow < out[j].Flow
		}
		return out[i].At.Before(out[j].At)
	})
	return out, nil
}

var _ store.Series = (*Store)(nil)
