package ops_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/engine"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/store/sqlite"
)

// system is a destination that answers per path, and fails the first
// request of a path when told to.
type system struct {
	mu       sync.Mutex
	failOnce map[string]bool
	seen     map[string]int
}

func (s *system) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seen[r.URL.Path]++
	fail := s.failOnce[r.URL.Path] && s.seen[r.URL.Path] == 1
	s.mu.Unlock()
	if fail {
		http.Error(w, `{"error":"maintenance"}`, http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"id":"ERP-%d"}`, 55000+s.seen[r.URL.Path])
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

// Ensure the trace of an order that went e-shop → ERP → invoicing →
// mailing, with the ERP leg retried once, shows every hop in order, and
// that the ERP's own id leads back to the same story.
func TestTraceFollowsTheChainWithARetriedLeg(t *testing.T) {
	t.Parallel()
	dest := &system{failOnce: map[string]bool{"/erp/orders": true}, seen: map[string]int{}}
	srv := httptest.NewServer(dest)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"seam.yaml":              "project: chain\nowners: {o: {name: O}}\n",
		"systems/eshop.yaml":     "system: eshop\nowner: o\nconventions: {date_format: DD/MM/YYYY, prices: gross, currency: CZK}\n",
		"systems/erp.yaml":       "system: erp\nowner: o\nbase_url: " + srv.URL + "/erp\nconventions: {prices: net, currency: CZK}\n",
		"systems/invoicing.yaml": "system: invoicing\nowner: o\nbase_url: " + srv.URL + "/invoicing\n",
		"systems/mailing.yaml":   "system: mailing\nowner: o\nbase_url: " + srv.URL + "/mailing\n",
		"flows/orders.yaml": `flow: orders
owner: o
source: {system: eshop, webhook: {path: /in/orders, signature: {scheme: hmac-sha256, header: X-Signature, secret: "${S}"}}}
model: order
key: in.order_no
map:
  id: in.order_no
  ordered_on: date(in.date)
  total: money(in.total, in.vat)
routes:
  - to: erp
    http: {path: /orders}
    map: {Ref: id, Net: total.net}
    remember: {erp_order_id: response.id}
    retry: {attempts: 5, initial: 20ms, max: 40ms}
`,
		"flows/invoices.yaml": `flow: invoices
owner: o
source: {system: erp, webhook: {path: /in/invoices, signature: {scheme: hmac-sha256, header: X-Signature, secret: "${S}"}}}
model: invoice
key: in.no
links: {order: in.order}
map:
  number: in.no
  order_id: in.order
  issued_on: date(in.issued)
  total: money(in.net, in.vat)
routes:
  - to: invoicing
    http: {path: /invoices}
    map: {number: number, order: order_id}
  - to: mailing
    http: {path: /send}
    map: {invoice: number}
`,
	})
	env := func(k string) (string, bool) {
		if k == "S" {
			return "secret", true
		}
		return "", false
	}
	c, diags := catalog.Load(dir, &catalog.Options{Env: env})
	require.Zero(t, diags.Errors(), "%v", diags)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "seam.db"), sqlite.Options{})
	require.NoError(t, err)
	eng, err := engine.New(c, st, engine.Options{Env: env, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, eng.Start(context.Background()))
	t.Cleanup(func() {
		require.NoError(t, eng.Stop(context.Background()))
		require.NoError(t, st.Close())
	})
	post := func(path, body string) {
		t.Helper()
		mac := hmac.New(sha256.New, []byte("secret"))
		mac.Write([]byte(body))
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
		rec := httptest.NewRecorder()
		eng.ServeHTTP(rec, req)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	}
	svc := &ops.Service{Store: st, Catalog: eng.Catalog, Now: time.Now}
	waitFor := func(cond func(*ops.Trace) bool, key string) *ops.Trace {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			tr, err := svc.Trace(context.Background(), key)
			require.NoError(t, err)
			if cond(tr) {
				return tr
			}
			if time.Now().After(deadline) {
				t.Fatalf("trace of %s never got there: %+v", key, tr.Events)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	delivered := func(n int) func(*ops.Trace) bool {
		return func(tr *ops.Trace) bool {
			c := 0
			for _, e := range tr.Events {
				if e.Kind == "attempt" && e.Outcome == "delivered" {
					c++
				}
			}
			return c == n
		}
	}

	post("/in/orders", `{"order_no":"ES-1042","date":"03/04/2026","total":"1210.00","vat":21}`)
	waitFor(delivered(1), "ES-1042")
	post("/in/invoices", `{"no":"2026-0042","order":"ES-1042","issued":"2026-04-04","net":"1000.00","vat":21}`)
	tr := waitFor(delivered(3), "ES-1042")

	var hops []string
	for _, e := range tr.Events {
		switch e.Kind {
		case "received":
			hops = append(hops, "received "+e.Flow+" from "+e.System)
		case "attempt":
			hops = append(hops, fmt.Sprintf("attempt %d to %s: %s", e.Attempt, e.System, e.Outcome))
		}
	}
	require.Equal(t, []string{
		"received orders from eshop",
		"attempt 1 to erp: retrying",
		"attempt 2 to erp: delivered",
		"received invoices from erp",
		"attempt 1 to invoicing: delivered",
		"attempt 1 to mailing: delivered",
	}, orderInvoiceHops(hops))
	require.Equal(t, 2, tr.Messages)
	require.Equal(t, 503, tr.Events[1].Status, "the failed leg shows the ERP's answer")

	// The ERP's id for the order tells the same story.
	byERP, err := svc.Trace(context.Background(), "ERP-55002")
	require.NoError(t, err)
	require.Equal(t, 2, byERP.Messages)
}

// orderInvoiceHops keeps the two routes of the invoice in a stable order:
// they go out at the same moment, so their attempts may be recorded in
// either order.
func orderInvoiceHops(h []string) []string {
	if len(h) == 6 && strings.Contains(h[4], "mailing") {
		h[4], h[5] = h[5], h[4]
	}
	return h
}
