// Package e2e proves Seam's guarantees (SPEC.md, "Guarantees") with real
// processes, a real SQLite ledger, real HTTP and real failures: no mocks.
//
// Two ways to run Seam are offered: a `seam run` child process (built once
// in TestMain), which can be killed with SIGKILL or stopped with SIGTERM,
// and an in-process App (app.New), which is faster and runs under the race
// detector with the tests. Destinations are an idempotent test sink that
// records every request it sees.
//
// The only thing read from the environment is the optional knob
// SEAM_E2E_OUTAGE (see TestDestinationDownForAWhile).
package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/app"
)

// seamBin is the `seam` binary built by TestMain.
var seamBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "seam-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	seamBin = filepath.Join(dir, "seam")
	build := exec.Command("go", "build", "-o", seamBin, "github.com/seamhq/seam/cmd/seam")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build ./cmd/seam:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// The project: a small catalog written to a temp dir.

const (
	hookSecret = "e2e-hook-secret-0123456789"
	apiToken   = "e2e-operator-token-0123456789abcdef"
	tokenName  = "e2e-operator" // the actor the audit log must name
	intakePath = "/in/shop/orders"
	flowName   = "orders"
	routeName  = "sink"
)

// Catalog is what a test varies in the project's one flow.
type Catalog struct {
	// Ordering turns on ordering: by-key on the route.
	Ordering bool
	// Event makes the event id order_no:seq, so one key can carry many
	// updates (the default event is the key itself).
	Event bool
	// Attempts, Initial, Max: the retry policy (defaults 20, 50ms, 500ms).
	Attempts     int
	Initial, Max string
	// BreakerFailures and CoolDown configure the circuit breaker
	// (defaults 5 and 1s).
	BreakerFailures int
	CoolDown        string
	// RoutePath is the path on the sink (default /orders).
	RoutePath string
	// Timeout of one attempt (default 5s).
	Timeout string
	// SecondRoutePath, when set, adds a second route ("sink2") to the same
	// destination system at this path.
	SecondRoutePath string
}

func (c Catalog) withDefaults() Catalog {
	if c.Attempts == 0 {
		c.Attempts = 20
	}
	if c.Initial == "" {
		c.Initial = "50ms"
	}
	if c.Max == "" {
		c.Max = "500ms"
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.CoolDown == "" {
		c.CoolDown = "1s"
	}
	if c.RoutePath == "" {
		c.RoutePath = "/orders"
	}
	if c.Timeout == "" {
		c.Timeout = "5s"
	}
	return c
}

var projectFiles = map[string]string{
	"seam.yaml": `project: e2e
store: sqlite:./seam.db
owners:
  qa: {name: QA, email: qa@example.test}
api:
  tokens:
    - {name: ` + tokenName + `, token: "${SEAM_E2E_TOKEN}", role: operator}
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
}

var flowTemplate = template.Must(template.New("flow").Parse(`flow: ` + flowName + `
owner: qa
source:
  system: shop
  webhook:
    path: ` + intakePath + `
    signature: {scheme: hmac-sha256, header: X-Signature, secret: "${SHOP_HOOK_SECRET}"}
model: order
key: in.order_no
{{- if .Event}}
event: in.order_no + ":" + string(in.seq)
{{- end}}
map:
  id: in.order_no
  ordered_on: date(in.order_date)
  customer.company_name: in.customer_name
  total: money(in.total_gross, in.vat_rate)
  seq: in.seq
routes:
  - to: sink
    name: ` + routeName + `
    http: {method: POST, path: {{.RoutePath}}}
    map:
      OrderRef: id
      Date: ordered_on
      Net: total.net
      Seq: seq
{{- if .Ordering}}
    ordering: by-key
{{- end}}
    retry: {attempts: {{.Attempts}}, initial: {{.Initial}}, max: {{.Max}}}
    circuit_breaker: {failures: {{.BreakerFailures}}, cool_down: {{.CoolDown}}}
    timeout: {{.Timeout}}
{{- if .SecondRoutePath}}
  - to: sink
    name: sink2
    http: {method: POST, path: {{.SecondRoutePath}}}
    map:
      OrderRef: id
      Seq: seq
    retry: {attempts: {{.Attempts}}, initial: {{.Initial}}, max: {{.Max}}}
    timeout: {{.Timeout}}
{{- end}}
`))

// Project is a Seam project on disk with its ledger file and the
// environment its catalog needs.
type Project struct {
	Dir    string // the catalog
	DB     string // the SQLite ledger
	Sink   *Sink
	Tmp    string
	Secret []byte
}

// newProject writes a project whose destination is sink.
func newProject(t testing.TB, sink *Sink, c Catalog) *Project {
	t.Helper()
	tmp := t.TempDir()
	p := &Project{Dir: filepath.Join(tmp, "project"), DB: filepath.Join(tmp, "ledger", "seam.db"), Sink: sink, Tmp: tmp, Secret: []byte(hookSecret)}
	require.NoError(t, os.MkdirAll(filepath.Dir(p.DB), 0o755))
	for name, body := range projectFiles {
		p.write(t, name, body)
	}
	p.WriteFlow(t, c)
	return p
}

func (p *Project) write(t testing.TB, name, body string) {
	t.Helper()
	path := filepath.Join(p.Dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

// WriteFlow (re)writes the flow file from c.
func (p *Project) WriteFlow(t testing.TB, c Catalog) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, flowTemplate.Execute(&b, c.withDefaults()))
	p.write(t, "flows/"+flowName+".yaml", b.String())
}

// Env is the environment the catalog reads: secrets and the sink's URL.
func (p *Project) Env() map[string]string {
	return map[string]string{
		"SINK_URL":         p.Sink.URL(),
		"SHOP_HOOK_SECRET": string(p.Secret),
		"SEAM_E2E_TOKEN":   apiToken,
	}
}

// ---------------------------------------------------------------------------
// The hub: Seam running in this process or as a child process.

// Hub is a running Seam as the tests see it: a base URL and an API token.
type Hub struct {
	URL    string
	Token  string
	Secret []byte
	client *http.Client
}

func newHub(url string, secret []byte) *Hub {
	return &Hub{URL: url, Token: apiToken, Secret: secret, client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 0, IdleConnTimeout: 30 * time.Second},
	}}
}

// startInProcess runs Seam through app.New in this process; it is stopped
// when the test ends. Its log goes to the test log when the test fails.
func startInProcess(t testing.TB, p *Project) (*Hub, *app.App) {
	t.Helper()
	env := p.Env()
	logs := &lockedBuffer{}
	ctx := context.Background()
	a, err := app.New(ctx, app.Options{
		Dir: p.Dir, Store: "sqlite:" + p.DB, Listen: "127.0.0.1:0",
		Env: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		PollInterval: 50 * time.Millisecond,
	})
	require.NoError(t, err, "app.New")
	require.NoError(t, a.Start(ctx), "app.Start")
	h := newHub("http://"+a.Addr(), p.Secret)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("deliveries not delivered at the end:\n%s", h.unfinished())
		}
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Stop(sctx); err != nil {
			t.Errorf("app.Stop: %v", err)
		}
		h.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("seam log (in process):\n%s", tail(logs.String(), 8000))
		}
	})
	h.waitReady(t, 10*time.Second)
	return h, a
}

// Child is `seam run` as a child process.
type Child struct {
	*Hub
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

// startChild runs `seam run DIR` with SEAM_STORE and SEAM_LISTEN set to the
// project's ledger and a free port, and waits until /readyz answers.
func startChild(t testing.TB, p *Project) *Child {
	t.Helper()
	addr := freeAddr(t)
	logFile, err := os.CreateTemp(p.Tmp, "seam-run-*.log")
	require.NoError(t, err)
	cmd := exec.Command(seamBin, "run", p.Dir)
	// A clean environment: the child sees exactly what the test decides.
	cmd.Env = []string{"SEAM_STORE=sqlite:" + p.DB, "SEAM_LISTEN=" + addr, "HOME=" + p.Tmp}
	for k, v := range p.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start(), "start seam run")
	c := &Child{Hub: newHub("http://"+addr, p.Secret), cmd: cmd, logPath: logFile.Name(), exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		logFile.Close()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.Kill(t)
		c.client.CloseIdleConnections()
		if t.Failed() {
			b, _ := os.ReadFile(c.logPath)
			t.Logf("seam run log (%s):\n%s", c.logPath, tail(string(b), 8000))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-c.exited:
			b, _ := os.ReadFile(c.logPath)
			t.Fatalf("seam run exited before it was ready (%v):\n%s", c.waitErr, tail(string(b), 4000))
		default:
		}
		if c.ready() {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("seam run not ready on %s within 20s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (c *Child) Kill(t testing.TB) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("seam run (pid %d) still running 10s after SIGKILL", c.cmd.Process.Pid)
	}
}

// Terminate sends SIGTERM and waits up to limit for the process to exit;
// it returns how long that took and the exit error (nil for status 0).
func (c *Child) Terminate(t testing.TB, limit time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-c.exited:
		return time.Since(start), c.waitErr
	case <-time.After(limit):
		t.Fatalf("seam run did not exit within %s of SIGTERM", limit)
		return 0, nil
	}
}

func (c *Child) Log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// unfinished describes up to 20 deliveries that are not delivered, for a
// failure message.
func (h *Hub) unfinished() string {
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/api/deliveries?limit=20&state=pending&state=in_flight&state=retrying&state=dead", nil)
	req.Header.Set("Authorization", "Bearer "+h.Token)
	resp, err := h.client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		return string(b)
	}
	var lines []string
	for _, d := range out.Deliveries {
		lines = append(lines, fmt.Sprintf("  #%d key=%s state=%s attempts=%d last=%d %s", d.ID, d.Key, d.State, d.Attempts, d.LastStatus, d.LastError))
	}
	return strings.Join(lines, "\n")
}

func (h *Hub) ready() bool {
	resp, err := h.client.Get(h.URL + "/readyz")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Metric reads one unlabelled sample from /metrics; it fails the test
// when the metric is not exposed.
func (h *Hub) Metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := h.client.Get(h.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /metrics: %s", b)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, "%s", line)
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

func (h *Hub) waitReady(t testing.TB, d time.Duration) {
	t.Helper()
	waitFor(t, d, "seam to be ready", func() (bool, string) { return h.ready(), "" })
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

func (o Order) JSON() []byte {
	b, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	return b
}

func sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Reply is an intake answer.
type Reply struct {
	Status int
	Body   []byte
	Header http.Header
}

// IntakeReply is the JSON body of a 2xx at intake.
type IntakeReply struct {
	Status     string `json:"status"`
	MessageID  int64  `json:"message_id"`
	Key        string `json:"key"`
	Deliveries int    `json:"deliveries"`
}

// Problem is an RFC 9457 problem body as the wire carries it.
type Problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail"`
	Code   string            `json:"code"`
	Hint   string            `json:"hint"`
	Errors []json.RawMessage `json:"errors"`
}

func (r *Reply) OK() bool { return r.Status >= 200 && r.Status <= 299 }

func (r *Reply) Intake(t testing.TB) IntakeReply {
	t.Helper()
	var out IntakeReply
	require.NoError(t, json.Unmarshal(r.Body, &out), "intake reply %d: %s", r.Status, r.Body)
	return out
}

func (r *Reply) Problem(t testing.TB) Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "error body type; body: %s", r.Body)
	var p Problem
	require.NoError(t, json.Unmarshal(r.Body, &p), "problem body: %s", r.Body)
	require.Equal(t, r.Status, p.Status, "problem status mirrors the HTTP status")
	require.NotEmpty(t, p.Detail, "a problem says what is wrong")
	return p
}

// Send posts a signed record to the intake.
func (h *Hub) Send(ctx context.Context, body []byte) (*Reply, error) {
	return h.SendRaw(ctx, http.MethodPost, "application/json", body, sign(h.Secret, body))
}

// SendRaw posts body with the given content type and signature ("" for
// none).
func (h *Hub) SendRaw(ctx context.Context, method, contentType string, body []byte, signature string) (*Reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.URL+intakePath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if signature != "" {
		req.Header.Set("X-Signature", signature)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &Reply{Status: resp.StatusCode, Body: b, Header: resp.Header}, nil
}

// MustSend posts a record and requires a 2xx.
func (h *Hub) MustSend(t testing.TB, o Order) IntakeReply {
	t.Helper()
	r, err := h.Send(context.Background(), o.JSON())
	require.NoError(t, err)
	require.True(t, r.OK(), "intake of %s answered %d: %s", o.OrderNo, r.Status, r.Body)
	return r.Intake(t)
}

// ---------------------------------------------------------------------------
// The JSON API.

// Delivery is a delivery as /api/deliveries shows it.
type Delivery struct {
	ID             int64  `json:"id"`
	MessageID      int64  `json:"message_id"`
	Flow           string `json:"flow"`
	Route          string `json:"route"`
	Key            string `json:"key"`
	State          string `json:"state"`
	IdempotencyKey string `json:"idempotency_key"`
	Attempts       int    `json:"attempts"`
	LastStatus     int    `json:"last_status"`
	LastError      string `json:"last_error"`
}

// Attempt is one entry of a delivery's attempt log.
type Attempt struct {
	Number   int    `json:"number"`
	Status   int    `json:"status"`
	Error    string `json:"error"`
	Response []byte `json:"response"`
}

// DeliveryDetail is GET /api/deliveries/{id}.
type DeliveryDetail struct {
	Delivery
	Payload    json.RawMessage `json:"payload"`
	AttemptLog []Attempt       `json:"attempt_log"`
}

// API calls the JSON API with the operator token and decodes the answer
// into out (when not nil); it returns the status and the raw body.
func (h *Hub) API(t testing.TB, method, path string, in, out any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		require.NoError(t, err)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.URL+path, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+h.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
	return resp.StatusCode, b
}

// Deliveries lists deliveries in the given states ("" for all).
func (h *Hub) Deliveries(t testing.TB, query string) []Delivery {
	t.Helper()
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
	}
	status, body := h.API(t, http.MethodGet, "/api/deliveries?limit=100000&"+query, nil, &out)
	require.Equal(t, http.StatusOK, status, "GET /api/deliveries?%s: %s", query, body)
	return out.Deliveries
}

// countStates counts deliveries by state.
func countStates(ds []Delivery) map[string]int {
	m := map[string]int{}
	for _, d := range ds {
		m[d.State]++
	}
	return m
}

// ---------------------------------------------------------------------------
// The sink: an idempotent destination that can be switched down, slow or
// refusing, and records everything it sees.

// SinkMode is how the sink answers.
type SinkMode int

const (
	SinkUp        SinkMode = iota // applies effects, answers 201
	SinkDown                      // answers 503 to everything
	SinkHangUp                    // closes every connection without an answer
	SinkReject400                 // refuses every record with 400 and a reason
)

// SinkRequest is one request the sink saw.
type SinkRequest struct {
	At       time.Time
	Path     string
	IdemKey  string
	OrderRef string
	Seq      int
	Status   int  // what the sink answered (0: hung up)
	Replay   bool // the key had already taken effect; nothing was applied
}

type effect struct {
	OrderRef string
	Seq      int
	Path     string
	ID       string
}

// Sink is the test destination. It honours Idempotency-Key as a careful
// real destination does: each key takes effect once, and a repeat gets the
// first answer again.
type Sink struct {
	srv *httptest.Server

	mu         sync.Mutex
	mode       SinkMode
	delay      time.Duration
	hold       chan struct{} // while not nil, requests wait until it is closed
	arrived    int           // requests that reached the handler, held or not
	reject     func(ref string, seq int) bool
	failBefore float64 // share of requests answered 503 before taking effect
	failAfter  float64 // share answered 503 after taking effect (answer lost)
	rnd        *rand.Rand
	requests   []SinkRequest
	effects    map[string]*effect  // by idempotency key
	byOrder    map[string][]string // OrderRef → idempotency keys that took effect
	seqs       map[string][]int    // OrderRef → Seq of each effect, in the order they took effect
	noKey      int                 // requests without an Idempotency-Key
}

func newSink(t testing.TB) *Sink {
	s := &Sink{
		effects: map[string]*effect{}, byOrder: map[string][]string{}, seqs: map[string][]int{},
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42)),
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ErrorLog = nil
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	t.Cleanup(s.Release) // runs first: Close waits for held requests
	return s
}

func (s *Sink) URL() string { return s.srv.URL }

func (s *Sink) SetMode(m SinkMode) {
	s.mu.Lock()
	s.mode = m
	s.mu.Unlock()
}

func (s *Sink) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Reject makes the sink refuse (400) the records for which f is true; nil
// refuses none.
func (s *Sink) Reject(f func(ref string, seq int) bool) {
	s.mu.Lock()
	s.reject = f
	s.mu.Unlock()
}

// Arrived is how many requests have reached the sink, held ones included.
func (s *Sink) Arrived() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arrived
}

// Hold makes every request wait (a destination that has stopped
// answering) until Release.
func (s *Sink) Hold() {
	s.mu.Lock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
	s.mu.Unlock()
}

// Release lets every held request and all later ones through.
func (s *Sink) Release() {
	s.mu.Lock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
	s.mu.Unlock()
}

// SetFailures makes the sink fail a share of requests at random with 503:
// before taking effect, and after taking effect (the answer is lost, so a
// retry must not take effect twice). seed is logged by the caller.
func (s *Sink) SetFailures(before, after float64, seed uint64) {
	s.mu.Lock()
	s.failBefore, s.failAfter = before, after
	s.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
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
	delay, hold := s.delay, s.hold
	s.arrived++
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-time.After(time.Minute):
		}
	}
	if delay > 0 {
		time.Sleep(delay)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	req := SinkRequest{At: time.Now(), Path: r.URL.Path, IdemKey: r.Header.Get("Idempotency-Key"), OrderRef: rec.OrderRef, Seq: rec.Seq}
	answer := func(status int, v any) {
		req.Status = status
		s.requests = append(s.requests, req)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch s.mode {
	case SinkDown:
		answer(http.StatusServiceUnavailable, map[string]string{"error": "maintenance"})
		return
	case SinkHangUp:
		s.requests = append(s.requests, req)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case SinkReject400:
		answer(http.StatusBadRequest, map[string]string{"error": "customer Acme s.r.o. is unknown in the sink"})
		return
	}
	if s.reject != nil && s.reject(rec.OrderRef, rec.Seq) {
		answer(http.StatusBadRequest, map[string]string{"error": "this record is refused"})
		return
	}
	if req.IdemKey == "" {
		s.noKey++
		answer(http.StatusBadRequest, map[string]string{"error": "Idempotency-Key is required"})
		return
	}
	if e, ok := s.effects[req.IdemKey]; ok {
		req.Replay = true
		answer(http.StatusOK, map[string]string{"id": e.ID, "replayed": "true"})
		return
	}
	if s.failBefore > 0 && s.rnd.Float64() < s.failBefore {
		answer(http.StatusServiceUnavailable, map[string]string{"error": "random failure"})
		return
	}
	e := &effect{OrderRef: rec.OrderRef, Seq: rec.Seq, Path: req.Path, ID: fmt.Sprintf("S-%d", len(s.effects)+1)}
	s.effects[req.IdemKey] = e
	s.byOrder[rec.OrderRef] = append(s.byOrder[rec.OrderRef], req.IdemKey)
	s.seqs[rec.OrderRef] = append(s.seqs[rec.OrderRef], rec.Seq)
	if s.failAfter > 0 && s.rnd.Float64() < s.failAfter {
		answer(http.StatusServiceUnavailable, map[string]string{"error": "random failure after the effect"})
		return
	}
	answer(http.StatusCreated, map[string]string{"id": e.ID})
}

// SinkStats is a consistent snapshot of the sink.
type SinkStats struct {
	Requests []SinkRequest
	Effects  map[string]effect   // by idempotency key
	ByOrder  map[string][]string // OrderRef → keys that took effect
	Seqs     map[string][]int
	NoKey    int
}

func (s *Sink) Stats() SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SinkStats{
		Requests: append([]SinkRequest(nil), s.requests...),
		Effects:  make(map[string]effect, len(s.effects)),
		ByOrder:  make(map[string][]string, len(s.byOrder)),
		Seqs:     make(map[string][]int, len(s.seqs)),
		NoKey:    s.noKey,
	}
	for k, e := range s.effects {
		st.Effects[k] = *e
	}
	for k, v := range s.byOrder {
		st.ByOrder[k] = append([]string(nil), v...)
	}
	for k, v := range s.seqs {
		st.Seqs[k] = append([]int(nil), v...)
	}
	return st
}

// Applied reports whether an effect exists for order ref.
func (s *Sink) Applied(ref string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byOrder[ref]) > 0
}

// missing returns the refs among want that have no effect yet.
func (s *Sink) missing(want []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ref := range want {
		if len(s.byOrder[ref]) == 0 {
			out = append(out, ref)
		}
	}
	return out
}

// RequestCount is how many requests the sink has seen.
func (s *Sink) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// waitDelivered waits until every ref in want has taken effect at the sink.
func (s *Sink) waitDelivered(t testing.TB, d time.Duration, want []string) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("%d records to take effect at the sink", len(want)), func() (bool, string) {
		m := s.missing(want)
		if len(m) == 0 {
			return true, ""
		}
		return false, fmt.Sprintf("%d still missing, e.g. %v", len(m), m[:min(5, len(m))])
	})
}

// requireEachEffectOnce checks that each order in refs took effect exactly
// once: one idempotency key, applied once. Duplicated requests are fine;
// duplicated effects are not.
func requireEachEffectOnce(t testing.TB, st SinkStats, refs []string) {
	t.Helper()
	require.Zero(t, st.NoKey, "requests without an Idempotency-Key")
	var dup []string
	for _, ref := range refs {
		if n := len(st.ByOrder[ref]); n != 1 {
			dup = append(dup, fmt.Sprintf("%s: %d effects under keys %v", ref, n, st.ByOrder[ref]))
		}
	}
	require.Empty(t, dup, "every order must take effect exactly once")
	for _, ref := range refs {
		for _, k := range st.ByOrder[ref] {
			require.True(t, k == "shop:"+ref || strings.HasPrefix(k, "shop:"+ref+":"),
				"the idempotency key %q of %s is the event id", k, ref)
		}
	}
}

// ---------------------------------------------------------------------------
// Utilities.

// waitFor polls cond every 25ms until it holds or d passes; what it says
// when it does not hold is reported on timeout.
func waitFor(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
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
		time.Sleep(25 * time.Millisecond)
	}
}

// freeAddr finds a free 127.0.0.1 port.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func orderRefs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i+1)
	}
	return out
}

// sendAll posts every order with the given concurrency and requires a 2xx
// for each (checked on the test's goroutine).
func (h *Hub) sendAll(t testing.TB, orders []Order, concurrency int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make([]string, len(orders))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r, err := h.Send(ctx, orders[i].JSON())
				switch {
				case err != nil:
					errs[i] = err.Error()
				case !r.OK():
					errs[i] = fmt.Sprintf("%d %s", r.Status, r.Body)
				}
			}
		}()
	}
	for i := range orders {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i, e := range errs {
		require.Empty(t, e, "intake of %s", orders[i].OrderNo)
	}
}

func ordersOf(refs []string) []Order {
	out := make([]Order, len(refs))
	for i, ref := range refs {
		out[i] = order(ref, 1)
	}
	return out
}

// waitLedgerDelivered waits until the ledger shows exactly n deliveries of
// the flow, all delivered: the sink may have the effect a moment before
// Seam has recorded the answer.
func (h *Hub) waitLedgerDelivered(t testing.TB, n int, d time.Duration) {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("the ledger to show %d deliveries, all delivered", n), func() (bool, string) {
		ds := h.Deliveries(t, "flow="+flowName)
		c := countStates(ds)
		return len(ds) == n && c["delivered"] == n, fmt.Sprintf("%d deliveries by state: %v", len(ds), c)
	})
}

func removeFile(t testing.TB, p *Project, name string) {
	t.Helper()
	require.NoError(t, os.Remove(filepath.Join(p.Dir, name)))
}
