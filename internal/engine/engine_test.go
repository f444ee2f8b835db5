package engine_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/engine"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/sqlite"
)

const secret = "test-secret"

// sink records what the destination received.
type sink struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
	status   int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, string(b))
	status := s.status
	s.mu.Unlock()
	if status == 0 {
		status = 200
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"id":"ERP-55012"}`))
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

type testBundle struct {
	dir   string
	eng   *engine.Engine
	st    store.Store
	sink  *sink
	spans *tracetest.SpanRecorder
	env   map[string]string
}

func writeProject(t *testing.T, dir, sinkURL, flowExtra string) {
	t.Helper()
	files := map[string]string{
		"seam.yaml":         "project: t\nowners: {ops: {name: Ops}}\n",
		"systems/shop.yaml": "system: shop\nowner: ops\nconventions: {date_format: DD/MM/YYYY, prices: gross, currency: CZK}\n",
		"systems/erp.yaml":  "system: erp\nowner: ops\nbase_url: " + sinkURL + "\nconventions: {date_format: MM/DD/YYYY, decimal_separator: \",\"}\n",
		"flows/orders.yaml": `flow: orders
owner: ops
source: {system: shop, webhook: {path: /in/orders, signature: {scheme: hmac-sha256, header: X-Signature, secret: "${HOOK_SECRET}"}}}
model: order
key: in.order_no
map:
  id: in.order_no
  ordered_on: date(in.date)
  total: money(in.total, in.vat)
routes:
  - to: erp
    http: {path: /orders}
    map: {Ref: id, Date: ordered_on, Net: total.net}
    remember: {erp_id: response.id}
    retry: {attempts: 3, initial: 10ms, max: 20ms}
` + flowExtra,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	b := &testBundle{dir: t.TempDir(), sink: &sink{}, spans: tracetest.NewSpanRecorder(), env: map[string]string{"HOOK_SECRET": secret}}
	srv := httptest.NewServer(b.sink)
	t.Cleanup(srv.Close)
	writeProject(t, b.dir, srv.URL, "")
	c := b.load(t)
	st, err := sqlite.Open(context.Background(), filepath.Join(b.dir, "seam.db"), sqlite.Options{})
	require.NoError(t, err)
	b.st = st
	b.eng, err = engine.New(c, st, engine.Options{
		Env: b.lookup, PollInterval: 20 * time.Millisecond,
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b.spans)),
	})
	require.NoError(t, err)
	require.NoError(t, b.eng.Start(context.Background()))
	t.Cleanup(func() {
		require.NoError(t, b.eng.Stop(context.Background()))
		require.NoError(t, st.Close())
	})
	return b
}

func (b *testBundle) lookup(k string) (string, bool) { v, ok := b.env[k]; return v, ok }

func (b *testBundle) load(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, diags := catalog.Load(b.dir, &catalog.Options{Env: b.lookup})
	require.Zero(t, diags.Errors(), "%v", diags)
	return c
}

func (b *testBundle) post(t *testing.T, body string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req := httptest.NewRequest("POST", "/in/orders", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	b.eng.ServeHTTP(rec, req)
	return rec
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const order = `{"order_no":"ES-1","date":"03/04/2026","total":"1210.00","vat":21}`

func TestAcceptedRecordIsDeliveredWithTheDestinationsConventions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := b.post(t, order, nil)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	var resp engine.IntakeResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.Equal(t, "accepted", resp.Status)
	require.Equal(t, "ES-1", resp.Key)

	eventually(t, func() bool { return b.sink.count() == 1 }, "the sink never got the record")
	b.sink.mu.Lock()
	require.JSONEq(t, `{"Ref":"ES-1","Date":"04/03/2026","Net":"1000,00"}`, b.sink.bodies[0])
	require.Equal(t, "shop:ES-1", b.sink.requests[0].Header.Get("Idempotency-Key"))
	b.sink.mu.Unlock()

	eventually(t, func() bool {
		refs, err := b.st.XRefList(context.Background(), &store.XRefFilter{Key: "ES-1", System: "erp"})
		return err == nil && len(refs) == 1 && refs[0].Value == "ERP-55012"
	}, "the ERP's id was not remembered")
}

func TestDuplicateCreatesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.post(t, order, nil)
	second := b.post(t, order, nil)
	require.Equal(t, http.StatusAccepted, first.Code)
	require.Equal(t, http.StatusOK, second.Code)
	require.Contains(t, second.Body.String(), `"duplicate"`)
	eventually(t, func() bool { return b.sink.count() == 1 }, "not delivered")
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, 1, b.sink.count(), "a duplicate must not be delivered again")
}

func TestRefusedRecordIsQuarantinedWithItsReasons(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := b.post(t, `{"order_no":"ES-2","date":"31/02/2026","total":"1","vat":2100}`, nil)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	body := rec.Body.String()
	require.Contains(t, body, "31/02/2026")
	require.Contains(t, body, "2100 is not a VAT rate")
	q, err := b.st.QuarantineList(context.Background(), &store.QuarantineFilter{Flow: "orders"})
	require.NoError(t, err)
	require.Len(t, q, 1)
	require.Len(t, q[0].Reasons, 2, "every reason is kept, not only the first")
	require.Zero(t, b.sink.count())
}

func TestBadRequestsGetTheirStatus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"bad signature", func() *http.Request {
			r := httptest.NewRequest("POST", "/in/orders", strings.NewReader(order))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Signature", strings.Repeat("0", 64))
			return r
		}, 401},
		{"wrong method", func() *http.Request { return httptest.NewRequest("GET", "/in/orders", nil) }, 405},
		{"content type", func() *http.Request {
			r := httptest.NewRequest("POST", "/in/orders", strings.NewReader(order))
			r.Header.Set("Content-Type", "text/csv")
			return r
		}, 415},
		{"too large", func() *http.Request {
			r := httptest.NewRequest("POST", "/in/orders", bytes.NewReader(make([]byte, 2<<20)))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 413},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		b.eng.ServeHTTP(rec, tc.req())
		require.Equal(t, tc.status, rec.Code, "%s: %s", tc.name, rec.Body.String())
	}
}

func TestTraceContinuesFromSenderToDestination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	rec := b.post(t, order, http.Header{"Traceparent": {incoming}})
	require.Equal(t, http.StatusAccepted, rec.Code)
	eventually(t, func() bool { return b.sink.count() == 1 }, "not delivered")

	b.sink.mu.Lock()
	got := b.sink.requests[0].Header.Get("Traceparent")
	b.sink.mu.Unlock()
	require.True(t, strings.HasPrefix(got, "00-4bf92f3577b34da6a3ce929d0e0e4736-"), "the destination sees the sender's trace: %q", got)

	eventually(t, func() bool { return len(b.spans.Ended()) >= 2 }, "spans not ended")
	names := map[string]string{}
	for _, s := range b.spans.Ended() {
		names[s.Name()] = s.SpanContext().TraceID().String()
	}
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", names["seam.intake orders"])
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", names["seam.deliver orders/erp"])
}

func TestFailingDestinationEndsInTheDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.sink.mu.Lock()
	b.sink.status = 503
	b.sink.mu.Unlock()
	require.Equal(t, http.StatusAccepted, b.post(t, order, nil).Code)
	eventually(t, func() bool {
		ds, err := b.st.DeliveryList(context.Background(), &store.DeliveryFilter{States: []seam.DeliveryState{seam.DeliveryDead}})
		return err == nil && len(ds) == 1 && ds[0].Attempts == 3 && ds[0].LastStatus == 503
	}, "the delivery did not end dead after its 3 attempts")
	require.Equal(t, 3, b.sink.count(), "exactly the policy's attempts")
}

func TestReloadKeepsTheRunningCatalogWhenTheNewOneIsBroken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// A new catalog whose secret is missing cannot be built: the running
	// one must stay and keep taking records.
	broken := b.load(t)
	delete(b.env, "HOOK_SECRET")
	err := b.eng.Reload(broken)
	b.env["HOOK_SECRET"] = secret
	require.Error(t, err)
	require.Contains(t, err.Error(), "HOOK_SECRET")
	require.Equal(t, http.StatusAccepted, b.post(t, order, nil).Code)
	eventually(t, func() bool { return b.sink.count() == 1 }, "the old catalog stopped delivering")

	// A valid change is swapped in: records now go to the new path.
	writeProject(t, b.dir, "http://"+b.sink.requests[0].Host, "")
	require.NoError(t, os.WriteFile(filepath.Join(b.dir, "flows/orders.yaml"),
		bytes.Replace(mustRead(t, filepath.Join(b.dir, "flows/orders.yaml")), []byte("path: /orders"), []byte("path: /v2/orders"), 1), 0o644))
	require.NoError(t, b.eng.Reload(b.load(t)))
	require.Equal(t, http.StatusAccepted, b.post(t, `{"order_no":"ES-9","date":"03/04/2026","total":"1","vat":0}`, nil).Code)
	eventually(t, func() bool { return b.sink.count() == 2 }, "not delivered after reload")
	b.sink.mu.Lock()
	defer b.sink.mu.Unlock()
	require.Equal(t, "/v2/orders", b.sink.requests[1].URL.Path)
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}
