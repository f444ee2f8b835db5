package reconcile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	// The databases a SQL side can read: the drivers register themselves
	// with database/sql.
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/seamhq/seam/internal/catalog"
)

// sqlSide runs the check's query (and its keys query) in a read-only
// transaction: a reconciliation reads, and must never be able to write.
func (r *Runner) sqlSide(ctx context.Context, q *catalog.SQLSide, from, to time.Time) (*Side, error) {
	dsn, err := q.DSN.Value(r.env())
	if err != nil {
		return nil, fmt.Errorf("dsn: %w", err)
	}
	driver := q.Driver
	if driver == "" {
		driver = catalog.SQLDriverOf(dsn)
	}
	side := &Side{Label: driver, Source: "SQL " + shortQuery(q.Query)}
	db, tx, err := openReadOnly(ctx, driver, dsn)
	if err != nil {
		return nil, redact(err, dsn)
	}
	defer db.Close()
	// Read-only: there is nothing to commit.
	defer func() { _ = tx.Rollback() }()

	query, args, err := bind(driver, q.Query, from, to)
	if err != nil {
		return nil, err
	}
	if side.value, err = queryNumber(ctx, tx, query, args); err != nil {
		return nil, fmt.Errorf("query: %w", redact(err, dsn))
	}
	if q.KeyQuery != "" {
		query, args, err := bind(driver, q.KeyQuery, from, to)
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		if side.keys, err = queryKeys(ctx, tx, query, args); err != nil {
			return nil, fmt.Errorf("keys query: %w", redact(err, dsn))
		}
	}
	return side, nil
}

// openReadOnly opens one connection to the database and starts a
// read-only transaction on it.
func openReadOnly(ctx context.Context, driver, dsn string) (*sql.DB, *sql.Tx, error) {
	var (
		name string
		opts = &sql.TxOptions{ReadOnly: true}
	)
	switch driver {
	case "postgres":
		name = "pgx"
	case "mysql":
		name, dsn = "mysql", strings.TrimPrefix(dsn, "mysql://")
	case "sqlite":
		name = "sqlite"
		dsn = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		// SQLite has no read-only transaction; query_only refuses writes
		// on the connection instead.
		dsn += sep + "_pragma=query_only(1)"
		opts = nil
	case "":
		return nil, nil, errors.New("cannot tell the database from the dsn: write driver: postgres, mysql or sqlite")
	default:
		return nil, nil, fmt.Errorf("unknown driver %q: write postgres, mysql or sqlite", driver)
	}
	db, err := sql.Open(name, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", driver, err)
	}
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connect to %s: %w", driver, err)
	}
	return db, tx, nil
}

// bind replaces the :from and :to parameters of query with the driver's
// placeholders ($1, $2 on PostgreSQL, ? elsewhere) and returns the
// arguments in their order. A query written with the driver's own
// placeholders instead takes from as the first and to as the second.
func bind(driver, query string, from, to time.Time) (string, []any, error) {
	value := func(t time.Time) any {
		if driver == "sqlite" {
			// SQLite has no time type; its own date-time text is what
			// datetime() and strftime() produce and compare with.
			return t.UTC().Format("2006-01-02 15:04:05")
		}
		return t.UTC()
	}
	var (
		b       strings.Builder
		args    []any
		index   = map[string]int{}
		markers int // driver placeholders written by the user
		maxPos  int // highest $N written by the user
	)
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(query, i)
			b.WriteString(query[i:j])
			i = j
			continue
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j
			continue
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				return "", nil, errors.New("a /* comment is not closed")
			}
			b.WriteString(query[i : i+j+4])
			i += j + 4
			continue
		case c == ':' && (i == 0 || query[i-1] != ':'):
			name := identAt(query, i+1)
			if name == "from" || name == "to" {
				if driver == "postgres" {
					n, ok := index[name]
					if !ok {
						args = append(args, value(map[string]time.Time{"from": from, "to": to}[name]))
						n = len(args)
						index[name] = n
					}
					b.WriteString("$" + strconv.Itoa(n))
				} else {
					args = append(args, value(map[string]time.Time{"from": from, "to": to}[name]))
					b.WriteByte('?')
				}
				i += 1 + len(name)
				continue
			}
		case c == '?' && driver != "postgres":
			markers++
		case c == '$' && driver == "postgres":
			if n, err := strconv.Atoi(digitsAt(query, i+1)); err == nil {
				maxPos = max(maxPos, n)
			}
		}
		b.WriteByte(c)
		i++
	}
	if len(args) > 0 {
		if markers > 0 || maxPos > 0 {
			return "", nil, errors.New("write the window as :from and :to, or with the driver's placeholders, not both")
		}
		return b.String(), args, nil
	}
	n := max(markers, maxPos)
	if n > 2 {
		return "", nil, fmt.Errorf("the query has %d parameters; it gets two, :from and :to", n)
	}
	return query, []any{value(from), value(to)}[:n], nil
}

func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == '\\' && q != '"' {
			j++
			continue
		}
		if s[j] == q {
			if j+1 < len(s) && s[j+1] == q { // '' inside a string
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

func identAt(s string, i int) string {
	j := i
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
		j++
	}
	return s[i:j]
}

func digitsAt(s string, i int) string {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[i:j]
}

// queryNumber runs a query that must answer one row of one column.
func queryNumber(ctx context.Context, tx *sql.Tx, query string, args []any) (decimal.Decimal, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return decimal.Decimal{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return decimal.Decimal{}, err
	}
	if len(cols) != 1 {
		return decimal.Decimal{}, fmt.Errorf("the query answers %d columns; it must answer one number", len(cols))
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return decimal.Decimal{}, err
		}
		return decimal.Decimal{}, errors.New("the query answers no row; it must answer one number")
	}
	var v any
	if err := rows.Scan(&v); err != nil {
		return decimal.Decimal{}, err
	}
	if rows.Next() {
		return decimal.Decimal{}, errors.New("the query answers several rows; it must answer one number")
	}
	if err := rows.Err(); err != nil {
		return decimal.Decimal{}, err
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	return number(v)
}

// queryKeys runs a query answering one column of keys.
func queryKeys(ctx context.Context, tx *sql.Tx, query string, args []any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if len(cols) != 1 {
		return nil, fmt.Errorf("the keys query answers %d columns; it must answer one", len(cols))
	}
	keys := []string{}
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case nil:
			continue
		case []byte:
			keys = append(keys, string(x))
		case string:
			keys = append(keys, x)
		case int64:
			keys = append(keys, strconv.FormatInt(x, 10))
		case float64:
			keys = append(keys, strconv.FormatFloat(x, 'f', -1, 64))
		case time.Time:
			keys = append(keys, x.UTC().Format(time.RFC3339Nano))
		default:
			keys = append(keys, fmt.Sprint(x))
		}
		if len(keys) > maxLedgerRows {
			return nil, fmt.Errorf("more than %d keys; shorten the window", maxLedgerRows)
		}
	}
	return keys, rows.Err()
}

// shortQuery is the start of a query on one line, for messages.
func shortQuery(q string) string {
	s := strings.Join(strings.Fields(q), " ")
	if len([]rune(s)) > 80 {
		return string([]rune(s)[:80]) + "…"
	}
	return s
}

// redact keeps a database password out of an error: drivers quote the DSN
// they could not use.
func redact(err error, dsn string) error {
	if err == nil {
		return nil
	}
	var secrets []string
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			secrets = append(secrets, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	// The MySQL driver's form: user:password@tcp(host)/db.
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		if _, p, ok := strings.Cut(strings.TrimPrefix(dsn[:at], "mysql://"), ":"); ok && p != "" {
			secrets = append(secrets, p)
		}
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if len(s) >= 3 && strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, "xxxxx"), true
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}
