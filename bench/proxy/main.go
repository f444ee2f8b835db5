// Command proxy is the ceiling Seam is measured against on the reference
// flow (see bench/README.md): a bare Go HTTP server that takes an e-shop
// order, applies the reference mapping in plain Go and posts the result to
// the sink, answering 200 only after the sink did. It stores nothing: a
// crash loses whatever is in flight, which is exactly what Seam's ledger
// pays to avoid.
//
//	go build -o /tmp/benchproxy ./bench/proxy
//	/tmp/benchproxy -listen 127.0.0.1:8081 -sink http://127.0.0.1:9000/api/sales-orders
//
// The mapping: customer_name → company_name; email trimmed and lower-cased;
// order_date DD/MM/YYYY → YYYY-MM-DD; total_net = total_gross ÷ (1 +
// vat_rate/100), rounded half-up to 2 decimals with exact decimal
// arithmetic; idempotency_key = "eshop:" + order_no (also sent as the
// Idempotency-Key header); items passed through unchanged.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// order is the e-shop's order as it arrives.
type order struct {
	OrderNo      string          `json:"order_no"`
	CustomerName string          `json:"customer_name"`
	Email        string          `json:"email"`
	OrderDate    string          `json:"order_date"`
	TotalGross   string          `json:"total_gross"`
	VatRate      json.Number     `json:"vat_rate"`
	Currency     string          `json:"currency"`
	Items        json.RawMessage `json:"items"`
}

// erpOrder is what the ERP (the sink) receives.
type erpOrder struct {
	OrderNo        string          `json:"order_no"`
	CompanyName    string          `json:"company_name"`
	Email          string          `json:"email"`
	OrderDate      string          `json:"order_date"`
	TotalGross     string          `json:"total_gross"`
	VatRate        json.Number     `json:"vat_rate"`
	TotalNet       string          `json:"total_net"`
	Currency       string          `json:"currency"`
	Items          json.RawMessage `json:"items"`
	IdempotencyKey string          `json:"idempotency_key"`
}

const maxBody = 1 << 20

func mapOrder(in *order) (*erpOrder, error) {
	if in.OrderNo == "" {
		return nil, errors.New("order_no is missing")
	}
	date, err := isoDate(in.OrderDate)
	if err != nil {
		return nil, err
	}
	net, err := netAmount(in.TotalGross, string(in.VatRate))
	if err != nil {
		return nil, err
	}
	items := in.Items
	if len(items) == 0 {
		items = json.RawMessage("null")
	}
	return &erpOrder{
		OrderNo:        in.OrderNo,
		CompanyName:    in.CustomerName,
		Email:          strings.ToLower(strings.TrimSpace(in.Email)),
		OrderDate:      date,
		TotalGross:     in.TotalGross,
		VatRate:        in.VatRate,
		TotalNet:       net,
		Currency:       in.Currency,
		Items:          items,
		IdempotencyKey: "eshop:" + in.OrderNo,
	}, nil
}

// isoDate reads DD/MM/YYYY and writes YYYY-MM-DD, refusing impossible
// dates rather than rolling them over.
func isoDate(s string) (string, error) {
	if len(s) != 10 || s[2] != '/' || s[5] != '/' {
		return "", fmt.Errorf("order_date %q is not DD/MM/YYYY", s)
	}
	t, err := time.Parse("02/01/2006", s)
	if err != nil {
		return "", fmt.Errorf("order_date %q is not a date: %v", s, err)
	}
	return t.Format("2006-01-02"), nil
}

// parseDecimal reads a plain decimal ("1210.00", "21", "-3.5") as an
// unscaled integer and a scale: value = unscaled / 10^scale.
func parseDecimal(s string) (*big.Int, int, error) {
	digits, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	if digits == "" && frac == "" || len(s) > 40 {
		return nil, 0, fmt.Errorf("%q is not a decimal number", s)
	}
	for _, r := range digits + frac {
		if r < '0' || r > '9' {
			return nil, 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	u, ok := new(big.Int).SetString(digits+frac, 10)
	if !ok {
		return nil, 0, fmt.Errorf("%q is not a decimal number", s)
	}
	if neg {
		u.Neg(u)
	}
	return u, len(frac), nil
}

var ten = big.NewInt(10)

func pow10(n int) *big.Int { return new(big.Int).Exp(ten, big.NewInt(int64(n)), nil) }

// netAmount computes gross × 100 / (100 + rate), rounded half-up (away from
// zero) to 2 decimals, exactly.
func netAmount(grossS, rateS string) (string, error) {
	g, gs, err := parseDecimal(grossS)
	if err != nil {
		return "", fmt.Errorf("total_gross: %v", err)
	}
	r, rs, err := parseDecimal(rateS)
	if err != nil {
		return "", fmt.Errorf("vat_rate: %v", err)
	}
	// gross = g/10^gs, rate = r/10^rs.
	// net×100 = g × 100 × 10^rs × 100 / ((100×10^rs + r) × 10^gs)
	num := new(big.Int).Mul(g, big.NewInt(100*100))
	num.Mul(num, pow10(rs))
	den := new(big.Int).Mul(big.NewInt(100), pow10(rs))
	den.Add(den, r)
	if den.Sign() <= 0 || r.Sign() < 0 {
		return "", fmt.Errorf("vat_rate %s is not a VAT rate", rateS)
	}
	den.Mul(den, pow10(gs))
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	m.Abs(m).Lsh(m, 1)
	if m.Cmp(den) >= 0 { // half-up, away from zero
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	neg := q.Sign() < 0
	s := new(big.Int).Abs(q).String()
	for len(s) < 3 {
		s = "0" + s
	}
	s = s[:len(s)-2] + "." + s[len(s)-2:]
	if neg {
		s = "-" + s
	}
	return s, nil
}

var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

type proxy struct {
	client *http.Client
	sink   string
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var in order
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&in); err != nil {
		http.Error(w, "bad order: "+err.Error(), http.StatusBadRequest)
		return
	}
	out, err := mapOrder(&in)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	buf := bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufs.Put(buf)
	if err := json.NewEncoder(buf).Encode(out); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.sink, bytes.NewReader(buf.Bytes()))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", out.IdempotencyKey)
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, "sink: "+err.Error(), http.StatusBadGateway)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		http.Error(w, "sink answered "+resp.Status, http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on (loopback)")
	sink := flag.String("sink", "http://127.0.0.1:9000/api/sales-orders", "URL the mapped orders are posted to")
	conns := flag.Int("conns", 128, "keep-alive connections to the sink (idle pool size)")
	flag.Parse()

	u, err := url.Parse(*sink)
	if err != nil || u.Host == "" {
		log.Fatalf("proxy: -sink %q is not a URL", *sink)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = *conns
	tr.MaxIdleConnsPerHost = max(*conns, 64)
	tr.IdleConnTimeout = 90 * time.Second
	p := &proxy{client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, sink: *sink}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("proxy: %v", err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		_ = srv.Close()
	}()
	log.Printf("proxy listening on %s, posting to %s", ln.Addr(), *sink)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("proxy: %v", err)
	}
}
