// Package multinode proves that several `seam run` nodes share one
// PostgreSQL ledger safely: real processes, a real PostgreSQL, real HTTP,
// real kill -9. Each test gets a fresh schema of the database named by
// SEAM_TEST_POSTGRES (the package skips without it), so tests run in
// parallel. The destination is an idempotent test sink that records every
// effect and the order of each key's effects.
//
// Counts are scaled to keep the package under two minutes with -race on
// two cores; each test says what it uses.
package multinode

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// seamBin is the `seam` binary built by TestMain.
var seamBin string

func TestMain(m *testing.M) {
	if os.Getenv("SEAM_TEST_POSTGRES") == "" {
		// Every test skips with the reason; no need to build.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "seam-multinode-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "multinode: temp dir:", err)
		os.Exit(1)
	}
	seamBin = filepath.Join(dir, "seam")
	build := exec.Command("go", "build", "-o", seamBin, "github.com/seamhq/seam/cmd/seam")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "multinode: go build ./cmd/seam:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// The database: one fresh, empty schema per test.

// DB is a test's ledger: a schema of the test database.
type DB struct {
	Base   string // the server's DSN
	Schema string
}

// DSN is what a node is given as SEAM_STORE: the base DSN with the schema
// as its search_path.
func (d *DB) DSN() string {
	sep := "?"
	if strings.Contains(d.Base, "?") {
		sep = "&"
	}
	return d.Base + sep + "search_path=" + d.Schema
}

// newDB creates an empty schema and drops it when the test ends.
func newDB(t *testing.T) *DB {
	t.Helper()
	base := os.Getenv("SEAM_TEST_POSTGRES")
	if base == "" {
		t.Skip("SEAM_TEST_POSTGRES is not set; set it to a PostgreSQL DSN to run the multi-node tests " +
			"(e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	d := &DB{Base: base, Schema: "seammn_" + hex.EncodeToString(b)}
	d.exec(t, "CREATE SCHEMA "+pgx.Identifier{d.Schema}.Sanitize())
	t.Cleanup(func() { d.exec(t, "DROP SCHEMA IF EXISTS "+pgx.Identifier{d.Schema}.Sanitize()+" CASCADE") })
	return d
}

func (d *DB) exec(t *testing.T, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.Base)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	require.NoError(t, err, sql)
}

// count runs a count query in the schema.
func (d *DB) count(t *testing.T, query string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, query).Scan(&n), query)
	return n
}

// dump returns the rows of a query, one line each, for failure messages.
func (d *DB) dump(t *testing.T, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.DSN())
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, query)
	require.NoError(t, err, query)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		fmt.Fprintln(&b, vals...)
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// The project: one flow from a signed webhook to the sink, ordered by key,
// with one event per (order, seq), as the scaffold of `seam init` does it.

const (
	hookSecret = "multinode-hook-secret-0123456789"
	apiToken   = "multinode-operator-token-0123456789"
	intakePath = "/in/shop/orders"
)

var projectFiles = map[string]string{
	"seam.yaml": `project: multinode
store: sqlite:./unused.db
owners:
  qa: {name: QA, email: qa@example.test}
api:
  tokens:
    - {name: multinode, token: "${SEAM_MN_TOKEN}", role: operator}
`,
	"systems/shop.yaml": `system: shop
owner: qa
conventions: {date_format: DD/MM/YYYY, prices: gross, currency: CZK}
`,
	"systems/sink.yaml": `system: sink
owner: qa
base_url: "${SINK_URL}"
conventions: {prices: net, currency: CZK}
`,
	"models/order.yaml": `model: order
extends: order
fields:
  seq: {type: integer}
`,
	"flows/orders.yaml": `flow: orders
owner: qa
source:
  system: shop
  webhook:
    path: ` + intakePath + `
    signature: {scheme: hmac-sha256, header: X-Signature, secret: "${SHOP_HOOK_SECRET}"}
model: order
key: in.order_no
event: in.order_no + ":" + string(in.seq)
map:
  id: in.order_no
  ordered_on: date(in.order_date)
  customer.company_name: in.customer_name
  total: money(in.total_gross, in.vat_rate)
  seq: in.seq
routes:
  - to: sink
    name: sink
    http: {method: POST, path: /orders}
    map:
      OrderRef: id
      Net: total.net
      Seq: seq
    ordering: by-key
    retry: {attempts: 30, initial: 50ms, max: 500ms}
    circuit_breaker: {failures: 50, cool_down: 200ms}
    timeout: 5s
`,
}

// writeProject writes the project into a temp dir and returns it.
func writeProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "project")
	for name, body := range projectFiles {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	}
	return dir
}

// ---------------------------------------------------------------------------
// Nodes: `seam run` child processes.

// Cluster is the nodes of one test, on one ledger, sending to one sink.
type Cluster struct {
	DB      *DB
	Dir     string
	Sink    *Sink
	Env     map[string]string // extra environment (leases, intervals)
	tmp     string
	nodes   []*Node
	nodesMu sync.Mutex
}

func newCluster(t *testing.T, env map[string]string) *Cluster {
	t.Helper()
	c := &Cluster{DB: newDB(t), Dir: writeProject(t), Sink: newSink(t), Env: env, tmp: t.TempDir()}
	return c
}

// Node is one `seam run`.
type Node struct {
	Name    string
	URL     string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	client  *http.Client
}

// start launches a node; it does not wait for it to be ready.
func (c *Cluster) start(t *testing.T, name string) *Node {
	t.Helper()
	addr := freeAddr(t)
	logFile, err := os.Create(filepath.Join(c.tmp, name+".log"))
	require.NoError(t, err)
	cmd := exec.Command(seamBin, "run", c.Dir, "--node", name)
	cmd.Env = []string{
		"SEAM_STORE=" + c.DB.DSN(), "SEAM_LISTEN=" + addr, "HOME=" + c.tmp,
		"SINK_URL=" + c.Sink.URL(), "SHOP_HOOK_SECRET=" + hookSecret, "SEAM_MN_TOKEN=" + apiToken,
	}
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start(), "start seam run")
	n := &Node{Name: name, URL: "http://" + addr, cmd: cmd, logPath: logFile.Name(), exited: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(n.exited)
	}()
	c.nodesMu.Lock()
	c.nodes = append(c.nodes, n)
	c.nodesMu.Unlock()
	t.Cleanup(func() {
		n.Kill(t)
		n.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("log of node %s:\n%s", n.Name, tail(n.Log(), 6000))
		}
	})
	return n
}

// startReady launches a node and waits until it answers /readyz.
func (c *Cluster) startReady(t *testing.T, name string) *Node {
	t.Helper()
	n := c.start(t, name)
	n.waitReady(t, 30*time.Second)
	return n
}

func (n *Node) waitReady(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		select {
		case <-n.exited:
			t.Fatalf("node %s exited before it was ready:\n%s", n.Name, tail(n.Log(), 4000))
		default:
		}
		if resp, err := n.client.Get(n.URL + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not ready within %s:\n%s", n.Name, d, tail(n.Log(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (n *Node) Kill(t *testing.T) {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("node %s (pid %d) still running 10s after SIGKILL", n.Name, n.cmd.Process.Pid)
	}
}

// Log is what the node wrote so far.
func (n *Node) Log() string {
	b, _ := os.ReadFile(n.logPath)
	return string(b)
}

// LogLines returns the node's log lines whose message is msg.
func (n *Node) LogLines(msg string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(n.Log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `msg="`+msg+`"`) || strings.Contains(sc.Text(), "msg="+msg+" ") {
			out = append(out, sc.Text())
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Sending records.

// Order is one record as the shop sends it.
type Order struct {
	OrderNo      string `json:"order_no"`
	OrderDate    string `json:"order_date"`
	CustomerName string `json:"customer_name"`
	TotalGross   string `json:"total_gross"`
	VATRate      int    `json:"vat_rate"`
	Seq          int    `json:"seq"`
}

func order(no string, seq int) Order {
	return Order{OrderNo: no, OrderDate: "03/04/2026", CustomerName: "Acme s.r.o.", TotalGross: "1210.00", VATRate: 21, Seq: seq}
}

// Reply is an intake answer.
type Reply struct {
	Status int
	Body   []byte
}

// OK reports a 2xx.
func (r *Reply) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// Intake decodes a 2xx body.
func (r *Reply) Intake() (status string, messageID int64) {
	var v struct {
		Status    string `json:"status"`
		MessageID int64  `json:"message_id"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.Status, v.MessageID
}

// Send posts a signed record to the node's intake: the HMAC-SHA256 of the
// body with the flow's secret, hex, in X-Signature.
func (n *Node) Send(ctx context.Context, o Order) (*Reply, error) {
	body, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL+intakePath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &Reply{Status: resp.StatusCode, Body: b}, nil
}

// ---------------------------------------------------------------------------
// The sink: a destination that honours Idempotency-Key as a careful real
// one does (each key takes effect once; a repeat gets the first answer
// again) and records the order in which each order's updates took effect.

// Sink is the test destination.
type Sink struct {
	srv *httptest.Server

	mu       sync.Mutex
	delay    time.Duration
	requests int
	replays  int
	noKey    int
	effects  map[string]int   // idempotency key → times it took effect
	seqs     map[string][]int // OrderRef → Seq of each effect, in effect order
}

func newSink(t *testing.T) *Sink {
	s := &Sink{effects: map[string]int{}, seqs: map[string][]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the sink's base URL.
func (s *Sink) URL() string { return s.srv.URL }

// SetDelay makes every answer wait d, so attempts are in flight when a
// node dies.
func (s *Sink) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var rec struct {
		OrderRef string `json:"OrderRef"`
		Seq      int    `json:"Seq"`
	}
	_ = json.Unmarshal(body, &rec)
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	w.Header().Set("Content-Type", "application/json")
	switch {
	case key == "":
		s.noKey++
		w.WriteHeader(http.StatusBadRequest)
		return
	case s.effects[key] > 0:
		s.replays++
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"replayed":true}`))
		return
	}
	s.effects[key]++
	s.seqs[rec.OrderRef] = append(s.seqs[rec.OrderRef], rec.Seq)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"id":"S-1"}`))
}

// SinkStats is a consistent snapshot of the sink.
type SinkStats struct {
	Requests, Replays, NoKey int
	Effects                  map[string]int
	Seqs                     map[string][]int
}

// Stats snapshots the sink.
func (s *Sink) Stats() SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SinkStats{Requests: s.requests, Replays: s.replays, NoKey: s.noKey,
		Effects: make(map[string]int, len(s.effects)), Seqs: make(map[string][]int, len(s.seqs))}
	for k, v := range s.effects {
		st.Effects[k] = v
	}
	for k, v := range s.seqs {
		st.Seqs[k] = append([]int(nil), v...)
	}
	return st
}

// ---------------------------------------------------------------------------
// Utilities.

// waitFor polls cond every 50ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", d, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
