package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Bulk moves for `seam store copy` (store.Exporter, store.Importer). The
// statements are built from store.CopyTables, a fixed list: no name in
// them comes from outside. Values come out of modernc's driver as the
// copy's types already (int64, string, []byte, nil); deliveries.ordered is
// an INTEGER 0 or 1 here.

type copyQueries struct{ count, maxID, export, insert string }

var copySQL = func() map[string]copyQueries {
	m := make(map[string]copyQueries, len(store.CopyTables))
	for _, t := range store.CopyTables {
		cols := strings.Join(t.Columns, ", ")
		m[t.Name] = copyQueries{
			count:  "SELECT count(*) FROM " + t.Name,
			maxID:  "SELECT coalesce(max(id), 0) FROM " + t.Name,
			export: "SELECT " + cols + " FROM " + t.Name + " WHERE id > ? ORDER BY id LIMIT ?",
			insert: "INSERT INTO " + t.Name + " (" + cols + ") VALUES (?" + strings.Repeat(", ?", len(t.Columns)-1) + ")",
		}
	}
	return m
}()

func copyTable(name string) (store.CopyTable, copyQueries, error) {
	t, ok := store.CopyTableByName(name)
	if !ok {
		return t, copyQueries{}, seam.Errorf(seam.EINVALID, "no table %q in the ledger", name)
	}
	return t, copySQL[name], nil
}

// ExportCount implements store.Exporter.
func (s *Store) ExportCount(ctx context.Context, table string) (int64, error) {
	_, q, err := copyTable(table)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.rdb.QueryRowContext(ctx, q.count).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

// ExportRows implements store.Exporter.
func (s *Store) ExportRows(ctx context.Context, table string, afterID int64, limit int) ([][]any, error) {
	t, q, err := copyTable(table)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, q.export, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", table, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(t.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("export %s: %w", table, err)
		}
		for i, v := range vals {
			if b, ok := v.(bool); ok { // never stored as such, but a row must not leave as a bool
				vals[i] = int64(0)
				if b {
					vals[i] = int64(1)
				}
			}
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export %s: %w", table, err)
	}
	return out, nil
}

// ImportMaxID implements store.Importer.
func (s *Store) ImportMaxID(ctx context.Context, table string) (int64, error) {
	_, q, err := copyTable(table)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.rdb.QueryRowContext(ctx, q.maxID).Scan(&n); err != nil {
		return 0, fmt.Errorf("largest id of %s: %w", table, err)
	}
	return n, nil
}

// ImportRows implements store.Importer: one write transaction through the
// writer, like any other write.
func (s *Store) ImportRows(ctx context.Context, table string, rows [][]any) error {
	t, q, err := copyTable(table)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if len(r) != len(t.Columns) {
			return seam.Errorf(seam.EINVALID, "import %s: a row has %d values for %d columns", table, len(r), len(t.Columns))
		}
	}
	err = s.w.do(ctx, func(tx *wtx) error {
		stmt, err := tx.st.conn.PrepareContext(context.Background(), q.insert)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rows {
			if _, err := stmt.ExecContext(context.Background(), r...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import %s: %w", table, err)
	}
	return nil
}

// ImportDone implements store.Importer. SQLite's AUTOINCREMENT continues
// after the largest id ever inserted, imported ids included; the route
// totals are counted afresh from the imported deliveries.
func (s *Store) ImportDone(ctx context.Context) error {
	err := s.w.do(ctx, func(tx *wtx) error {
		for _, q := range []string{qDropTotals, qCountTotals} {
			if _, err := tx.st.conn.ExecContext(context.Background(), q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count route totals: %w", err)
	}
	return nil
}

const (
	qDropTotals  = `DELETE FROM route_totals`
	qCountTotals = `INSERT INTO route_totals (flow, route, state, n, last_at)
		SELECT flow, route, state, count(*), max(delivered_at) FROM deliveries
		WHERE state IN ('delivered', 'skipped') GROUP BY flow, route, state`
)
