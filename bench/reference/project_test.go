package reference

// These tests pin what the benchmark project sends to the sink, byte for
// byte, so that a change to the catalog or to Seam's mapping cannot make the
// benchmark measure invalid records.

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seamhq/seam/connector/webhook"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/pipeline"
)

func load(t *testing.T) (*catalog.Catalog, *catalog.Flow) {
	t.Helper()
	env := func(k string) (string, bool) {
		if k == "SINK_URL" {
			return "http://127.0.0.1:9000", true
		}
		return os.LookupEnv(k)
	}
	c, diags := catalog.Load("project", &catalog.Options{Env: env})
	if diags.Errors() > 0 {
		for _, d := range diags {
			t.Log(d.String())
		}
		t.Fatalf("the benchmark project has %d errors", diags.Errors())
	}
	f, ok := c.Flows["orders"]
	if !ok {
		t.Fatal("no flow orders")
	}
	return c, f
}

func process(t *testing.T, c *catalog.Catalog, f *catalog.Flow, body string) []byte {
	t.Helper()
	rec, err := webhook.Decode("application/json", []byte(body), webhook.Limits{})
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	res := pipeline.Process(c, f, rec, nil)
	if !res.Accepted() {
		t.Fatalf("refused %s: %v", body, res.Reasons)
	}
	if len(res.Routes) != 1 || res.Routes[0].To != "erp" {
		t.Fatalf("routes: %+v", res.Routes)
	}
	if res.Event != "eshop:"+res.Key {
		t.Errorf("event %q, want the Idempotency-Key eshop:%s", res.Event, res.Key)
	}
	return res.Routes[0].Payload
}

// TestSinkBody pins the exact body of the README's example order.
func TestSinkBody(t *testing.T) {
	c, f := load(t)
	got := process(t, c, f, `{"order_no":"ES-1042","customer_name":"Acme s.r.o.","email":"Buyer@Acme.cz ",
 "order_date":"27/11/2026","total_gross":"1210.00","vat_rate":21,"currency":"CZK",
 "items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"}]}`)
	want := `{"company_name":"Acme s.r.o.","currency":"CZK","email":"buyer@acme.cz",` +
		`"idempotency_key":"eshop:ES-1042","items":[{"qty":2,"sku":"A-1","unit_price_gross":"605.00"}],` +
		`"order_date":"2026-11-27","order_no":"ES-1042","total_gross":"1210.00","total_net":"1000.00","vat_rate":21}`
	if string(got) != want {
		t.Errorf("sink body\n got %s\nwant %s", got, want)
	}
}

// sinkRecord and sinkCheck mirror the sink's validator
// (/work/shared/bench/sink/main.go), including its types: vat_rate must be
// a JSON number and total_gross a string.
type sinkRecord struct {
	OrderNo        string          `json:"order_no"`
	CompanyName    string          `json:"company_name"`
	CustomerName   *string         `json:"customer_name"`
	Email          string          `json:"email"`
	OrderDate      string          `json:"order_date"`
	TotalGross     string          `json:"total_gross"`
	TotalNet       json.RawMessage `json:"total_net"`
	VatRate        float64         `json:"vat_rate"`
	Currency       string          `json:"currency"`
	Items          json.RawMessage `json:"items"`
	IdempotencyKey string          `json:"idempotency_key"`
}

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func sinkCheck(body []byte) error {
	var m sinkRecord
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	switch {
	case m.CustomerName != nil:
		return fmt.Errorf("customer_name not renamed")
	case m.CompanyName == "":
		return fmt.Errorf("company_name empty")
	case m.Email != strings.ToLower(strings.TrimSpace(m.Email)):
		return fmt.Errorf("email not normalised: %q", m.Email)
	case !isoDate.MatchString(m.OrderDate):
		return fmt.Errorf("order_date not ISO: %q", m.OrderDate)
	case m.Currency == "":
		return fmt.Errorf("currency missing")
	case m.IdempotencyKey != "eshop:"+m.OrderNo:
		return fmt.Errorf("bad idempotency_key %q", m.IdempotencyKey)
	case len(m.TotalNet) == 0 || m.TotalNet[0] != '"':
		return fmt.Errorf("total_net %s is not a decimal string", m.TotalNet)
	}
	if _, err := strconv.ParseFloat(m.TotalGross, 64); err != nil {
		return fmt.Errorf("total_gross: %v", err)
	}
	return nil
}

// TestLoadShapes pushes orders.lua's orders through the flow and checks
// each body as the sink does, except that total_net must be the exact
// half-up value (the sink's float64 check disagrees on exact half cents;
// see SinkRejectsExact).
func TestLoadShapes(t *testing.T) {
	c, f := load(t)
	artefacts := 0
	for seq := 1; seq <= 3000; seq++ {
		o := Order("T", 1, seq)
		got := process(t, c, f, o.JSON())
		if err := sinkCheck(got); err != nil {
			t.Fatalf("%s\n→ %s\n: %v", o.JSON(), got, err)
		}
		var m struct {
			TotalNet string `json:"total_net"`
		}
		_ = json.Unmarshal(got, &m)
		n := NetCents(o.GrossCents, o.VatRate)
		if want := fmt.Sprintf("%d.%02d", n/100, n%100); m.TotalNet != want {
			t.Fatalf("%s: total_net %s, want %s", o.OrderNo, m.TotalNet, want)
		}
		if SinkRejectsExact(o) {
			artefacts++
		}
	}
	t.Logf("%d of 3000 correct records would fail the sink's float64 check", artefacts)
}

// TestOrderMirrorsLua checks that Order builds the same body as orders.lua.
func TestOrderMirrorsLua(t *testing.T) {
	lua, err := os.ReadFile("../../../shared/bench/orders.lua")
	if err != nil {
		t.Skipf("orders.lua not beside the repo: %v", err)
	}
	_, rest, _ := strings.Cut(string(lua), "string.format(\n")
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "'") {
		t.Fatalf("cannot find the body format in orders.lua")
	}
	format := rest[1 : 1+strings.IndexByte(rest[1:], '\'')]
	seq := 1234
	body := fmt.Sprintf(format, "P", 2, seq, seq%1000, seq%28+1, seq%12+1, 100+seq%9000, seq%100, []int{21, 12, 0}[seq%3])
	if got := Order("P", 2, seq).JSON(); got != body {
		t.Errorf("Order() drifted from orders.lua:\n got %s\nlua  %s", got, body)
	}
}

func TestExplainSinkError(t *testing.T) {
	ok, why := ExplainSinkError("R1-seam-1-22: total_net 109.13 want 109.12")
	if !ok {
		t.Errorf("an exact half was not explained: %s", why)
	}
	for _, e := range []string{
		"R1-seam-1-22: total_net 109.11 want 109.12", // wrong value sent
		"R1-seam-1-23: total_net 109.13 want 109.12", // not this order's value
		"R1-seam-1-22: order_date not ISO: \"23/11/2026\"",
		"garbage",
	} {
		if ok, why := ExplainSinkError(e); ok {
			t.Errorf("%q explained away: %s", e, why)
		}
	}
	if r := SinkArtefactRate(20000); r < 0.001 || r > 0.02 {
		t.Errorf("artefact rate %v", r)
	}
}
