package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/postgres"
	"github.com/seamhq/seam/internal/store/storetest"
)

// testDSN returns the server the tests use, or skips: these tests need a
// real PostgreSQL (CI starts one and sets the variable).
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("SEAM_TEST_POSTGRES")
	if dsn == "" {
		tb.Skip("SEAM_TEST_POSTGRES is not set; set it to a PostgreSQL DSN to run the PostgreSQL store tests " +
			"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// newSchema names a fresh schema and drops it, with everything in it, when
// the test ends: each test has a ledger of its own, so tests run in
// parallel on one database.
func newSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "seamtest_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(tb, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		require.NoError(tb, err)
	})
	return schema
}

// openTest opens a store on a fresh schema with a small pool (the suite
// runs many at once); it is closed when the test ends.
func openTest(tb testing.TB) *postgres.Store {
	tb.Helper()
	return openWith(tb, postgres.Options{MaxConns: 8})
}

// openWith opens a store on a fresh schema with opts.
func openWith(tb testing.TB, opts postgres.Options) *postgres.Store {
	tb.Helper()
	dsn := testDSN(tb)
	opts.Schema = newSchema(tb, dsn)
	st, err := postgres.Open(context.Background(), dsn, opts)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, st.Close()) })
	return st
}

func TestStore(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storetest.Exercise(t, func(t *testing.T) store.Store { return openTest(t) })
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("BadDSN", func(t *testing.T) {
		t.Parallel()
		_, err := postgres.Open(t.Context(), "postgres://%zz", postgres.Options{})
		require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
	})

	t.Run("MigrationsOnceUnderConcurrentOpens", func(t *testing.T) {
		t.Parallel()
		dsn := testDSN(t)
		schema := newSchema(t, dsn)
		const nodes = 5
		stores := make([]*postgres.Store, nodes)
		errs := make([]error, nodes)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() {
				<-start
				stores[i], errs[i] = postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema, MaxConns: 2})
			})
		}
		close(start)
		wg.Wait()
		for i := range nodes {
			require.NoError(t, errs[i])
			defer stores[i].Close()
		}
		conn, err := pgx.Connect(t.Context(), dsn)
		require.NoError(t, err)
		defer conn.Close(t.Context())
		var n int
		require.NoError(t, conn.QueryRow(t.Context(),
			"SELECT count(*) FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&n))
		require.Equal(t, 1, n, "one row per migration")

		// Reopening applies nothing and keeps the data.
		res, err := stores[0].MessageIngest(t.Context(), &store.IngestParams{Now: time.Now(),
			Message: &seam.Message{Flow: "f", Key: "k", Body: []byte("x")}})
		require.NoError(t, err)
		again, err := postgres.Open(t.Context(), dsn, postgres.Options{Schema: schema})
		require.NoError(t, err)
		defer again.Close()
		_, err = again.MessageGet(t.Context(), res.MessageID)
		require.NoError(t, err)
	})

	t.Run("SearchPathFromDSN", func(t *testing.T) {
		t.Parallel()
		dsn := testDSN(t)
		schema := newSchema(t, dsn)
		conn, err := pgx.Connect(t.Context(), dsn)
		require.NoError(t, err)
		_, err = conn.Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
		require.NoError(t, err)
		require.NoError(t, conn.Close(t.Context()))
		sep := "?"
		if containsQuery(dsn) {
			sep = "&"
		}
		st, err := postgres.Open(t.Context(), dsn+sep+"search_path="+schema, postgres.Options{})
		require.NoError(t, err)
		defer st.Close()
		_, err = st.MessageIngest(t.Context(), &store.IngestParams{Now: time.Now(),
			Message: &seam.Message{Flow: "f", Key: "k", Body: []byte("x")}})
		require.NoError(t, err)
	})
}

func containsQuery(dsn string) bool {
	for _, c := range dsn {
		if c == '?' {
			return true
		}
	}
	return false
}
