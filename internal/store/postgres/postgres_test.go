package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

func TestIncidents(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storetest.ExerciseIncidents(t, func(t *testing.T) storetest.IncidentStore { return openTest(t) })
}

func TestSeries(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storetest.ExerciseSeries(t, func(t *testing.T) store.Store { return openTest(t) })
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
		var n, versions int
		require.NoError(t, conn.QueryRow(t.Context(),
			"SELECT count(*), count(DISTINCT version) FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&n, &versions))
		files, err := filepath.Glob(filepath.Join("migration", "*.sql"))
		require.NoError(t, err)
		require.Equal(t, len(files), n, "one row per migration")
		require.Equal(t, n, versions, "each applied once")

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

// TestIncidentsAcrossNodes runs the incident races of ExerciseIncidents
// between several stores on one schema, as several nodes share one
// ledger: separate pools, so nothing in the driver serialises them and
// only the database decides.
func TestIncidentsAcrossNodes(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	schema := newSchema(t, dsn)
	const nodes = 4
	stores := make([]*postgres.Store, nodes)
	for i := range stores {
		st, err := postgres.Open(t.Context(), dsn, postgres.Options{Schema: schema, MaxConns: 2})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, st.Close()) })
		stores[i] = st
	}
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

	t.Run("OpenAndResolveRace", func(t *testing.T) {
		// Every node opens and resolves the same rule over and over: an
		// open may meet an incident that another node resolves under it.
		// Each call must still succeed, say truly whether it opened, and
		// never leave two incidents of the rule open.
		const rounds = 25
		opened := make([][]int64, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i, st := range stores {
			wg.Go(func() {
				for range rounds {
					in, ok, err := st.IncidentOpen(t.Context(), &store.IncidentOpenParams{Flow: "f", Rule: "flappy",
						Kind: "silence", Severity: "warning", Summary: "quiet", Now: now})
					if err != nil {
						errs[i] = err
						return
					}
					if in.State != seam.IncidentOpen || in.Flow != "f" || in.Rule != "flappy" {
						errs[i] = fmt.Errorf("open returned %+v", in)
						return
					}
					if ok {
						opened[i] = append(opened[i], in.ID)
					}
					_, err = st.IncidentResolve(t.Context(), &store.IncidentResolveParams{Flow: "f", Rule: "flappy", Now: now})
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		seen := map[int64]bool{}
		for _, ids := range opened {
			for _, id := range ids {
				require.False(t, seen[id], "incident %d reported opened twice", id)
				seen[id] = true
			}
		}
		all, err := stores[0].IncidentList(t.Context(), &store.IncidentFilter{Rule: "flappy", Limit: 10_000})
		require.NoError(t, err)
		require.Len(t, all, len(seen), "every incident was reported opened by exactly one call")
		open, err := stores[0].IncidentList(t.Context(), &store.IncidentFilter{Rule: "flappy", State: seam.IncidentOpen})
		require.NoError(t, err)
		require.LessOrEqual(t, len(open), 1)
	})

	t.Run("EachNoticeOnce", func(t *testing.T) {
		in, ok, err := stores[0].IncidentOpen(t.Context(), &store.IncidentOpenParams{Flow: "f", Rule: "dead_letters",
			Kind: "dead_letters", Severity: "warning", Summary: "dead", Now: now})
		require.NoError(t, err)
		require.True(t, ok)
		// race has every node claim kind at once and returns the winner.
		race := func(kind seam.NoticeKind, at time.Time) int {
			won := make([]bool, nodes)
			errs := make([]error, nodes)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, st := range stores {
				wg.Go(func() {
					<-start
					_, won[i], errs[i] = st.IncidentClaimNotice(t.Context(), &store.NoticeClaimParams{ID: in.ID, Kind: kind,
						Node: fmt.Sprintf("n%d", i), Lease: time.Minute, RemindBefore: at.Add(-time.Hour), Now: at})
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i := range nodes {
				require.NoError(t, errs[i])
				if won[i] {
					require.Equal(t, -1, winner, "%s notice claimed by n%d and n%d", kind, winner, i)
					winner = i
				}
			}
			require.NotEqual(t, -1, winner, "somebody claims the %s notice", kind)
			_, err := stores[winner].IncidentRecordNotice(t.Context(), &store.NoticeRecordParams{ID: in.ID, Kind: kind,
				Node: fmt.Sprintf("n%d", winner), Sent: []string{"chat"}, Done: true, Now: at})
			require.NoError(t, err)
			return winner
		}
		race(seam.NoticeFiring, now)
		race(seam.NoticeReminder, now.Add(2*time.Hour))
		_, err = stores[1].IncidentResolve(t.Context(), &store.IncidentResolveParams{Flow: "f", Rule: "dead_letters", Now: now.Add(3 * time.Hour)})
		require.NoError(t, err)
		race(seam.NoticeResolved, now.Add(3*time.Hour))
		got, err := stores[2].IncidentGet(t.Context(), in.ID)
		require.NoError(t, err)
		require.Equal(t, 3, got.Notifications, "firing, one reminder, resolved: each sent once")
		require.Equal(t, seam.NoticeResolved, got.Notified)
	})
}
