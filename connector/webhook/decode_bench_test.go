package webhook_test

import (
	"testing"

	"github.com/seamhq/seam/connector/webhook"
)

var referenceOrder = []byte(`{"order_no":"ES-1042","customer_name":"Acme s.r.o.","email":"Buyer@Acme.cz ","order_date":"27/11/2026","total_gross":"1210.00","vat_rate":21,"currency":"CZK","items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"}]}`)

// BenchmarkDecodeReferenceOrder is intake's decoding of the reference
// flow's order (bench/README.md), on the hot path of every record.
func BenchmarkDecodeReferenceOrder(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(referenceOrder)))
	for b.Loop() {
		if _, err := webhook.Decode("application/json", referenceOrder, webhook.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
