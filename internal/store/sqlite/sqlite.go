// Package sqlite is the embedded ledger: a store.Store on one SQLite file
// through the pure-Go modernc.org/sqlite driver, so the seam binary needs
// neither cgo nor a database to install.
//
// All writes go through one connection owned by a writer goroutine that
// group-commits: every request waiting when a transaction starts joins it,
// and all of them are answered after the one fsync of its commit. That is
// what lets a 2xx at intake mean "on disk" at thousands of records a second.
// Reads use a separate pool of query_only connections, which WAL lets run
// beside the writer.
package sqlite

import (
	"context"
	"database/sql"
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
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

//go:embed migration/*.sql
var migrations embed.FS

// Options tunes a Store; the zero value is sensible.
type Options struct {
	// Logger receives the few events worth an operator's attention
	// (migrations applied). Nil discards them.
	Logger *slog.Logger
	// MaxBatch bounds how many write requests share one transaction. Larger
	// batches amortise the fsync further but make every waiter in them wait
	// for the whole batch. 0 means 512.
	MaxBatch int
	// ReadConns is the size of the read pool. 0 means max(4, GOMAXPROCS).
	ReadConns int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process (a CLI next to a running hub) before failing. 0 means 10s.
	BusyTimeout time.Duration
}

// Store is the SQLite ledger. It is safe for concurrent use.
type Store struct {
	logger *slog.Logger
	rdb    *sql.DB // query_only pool for reads
	wdb    *sql.DB // holds exactly one connection: the writer's
	w      *writer

	closeOnce sync.Once
	closeErr  error

	// wake carries store.Notifier's wake-ups. One process owns a SQLite
	// ledger, so the writes that make deliveries due (a replay through the
	// API, leases given back) happen in this process and signal here.
	wake chan struct{}
}

// Open opens (creating if needed) the ledger at dsn, applies pending
// migrations and starts the writer. dsn is a file path, optionally written
// "sqlite:./seam.db" or "file:./seam.db"; query parameters after '?' are
// passed to the driver. In-memory databases are refused: the ledger's whole
// point is to be on disk, and the read pool could not see one anyway.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	path, params, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}

	// synchronous=FULL fsyncs the WAL on every commit: without it an
	// acknowledged record could vanish on power loss, which is the one
	// thing the ledger promises never happens.
	pragmas := "_pragma=busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)"
	wdsn := path + "?" + pragmas + "&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" + params
	rdsn := path + "?" + pragmas + "&_query_only=1" + params

	s := &Store{logger: opts.Logger, wake: make(chan struct{}, 1)}
	if s.wdb, err = sql.Open("sqlite", wdsn); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)

	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	if err := s.migrate(ctx, conn); err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, err
	}
	w, err := newWriter(ctx, conn, opts.MaxBatch)
	if err != nil {
		conn.Close()
		s.wdb.Close()
		return nil, err
	}

	// The read pool opens after the migrations so that its connections
	// never see a half-built schema or a database not yet in WAL mode.
	if s.rdb, err = sql.Open("sqlite", rdsn); err != nil {
		w.close()
		s.wdb.Close()
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	s.rdb.SetMaxOpenConns(opts.ReadConns)
	s.rdb.SetMaxIdleConns(opts.ReadConns)
	if err := s.rdb.PingContext(ctx); err != nil {
		w.close()
		s.rdb.Close()
		s.wdb.Close()
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	s.w = w
	return s, nil
}

// Close stops accepting writes, lets the writer finish every request
// already queued, and closes the database. It is safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.w.close(), s.rdb.Close(), s.wdb.Close())
	})
	return s.closeErr
}

// parseDSN turns the forms a seam.yaml may use into a bare path and any
// extra driver parameters (each prefixed with '&').
func parseDSN(dsn string) (path, params string, err error) {
	path = strings.TrimPrefix(dsn, "sqlite://")
	path = strings.TrimPrefix(path, "sqlite:")
	path = strings.TrimPrefix(path, "file://")
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		if q := path[i+1:]; q != "" {
			params = "&" + q
		}
		path = path[:i]
	}
	if path == "" || path == ":memory:" || strings.Contains(params, "mode=memory") {
		return "", "", seam.Errorf(seam.EINVALID, "sqlite store %q: a file path is required", dsn).
			WithHint(`use e.g. "sqlite:./seam.db"`)
	}
	return path, params, nil
}

// migrate applies, in order, every embedded migration not yet recorded in
// schema_migrations, each in its own IMMEDIATE transaction so that two
// processes opening a new file at once cannot both apply it.
func (s *Store) migrate(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	names, err := fs.Glob(migrations, "migration/*.sql")
	if err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "migration/"), ".sql")
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migrate ledger: migration %s: name must start with NNN_", name)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate ledger: %w", err)
		}
		applied, err := applyMigration(ctx, conn, version, base, string(body))
		if err != nil {
			return fmt.Errorf("migrate ledger: %s: %w", base, err)
		}
		if applied {
			s.logger.InfoContext(ctx, "ledger migration applied", "migration", base)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, version int, name, body string) (applied bool, err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		_, err = conn.ExecContext(ctx, "COMMIT")
		return false, err
	}
	if _, err := conn.ExecContext(ctx, body); err != nil {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		version, name, time.Now().UnixNano()); err != nil {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return false, err
	}
	return true, nil
}

// nanos stores a time as unix nanoseconds; the zero time, "never", is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos. Times come back in UTC so that a
// round trip compares equal whatever zone the caller used.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// DeliveryWakeups implements store.Notifier.
func (s *Store) DeliveryWakeups() <-chan struct{} { return s.wake }

// WriterStats implements store.Writer.
func (s *Store) WriterStats() store.WriterStats { return s.w.stats() }

// signal wakes the poller without ever blocking: one pending wake-up
// stands for any number.
func (s *Store) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Notifier = (*Store)(nil)
	_ store.Writer   = (*Store)(nil)
	_ store.Exporter = (*Store)(nil)
	_ store.Importer = (*Store)(nil)
)
