package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Bulk moves for `seam store copy` (store.Exporter, store.Importer). Rows
// travel as the values of store.CopyTables; the only column whose type
// differs from SQLite's is deliveries.ordered (a boolean here, 0 or 1 on
// the wire).

func copyTable(name string) (store.CopyTable, copyQueries, error) {
	t, ok := store.CopyTableByName(name)
	if !ok {
		return t, copyQueries{}, seam.Errorf(seam.EINVALID, "no table %q in the ledger", name)
	}
	return t, copySQL[name], nil
}

// byteaColumns are the copied columns that PostgreSQL stores as bytea.
var byteaColumns = map[string]bool{"body": true, "canonical": true, "payload": true, "response": true, "detail": true,
	"details": true}

// ExportCount implements store.Exporter.
func (s *Store) ExportCount(ctx context.Context, table string) (int64, error) {
	_, q, err := copyTable(table)
	if err != nil {
		return 0, err
	}
	if err := s.check(); err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, q.count).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, mapErr(err))
	}
	return n, nil
}

// ExportRows implements store.Exporter.
func (s *Store) ExportRows(ctx context.Context, table string, afterID int64, limit int) ([][]any, error) {
	_, q, err := copyTable(table)
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, q.export, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", table, mapErr(err))
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", table, err)
		}
		for i, v := range vals {
			vals[i] = wireValue(v)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export %s: %w", table, mapErr(err))
	}
	return out, nil
}

// wireValue turns what pgx decodes into the copy's value types.
func wireValue(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	}
	return v
}

// ImportMaxID implements store.Importer.
func (s *Store) ImportMaxID(ctx context.Context, table string) (int64, error) {
	_, q, err := copyTable(table)
	if err != nil {
		return 0, err
	}
	if err := s.check(); err != nil {
		return 0, err
	}
	var n int64
	if err := s.pool.QueryRow(ctx, q.maxID).Scan(&n); err != nil {
		return 0, fmt.Errorf("largest id of %s: %w", table, mapErr(err))
	}
	return n, nil
}

// ImportRows implements store.Importer with COPY, in one transaction.
func (s *Store) ImportRows(ctx context.Context, table string, rows [][]any) error {
	t, _, err := copyTable(table)
	if err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	ordered := slices.Index(t.Columns, "ordered")
	src := make([][]any, len(rows))
	for i, r := range rows {
		if len(r) != len(t.Columns) {
			return seam.Errorf(seam.EINVALID, "import %s: a row has %d values for %d columns", table, len(r), len(t.Columns))
		}
		row := slices.Clone(r)
		for j, v := range row {
			// SQLite may hand back text for a blob written as text by an
			// older version; bytea takes bytes.
			if str, ok := v.(string); ok && byteaColumns[t.Columns[j]] {
				row[j] = []byte(str)
			}
		}
		if ordered >= 0 {
			n, ok := row[ordered].(int64)
			if !ok {
				return seam.Errorf(seam.EINVALID, "import %s: ordered is %T, not an integer", table, row[ordered])
			}
			row[ordered] = n != 0
		}
		src[i] = row
	}
	if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{table}, t.Columns, pgx.CopyFromRows(src)); err != nil {
		return fmt.Errorf("import %s: %w", table, mapErr(err))
	}
	return nil
}

// ImportDone implements store.Importer: every identity continues after the
// largest id imported.
func (s *Store) ImportDone(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, t := range store.CopyTables {
		b.Queue(copySQL[t.Name].setval)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("finish import: %w", mapErr(err))
	}
	return nil
}
