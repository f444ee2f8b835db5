package demo

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

type customer struct {
	ID, Company, Email, Phone, VatID, City string
	inCRM                                  bool
	version                                int
}

type product struct {
	SKU, Name string
	Price     int // gross, CZK
}

var products = []product{
	{"MUG-01", "Enamel mug", 249}, {"TEE-02", "Organic T-shirt", 599}, {"BAG-03", "Canvas tote", 349},
	{"CAP-04", "Wool cap", 449}, {"BOT-05", "Steel bottle", 699}, {"NTB-06", "Dot-grid notebook", 189},
}

// mobilePrefixes are Czech mobile ranges, so that the numbers the
// simulated systems send are real-looking and pass phone().
var mobilePrefixes = []int{601, 602, 603, 604, 605, 606, 607, 608, 702, 720, 721, 723, 724, 725, 730, 731, 732, 733, 734, 736, 737, 739, 773, 775, 777, 792}

var companies = []string{
	"Acme s.r.o.", "Bohemia Coffee a.s.", "Vltava Design s.r.o.", "Moravian Tools s.r.o.", "Krkonoše Outdoor a.s.",
	"Brno Bikes s.r.o.", "Pilsner Prints s.r.o.", "Šumava Wood s.r.o.", "Ostrava Steelworks a.s.", "Liberec Labs s.r.o.",
	"Olomouc Organics s.r.o.", "Hradec Hardware s.r.o.", "Zlín Shoes a.s.", "Jihlava Jams s.r.o.", "Karlovy Spa s.r.o.",
	"Tábor Textiles s.r.o.", "Kutná Crystal a.s.", "Telč Tiles s.r.o.", "Písek Paper s.r.o.", "Třebíč Tea s.r.o.",
}

// traffic drives the simulated senders: the e-shop's orders, the CRM's
// customers and the ERP's invoices, all as signed webhooks into Seam.
type traffic struct {
	seam    string // Seam's base URL
	secrets map[string]string
	client  *http.Client
	say     func(string)
	rate    float64
	erp     *erp

	mu        sync.Mutex
	customers []*customer
	orderNo   int
	invoiceNo int
	stats     struct{ orders, duplicates, malformed, customers, invoices int }
}

func newTraffic(seamURL string, secrets map[string]string, rate float64, e *erp, say func(string)) *traffic {
	t := &traffic{seam: seamURL, secrets: secrets, rate: rate, erp: e, say: say, orderNo: 1000, invoiceNo: 0,
		client: &http.Client{Timeout: 10 * time.Second}}
	for i, c := range companies {
		slug := strings.ToLower(strings.NewReplacer(" ", "", ".", "", "š", "s", "č", "c", "ř", "r", "í", "i", "é", "e", "á", "a", "ž", "z", "ý", "y", "ů", "u", "ň", "n", "ť", "t", "ó", "o").Replace(strings.Fields(c)[0]))
		t.customers = append(t.customers, &customer{
			ID: fmt.Sprintf("C-%03d", i+1), Company: c, Email: "orders@" + slug + ".example",
			Phone: fmt.Sprintf("%d %03d %03d", mobilePrefixes[i%len(mobilePrefixes)], rand.IntN(1000), rand.IntN(1000)), VatID: fmt.Sprintf("cz%08d", 10000000+i*7919),
			City: []string{"Praha", "Brno", "Ostrava", "Plzeň", "Liberec"}[i%5],
			// Most customers are in the CRM already; the rest are created
			// later, so some of their first orders meet an ERP that does
			// not know them yet.
			inCRM: i < 17,
		})
	}
	return t
}

func (t *traffic) run(ctx context.Context) {
	var wg sync.WaitGroup
	loop := func(every func() time.Duration, f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(every()):
					f(ctx)
				}
			}
		}()
	}
	// The CRM's existing customers go first, as a real first sync would.
	for _, c := range t.customers {
		if c.inCRM {
			t.sendCustomer(ctx, c)
		}
	}
	loop(func() time.Duration { return jitter(time.Duration(float64(time.Second) / t.rate)) }, t.sendOrder)
	loop(func() time.Duration { return jitter(10 * time.Second) }, t.crmChange)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t.invoiceLoop(ctx)
	}()
	wg.Wait()
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

func (t *traffic) sendOrder(ctx context.Context) {
	t.mu.Lock()
	t.orderNo++
	no := fmt.Sprintf("ES-%d", t.orderNo)
	c := t.customers[rand.IntN(len(t.customers))]
	t.mu.Unlock()
	vat := 21
	if rand.IntN(5) == 0 {
		vat = 12
	}
	var items []map[string]any
	total := 0
	for range 1 + rand.IntN(3) {
		p := products[rand.IntN(len(products))]
		qty := 1 + rand.IntN(3)
		total += p.Price * qty
		items = append(items, map[string]any{"sku": p.SKU, "name": p.Name, "qty": qty, "unit_price_gross": fmt.Sprintf("%d.00", p.Price)})
	}
	now := time.Now()
	order := map[string]any{
		"order_no": no, "order_date": now.Format("02/01/2006"), "customer_name": c.Company,
		"email": "  " + strings.ToUpper(c.Email[:1]) + c.Email[1:] + " ", "phone": c.Phone,
		"total_gross": fmt.Sprintf("%d.00", total), "vat_rate": vat, "currency": "CZK", "items": items,
	}
	body, _ := json.Marshal(order)
	switch n := rand.IntN(100); {
	case n < 2:
		// The e-shop's date bug: a day that does not exist.
		order["order_date"] = "31/02/" + now.Format("2006")
		body, _ = json.Marshal(order)
		t.count(func() { t.stats.malformed++ })
	case n < 3:
		// A truncated body, as when the e-shop's worker is killed mid-send.
		body = body[:len(body)/2]
		t.count(func() { t.stats.malformed++ })
	}
	t.post(ctx, "/in/eshop/orders", body, t.hexSignature("DEMO_ESHOP_SECRET", "X-Signature", body))
	t.count(func() { t.stats.orders++ })
	if rand.IntN(100) < 5 {
		// The e-shop sometimes sends the same webhook twice.
		t.post(ctx, "/in/eshop/orders", body, t.hexSignature("DEMO_ESHOP_SECRET", "X-Signature", body))
		t.count(func() { t.stats.duplicates++ })
	}
}

func (t *traffic) crmChange(ctx context.Context) {
	t.mu.Lock()
	var c *customer
	for _, x := range t.customers {
		if !x.inCRM {
			c = x
			break
		}
	}
	if c == nil {
		c = t.customers[rand.IntN(len(t.customers))]
	}
	c.inCRM = true
	t.mu.Unlock()
	t.sendCustomer(ctx, c)
}

func (t *traffic) sendCustomer(ctx context.Context, c *customer) {
	t.mu.Lock()
	c.version++
	rec := map[string]any{
		"id": c.ID, "version": c.version, "company": "  " + c.Company + " ", "contact_email": c.Email,
		"contact_phone": "+420 " + c.Phone, "vat_id": c.VatID,
		"address": map[string]any{"street": "Náměstí 1", "city": c.City, "zip": "110 00", "country": "Czech Republic"},
	}
	t.mu.Unlock()
	body, _ := json.Marshal(rec)
	mac := hmac.New(sha256.New, []byte(t.secrets["DEMO_CRM_SECRET"]))
	mac.Write(body)
	t.post(ctx, "/in/crm/customers", body, http.Header{"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}})
	t.count(func() { t.stats.customers++ })
}

// invoiceLoop turns each order the ERP accepted into an invoice webhook,
// a moment later, as the ERP's own integration would.
func (t *traffic) invoiceLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-t.erp.invoices:
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(1000+rand.IntN(2000)) * time.Millisecond):
			}
			t.mu.Lock()
			t.invoiceNo++
			no := fmt.Sprintf("%d-%04d", time.Now().Year(), t.invoiceNo)
			t.mu.Unlock()
			issued := time.Now()
			inv := map[string]any{
				"InvoiceNo": no, "OrderRef": o.OrderRef, "IssuedOn": issued.Format("01/02/2006"),
				"DueOn": issued.AddDate(0, 0, 14).Format("01/02/2006"), "Customer": o.Customer,
				"CustomerEmail": o.CustomerEmail, "NetAmount": o.NetAmount, "VatRate": o.VatRate,
			}
			body, _ := json.Marshal(inv)
			mac := hmac.New(sha256.New, []byte(t.secrets["DEMO_ERP_HOOK_SECRET"]))
			mac.Write(body)
			t.post(ctx, "/in/erp/invoices", body, http.Header{"X-Erp-Signature": {base64.StdEncoding.EncodeToString(mac.Sum(nil))}})
			t.count(func() { t.stats.invoices++ })
		}
	}
}

func (t *traffic) hexSignature(secret, header string, body []byte) http.Header {
	mac := hmac.New(sha256.New, []byte(t.secrets[secret]))
	mac.Write(body)
	return http.Header{header: {hex.EncodeToString(mac.Sum(nil))}}
}

func (t *traffic) count(f func()) {
	t.mu.Lock()
	f()
	t.mu.Unlock()
}

// post sends one webhook, retrying a few times like a real sender when
// Seam is not answering (e.g. while it stops).
func (t *traffic) post(ctx context.Context, path string, body []byte, h http.Header) {
	for attempt := 0; attempt < 3; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.seam+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := t.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
