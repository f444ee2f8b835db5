package reconcile

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBind(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	for name, tc := range map[string]struct {
		driver, query, want string
		args                []any
		err                 string
	}{
		"PostgresNamed": {driver: "postgres", query: "SELECT count(*) FROM t WHERE at >= :from AND at < :to AND at2 < :to",
			want: "SELECT count(*) FROM t WHERE at >= $1 AND at < $2 AND at2 < $2", args: []any{from, to}},
		"PostgresCastsStay": {driver: "postgres", query: "SELECT sum(x)::numeric FROM t WHERE at < :to::timestamptz",
			want: "SELECT sum(x)::numeric FROM t WHERE at < $1::timestamptz", args: []any{to}},
		"MySQLNamed": {driver: "mysql", query: "SELECT count(*) FROM t WHERE at BETWEEN :from AND :to",
			want: "SELECT count(*) FROM t WHERE at BETWEEN ? AND ?", args: []any{from, to}},
		"SQLiteText": {driver: "sqlite", query: "SELECT count(*) FROM t WHERE at >= :from",
			want: "SELECT count(*) FROM t WHERE at >= ?", args: []any{"2026-03-03 10:00:00"}},
		"QuotedAndCommentedStay": {driver: "mysql", query: "SELECT ':from', \"a:to\", `b:to` /* :from */ FROM t -- :to\nWHERE at < :to",
			want: "SELECT ':from', \"a:to\", `b:to` /* :from */ FROM t -- :to\nWHERE at < ?", args: []any{to}},
		"OtherNamesStay": {driver: "mysql", query: "SELECT :fromage, :too",
			want: "SELECT :fromage, :too", args: []any{}},
		"PostgresPositional": {driver: "postgres", query: "SELECT count(*) FROM t WHERE at >= $1 AND at < $2",
			want: "SELECT count(*) FROM t WHERE at >= $1 AND at < $2", args: []any{from, to}},
		"MySQLPositional": {driver: "mysql", query: "SELECT count(*) FROM t WHERE at >= ?",
			want: "SELECT count(*) FROM t WHERE at >= ?", args: []any{from}},
		"Mixed":        {driver: "mysql", query: "SELECT ? , :to", err: "not both"},
		"TooMany":      {driver: "postgres", query: "SELECT $3", err: "3 parameters"},
		"OpenComment":  {driver: "postgres", query: "SELECT 1 /* oops", err: "not closed"},
		"PlainNoParam": {driver: "postgres", query: "SELECT 1", want: "SELECT 1", args: []any{}},
	} {
		got, args, err := bind(tc.driver, tc.query, from, to)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, name)
			continue
		}
		require.NoError(t, err, name)
		require.Equal(t, tc.want, got, name)
		require.Equal(t, tc.args, args, name)
	}
}

func TestParseNumber(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"1210.50": "1210.50", "1210,50": "1210.50", "1 210,50": "1210.50", "1.210,50": "1210.50",
		"1,210.50": "1210.50", "-3": "-3", "1e3": "1000", "0": "0",
	} {
		d, err := parseNumber(in)
		require.NoError(t, err, in)
		require.Equal(t, want, d.String(), in)
	}
	for _, in := range []string{"", "many", "0x10", "1.2.3"} {
		_, err := parseNumber(in)
		require.Error(t, err, in)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{
		"postgres://seam:Pa55word@db.acme.example/erp",
		"seam:Pa55word@tcp(db.acme.example:3306)/erp",
		"mysql://seam:Pa55word@tcp(db.acme.example:3306)/erp",
	} {
		err := redact(errors.New("cannot parse `"+dsn+"`: boom"), dsn)
		require.NotContains(t, err.Error(), "Pa55word", dsn)
		require.Contains(t, err.Error(), "boom")
	}
	plain := errors.New("connection refused")
	require.Same(t, plain, redact(plain, "postgres://seam@db/erp"))
}

func TestJSONPaths(t *testing.T) {
	t.Parallel()
	doc, err := decodeJSON([]byte(`{"data":{"count":3,"rows":[{"ref":"A"},{"ref":"B"},{"ref":7}]},"refs":["X","Y"]}`))
	require.NoError(t, err)
	v, err := one(doc, "data.count")
	require.NoError(t, err)
	n, err := number(v)
	require.NoError(t, err)
	require.Equal(t, "3", n.String())
	_, err = one(doc, "data.rows.*.ref")
	require.ErrorContains(t, err, "3 values")
	v, err = one(doc, "data.rows.1.ref")
	require.NoError(t, err)
	require.Equal(t, "B", v)

	keys, err := keyList(doc, "data.rows.*.ref")
	require.NoError(t, err)
	require.Equal(t, []string{"A", "B", "7"}, keys)
	keys, err = keyList(doc, "refs")
	require.NoError(t, err)
	require.Equal(t, []string{"X", "Y"}, keys)
	_, err = keyList(doc, "data")
	require.ErrorContains(t, err, "text or a number")
	_, err = walk(doc, "data..count")
	require.ErrorContains(t, err, "empty step")
}
