// Package gen writes a realistic Seam catalog of any size, for the validate
// benchmark (go run ./bench/validate) and BenchmarkLoad200.
package gen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Env defines every ${…} the generated catalog refers to, so that it loads
// without warnings.
func Env(name string) (string, bool) {
	if strings.HasSuffix(name, "_URL") || strings.HasSuffix(name, "_TOKEN") || strings.HasSuffix(name, "_SECRET") || strings.HasSuffix(name, "_PASSWORD") {
		return "x-" + strings.ToLower(name), true
	}
	return "", false
}

type system struct {
	name, owner, conventions string
}

var systems = []system{
	{"eshop", "ecommerce", "{date_format: DD/MM/YYYY, timezone: Europe/Prague, prices: gross, currency: CZK}"},
	{"erp", "finance", `{date_format: MM/DD/YYYY, prices: net, currency: CZK, decimal_separator: ","}`},
	{"crm", "sales", "{date_format: YYYY-MM-DD, currency: EUR, country: CZ}"},
	{"invoicing", "finance", "{date_format: DD.MM.YYYY, prices: net, currency: CZK}"},
	{"mailing", "ecommerce", "{timezone: Europe/Prague}"},
	{"warehouse", "logistics", "{date_format: YYYYMMDD, currency: CZK}"},
	{"pos", "ecommerce", "{date_format: D.M.YYYY, prices: gross, currency: CZK}"},
	{"marketplace", "ecommerce", "{date_format: YYYY-MM-DD, prices: gross, currency: EUR}"},
	{"accounting", "finance", `{date_format: DD.MM.YYYY, prices: net, currency: CZK, decimal_separator: ",", thousands_separator: " "}`},
	{"helpdesk", "sales", "{timezone: Europe/Berlin}"},
	{"reporting", "finance", "{currency: EUR}"},
	{"shipping", "logistics", "{date_format: DD/MM/YYYY, country: CZ}"},
}

// entity is one kind of flow: a model, the inbound mapping (canonical field
// → expression over in) and outbound mappings (target → canonical).
type entity struct {
	model, key string
	in         [][2]string
	out        [][2]string
	test       string // the test's input
}

var entities = []entity{
	{model: "order", key: "in.order_no", in: [][2]string{
		{"id", "in.order_no"}, {"ordered_on", "date(in.order_date)"}, {"customer.company_name", "trim(in.customer_name)"},
		{"customer.email", "lower(trim(in.email))"}, {"total", "money(in.total, in.vat_rate)"}, {"status", "lower(in.status)"},
		{"channel", `"web"`}, {"note", "trim(in.note)"},
	}, out: [][2]string{{"OrderRef", "id"}, {"Customer", "customer.company_name"}, {"Date", "ordered_on"}, {"NetAmount", "total.net"}, {"VatRate", "total.vat_rate"}},
		test: `{order_no: ES-1, order_date: 03/04/2026, customer_name: Acme, email: a@acme.cz, total: "1210.00", vat_rate: 21, status: NEW, note: ""}`},
	{model: "customer", key: "in.customer_id", in: [][2]string{
		{"id", "in.customer_id"}, {"company_name", "trim(in.name)"}, {"first_name", "trim(in.first)"}, {"last_name", "trim(in.last)"},
		{"email", "lower(trim(in.email))"}, {"vat_id", "upper(in.vat)"}, {"registration_no", "in.reg_no"},
		{"billing_address.city", "in.city"}, {"billing_address.street", "in.street"}, {"created_at", "datetime(in.created)"},
	}, out: [][2]string{{"ExternalId", "id"}, {"Name", "company_name"}, {"City", "billing_address.city"}, {"Vat", "vat_id"}},
		test: `{customer_id: C-1, name: Acme, first: Jan, last: Novák, email: jan@acme.cz, vat: cz123, reg_no: "123", city: Praha, street: Dlouhá 1, created: "2026-04-03T10:00:00Z"}`},
	{model: "invoice", key: "in.number", in: [][2]string{
		{"number", "in.number"}, {"issued_on", "date(in.issued)"}, {"due_on", "date(in.due)"}, {"order_id", "in.order"},
		{"total", "money(in.total, in.vat_rate)"}, {"customer.company_name", "in.customer"},
	}, out: [][2]string{{"Invoice", "order_id"}, {"Issued", "issued_on"}, {"Due", "due_on"}, {"Net", "total.net"}, {"Gross", "total.gross"}},
		test: `{number: "2026-1", issued: 03/04/2026, due: 17/04/2026, order: ES-1, total: "1000.00", vat_rate: 21, customer: Acme}`},
	{model: "product", key: "in.sku", in: [][2]string{
		{"sku", "in.sku"}, {"name", "trim(in.name)"}, {"description", "collapse(in.description)"}, {"price", "money(in.price, in.vat)"},
		{"vat_rate", "decimal(in.vat)"}, {"category", "lower(in.category)"}, {"ean", "in.ean"},
	}, out: [][2]string{{"Sku", "sku"}, {"Title", "name"}, {"Price", "price.net"}, {"Category", "category"}},
		test: `{sku: P-1, name: Chair, description: A chair, price: "121.00", vat: 21, category: Furniture, ean: "859"}`},
}

// Write writes a catalog of n flows into dir and returns the number of
// files written.
func Write(dir string, n int) (int, error) {
	files := 0
	write := func(name, content string) error {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		files++
		return os.WriteFile(p, []byte(content), 0o644)
	}
	if err := write("seam.yaml", `project: bench
description: A generated landscape for the validate benchmark.
store: sqlite:./seam.db
listen: 127.0.0.1:8080
owners:
  ecommerce: {name: E-commerce team, email: eshop@acme.example, alert: [ops-chat]}
  finance: {name: Finance, email: finance@acme.example, alert: [ops-chat, email]}
  sales: {name: Sales, email: sales@acme.example, alert: [email]}
  logistics: {name: Logistics, email: logistics@acme.example}
alerts:
  channels:
    ops-chat: {webhook: {url: "${CHAT_WEBHOOK_URL}"}}
    email: {smtp: {host: smtp.acme.example, port: 587, from: seam@acme.example, password: "${SMTP_PASSWORD}"}}
retention: {messages: 90d, evidence: 2y}
lookups:
  status: {NEW: new, PAID: paid, SHIPPED: shipped}
`); err != nil {
		return files, err
	}
	for _, s := range systems {
		up := strings.ToUpper(s.name)
		if err := write("systems/"+s.name+".yaml", fmt.Sprintf(`system: %s
title: %s
owner: %s
description: The %s system.
base_url: "${%s_URL}"
auth: {bearer: "${%s_TOKEN}"}
conventions: %s
tags: [generated]
`, s.name, strings.ToUpper(s.name[:1])+s.name[1:], s.owner, s.name, up, up, s.conventions)); err != nil {
			return files, err
		}
	}
	for i := range n {
		if err := write(fmt.Sprintf("flows/flow-%03d.yaml", i), flow(i)); err != nil {
			return files, err
		}
	}
	return files, nil
}

func flow(i int) string {
	e := entities[i%len(entities)]
	src := systems[i%len(systems)]
	dst1 := systems[(i+1+i/len(systems))%len(systems)]
	if dst1.name == src.name {
		dst1 = systems[(i+2)%len(systems)]
	}
	dst2 := systems[(i+5)%len(systems)]
	if dst2.name == src.name || dst2.name == dst1.name {
		dst2 = systems[(i+7)%len(systems)]
	}
	name := fmt.Sprintf("flow-%03d", i)
	nIn := 5 + i%(len(e.in)-4) // 5 … len(e.in) mapped fields
	var b strings.Builder
	fmt.Fprintf(&b, `flow: %s
title: %s records from %s go to %s and %s
owner: %s
runbook: |
  Check the dead letters of %s; replay after fixing the cause.
source:
  system: %s
  webhook:
    path: /in/%s
    signature: {scheme: hmac-sha256, header: X-Signature, secret: "${%s_HOOK_SECRET}"}
model: %s
key: %s
map:
`, name, e.model, src.name, dst1.name, dst2.name, src.owner, name, src.name, name, strings.ToUpper(src.name), e.model, e.key)
	for _, kv := range e.in[:nIn] {
		fmt.Fprintf(&b, "  %s: %s\n", kv[0], kv[1])
	}
	b.WriteString("routes:\n")
	for j, dst := range []system{dst1, dst2} {
		fmt.Fprintf(&b, "  - name: to-%s\n    to: %s\n", dst.name, dst.name)
		if j == 1 {
			fmt.Fprintf(&b, "    when: %s != \"\"\n", e.out[0][1])
		}
		fmt.Fprintf(&b, "    http: {method: POST, path: /api/%ss}\n    map:\n", e.model)
		for _, kv := range e.out[:3+j] {
			fmt.Fprintf(&b, "      %s: %s\n", kv[0], kv[1])
		}
		if j == 0 {
			b.WriteString("    remember: {ref: response.id}\n    ordering: by-key\n    retry: {attempts: 12, backoff: exponential, initial: 1s, max: 30m}\n    timeout: 10s\n")
		} else {
			b.WriteString("    retry: {attempts: 5}\n    rate_limit: 50/s\n")
		}
	}
	fmt.Fprintf(&b, `alerts:
  - silence: {for: 2h, during: "Mon-Fri 08:00-20:00 Europe/Prague"}
  - error_rate: {above: 5%%, over: 15m}
  - dead_letters: {above: 0}
tests:
  - name: a typical record goes through
    input: %s
`, e.test)
	return b.String()
}
