package ui_test

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
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/app"
)

// The tests run a real Seam (app.New, a temp SQLite ledger, a catalog
// written into the test's folder) with a test sink as every destination,
// and talk to its dashboard over real HTTP.

const (
	operatorToken = "ui-test-operator-token-0123456789"
	viewerToken   = "ui-test-viewer-token-0123456789"
	hookSecret    = "ui-test-hook-secret-0123456789"
)

var projectFiles = map[string]string{
	"seam.yaml": `project: acme-test
description: The e-shop, the ERP, invoicing and the mailer of Acme, in a test.
owners:
  ecommerce: {name: E-commerce team, email: eshop@acme.example, chat: "#eshop"}
  finance: {name: Finance, email: finance@acme.example}
api:
  tokens:
    - {name: alice, token: "${UI_OPERATOR_TOKEN}", role: operator}
    - {name: victor, token: "${UI_VIEWER_TOKEN}", role: viewer}
`,
	"systems/shop.yaml": `system: shop
title: E-shop
owner: ecommerce
conventions: {date_format: DD/MM/YYYY, prices: gross, currency: CZK}
`,
	"systems/erp.yaml": `system: erp
title: ERP
owner: finance
base_url: "${SINK_URL}"
conventions: {date_format: MM/DD/YYYY, prices: net, currency: CZK, decimal_separator: ","}
`,
	"systems/mailer.yaml": `system: mailer
title: Mailer
owner: ecommerce
base_url: "${SINK_URL}"
`,
	"systems/invoicing.yaml": `system: invoicing
title: Invoicing
owner: finance
base_url: "${SINK_URL}"
conventions: {date_format: DD.MM.YYYY, prices: gross, currency: CZK}
`,
	"flows/erp-invoices.yaml": `flow: erp-invoices
title: Invoices issued by the ERP go to invoicing
owner: finance
source:
  system: erp
  webhook:
    path: /in/erp/invoices
    signature: {scheme: hmac-sha256, header: X-Signature, secret: "${HOOK_SECRET}"}
model: invoice
key: in.InvoiceNo
links: {order: in.OrderRef}
map:
  number: in.InvoiceNo
  order_id: in.OrderRef
  issued_on: date(in.IssuedOn)
  customer.company_name: in.Customer
  total: money(in.NetAmount, in.VatRate)
routes:
  - to: invoicing
    http: {method: POST, path: /invoicing/invoices}
    map: {number: number, order: order_id, issued: issued_on, amount: total.gross}
    retry: {attempts: 3, initial: 50ms, max: 200ms}
alerts:
  - dead_letters: {above: 0}
`,
}

// ordersFlow is the flow the tests change: Channel adds a field to what
// the ERP is sent (the "fix" a redrive picks up).
var ordersFlow = template.Must(template.New("flow").Parse(`flow: shop-orders
title: New e-shop orders go to the ERP and the mailer
description: Every order placed in the e-shop becomes a sales order in the ERP and a confirmation e-mail.
owner: ecommerce
runbook: |
  The ERP answers 400 when a field it needs is missing: fix the mapping, then
  redrive the dead letters from the dashboard (dry run first).
source:
  system: shop
  webhook:
    path: /in/shop/orders
    signature: {scheme: hmac-sha256, header: X-Signature, secret: "${HOOK_SECRET}"}
model: order
key: in.order_no
map:
  id: in.order_no
  ordered_on: date(in.order_date)
  customer.company_name: in.customer_name
  customer.email: lower(trim(in.email))
  total: money(in.total_gross, in.vat_rate)
routes:
  - to: erp
    http: {method: POST, path: /erp/orders}
    map:
      OrderRef: id
      Customer: customer.company_name
      Date: ordered_on
      NetAmount: total.net
      VatRate: total.vat_rate
{{- if .Channel}}
      Channel: '"web"'
{{- end}}
    remember: {erp_order_id: response.id}
    ordering: by-key
    retry: {attempts: 3, initial: 50ms, max: 200ms}
  - name: confirmation
    to: mailer
    when: customer.email != ""
    http: {method: POST, path: /mail}
    map: {to: customer.email, template: '"order-received"', order: id}
    retry: {attempts: 3, initial: 50ms, max: 200ms}
alerts:
  - dead_letters: {above: 0}
  - error_rate: {above: 5%, over: 15m}
`))

// sink is every destination: it records what it was sent and refuses
// (400) what the test tells it to.
type sink struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []sinkRequest
	refuse   func(path string, body map[string]any) string
}

type sinkRequest struct {
	Path, IdempotencyKey string
	Body                 map[string]any
	Status               int
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		s.mu.Lock()
		defer s.mu.Unlock()
		req := sinkRequest{Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), Body: body, Status: http.StatusCreated}
		w.Header().Set("Content-Type", "application/json")
		if s.refuse != nil {
			if why := s.refuse(r.URL.Path, body); why != "" {
				req.Status = http.StatusBadRequest
				s.requests = append(s.requests, req)
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": why})
				return
			}
		}
		s.requests = append(s.requests, req)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": fmt.Sprintf("S-%d", len(s.requests))})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// Refuse makes the sink answer 400 with the reason f returns ("" accepts).
func (s *sink) Refuse(f func(path string, body map[string]any) string) {
	s.mu.Lock()
	s.refuse = f
	s.mu.Unlock()
}

// accepted counts the requests to path for order ref that were accepted.
func (s *sink) accepted(path, ref string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Path == path && r.Status < 300 && fmt.Sprint(r.Body["OrderRef"]) == ref {
			n++
		}
	}
	return n
}

func (s *sink) lastBody(path, ref string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.requests) - 1; i >= 0; i-- {
		if r := s.requests[i]; r.Path == path && fmt.Sprint(r.Body["OrderRef"]) == ref {
			return r.Body
		}
	}
	return nil
}

// hub is a running Seam with its project and sink.
type hub struct {
	URL  string
	App  *app.App
	Dir  string
	Sink *sink
}

func startHub(t *testing.T) *hub {
	t.Helper()
	h := &hub{Sink: newSink(t), Dir: filepath.Join(t.TempDir(), "project")}
	for name, body := range projectFiles {
		h.write(t, name, body)
	}
	h.writeOrdersFlow(t, false)
	env := map[string]string{"SINK_URL": h.Sink.srv.URL, "HOOK_SECRET": hookSecret,
		"UI_OPERATOR_TOKEN": operatorToken, "UI_VIEWER_TOKEN": viewerToken}
	ctx := context.Background()
	a, err := app.New(ctx, app.Options{
		Dir: h.Dir, Store: "sqlite:" + filepath.Join(t.TempDir(), "seam.db"), Listen: "127.0.0.1:0",
		Env:          func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Logger:       slog.New(slog.DiscardHandler),
		PollInterval: 50 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, a.Stop(sctx))
	})
	h.App, h.URL = a, "http://"+a.Addr()
	return h
}

func (h *hub) write(t *testing.T, name, body string) {
	t.Helper()
	p := filepath.Join(h.Dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
}

// writeOrdersFlow (re)writes shop-orders; channel adds the ERP's Channel field.
func (h *hub) writeOrdersFlow(t *testing.T, channel bool) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, ordersFlow.Execute(&b, map[string]bool{"Channel": channel}))
	h.write(t, "flows/shop-orders.yaml", b.String())
}

// order is a record as the e-shop sends it.
func order(no, date string) map[string]any {
	return map[string]any{"order_no": no, "order_date": date, "customer_name": "Acme s.r.o.",
		"email": " Buyer@Acme.example", "total_gross": "1210.00", "vat_rate": 21}
}

// send posts a signed record to an intake and returns the status.
func (h *hub) send(t *testing.T, path string, rec map[string]any) int {
	t.Helper()
	body, err := json.Marshal(rec)
	require.NoError(t, err)
	m := hmac.New(sha256.New, []byte(hookSecret))
	m.Write(body)
	req, err := http.NewRequest(http.MethodPost, h.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// apiGet reads the JSON API with the operator token.
func (h *hub) apiGet(t *testing.T, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

type apiDelivery struct {
	ID        int64  `json:"id"`
	MessageID int64  `json:"message_id"`
	Key       string `json:"key"`
	Route     string `json:"route"`
	State     string `json:"state"`
}

// deliveries lists deliveries by API query (e.g. "state=dead").
func (h *hub) deliveries(t *testing.T, query string) []apiDelivery {
	t.Helper()
	var out struct {
		Deliveries []apiDelivery `json:"deliveries"`
	}
	h.apiGet(t, "/api/deliveries?"+query, &out)
	return out.Deliveries
}

// waitState waits until key's delivery to route is in state.
func (h *hub) waitState(t *testing.T, key, route, state string) apiDelivery {
	t.Helper()
	var found apiDelivery
	waitFor(t, 10*time.Second, key+" → "+route+" "+state, func() bool {
		for _, d := range h.deliveries(t, "key="+url.QueryEscape(key)+"&route="+route) {
			if d.State == state {
				found = d
				return true
			}
		}
		return false
	})
	return found
}

// client is a browser-like HTTP client: a cookie jar, no redirects
// followed, and the Origin header a browser sends with a POST.
type client struct {
	h   *hub
	c   *http.Client
	csr string
}

func newClient(h *hub) *client {
	jar, _ := cookiejar.New(nil)
	return &client{h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

func (c *client) get(t *testing.T, path string) *page {
	t.Helper()
	resp, err := c.c.Get(c.h.URL + path)
	require.NoError(t, err)
	return readPage(t, resp)
}

// post sends a form; header sets extra headers (Origin by default).
func (c *client) post(t *testing.T, path string, form url.Values, header map[string]string) *page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.h.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.h.URL)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.c.Do(req)
	require.NoError(t, err)
	return readPage(t, resp)
}

func readPage(t *testing.T, resp *http.Response) *page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return &page{Status: resp.StatusCode, Body: string(b), Location: resp.Header.Get("Location"), Header: resp.Header}
}

// login signs in with token and returns the session's CSRF token.
func (c *client) login(t *testing.T, token string) string {
	t.Helper()
	p := c.post(t, "/login", url.Values{"token": {token}, "next": {"/"}}, nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	home := c.get(t, "/")
	require.Equal(t, http.StatusOK, home.Status)
	c.csr = csrfOf(t, home.Body)
	return c.csr
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(body)
	require.NotNil(t, m, "the page carries a CSRF token")
	return m[1]
}
