package postgres_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/postgres"
)

// The benchmarks mirror the SQLite driver's: 64 concurrent callers (as
// many as the reference load has senders), a real server with
// synchronous_commit on, and records shaped like the reference flow's.
// records/s is the figure to compare with the SQLite driver's.

func BenchmarkIngest(b *testing.B) {
	st := openWith(b, postgres.Options{}) // the default pool, as seam run has it
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("ES-%d", n.Add(1))
			if _, err := st.MessageIngest(b.Context(), recordParams(key, time.Now(), "n1")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkIngestComplete is the real cost of one record in the ledger:
// its intake, then its delivery's success with the effect and one
// cross-reference, as the engine records it.
func BenchmarkIngestComplete(b *testing.B) {
	st := openWith(b, postgres.Options{}) // the default pool, as seam run has it
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("ES-%d", n.Add(1))
			res, err := st.MessageIngest(b.Context(), recordParams(key, time.Now(), "n1"))
			if err != nil {
				b.Error(err)
				return
			}
			if len(res.Claimed) != 1 {
				b.Errorf("ingest %s: %d claimed", key, len(res.Claimed))
				return
			}
			d := res.Claimed[0]
			now := time.Now()
			_, err = st.DeliveryComplete(b.Context(), &store.CompleteParams{
				DeliveryID: d.ID, Node: "n1", State: seam.DeliveryDelivered, Lease: time.Minute, Now: now,
				Attempt: &seam.Attempt{StartedAt: now, Duration: time.Millisecond, Status: 201, Response: []byte(`{"id":"55012"}`)},
				XRefs:   []*seam.XRef{{Entity: "order", Key: key, System: "erp", Name: "erp_order_id", Value: "E" + key}},
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// recordParams is one record like the reference flow's (the SQLite
// benchmarks' recordParams): an e-shop order of about 500 bytes, its
// canonical form, and one ordered delivery to the ERP of about 400 bytes.
func recordParams(key string, now time.Time, node string) *store.IngestParams {
	body := fmt.Appendf(nil, `{"order_no":%q,"customer_name":"Acme s.r.o.","email":"Buyer@Acme.cz ",`+
		`"order_date":"27/11/2026","total_gross":"1210.00","vat_rate":21,"currency":"CZK",`+
		`"items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"},{"sku":"B-7","qty":1,"unit_price_gross":"0.00"}],`+
		`"shipping":{"street":"Na Příkopě 12","city":"Praha","zip":"110 00","country":"CZ"},`+
		`"note":"Please deliver between 8 and 16, ring twice at the gate; thank you very much"}`, key)
	canonical := fmt.Appendf(nil, `{"id":%q,"ordered_on":"2026-11-27","customer":{"company_name":"Acme s.r.o.",`+
		`"email":"buyer@acme.cz"},"total":{"gross":"1210.00","net":"1000.00","vat_rate":21,"currency":"CZK"}}`, key)
	payload := fmt.Appendf(nil, `{"order_no":%q,"company_name":"Acme s.r.o.","email":"buyer@acme.cz",`+
		`"order_date":"2026-11-27","total_gross":"1210.00","vat_rate":21,"total_net":"1000.00","currency":"CZK",`+
		`"items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"},{"sku":"B-7","qty":1,"unit_price_gross":"0.00"}],`+
		`"idempotency_key":"eshop:%s"}`, key, key)
	return &store.IngestParams{
		Message: &seam.Message{Flow: "eshop-orders", System: "eshop", Key: key, ContentType: "application/json",
			Body: body, Canonical: canonical, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"},
		DedupeKey:    "eshop:" + key,
		DedupeWindow: 24 * time.Hour,
		Deliveries: []*seam.Delivery{{Route: "erp", State: seam.DeliveryPending, Ordered: true,
			IdempotencyKey: "eshop:" + key, Payload: payload}},
		Node:  node,
		Lease: time.Minute,
		Now:   now,
	}
}
