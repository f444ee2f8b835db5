package mapping

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// The reference flow of shared/bench/README.md: an e-shop order with three
// items, mapped to the canonical order and on to the sink's payload.
var benchBody = []byte(`{"order_no":"ES-1042","customer_name":"Acme s.r.o.","email":"Buyer@Acme.cz ",` +
	`"order_date":"27/11/2026","total_gross":"1210.00","vat_rate":21,"currency":"CZK",` +
	`"items":[{"sku":"A-1","qty":2,"unit_price_gross":"302.50"},{"sku":"B-2","qty":1,"unit_price_gross":"400.00"},{"sku":"C-3","qty":1,"unit_price_gross":"205.00"}]}`)

var (
	benchEshop = Conventions{DateFormat: "DD/MM/YYYY", Timezone: "Europe/Prague", Prices: "gross", Currency: "CZK"}
	benchSink  = Conventions{}
	benchIn    = []Field{
		{"id", "in.order_no"},
		{"ordered_on", "date(in.order_date)"},
		{"customer.company_name", "in.customer_name"},
		{"customer.email", "lower(trim(in.email))"},
		{"total", `money(in.total_gross, in.vat_rate, "gross", in.currency)`},
		{"lines", "in.items"},
	}
	benchOut = []Field{
		{"order_no", "id"},
		{"company_name", "customer.company_name"},
		{"email", "customer.email"},
		{"order_date", "ordered_on"},
		{"total_gross", "total.gross"},
		{"vat_rate", "number(total.vat_rate)"},
		{"total_net", "total.net"},
		{"currency", "total.currency"},
		{"items", "lines"},
		{"idempotency_key", `"eshop:" + id`},
	}
	benchFields = []string{"id", "ordered_on", "customer", "total", "lines"}
)

func benchMappings(tb testing.TB) (*Mapping, *Mapping) {
	tb.Helper()
	in, errs := NewMapping(benchIn, &Scope{Inbound: true, Conventions: benchEshop})
	require.Empty(tb, errs)
	out, errs := NewMapping(benchOut, &Scope{Fields: benchFields})
	require.Empty(tb, errs)
	return in, out
}

func TestReferenceMapping(t *testing.T) {
	t.Parallel()
	in, out := benchMappings(t)
	doc, err := DecodeJSON(benchBody)
	require.NoError(t, err)
	rec, reasons := in.Apply(&Env{In: doc})
	require.Empty(t, reasons)
	payload, reasons := out.Apply(&Env{Record: rec})
	require.Empty(t, reasons)
	body, err := EncodeJSON(payload, benchSink)
	require.NoError(t, err)
	require.JSONEq(t, `{"order_no":"ES-1042","company_name":"Acme s.r.o.","email":"buyer@acme.cz",
		"order_date":"2026-11-27","total_gross":"1210.00","vat_rate":21,"total_net":"1000.00",
		"currency":"CZK","idempotency_key":"eshop:ES-1042",
		"items":[{"sku":"A-1","qty":2,"unit_price_gross":"302.50"},{"sku":"B-2","qty":1,"unit_price_gross":"400.00"},{"sku":"C-3","qty":1,"unit_price_gross":"205.00"}]}`, string(body))
}

func BenchmarkReferenceMapping(b *testing.B) {
	in, out := benchMappings(b)
	b.Run("decode-map-encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			doc, err := DecodeJSON(benchBody)
			if err != nil {
				b.Fatal(err)
			}
			rec, reasons := in.Apply(&Env{In: doc})
			if reasons != nil {
				b.Fatal(reasons)
			}
			payload, reasons := out.Apply(&Env{Record: rec})
			if reasons != nil {
				b.Fatal(reasons)
			}
			if _, err := EncodeJSON(payload, benchSink); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The mapping as the issue defines it: order → canonical → the ERP's
	// payload bytes. Decoding the incoming body is intake's work (measured
	// in connector/webhook's BenchmarkDecodeReferenceOrder).
	b.Run("map-encode", func(b *testing.B) {
		doc, err := DecodeJSON(benchBody)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			rec, reasons := in.Apply(&Env{In: doc})
			if reasons != nil {
				b.Fatal(reasons)
			}
			payload, reasons := out.Apply(&Env{Record: rec})
			if reasons != nil {
				b.Fatal(reasons)
			}
			if _, err := EncodeJSON(payload, benchSink); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("map-only", func(b *testing.B) {
		doc, err := DecodeJSON(benchBody)
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			rec, reasons := in.Apply(&Env{In: doc})
			if reasons != nil {
				b.Fatal(reasons)
			}
			if _, reasons := out.Apply(&Env{Record: rec}); reasons != nil {
				b.Fatal(reasons)
			}
		}
	})
	// A yardstick for noisy shared machines: encoding/json decoding the same
	// body (UseNumber) and encoding it back, with no mapping at all.
	b.Run("yardstick-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(benchBody))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
