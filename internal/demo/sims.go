package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// system is one simulated application: a real HTTP server on loopback.
type system struct {
	name string
	srv  *http.Server
	ln   net.Listener
}

func startSystem(name string, h http.Handler) (*system, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the simulated %s: %w", name, err)
	}
	s := &system{name: name, ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *system) URL() string { return "http://" + s.ln.Addr().String() }

func (s *system) stop(ctx context.Context) { _ = s.srv.Shutdown(ctx) }

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// erp is the simulated ERP: it wants net prices and US dates, goes down
// for a minute now and then, and refuses an order whose customer it does
// not know yet (the CRM sync teaches it). Each order it accepts becomes an
// invoice a moment later, posted back to Seam like a real ERP's webhook.
type erp struct {
	token     string
	mu        sync.Mutex
	customers map[string]bool // by e-mail
	orders    map[string]int  // by OrderRef → ERP id (idempotent on Idempotency-Key)
	nextID    int
	down      atomic.Bool
	invoices  chan erpOrder
	seen      atomic.Int64
}

type erpOrder struct {
	OrderRef      string `json:"OrderRef"`
	Customer      string `json:"Customer"`
	CustomerEmail string `json:"CustomerEmail"`
	Date          string `json:"Date"`
	NetAmount     string `json:"NetAmount"`
	VatRate       string `json:"VatRate"`
}

func newERP(token string) *erp {
	return &erp{token: token, customers: map[string]bool{}, orders: map[string]int{}, nextID: 55000, invoices: make(chan erpOrder, 1024)}
}

func (e *erp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.seen.Add(1)
	if e.down.Load() {
		answer(w, http.StatusServiceUnavailable, map[string]string{"error": "ERP maintenance, try again later"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+e.token {
		answer(w, http.StatusUnauthorized, map[string]string{"error": "bad token"})
		return
	}
	switch r.URL.Path {
	case "/api/customers":
		var c struct{ CustomerNo, Name, Email string }
		if err := readJSON(r, &c); err != nil || c.Email == "" {
			answer(w, http.StatusBadRequest, map[string]string{"error": "customer needs an Email"})
			return
		}
		e.mu.Lock()
		e.customers[strings.ToLower(c.Email)] = true
		e.mu.Unlock()
		answer(w, http.StatusOK, map[string]string{"customer": c.CustomerNo})
	case "/api/sales-orders":
		var o erpOrder
		if err := readJSON(r, &o); err != nil || o.OrderRef == "" {
			answer(w, http.StatusBadRequest, map[string]string{"error": "malformed sales order"})
			return
		}
		e.mu.Lock()
		known := e.customers[strings.ToLower(o.CustomerEmail)]
		id, dup := e.orders[o.OrderRef]
		if known && !dup {
			e.nextID++
			id = e.nextID
			e.orders[o.OrderRef] = id
		}
		e.mu.Unlock()
		if !known {
			answer(w, http.StatusConflict, map[string]string{"error": fmt.Sprintf("customer %s does not exist in the ERP", o.CustomerEmail)})
			return
		}
		if !dup {
			select {
			case e.invoices <- o:
			default:
			}
		}
		answer(w, http.StatusCreated, map[string]any{"id": id})
	default:
		answer(w, http.StatusNotFound, map[string]string{"error": "no such endpoint"})
	}
}

// invoicing issues invoices; it is quick and reliable.
type invoicing struct{ count atomic.Int64 }

func (v *invoicing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ Number string }
	if err := readJSON(r, &in); err != nil || in.Number == "" {
		answer(w, http.StatusBadRequest, map[string]string{"error": "invoice needs a number"})
		return
	}
	v.count.Add(1)
	answer(w, http.StatusCreated, map[string]string{"number": in.Number, "url": "https://invoicing.acme.example/i/" + in.Number + ".pdf"})
}

// mailing sends e-mails slowly, and bounces addresses it cannot deliver to.
type mailing struct {
	key  string
	sent atomic.Int64
}

func (m *mailing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Api-Key") != m.key {
		answer(w, http.StatusUnauthorized, map[string]string{"error": "bad API key"})
		return
	}
	var in struct{ To string }
	if err := readJSON(r, &in); err != nil || in.To == "" {
		answer(w, http.StatusBadRequest, map[string]string{"error": "an e-mail needs a recipient"})
		return
	}
	// A slow mailer: 200–800 ms per message.
	select {
	case <-time.After(time.Duration(200+rand.IntN(600)) * time.Millisecond):
	case <-r.Context().Done():
		return
	}
	m.sent.Add(1)
	answer(w, http.StatusAccepted, map[string]string{"queued": in.To})
}

// chat is the ops chat: it prints the alerts Seam sends to the terminal.
type chat struct {
	out func(string)
}

func (c *chat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct {
		Text string `json:"text"`
	}
	_ = readJSON(r, &msg)
	first, _, _ := strings.Cut(msg.Text, "\n")
	c.out("ops-chat: " + first)
	w.WriteHeader(http.StatusOK)
}
