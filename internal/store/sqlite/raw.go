package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// rawStmt is one of the writer's hot statements (those every record runs
// on intake and on delivery) prepared on the driver's connection itself
// and run inside sql.Conn.Raw, without database/sql's per-call work
// (argument checks, result and rows wrappers, dependency tracking): about
// 2 µs a statement, on the one goroutine every write waits for.
//
// A rawStmt may be used only inside wtx.hot, and nothing inside wtx.hot
// may use database/sql on the writer's connection: Raw holds the
// connection, so that would wait forever.
type rawStmt struct {
	exec  driver.StmtExecContext
	query driver.StmtQueryContext
	close func() error
	args  []driver.NamedValue // reused: only the writer goroutine runs these
	vals  []driver.Value
}

func prepareRaw(ctx context.Context, dc any, query string) (*rawStmt, error) {
	p, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("the sqlite driver's connection (%T) cannot prepare with a context", dc)
	}
	s, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	e, eok := s.(driver.StmtExecContext)
	q, qok := s.(driver.StmtQueryContext)
	if !eok || !qok {
		s.Close()
		return nil, fmt.Errorf("the sqlite driver's statement (%T) cannot run with a context", s)
	}
	return &rawStmt{exec: e, query: q, close: s.Close}, nil
}

func (r *rawStmt) bind(args []any) []driver.NamedValue {
	r.args = r.args[:0]
	for i, a := range args {
		if n, ok := a.(int); ok {
			a = int64(n) // the driver binds only driver.Value types
		}
		r.args = append(r.args, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	return r.args
}

// insert runs an INSERT and returns the rowid it created.
func (r *rawStmt) insert(args ...any) (int64, error) {
	// A nil Done channel spares the driver a watcher goroutine per statement.
	res, err := r.exec.ExecContext(context.Background(), r.bind(args))
	clear(r.args) // let the arguments be collected
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// queryRow runs the statement, scans its first row into dest and
// discards the rest; sql.ErrNoRows when there is none. dest holds *int64,
// *int, *bool or *string.
func (r *rawStmt) queryRow(args []any, dest ...any) (err error) {
	rows, err := r.query.QueryContext(context.Background(), r.bind(args))
	clear(r.args)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rows.Close()) }()
	n := len(rows.Columns())
	if cap(r.vals) < n {
		r.vals = make([]driver.Value, n)
	}
	vals := r.vals[:n]
	defer clear(vals)
	switch err := rows.Next(vals); {
	case errors.Is(err, io.EOF):
		return sql.ErrNoRows
	case err != nil:
		return err
	}
	if len(dest) != len(vals) {
		return fmt.Errorf("scan %d columns into %d values", len(vals), len(dest))
	}
	for i, d := range dest {
		if err := assign(d, vals[i]); err != nil {
			return fmt.Errorf("column %d: %w", i+1, err)
		}
	}
	return nil
}

// assign converts what the driver returns for the ledger's column types
// (INTEGER as int64, TEXT as string) into the writer's variables.
func assign(dst any, v driver.Value) error {
	switch d := dst.(type) {
	case *int64:
		if n, ok := v.(int64); ok {
			*d = n
			return nil
		}
	case *int:
		if n, ok := v.(int64); ok {
			*d = int(n)
			return nil
		}
	case *bool:
		if n, ok := v.(int64); ok {
			*d = n != 0
			return nil
		}
	case *string:
		switch s := v.(type) {
		case string:
			*d = s
			return nil
		case []byte:
			*d = string(s)
			return nil
		}
	}
	return fmt.Errorf("cannot store %T in %T", v, dst)
}

// hot runs f holding the writer's driver connection, so that f may use
// the raw statements (and only those).
func (tx *wtx) hot(f func() error) error {
	return tx.st.conn.Raw(func(any) error { return f() })
}
