package main

// The PostgreSQL systems under test: seam-pg (one node) and seam-pg2 (two
// nodes on one ledger). Each round gets a fresh schema, dropped after it.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// nodesOf is how many `seam run` processes a system runs.
func nodesOf(sys string) int {
	if sys == "seam-pg2" {
		return 2
	}
	return 1
}

func isPG(sys string) bool { return strings.HasPrefix(sys, "seam-pg") }

func isSeam(sys string) bool { return strings.HasPrefix(sys, "seam") }

// pgAdmin is the runner's own connection to the database: it creates and
// drops the schemas and samples the server's counters. Its sessions are
// not counted as Seam's.
type pgAdmin struct {
	dsn  *url.URL
	conn *pgx.Conn
}

func openPGAdmin(ctx context.Context, dsn string) (*pgAdmin, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("-pg %q: want a postgres://… URL", dsn)
	}
	if u.Query().Has("search_path") {
		return nil, fmt.Errorf("-pg %q: leave search_path out; each round gets a fresh schema", dsn)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("-pg: %v", err)
	}
	cfg.RuntimeParams["application_name"] = "refbench"
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL (-pg, env BENCH_PG): %v", err)
	}
	return &pgAdmin{dsn: u, conn: conn}, nil
}

func (a *pgAdmin) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.conn.Close(ctx)
}

// ledger is one round's schema.
type ledger struct {
	admin  *pgAdmin
	schema string
	keep   bool
}

func (a *pgAdmin) newLedger(ctx context.Context, schema string, keep bool) (*ledger, error) {
	if _, err := a.conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create schema %s: %v", schema, err)
	}
	return &ledger{admin: a, schema: schema, keep: keep}, nil
}

// drop removes the schema and everything in it (after the nodes stopped).
func (l *ledger) drop() {
	if l.keep {
		fmt.Printf("  kept schema %s (-pg-keep)\n", l.schema)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := l.admin.conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{l.schema}.Sanitize()+" CASCADE"); err != nil {
		fmt.Fprintf(os.Stderr, "refbench: drop schema %s: %v\n", l.schema, err)
	}
}

// appName tags the sessions of the round's nodes, so that the server's
// processes serving them can be told from anyone else's.
func (l *ledger) appName() string { return "rb_" + l.schema }

// dsn is the store of one node: the runner's DSN with the round's schema
// as search_path and the round's application_name.
func (l *ledger) dsn(node string) string {
	u := *l.admin.dsn
	q := u.Query()
	q.Set("search_path", l.schema)
	q.Set("application_name", l.appName()+"_"+node)
	u.RawQuery = q.Encode()
	return u.String()
}

// pgSample is the server's work so far: the CPU time of each process
// serving the round's nodes plus the server's own background processes
// (WAL writer, checkpointer, …), and the cluster's WAL counters.
type pgSample struct {
	ok    bool // the server's processes are readable in /proc (it runs here)
	cpu   map[int]time.Duration
	walOK bool
	// Cluster-wide WAL counters and the database's commits: they include
	// anyone else's work on the server.
	walBytes, walFPI, syncs, commits int64
}

func (l *ledger) sample(ctx context.Context) pgSample {
	s := pgSample{cpu: map[int]time.Duration{}}
	rows, err := l.admin.conn.Query(ctx,
		`SELECT pid FROM pg_stat_activity
		 WHERE application_name LIKE $1 || '%' OR backend_type NOT IN ('client backend', 'walsender')`, l.appName())
	if err != nil {
		return s
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return s
	}
	s.ok = len(pids) > 0
	for _, pid := range pids {
		d, ok := pidCPU(int(pid))
		if !ok {
			s.ok = false
			continue
		}
		s.cpu[int(pid)] = d
	}
	err = l.admin.conn.QueryRow(ctx,
		`SELECT wal_bytes::bigint, wal_fpi, wal_sync,
		        (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())
		 FROM pg_stat_wal`).
		Scan(&s.walBytes, &s.walFPI, &s.syncs, &s.commits)
	s.walOK = err == nil
	return s
}

// cpuSince is the CPU time the sampled processes used since s0; a process
// that started in between counts from zero.
func (s pgSample) cpuSince(s0 pgSample) time.Duration {
	var d time.Duration
	for pid, t := range s.cpu {
		d += t - s0.cpu[pid]
	}
	return d
}

// pidCPU is a process's user + system CPU time so far.
func pidCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, true
}
