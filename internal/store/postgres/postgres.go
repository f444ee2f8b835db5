// Package postgres is the multi-node ledger: a store.Store on PostgreSQL
// through pgx, which several `seam run` nodes share at once.
//
// It passes the same conformance suite as the SQLite driver, with the same
// semantics, and adds what a shared store needs: deliveries claimed with
// FOR UPDATE SKIP LOCKED and a lease (a node that dies has its leases
// taken over when they expire), per-key ordering and intake dedupe that
// hold across nodes (advisory transaction locks, see query.go), a leader
// election (store.Leaser) for the work that runs once per cluster,
// wake-ups by LISTEN/NOTIFY (store.Notifier), alert incidents whose
// notices one node sends (store.Incidents) and the dashboard's charts
// (store.Series).
//
// Group commit: the SQLite driver batches concurrent writes into one
// transaction because SQLite has one writer. PostgreSQL has many, and
// already shares one WAL flush among the transactions that commit together,
// so this driver relies on the pool's concurrency instead, and spends its
// effort on round trips: each hot-path call is one pipelined batch, run as
// one implicit transaction (BenchmarkIngest, BenchmarkIngestComplete).
// Batching several callers into one transaction is not done: one caller's
// failure would abort the others' work (SQLite's writer then retries each
// alone; here that would double the round trips), the advisory locks of
// unrelated records would be held together across nodes, and the commits
// of a 64-caller load already share their flushes.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

//go:embed migration/*.sql
var migrations embed.FS

// Options tunes a Store; the zero value is sensible.
type Options struct {
	// Logger receives the few events worth an operator's attention
	// (migrations applied, the notification listener reconnecting). Nil
	// discards them.
	Logger *slog.Logger
	// Schema, when set, holds the ledger instead of the DSN's search_path
	// (it is created if missing): one database can then hold several
	// ledgers, as the tests do, one per test.
	Schema string
	// MaxConns bounds the connection pool. 0 means the DSN's
	// pool_max_conns if it has one, else max(16, 4×GOMAXPROCS): intake
	// commits concurrently, and the more commits wait together, the more
	// of them one WAL flush serves.
	MaxConns int32
}

// Store is the PostgreSQL ledger. It is safe for concurrent use, by any
// number of processes at once.
type Store struct {
	logger *slog.Logger
	pool   *pgxpool.Pool
	cfg    *pgxpool.Config
	schema string // where the ledger is: the payload of its notifications

	closed    atomic.Bool
	closeOnce sync.Once

	listenOnce sync.Once
	wake       chan struct{}
	stopListen context.CancelFunc
	listenDone chan struct{}
}

// Open connects to the database at dsn (postgres://… or postgresql://…, or
// a libpq key=value string), applies pending migrations and returns the
// store. Several nodes may open the same database at the same moment: the
// migrations are applied once.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, seam.Errorf(seam.EINVALID, "postgres store: %v", err).
			WithHint(`use e.g. "postgres://seam@db.example:5432/seam?sslmode=verify-full"`)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "seam"
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(dsn, "pool_max_conns"):
		cfg.MaxConns = int32(max(16, 4*runtime.GOMAXPROCS(0)))
	}

	s := &Store{logger: opts.Logger, cfg: cfg, wake: make(chan struct{}, 1)}
	if err := s.migrate(ctx, opts.Schema); err != nil {
		return nil, err
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	return s, nil
}

// Close stops the notification listener and closes the pool, waiting for
// the connections in use to be given back. It is safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stopListen != nil {
			s.stopListen()
			<-s.listenDone
		}
		s.pool.Close()
	})
	return nil
}

// check refuses calls on a closed store: pgxpool's own error for that is
// not one a caller can test for.
func (s *Store) check() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// migrate applies, in one transaction on a connection of its own, every
// embedded migration not yet recorded in schema_migrations. The advisory
// lock, keyed by the schema, makes nodes that start together wait for the
// first: they then find the migrations applied and apply nothing.
func (s *Store) migrate(ctx context.Context, schema string) (err error) {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	create := schema != ""
	if !create {
		var current *string // NULL when no schema of the search_path exists
		if err := tx.QueryRow(ctx, qCurrentSchema).Scan(&current); err != nil {
			return fmt.Errorf("migrate ledger: %w", err)
		}
		if current == nil || *current == "" {
			return seam.Errorf(seam.EINVALID, "postgres store: no schema to hold the ledger").
				WithHint("create one, or name an existing one with ?search_path= in the DSN")
		}
		schema = *current
	}
	s.schema = schema
	if _, err := tx.Exec(ctx, qMigrateLock, schema); err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	// No arguments: pgx sends these with the simple protocol, which also
	// runs a migration file's several statements. The schema is created
	// only when named in Options: CREATE SCHEMA needs a privilege that a
	// ledger in an existing schema does not.
	if create {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate ledger: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, qMigrateTable); err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	rows, err := tx.Query(ctx, qMigrateApplied)
	if err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	done := map[int]bool{}
	for _, v := range applied {
		done[int(v)] = true
	}

	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	sort.Strings(names)
	var ran []string
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "migration/"), ".sql")
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migrate ledger: migration %s: name must start with NNN_", name)
		}
		if done[version] {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate ledger: %w", err)
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("migrate ledger: %s: %w", base, err)
		}
		if _, err := tx.Exec(ctx, qMigrateRecord, version, base, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migrate ledger: %s: %w", base, err)
		}
		ran = append(ran, base)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	for _, base := range ran {
		s.logger.InfoContext(ctx, "ledger migration applied", "migration", base, "schema", schema)
	}
	return nil
}

// mapErr turns driver errors into the ledger's: no rows is
// store.ErrNotFound, a unique violation is ECONFLICT.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return &seam.Error{Code: seam.ECONFLICT, Message: "already exists: " + pe.ConstraintName, Err: err}
	}
	return err
}

// nanos stores a time as unix nanoseconds; the zero time, "never", is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos, in UTC so that a round trip compares
// equal whatever zone the caller used.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nonNil keeps NOT NULL bytea columns satisfied by an empty body.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullBytes is NULL for an empty slice (nullable bytea columns).
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// orDefault returns v, or def when v is empty: deliveries and quarantine
// entries default to their message's flow and key.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Leaser    = (*Store)(nil)
	_ store.Notifier  = (*Store)(nil)
	_ store.Exporter  = (*Store)(nil)
	_ store.Importer  = (*Store)(nil)
	_ store.Incidents = (*Store)(nil)
	_ store.Series    = (*Store)(nil)
)
