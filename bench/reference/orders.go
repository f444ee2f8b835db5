// Package reference is the reference-flow benchmark of bench/README.md: the
// Seam project under project/, the runner under cmd/refbench (started by
// run.sh) and what both need to know about the load: the orders that
// /work/shared/bench/orders.lua generates, and how the sink checks them.
package reference

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// LoadOrder is one order as orders.lua generates it for thread tid and
// request seq (both from 1). It mirrors the script's string.format; the
// test in this package keeps them in step.
type LoadOrder struct {
	OrderNo    string
	GrossCents int64 // total_gross in hundredths
	VatRate    int64 // percent
	Date       string
	Email      string
}

var loadVats = [3]int64{21, 12, 0}

// Order returns the order orders.lua posts as request seq of thread tid.
func Order(prefix string, tid, seq int) LoadOrder {
	return LoadOrder{
		OrderNo:    fmt.Sprintf("%s-%d-%d", prefix, tid, seq),
		GrossCents: int64(100+seq%9000)*100 + int64(seq%100),
		VatRate:    loadVats[seq%3],
		Date:       fmt.Sprintf("%02d/%02d/2026", seq%28+1, seq%12+1),
		Email:      fmt.Sprintf("Buyer%d@Acme.cz ", seq%1000),
	}
}

// JSON is the request body orders.lua sends for o.
func (o LoadOrder) JSON() string {
	return fmt.Sprintf(`{"order_no":"%s","customer_name":"Acme s.r.o.","email":"%s","order_date":"%s","total_gross":"%d.%02d","vat_rate":%d,"currency":"CZK","items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"}]}`,
		o.OrderNo, o.Email, o.Date, o.GrossCents/100, o.GrossCents%100, o.VatRate)
}

// NetCents is the reference mapping's total_net in hundredths: gross ÷ (1 +
// rate/100) rounded half-up, computed exactly.
func NetCents(grossCents, rate int64) int64 {
	num := new(big.Int).Mul(big.NewInt(grossCents), big.NewInt(100))
	den := big.NewInt(100 + rate)
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Lsh(m, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

// SinkNet is total_net as the sink's validator computes it, in float64:
// math.Round(gross/(1+rate/100)*100)/100.
func SinkNet(grossCents, rate int64) float64 {
	gross := float64(grossCents) / 100
	return math.Round(gross/(1+float64(rate)/100)*100) / 100
}

// SinkRejectsExact reports whether the sink's float64 check refuses the
// exactly rounded total_net of this order: it does when gross ÷ (1 +
// rate/100) ends in an exact half cent that float64 sees just below the
// half (122.22 at 12 % is 109.125 exactly: half-up gives 109.13, the sink
// wants 109.12). About 0.7 % of orders.lua's orders are such.
func SinkRejectsExact(o LoadOrder) bool {
	exact := float64(NetCents(o.GrossCents, o.VatRate)) / 100
	return math.Abs(exact-SinkNet(o.GrossCents, o.VatRate)) > 0.0051
}

// ExplainSinkError tells whether the sink's last_error is its float64
// artefact on a correctly rounded record, by regenerating the order from
// its number ("<prefix>-<tid>-<seq>: total_net X want Y"). It returns a
// one-line explanation either way.
func ExplainSinkError(lastError string) (artefact bool, why string) {
	orderNo, rest, ok := strings.Cut(lastError, ": total_net ")
	if !ok {
		return false, "not a total_net disagreement"
	}
	i := strings.LastIndexByte(orderNo, '-')
	j := strings.LastIndexByte(orderNo[:max(i, 0)], '-')
	if i < 0 || j < 0 {
		return false, "order number not from orders.lua"
	}
	tid, err1 := strconv.Atoi(orderNo[j+1 : i])
	seq, err2 := strconv.Atoi(orderNo[i+1:])
	if err1 != nil || err2 != nil {
		return false, "order number not from orders.lua"
	}
	o := Order(orderNo[:j], tid, seq)
	sent, _, _ := strings.Cut(rest, " ")
	exact := NetCents(o.GrossCents, o.VatRate)
	want := fmt.Sprintf("%d.%02d", exact/100, exact%100)
	if s, err := strconv.ParseFloat(sent, 64); err != nil || math.Abs(s*100-float64(exact)) > 0.5 {
		return false, fmt.Sprintf("%s was sent total_net %s; exact half-up is %s", orderNo, sent, want)
	}
	if !SinkRejectsExact(o) {
		return false, fmt.Sprintf("%s: total_net %s is exact, yet the sink refused it for another reason", orderNo, sent)
	}
	return true, fmt.Sprintf("%s: gross %d.%02d at %d %% is an exact half cent; %s is correct half-up, the sink's float64 check wants %.2f",
		orderNo, o.GrossCents/100, o.GrossCents%100, o.VatRate, want, SinkNet(o.GrossCents, o.VatRate))
}

// SinkArtefactRate is the share of orders.lua's first n orders per thread
// whose exact total_net the sink refuses.
func SinkArtefactRate(n int) float64 {
	if n <= 0 {
		return 0
	}
	bad := 0
	for seq := 1; seq <= n; seq++ {
		if SinkRejectsExact(Order("x", 1, seq)) {
			bad++
		}
	}
	return float64(bad) / float64(n)
}
