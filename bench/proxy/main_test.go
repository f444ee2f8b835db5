package main

import (
	"encoding/json"
	"testing"
)

func TestNetAmount(t *testing.T) {
	for _, c := range []struct{ gross, rate, want string }{
		{"1210.00", "21", "1000.00"},
		{"100.00", "0", "100.00"},
		{"112.00", "12", "100.00"},
		{"0.01", "21", "0.01"},     // 0.00826… → 0.01
		{"100.05", "21", "82.69"},  // 82.685950… → 82.69
		{"12.10", "21", "10.00"},   // exact
		{"1.815", "21", "1.50"},    // exactly 1.5
		{"0.605", "21", "0.50"},    // exactly 0.5
		{"100.5", "10.5", "90.95"}, // 90.950226…
		{"-1210.00", "21", "-1000.00"},
		{"0.03025", "21", "0.03"}, // exactly 0.025 → half-up → 0.03
		{"-0.03025", "21", "-0.03"},
	} {
		got, err := netAmount(c.gross, c.rate)
		if err != nil || got != c.want {
			t.Errorf("netAmount(%s, %s) = %q, %v; want %q", c.gross, c.rate, got, err, c.want)
		}
	}
	for _, bad := range [][2]string{{"", "21"}, {"1,00", "21"}, {"1.00", "-100"}, {"1e3", "21"}, {"12", "x"}} {
		if got, err := netAmount(bad[0], bad[1]); err == nil {
			t.Errorf("netAmount(%q, %q) = %q, want an error", bad[0], bad[1], got)
		}
	}
}

func TestMapOrder(t *testing.T) {
	var in order
	raw := `{"order_no":"ES-1042","customer_name":"Acme s.r.o.","email":"Buyer@Acme.cz ",
 "order_date":"27/11/2026","total_gross":"1210.00","vat_rate":21,"currency":"CZK",
 "items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"}]}`
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		t.Fatal(err)
	}
	out, err := mapOrder(&in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	want := `{"order_no":"ES-1042","company_name":"Acme s.r.o.","email":"buyer@acme.cz","order_date":"2026-11-27","total_gross":"1210.00","vat_rate":21,"total_net":"1000.00","currency":"CZK","items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"}],"idempotency_key":"eshop:ES-1042"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	in.OrderDate = "31/02/2026"
	if _, err := mapOrder(&in); err == nil {
		t.Error("31/02/2026 was accepted")
	}
}
